#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of make bench (stock kernel, one boot): the same virtio disk
# behind every system, brd as the memory-speed bound. Writes one JSON line
# per measurement to $DCACHE_RESULTS/bench.jsonl. An argument names the one
# part to run (fio, neighbour, readahead, slow, drain, fua, pgbench,
# pgbench-long, profile, fsync, writes, reads or cold); none runs them all but
# pgbench-long (about 13 minutes: PG_LONG_RUNTIME s of pgbench on two
# systems, and the epochs an ordered device drains per second), profile
# (perf profiles of the guest and ftrace timelines of the fsync job,
# printed only), fsync (the fsync job on raw, dm-linear and dcache
# interleaved BENCH_REPS times), writes (the qd32 write job on brd,
# dm-linear over brd, dm-writecache and dcache likewise) and reads (the
# cached 4k and 1 MiB read jobs on brd, dm-linear over brd and dcache
# likewise) and cold (the cold 4k qd32 and 1 MiB read jobs on raw,
# dm-linear and dcache likewise), which run only when named.
#   disks: DISK0 (backing, 512 MiB), DISK1 (the neighbour's, 256 MiB)
#   env: BENCH_RUNTIME (s per fio job), BENCH_PG_LONG_RUNTIME (s),
#        BENCH_REPS, BENCH_DRAIN_PAIRS
. "$DCACHE_TOP/tests/guest-lib.sh"
. "$DCACHE_TOP/tests/pg-lib.sh"
set +e
only=${1:-}

want() {
	[ -z "$only" ] || [ "$only" = "$1" ]
}

POOL_MB=128
RUNTIME=${BENCH_RUNTIME:-8}
PG_RUNTIME=30
PG_LONG_RUNTIME=${BENCH_PG_LONG_RUNTIME:-300}
out=$DCACHE_RESULTS/bench.jsonl
stats=/sys/kernel/dm_dcache
: >"$out"
modprobe dm-mod 2>/dev/null
modprobe dm-delay
modprobe dm-writecache
modprobe brd rd_nr=2 rd_size=$((512 * 1024)) max_part=0
modprobe dm-dcache pool_mb=$POOL_MB
n=$(sectors "$DISK0")
# The jobs' first 64 MiB of brd hold data, as a disk's would: brd reads a
# page it never had as zeroes, a memset instead of the copy it does for
# data.
dd if=/dev/urandom of=/dev/ram0 bs=1M count=64 oflag=direct status=none

# Build system $1 over backing device $2; prints the device to test.
setup() {
	local sys=$1 dev=$2 m
	case $sys in
	raw) echo "$dev" ;;
	brd) echo /dev/ram0 ;;
	linear) echo "0 $n linear $dev 0" | dmsetup create b_lin && echo /dev/mapper/b_lin ;;
	# The ceiling of any dm target at memory speed, in the reps beside brd.
	linear-brd) echo "0 $n linear /dev/ram0 0" | dmsetup create b_lin && echo /dev/mapper/b_lin ;;
	writecache)
		dd if=/dev/zero of=/dev/ram1 bs=1M count=1 oflag=direct status=none
		echo "0 $n writecache s $dev /dev/ram1 4096 0" | dmsetup create b_wc &&
			echo /dev/mapper/b_wc ;;
	dcache-wb | dcache-ord)
		[ "$sys" = dcache-wb ] && m=writeback || m=ordered
		echo "0 $n dcache $dev 4096 1 $m" | dmsetup create b_dc && echo /dev/mapper/b_dc ;;
	dcache-ord-age)
		echo "0 $n dcache $dev 4096 3 ordered max_age_ms 2000" | dmsetup create b_dc &&
			echo /dev/mapper/b_dc ;;
	esac
}

