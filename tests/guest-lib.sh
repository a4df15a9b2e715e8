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

# Each step line says when it began, in seconds since the test's start:
# check's console has only the test's begin and end, and this is where a
# test's time goes. EPOCHREALTIME is bash's own: no process per step.
_test_t0=${EPOCHREALTIME/./}
step() {
	local us=$((${EPOCHREALTIME/./} - _test_t0))
	echo "== [$((us / 1000000)).$((us / 100000 % 10)) s] $*"
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
# Split by bash, not awk: under TCG every process costs a tenth of a
# second, a third on the debug kernel, and tests read status in loops.
status_field() {
	local line fields
	line=$(dmsetup status "$1") || return
	read -ra fields <<<"$line"
	echo "${fields[$2 + 2]}"
}

# Flush requests block device $1 has seen (field 16 of its stat).
disk_flushes() {
	local fields
	read -ra fields <"/sys/block/${1##*/}/stat"
	echo "${fields[15]}"
}

# fsync a block device: an empty flush request to it. coreutils' sync
# with a file opens it and calls fsync(2), as python3 did here at ten
# times the start-up cost (seconds per call on the debug kernel).
fsync_dev() {
	sync "$1"
}

# Compare the first $3 bytes of file $1 with device $2, read with O_DIRECT
# so that no page cache of an earlier read can hide what is on the device.
cmp_direct() {
	local file=$1 dev=$2 bytes=$3
	dd if="$dev" iflag=direct,count_bytes bs=64k count="$bytes" status=none |
		cmp -s -n "$bytes" "$file" -
}

# The operations (w, d and f lines) of cutcheck.py's history $1 and its
# runs of several blocks (a run's first line is "w SEQ BLOCK FIRST" with
# SEQ = FIRST), as "OPS RUNS".
history_counts() {
	awk '/^[wdf]/ { o++ } $1 == "w" && NF == 4 && $2 == $4 { r++ }
		END { print o + 0, r + 0 }' "$1"
}

# Expect a table line to be refused with a specific ti->error in the kernel
# log, leaving device $1 without any table. The table is loaded into an
# empty device made once (creating and deleting a disk per case costs
# seconds on the debug kernel); remove it when done. Five processes a
# case, the matching bash's: bad-tables.sh has 17 cases.
expect_refused() {
	local name=$1 table=$2 error=$3 log info re=$'Tables present:[^\n]*None'
	dmsetup info "$name" >/dev/null 2>&1 || dmsetup create "$name" --notable
	dmesg -C
	if dmsetup load "$name" --table "$table" 2>/dev/null; then
		dmsetup clear "$name" || true
		fail "table '$table' was accepted"
	fi
	log=$(dmesg -c)
	[[ $log == *"dcache: $error"* ]] || fail "table '$table': expected error '$error'"
	# With no table the device has no node, which dmsetup info reports on
	# stderr; it belongs in the failure message, not in every case's log.
	info=$(dmsetup info "$name" 2>&1)
	[[ $info =~ $re ]] || fail "table '$table' left a table behind: $info"
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
