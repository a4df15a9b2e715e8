#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock
# disks: 64M
# timeout: 300
# Reads of a stream go around the cache, never around newer data in it:
# a sequential 1 MiB read of a disk with dirty blocks scattered through the
# cache returns the dirty blocks' data from the cache and the rest from the
# disk (read_bypasses counts those), in writeback and in ordered mode; with
# sequential_cutoff 0 and read_admit 1 nothing goes around; random reads
# never do with read_admit 1. With read_admit 2 (the default) a block's
# first read miss goes around, its second takes it in, its third hits;
# a scan going around the cache takes nothing in.
# Reads and writes of many blocks start and end at odd 512-byte offsets.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=16 flush_delay_ms=3600000
# The debug kernel under TCG is several times slower: a smaller image.
if on_test_kernel; then mib=8 ops=100; else mib=32 ops=300; fi
field() { status_field ra "$1"; }
BLOCKS=2 READS=4 READ_HITS=5 BYPASSES=12

for mode in writeback ordered; do
	step "$mode: a sequential read around $((mib * 256 / 7)) scattered dirty blocks"
	dd if=/dev/urandom of=/tmp/ra-image bs=1M count=$mib status=none
	dd if=/tmp/ra-image of="$DISK0" bs=1M oflag=direct status=none
	dcache_create ra "$DISK0" 4096 1 $mode
	# Every 7th block rewritten through the cache (dirty, not written
	# back: the flush delay is an hour), and the expected image with it.
	python3 - /dev/mapper/ra /tmp/ra-image $mib <<'PY'
import mmap, os, sys
dev, image, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
img = open(image, "r+b")
buf = mmap.mmap(-1, 4096)
for b in range(0, mib * 256, 7):
    data = os.urandom(4096)
    buf[:] = data
    os.pwritev(fd, [buf], b * 4096)
    img.seek(b * 4096)
    img.write(data)
os.close(fd)
PY
	dmsetup message ra 0 clear_stats
	dd if=/dev/mapper/ra of=/tmp/ra-read bs=1M count=$mib iflag=direct status=none
	cmp /tmp/ra-read /tmp/ra-image || fail "$mode: a sequential read missed data in the cache"
	echo "status: $(dmsetup status ra)"
	[ "$(field $BYPASSES)" -gt 0 ] || fail "$mode: no read went around the cache"
	[ "$(field $READ_HITS)" -ge $((mib * 256 / 7)) ] ||
		fail "$mode: the dirty blocks were not read from the cache"

	step "$mode: reads of many blocks at odd offsets, through the cache"
	python3 - /dev/mapper/ra /tmp/ra-image $ops <<'PY' || fail "$mode: reads and writes at odd offsets"
