#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock stock612
# disks: 64M 128M 64M 128M
# timeout: 900
# The flush contract seen from below: dcache over dm-log-writes over the
# disk, a workload that stamps every 4 KiB block with a sequence number,
# and tests/tools/logwrites.py replaying the log.
#   writeback: after each round of writes, fsync, then a log mark; at every
#     mark each write acknowledged before that fsync is already in the log,
#     i.e. written and flushed on the backing device; again with rounds of
#     8 writes, which flushes write back themselves (quick flushes, whose
#     writes and flush are sent from the flush request); again with one
#     write per fsync, which goes around the cache. On the debug kernel
#     again with random write and flush failures injected under the cache:
#     an fsync that returned 0 still means all of it is flushed.
#   ordered: fsync returns at once; at every flush entry of the log the
#     backing device holds exactly the state after some prefix of the
#     writes, and that prefix never shrinks; again over a slow disk (20 ms
#     writes) with hot blocks rewritten in every round. dm-log-writes does
#     FUA, so small stages come as FUA writes with no flush: after each,
#     the disk holds every write of the rounds before plus part of one.
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

# $4 "slow": the disk under the log takes 20 ms per write, so write-back
# copies stay in flight while hot blocks are rewritten in later epochs.
run_mode() {
	local mode=$1 disk=$2 log=$3 slow=${4:-} inject=${5:-} hot=() r=$rounds w=$writes lw=fc_log
	if [ -n "$slow" ]; then
		echo "0 $(sectors "$disk") delay $disk 0 0 $disk 0 20" | dmsetup create fc_slow
		# Short rounds, no marks: many epochs per copy in flight.
		disk=/dev/mapper/fc_slow hot=(--hot 4) r=150 w=4 lw=""
	fi
	echo "0 $(sectors "$disk") log-writes $disk $log" | dmsetup create fc_log
	dcache_create fc /dev/mapper/fc_log 4096 1 "$mode"
	if [ -n "$inject" ]; then
		# Fail one in twenty of the cache's writes and flushes to the
		# log device: a failed flush never reaches the log.
		echo 0 >/sys/kernel/debug/fail_make_request/verbose
		echo 5 >/sys/kernel/debug/fail_make_request/probability
		echo -1 >/sys/kernel/debug/fail_make_request/times
		echo 1 >"/sys/block/$(dm_kname fc_log)/make-it-fail"
		r=30 w=${inject_writes:-8}
	fi
	# 4096 blocks (16 MiB) through a $pool MiB pool: eviction and
	# background write-back run between the fsyncs.
	python3 "$tool" stamp /dev/mapper/fc /tmp/history-"$mode".json --rounds "$r" \
		--writes "$w" --blocks 4096 --lw "$lw" "${hot[@]}"
	[ -z "$inject" ] || echo 0 >"/sys/block/$(dm_kname fc_log)/make-it-fail"
	dmsetup status fc | tee /tmp/fc-status
	dmsetup remove fc
	dmsetup remove fc_log
	[ -z "$slow" ] || dmsetup remove fc_slow
	# The checks below end with the log's entries by kind.
}

step "a flush with nothing dirty: no round, and the disk's flush only when one is owed"
[ "$(cat "/sys/block/$(basename "$DISK0")/queue/write_cache")" = "write back" ] ||
	fail "the disk has no volatile cache: flushes would not reach it"
dcache_create fq "$DISK0" 4096
dd if=/dev/urandom of=/tmp/q bs=8k count=1 status=none
dd if=/tmp/q of=/dev/mapper/fq bs=4k count=1 oflag=direct status=none
fsync_dev /dev/mapper/fq	# a round writes the block back and flushes the disk
sleep 1			# and a round the write armed has run
wb_rounds=$(cat /sys/kernel/dm_dcache/rounds) flushes=$(disk_flushes "$DISK0")
for _ in 1 2 3; do
	fsync_dev /dev/mapper/fq
done
[ "$(cat /sys/kernel/dm_dcache/rounds)" -eq "$wb_rounds" ] ||
	fail "a flush with nothing to write ran a round of write-back"
[ "$(disk_flushes "$DISK0")" -eq "$flushes" ] ||
	fail "a flush with nothing written since the last one reached the disk"
# A write-through write is owed a flush of the disk until one succeeds.
dmsetup message fq 0 mode writethrough
dd if=/tmp/q of=/dev/mapper/fq bs=8k count=1 oflag=direct status=none
flushes=$(disk_flushes "$DISK0")
fsync_dev /dev/mapper/fq
[ "$(disk_flushes "$DISK0")" -gt "$flushes" ] ||
	fail "a flush after a write-through write did not reach the disk"
