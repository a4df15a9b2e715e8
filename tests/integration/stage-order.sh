#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: test stock
# disks: 64M 64M
# timeout: 300
# Stage order per device: two ordered devices, several epochs each (an
# fsync closes one); each device's own rounds write its stages. The stage
# trace in the kernel log (trace_stages=1) must show, for each device, its
# stage e done before its stage e+1 starts. Devices are independent: one
# device's flush does not write the other's blocks.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache flush_delay_ms=3600000 trace_stages=1
dcache_create so0 "$DISK0" 4096 1 ordered
dcache_create so1 "$DISK1" 4096 1 ordered
# Five rounds of 4 random blocks per device, each device's fsync closing
# an epoch (in ordered mode it returns at once): one process, few forks.
python3 - /dev/mapper/so0 /dev/mapper/so1 <<'PY'
import mmap, os, random, sys
fds = [os.open(p, os.O_WRONLY | os.O_DIRECT) for p in sys.argv[1:]]
buf = mmap.mmap(-1, 4096)
# Distinct blocks: a block written again in a later epoch would hold its
# writer for the older stage, and that wait starts the device's round.
blocks = {fd: random.sample(range(16384), 20) for fd in fds}
for epoch in range(5):
    for fd in fds:
        for _ in range(4):
            buf.seek(0)
            buf.write(os.urandom(4096))
            os.pwritev(fd, [buf], blocks[fd].pop() * 4096)
        os.fsync(fd)
PY
dirty=$(dmsetup status so0 | awk '{ print $6 }')
[ "$dirty" -ge 10 ] || fail "ordered fsync wrote back: only $dirty dirty blocks left"
dmesg -C
dmsetup message so0 0 flush
[ "$(dmsetup status so1 | awk '{ print $6 }')" -ge 10 ] || fail "so0's flush wrote so1's blocks"
dmsetup message so1 0 flush
dmesg | grep -E "dcache: .*: stage [0-9]+ (start|done)" >/tmp/stages || true
cat /tmp/stages
awk '
	{ for (i = 1; i <= NF; i++) if ($i == "stage") { e = $(i + 1); what = $(i + 2); dev = $(i - 1) } }
	what == "start" {
		starts++
		if (dev in open) bad = bad " " dev e "-while-" open[dev]
		if (e <= newest[dev]) bad = bad " " dev e "-after-" newest[dev]
		newest[dev] = e
		open[dev] = e
	}
	what == "done:" { delete open[dev]; epochs[dev, e] = 1; devs[dev] = 1 }
	END {
		nd = 0
		for (d in devs) { nd++; n = 0; for (x in epochs) { split(x, k, SUBSEP); if (k[1] == d) n++ }
			if (n < 5) { print "only " n " epochs of " d " in the trace"; exit 1 } }
		if (bad != "") { print "out of order:" bad; exit 1 }
		if (nd < 2) { print "only " nd " devices in the trace"; exit 1 }
		print starts " stages of " nd " devices, each device in order"
	}' /tmp/stages || fail "stages out of order"
[ "$(dmsetup status so0 | awk '{ print $6 }')" -eq 0 ] || fail "so0 still dirty after flush"
[ "$(dmsetup status so1 | awk '{ print $6 }')" -eq 0 ] || fail "so1 still dirty after flush"
dmsetup remove so0
dmsetup remove so1
rmmod dm_dcache
echo PASS
