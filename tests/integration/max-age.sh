#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock
# disks: 256M
# timeout: 600
# max_age_ms bounds how far an ordered device's disk lags: 4 KiB writes
# with fsync=1 (one epoch each) over a disk slowed to 5 ms a write make a
# backlog the disk cannot drain as fast as it grows (without max_age_ms a
# 6 s run left the lag at 6 s and minutes of stages; not run here, as the
# drain takes minutes). With max_age_ms 1000, writers are held while the
# disk lags (by the age of its oldest dirty data, or the time its owed
# stages will take): they must have been held (write_throttles, so the
# workload did push the disk past the bound's half), the lag (status
# field lag_ms) stays under twice the bound, and writes go on. A user
# waiting for such a backlog (the flush message) may give up. Without
# max_age_ms, an epoch closed by an fsync still reaches the disk within a
# second or so, not the whole flush delay.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-delay 2>/dev/null || true
modprobe dm-dcache pool_mb=64
n=$(sectors "$DISK0")
bound=1000

# Run the fsync job for $1 s on a new ordered device with features $2...;
# prints the largest lag_ms seen and the job's write count.
run() {
	local secs=$1 sampler max
	shift
	echo "0 $n delay $DISK0 0 0 $DISK0 0 5" | dmsetup create mx_slow
	dcache_create mx /dev/mapper/mx_slow 4096 "$@"
	(while :; do dmsetup status mx | awk '{ print $16 }'; sleep 0.2; done) >/tmp/lags 2>/dev/null &
	sampler=$!
	fio --name=mx --filename=/dev/mapper/mx --rw=randwrite --bs=4k --size=64m \
		--fsync=1 --time_based --runtime="$secs" --output-format=terse \
		--terse-version=3 >/tmp/fio.terse || fail "fio failed"
	kill $sampler
	wait $sampler 2>/dev/null || true
	max=$(sort -n /tmp/lags | tail -n 1)
	# Field 47 of fio's terse output: KiB written.
	echo "$max $(($(cut -d';' -f47 /tmp/fio.terse) / 4)) $(dmsetup status mx)"
	dmsetup message mx 0 flush
	dmsetup remove mx
	dmsetup remove mx_slow
}

step "max_age_ms $bound holds writers while the disk lags"
# shellcheck disable=SC2046 # split into its fields
set -- $(run 12 3 ordered max_age_ms $bound)
echo "largest lag $1 ms, $2 writes; status: ${*:3}"
[ "$2" -gt 100 ] || fail "writes stopped: $2 in 12 s"
# Status field 14 (after "0 <len> dcache"): writes held for max_age_ms.
throttles=$(echo "${*:3}" | awk '{ print $17 }')
[ "$throttles" -gt 0 ] || fail "no write was held: the disk never lagged, the test proves nothing"
# The first stages' pace is a guess until measured: one bound of slack.
[ "$1" -lt $((2 * bound)) ] || fail "lag $1 ms above max_age_ms $bound"
step "a flush message waiting for a backlog can be killed; the backlog drains"
echo "0 $n delay $DISK0 0 0 $DISK0 0 5" | dmsetup create mx_slow
dcache_create mx /dev/mapper/mx_slow 4096 1 ordered
# 400 one-block epochs: seconds of stages at 5 ms a write (2 s at the
# least; under TCG stages drain at about 45 a second, and with the 1000
# this took, 950 were behind at the kill and the flush below spent some
# 20 s draining them).
fio --name=mx --filename=/dev/mapper/mx --rw=randwrite --bs=4k --size=64m --fsync=1 \
	--number_ios=400 --output-format=terse >/dev/null || fail "fio failed"
dmsetup message mx 0 flush &
waiter=$!
sleep 1
t0=$(date +%s%N)
kill -KILL $waiter
wait $waiter 2>/dev/null && fail "the flush message returned 0 before the backlog drained"
ms=$((($(date +%s%N) - t0) / 1000000))
behind=$(dmsetup status mx | awk '{ print $13 - $14 }')
echo "killed after 1 s: gone in $ms ms, $behind epochs still behind"
[ "$ms" -lt 1000 ] || fail "the killed flush message took $ms ms to go"
[ "$behind" -gt 0 ] || fail "the backlog drained within 1 s: the kill proved nothing"
dmsetup message mx 0 flush || fail "flush failed after a killed one"
behind=$(dmsetup status mx | awk '{ print $13 - $14 }')
[ "$behind" -le 1 ] || fail "$behind epochs behind after a flush"
dmsetup remove mx
dmsetup remove mx_slow

step "without max_age_ms, a closed epoch's round starts within a second"
# The flush delay is 5 s; a closed ordered epoch cannot merge with later
# writes, so its round is due within a fifth of it, 1 s (at most 3 s
# here under TCG).
[ "$(cat /sys/module/dm_dcache/parameters/flush_delay_ms)" -eq 5000 ] ||
	fail "the step expects the default flush delay, 5000 ms"
dcache_create mx "$DISK0" 4096 1 ordered
dd if=/dev/urandom of=/dev/mapper/mx bs=4k count=1 oflag=direct conv=fsync status=none
epoch=$(dmsetup status mx | awk '{ print $13 - 1 }')
t0=$(date +%s%N)
while [ "$(dmsetup status mx | awk '{ print $14 }')" -lt "$epoch" ]; do
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ $ms -lt 3000 ] || fail "epoch $epoch not durable after $ms ms: $(dmsetup status mx)"
	sleep 0.05
done
echo "epoch $epoch durable $((($(date +%s%N) - t0) / 1000000)) ms after its fsync"
dmsetup remove mx
rmmod dm_dcache
echo PASS
