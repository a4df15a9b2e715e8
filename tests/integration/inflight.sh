#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock
# disks: 256M
# timeout: 600
# The submitter never waits for the disk: a cold 4 KiB random-read job at
# iodepth 32 keeps many misses in flight on the backing device at once.
# The backing device delays every read by 20 ms, so one miss at a time
# would give at most 50 IOPS. The same job on the slow device itself, in
# the same boot, keeps 32 in flight by construction: dcache's IOPS over
# that IOPS, times 32, is how many of its misses are in flight (the delay
# target's timer makes the real latency longer than 20 ms, so Little's law
# on the nominal 20 ms undercounts). Also prints the sampled peak of
# /sys/block/<dev>/inflight.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=64
# A slow backing device, so that queued misses are visible in inflight.
echo "0 $(sectors "$DISK0") delay $DISK0 0 20" | dmsetup create slow
# read_admit 1: every miss loads its block (with 2, first misses would
# go around the cache, as dm-linear does, and test nothing here).
dcache_create cold /dev/mapper/slow 4096 2 read_admit 1
slow=$(dm_kname slow)

fio_iops() {
	local v
	v=$(grep -oE 'IOPS=[0-9.k]+' "$1" | head -n 1 | cut -d= -f2)
	case "$v" in *k) v=$(awk -v x="${v%k}" 'BEGIN { printf "%d", x * 1000 }') ;; esac
	echo "${v%%.*}"
}
fio --name=raw --filename=/dev/mapper/slow --direct=1 --ioengine=libaio \
	--rw=randread --bs=4k --iodepth=32 --size=200m --runtime=8 --time_based \
	--output=/tmp/raw.out || fail "fio on the slow device failed"
raw=$(fio_iops /tmp/raw.out)
fio --name=cold --filename=/dev/mapper/cold --direct=1 --ioengine=libaio \
	--rw=randread --bs=4k --iodepth=32 --size=200m --runtime=8 --time_based \
	--output=/tmp/fio.out &
fio_pid=$!
samples=0 sum=0 peak=0
sleep 2
while kill -0 $fio_pid 2>/dev/null; do
	read -r r _ </sys/block/"$slow"/inflight
	samples=$((samples + 1)) sum=$((sum + r))
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.1
done
wait $fio_pid || { cat /tmp/fio.out; fail "fio failed"; }
iops=$(fio_iops /tmp/fio.out)
echo "cold 4k random read, iodepth 32, 20 ms backing: dcache $iops IOPS, the slow" \
	"device itself $raw IOPS: about $((iops * 32 / raw)) of 32 in flight;" \
	"sampled peak $peak over $samples samples"
# Eight in flight at least, with a wide margin for a loaded TCG host.
[ "$iops" -ge 400 ] || fail "only $iops IOPS: misses are serialised"
dmsetup remove cold
dmsetup remove slow
rmmod dm_dcache
echo PASS
