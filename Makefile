# SPDX-License-Identifier: GPL-2.0
#
# dm-dcache: out-of-tree device-mapper target.
#
#   make            build dm-dcache.ko against KDIR (running kernel's build
#                   tree if present, else the newest Debian linux-headers)
#   make demo       boot the stock Debian kernel in qemu and show the cache
#   make check      static checks, KUnit and integration tests under qemu
#   make lint       checkpatch --strict, sparse (C=2) and a W=1 build
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
	scripts/bench

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf build .tmp_versions
	find . -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '*.symvers' -o -name 'modules.order' \
		-o -name '.*.d' | grep -v '^./.git/' | xargs rm -f

.PHONY: all modules check demo lint bench clean
