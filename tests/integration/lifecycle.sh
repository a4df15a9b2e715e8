#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock
# disks: 64M
# timeout: 600
# Write-back and write-through semantics seen from the backing device, the
# flush message, suspend, table reload and round trip, status counters,
# clear_stats, and refused messages.
. "$DCACHE_TOP/tests/guest-lib.sh"

dev=$DISK0
# the status fields used here, 1-based after "<start> <len> dcache"
ERR=1 DIRTY=3 READS=4 READ_HITS=5 WRITES=6 WRITE_HITS=7 FLUSHES=8
EPOCH=10 DURABLE=11 LAG_MS=13

modprobe dm-mod 2>/dev/null || true
# No background write-back during the test: only flushes write.
modprobe dm-dcache flush_delay_ms=3600000
dd if=/dev/urandom of=/tmp/a bs=1M count=4 status=none
dd if=/dev/urandom of=/tmp/b bs=1M count=4 status=none

step "write-back: data stays in the cache until flushed"
dcache_create lc "$dev" 4096
dd if=/tmp/a of=/dev/mapper/lc bs=64k oflag=direct status=none
[ "$(status_field lc $DIRTY)" -eq 1024 ] || fail "expected 1024 dirty blocks, status: $(dmsetup status lc)"
[ "$(status_field lc $WRITES)" -eq 1024 ] || fail "writes counter: $(dmsetup status lc)"
cmp_direct /tmp/a "$dev" 4194304 && fail "write-back data reached the disk before any flush"
cmp_direct /tmp/a /dev/mapper/lc 4194304 || fail "read back through the cache differs"
[ "$(status_field lc $READ_HITS)" -gt 0 ] || fail "reads of cached data were not hits"
sleep 1
lag=$(status_field lc $LAG_MS)
echo "lag with 4 MiB dirty for a second: $lag ms"
if [ "$lag" -lt 1000 ] || [ "$lag" -ge 600000 ]; then fail "lag_ms $lag after a second"; fi

step "the flush message writes back synchronously"
epoch=$(status_field lc $EPOCH)
dmsetup message lc 0 flush
[ "$(status_field lc $DIRTY)" -eq 0 ] || fail "dirty after flush: $(dmsetup status lc)"
cmp_direct /tmp/a "$dev" 4194304 || fail "backing device differs after the flush message"
[ "$(status_field lc $DURABLE)" -ge "$epoch" ] || fail "durable epoch did not advance"
[ "$(status_field lc $EPOCH)" -gt "$epoch" ] || fail "flush did not close the epoch"
[ "$(status_field lc $LAG_MS)" -eq 0 ] || fail "lag_ms not 0 with nothing dirty: $(dmsetup status lc)"

step "an fsync (REQ_PREFLUSH) writes back"
dd if=/tmp/b of=/dev/mapper/lc bs=4k count=16 conv=fsync status=none
cmp_direct /tmp/b "$dev" 65536 || fail "fsync'd data not on the backing device"
[ "$(status_field lc $FLUSHES)" -gt 0 ] || fail "flush requests not counted"

step "suspend writes back"
dd if=/tmp/b of=/dev/mapper/lc bs=64k oflag=direct status=none
dmsetup suspend lc
cmp_direct /tmp/b "$dev" 4194304 || fail "suspend completed with dirty data not on disk"
dmsetup resume lc

step "clear_stats, and bad messages are refused"
dmsetup message lc 0 clear_stats
for f in $READS $READ_HITS $WRITES $WRITE_HITS $FLUSHES; do
	[ "$(status_field lc "$f")" -eq 0 ] || fail "field $f not cleared: $(dmsetup status lc)"
done
for msg in "" "bogus" "flush now" "clear_stats 1" "mode"; do
	# shellcheck disable=SC2086
	dmsetup message lc 0 $msg 2>/dev/null && fail "message '$msg' accepted"
done
[ "$(status_field lc $ERR)" = ok ] || fail "error state: $(dmsetup status lc)"

step "table round trip and reload to write-through under the same name"
table=$(dmsetup table lc)
echo "table: $table"
echo "$table" | dmsetup load lc
dmsetup resume lc
[ "$(dmsetup table lc)" = "$table" ] || fail "table did not round-trip: $(dmsetup table lc)"
n=$(sectors "$dev")
echo "0 $n dcache $dev 4096 1 writethrough" | dmsetup load lc
dmsetup resume lc
dmsetup table lc | grep -q "1 writethrough$" || fail "reload to writethrough: $(dmsetup table lc)"

step "write-through: on the disk when the write completes"
dd if=/tmp/a of=/dev/mapper/lc bs=64k count=8 oflag=direct status=none
cmp_direct /tmp/a "$dev" 524288 || fail "write-through data not on the backing device"
[ "$(status_field lc $DIRTY)" -eq 0 ] || fail "write-through left dirty blocks"
cmp_direct /tmp/a /dev/mapper/lc 524288 || fail "write-through read back differs"
dmsetup remove lc
rmmod dm_dcache
echo PASS
