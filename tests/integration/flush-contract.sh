# kernels: test stock
# disks: 64M 128M
# timeout: 600
# The flush contract seen from below: dcache over dm-log-writes over the
# disk. A stamped random-write workload fsyncs and marks the log after each
# round; tests/tools/logwrites.py replays the log and checks that at every
# mark each write acknowledged before that fsync was already logged, i.e.
# written and flushed on the backing device.
. "$DCACHE_TOP/tests/guest-lib.sh"

if on_test_kernel; then pool=1 rounds=12 writes=64; else pool=2 rounds=30 writes=200; fi
tool="$DCACHE_TOP/tests/tools/logwrites.py"
modprobe dm-mod 2>/dev/null || true
modprobe dm-log-writes
modprobe dm-dcache pool_mb=$pool flush_delay_ms=50
echo "0 $(sectors $DISK0) log-writes $DISK0 $DISK1" | dmsetup create fc_log
dcache_create fc /dev/mapper/fc_log 4096

step "stamped writes, fsync and a log mark per round ($rounds rounds of $writes)"
# 4096 blocks (16 MiB) through a $pool MiB pool: eviction and background
# write-back run between the fsyncs.
python3 "$tool" stamp /dev/mapper/fc /tmp/history.json --rounds $rounds \
	--writes $writes --blocks 4096 --lw fc_log
dmsetup status fc
dmsetup remove fc
dmsetup remove fc_log

step "replay the log"
python3 "$tool" dump $DISK1 | awk '{ n[$3]++ } END { for (k in n) print k, n[k] }'
python3 "$tool" check $DISK1 /tmp/history.json || fail "the flush contract was broken"
rmmod dm_dcache
echo PASS
