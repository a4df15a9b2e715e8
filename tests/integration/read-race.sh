#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock612
# test-boot: 2
# disks: 64M
# timeout: 400
# Reads that go around the cache race writes to the same blocks, and no
# read returns data older than a write acknowledged before it began, or
# data never written there, and nothing of the disk's older data is
# cached. Over 4 MiB (1024 blocks) with a 2 MiB pool (so blocks are
# evicted and loaded again all the time) and dm-delay (writes take 5 ms,
# reads none: a write stays in flight while reads of its blocks go
# around it or load them), in writeback, ordered and writethrough mode
# in turn. Writers of runs of 1 to 16 blocks (some starting or ending
# inside a block) that never flush, fsync after every write, or write
# with O_DSYNC (FUA); readers of a 1 MiB stream (past a 64 KiB
# sequential_cutoff: around the cache), of random runs (a block's first
# miss goes around, read_admit 2) and of what a writer is writing right
# now. tests/tools/read_race.py checks every sector read against the
# versions acknowledged before the read began and started before it
# ended, then every block's last version through the device; the disk
# holds them after the device is removed. read_bypasses (and, but in
# ordered mode, write_arounds) in the status line and the pool's
# evictions show that the racing paths ran.
. "$DCACHE_TOP/tests/guest-lib.sh"

P=/sys/module/dm_dcache/parameters
S=/sys/kernel/dm_dcache
tool="$DCACHE_TOP/tests/tools/read_race.py"
modprobe dm-mod 2>/dev/null || true
modprobe dm-delay 2>/dev/null || true
modprobe dm-dcache pool_mb=2 flush_delay_ms=500
blocks=1024
# 8 s a mode on both kernels: on a stock kernel some 25000 to 40000
# sectors raced and 750 to 1600 chases a mode, on the debug kernel
# (several times slower under TCG) a quarter of that. (12 s on a stock
# kernel cost 12 s of check's time for half as many samples again.)
secs=8
BYPASSES=12 WRITE_AROUNDS=17

for mode in writeback ordered writethrough; do
	step "$mode: reads around the cache race writes for $secs s"
	python3 "$tool" init "$DISK0" $blocks || fail "$mode: stamping the disk failed"
	echo "0 $(sectors "$DISK0") delay $DISK0 0 0 $DISK0 0 5" | dmsetup create rr_slow
	dcache_create rr /dev/mapper/rr_slow 4096 3 $mode sequential_cutoff 65536
	dmsetup table rr | grep -q " sequential_cutoff 65536" ||
		fail "$mode: sequential_cutoff not set: $(dmsetup table rr)"
	evictions=$(cat $S/evictions)
	t=$(date +%s)
	deadline $((secs * 10 + 120)) python3 "$tool" race /dev/mapper/rr $blocks $secs \
		/tmp/rr-final || fail "$mode: a read returned wrong data: $(dmsetup status rr)"
	echo "$mode: race and checks took $(($(date +%s) - t)) s"
	echo "status: $(dmsetup status rr)"
	evicted=$(($(cat $S/evictions) - evictions))
	bypasses=$(status_field rr $BYPASSES) arounds=$(status_field rr $WRITE_AROUNDS)
	echo "$mode: read_bypasses $bypasses, write_arounds $arounds, evictions $evicted"
	[ "$bypasses" -gt 0 ] || fail "$mode: no read went around the cache"
	[ "$mode" = ordered ] || [ "$arounds" -gt 0 ] || fail "$mode: no write went around the cache"
	[ "$evicted" -gt 0 ] || fail "$mode: nothing was evicted: the pool is too large"
	echo 1 >$P/debug_check || fail "$mode: invariants broken after the race"
	echo 0 >$P/debug_check
	dmsetup remove rr
	dmsetup remove rr_slow
	cmp_direct /tmp/rr-final "$DISK0" $((blocks * 4096)) ||
		fail "$mode: the disk does not hold the last versions after remove"
done
rmmod dm_dcache
echo PASS
