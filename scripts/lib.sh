# Shared paths for the scripts; sourced, not run.
# The caches live outside the checkout so that "git clean" and a fresh clone
# keep the expensive test kernel.

DCACHE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DCACHE_CACHE=${DCACHE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dm-dcache}
LINUX_SOURCE_TARBALL=/usr/src/linux-source-6.1.tar.xz
STOCK_KVER_GLOB='/boot/vmlinuz-*-amd64'

linux_source_version() {
	dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown
}

# Directory of the cached test kernel build for this source and fragment.
test_kernel_dir() {
	local frag_hash
	frag_hash=$(sha256sum "$DCACHE_TOP/scripts/test-kernel.config" | cut -c1-12)
	echo "$DCACHE_CACHE/kernel-$(linux_source_version)-$frag_hash"
}

# Newest installed Debian stock kernel release (e.g. 6.1.0-56-amd64).
stock_kernel_release() {
	local newest
	# shellcheck disable=SC2086
	newest=$(ls -1 $STOCK_KVER_GLOB 2>/dev/null | sort -V | tail -n 1)
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
