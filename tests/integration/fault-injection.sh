#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test
# disks: 64M
# timeout: 600
# Failure paths under the kernel's fault injection (debug kernel only):
#   failslab: the module's load, and a table load, with its n-th
#     allocation failing, for every n, fails cleanly (kmemleak and KASAN
#     check the rest at the end of boot); kmemleak's records of the
#     allocations are left out of the count (scripts/qemu-run);
#   fail_make_request: a read miss whose bio fails returns EIO and is
#     retried by the next read; a clustered load (one backing read for a
#     run of missed blocks) that fails fails its reader and leaves nothing
#     wrong cached; a write-back whose bio fails keeps the blocks dirty,
#     and they reach the disk once bios succeed again;
#   failslab on a reader: map()'s miss path cannot allocate and the
#     device's worker serves the read instead.
. "$DCACHE_TOP/tests/guest-lib.sh"

dbg=/sys/kernel/debug
[ -d $dbg/failslab ] || fail "fault injection not in debugfs"
[ -d $dbg/fail_make_request ] || fail "fault injection not in debugfs"
modprobe dm-mod 2>/dev/null || true
n=$(sectors "$DISK0")
disk=$(basename "$DISK0")
echo N >$dbg/failslab/ignore-gfp-wait
# Only caches the boot marked (scripts/qemu-run: all but kmemleak's).
grep -q 'slub_debug=A' /proc/cmdline || fail "the boot marked no slab cache for failslab"
echo Y >$dbg/failslab/cache-filter
echo 0 >$dbg/failslab/verbose

step "failslab: every allocation of the module's load fails once"
# The module's file, as the guest's modprobe (scripts/guest) finds it.
ko=$(modprobe --show-depends dm-dcache | awk '$1 == "insmod" && /dm-dcache/ { print $2 }')
[ -f "$ko" ] || fail "dm-dcache.ko not found"
python3 "$DCACHE_TOP/tests/tools/fail_nth_load.py" "$ko" pool_mb=1 ||
	fail "a failed allocation in the module's load was not handled cleanly"
modprobe dm-dcache flush_delay_ms=3600000

step "failslab: every allocation of a table load fails once"
dmsetup create finj --notable
python3 "$DCACHE_TOP/tests/tools/dm_fail_nth.py" finj "0 $n dcache $DISK0 4096 1 writeback" ||
	fail "a failed allocation was not handled cleanly"
dmsetup resume finj
dd if=/dev/urandom of=/tmp/a bs=64k count=4 status=none
dd if=/tmp/a of=/dev/mapper/finj bs=64k oflag=direct status=none
cmp_direct /tmp/a /dev/mapper/finj 262144 || fail "device loaded after the failures misbehaves"
dmsetup remove finj
echo Y >$dbg/failslab/ignore-gfp-wait

step "fail_make_request: read errors are returned, then retried"
echo 0 >$dbg/fail_make_request/verbose
echo 100 >$dbg/fail_make_request/probability
echo -1 >$dbg/fail_make_request/times
# read_admit 1: every read miss loads (with 2, first misses go around).
dcache_create finj "$DISK0" 4096 2 read_admit 1
dd if=/dev/urandom of="$DISK0" bs=64k count=4 oflag=direct status=none
echo 1 >/sys/block/"$disk"/make-it-fail
dd if=/dev/mapper/finj of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null &&
	fail "a read miss succeeded while every bio fails"
echo 0 >/sys/block/"$disk"/make-it-fail
dd if="$DISK0" of=/tmp/b bs=64k count=4 iflag=direct status=none
cmp_direct /tmp/b /dev/mapper/finj 262144 || fail "the read after the error did not reload"

step "fail_make_request: clustered loads fail whole and load again"
# 24 chunks of 64 KiB from 1 MiB on, never read yet, read in random order
# (no stream to read around); a third of the backing bios fail.
dmsetup message finj 0 sequential_cutoff 0
dd if=/dev/urandom of="$DISK0" bs=64k seek=16 count=64 oflag=direct status=none
dd if="$DISK0" of=/tmp/c bs=64k skip=16 count=64 iflag=direct status=none
echo 33 >$dbg/fail_make_request/probability
echo 1 >/sys/block/"$disk"/make-it-fail
good=0 bad=0
for i in $(shuf -i 0-63 -n 24); do
	if dd if=/dev/mapper/finj of=/tmp/r bs=64k skip=$((16 + i)) count=1 iflag=direct \
		status=none 2>/dev/null; then
		dd if=/tmp/c of=/tmp/ci bs=64k skip="$i" count=1 status=none
		cmp -s /tmp/r /tmp/ci ||
			fail "chunk $i read back wrong while loads fail"
		good=$((good + 1))
	else
		bad=$((bad + 1))
	fi
done
echo 0 >/sys/block/"$disk"/make-it-fail
echo "24 reads of 64 KiB while loads fail: $good good, $bad failed"
if [ $good -eq 0 ] || [ $bad -eq 0 ]; then
	fail "no mix of good and failed reads: $good good, $bad failed"
fi
dd if=/dev/mapper/finj of=/tmp/r bs=64k skip=16 count=64 iflag=direct status=none ||
	fail "reads fail after the disk recovered"
cmp -s /tmp/r /tmp/c || fail "wrong data after the failed loads"
echo 100 >$dbg/fail_make_request/probability

step "failslab on the reader: map() cannot allocate, the worker reads"
dd if=/dev/urandom of="$DISK0" bs=64k seek=128 count=2 oflag=direct status=none
echo 1 >$dbg/failslab/task-filter
echo 100 >$dbg/failslab/probability
echo 100000 >$dbg/failslab/times
# Only allocations that cannot sleep fail (ignore-gfp-wait), in this task.
sh -c 'echo 1 >/proc/self/make-it-fail &&
	exec dd if=/dev/mapper/finj of=/tmp/r bs=64k skip=128 count=2 iflag=direct status=none' ||
	fail "a read failed when map() could not allocate"
left=$(cat $dbg/failslab/times)
echo 0 >$dbg/failslab/probability
echo 0 >$dbg/failslab/task-filter
[ "$left" -lt 100000 ] || fail "no allocation of the reader failed: the step tested nothing"
echo "$((100000 - left)) allocations of the reader failed"
dd if="$DISK0" of=/tmp/d bs=64k skip=128 count=2 iflag=direct status=none
cmp -s /tmp/r /tmp/d || fail "wrong data read by the worker"

step "fail_make_request: failed write-back keeps the blocks dirty"
dd if=/tmp/a of=/dev/mapper/finj bs=64k oflag=direct status=none
echo 1 >/sys/block/"$disk"/make-it-fail
dmsetup message finj 0 flush 2>/dev/null && fail "flush succeeded while every bio fails"
# shellcheck disable=SC2046 # split into its fields
set -- $(dmsetup status finj)
[ "$6" -eq 64 ] || fail "dirty blocks lost: $*"
[ "$4" = write_error ] || fail "error not shown: $*"
echo 0 >/sys/block/"$disk"/make-it-fail
dmsetup message finj 0 flush || fail "flush fails after the device recovered"
cmp_direct /tmp/a "$DISK0" 262144 || fail "backing device differs after recovery"
echo 0 >$dbg/fail_make_request/probability
dmsetup remove finj
rmmod dm_dcache
echo PASS
