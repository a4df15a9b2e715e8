#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of the KUnit run: load dm-dcache and its KUnit module (the
# suites run at load), then copy each suite's debugfs results for the host.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-dcache
modprobe dm-dcache-kunit
mkdir -p "$DCACHE_RESULTS/kunit"
found=0
for d in /sys/kernel/debug/kunit/*/; do
	suite=$(basename "$d")
	case "$suite" in dcache_*) ;; *) continue ;; esac
	cp "$d/results" "$DCACHE_RESULTS/kunit/$suite.ktap"
	found=$((found + 1))
done
[ $found -gt 0 ] || fail "no dcache KUnit suite in debugfs"
rmmod dm_dcache_kunit
rmmod dm_dcache
echo "copied $found suites"
