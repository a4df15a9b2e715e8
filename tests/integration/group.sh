#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock612
# test-boot: 2
# disks: 64M 64M
# timeout: 600
# Consistency groups and device independence in ordered mode.
#
# Ungrouped, each device's epochs are its own: another device's flushes
# neither close its epoch nor make it wait, even while that device drains
# a backlog to a disk that takes 500 ms a write.
#
# Grouped (table feature "group NAME"), two devices share their epochs, and
# after a power cut their disks together hold a prefix of them: both
# dcache devices sit on the two halves of one dm-flakey device (so one
# table load cuts both at the same instant) over dm-delay (5 ms writes, so
# stages stay in flight), and tests/tools/cutcheck.py writes, rewrites,
# writes runs of 2 to 16 blocks with one bio (some from hot, cached blocks
# into cold ones), discards and fsyncs on both as one address space. The
# check refuses any state in which one device holds data of an epoch whose
# older data the other lacks; without the group the devices drift apart
# and it fails.
. "$DCACHE_TOP/tests/guest-lib.sh"

tool="$DCACHE_TOP/tests/tools/cutcheck.py"
blocks=1024	# per device: 4 MiB
# make soak asks for more (DCACHE_CUTS).
if on_test_kernel; then
	cuts=${DCACHE_CUTS:-1}
else
	cuts=${DCACHE_CUTS:-2}
fi
modprobe dm-mod 2>/dev/null || true
modprobe dm-delay 2>/dev/null || true
modprobe dm-flakey 2>/dev/null || true
modprobe dm-dcache pool_mb=16 flush_delay_ms=3600000
n=$(sectors "$DISK0")
half=$(((n / 2) & ~7))
EPOCH=10 DURABLE=11

# Device independence; the debug kernel leaves these to the stock one.
ungrouped_steps() {
	step "ungrouped: a flush of one device does not close another's epoch"
	dcache_create ga "$DISK0" 4096 1 ordered
	dcache_create gb "$DISK1" 4096 1 ordered
	eb=$(status_field gb $EPOCH)
	ea=$(status_field ga $EPOCH)
	# One dd, twenty O_SYNC writes (blocks 0 to 19), each closing an epoch.
	dd if=/dev/urandom of=/dev/mapper/ga bs=4k count=20 oflag=direct,sync status=none
	[ "$(status_field ga $EPOCH)" -ge $((ea + 20)) ] ||
		fail "20 synchronous writes closed $(($(status_field ga $EPOCH) - ea)) epochs of ga"
	[ "$(status_field gb $EPOCH)" = "$eb" ] ||
		fail "ga's flushes moved gb's epoch from $eb to $(status_field gb $EPOCH)"
	dmsetup remove ga
	dmsetup remove gb

	step "ungrouped: a device drains alone while another's disk is sick"
	echo "0 $(sectors "$DISK1") delay $DISK1 0 0 $DISK1 0 500" | dmsetup create g_sick
	dcache_create gs /dev/mapper/g_sick 4096 1 ordered
	dcache_create gf "$DISK0" 4096 1 ordered
	# A backlog of 16 one-block epochs on the sick disk: 16 stages of 500 ms
	# (one dd: blocks 1 to 16, each write O_SYNC, as 16 dd's wrote them).
	dd if=/dev/urandom of=/dev/mapper/gs bs=4k seek=1 count=16 oflag=direct,sync status=none
	dmsetup message gs 0 flush &
	sick=$!
	dd if=/dev/urandom of=/dev/mapper/gf bs=64k count=64 oflag=direct status=none
	start=$(date +%s%N)
	deadline 20 dmsetup message gf 0 flush || fail "the fast device's flush failed or hung"
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "fast device flushed in $ms ms while the sick one drains"
	[ $ms -lt 5000 ] || fail "the fast device waited $ms ms for the sick one"
	[ "$(status_field gf $DURABLE)" -ge "$(($(status_field gf $EPOCH) - 1))" ] ||
		fail "the fast device is not durable: $(dmsetup status gf)"
	[ "$(status_field gs 3)" -gt 0 ] || echo "(the sick disk drained already)"
	wait $sick || fail "the sick device's flush failed"
	dmsetup remove gf
	dmsetup remove gs
	dmsetup remove g_sick
}

on_test_kernel || ungrouped_steps

step "bad group names are refused"
expect_refused bad "0 $n dcache $DISK0 4096 3 ordered group a/b" \
	"Invalid group name: 1 to 32 letters, digits, '-', '_' or '.'"
expect_refused bad "0 $n dcache $DISK0 4096 2 ordered group" "group needs a name"
expect_refused bad "0 $n dcache $DISK0 4096 4 group a group b" "group given more than once"
dmsetup remove bad

stack_up() {
	echo "0 $n delay $DISK0 0 0 $DISK0 0 5" | dmsetup create g_slow
	echo "0 $n flakey /dev/mapper/g_slow 0 3600 0" | dmsetup create g_cut
	echo "0 $half linear /dev/mapper/g_cut 0" | dmsetup create g_a
	echo "0 $half linear /dev/mapper/g_cut $half" | dmsetup create g_b
	dcache_create ga /dev/mapper/g_a 4096 3 ordered group db
	dcache_create gb /dev/mapper/g_b 4096 3 ordered group db
}

stack_down() {
	dmsetup remove ga gb g_a g_b g_cut g_slow	# in this order, one process
}

# Write-back soon after each flush from here on, so that the cuts find
# stages in flight.
echo 50 >/sys/module/dm_dcache/parameters/flush_delay_ms

step "grouped: the table line names the group"
stack_up
dmsetup table ga | grep -q " group db$" || fail "group not in the table: $(dmsetup table ga)"
# A flush of one member closes the epoch of both.
eb=$(status_field gb $EPOCH)
dd if=/dev/urandom of=/dev/mapper/ga bs=4k count=1 oflag=direct,sync status=none
[ "$(status_field gb $EPOCH)" -gt "$eb" ] || fail "ga's flush did not close the group's epoch"
stack_down

step "grouped: $cuts power cuts of both members at once"
for cut in $(seq "$cuts"); do
	blkdiscard "$DISK0"
	rm -f /tmp/history
	stack_up
	python3 "$tool" run /dev/mapper/ga,/dev/mapper/gb /tmp/history \
		--blocks $blocks --hot 4 --discards --runs &
	pid=$!
	for ((i = 0; i < 300; i++)); do [ -s /tmp/history ] && break; sleep 0.1; done
	sleep "$((RANDOM % 3 + 2)).$((RANDOM % 10))"
	echo "0 $n flakey /dev/mapper/g_slow 0 0 3600 1 drop_writes" | dmsetup load g_cut
	dmsetup resume g_cut
	kill -KILL $pid
	wait $pid 2>/dev/null || true
	echo "ga: $(dmsetup status ga)"
	echo "gb: $(dmsetup status gb)"
	stack_down
	read -r ops runs <<<"$(history_counts /tmp/history)"
	echo "cut $cut: $ops operations, $runs runs of several blocks"
	[ "$runs" -gt 0 ] || fail "cut $cut: the workload wrote no run of several blocks"
	python3 "$tool" check-ordered "$DISK0@0,$DISK0@$((half * 512))" /tmp/history \
		--blocks $blocks || fail "cut $cut: the two disks are no joint prefix"
done
rmmod dm_dcache
echo PASS
