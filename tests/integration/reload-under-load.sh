#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock
# disks: 128M
# timeout: 600
# Suspend/resume and table reloads (same line, write-through, back to
# write-back) in a loop while fio verifies; every suspend leaves no dirty
# block, and the backing device verifies alone after remove.
. "$DCACHE_TOP/tests/guest-lib.sh"

if on_test_kernel; then pool=1 size=4m; else pool=8 size=32m; fi
modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=$pool
dcache_create rl "$DISK0" 4096
n=$(sectors "$DISK0")
fio_job() {
	fio --name=rl --filename="$1" --direct=1 --ioengine=libaio --rw=randwrite \
		--bsrange=4k-32k --iodepth=8 --size=$size --verify=crc32c \
		--verify_fatal=1 "${@:2}"
}

step "reload loop under fio verify ($size, pool $pool MiB)"
fio_job /dev/mapper/rl --output=/tmp/fio.out &
fio_pid=$!
cycles=0
while kill -0 $fio_pid 2>/dev/null; do
	dmsetup suspend rl
	dirty=$(dmsetup status rl | awk '{ print $6 }')
	[ "$dirty" -eq 0 ] || fail "suspended with $dirty dirty blocks"
	dmsetup resume rl
	case $((cycles % 3)) in
	0) line="0 $n dcache $DISK0 4096" ;;
	1) line="0 $n dcache $DISK0 4096 1 writethrough" ;;
	2) line="0 $n dcache $DISK0 4096 1 writeback" ;;
	esac
	echo "$line" | dmsetup load rl
	dmsetup resume rl
	cycles=$((cycles + 1))
	sleep 0.2
done
wait $fio_pid || { cat /tmp/fio.out; fail "fio verify failed across reloads"; }
echo "$cycles suspend/reload cycles"
[ "$cycles" -ge 3 ] || fail "only $cycles cycles ran: the loop did not overlap fio"

step "after remove the backing device verifies alone"
dmsetup remove rl
fio_job "$DISK0" --verify_only=1 --output=/tmp/fio2.out ||
	{ cat /tmp/fio2.out; fail "backing device lost data"; }
rmmod dm_dcache
echo PASS
