#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock
# disks: 64M
# timeout: 300
# Module parameters and messages: every valid value reads back and takes
# effect; every invalid one is refused and changes nothing. The sysfs
# statistics are there and add up. Stock kernel only: its dozens of short
# processes cost minutes on the debug kernel, where resize.sh exercises the
# same setters under lockdep and KASAN.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
step "the eviction policy is chosen at load; a bad name fails the load"
modprobe dm-dcache policy=bogus 2>/dev/null && fail "policy=bogus loaded"
[ ! -d /sys/module/dm_dcache ] || fail "a failed load left the module behind"
modprobe dm-dcache policy=lru pool_mb=8
[ "$(cat /sys/module/dm_dcache/parameters/policy)" = lru ] || fail "policy=lru not applied"
rmmod dm_dcache
modprobe dm-dcache pool_mb=8
P=/sys/module/dm_dcache/parameters
[ "$(cat $P/policy)" = lru2 ] || fail "the default policy is not lru2"
! echo lru >$P/policy 2>/dev/null || fail "the policy changed on a live module"
S=/sys/kernel/dm_dcache
refused=0

set_ok() {
	echo "$2" >$P/"$1" || fail "$1=$2 refused"
	[ "$(cat $P/"$1")" = "$3" ] || fail "$1 reads $(cat $P/"$1") after writing $2"
}
set_bad() {
	local before
	before=$(cat $P/"$1")
	if echo "$2" >$P/"$1" 2>/tmp/err; then
		fail "$1='$2' was accepted"
	fi
	grep -q "Invalid argument" /tmp/err || { cat /tmp/err; fail "$1='$2': not EINVAL"; }
	[ "$(cat $P/"$1")" = "$before" ] || fail "$1 changed to $(cat $P/"$1") by the refused '$2'"
	refused=$((refused + 1))
}
msg_bad() {
	local table
	table=$(dmsetup table kn)
	# shellcheck disable=SC2086
	dmsetup message kn 0 $1 2>/dev/null && fail "message '$1' accepted"
	[ "$(dmsetup table kn)" = "$table" ] || fail "message '$1' changed the table"
	refused=$((refused + 1))
}

step "valid values read back"
set_ok pool_mb 16 16
[ "$(cat $S/blocks_total)" -eq $((16 * 256)) ] || fail "blocks_total $(cat $S/blocks_total) after pool_mb=16"
set_ok pool_mb 8 8
[ "$(cat $S/blocks_total)" -eq $((8 * 256)) ] || fail "blocks_total $(cat $S/blocks_total) after pool_mb=8"
set_ok dirty_percent 50 50
set_ok flush_delay_ms 500 500
set_ok default_mode ordered ordered
set_ok debug_check 1 Y
set_ok debug_check 0 N
set_ok trace_stages 1 Y
set_ok trace_stages 0 N
set_ok device_dirty_percent 40 40
set_ok device_dirty_percent 50 50

step "invalid values are refused and change nothing"
for v in abc -1 0 1.5 "" 99999999 4294967296; do set_bad pool_mb "$v"; done
for v in 0 91 x -5; do set_bad dirty_percent "$v"; done
for v in 0 3600001 1e3 ""; do set_bad flush_delay_ms "$v"; done
for v in fast "" writeback2; do set_bad default_mode "$v"; done
set_bad debug_check maybe
# The kernel's bool parser reads one character; these knobs read the word.
set_bad debug_check "1 2"
set_bad trace_stages "yes please"
for v in 0 101 x ""; do set_bad device_dirty_percent "$v"; done

step "a new device takes the default mode; messages change it and show in the table"
echo "0 $(sectors "$DISK0") dcache $DISK0 4096" | dmsetup create kn
dmsetup table kn | grep -q " 1 ordered$" || fail "default mode not applied: $(dmsetup table kn)"
dmsetup message kn 0 mode writethrough
dmsetup table kn | grep -q " 1 writethrough$" || fail "mode message: $(dmsetup table kn)"
dmsetup message kn 0 max_age_ms 250
dmsetup table kn | grep -q " 3 writethrough max_age_ms 250$" || fail "max_age_ms message: $(dmsetup table kn)"
dmsetup table kn | dmsetup load kn && dmsetup resume kn
dmsetup table kn | grep -q " 3 writethrough max_age_ms 250$" || fail "table did not round-trip"
# Message feature $1 to $2: it shows in the table, which loads back the
# same; back at its default $3 it leaves the table line.
feature_round_trip() {
	local name=$1 value=$2 default=$3
	local line=" 5 writethrough max_age_ms 250 $name $value$"
	dmsetup message kn 0 "$name" "$value"
	dmsetup table kn | grep -q "$line" || fail "$name message: $(dmsetup table kn)"
	dmsetup table kn | dmsetup load kn && dmsetup resume kn
	dmsetup table kn | grep -q "$line" ||
		fail "table with $name did not round-trip: $(dmsetup table kn)"
	dmsetup message kn 0 "$name" "$default"
	dmsetup table kn | grep -q " 3 writethrough max_age_ms 250$" ||
		fail "the default $name shows in the table: $(dmsetup table kn)"
}
feature_round_trip sequential_cutoff 0 4194304
feature_round_trip read_admit 1 2
dmsetup message kn 0 mode writeback
for m in "" mode "mode bogus" "mode writeback extra" "max_age_ms" "max_age_ms 0" \
	"max_age_ms x" "max_age_ms 3600001" "sequential_cutoff" "sequential_cutoff 1.5" \
	"sequential_cutoff 1073741825" "sequential_cutoff 4M" "read_admit" "read_admit 0" \
	"read_admit 3" "read_admit two" "flush now" "clear_stats 1" bogus; do
	msg_bad "$m"
done
echo "$refused invalid values and messages refused"
[ $refused -ge 20 ] || fail "only $refused refusals tested"

step "sysfs statistics"
dd if=/dev/urandom of=/dev/mapper/kn bs=64k count=16 oflag=direct status=none
dd if=/dev/mapper/kn of=/dev/null bs=64k count=16 iflag=direct status=none
for f in blocks_total blocks_free blocks_clean blocks_dirty blocks_kept hits misses evictions stalls cow_copies cow_waits \
	rounds read_errors write_errors bytes_read bytes_written; do
	[ -r $S/$f ] || fail "$S/$f missing"
	printf '%s=%s ' $f "$(cat $S/$f)"
done
echo
total=$(cat $S/blocks_total) free=$(cat $S/blocks_free)
clean=$(cat $S/blocks_clean) dirty=$(cat $S/blocks_dirty)
[ $((free + clean + dirty)) -eq "$total" ] || fail "free + clean + dirty != total"
[ "$(cat $S/hits)" -ge 256 ] || fail "reads of written blocks were not hits"
dmsetup message kn 0 flush
# The durable epoch: status field 11, after "<start> <length> dcache".
[ "$(dmsetup status kn | awk '{ print $14 }')" -ge 1 ] ||
	fail "durable_epoch did not advance: $(dmsetup status kn)"
[ "$(cat $S/blocks_dirty)" -eq 0 ] || fail "dirty after flush"
dmsetup remove kn
echo writeback >$P/default_mode
rmmod dm_dcache
echo PASS
