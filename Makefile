# SPDX-License-Identifier: GPL-2.0
#
# mgpu: out-of-tree build wrapper and test harness entry points.
#
#   make [module]      build mgpu.ko here against $(KDIR)
#   make install       modules_install + depmod for $(KDIR)'s kernel
#   make clean         remove build products (keeps the kernel cache)
#   make distclean     also remove build/ (the kernel cache stays in
#                      /var/cache/mgpu, MGPU_CACHE)
#   make sparse        sparse (C=1) build for every kernel of the matrix
#   make modules-all   W=1 build for every kernel of the matrix
#   make selftests     build selftests/mgpu into build/selftests
#   make mgpuctl       build tools/mgpuctl into build/mgpuctl (+ man page)
#   make install-mgpuctl  install mgpuctl, its man page, bash completion
#                      and udev rule (DESTDIR, PREFIX=/usr/local)
#   make check-mgpuctl mgpuctl's host tests only (fake sysfs, seconds)
#   make check         everything, on every kernel, in QEMU (see scripts/ci.sh)
#   make check-libvirt the libvirt test VM: a Debian root (bookworm's
#                      libvirt 9.0, sid's 12.x) on the newest kernel, with
#                      virsh, mdevctl and a domain with a vGPU
#                      (scripts/check-libvirt.sh, Documentation/libvirt-vm.rst)
#   make fuzz          build tools/fuzz and run every fuzz target for
#                      FUZZ_RUNS executions (10^7; make check does a short
#                      run, scripts/fuzz-check.sh)
#   make demo          boot the newest kernel, create one vGPU per type and
#                      run a nested VM with a workload on one of them
#   make nested-soak [N=20]  N nested VM boots in a row, none may fail
#                      (Documentation/nested.rst)
#   make bench         boot the newest kernel and run tools/bench/mgpu-bench:
#                      one table of ratios (not part of make check)
#   make dkms-install  copy the sources to /usr/src/mgpu-$(VERSION) and
#                      dkms add/build/install (for every installed kernel
#                      with headers, or DKMS_KERNELS="<release> ...")
#   make dkms-remove   dkms remove and delete /usr/src/mgpu-$(VERSION)
#   make deb           Debian packages (mgpu-dkms, mgpuctl, libmgpu1,
#                      libmgpu-dev) with dpkg-buildpackage -us -uc -b in
#                      a clean copy of the tree, then lintian (no errors
#                      or warnings); into build/deb/ (scripts/build-deb.sh)
#
# The matrix is resolved from apt at run time (scripts/kernels.sh);
# MGPU_KERNELS="<release> ..." restricts it.  kbuild reads ./Kbuild, not
# this file.

VERSION := 0.1.0
DKMS_SRC := $(DESTDIR)/usr/src/mgpu-$(VERSION)

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
# The running kernel's headers may be missing (containers, CI): then use
# the newest installed headers, unless KDIR was given explicitly.
ifeq ($(origin KDIR),file)
ifeq ($(wildcard $(KDIR)/Makefile),)
KDIR := $(lastword $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V))
endif
endif

all: module

module:
	@test -n "$(KDIR)" -a -f "$(KDIR)/Makefile" || { \
		echo "error: no kernel headers at '$(KDIR)' (fix: apt-get install linux-headers-amd64, or make KDIR=/path/to/build)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

install: module install-mgpuctl
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a $$(cat $(KDIR)/include/config/kernel.release)

MGPUCTL_OUT := $(CURDIR)/build/mgpuctl/

mgpuctl:
	$(MAKE) -C tools/mgpuctl OUTPUT=$(MGPUCTL_OUT)

install-mgpuctl: mgpuctl
	$(MAKE) -C tools/mgpuctl OUTPUT=$(MGPUCTL_OUT) install

check-mgpuctl:
	$(MAKE) -C tools/mgpuctl OUTPUT=$(MGPUCTL_OUT) check

# Not "make -C $(KDIR) M=$(CURDIR) clean": that deletes every *.ko below
# this directory.
clean:
	rm -f *.ko *.mod *.mod.c *.mod.o *.o .*.o .*.cmd modules.order Module.symvers
	find kernel include -type f \( -name '*.o' -o -name '.*.cmd' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '*.a' -o -name compat-probed.h \) -delete 2>/dev/null || true
	find build -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true

distclean: clean
	rm -rf build

check:
	@scripts/ci.sh check

check-libvirt:
	@scripts/check-libvirt.sh $(SUITES)

FUZZ_OUT := $(CURDIR)/build/fuzz/

fuzz:
	@scripts/deps.sh
	$(MAKE) -C tools/fuzz OUTPUT=$(FUZZ_OUT) fuzz

demo:
	@scripts/ci.sh demo

bench:
	@scripts/ci.sh bench

# N nested boots in one outer VM (default 20): Documentation/nested.rst
nested-soak:
	@scripts/nested-soak.sh $(N)

sparse:
	@scripts/ci.sh sparse

modules-all:
	@scripts/ci.sh modules

selftests:
	@scripts/deps.sh
	@scripts/build-selftests.sh

# Only what kbuild needs goes into the DKMS source tree.
dkms-src:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -r Kbuild kernel include $(DKMS_SRC)/
	find $(DKMS_SRC) \( -name '*.o' -o -name '.*.cmd' -o -name '*.ko' \
		-o -name compat-probed.h \) -delete
	sed 's/@VERSION@/$(VERSION)/' dkms.conf > $(DKMS_SRC)/dkms.conf

dkms-install: dkms-src
	dkms remove mgpu/$(VERSION) --all >/dev/null 2>&1 || true
	dkms add mgpu/$(VERSION)
	@set -e; for k in $${DKMS_KERNELS:-$$(ls /lib/modules)}; do \
		[ -e /lib/modules/$$k/build/Makefile ] || continue; \
		echo "dkms: building mgpu/$(VERSION) for $$k"; \
		dkms build mgpu/$(VERSION) -k $$k; \
		dkms install mgpu/$(VERSION) -k $$k --force; \
	done

dkms-remove:
	dkms remove mgpu/$(VERSION) --all || true
	rm -rf $(DKMS_SRC)

deb:
	@scripts/build-deb.sh

.PHONY: dkms-src dkms-install dkms-remove deb
.PHONY: nested-soak
.PHONY: all module install clean distclean check check-libvirt demo bench sparse modules-all selftests \
	mgpuctl install-mgpuctl check-mgpuctl fuzz
