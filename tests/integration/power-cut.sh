#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock stock612
# disks: 256M
# timeout: 900
# Power cuts under ext4 in ordered mode: dcache over dm-flakey. At 12
# random moments of a file-creating workload (8 on the second stock kernel,
# 6.12, to save check's time) flakey starts dropping every write (the power
# is gone); after each cut, mounting the backing device (journal replay) and
# e2fsck -fn must find a clean file system.
. "$DCACHE_TOP/tests/guest-lib.sh"

# make soak asks for more.
cuts=${DCACHE_CUTS:-5}

modprobe dm-mod 2>/dev/null || true
modprobe dm-flakey 2>/dev/null || true  # built in on the test kernel
modprobe dm-dcache pool_mb=16 flush_delay_ms=100
n=$(sectors "$DISK0")
mkfs.ext4 -q -F -b 4096 "$DISK0"
mkdir -p /tmp/mnt

workload() {
	local dir=/tmp/mnt/cut$1 i=0
	mkdir -p "$dir"
	while :; do
		mkdir -p "$dir"/$((i / 50))
		head -c $(((RANDOM % 32 + 1) * 1024)) /dev/urandom >"$dir"/$((i / 50))/f$i
		[ $((i % 20)) -eq 0 ] && sync -f "$dir"
		i=$((i + 1))
	done
}

for cut in $(seq "$cuts"); do
	echo "0 $n flakey $DISK0 0 3600 0" | dmsetup create pc_fl
	dcache_create pc /dev/mapper/pc_fl 4096 3 ordered max_age_ms 200
	mount /dev/mapper/pc /tmp/mnt
	workload "$cut" &
	pid=$!
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	# The cut: from now on every write is lost.
	echo "0 $n flakey $DISK0 0 0 3600 1 drop_writes" | dmsetup load pc_fl
	dmsetup resume pc_fl
	kill $pid
	wait $pid 2>/dev/null || true
	# A writer the kill did not reach may still hold the mount for a moment.
	for _ in $(seq 50); do umount /tmp/mnt 2>/dev/null && break; sleep 0.2; done
	mountpoint -q /tmp/mnt && fail "cut $cut: cannot unmount"
	dmsetup remove pc
	dmsetup remove pc_fl
	blockdev --flushbufs "$DISK0"
	mount "$DISK0" /tmp/mnt || fail "cut $cut: the file system does not mount"
	files=$(find /tmp/mnt -type f | wc -l)
	umount /tmp/mnt
	e2fsck -fn "$DISK0" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "cut $cut: e2fsck found errors"; }
	echo "cut $cut: clean, $files files survived"
done
rmmod dm_dcache
echo PASS
