#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock612
# disks: 64M
# timeout: 900
# test-boot: 2
# Power cuts aimed at the windows where the ordered prefix and the flush
# contract broke before: dcache over dm-flakey (the cut: drop every write)
# over dm-delay (20 ms writes, so write-back copies stay in flight) over a
# virtio disk whose discards punch holes (they really zero). The workload
# (tests/tools/cutcheck.py) rewrites hot blocks and fsyncs in every epoch,
# writes cold blocks, writes runs of 2 to 16 blocks with one bio (half of
# them from the last hot blocks, cached, on into cold ones, which are not:
# map() takes part of such a bio and dm sends the rest back, so a cut may
# land any part of it) and, in ordered mode, discards short runs; it logs
# each operation (each block of a run) before it issues it. At a random
# moment the power is cut (in writeback mode the workload is stopped
# first, so that every fsync it logged as returned came before the cut);
# the disk must then
#   ordered:   hold a prefix of the operations plus part of one epoch;
#   writeback: hold every write acknowledged before the last fsync that
#              returned 0.
# On the debug kernel a third round injects random write and flush
# failures under the cache (fail_make_request on the flakey device), so
# fsyncs fail and write-back retries: the contract must still hold for
# every fsync that returned 0.
. "$DCACHE_TOP/tests/guest-lib.sh"

tool="$DCACHE_TOP/tests/tools/cutcheck.py"
dbg=/sys/kernel/debug
blocks=2048
# Per step; make soak asks for more (DCACHE_CUTS).
if on_test_kernel; then
	cuts=${DCACHE_CUTS:-1}
else
	cuts=${DCACHE_CUTS:-6}
fi
modprobe dm-mod 2>/dev/null || true
modprobe dm-delay 2>/dev/null || true
modprobe dm-flakey 2>/dev/null || true
modprobe dm-dcache pool_mb=16 flush_delay_ms=50
n=$(sectors "$DISK0")

step "the disk's discards zero what they discard"
head -c 4096 /dev/urandom | dd of="$DISK0" bs=4096 seek=5 oflag=direct status=none
blkdiscard -o $((5 * 4096)) -l 4096 "$DISK0"
[ "$(dd if="$DISK0" bs=4096 skip=5 count=1 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] ||
	fail "a discarded block of the test disk does not read back as zeros"

# The workload (python3: no space in its name) stopped: state T.
stopped() {
	local _pid _comm state
	read -r _pid _comm state _ <"/proc/$1/stat" 2>/dev/null && [ "$state" = T ]
}

# One cut: $1 mode, $2 cut number, $3 "inject" for failures under the cache.
cut_once() {
	local mode=$1 cut=$2 inject=${3:-} opts=() pid kname ops runs i
	blkdiscard "$DISK0"
	rm -f /tmp/history
	echo "0 $n delay $DISK0 0 0 $DISK0 0 20" | dmsetup create pw_slow
	echo "0 $n flakey /dev/mapper/pw_slow 0 3600 0" | dmsetup create pw_cut
	dcache_create pw /dev/mapper/pw_cut 4096 1 "$mode"
	if [ -n "$inject" ]; then
		kname=$(dm_kname pw_cut)
		echo 0 >$dbg/fail_make_request/verbose
		echo 5 >$dbg/fail_make_request/probability
		echo -1 >$dbg/fail_make_request/times
		echo 1 >/sys/block/"$kname"/make-it-fail
	fi
	[ "$mode" = ordered ] && opts=(--discards)
	python3 "$tool" run /dev/mapper/pw /tmp/history --blocks $blocks --hot 4 --runs \
		"${opts[@]}" &
	pid=$!
	for ((i = 0; i < 300; i++)); do [ -s /tmp/history ] && break; sleep 0.1; done
	sleep "$((RANDOM % 3 + 1)).$((RANDOM % 10))"
	if [ "$mode" = writeback ]; then
		# Stop the workload first: every fsync it saw return is in its
		# log, and it was on the disk before the cut.
		kill -STOP $pid
		for ((i = 0; i < 300; i++)); do stopped $pid && break; sleep 0.1; done
		stopped $pid || fail "cut $cut: the workload did not stop in 30 s"
	fi
	# Ordered: cut while the workload runs and copies are in flight.
	echo "0 $n flakey /dev/mapper/pw_slow 0 0 3600 1 drop_writes" | dmsetup load pw_cut
	dmsetup resume pw_cut
	[ -n "$inject" ] && echo 0 >/sys/block/"$kname"/make-it-fail
	kill -KILL $pid
	wait $pid 2>/dev/null || true
	dmsetup status pw
	dmsetup remove pw pw_cut pw_slow	# in this order, one process
	read -r ops runs <<<"$(history_counts /tmp/history)"
	echo "cut $cut ($mode${inject:+, failures injected}): $ops operations, $runs runs of several blocks"
	[ "$runs" -gt 0 ] || fail "cut $cut: the workload wrote no run of several blocks"
	python3 "$tool" check-"$mode" "$DISK0" /tmp/history --blocks $blocks ||
		fail "cut $cut: $mode guarantee broken"
}

step "ordered: hot blocks rewritten every epoch, discards, $cuts cuts"
for cut in $(seq "$cuts"); do
	cut_once ordered "$cut"
done
# The hot blocks' rewrites go through copy-on-write: the cuts checked it.
cow=$(cat /sys/kernel/dm_dcache/cow_copies)
echo "copies on write: $cow"
[ "$cow" -gt 0 ] || fail "no ordered write was copied on write"

step "writeback: the flush contract, $cuts cuts"
for cut in $(seq "$cuts"); do
	cut_once writeback "$cut"
done

if on_test_kernel; then
	step "writeback with write and flush failures injected, $cuts cuts"
	for cut in $(seq "$cuts"); do
		cut_once writeback "$cut" inject
	done
	echo 0 >$dbg/fail_make_request/probability
fi
rmmod dm_dcache
echo PASS
