#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test
# test-boot: 2
# disks: 128M 128M 128M 128M
# timeout: 900
# Four dcache devices share the pool under fio verify at once; removing one
# leaves the others' cached blocks in place.
. "$DCACHE_TOP/tests/guest-lib.sh"

if on_test_kernel; then size=1m keep=64; else size=32m keep=256; fi
modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=16
disks=("$DISK0" "$DISK1" "$DISK2" "$DISK3")
for i in 0 1 2 3; do
	dcache_create four$i "${disks[$i]}" 4096
done

step "fio verify on four devices at once ($size each)"
# One fio, four jobs (fio runs them at once, a process each): four fio
# programs started took most of this step's 45 s on the debug kernel.
jobs=()
for i in 0 1 2 3; do
	jobs+=("--name=four$i" "--filename=/dev/mapper/four$i")
done
fio --direct=1 --ioengine=libaio --rw=randrw --bsrange=4k-64k --iodepth=8 --size=$size \
	--verify=crc32c --verify_fatal=1 --output=/tmp/fio.out "${jobs[@]}" ||
	{ cat /tmp/fio.out; fail "fio verify failed"; }
cached() { dmsetup status "$1" | awk '{ print $5 }'; }
# What fio left of a device that finished early may all have been evicted
# by the others' (128 MiB of work through a 16 MiB pool). Read 1 MiB of
# each device, every block twice in a row so that LRU-2 keeps it (a block
# read once is the first victim), and count it.
dmsetup message four0 0 flush
for i in 0 1 2 3; do
	python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
for b in range(int(sys.argv[2])):
    os.preadv(fd, [buf], b * 4096)
    os.preadv(fd, [buf], b * 4096)' /dev/mapper/four$i $keep
	[ "$(cached four$i)" -ge $keep ] || fail "four$i did not keep what it read: $(dmsetup status four$i)"
done

step "remove one; the others keep their blocks"
before=$(cached four1)
dmsetup remove four0
[ "$(cached four1)" -eq "$before" ] || fail "four1 lost blocks when four0 went: $before -> $(cached four1)"
for i in 1 2 3; do dmsetup remove four$i; done
rmmod dm_dcache
echo PASS
