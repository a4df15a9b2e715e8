#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock
# disks: 64M
# timeout: 300
# With no flush request at all, the flush thread writes dirty blocks back
# within flush_delay_ms (plus the time to write them).
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache flush_delay_ms=200
dev=$DISK0
dd if=/dev/urandom of=/tmp/a bs=1M count=1 status=none
dcache_create bg "$dev" 4096
dd if=/tmp/a of=/dev/mapper/bg bs=64k oflag=direct status=none
for _ in $(seq 300); do
	[ "$(dmsetup status bg | awk '{ print $6 }')" -eq 0 ] && break
	sleep 0.1
done
status=$(dmsetup status bg)
echo "status: $status"
# shellcheck disable=SC2086 # split into its fields
set -- $status
[ "$6" -eq 0 ] || fail "still $6 dirty blocks 30 s after the writes"
[ "${14}" -ge 1 ] || fail "durable epoch did not advance: $status"
cmp_direct /tmp/a "$dev" 1048576 || fail "written-back data differs on the backing device"
dmsetup remove bg
rmmod dm_dcache
echo PASS
