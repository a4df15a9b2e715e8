# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Shared paths for the scripts; sourced, not run.
# The caches live outside the checkout so that "git clean" and a fresh clone
# keep the expensive test kernel.

DCACHE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DCACHE_CACHE=${DCACHE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dm-dcache}
LINUX_SOURCE_TARBALL=/usr/src/linux-source-6.1.tar.xz
# The two supported Debian kernels: "stock" is Debian 12's own 6.1, and
# "stock612" the 6.12 that Debian 12 carries for newer hardware (the kernel
# of Debian 13). Each glob picks the newest installed release of its line.
STOCK_KVER_GLOB='/boot/vmlinuz-6.1.*-amd64'
STOCK612_KVER_GLOB='/boot/vmlinuz-6.12.*-amd64'

linux_source_version() {
	dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown
}

# Directory of the cached test kernel build for this source and fragment.
test_kernel_dir() {
	local frag_hash
	frag_hash=$(sha256sum "$DCACHE_TOP/scripts/test-kernel.config" | cut -c1-12)
	echo "$DCACHE_CACHE/kernel-$(linux_source_version)-$frag_hash"
}

# Newest installed Debian kernel release of a kind: stock (the default, e.g.
# 6.1.0-56-amd64) or stock612 (e.g. 6.12.117+deb12-amd64).
stock_kernel_release() {
	local newest glob=$STOCK_KVER_GLOB
	case "${1:-stock}" in
	stock) ;;
	stock612) glob=$STOCK612_KVER_GLOB ;;
	*) return 1 ;;
	esac
	# shellcheck disable=SC2086,SC2012 # the glob expands here; names are plain
	newest=$(ls -1 $glob 2>/dev/null | sort -V | tail -n 1)
	[ -n "$newest" ] || return 1
	basename "$newest" | sed 's/^vmlinuz-//'
}

# The unpacked linux-source tree (checkpatch, kunit.py, test kernel), made
# once per source package version.
linux_source_dir() {
	local src
	src="$DCACHE_CACHE/src-$(linux_source_version)"
	if [ ! -f "$src/.complete" ]; then
		[ -f "$LINUX_SOURCE_TARBALL" ] || die "$LINUX_SOURCE_TARBALL missing: run scripts/setup"
		echo "unpacking $LINUX_SOURCE_TARBALL" >&2
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xf "$LINUX_SOURCE_TARBALL" -C "$src.tmp" --strip-components=1
		touch "$src.tmp/.complete"
		mv "$src.tmp" "$src"
	fi
	echo "$src"
}

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}