teardown() {
	local d
	for d in b_dc b_wc b_lin; do
		dmsetup info $d >/dev/null 2>&1 && dmsetup remove $d
	done
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# Hit ratio of a dcache device since its creation, else "".
hit_ratio() {
	[ "$1" = /dev/mapper/b_dc ] || return 0
	dmsetup status b_dc | awk '{ r = $7 + $9; h = $8 + $10; if (r) printf "%.3f", h / r }'
}

# fio job $2 on device $1; extra fio options follow.
run_fio() {
	local dev=$1 job=$2
	shift 2
	fio --name="$job" --filename="$dev" --direct=1 --ioengine=libaio --time_based \
		--runtime="$RUNTIME" --group_reporting --output-format=json "$@" >/tmp/fio.json 2>/tmp/fio.err ||
		{ echo "fio failed: $(cat /tmp/fio.err)" >&2; return 1; }
	python3 -c '
import json, sys
j = json.load(open("/tmp/fio.json"))["jobs"][0]
iops = j["read"]["iops"] + j["write"]["iops"]
mbs = (j["read"]["bw_bytes"] + j["write"]["bw_bytes"]) / 1e6
sync = j["sync"]["lat_ns"] if j["sync"]["total_ios"] else None
p = (sync or j["write"]["clat_ns"] if j["write"]["total_ios"] else j["read"]["clat_ns"]).get("percentile", {})
p50 = p.get("50.000000", 0) / 1e6
p99 = p.get("99.000000", 0) / 1e6
print(f"{iops:.1f} {mbs:.2f} {p50:.3f} {p99:.3f}")'
}

# One result: IOPS, MB/s and the latency percentiles p50/p99 in ms (of
# the fsyncs when the job has them, else of its I/Os) as run_fio prints.
record() {
	local sys=$1 work=$2 res=$3 hit=$4 backing=$5
	# shellcheck disable=SC2086 # split into its fields
	set -- $res
	printf '{"system": "%s", "workload": "%s", "iops": %s, "mbs": %s, "p50_ms": %s, "p99_ms": %s, "hit_ratio": "%s", "backing": "%s"}\n' \
		"$sys" "$work" "${1:-0}" "${2:-0}" "${3:-0}" "${4:-0}" "$hit" "$backing" >>"$out"
	printf '%-12s %-24s %10s IOPS %9s MB/s p50 %8s ms p99 %8s ms %s\n' "$sys" "$work" \
		"${1:-?}" "${2:-?}" "${3:-?}" "${4:-?}" "${hit:+hit $hit}"
}

# dcache's read and read-hit counters (reads + writes) for hit ratios
# over a part of a run.
dcache_counts() {
	dmsetup status b_dc | awk '{ print $7 + $9, $8 + $10 }'
}

# Read the first 64 MiB of $1 twice, so that LRU-2 keeps them: with
# dcache's sequential_cutoff off, as a user who wants them cached would.
warm_up() {
	[ "$1" = /dev/mapper/b_dc ] && dmsetup message b_dc 0 sequential_cutoff 0
	dd if="$1" of=/dev/null bs=1M count=64 iflag=direct status=none
	dd if="$1" of=/dev/null bs=1M count=64 iflag=direct status=none
	[ "$1" = /dev/mapper/b_dc ] && dmsetup message b_dc 0 sequential_cutoff 4194304
	return 0
}

# The fio options of the 4k random write jobs: at queue depth 32, and one
# at a time with an fsync after each.
QD32_WRITES=(--rw=randwrite --bs=4k --size=64m --iodepth=32)
FSYNC_WRITES=(--rw=randwrite --bs=4k --size=64m --iodepth=1 --fsync=1)

# A write job on system $1 over $2, recorded as workload $3 with label $4,
# its fio options after them: the fio table's rows and the interleaved
# reps' (interleave).
write_job() {
	local sys=$1 backing=$2 workload=$3 label=$4 dev res
	shift 4
	dev=$(setup "$sys" "$backing") || return
	res=$(run_fio "$dev" "$workload" "$@")
	record "$sys" "$workload" "$res" "" "$label"
	teardown
	return 0
}

# The fio options of the cold read jobs, over the whole disk: random 4k
# reads at queue depth 32 and 1 MiB sequential reads.
COLD_4K_READS=(--rw=randread --bs=4k --iodepth=32)
COLD_1M_READS=(--rw=read --bs=1M --iodepth=4)

# A cold read job, as write_job, with the hit ratio.
cold_read_job() {
	local sys=$1 backing=$2 workload=$3 label=$4 dev res
	shift 4
	dev=$(setup "$sys" "$backing") || return
	res=$(run_fio "$dev" "$workload" "$@")
	record "$sys" "$workload" "$res" "$(hit_ratio "$dev")" "$label"
	teardown
	return 0
}

# The fio options of the jobs that re-read 64 MiB read twice before.
CACHED_4K_READS=(--rw=randread --bs=4k --size=64m --iodepth=16)
CACHED_1M_READS=(--rw=read --bs=1M --size=64m --iodepth=4)

# A cached read job, as write_job, after warm_up.
cached_read_job() {
	local sys=$1 backing=$2 workload=$3 label=$4 dev res
	shift 4
	dev=$(setup "$sys" "$backing") || return
	warm_up "$dev"
	res=$(run_fio "$dev" "$workload" "$@")
	record "$sys" "$workload" "$res" "$(hit_ratio "$dev")" "$label"
	teardown
	return 0
}

bench_system() {
	local sys=$1 backing=$2 label=$3 dev res
	# 4k random read, working set (64 MiB) cached: read it twice first so
	# that LRU-2 keeps it.
	cached_read_job "$sys" "$backing" randread-4k-cached "$label" "${CACHED_4K_READS[@]}" ||
		return

	cold_read_job "$sys" "$backing" randread-4k-cold-qd32 "$label" "${COLD_4K_READS[@]}" ||
		return
	cold_read_job "$sys" "$backing" seqread-1M-cold "$label" "${COLD_1M_READS[@]}" || return

	# 1 MiB sequential re-reads of 64 MiB read twice before (cached).
	cached_read_job "$sys" "$backing" seqread-1M-cached "$label" "${CACHED_1M_READS[@]}" ||
		return

	write_job "$sys" "$backing" randwrite-4k-qd32 "$label" "${QD32_WRITES[@]}" || return
	write_job "$sys" "$backing" randwrite-4k-fsync "$label" "${FSYNC_WRITES[@]}" || return

	# zipf:0.8 over 4x the pool after a warm-up pass of the same job; the
	# hit ratio counts the measured pass only.
	local before after hit=""
	dev=$(setup "$sys" "$backing") || return
	run_fio "$dev" zipf-warm --rw=randrw --bs=4k --iodepth=16 --random_distribution=zipf:0.8 >/dev/null
	[ "$dev" = /dev/mapper/b_dc ] && before=$(dcache_counts)
	res=$(run_fio "$dev" zipf --rw=randrw --bs=4k --iodepth=16 --random_distribution=zipf:0.8)
	if [ "$dev" = /dev/mapper/b_dc ]; then
		after=$(dcache_counts)
		hit=$(echo "$before $after" | awk '{ if ($3 > $1) printf "%.3f", ($4 - $2) / ($3 - $1) }')
	fi
	record "$sys" zipf0.8-randrw-4x-pool "$res" "$hit" "$label"
	teardown
}

# lag_ms (status field 13) and epoch - durable_epoch of b_dc, once a
# second (or as fast as dmsetup goes under TCG) until killed.
sample_lag() {
	local tick
	while :; do
		sleep 1 &
		tick=$!
		dmsetup status b_dc | awk '{ print $16, $13 - $14 }'
		wait $tick
	done
}

# PostgreSQL's pgbench (TPC-B, scale 2, 4 clients) on ext4 on system $1
# over $2 for $4 seconds (default PG_RUNTIME): transactions per second and
# average latency. A run given its length is its own workload; on a
# dcache device it also samples lag_ms once a second (its maximum and
# p99, and the most epochs behind) and counts the writes held by
# max_age_ms (write_throttles).
pgbench_system() {
	local sys=$1 backing=$2 label=$3 secs=${4:-$PG_RUNTIME} dev tps lat
	local work=pgbench-s2-c4 progress=() sampler="" lag="" throttles="" behind
	if [ -n "${4:-}" ]; then
		work=pgbench-s2-c4-${secs}s
		progress=(-P 30)
	fi
	dev=$(setup "$sys" "$backing") || return
	mkfs.ext4 -q -F "$dev"
	mkdir -p /tmp/pgb
	mount "$dev" /tmp/pgb
	pg_data=/tmp/pgb/data
	if pg_make_bench 2; then
		if [ "$work" != pgbench-s2-c4 ] && [ "$dev" = /dev/mapper/b_dc ]; then
			dmsetup message b_dc 0 clear_stats
			sample_lag >/tmp/lag.samples &
			sampler=$!
		fi
		as_pg "$pgbin/pgbench" -h $pg_sock -c 4 -j 2 -T "$secs" "${progress[@]}" -n bench \
			>/tmp/pgbench.out 2>&1
		tps=$(awk '/^tps/ { print $3 }' /tmp/pgbench.out)
		lat=$(awk '/^latency average/ { print $4 }' /tmp/pgbench.out)
		grep '^progress:' /tmp/pgbench.out
		[ "$dev" = /dev/mapper/b_dc ] &&
			echo "$sys: module totals: cow_copies $(cat $stats/cow_copies), cow_waits $(cat $stats/cow_waits), stalls $(cat $stats/stalls)"
		if [ -n "$sampler" ]; then
			kill "$sampler"
			wait "$sampler" 2>/dev/null
			throttles=$(dmsetup status b_dc | awk '{ print $17 }')
			# Maximum, p99 (nearest rank) and the samples' count.
			lag=$(sort -n /tmp/lag.samples | awk '{ v[NR] = $1 }
				END { i = int(NR * 0.99); if (i < NR * 0.99) i++
				      if (NR) print v[NR], v[i], NR }')
			behind=$(sort -n -k 2 /tmp/lag.samples | tail -n 1 | awk '{ print $2 }')
			# shellcheck disable=SC2086 # split into its fields
			set -- $lag
			lag=$(printf ', "lag_max_ms": %s, "lag_p99_ms": %s, "lag_samples": %s, "behind_max_epochs": %s, "write_throttles": %s' \
				"${1:-0}" "${2:-0}" "${3:-0}" "${behind:-0}" "${throttles:-0}")
			echo "$sys: lag_ms max ${1:-?} p99 ${2:-?} over ${3:-?} samples, at most ${behind:-?} epochs behind, ${throttles:-?} write throttles"
		fi
		pg_stop
	fi
	umount /tmp/pgb
	teardown
	printf '{"system": "%s", "workload": "%s", "tps": %s, "latency_ms": %s, "runtime_s": %s%s, "backing": "%s"}\n' \
		"$sys" "$work" "${tps:-0}" "${lat:-0}" "$secs" "$lag" "$label" >>"$out"
	printf '%-14s %-22s %10s tps %9s ms average latency\n' "$sys" "$work" "${tps:-?}" "${lat:-?}"
}

if want fio; then
	step "the systems over the virtio disk ($((n / 2048)) MiB, pool $POOL_MB MiB, ${RUNTIME}s per job)"
	for sys in raw brd linear writecache dcache-wb dcache-ord; do
		bench_system $sys "$DISK0" virtio
	done
	step "dm-linear over brd: the ceiling for any dm target"
	bench_system linear /dev/ram0 brd
fi

# Block device $1 as ftrace's block events name it ("252,0"), with
# tracefs mounted for the caller.
trace_dev() {
	local maj min
	read -r maj min <<<"$(stat -L -c '%t %T' "$1")"
	printf '%d,%d\n' "0x$maj" "0x$min"
	[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
}

# Where the time of a 4k write + fsync loop on $1 goes: ftrace events of
# one second in the middle of a 4 s job, cut at the write and the flush
# of the disk $2 under it (tests/tools/fsync_timeline.py); $3 labels it.
# perf shows what the CPU runs; this shows what the job waits for.
fsync_timeline() {
	local dev=$1 t=/sys/kernel/tracing e disk job
	disk=$(trace_dev "$2")
	echo 0 >$t/tracing_on
	echo >$t/trace
	echo 20000 >$t/buffer_size_kb
	for e in block/block_rq_issue block/block_rq_complete syscalls/sys_exit_fsync; do
		echo 1 >$t/events/$e/enable
	done
	fio --name=timeline --filename="$dev" --direct=1 --ioengine=libaio --time_based \
		--runtime=4 "${FSYNC_WRITES[@]}" >/dev/null 2>&1 &
	job=$!
	sleep 2
	echo 1 >$t/tracing_on
	sleep 1
	echo 0 >$t/tracing_on
	wait $job
	echo 0 >$t/events/enable
	cat $t/trace >/tmp/timeline.trace
	python3 "$DCACHE_TOP/tests/tools/fsync_timeline.py" "$disk" "$3" /tmp/timeline.trace || true
}

# One device's fsync latency alone, and while a neighbour takes random
# writes as fast as it can (so that it always has a backlog to drain):
# once over a 20 ms disk, once (the same CPU load) over a disk as fast
# as ours; and, the controls without dcache, beside plain random writes
# at qd32 on the neighbour's disk and beside writes at write-back's depth
# through the same 20 ms delay. Writeback; each device has a disk of its
# own (the neighbour DISK1), so that they share no disk queue; qemu
# still serves both disks from one host, so the device's timeline
# (fsync_timeline) beside each neighbour shows how much of its slowdown
# is its own disk's time and how much is the time around it.
neighbour_bench() {
	local res
	step "fsync latency of a device alone and beside a busy neighbour on its own disk"
	dcache_create b_nA "$DISK0" 4096 1 writeback
	res=$(run_fio /dev/mapper/b_nA nb-alone "${FSYNC_WRITES[@]}")
	record dcache-wb fsync-4k-alone "$res" "" virtio-own
	echo "alone: $(dmsetup status b_nA)"
	fsync_timeline /dev/mapper/b_nA "$DISK0" "device alone"
	neighbour_run 20 sick
	neighbour_run 0 fast
	neighbour_run raw raw-writer
	neighbour_run raw-20 raw-delayed-writer
	dmsetup remove b_nA
}

# Device A's fsync job beside a neighbour on DISK1, named $2 in the
# workload. $1: MS, dcache over DISK1 delayed by MS ms, written at qd16;
# raw, the control without dcache: random writes at qd32 on DISK1 itself;
# raw-MS, the control for dcache's write-back: random writes on DISK1
# delayed by MS ms, at the depth dcache's write-back reaches there
# (DCACHE_WB_PASSES x DCACHE_WB_BLOCKS), so that the disk sees the same
# bursts without dcache.
neighbour_run() {
	local m res burst dev=/dev/mapper/b_nB qd=16
	m=$(sectors "$DISK1")
	case $1 in
	raw)
		dev=$DISK1 qd=32
		;;
	raw-*)
		echo "0 $m delay $DISK1 0 ${1#raw-}" | dmsetup create b_other
		dev=/dev/mapper/b_other qd=1024
		;;
	*)
		echo "0 $m delay $DISK1 0 $1" | dmsetup create b_other
		echo "0 $m dcache /dev/mapper/b_other 4096 1 writeback" | dmsetup create b_nB
		;;
	esac
	fio --name=burst --filename="$dev" --direct=1 --ioengine=libaio --rw=randwrite \
		--bs=4k --iodepth=$qd --time_based --runtime=$((RUNTIME + 8)) >/dev/null 2>&1 &
	burst=$!
	sleep 2
	[ "$dev" = /dev/mapper/b_nB ] && echo "neighbour ($1 ms): $(dmsetup status b_nB)"
	res=$(run_fio /dev/mapper/b_nA nb-beside "${FSYNC_WRITES[@]}")
	record dcache-wb "fsync-4k-beside-busy-$2-neighbour" "$res" "" virtio-own
	[ "$dev" = /dev/mapper/b_nB ] && echo "neighbour ($1 ms): $(dmsetup status b_nB)"
	echo "device: $(dmsetup status b_nA)"
	fsync_timeline /dev/mapper/b_nA "$DISK0" "device beside the $2 neighbour"
	wait $burst
	if [ "$dev" = /dev/mapper/b_nB ]; then
		dmsetup message b_nB 0 flush
		dmsetup remove b_nB
	fi
	[ "$1" = raw ] || dmsetup remove b_other
}

