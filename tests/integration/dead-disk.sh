#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock612
# disks: 160M 64M
# timeout: 300
# One sick disk never stops the others. A device over dm-flakey
# error_writes is written with more than the whole pool: it may hold only
# its share of the pool dirty (device_dirty_percent), beyond which its
# writes fail; a healthy device beside it keeps reading and writing
# within seconds, and the dead one is still removed, logging what it lost.
# Also: while a table's write-back has failed, no other table may be
# loaded over the same disk (it would read stale data).
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-flakey 2>/dev/null || true
# 32 MiB pool: the dead device may hold 16 MiB dirty.
modprobe dm-dcache pool_mb=32 device_dirty_percent=50
P=/sys/module/dm_dcache/parameters
[ "$(cat $P/device_dirty_percent)" = 50 ] || fail "device_dirty_percent not set"
n=$(sectors "$DISK0")
echo "0 $n flakey $DISK0 0 0 3600 1 error_writes" | dmsetup create sick
dcache_create dead /dev/mapper/sick 4096
dcache_create well "$DISK1" 4096
dd if=/dev/urandom of=/tmp/w bs=1M count=16 status=none

step "128 MiB of writes to the dead device: refused beyond its share"
start=$(date +%s)
# Buffered, as a user would: the page cache pushes it all down.
rc=0
deadline 120 dd if=/dev/zero of=/dev/mapper/dead bs=1M count=128 conv=fsync \
	status=none 2>/tmp/dd.err || rc=$?
[ $rc -ne 124 ] || fail "the writes to the dead disk hung"
[ $rc -ne 0 ] || fail "128 MiB written to a dead disk without an error"
echo "dd failed after $(($(date +%s) - start)) s: $(tail -n 1 /tmp/dd.err)"
dirty=$(dmsetup status dead | awk '{ print $6 }')
echo "dead device: $(dmsetup status dead)"
[ "$dirty" -le 4096 ] || fail "the dead device holds $dirty dirty blocks, more than its share"
[ "$(dmsetup status dead | awk '{ print $4 }')" = write_error ] || fail "no write_error state"

step "the healthy device keeps working"
start=$(date +%s)
deadline 60 dd if=/tmp/w of=/dev/mapper/well bs=64k oflag=direct status=none ||
	fail "write to the healthy device failed or hung"
deadline 60 dmsetup message well 0 flush || fail "flush of the healthy device failed"
cmp_direct /tmp/w /dev/mapper/well 16777216 || fail "healthy device reads back wrong data"
cmp_direct /tmp/w "$DISK1" 16777216 || fail "healthy device's disk differs after flush"
took=$(($(date +%s) - start))
echo "healthy device: 16 MiB written, flushed and read back in $took s"
[ "$took" -le 60 ] || fail "the healthy device took $took s"

step "no other table over a disk whose write-back failed"
dmsetup suspend dead
dmesg -C
echo "0 $n dcache /dev/mapper/sick 4096" | dmsetup load dead 2>/dev/null &&
	fail "a new table was loaded over a disk with dirty blocks of a failed table"
dmesg | grep -q "dirty blocks of a failed table" || { dmesg | tail; fail "no reason logged"; }
dmsetup resume dead

step "the dead device is removed and says what it lost"
dmesg -C
deadline 120 dmsetup remove dead || fail "remove of the dead device failed or hung"
dmesg | grep -qE "[0-9]+ dirty blocks \([0-9]+ bytes\) lost" || { dmesg | tail; fail "no log line for the lost blocks"; }
dmsetup remove well
dmsetup remove sick
rmmod dm_dcache
echo PASS
