#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of make soak (scripts/soak): load the KUnit module, built for
# a long model-checker run, and copy the dcache_model results for the host.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-dcache
modprobe dm-dcache-kunit	# built with the soak's steps and seed
mkdir -p "$DCACHE_RESULTS/kunit"
cp /sys/kernel/debug/kunit/dcache_model/results "$DCACHE_RESULTS/kunit/dcache_model.ktap" ||
	fail "no dcache_model results"
rmmod dm_dcache_kunit
rmmod dm_dcache
echo PASS
