#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock stock612
# disks: 512M
# timeout: 900
# ext4 on dcache with a pool smaller than the data: copy a tree of a few
# thousand files, sync, umount, remove; e2fsck -fn on the backing device is
# clean and every file's checksum matches the source's.
. "$DCACHE_TOP/tests/guest-lib.sh"

# The debug kernel under TCG is ~10x slower: a smaller tree there, and on
# the second stock kernel (6.12) to save check's time.
if on_test_kernel || on_stock612; then
	trees=(usr/share/zoneinfo/America usr/share/zoneinfo/Europe) pool=2
else
	# 763 files, 7 MiB, through 2 MiB: more data per pool MiB than the
	# 1663 files and 11 MiB through 4 MiB before, at half the files.
	trees=(usr/include/linux) pool=2
fi
modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=$pool
dcache_create fs "$DISK0" 4096
mkfs.ext4 -q -F /dev/mapper/fs
mkdir -p /tmp/mnt
mount /dev/mapper/fs /tmp/mnt

(cd / && find "${trees[@]}" -type f -print0 | sort -z | xargs -0 sha1sum) >/tmp/src.sums
step "copy $(wc -l </tmp/src.sums) files ($(cd / && du -scm "${trees[@]}" | tail -n 1 | cut -f1) MiB) through a $pool MiB pool"
mkdir /tmp/mnt/tree
(cd / && cp -a --parents "${trees[@]}" /tmp/mnt/tree)
sync
(cd /tmp/mnt/tree && sha1sum --quiet -c /tmp/src.sums) || fail "checksums differ through the cache"
umount /tmp/mnt
dmsetup status fs
dmsetup remove fs

step "the backing device alone: fsck and checksums"
e2fsck -fn "$DISK0" || fail "e2fsck found errors on the backing device"
mount -o ro "$DISK0" /tmp/mnt
(cd /tmp/mnt/tree && sha1sum --quiet -c /tmp/src.sums) || fail "checksums differ on the backing device"
umount /tmp/mnt
rmmod dm_dcache
echo PASS