want neighbour && neighbour_bench

# 4 KiB sequential direct reads at QD1 of data the cache has not seen: the
# raw disk, dm-linear (dm's own cost per bio at QD1), then dcache with the
# cut-off off (so that the whole stream goes through the cache) with
# readahead at its default (dcache-wb) and off (dcache-wb-nora).
readahead_bench() {
	local dev res ra sys
	step "4k sequential reads at QD1, cold: readahead on and off"
	res=$(run_fio "$DISK0" seq4k --rw=read --bs=4k --iodepth=1)
	record raw seqread-4k-qd1-cold "$res" "" virtio
	dev=$(setup linear "$DISK0") || return
	res=$(run_fio "$dev" seq4k --rw=read --bs=4k --iodepth=1)
	record linear seqread-4k-qd1-cold "$res" "" virtio
	teardown
	for ra in 131072 0; do
		sys=dcache-wb
		[ $ra = 0 ] && sys=dcache-wb-nora
		dev=$(setup dcache-wb "$DISK0") || return
		dmsetup message b_dc 0 sequential_cutoff 0
		dmsetup message b_dc 0 readahead $ra
		res=$(run_fio "$dev" seq4k --rw=read --bs=4k --iodepth=1)
		record $sys seqread-4k-qd1-cold "$res" "$(hit_ratio "$dev")" virtio
		echo "$sys: $(dmsetup status b_dc)"
		teardown
	done
}

