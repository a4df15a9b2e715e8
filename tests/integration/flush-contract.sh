# kernels: test stock stock612
# disks: 64M 128M 64M 128M
# timeout: 900
# The flush contract seen from below: dcache over dm-log-writes over the
# disk, a workload that stamps every 4 KiB block with a sequence number,
# and tests/tools/logwrites.py replaying the log.
#   writeback: after each round of writes, fsync, then a log mark; at every
#     mark each write acknowledged before that fsync is already in the log,
#     i.e. written and flushed on the backing device.
#   ordered: fsync returns at once; at every flush entry of the log the
#     backing device holds exactly the state after some prefix of the
#     writes, and that prefix never shrinks.
. "$DCACHE_TOP/tests/guest-lib.sh"

# The debug kernel's smaller sizes on the second stock kernel (6.12) too.
if on_test_kernel || on_stock612; then
	pool=1 rounds=6 writes=48
else
	pool=2 rounds=30 writes=200
fi
tool="$DCACHE_TOP/tests/tools/logwrites.py"
modprobe dm-mod 2>/dev/null || true
modprobe dm-log-writes 2>/dev/null || true  # built in on the test kernel
modprobe dm-dcache pool_mb=$pool flush_delay_ms=50

run_mode() {
	local mode=$1 disk=$2 log=$3
	echo "0 $(sectors $disk) log-writes $disk $log" | dmsetup create fc_log
	dcache_create fc /dev/mapper/fc_log 4096 1 $mode
	# 4096 blocks (16 MiB) through a $pool MiB pool: eviction and
	# background write-back run between the fsyncs.
	python3 "$tool" stamp /dev/mapper/fc /tmp/history-$mode.json --rounds $rounds \
		--writes $writes --blocks 4096 --lw fc_log
	dmsetup status fc
	dmsetup remove fc
	dmsetup remove fc_log
	python3 "$tool" dump $log | awk '{ n[$3]++ } END { for (k in n) print "  " k, n[k] }'
}

step "writeback: stamped writes, fsync and a log mark per round ($rounds x $writes)"
run_mode writeback $DISK0 $DISK1
python3 "$tool" check $DISK1 /tmp/history-writeback.json || fail "the flush contract was broken"

step "ordered: the same workload; every backing flush is an epoch boundary"
run_mode ordered $DISK2 $DISK3
python3 "$tool" check-ordered $DISK3 /tmp/history-ordered.json ||
	fail "the backing device left an epoch boundary"
rmmod dm_dcache
echo PASS
