#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock612
# disks: 512M
# timeout: 300
# Swap on a dcache device: a memory hog in a memory cgroup of 64 MiB
# touches 224 MiB, so reclaim pushes its pages out through the cache
# (whose I/O paths must not allocate in ways that recurse into reclaim or
# wait for themselves), then it reads every page back and checks it.
# No deadlock (the timeout), no OOM kill, every page intact.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=32
dcache_create sw "$DISK0" 4096
mkswap /dev/mapper/sw >/dev/null
swapon /dev/mapper/sw || fail "swapon on a dcache device failed"

mkdir -p /sys/fs/cgroup
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
echo +memory >/sys/fs/cgroup/cgroup.subtree_control || fail "no memory controller"
mkdir -p /sys/fs/cgroup/hog
echo 64M >/sys/fs/cgroup/hog/memory.max || fail "no memory cgroup"

step "a 224 MiB hog in 64 MiB of memory swaps through the cache"
cat >/tmp/hog.py <<'EOF'
import sys
MIB = 1 << 20
chunks = []
for i in range(224):
    b = bytearray(MIB)
    for off in range(0, MIB, 4096):
        b[off:off + 8] = (i * 256 + off // 4096).to_bytes(8, "little")
    chunks.append(b)
bad = 0
for i, b in enumerate(chunks):
    for off in range(0, MIB, 4096):
        if int.from_bytes(b[off:off + 8], "little") != i * 256 + off // 4096:
            bad += 1
print("pages checked:", 224 * 256, "bad:", bad)
sys.exit(1 if bad else 0)
EOF
start=$(date +%s)
# The hog alone goes into the cgroup (a subshell's $$ is its parent's).
deadline 240 sh -c 'echo $$ >/sys/fs/cgroup/hog/cgroup.procs && exec python3 /tmp/hog.py' ||
	fail "the hog failed (OOM kill, timeout or a bad page): $?"
echo "hog done in $(($(date +%s) - start)) s"
swapped=$(awk '/^\/dev/ { print $4 }' /proc/swaps | head -n 1)
echo "swap used at the end: ${swapped:-0} KiB; $(dmsetup status sw)"
grep -q oom_kill /sys/fs/cgroup/hog/memory.events &&
	echo "memory.events: $(tr '\n' ' ' </sys/fs/cgroup/hog/memory.events)"
[ "$(awk '/^oom_kill / { print $2 }' /sys/fs/cgroup/hog/memory.events)" = 0 ] ||
	fail "the hog was OOM-killed"
swapped_out=$(awk '/^pswpout / { print $2 }' /proc/vmstat)
echo "pages swapped out since boot: $swapped_out"
[ "$swapped_out" -ge 32768 ] || fail "only $swapped_out pages swapped out: the test did not swap"
swapoff /dev/mapper/sw || fail "swapoff failed"
rmdir /sys/fs/cgroup/hog
dmsetup remove sw
rmmod dm_dcache
echo PASS
