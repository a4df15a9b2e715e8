#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/host/dkms-package.sh: the module DKMS installed on
# the host (qemu-run --host-modules) loads with a plain "modprobe
# dm-dcache", has the package's version, and caches a disk:
#   dkms-package-guest.sh VERSION
. "$DCACHE_TOP/tests/guest-lib.sh"

want=$1
modroot=/mnt/results/modroot
step "modprobe dm-dcache on $(uname -r)"
modprobe dm-dcache || fail "modprobe dm-dcache failed"
path=$(/sbin/modinfo -b "$modroot" -k "$(uname -r)" -n dm-dcache)
echo "module file: $path"
[[ "$path" == */updates/dkms/dm-dcache.ko* ]] || fail "dm-dcache did not come from updates/dkms"
[ "$(cat /sys/module/dm_dcache/version)" = "$want" ] ||
	fail "module version $(cat /sys/module/dm_dcache/version), package $want"

step "smoke: create, write, read back, remove"
dd if=/dev/urandom of=/tmp/data bs=1M count=8 status=none
dcache_create smoke "$DISK0" 4096
dd if=/tmp/data of=/dev/mapper/smoke bs=1M oflag=direct status=none
cmp_direct /tmp/data /dev/mapper/smoke $((8 << 20)) || fail "read back through dcache differs"
dmsetup status smoke
dmsetup remove smoke
cmp_direct /tmp/data "$DISK0" $((8 << 20)) || fail "backing device differs after remove"
rmmod dm_dcache || fail "rmmod failed"
echo PASS
