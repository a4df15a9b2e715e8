#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test
# test-boot: 2
# disks: 256M
# timeout: 600
# The pool grows to double and shrinks to half while fio verifies through
# a write-back device: verify clean, every dirty block written back before
# its chunk went, the backing device verifies alone after remove.
. "$DCACHE_TOP/tests/guest-lib.sh"

if on_test_kernel; then pool=4 size=16m; else pool=16 size=64m; fi
P=/sys/module/dm_dcache/parameters
modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=$pool flush_delay_ms=5000
dcache_create rs "$DISK0" 4096
fio_job() {
	fio --name=rs --filename="$1" --direct=1 --ioengine=libaio --rw=randwrite \
		--bsrange=4k-64k --iodepth=16 --size=$size --verify=crc32c --verify_fatal=1 "${@:2}"
}

step "grow to $((pool * 2)) MiB and shrink to $((pool / 2)) MiB under fio verify"
fio_job /dev/mapper/rs --output=/tmp/fio.out &
fio_pid=$!
cycles=0
while kill -0 $fio_pid 2>/dev/null; do
	for mb in $((pool * 2)) $((pool / 2)) $pool; do
		echo "$mb" >$P/pool_mb || fail "resize to $mb MiB failed"
		[ "$(cat /sys/kernel/dm_dcache/blocks_total)" -eq $((mb * 256)) ] ||
			fail "blocks_total $(cat /sys/kernel/dm_dcache/blocks_total) after pool_mb=$mb"
		sleep 0.3
	done
	cycles=$((cycles + 1))
done
wait $fio_pid || { cat /tmp/fio.out; fail "fio verify failed across resizes"; }
echo "$cycles grow/shrink cycles; status: $(dmsetup status rs)"
[ $cycles -ge 2 ] || fail "only $cycles cycles overlapped fio"
echo 1 >$P/debug_check || fail "invariants broken after resizes"
echo 0 >$P/debug_check

step "after remove the backing device verifies alone"
dmsetup remove rs
fio_job "$DISK0" --verify_only=1 --output=/tmp/fio2.out ||
	{ cat /tmp/fio2.out; fail "backing device lost data"; }
rmmod dm_dcache
echo PASS
