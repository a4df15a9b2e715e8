# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# PostgreSQL in the guest, for the tests and the bench: the server of the
# host's newest PostgreSQL, run as user postgres with its socket in /run
# and its log in /tmp, over a data directory that the caller mounts.
# Callers set pg_data before use.
pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_data=${pg_data:-/tmp/pg/data}
pg_sock=/run/postgresql

pg_found() {
	[ -x "$pgbin/postgres" ]
}

as_pg() {
	runuser -u postgres -- "$@"
}

pg_start() {
	mkdir -p $pg_sock
	chown postgres:postgres $pg_sock
	rm -f "$pg_data/postmaster.pid"
	as_pg "$pgbin/pg_ctl" -D "$pg_data" -l /tmp/pg.log -w -t 300 start \
		-o "-k $pg_sock -c listen_addresses= -c dynamic_shared_memory_type=mmap"
}

pg_stop() {
	as_pg "$pgbin/pg_ctl" -D "$pg_data" -w -t 300 stop
}

pg_sql() {
	as_pg "$pgbin/psql" -h $pg_sock -d bench -XAtq -v ON_ERROR_STOP=1 -c "$1"
}

# A new cluster in $pg_data (its parent mounted and empty) with database
# "bench" holding pgbench's tables at scale $1; the server is left running.
pg_make_bench() {
	mkdir -p "$pg_data"
	chown postgres:postgres "$pg_data"
	as_pg "$pgbin/initdb" -D "$pg_data" -E UTF8 --locale=C -A trust >/tmp/initdb.log 2>&1 ||
		{ cat /tmp/initdb.log; return 1; }
	pg_start || { tail -n 20 /tmp/pg.log; return 1; }
	if ! as_pg "$pgbin/createdb" -h $pg_sock bench ||
		! as_pg "$pgbin/pgbench" -h $pg_sock -i -s "$1" -q bench >/tmp/pgbench-init.log 2>&1; then
		cat /tmp/pgbench-init.log
		return 1
	fi
}
