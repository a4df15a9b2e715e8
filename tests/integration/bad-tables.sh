#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock612
# disks: 64M 64M:4096
# Malformed table lines are refused with a specific error and leave no
# table (and, once the empty device is removed, no device) behind.
. "$DCACHE_TOP/tests/guest-lib.sh"

dev=$DISK0
n=$(sectors "$dev")
modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache

expect_refused bad "0 $n dcache" "Missing backing device"
expect_refused bad "0 $n dcache $dev" "Missing block size"
expect_refused bad "0 $n dcache /dev/nonexistent 4096" "Backing device lookup failed"
expect_refused bad "0 $n dcache $dev 0" "Invalid block size: must be a power of two"
expect_refused bad "0 $n dcache $dev 3000" "Invalid block size: must be a power of two"
expect_refused bad "0 $n dcache $dev 1048576" "Invalid block size: must be a power of two"
expect_refused bad "0 $n dcache $dev -4096" "Invalid block size: not a decimal number"
expect_refused bad "0 $n dcache $dev 4096x" "Invalid block size: not a decimal number"
expect_refused bad "0 $n dcache $dev 4096 junk" "Invalid number of feature arguments"
expect_refused bad "0 $n dcache $dev 4096 -1 writeback" "Invalid number of feature arguments"
expect_refused bad "0 $n dcache $dev 4096 1 writeback extra" "Unexpected arguments after features"
expect_refused bad "0 $n dcache $dev 4096 2 writeback" "Missing feature arguments"
expect_refused bad "0 $n dcache $dev 4096 1 nosuchmode" "Unknown feature"
expect_refused bad "0 $n dcache $dev 4096 2 writeback writeback" "Mode given more than once"
expect_refused bad "0 $((n + 8)) dcache $dev 4096" "Target length exceeds the backing device"
expect_refused bad "0 $((n - 1)) dcache $dev 4096" "Target start and length must be multiples of the block size"

step "block size below the backing device's logical block size"
[ "$(blockdev --getss "$DISK1")" = 4096 ] || fail "$DISK1 should have 4 KiB logical blocks"
expect_refused bad "0 $(sectors "$DISK1") dcache $DISK1 512" \
	"Block size smaller than the backing device's logical block size"

dmsetup remove bad
! dmsetup ls | grep -qv 'No devices found' || fail "devices left: $(dmsetup ls)"
rmmod dm_dcache
echo PASS
