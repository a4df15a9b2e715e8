#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock stock612
# timeout: 300
# Small stages go to a disk with native FUA as FUA writes, with no flush:
# an ordered device over null_blk with a volatile write cache (which does
# FUA itself) writes 4 KiB blocks with fsync; every fsync closes a
# one-block epoch, each stage of one block is a FUA write, and the disk
# sees no flush. A stage larger than 16 blocks is flushed. The data is
# right on the disk after remove.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=16
disk=$(nullb_create dcfua 64) || fail "no null_blk with a write cache"
q=/sys/block/${disk#/dev/}/queue
echo "$disk: write_cache $(cat "$q/write_cache"), fua $(cat "$q/fua")"
[ "$(cat "$q/fua")" = 1 ] || fail "null_blk with a cache has no FUA"
field() { status_field fs "$1"; }
DURABLE=11

# Write $2 blocks from block $1, $3 apart, through the device, and the
# image with them; fsync after each one if $4 is 1, else once at the end.
write_blocks() {
	python3 - /dev/mapper/fs /tmp/fs-image "$@" <<'PY' || fail "writes failed"
import mmap, os, sys
dev, image = sys.argv[1], sys.argv[2]
first, count, stride, each = (int(a) for a in sys.argv[3:7])
fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
img = open(image, "r+b")
buf = mmap.mmap(-1, 4096)
for b in range(first, first + count * stride, stride):
    buf[:] = os.urandom(4096)
    os.pwritev(fd, [buf], b * 4096)
    if each:
        os.fsync(fd)
    img.seek(b * 4096)
    img.write(buf[:])
os.fsync(fd)
PY
}

step "one-block stages are FUA writes: no flush each"
dd if=/dev/urandom of=/tmp/fs-image bs=1M count=64 status=none
dd if=/tmp/fs-image of="$disk" bs=1M oflag=direct status=none
dcache_create fs "$disk" 4096 1 ordered
f0=$(disk_flushes "$disk")
write_blocks 5 200 61 1
dmsetup message fs 0 flush
f1=$(disk_flushes "$disk")
echo "status: $(dmsetup status fs); flushes to the disk: $((f1 - f0))"
stages=$(field $DURABLE)
[ "$stages" -ge 150 ] || fail "only $stages epochs for 200 fsyncs"
[ $((f1 - f0)) -le 10 ] || fail "$((f1 - f0)) flushes for $stages one-block stages"

step "a stage of 64 blocks is written plainly and flushed"
f0=$(disk_flushes "$disk")
write_blocks 1000 64 3 0
dmsetup message fs 0 flush
f1=$(disk_flushes "$disk")
echo "status: $(dmsetup status fs); flushes to the disk: $((f1 - f0))"
[ $((f1 - f0)) -ge 1 ] || fail "a 64-block stage was not flushed"
dmsetup remove fs
cmp_direct /tmp/fs-image "$disk" $((64 << 20)) || fail "the disk differs after remove"

nullb_remove dcfua
rmmod dm_dcache
echo PASS
