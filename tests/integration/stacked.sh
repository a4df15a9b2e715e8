#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock612
# disks: 128M 192M
# timeout: 400
# dcache stacked on dcache must not deadlock: an upper device's write-back
# writes to, and flushes, a lower dcache device, whose own write-back must
# never wait for the upper device's round. Two stacks under fio verify
# with fsyncs and a pool small enough to force write-back and throttling:
# writeback over writeback directly, and ordered over a loop file on ext4
# on a third dcache device.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe loop 2>/dev/null || true
modprobe dm-dcache pool_mb=8 flush_delay_ms=200

verify() {
	local dev=$1 size=$2
	deadline 240 fio --name=st --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randrw --bsrange=4k-64k --iodepth=8 --numjobs=1 --size="$size" \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --fsync=16 \
		--output=/tmp/fio.out || { cat /tmp/fio.out; fail "fio verify on $dev failed or hung"; }
	grep -E "WRITE:" /tmp/fio.out
}

step "writeback dcache over writeback dcache"
dcache_create lower "$DISK0" 4096
dcache_create upper /dev/mapper/lower 4096
verify /dev/mapper/upper 48m
deadline 60 dmsetup message upper 0 flush || fail "flush of the upper device failed or hung"
deadline 60 dmsetup remove upper || fail "remove of the upper device hung"
deadline 60 dmsetup remove lower || fail "remove of the lower device hung"

step "ordered dcache over a loop file on ext4 on a dcache device"
dcache_create fsdev "$DISK1" 4096
mkfs.ext4 -q -F /dev/mapper/fsdev
mkdir -p /tmp/stack
mount /dev/mapper/fsdev /tmp/stack
truncate -s 64M /tmp/stack/file
loopdev=$(losetup --find --show /tmp/stack/file)
dcache_create looped "$loopdev" 4096 1 ordered
verify /dev/mapper/looped 48m
deadline 60 dmsetup remove looped || fail "remove of the loop-backed device hung"
losetup -d "$loopdev"
umount /tmp/stack
deadline 60 dmsetup remove fsdev || fail "remove of the file system's device hung"
rmmod dm_dcache
echo PASS