import mmap, os, random, sys
dev, image, ops = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
img = open(image, "r+b")
size = os.path.getsize(image)
rnd = random.Random(7)
buf = mmap.mmap(-1, 1 << 20)
for i in range(ops):
    length = rnd.randrange(1, 2048) * 512
    off = rnd.randrange(0, (size - length) // 512) * 512
    view = memoryview(buf)[:length]
    if rnd.random() < 0.5:
        data = os.urandom(length)
        view[:] = data
        assert os.pwritev(fd, [view], off) == length
        img.seek(off)
        img.write(data)
    else:
        assert os.preadv(fd, [view], off) == length
        img.seek(off)
        if bytes(view) != img.read(length):
            sys.exit(f"read of {length} bytes at {off} differs")
PY
	dd if=/dev/mapper/ra of=/tmp/ra-read bs=1M count=$mib iflag=direct status=none
	cmp /tmp/ra-read /tmp/ra-image || fail "$mode: the image differs after odd-offset writes"

	step "$mode: sequential_cutoff 0 and read_admit 1 keep every read in the cache"
	dmsetup message ra 0 sequential_cutoff 0
	dmsetup message ra 0 read_admit 1
	dmsetup message ra 0 clear_stats
	dd if=/dev/mapper/ra of=/tmp/ra-read bs=1M count=$mib iflag=direct status=none
	cmp /tmp/ra-read /tmp/ra-image || fail "$mode: a cached read differs"
	[ "$(field $BYPASSES)" -eq 0 ] || fail "$mode: reads went around with the cut-off off"
	[ "$(field $READS)" -ge $((mib * 256)) ] || fail "$mode: reads not counted per block"
	dmsetup message ra 0 sequential_cutoff 4194304

	step "$mode: random reads never go around"
	dmsetup message ra 0 clear_stats
	fio --name=rr --filename=/dev/mapper/ra --direct=1 --rw=randread --bs=4k \
		--size=${mib}m --io_size=4m --output=/tmp/fio.out >/dev/null ||
		fail "$mode: random reads failed"
	[ "$(field $BYPASSES)" -eq 0 ] || fail "$mode: random reads went around: $(dmsetup status ra)"
	dmsetup remove ra

	step "$mode: read_admit 2: a first read miss goes around, the second takes the block in"
	dcache_create ra "$DISK0" 4096 1 $mode
	# A scan first: its blocks past the cut-off (4 MiB, 1024 blocks, and
	# the readahead before it) go around unremembered, so it admits none.
	dd if=/dev/mapper/ra of=/dev/null bs=1M count=$mib iflag=direct status=none
	dmsetup message ra 0 clear_stats
	base=$(field $BLOCKS)
	for pass in 1 2 3; do
		# 64 blocks from block 1100 on: no two in a row, so no readahead.
		python3 - /dev/mapper/ra /tmp/ra-image $(((mib * 256 - 1100) / 64)) <<'PY' ||
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
img = open(sys.argv[2], "rb")
buf = mmap.mmap(-1, 4096)
apart = int(sys.argv[3])
for b in range(1100, 1100 + 64 * apart, apart):
    assert os.preadv(fd, [buf], b * 4096) == 4096
    img.seek(b * 4096)
    if buf[:] != img.read(4096):
        sys.exit(f"block {b} differs")
PY
			fail "$mode: pass $pass read wrong data"
		echo "pass $pass: $(dmsetup status ra)"
		# Bypasses, cached blocks and hits after each pass.
		want=$(echo "64 0 0|64 64 0|64 64 64" | cut -d'|' -f$pass)
		got="$(field $BYPASSES) $(($(field $BLOCKS) - base)) $(field $READ_HITS)"
		[ "$got" = "$want" ] ||
			fail "$mode: pass $pass: bypasses, blocks, hits $got, not $want"
	done
	dmsetup remove ra
	dd if="$DISK0" of=/tmp/ra-read bs=1M count=$mib iflag=direct status=none
	cmp /tmp/ra-read /tmp/ra-image || fail "$mode: the disk differs after remove"
done

# Grown under a live device, the pool gets a table of read misses to
# match: one sized for the old pool (8192 slots for 16 MiB) would forget
# most of a working set larger than that before its second read.
step "read_admit 2 after the pool grows: a second read takes in a working set of the new size"
dcache_create ra "$DISK0" 4096
echo 128 >/sys/module/dm_dcache/parameters/pool_mb
dd if=/dev/mapper/ra of=/dev/null bs=4k count=1 iflag=direct status=none	# the resize
sleep 1
dmsetup message ra 0 clear_stats
base=$(field $BLOCKS)
# 12000 of the disk's 16384 blocks: more than the old table holds.
nr=12000
for pass in 1 2; do
	python3 - /dev/mapper/ra $(($(sectors "$DISK0") / 8)) $nr <<'PY' || fail "pass $pass: reads failed"
import mmap, os, random, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
blocks = random.Random(7).sample(range(1, int(sys.argv[2])), int(sys.argv[3]))
for b in random.Random().sample(blocks, len(blocks)):
    assert os.preadv(fd, [buf], b * 4096) == 4096
PY
	echo "pass $pass: $(dmsetup status ra)"
done
taken=$(($(field $BLOCKS) - base))
echo "$taken of $nr blocks taken in on their second read"
[ "$taken" -ge $((nr * 9 / 10)) ] ||
	fail "only $taken of $nr blocks taken in: read admission forgot them"
dmsetup remove ra
echo 16 >/sys/module/dm_dcache/parameters/pool_mb
rmmod dm_dcache
echo PASS