want readahead && readahead_bench

echo "0 $n delay $DISK0 0 2" | dmsetup create b_slow
if want pgbench && pg_found; then
	step "PostgreSQL pgbench (scale 2, 4 clients, ${PG_RUNTIME}s) on ext4 over the disk slowed by dm-delay (2 ms)"
	for sys in raw linear dcache-wb dcache-ord; do
		pgbench_system $sys /dev/mapper/b_slow delay2ms
	done
	# The same job on a RAM disk: what the CPU allows, whatever the disk.
	pgbench_system brd /dev/ram0 brd
fi

# How long after its job a dcache device's disk holds everything (the
# flush message waits for the backlog): JSON "drain_ms" rows.
record_drain() {
	local sys=$1 work=$2 t0 ms
	t0=$(date +%s%N)
	dmsetup message b_dc 0 flush
	ms=$((($(date +%s%N) - t0) / 1000000))
	printf '{"system": "%s", "workload": "%s", "drain_ms": %d, "backing": "delay2ms"}\n' \
		"$sys" "$work" $ms >>"$out"
	echo "$sys: the disk held everything $ms ms after $work"
}

want slow && step "4k random writes with fsync=1 over the disk slowed by dm-delay (2 ms)"
# Over 64 MiB the job rewrites blocks whose older epochs are not yet on
# the disk (copy-on-write in ordered mode); over the whole device it
# rarely does. Ordered mode without max_age_ms runs at memory speed while
# the disk falls behind by an epoch per write, and drains about one epoch
# per backing round trip afterwards: its jobs run 1 s. With max_age_ms
# 2000 (dcache-ord-age) the writers slow down to keep the lag bounded.
want slow && for sys in raw dcache-wb dcache-ord dcache-ord-age; do
	secs=$RUNTIME
	[ $sys = dcache-ord ] && secs=1
	dev=$(setup $sys /dev/mapper/b_slow)
	res=$(run_fio "$dev" rw-fsync "${FSYNC_WRITES[@]}" --runtime="$secs")
	record $sys randwrite-4k-fsync "$res" "" delay2ms
	[ "$dev" = /dev/mapper/b_dc ] && record_drain $sys randwrite-4k-fsync
	teardown
	dev=$(setup $sys /dev/mapper/b_slow)
	res=$(run_fio "$dev" rw-fsync-all --rw=randwrite --bs=4k --iodepth=1 --fsync=1 \
		--runtime="$secs")
	record $sys randwrite-4k-fsync-whole-device "$res" "" delay2ms
	[ "$dev" = /dev/mapper/b_dc ] && record_drain $sys randwrite-4k-fsync-whole-device
	teardown
