#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest side of "make demo": one dcache device over /dev/vda (1 GiB),
# a short fio job, the table and status before and after.
. "$DCACHE_TOP/tests/guest-lib.sh"

echo
echo "### dm-dcache demo on $(uname -r)"
modprobe dm-mod 2>/dev/null || true
dcache_create demo /dev/vda 4096
echo "created /dev/mapper/demo: dcache over /dev/vda ($(($(sectors /dev/vda) / 2048)) MiB), 4 KiB blocks"
echo
echo "\$ dmsetup table demo"
dmsetup table demo
echo "\$ dmsetup status demo"
dmsetup status demo
echo
echo "\$ fio: 10 s of 4 KiB random reads and writes (70/30) over 256 MiB, then verify"
fio --name=demo --filename=/dev/mapper/demo --direct=1 --ioengine=libaio \
	--rw=randrw --rwmixread=70 --bs=4k --iodepth=8 --size=256m \
	--time_based --runtime=10 --verify=crc32c --verify_backlog=512 \
	--group_reporting --output-format=terse --terse-version=3 >/tmp/fio.terse
awk -F';' '{ printf "read: %d IOPS, write: %d IOPS, errors: %d\n", $8, $49, $104 }' /tmp/fio.terse
echo
echo "\$ dmsetup status demo"
status_after=$(dmsetup status demo)
echo "$status_after"
echo "   (fields: start len target error cached dirty reads read_hits writes"
echo "    write_hits flushes write_errors epoch durable_epoch; see README)"
echo "\$ cat /sys/module/dm_dcache/parameters/pool_mb"
cat /sys/module/dm_dcache/parameters/pool_mb
dmsetup remove demo
echo
# shellcheck disable=SC2086 # split into its fields
set -- $status_after
echo "What you saw: the target loaded by itself (modprobe through dmsetup) and"
echo "served a verified random read/write load. Of $7 reads, $8 were hits served"
echo "from memory without touching the disk; of $9 writes, ${10} went straight"
echo "into cached blocks; $5 blocks ($(( $5 * 4 )) KiB) of the device sat in the"
echo "shared pool and $6 were dirty, waiting for write-back. Remove wrote"
echo "them all back before it returned."
