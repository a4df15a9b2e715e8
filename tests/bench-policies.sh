#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest half of make bench-policies (host half: scripts/bench-policies;
# stock kernel, one boot): the hit ratio of each eviction policy (module
# parameter policy=lru2|lru) on two jobs over a pool of POOL_MB:
#   zipf   fio 4k random reads, zipf:0.8, over 4x the pool: a warm-up pass
#          (as many reads as the region holds blocks), then a measured run
#          of twice that many with another random seed;
#   scan   the same, while the whole backing device is read sequentially
#          (O_DIRECT) every few seconds through a second dcache table over
#          the same disk, so that the scan competes for the shared pool and
#          the fio device's own counters still count only fio's reads.
# The ratio is read_hits / reads of the fio device's status line, cleared
# after the warm-up. Both policies see the same reads in the same order.
# Writes one JSON line per measurement to $DCACHE_RESULTS/policies.jsonl.
#   disks: DISK0 (backing, 4x the pool)
# shellcheck source=tests/guest-lib.sh
. "$DCACHE_TOP/tests/guest-lib.sh"

POOL_MB=${POOL_MB:-128}
SCAN_PAUSE=3
out=$DCACHE_RESULTS/policies.jsonl
: >"$out"
modprobe dm-mod 2>/dev/null || true
n=$(sectors "$DISK0")
size=$((4 * POOL_MB))M

# fio job: $1 bytes of reads from random seed $2.
zipf_job() {
	fio --name=zipf --filename=/dev/mapper/p_dc --direct=1 --ioengine=libaio \
		--rw=randread --bs=4k --iodepth=8 --size="$size" --io_size="$1" \
		--random_distribution=zipf:0.8 --randseed="$2" --output=/dev/null
}

# read_hits / reads of the fio device since its counters were cleared.
hit_ratio() {
	dmsetup status p_dc | awk '{ if ($7) printf "%.3f", $8 / $7; else print "0" }'
}

# Scan until /tmp/stop-scan exists; the last scan finishes first.
scan_loop() {
	while [ ! -e /tmp/stop-scan ]; do
		dd if=/dev/mapper/p_scan of=/dev/null bs=1M iflag=direct status=none
		sleep "$SCAN_PAUSE"
	done
}

measure() {
	local policy=$1 job=$2 scanner="" ratio reads
	modprobe dm-dcache pool_mb="$POOL_MB" policy="$policy" ||
		fail "cannot load dm-dcache with policy=$policy"
	[ "$(cat /sys/module/dm_dcache/parameters/policy)" = "$policy" ] ||
		fail "policy parameter does not read back as $policy"
	echo "0 $n dcache $DISK0 4096" | dmsetup create p_dc
	echo "0 $n dcache $DISK0 4096" | dmsetup create p_scan
	step "$policy $job: warm-up pass"
	zipf_job "$size" 1 || fail "fio warm-up"
	dmsetup message p_dc 0 clear_stats
	if [ "$job" = scan ]; then
		rm -f /tmp/stop-scan
		scan_loop &
		scanner=$!
	fi
	step "$policy $job: measure"
	zipf_job $((8 * POOL_MB))M 2 || fail "fio"
	if [ -n "$scanner" ]; then
		touch /tmp/stop-scan
		wait "$scanner"
	fi
	ratio=$(hit_ratio)
	reads=$(dmsetup status p_dc | awk '{ print $7 }')
	printf '{"policy": "%s", "job": "%s", "hit_ratio": %s, "reads": %s}\n' \
		"$policy" "$job" "$ratio" "$reads" >>"$out"
	printf 'policy %-5s job %-5s hit ratio %s (%s reads)\n' "$policy" "$job" "$ratio" "$reads"
	dmsetup remove p_scan
	dmsetup remove p_dc
	rmmod dm_dcache
}

for job in zipf scan; do
	for policy in lru2 lru; do
		measure "$policy" "$job"
	done
done
step "a bad policy is refused at load"
if modprobe dm-dcache policy=fifo 2>/dev/null; then
	fail "policy=fifo was accepted"
fi
echo "bench-policies: done"