cmp_direct /tmp/q "$DISK0" 8192 || fail "the disk lacks the written blocks"
dmsetup remove fq

step "writeback: a flush with a few dirty blocks writes them itself, with no round"
delay=$(cat /sys/module/dm_dcache/parameters/flush_delay_ms)
echo 600000 >/sys/module/dm_dcache/parameters/flush_delay_ms	# no round meanwhile
dcache_create fq "$DISK0" 4096
dd if=/dev/urandom of=/tmp/q bs=4k count=17 status=none
wb_rounds=$(cat /sys/kernel/dm_dcache/rounds) flushes=$(disk_flushes "$DISK0")
for i in 0 1 2 3 4; do
	dd if=/tmp/q of=/dev/mapper/fq bs=4k skip=$((3 * i)) seek=$((3 * i)) count=3 \
		oflag=direct status=none
	fsync_dev /dev/mapper/fq
done
[ "$(status_field fq 16)" -eq 5 ] || fail "$(status_field fq 16) of 5 flushes were quick"
[ "$(cat /sys/kernel/dm_dcache/rounds)" -eq "$wb_rounds" ] || fail "a quick flush ran a round"
[ "$(disk_flushes "$DISK0")" -eq $((flushes + 5)) ] ||
	fail "$(($(disk_flushes "$DISK0") - flushes)) disk flushes for 5 quick flushes"
[ "$(status_field fq 3)" -eq 0 ] || fail "blocks left dirty after quick flushes"
cmp_direct /tmp/q "$DISK0" $((15 * 4096)) || fail "the disk lacks what quick flushes wrote"
# More than a quick flush takes: a round writes them.
dd if=/tmp/q of=/dev/mapper/fq bs=4k count=17 oflag=direct status=none
fsync_dev /dev/mapper/fq
[ "$(status_field fq 16)" -eq 5 ] || fail "a flush of 17 dirty blocks was quick"
[ "$(cat /sys/kernel/dm_dcache/rounds)" -gt "$wb_rounds" ] || fail "no round for 17 dirty blocks"
cmp_direct /tmp/q "$DISK0" $((17 * 4096)) || fail "the disk lacks what the round wrote"
dmsetup remove fq
echo "$delay" >/sys/module/dm_dcache/parameters/flush_delay_ms

step "writeback: stamped writes, fsync and a log mark per round ($rounds x $writes)"
run_mode writeback "$DISK0" "$DISK1"
python3 "$tool" check "$DISK1" /tmp/history-writeback.json || fail "the flush contract was broken"

step "writeback, rounds of 8 writes: quick flushes keep the contract"
writes=8 run_mode writeback "$DISK0" "$DISK1"
python3 "$tool" check "$DISK1" /tmp/history-writeback.json || fail "a quick flush broke the flush contract"
quick=$(awk '{ print $19 }' /tmp/fc-status)
[ "$quick" -gt 0 ] || fail "no flush of rounds of 8 writes was quick"
echo "quick flushes: $quick"

step "writeback, one write per fsync: the writes go around the cache"
rounds=$((rounds * 4)) writes=1 run_mode writeback "$DISK0" "$DISK1"
python3 "$tool" check "$DISK1" /tmp/history-writeback.json || fail "a write-around broke the flush contract"
around=$(awk '{ print $20 }' /tmp/fc-status)
[ "$around" -gt $((rounds * 2)) ] || fail "only $around of $((rounds * 4)) writes went around"
echo "write-arounds: $around"

if on_test_kernel; then
	step "writeback, one write per fsync, with write and flush failures under the cache"
	inject_writes=1 run_mode writeback "$DISK0" "$DISK1" "" inject
	python3 "$tool" check "$DISK1" /tmp/history-writeback.json ||
		fail "an fsync returned 0 without a flush that succeeded"

	step "writeback with random write and flush failures under the cache"
	run_mode writeback "$DISK0" "$DISK1" "" inject
	python3 "$tool" check "$DISK1" /tmp/history-writeback.json ||
		fail "an fsync returned 0 without a flush that succeeded"
	echo 0 >/sys/kernel/debug/fail_make_request/probability
fi

step "ordered: the same workload; every backing flush (or completed FUA stage) is an epoch boundary"
run_mode ordered "$DISK2" "$DISK3"
python3 "$tool" check-ordered "$DISK3" /tmp/history-ordered.json ||
	fail "the backing device left an epoch boundary"

step "ordered over a 20 ms disk, hot blocks rewritten while their copies are in flight"
run_mode ordered "$DISK2" "$DISK3" slow
python3 "$tool" check-ordered "$DISK3" /tmp/history-ordered.json ||
	fail "the backing device left an epoch boundary"
rmmod dm_dcache
echo PASS
