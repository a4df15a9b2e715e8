#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock stock612
# disks: 64M
# The dcache target autoloads through modprobe on first use and is listed
# by dmsetup targets; rmmod succeeds once the device is gone.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
lsmod | grep -q '^dm_dcache' && fail "dm_dcache loaded before the test"
dmsetup targets | grep -q '^dcache' && fail "dcache listed before autoload"

step "create triggers the autoload"
dcache_create auto0 "$DISK0" 4096
lsmod | grep -q '^dm_dcache' || fail "dm_dcache was not autoloaded"
dmsetup targets | grep -E '^dcache +v[0-9]+\.[0-9]+\.[0-9]+$' || fail "dcache not in dmsetup targets"
grep -q . /sys/module/dm_dcache/version || fail "module has no version"

step "remove and unload"
dmsetup remove auto0
rmmod dm_dcache || fail "rmmod after remove failed"
lsmod | grep -q '^dm_dcache' && fail "dm_dcache still loaded"
echo PASS