done

# Write one 4 KiB block of random bytes at $2 distinct random blocks of
# device $1, with O_DIRECT; with $3 = 1 an fsync after each write.
write_random_blocks() {
	python3 - "$@" <<'EOF'
import mmap, os, random, sys
dev, count, each = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
buf.write(os.urandom(4096))
nblocks = os.lseek(fd, 0, os.SEEK_END) // 4096
for b in random.sample(range(nblocks), count):
    os.pwritev(fd, [buf], b * 4096)
    if each:
        os.fsync(fd)
EOF
}

# Writing back N random dirty blocks against the same bytes written
# sequentially, three times each, alternating: the medians.
drain_once() {
	local blocks=$1 dev t0
	dev=$(setup dcache-wb /dev/mapper/b_slow)
	write_random_blocks "$dev" "$blocks" 0
	t0=$(date +%s%N)
	dmsetup message b_dc 0 flush
	echo $((($(date +%s%N) - t0) / 1000000))
	teardown >/dev/null
}

sequential_once() {
	local t0
	t0=$(date +%s%N)
	dd if=/tmp/seq of=/dev/mapper/b_slow bs=1M oflag=direct conv=fsync status=none
	echo $((($(date +%s%N) - t0) / 1000000))
}

# The median of the numbers given (the lower middle one of an even count).
median() {
	printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}

