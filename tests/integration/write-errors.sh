#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock612
# disks: 64M
# timeout: 600
# Write errors lose nothing: dcache over dm-flakey. While flakey fails
# every write, flushes fail with EIO, the blocks stay dirty and readable,
# status shows the error; when the device heals the flusher's retry writes
# them back. Suspend with a dead device completes and keeps the blocks;
# remove with a dead device completes and logs how much was lost.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-flakey 2>/dev/null || true  # built in on the test kernel
# No background write-back unless a flush or a retry asks for it.
modprobe dm-dcache flush_delay_ms=3600000
n=$(sectors "$DISK0")
healthy="0 $n flakey $DISK0 0 3600 0"
failing="0 $n flakey $DISK0 0 0 3600 1 error_writes"
set_flakey() {
	echo "$1" | dmsetup load fl
	dmsetup resume fl
}
field() { status_field we "$1"; }
ERR=1 DIRTY=3 WERR=9
dd if=/dev/urandom of=/tmp/a bs=1M count=1 status=none
dd if=/dev/urandom of=/tmp/b bs=1M count=1 status=none

echo "$healthy" | dmsetup create fl
dcache_create we /dev/mapper/fl 4096

step "the backing device refuses writes: flushes fail, nothing is lost"
dd if=/tmp/a of=/dev/mapper/we bs=64k oflag=direct status=none
set_flakey "$failing"
fsync_dev /dev/mapper/we 2>/tmp/fsync.err && fail "fsync succeeded while every write fails"
grep -q "Input/output error" /tmp/fsync.err || { cat /tmp/fsync.err; fail "fsync did not fail with EIO"; }
dmsetup message we 0 flush 2>/dev/null && fail "flush message succeeded while every write fails"
echo "status: $(dmsetup status we)"
[ "$(field $ERR)" = write_error ] || fail "error state not shown: $(dmsetup status we)"
[ "$(field $WERR)" -gt 0 ] || fail "write errors not counted: $(dmsetup status we)"
[ "$(field $DIRTY)" -eq 256 ] || fail "dirty blocks lost: $(dmsetup status we)"
cmp_direct /tmp/a /dev/mapper/we 1048576 || fail "cached data changed after failed write-back"

step "suspend with a dead device completes and keeps the dirty blocks"
dmesg -C
deadline 60 dmsetup suspend we || fail "suspend did not complete"
dmesg | grep -q "write-back at suspend failed.*256 dirty blocks kept" ||
	{ dmesg | tail; fail "no log line for the blocks kept at suspend"; }
dmsetup resume we
[ "$(field $DIRTY)" -eq 256 ] || fail "suspend dropped dirty blocks: $(dmsetup status we)"

step "the device heals: the flusher's retry writes everything back"
set_flakey "$healthy"
for _ in $(seq 200); do
	[ "$(field $DIRTY)" -eq 0 ] && break
	sleep 0.1
done
[ "$(field $DIRTY)" -eq 0 ] || fail "no retry wrote the blocks back: $(dmsetup status we)"
[ "$(field $ERR)" = ok ] || fail "error state stuck: $(dmsetup status we)"
cmp_direct /tmp/a "$DISK0" 1048576 || fail "backing device differs after recovery"
fsync_dev /dev/mapper/we || fail "fsync fails after recovery"

step "ordered: a write held for an older stage of a dead device fails, not hangs"
dmsetup message we 0 mode ordered
# The disk dies first: a round may start at any time, and one that ran
# before it died would leave nothing to fail.
set_flakey "$failing"
dd if=/tmp/a of=/dev/mapper/we bs=4k count=1 oflag=direct status=none
fsync_dev /dev/mapper/we	# ordered: closes the epoch, returns at once
dmsetup message we 0 flush 2>/dev/null && fail "flush succeeded while every write fails"
# A rewrite keeps the unwritten stage's data (copy-on-write) and goes on,
# one version per epoch, until the pages for kept versions reach their
# bound. They count against the dirty budget (dirty_percent of the pool:
# 163 pages at 1% of 64 MiB), taking what dirty blocks leave of it and at
# least a quarter: with 131 blocks dirty, 40. Then a writer is held, and
# on a dead disk it must fail, not hang.
echo 1 >/sys/module/dm_dcache/parameters/dirty_percent
dd if=/tmp/b of=/dev/mapper/we bs=4k seek=1 count=130 oflag=direct status=none
waits=$(cat /sys/kernel/dm_dcache/cow_waits)
# Block 0 rewritten with /tmp/b and /tmp/a in turn, an fsync after each
# (closing its epoch), until a write is held and fails: one python3 for
# the loop (a dd and a python3 per version took most of the
# test's time under TCG). It prints the versions taken; exit 2: a write
# failed with another error, 3: none was held. A write that hangs
# fails the deadline instead (its output goes to a file: a command
# substitution would wait for the hung process to close its pipe).
rc=0 taken=
deadline 120 python3 -c '
import errno, mmap, os, sys
dev, tries = sys.argv[1], int(sys.argv[4])
bufs = []
for path in sys.argv[2:4]:
    buf = mmap.mmap(-1, 4096)
    buf.write(open(path, "rb").read(4096))
    bufs.append(buf)
fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
for taken in range(tries):
    try:
        os.pwritev(fd, [bufs[taken % 2]], 0)
    except OSError as e:
        print(taken)
        if e.errno != errno.EIO:
            print(f"held write failed with {os.strerror(e.errno)}, not EIO", file=sys.stderr)
            sys.exit(2)
        sys.exit(0)
    os.fsync(fd)
print(tries)
sys.exit(3)' /dev/mapper/we /tmp/b /tmp/a 64 >/tmp/taken || rc=$?
read -r taken </tmp/taken || true
[ $rc -ne 124 ] || fail "a write over unwritten stages hung on a dead device"
[ $rc -ne 2 ] || fail "held write did not fail with EIO"
[ $rc -ne 3 ] || fail "64 versions over unwritten stages were all taken on a dead device"
[ $rc -eq 0 ] || fail "rewriting over unwritten stages failed (status $rc)"
echo 66 >/sys/module/dm_dcache/parameters/dirty_percent
echo "$taken versions taken, then a write held: blocks_kept $(cat /sys/kernel/dm_dcache/blocks_kept)"
if [ "$taken" -lt 38 ] || [ "$taken" -gt 42 ]; then
	fail "$taken versions kept before a writer was held, not 40"
fi
# One held write, one stall, however often it looked again.
[ "$(cat /sys/kernel/dm_dcache/cow_waits)" -eq $((waits + 1)) ] ||
	fail "the held write is not in cow_waits once: $waits, then $(cat /sys/kernel/dm_dcache/cow_waits)"
set_flakey "$healthy"
dmsetup message we 0 flush || fail "flush fails after the device recovered"
dd if=/tmp/b of=/dev/mapper/we bs=4k count=1 oflag=direct status=none || fail "write fails after recovery"
dmsetup message we 0 flush
cmp_direct /tmp/b "$DISK0" 4096 || fail "backing device differs after recovery"
dmsetup message we 0 mode writeback

step "a write that goes around the cache and fails leaves the disk's data to read"
AROUND=17
# A write of $2 bytes of /tmp/b while the disk fails, in mode $1: it goes
# around the cache and fails, and /tmp/a, the disk's data, is read back.
failed_write_around() {
	local before
	set_flakey "$failing"
	before=$(field $AROUND)
	dd if=/tmp/b of=/dev/mapper/we bs="$2" count=1 oflag=direct status=none 2>/dev/null &&
		fail "$1: a write going around to a dead disk succeeded"
	[ "$(field $AROUND)" -gt "$before" ] || fail "$1: the write did not go around"
	set_flakey "$healthy"
	cmp_direct /tmp/a /dev/mapper/we "$2" || fail "$1: a failed write's data is read back"
}
# Writethrough: every whole-block write goes around, cached once it lands.
dmsetup message we 0 mode writethrough
dd if=/tmp/a of=/dev/mapper/we bs=16k count=1 oflag=direct status=none
cmp_direct /tmp/a "$DISK0" 16384 || fail "writethrough: the disk lacks the write"
failed_write_around writethrough 16384
# Writeback, a writer that flushes after every write: the write after a
# flush goes around, and fails with the disk instead of being absorbed.
dmsetup message we 0 mode writeback
for _ in 1 2; do
	dd if=/tmp/a of=/dev/mapper/we bs=4k count=1 oflag=direct status=none
	fsync_dev /dev/mapper/we
done
failed_write_around writeback 4096
[ "$(field $DIRTY)" -eq 0 ] || fail "a failed write-around left dirty blocks"
# A block the cache has none for (read from the disk beneath, not through
# the cache): the write takes no block, only a claim on its range, and
# after it fails the disk's data is what a read through the cache gets.
fsync_dev /dev/mapper/we
dd if="$DISK0" of=/tmp/far iflag=direct bs=4k skip=8192 count=1 status=none
set_flakey "$failing"
before=$(field $AROUND)
dd if=/tmp/b of=/dev/mapper/we bs=4k seek=8192 count=1 oflag=direct status=none 2>/dev/null &&
	fail "writeback: a write around an uncached block to a dead disk succeeded"
[ "$(field $AROUND)" -gt "$before" ] || fail "writeback: the write to an uncached block did not go around"
set_flakey "$healthy"
dd if=/dev/mapper/we iflag=direct bs=4k skip=8192 count=1 status=none | cmp -s /tmp/far - ||
	fail "writeback: a failed write to an uncached block is read back"
# Two writes before the next flush: a writer that does not flush after
# every write, whose writes the next step needs absorbed.
dd if=/tmp/a of=/dev/mapper/we bs=4k count=2 oflag=direct status=none
fsync_dev /dev/mapper/we

step "remove with a dead device completes and says what was lost"
dd if=/tmp/b of=/dev/mapper/we bs=64k oflag=direct status=none
set_flakey "$failing"
dmesg -C
deadline 60 dmsetup remove we || fail "remove did not complete"
dmesg | grep -q "256 dirty blocks (1048576 bytes) lost" ||
	{ dmesg | tail; fail "no log line for the lost blocks"; }
dmsetup remove fl
rmmod dm_dcache
echo PASS
