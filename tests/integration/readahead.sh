#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock612
# disks: 64M
# timeout: 400
# Readahead: a stream of small direct reads (below the cut-off) finds its
# blocks loaded ahead (read_aheads counts them) and mostly hits; random
# reads load next to nothing ahead; readahead 0 loads nothing; bad values
# are refused and change nothing. Then sequential readers race random
# readers that evict their blocks, rewrites and resizes of the pool, and
# every byte read is right.
. "$DCACHE_TOP/tests/guest-lib.sh"

P=/sys/module/dm_dcache/parameters
modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=16 flush_delay_ms=3600000
# The debug kernel under TCG is several times slower: a smaller image.
if on_test_kernel; then mib=4; else mib=16; fi
blocks=$((mib * 256))
field() { status_field rh "$1"; }
READ_HITS=5 READ_AHEADS=15

dd if=/dev/urandom of=/tmp/rh-image bs=1M count=$mib status=none
dd if=/tmp/rh-image of="$DISK0" bs=1M oflag=direct status=none

step "a stream of 4 KiB reads finds its blocks read ahead"
dcache_create rh "$DISK0" 4096 2 sequential_cutoff 0
dd if=/dev/mapper/rh of=/tmp/rh-read bs=4k count=$blocks iflag=direct status=none
cmp /tmp/rh-read /tmp/rh-image || fail "a read ahead returned wrong data"
echo "status: $(dmsetup status rh)"
[ "$(field $READ_AHEADS)" -ge $((blocks * 3 / 4)) ] ||
	fail "only $(field $READ_AHEADS) of $blocks blocks were read ahead"
[ "$(field $READ_HITS)" -ge $((blocks * 3 / 4)) ] ||
	fail "only $(field $READ_HITS) of $blocks reads hit"
dmsetup remove rh

step "random reads load next to nothing ahead"
dcache_create rh "$DISK0" 4096
fio --name=rr --filename=/dev/mapper/rh --direct=1 --rw=randread --bs=4k \
	--size=${mib}m --io_size=$((mib / 4))m --randrepeat=1 --output=/tmp/fio.out >/dev/null ||
	fail "random reads failed"
echo "status: $(dmsetup status rh)"
[ "$(field $READ_AHEADS)" -le $((blocks / 16)) ] ||
	fail "random reads loaded $(field $READ_AHEADS) blocks ahead"
dmsetup remove rh

step "readahead 0 loads nothing ahead; bad values change nothing"
dcache_create rh "$DISK0" 4096 4 sequential_cutoff 0 readahead 0
dmsetup table rh | grep -q " readahead 0" || fail "table lost readahead 0: $(dmsetup table rh)"
dd if=/dev/mapper/rh of=/tmp/rh-read bs=4k count=$blocks iflag=direct status=none
cmp /tmp/rh-read /tmp/rh-image || fail "a read without readahead returned wrong data"
[ "$(field $READ_AHEADS)" -eq 0 ] || fail "readahead 0 read $(field $READ_AHEADS) blocks ahead"
for bad in 4194305 -1 128k ""; do
	if dmsetup message rh 0 readahead $bad 2>/dev/null; then
		fail "message 'readahead $bad' was accepted"
	fi
done
dmsetup table rh | grep -q " readahead 0" || fail "a refused value changed the table"
dmsetup message rh 0 readahead 262144
dmsetup table rh | grep -q " readahead 262144" || fail "readahead message not shown"
dmsetup remove rh
expect_refused rh-bad "0 $(sectors "$DISK0") dcache $DISK0 4096 1 readahead" \
	"readahead needs a value"
expect_refused rh-bad "0 $(sectors "$DISK0") dcache $DISK0 4096 2 readahead 4194305" \
	"Invalid readahead: must be 0 to 4194304"
dmsetup remove rh-bad

step "streams race eviction, rewrites and pool resizes"
# A pool of 2 to 8 MiB, no larger than twice the image: random readers
# evict what the streams read ahead, a writer rewrites blocks (the image
# with it), the pool shrinks and grows under them.
echo 4 >$P/pool_mb || fail "pool resize to 4 MiB failed"
dcache_create rh "$DISK0" 4096 2 sequential_cutoff 0
python3 - /dev/mapper/rh /tmp/rh-image "$P/pool_mb" <<'PY' || fail "a stream read wrong data"
import mmap, os, random, sys, threading, time
dev, image, pool = sys.argv[1], sys.argv[2], sys.argv[3]
img = bytearray(open(image, "rb").read())
size = len(img)
lock = threading.Lock()
stop = threading.Event()
errors = []

def stream(seed):
    rnd = random.Random(seed)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 4096)
    while not stop.is_set():
        start = rnd.randrange(0, size // 4096 - 256)
        for b in range(start, start + 256):
            with lock:
                os.preadv(fd, [buf], b * 4096)
                want = bytes(img[b * 4096:(b + 1) * 4096])
            if bytes(buf) != want:
                errors.append(f"block {b} differs")
                stop.set()
                return

def random_reader(seed):
    rnd = random.Random(seed)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 4096)
    while not stop.is_set():
        os.preadv(fd, [buf], rnd.randrange(0, size // 4096) * 4096)

def writer(seed):
    rnd = random.Random(seed)
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 4096)
    while not stop.is_set():
        b = rnd.randrange(0, size // 4096)
        data = os.urandom(4096)
        buf[:] = data
        with lock:
            os.pwritev(fd, [buf], b * 4096)
            img[b * 4096:(b + 1) * 4096] = data
        time.sleep(0.002)

threads = [threading.Thread(target=stream, args=(s,)) for s in (1, 2)]
threads += [threading.Thread(target=random_reader, args=(3,)),
            threading.Thread(target=writer, args=(4,))]
for t in threads:
    t.start()
for mb in (8, 2, 4, 8, 2, 4):
    if stop.is_set():
        break
    with open(pool, "w") as f:
        f.write(str(mb))
    time.sleep(1)
stop.set()
for t in threads:
    t.join()
if errors:
    sys.exit(errors[0])
open(image, "wb").write(img)
PY
echo "status: $(dmsetup status rh)"
[ "$(field $READ_AHEADS)" -gt 0 ] || fail "the streams read nothing ahead"
echo 1 >$P/debug_check || fail "invariants broken after the race"
echo 0 >$P/debug_check
dmsetup remove rh
cmp_direct /tmp/rh-image "$DISK0" $((mib << 20)) || fail "the disk differs after remove"
rmmod dm_dcache
echo PASS
