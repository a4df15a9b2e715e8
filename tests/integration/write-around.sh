#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock612
# test-boot: 2
# disks: 64M
# timeout: 300
# Which writes go around the cache in writeback mode: a writer that
# flushes after every write is recognised whatever its writes' size and
# alignment, so that its flushes find nothing dirty, and no other writer
# is. One write is one write even when it reaches dm as several bios:
# map() keeps a part of it (a partial block, at most 64 blocks around the
# cache at once) and dm sends the rest back, dm splits it at a 1 MiB
# max_io_len boundary, or the block layer sends a write of more than
# 1 MiB as several bios (before these counted once, a writer of unaligned
# 1 MiB writes with an fsync after each, or of 4 MiB ones, was never
# recognised). (Unaligned 4 MiB writes are recognised most of the time,
# not always: 5362 to 7161 of 8200 blocks around on 6.12; not asserted.)
# What the device and then the disk hold is what was written.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=16 flush_delay_ms=3600000
WRITE_AROUNDS=17
n=$(sectors "$DISK0")
dd if=/dev/urandom of=/tmp/wa-image bs=1M count=$((n / 2048)) status=none
dd if=/tmp/wa-image of="$DISK0" bs=1M oflag=direct status=none

# Case $1: python3 writes to the device as the arguments after it say
# (size, first offset, stride, count, writes per fsync), into
# /tmp/wa-image too, and prints the blocks it wrote (partial ones too).
# Then it reads the blocks it wrote (whole, partial ones too) back through
# the device (O_DIRECT), which must hold what the image holds there. The
# device's other blocks it reads from the disk, which the test compares
# whole after the device is gone: a read of the whole device per case
# cost more than the case's writes under TCG.
write_case() {
	python3 - /dev/mapper/wa /tmp/wa-image "$@" <<'PY'
import mmap, os, random, sys
dev, image = sys.argv[1], sys.argv[2]
size, first, stride, count, per_fsync = map(int, sys.argv[3:8])
fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
img = open(image, "r+b")
buf = mmap.mmap(-1, size)
rnd = random.Random(size + first)
blocks = 0
for i in range(count):
    off = first + i * stride
    data = rnd.randbytes(size)
    buf[:] = data
    assert os.pwritev(fd, [buf], off) == size
    img.seek(off)
    img.write(data)
    blocks += (off + size - 1) // 4096 - off // 4096 + 1
    if (i + 1) % per_fsync == 0:
        os.fsync(fd)
img.flush()
# Whole blocks: a partial block's other bytes must read as the disk's.
back = mmap.mmap(-1, size + 8192)
for i in range(count):
    lo = (first + i * stride) // 4096 * 4096
    n = -(-(first + i * stride + size) // 4096) * 4096 - lo
    view = memoryview(back)[:n]
    assert os.preadv(fd, [view], lo) == n
    img.seek(lo)
    if view != img.read(n):
        sys.exit(f"the device does not hold what was written at {first + i * stride}")
os.close(fd)
print(blocks)
PY
}

# Case $1 on a new writeback device: expects at least $2/4 of the blocks
# written to go around the cache, or none when $2 is 0; the rest of the
# arguments go to write_case.
around_case() {
	local name=$1 quarters=$2 blocks around
	shift 2
	step "$name"
	dcache_create wa "$DISK0" 4096 1 writeback
	echo "max_sectors_kb $(cat "/sys/block/$(dm_kname wa)/queue/max_sectors_kb")"
	blocks=$(write_case "$@") || fail "$name: writing or reading back failed"
	around=$(status_field wa $WRITE_AROUNDS)
	echo "status: $(dmsetup status wa)"
	echo "$around of $blocks blocks went around the cache"
	if [ "$quarters" = 0 ]; then
		[ "$around" = 0 ] || fail "$name: $around blocks went around the cache"
	else
		[ $((around * 4)) -ge $((blocks * quarters)) ] ||
			fail "$name: only $around of $blocks blocks went around the cache"
	fi
	dmsetup remove wa
	cmp_direct /tmp/wa-image "$DISK0" $((n * 512)) ||
		fail "$name: the disk does not hold what was written"
}

# Nearly every block: the first write, before any flush, is absorbed.
around_case "4k random writes, an fsync after each" 3 4096 0 $((5 * 4096 * 37)) 64 1
around_case "1 MiB writes at 512-byte offsets, an fsync after each" 3 $((1 << 20)) 512 \
	$((3 << 20)) 16 1
around_case "4 MiB writes, an fsync after each" 3 $((4 << 20)) 0 $((4 << 20)) 8 1
# Writes that no flush follows one by one stay in the cache, those of a
# stream of small ones too.
around_case "4k random writes, an fsync after every two" 0 4096 0 $((5 * 4096 * 37)) 64 2
around_case "4k sequential writes, an fsync after every eight" 0 4096 0 4096 256 8
around_case "1 MiB writes, no fsync" 0 $((1 << 20)) 512 $((3 << 20)) 16 1000
rmmod dm_dcache
echo PASS
