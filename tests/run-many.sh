#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of a boot shared by several tests (the slow debug kernel):
#   run-many.sh NAME=SCRIPT[:DISK0[,DISK1]] ...
# Each test runs in its own bash with its own disks; its output goes to
# $DCACHE_RESULTS/NAME.log and its status to NAME.rc. Markers in the kernel
# log let the host attribute kernel reports to the test that caused them.
set -u
for spec in "$@"; do
	name=${spec%%=*}
	rest=${spec#*=}
	script=${rest%%:*}
	disks=""
	[ "$rest" = "$script" ] || disks=${rest#*:}
	IFS=, read -r d0 d1 d2 d3 <<<"$disks"
	echo "dcache-test-begin $name" >/dev/kmsg
	DISK0=$d0 DISK1=$d1 DISK2=$d2 DISK3=$d3 timeout 900 bash "$script" \
		>"$DCACHE_RESULTS/$name.log" 2>&1
	rc=$?
	echo "$rc" >"$DCACHE_RESULTS/$name.rc"
	echo "dcache-test-end $name $rc" >/dev/kmsg
	# Leave nothing behind for the next test.
	dmsetup remove_all >/dev/null 2>&1
	for m in dm_dcache_kunit dm_dcache; do
		grep -q "^$m " /proc/modules && rmmod "$m" 2>/dev/null
	done
	echo "$name: exit $rc"
done
exit 0
