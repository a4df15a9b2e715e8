#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock stock612
# disks: 16M
# A random pattern written through the target reads back identical through
# it, and is on the backing device after remove.
. "$DCACHE_TOP/tests/guest-lib.sh"

dev=$DISK0
dd if=/dev/urandom of=/tmp/pattern bs=1M count=16 status=none
dcache_create pat0 "$dev" 4096
dm=$(dm_kname pat0)
wc=$(cat /sys/block/"$dm"/queue/write_cache)
[ "$wc" = "write back" ] || fail "write_cache of $dm is '$wc', flushes would not reach the target"

step "write the pattern with odd sizes and offsets, covering the device"
mib=$((1 << 20))
dd if=/tmp/pattern of=/dev/mapper/pat0 bs=1M count=4 oflag=direct status=none
dd if=/tmp/pattern of=/dev/mapper/pat0 bs=512 skip=8192 seek=8192 count=2048 oflag=direct status=none
dd if=/tmp/pattern of=/dev/mapper/pat0 bs=12k iflag=skip_bytes,count_bytes oflag=seek_bytes \
	skip=$((5 * mib)) seek=$((5 * mib)) count=$((11 * mib)) conv=fsync status=none
sync
sync

step "read back through the target"
cmp /tmp/pattern /dev/mapper/pat0 || fail "read back through dcache differs"
dmsetup remove pat0
step "compare the backing device"
cmp_direct /tmp/pattern "$dev" $((16 * mib)) || fail "backing device differs from what was written"
echo PASS
