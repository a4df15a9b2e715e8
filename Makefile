# SPDX-License-Identifier: GPL-2.0
#
# dm-dcache: out-of-tree device-mapper target.
#
#   make            build dm-dcache.ko against KDIR (running kernel's build
#                   tree if present, else the newest Debian linux-headers)
#   make demo       boot the stock Debian kernel in qemu and show the cache
#   make check      static checks, KUnit and integration tests under qemu
#   make lint       checkpatch --strict, sparse (C=2) and a W=1 build
#   make bench      fio and pgbench over raw, brd, dm-linear, dm-writecache
#                   and dcache under qemu (bench/results.md); BENCH_ONLY=fio,
#                   neighbour, readahead, slow, drain, fua, pgbench or
#                   pgbench-long (not in the full run;
#                   BENCH_PG_LONG_RUNTIME=300 s) runs one part; profile
#                   (not in the full run) prints perf profiles of the jobs
#                   where dcache trails brd; fsync, writes, reads and
#                   cold (not in the full run) interleave the fsync job on
#                   raw, dm-linear and dcache, the qd32 write job on brd,
#                   dm-linear over brd, dm-writecache and dcache, the
#                   cached read jobs on brd, dm-linear over brd and
#                   dcache, or the cold read jobs on raw, dm-linear and
#                   dcache, BENCH_REPS=8 times and print the median ratios
#   make bench-policies  hit ratio of each eviction policy (lru2, lru) on
#                   zipf reads, with and without sequential scans
#   make deb        build/dm-dcache-dkms_<VERSION>_all.deb (DKMS source package)
#   make deb-test   build, install (dpkg -i, as root) and boot-test that
#                   package on every installed kernel, then remove it
#   make clean      remove everything the build made

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))

all: modules

modules:
	@test -n "$(KDIR)" || { echo "no kernel build tree: install linux-headers-amd64 or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

check:
	scripts/check

demo:
	scripts/demo

lint:
	scripts/setup
	scripts/lint

bench:
	scripts/bench $(BENCH_ONLY)

bench-policies:
	scripts/bench-policies

soak:
	SOAK_CUTS=$(SOAK_CUTS) scripts/soak $(SOAK_STEPS)

deb:
	scripts/make-deb

deb-test:
	scripts/setup
	tests/host/dkms-package.sh

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf build .tmp_versions
	find . -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '*.symvers' -o -name 'modules.order' \
		-o -name '.*.d' | grep -v '^./.git/' | xargs rm -f

.PHONY: all modules check demo lint bench bench-policies soak deb deb-test clean
