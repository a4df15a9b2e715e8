#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock
# disks: 64M 64M
# timeout: 300
# scripts/dcachetab, as dcache.service runs it at boot and shutdown (the
# guest has no systemd, so the script runs directly): start creates the
# devices of a config and refuses bad lines naming file and line, a second
# start changes nothing, stop writes the dirty blocks back and removes the
# devices, and a stop that runs out of time says how many dirty blocks it
# left and leaves the device in place.
. "$DCACHE_TOP/tests/guest-lib.sh"

tab="$DCACHE_TOP/scripts/dcachetab"
modprobe dm-mod 2>/dev/null || true
modprobe dm-delay 2>/dev/null || true
# Nothing is written back unless asked: what stop writes, stop wrote.
modprobe dm-dcache flush_delay_ms=3600000
export DCACHETAB_DEV_WAIT=1

# Stable names like udev's (the guest has no udev).
mkdir -p /tmp/disk/by-id
ln -s "$DISK0" /tmp/disk/by-id/virtio-dcache-a
ln -s "$DISK1" /tmp/disk/by-id/virtio-dcache-b
conf=/tmp/dcachetab
cat >$conf <<EOF
# name  backing device               block size  options
dta     /tmp/disk/by-id/virtio-dcache-a  4096    writeback
dtb     /tmp/disk/by-id/virtio-dcache-b  4096    ordered,max_age_ms=3600000,sequential_cutoff=0,readahead=65536,read_admit=1,group=db
dtc     /tmp/disk/by-id/virtio-dcache-a  4096
dtd     /tmp/disk/by-id/virtio-none      4096    writethrough
dte     $DISK1                           4096    writeback,fast
dtf     $DISK1                           1000
dta     $DISK1                           4096
dtg     $DISK1                           4096    ordered,group=a/b
EOF

expect_line() {
	grep -qF "$conf:$1: $2" /tmp/start.err ||
		{ cat /tmp/start.err; fail "no message for line $1 ('$2')"; }
}

step "start creates the good lines and refuses the bad ones by line"
"$tab" -c $conf start >/tmp/start.out 2>/tmp/start.err && fail "start succeeded with bad lines"
cat /tmp/start.out /tmp/start.err
expect_line 4 "backing device '/tmp/disk/by-id/virtio-dcache-a' already used on line 2"
expect_line 5 "dtd: backing device /tmp/disk/by-id/virtio-none not found"
expect_line 6 "unknown option 'fast'"
expect_line 7 "bad block size '1000'"
expect_line 8 "name 'dta' already used on line 2"
expect_line 9 "bad group 'a/b'"
[ "$(wc -l </tmp/start.err)" -eq 6 ] || fail "expected 6 refusals"
majmin() {
	printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"
}
dmsetup table dta | grep -q " dcache $(majmin "$DISK0") 4096 1 writeback$" ||
	fail "dta: $(dmsetup table dta)"
dmsetup table dtb | grep -q " dcache $(majmin "$DISK1") 4096 11 ordered max_age_ms 3600000 sequential_cutoff 0 readahead 65536 read_admit 1 group db$" ||
	fail "dtb: $(dmsetup table dtb)"
for d in dtc dtd dte dtf dtg; do
	exists=$(dmsetup info "$d" 2>/dev/null) && fail "refused line made $d: $exists"
done

step "a second start with the good lines changes nothing"
grep -E '^(#|dta|dtb)' $conf | head -n 3 >/tmp/good
good=/tmp/good
before=$(dmsetup table; dmsetup info -c --noheadings -o name,major,minor)
"$tab" -c $good start >/tmp/start2.out 2>&1 || { cat /tmp/start2.out; fail "second start failed"; }
cat /tmp/start2.out
[ "$(grep -c 'already active' /tmp/start2.out)" -eq 2 ] || fail "second start did not see both devices"
after=$(dmsetup table; dmsetup info -c --noheadings -o name,major,minor)
[ "$before" = "$after" ] || fail "second start changed the devices: $before / $after"
"$tab" -c $good status || fail "status says a device is missing"

step "dirty data, not yet on the backing disks"
dd if=/dev/urandom of=/tmp/a bs=1M count=4 status=none
dd if=/dev/urandom of=/tmp/b bs=1M count=4 status=none
dd if=/tmp/a of=/dev/mapper/dta bs=1M oflag=direct status=none
dd if=/tmp/b of=/dev/mapper/dtb bs=1M oflag=direct status=none
"$tab" -c $good status
for d in dta dtb; do
	dirty=$(dmsetup status $d | awk '{ print $6 }')
	[ "$dirty" -gt 0 ] || fail "$d has no dirty blocks: $(dmsetup status $d)"
done
cmp_direct /tmp/a "$DISK0" $((4 << 20)) && fail "the data reached $DISK0 before stop"

step "stop writes back and removes"
"$tab" -c $good stop >/tmp/stop.out 2>&1 || { cat /tmp/stop.out; fail "stop failed"; }
cat /tmp/stop.out
[ "$(grep -c 'written back and removed' /tmp/stop.out)" -eq 2 ] || fail "stop did not report both"
for d in dta dtb; do
	dmsetup info $d >/dev/null 2>&1 && fail "$d still exists after stop"
done
cmp_direct /tmp/a "$DISK0" $((4 << 20)) || fail "$DISK0 does not hold what was written"
cmp_direct /tmp/b "$DISK1" $((4 << 20)) || fail "$DISK1 does not hold what was written"
"$tab" -c $good stop || fail "stop with nothing to stop failed"
"$tab" -c $good status >/dev/null && fail "status succeeded with both devices gone"

step "a stop that runs out of time says what it left"
# Every write to the backing device takes 1.5 s; new data for $DISK0.
dd if=/dev/urandom of=/tmp/a bs=1M count=1 status=none
n=$(sectors "$DISK0")
echo "0 $n delay $DISK0 0 0 $DISK0 0 1500" | dmsetup create dtdelay
echo "dtslow /dev/mapper/dtdelay 4096" >/tmp/slow
"$tab" -c /tmp/slow start || fail "start over dm-delay failed"
dd if=/tmp/a of=/dev/mapper/dtslow bs=1M count=1 oflag=direct status=none
"$tab" -c /tmp/slow -t 1 stop >/tmp/stop.out 2>&1 && fail "stop succeeded within 1 s"
cat /tmp/stop.out
grep -qE "^dcachetab: dtslow: write-back did not finish within 1s: [1-9][0-9]* dirty blocks \([1-9][0-9]* bytes\) not written back; device left in place$" \
	/tmp/stop.out || fail "no dirty count in the timeout message"
dmsetup info dtslow >/dev/null || fail "dtslow removed after a timeout"
for _ in $(seq 60); do
	[ "$(dmsetup status dtslow | awk '{ print $6 }')" = 0 ] && break
	sleep 1
done
"$tab" -c /tmp/slow -t 60 stop || fail "second stop over dm-delay failed"
dmsetup remove dtdelay
cmp_direct /tmp/a "$DISK0" $((1 << 20)) || fail "$DISK0 does not hold what was written"
echo PASS
