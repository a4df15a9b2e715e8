# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for guest test scripts; sourced. Tests run as root in a qemu guest
# booted by scripts/qemu-run; the disks are /dev/vda, /dev/vdb, ...
set -euo pipefail

# The disks of this test: its own when several tests share one boot.
DISK0=${DISK0:-/dev/vda}
DISK1=${DISK1:-/dev/vdb}
DISK2=${DISK2:-/dev/vdc}
DISK3=${DISK3:-/dev/vdd}

fail() {
	echo "FAIL: $*"
	exit 1
}

step() {
	echo "== $*"
}

# deadline SECS CMD...: run CMD and return its status, or 124 once SECS
# have passed. Unlike timeout(1) it does not wait for a CMD stuck in
# uninterruptible sleep (a hung device), so the test fails at once and
# the console gets the blocked tasks' stacks for the report.
deadline() {
	local secs=$1 pid ticks=0
	shift
	"$@" &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		if [ $ticks -ge $((secs * 5)) ]; then
			echo "deadline: '$*' still running after ${secs}s" >&2
			echo w >/proc/sysrq-trigger 2>/dev/null || true
			kill $pid 2>/dev/null || true
			return 124
		fi
		sleep 0.2
		ticks=$((ticks + 1))
	done
	wait $pid
}

on_test_kernel() {
	[ "${DCACHE_KERNEL_KIND:-}" = test ]
}

# The second stock kernel (Debian's 6.12) runs the shared tests at smaller
# sizes: the 6.1 stock kernel runs them in full, and check's time is tight.
on_stock612() {
	[ "${DCACHE_KERNEL_KIND:-}" = stock612 ]
}

sectors() {
	blockdev --getsz "$1"
}

# Kernel name (dm-N) of a mapped device: without udev /dev/mapper holds
# plain nodes, not links.
dm_kname() {
	dmsetup info -c --noheadings -o blkdevname "$1"
}

# Create a dcache device; extra words after the block size are features.
dcache_create() {
	local name=$1 dev=$2 bs=$3
	shift 3
	echo "0 $(sectors "$dev") dcache $dev $bs $*" | dmsetup create "$name"
}

# Field $2 of dcache device $1's status (1: error, 2: cached, ...; README).
status_field() {
	dmsetup status "$1" | awk -v f="$2" '{ print $(f + 3) }'
}

# Flush requests block device $1 has seen (field 16 of its stat).
disk_flushes() {
	awk '{ print $16 }' "/sys/block/$(basename "$1")/stat"
}

# fsync a block device: an empty flush request to it.
fsync_dev() {
	python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.fsync(fd)' "$1"
}

# Compare the first $3 bytes of file $1 with device $2, read with O_DIRECT
# so that no page cache of an earlier read can hide what is on the device.
cmp_direct() {
	local file=$1 dev=$2 bytes=$3
	dd if="$dev" iflag=direct,count_bytes bs=64k count="$bytes" status=none |
		cmp -s -n "$bytes" "$file" -
}

# Expect a table line to be refused with a specific ti->error in the kernel
# log, leaving device $1 without any table. The table is loaded into an
# empty device made once (creating and deleting a disk per case costs
# seconds on the debug kernel); remove it when done.
expect_refused() {
	local name=$1 table=$2 error=$3
	dmsetup info "$name" >/dev/null 2>&1 || dmsetup create "$name" --notable
	dmesg -C
	if echo "$table" | dmsetup load "$name" 2>/dev/null; then
		dmsetup clear "$name" || true
		fail "table '$table' was accepted"
	fi
	if ! dmesg -c | grep -qF "dcache: $error"; then
		fail "table '$table': expected error '$error'"
	fi
	if ! dmsetup info "$name" | grep -q "Tables present:.*None"; then
		fail "table '$table' left a table behind: $(dmsetup info "$name")"
	fi
	echo "refused as expected: '$table' -> $error"
}

# A memory-backed null_blk disk $1 of $2 MiB, 4 KiB blocks, with a
# volatile write cache (so it does FUA writes itself); prints its path.
nullb_create() {
	local nb=/sys/kernel/config/nullb/$1
	modprobe null_blk nr_devices=0 2>/dev/null
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	mkdir "$nb" || return
	echo "$2" >"$nb/size"
	echo 4096 >"$nb/blocksize"
	echo 1 >"$nb/memory_backed"
	echo 16 >"$nb/cache_size"
	echo 1 >"$nb/power" || return
	# 6.1 and later name a configfs device after its directory.
	if [ -b "/dev/$1" ]; then echo "/dev/$1"; else echo "/dev/nullb$(cat "$nb/index")"; fi
}

nullb_remove() {
	echo 0 >"/sys/kernel/config/nullb/$1/power"
	rmdir "/sys/kernel/config/nullb/$1"
}
