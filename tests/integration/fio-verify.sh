#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock stock612
# disks: 256M
# timeout: 900
# Random read/write under fio crc32c verify with a working set four times
# the pool (eviction and write-back under verify), mixed block sizes from
# 512 B to 1 MiB at 512-byte offsets, two jobs at iodepth 16 (one in
# sync mode); after remove, the backing device holds what a second verify
# pass expects.
. "$DCACHE_TOP/tests/guest-lib.sh"

# The debug kernel under TCG is ~10x slower: a smaller pool, same ratio.
if on_test_kernel; then pool=4; else pool=16; fi
modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=$pool
# Writeback and ordered on the stock kernels, and writeback with an fsync
# after every write (sync), whose writes go around the cache while other
# writes and write-back go on. A write goes around only when one write
# came between the device's last two flushes, which two such writers
# seldom leave (none in a run on 6.1): sync runs one job, of twice the
# size. The debug kernel (about ten times slower under TCG) runs
# writeback only.
modes="writeback ordered sync"
on_test_kernel && modes=writeback

fio_pass() {
	fio --name=fv --filename="$1" --direct=1 --ioengine=libaio \
		--rw=randrw --bsrange=512-1m --blockalign=512 --iodepth=16 --numjobs=$jobs \
		--offset_increment=128m --size=$size --verify=crc32c --verify_fatal=1 \
		--group_reporting "${@:2}"
}

for mode in $modes; do
	fsync=64 table_mode=$mode jobs=2 size=$((pool * 2))m
	[ "$mode" = sync ] && fsync=1 table_mode=writeback jobs=1 size=$((pool * 4))m
	dcache_create fv "$DISK0" 4096 1 "$table_mode"
	dm=$(dm_kname fv)
	[ "$(cat /sys/block/"$dm"/queue/write_cache)" = "write back" ] ||
		fail "flushes do not reach the target"

	step "$mode: fio verify through the cache ($size per job, $jobs jobs, pool $pool MiB)"
	fio_pass /dev/mapper/fv --do_verify=1 --fsync=$fsync --output=/tmp/fio.out ||
		{ cat /tmp/fio.out; fail "$mode: fio verify through dcache failed"; }
	grep -E "READ:|WRITE:" /tmp/fio.out
	status=$(dmsetup status fv)
	echo "status: $status"
	# shellcheck disable=SC2086 # split into its fields
	set -- $status
	[ "$4" = ok ] || fail "$mode: error state: $4"
	[ "$9" -gt 0 ] || fail "$mode: no write hits counted"
	[ "$mode" != sync ] || [ "${20}" -gt 0 ] || fail "sync: no write went around the cache"

	step "$mode: remove writes everything back; verify the backing device alone"
	dmsetup remove fv
	fio_pass "$DISK0" --verify_only=1 --output=/tmp/fio2.out ||
		{ cat /tmp/fio2.out; fail "$mode: backing device lost data written through dcache"; }
done
rmmod dm_dcache
echo PASS