# The disk stack's own time for what the commands "$@" write to b_slow
# (tests/tools/disk_span.py: from the first write queued to b_slow to
# the last request done on DISK0, its flush), without their start-ups;
# prints span_ms. Tracing slows every request alike.
disk_span() {
	local t=/sys/kernel/tracing e top disk
	top=$(trace_dev /dev/mapper/b_slow)
	disk=$(trace_dev "$DISK0")
	echo 0 >$t/tracing_on
	echo >$t/trace
	echo 20000 >$t/buffer_size_kb
	for e in block_bio_queue block_rq_issue block_rq_complete; do
		echo 1 >$t/events/block/$e/enable
	done
	echo 1 >$t/tracing_on
	"$@" >/dev/null
	echo 0 >$t/tracing_on
	echo 0 >$t/events/enable
	cat $t/trace >/tmp/span.trace
	python3 "$DCACHE_TOP/tests/tools/disk_span.py" "$top" "$disk" /tmp/span.trace |
		tee -a /tmp/spans.txt | sed -n 's/.*"span_ms": \([0-9.]*\).*/\1/p'
}

# N random 4 KiB blocks written straight to b_slow at qd 256 and flushed:
# what the disk takes for the drain's requests with no cache in the way.
random_direct() {
	fio --name=random-direct --filename=/dev/mapper/b_slow --rw=randwrite --bs=4k \
		--size=$((n * 512)) --number_ios="$1" --iodepth=256 --ioengine=libaio \
		--direct=1 --end_fsync=1
}

drain_span_once() {
	local dev blocks=$1
	dev=$(setup dcache-wb /dev/mapper/b_slow)
	write_random_blocks "$dev" "$blocks" 0
	disk_span dmsetup message b_dc 0 flush
	teardown >/dev/null
}

# BENCH_DRAIN_PAIRS (default 3) drains, each followed by a sequential
# write of the same bytes: one pair swings by half within a boot. Each
# pair is then traced (disk_span) beside the same number of random blocks
# written straight to the disk: the disk's time for each, start-ups left
# out, shows what bounds the drain.
DRAIN_PAIRS=${BENCH_DRAIN_PAIRS:-3}
span_median() {
	local m
	m=$(median "$@")
	echo "${m:-null}"
}

drain_bench() {
	local blocks=4096 i drain_ms seq_ms
	local -a drains=() seqs=() drain_spans=() seq_spans=() random_spans=()
	step "drain: N random dirty blocks written back against the same bytes written sequentially"
	dd if=/dev/urandom of=/tmp/seq bs=1M count=$((blocks * 4096 / 1048576)) status=none
	: >/tmp/spans.txt
	for i in $(seq "$DRAIN_PAIRS"); do
		drains+=("$(drain_once $blocks)")
		seqs+=("$(sequential_once)")
		drain_spans+=("$(drain_span_once $blocks)")
		seq_spans+=("$(disk_span sequential_once)")
		random_spans+=("$(disk_span random_direct $blocks)")
	done
	drain_ms=$(median "${drains[@]}")
	seq_ms=$(median "${seqs[@]}")
	rm -f /tmp/seq
	printf '{"system": "dcache-wb", "workload": "drain-%d-random-blocks", "ms": %d, "sequential_ms": %d, "drain_span_ms": %s, "sequential_span_ms": %s, "random_direct_span_ms": %s, "backing": "delay2ms"}\n' \
		$blocks "$drain_ms" "$seq_ms" "$(span_median "${drain_spans[@]}")" \
		"$(span_median "${seq_spans[@]}")" "$(span_median "${random_spans[@]}")" >>"$out"
	echo "drain of $blocks random dirty blocks: ${drains[*]} ms; the same bytes sequentially: ${seqs[*]} ms"
	echo "medians: $drain_ms and $seq_ms ms"
	echo "disk spans (traced): drain ${drain_spans[*]} ms; sequential ${seq_spans[*]} ms;" \
	     "$blocks random blocks straight to the disk at qd 256 ${random_spans[*]} ms"
	sed 's/^/   /' /tmp/spans.txt
}

