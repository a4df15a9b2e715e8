#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernels: stock612
# disks: 384M
# timeout: 900
# PostgreSQL itself through power cuts in ordered mode, where its fsyncs
# only order: the database on ext4 on dcache over dm-flakey (the cut) over
# dm-delay (2 ms writes, so stages stay in flight). pgbench runs its TPC-B
# transactions with 4 clients; at a random moment every write is dropped.
# Afterwards the file system must be clean (e2fsck -fn), PostgreSQL must
# start and finish its WAL replay, pg_amcheck must find the tables and
# indexes intact, and the pgbench balances must agree (accounts, tellers,
# branches and history all sum to the same total: committed transactions
# are whole or absent). Committed transactions may be lost: ordered mode
# keeps a consistent earlier state, not the latest one.
. "$DCACHE_TOP/tests/guest-lib.sh"
. "$DCACHE_TOP/tests/pg-lib.sh"

pg_found || fail "PostgreSQL is not installed (scripts/setup installs it)"
# make soak asks for more (DCACHE_CUTS).
cuts=${DCACHE_CUTS:-1}
n=$(sectors "$DISK0")
pg_data=/tmp/pg/data
modprobe dm-mod 2>/dev/null || true
modprobe dm-delay 2>/dev/null || true
modprobe dm-flakey 2>/dev/null || true
modprobe dm-dcache pool_mb=64 flush_delay_ms=100
mkdir -p /tmp/pg

stack_up() {
	echo "0 $n delay $DISK0 0 0 $DISK0 0 2" | dmsetup create pg_slow
	echo "0 $n flakey /dev/mapper/pg_slow 0 3600 0" | dmsetup create pg_cut
	dcache_create pg /dev/mapper/pg_cut 4096 1 ordered
}

stack_down() {
	dmsetup remove pg
	dmsetup remove pg_cut
	dmsetup remove pg_slow
}

step "a pgbench database (scale 1) on ext4 on an ordered dcache device"
stack_up
mkfs.ext4 -q -F /dev/mapper/pg
mount /dev/mapper/pg /tmp/pg
pg_make_bench 1 || fail "no pgbench database"
pg_sql "CREATE EXTENSION amcheck"
pg_stop
umount /tmp/pg
stack_down

for cut in $(seq "$cuts"); do
	step "cut $cut"
	stack_up
	mount /dev/mapper/pg /tmp/pg
	pg_start || { tail -n 20 /tmp/pg.log; fail "cut $cut: PostgreSQL does not start"; }
	as_pg "$pgbin/pgbench" -h $pg_sock -c 4 -j 2 -T 60 -n bench >/tmp/pgbench.log 2>&1 &
	sleep "$((RANDOM % 6 + 3)).$((RANDOM % 10))"
	before=$(pg_sql "SELECT count(*) FROM pgbench_history" 2>/dev/null || echo "?")
	# The power cut: nothing written from now on reaches the disk.
	echo "0 $n flakey /dev/mapper/pg_slow 0 0 3600 1 drop_writes" | dmsetup load pg_cut
	dmsetup resume pg_cut
	pkill -9 -u postgres || true
	wait
	for _ in $(seq 50); do umount /tmp/pg 2>/dev/null && break; sleep 0.2; done
	mountpoint -q /tmp/pg && fail "cut $cut: cannot unmount"
	stack_down

	# Mount once to replay the journal, then check the file system.
	blockdev --flushbufs "$DISK0"
	mount "$DISK0" /tmp/pg || fail "cut $cut: the file system does not mount"
	umount /tmp/pg
	e2fsck -fn "$DISK0" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "cut $cut: e2fsck found errors"; }
	stack_up
	mount /dev/mapper/pg /tmp/pg
	pg_start || { tail -n 30 /tmp/pg.log; fail "cut $cut: PostgreSQL does not recover"; }
	grep -q "redo done\|database system is ready" /tmp/pg.log ||
		fail "cut $cut: no end of recovery in the server log"
	as_pg "$pgbin/pg_amcheck" -h $pg_sock --heapallindexed bench >/tmp/amcheck.log 2>&1 ||
		{ cat /tmp/amcheck.log; fail "cut $cut: pg_amcheck found corruption"; }
	sums=$(pg_sql "SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ' ' ||
		(SELECT sum(tbalance) FROM pgbench_tellers) || ' ' ||
		(SELECT sum(bbalance) FROM pgbench_branches) || ' ' ||
		(SELECT coalesce(sum(delta), 0) FROM pgbench_history)")
	after=$(pg_sql "SELECT count(*) FROM pgbench_history")
	echo "cut $cut: $before transactions before the cut, $after after recovery; sums $sums"
	# shellcheck disable=SC2086 # split into its fields
	set -- $sums
	if [ "$1" != "$2" ] || [ "$2" != "$3" ] || [ "$3" != "$4" ]; then
		fail "cut $cut: balances disagree: $sums"
	fi
	[ "$after" -gt 0 ] || fail "cut $cut: no transaction survived"
	pg_stop
	umount /tmp/pg
	stack_down
done
rmmod dm_dcache
echo PASS