want drain && drain_bench

# How many epochs an ordered device (no max_age_ms) writes back per second
# against the fsyncs per second of the disk itself: a backlog of one-block
# epochs (4k writes at random blocks of the whole device, each followed by
# an fsync), then the flush message, which returns once durable_epoch has
# reached the epoch open when it was sent; its time is also the lag after
# the job stops.
epochs_bench() {
	local slow=$1 label=$2 writes=2000 dev res fsyncs st tw t0 t1 ms backlog
	step "epochs an ordered device drains per second, against the disk's fsyncs per second ($label)"
	res=$(run_fio "$slow" raw-fsync --rw=randwrite --bs=4k --iodepth=1 --fsync=1)
	fsyncs=${res%% *}
	dev=$(setup dcache-ord "$slow") || return
	tw=$(date +%s%N)
	write_random_blocks "$dev" $writes 1
	t0=$(date +%s%N)
	st=$(dmsetup status b_dc)
	dmsetup message b_dc 0 flush
	t1=$(date +%s%N)
	echo "after $writes writes in $(((t0 - tw) / 1000000)) ms: $st"
	echo "after the flush message: $(dmsetup status b_dc)"
	teardown
	backlog=$(echo "$st" | awk '{ print $13 - $14 }')
	ms=$(((t1 - t0) / 1000000))
	printf '{"system": "dcache-ord", "workload": "epoch-backlog-drain", "writes": %d, "writes_ms": %d, "backlog_epochs": %d, "lag_after_stop_ms_flush_message": %d, "epochs_per_s": %s, "raw_fsyncs_per_s": %s, "epochs_per_fsync": %s, "backing": "%s"}\n' \
		$writes $(((t0 - tw) / 1000000)) "$backlog" $ms "$(awk -v b="$backlog" -v ms=$ms 'BEGIN { printf "%.1f", ms ? b * 1000 / ms : 0 }')" \
		"${fsyncs:-0}" "$(awk -v b="$backlog" -v ms=$ms -v f="${fsyncs:-0}" 'BEGIN { printf "%.2f", ms && f ? b * 1000 / ms / f : 0 }')" \
		"$label" >>"$out"
	echo "backlog of $backlog epochs after $writes writes with fsync: on the disk $ms ms after the job (flush message); raw disk: ${fsyncs:-?} fsyncs/s"
}

# A disk that does FUA writes itself: null_blk with a volatile cache,
# slowed by dm-delay 2 ms like b_slow. An ordered device's one-block stages
# are FUA writes there, with no flush.
fua_bench() {
	local disk
	disk=$(nullb_create bench $((n / 2048))) || return
	echo "$disk: fua $(cat "/sys/block/${disk#/dev/}/queue/fua")"
	echo "0 $n delay $disk 0 2" | dmsetup create b_fua
	epochs_bench /dev/mapper/b_fua delay2ms-fua
	dmsetup remove b_fua
	nullb_remove bench
}

want fua && fua_bench

# perf report --sort dso,sym lines ("12.34%  [kernel.kallsyms]  [k] sym";
# perf puts a module's symbols there too) as shares of the busy (not idle)
# time: the objects, then the first $1 symbols.
busy_shares() {
	awk -v top="$1" '
	/^#/ || NF < 4 { next }
	{ pct = $1; sub("%", "", pct) }
	$NF ~ /^(native_safe_halt|default_idle|cpu_idle_poll)$/ { idle += pct; next }
	{ n++; p[n] = pct; dso[$2] += pct; sym[n] = $2 " " $NF }
	END {
		busy = 100 - idle
		if (busy <= 0)
			exit
		printf "   busy: %.1f%% of the samples; by object:", busy
		for (d in dso)
			if (100 * dso[d] / busy >= 1)
				printf " %s %.1f%%", d, 100 * dso[d] / busy
		printf "\n"
		for (i = 1; i <= n && i <= top; i++)
			printf "   %6.2f%%  %s\n", 100 * p[i] / busy, sym[i]
	}'
}

profile_job() {
	local sys=$1 job=$2 dev
	shift 2
	dev=$(setup "$sys" "$DISK0") || return
	case $job in *cached*) warm_up "$dev" ;; esac
	perf record -a -e cpu-clock -F 999 -o /tmp/perf.data -q -- \
		fio --name="$job" --filename="$dev" --direct=1 --ioengine=libaio --time_based \
		--runtime="$RUNTIME" --group_reporting "$@" >/tmp/fio.txt 2>&1
	echo "== $sys $job: $(grep -E 'IOPS=' /tmp/fio.txt | head -2 | tr -s ' ' | tr '\n' ' ')"
	# Shares of the busy time; perf's own buffer (on tmpfs) shows up as
	# clear_page_erms.
	perf report -i /tmp/perf.data --stdio --no-children --sort dso,sym -g none 2>/dev/null |
		busy_shares 30
	[ "$dev" = /dev/mapper/b_dc ] && echo "status: $(dmsetup status b_dc)"
	teardown
}

# Where the guest's CPU time goes in the jobs where dcache is furthest
# from brd: cpu-clock samples of the whole guest (perf record -a) during
# each job on dcache and on brd (the raw disk and dm-linear for cold
# reads and fsyncs), the top symbols of each. Only when named (make bench BENCH_ONLY=profile);
# prints, records nothing.
profile_bench() {
	local sys
	step "profiles (perf, cpu-clock, whole guest) of the jobs where dcache trails brd"
	for sys in brd linear-brd dcache-wb; do
		profile_job $sys randread-4k-cached "${CACHED_4K_READS[@]}"
		profile_job $sys seqread-1M-cached "${CACHED_1M_READS[@]}"
		profile_job $sys randwrite-4k-qd32 "${QD32_WRITES[@]}"
	done
	for sys in raw linear dcache-wb; do
		profile_job $sys randread-4k-cold-qd32 "${COLD_4K_READS[@]}"
		profile_job $sys randwrite-4k-fsync "${FSYNC_WRITES[@]}"
	done
}

# The fsync job's timeline (fsync_timeline) on system $1 over DISK0.
timeline_job() {
	local sys=$1 dev
	dev=$(setup "$sys" "$DISK0") || return
	fsync_timeline "$dev" "$DISK0" "$sys"
	[ "$dev" = /dev/mapper/b_dc ] && echo "status: $(dmsetup status b_dc)"
	teardown
}

timeline_bench() {
	local sys
	step "timelines (ftrace) of the 4k write + fsync loop: disk phases and the time around them"
	for sys in raw linear dcache-wb raw linear dcache-wb; do
		timeline_job $sys
	done
}

if [ "$only" = profile ]; then
	profile_bench
	timeline_bench
fi

# Job $1 (write_job or cached_read_job) $2 on the systems $3 in turn,
# fio options after them, REPS times, each rep starting one system later,
# recorded as $2-repN: one boot's speed drifts by a third within a minute,
# so a ratio of a few per cent shows only as the median of reps
# interleaved like this (bench-report prints it). Only when named
# (BENCH_ONLY=fsync, writes, reads, cold).
REPS=${BENCH_REPS:-8}
interleave() {
	local job=$1 workload=$2 rep i
	local -a systems
	read -ra systems <<<"$3"
	shift 3
	step "$workload on ${systems[*]} interleaved, $REPS times"
	for rep in $(seq "$REPS"); do
		for i in "${!systems[@]}"; do
			$job "${systems[(i + rep) % ${#systems[@]}]}" "$DISK0" \
				"$workload-rep$rep" virtio "$@"
		done
	done
}
[ "$only" = fsync ] &&
	interleave write_job randwrite-4k-fsync "raw linear dcache-wb" "${FSYNC_WRITES[@]}"
[ "$only" = writes ] &&
	interleave write_job randwrite-4k-qd32 "brd linear-brd writecache dcache-wb" "${QD32_WRITES[@]}"
if [ "$only" = reads ]; then
	interleave cached_read_job randread-4k-cached "brd linear-brd dcache-wb" "${CACHED_4K_READS[@]}"
	interleave cached_read_job seqread-1M-cached "brd linear-brd dcache-wb" "${CACHED_1M_READS[@]}"
fi
if [ "$only" = cold ]; then
	interleave cold_read_job randread-4k-cold-qd32 "raw linear dcache-wb" "${COLD_4K_READS[@]}"
	interleave cold_read_job seqread-1M-cold "raw linear dcache-wb" "${COLD_1M_READS[@]}"
fi

if [ "$only" = pgbench-long ]; then
	epochs_bench /dev/mapper/b_slow delay2ms
	if pg_found; then
		step "PostgreSQL pgbench sustained (scale 2, 4 clients, ${PG_LONG_RUNTIME}s) on ext4 over the disk slowed by dm-delay (2 ms)"
		for sys in raw dcache-ord-age; do
			pgbench_system $sys /dev/mapper/b_slow delay2ms "$PG_LONG_RUNTIME"
		done
	fi
fi
dmsetup remove b_slow
rmmod dm_dcache
echo PASS
