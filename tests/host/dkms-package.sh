#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side test of the DKMS package (make deb-test; run as root on the
# build machine: it installs and removes dm-dcache-dkms on the host, and
# never loads it into the host kernel). Builds the .deb, installs it with
# dpkg -i, checks that DKMS built and installed the module for every
# installed Debian kernel (6.1 and 6.12), boots each of them in qemu with the
# host's installed modules where a plain "modprobe dm-dcache" must load it
# and a smoke test must pass, then removes the package and checks that the
# module files are gone. One PASS/FAIL line per check; exit status 1 on any
# failure.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"

[ "$(id -u)" -eq 0 ] || die "run as root: it installs the package on this machine"
out="$DCACHE_TOP/build/dkms-test"
rm -rf "$out"
mkdir -p "$out"
passed=0 failed=0
pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
failure() { failed=$((failed + 1)); printf 'FAIL  %s: %s\n' "$1" "$2"; }
finish() {
	echo "dkms-package: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

version=$(cat "$DCACHE_TOP/VERSION")
kinds=() kvers=()
for kind in stock stock612; do
	kver=$(stock_kernel_release "$kind") || { failure "kernel $kind" "not installed: run scripts/setup"; continue; }
	kinds+=("$kind") kvers+=("$kver")
done

# A leftover of an earlier run would hide what this install does.
if dpkg-query -W -f='${db:Status-Status}' dm-dcache-dkms 2>/dev/null | grep -q installed; then
	dpkg -r dm-dcache-dkms >"$out/dpkg-r-old.log" 2>&1
fi

if deb=$("$DCACHE_TOP/scripts/make-deb" 2>"$out/make-deb.log"); then
	pass "make deb ($(basename "$deb"))"
else
	failure "make deb" "$(tail -n 3 "$out/make-deb.log")"
	finish
fi
if dpkg -i "$deb" >"$out/dpkg-i.log" 2>&1; then
	pass "dpkg -i"
else
	failure "dpkg -i" "see $out/dpkg-i.log"
	tail -n 20 "$out/dpkg-i.log" | sed 's/^/      /'
	finish
fi

dkms status -m dm-dcache >"$out/dkms-status.log" 2>&1
for i in "${!kinds[@]}"; do
	kver=${kvers[$i]}
	if grep -q "^dm-dcache/$version, $kver, x86_64: installed" "$out/dkms-status.log" &&
		ls /lib/modules/"$kver"/updates/dkms/dm-dcache.ko* >/dev/null 2>&1; then
		pass "dkms status: installed for $kver"
	else
		failure "dkms status for $kver" "$(tr '\n' ' ' <"$out/dkms-status.log")"
	fi
done

# The guests, both at once (a smoke test is short and mostly boot).
pids=()
for i in "${!kinds[@]}"; do
	"$DCACHE_TOP/scripts/qemu-run" --kernel "${kinds[$i]}" --host-modules \
		--out "$out/${kinds[$i]}" --disk 64M --timeout 300 \
		"$DCACHE_TOP/tests/host/dkms-package-guest.sh" "$version" >/dev/null 2>&1 &
	pids+=($!)
done
for i in "${!kinds[@]}"; do
	if wait "${pids[$i]}"; then
		pass "modprobe dm-dcache and smoke on ${kvers[$i]}"
	else
		failure "modprobe dm-dcache and smoke on ${kvers[$i]}" "see $out/${kinds[$i]}/console.log"
		tail -n 15 "$out/${kinds[$i]}/output.log" 2>/dev/null | sed 's/^/      /'
	fi
	if ! "$DCACHE_TOP/scripts/logscan" "$out/${kinds[$i]}/console.log" "dkms@${kinds[$i]}" \
		>"$out/${kinds[$i]}/logscan" 2>&1; then
		failure "kernel log on ${kvers[$i]}" "see $out/${kinds[$i]}/logscan"
	fi
done

if dpkg -r dm-dcache-dkms >"$out/dpkg-r.log" 2>&1; then
	pass "dpkg -r"
else
	failure "dpkg -r" "see $out/dpkg-r.log"
fi
left=$(ls -d /lib/modules/*/updates/dkms/dm-dcache.ko* /usr/src/dm-dcache-* \
	/var/lib/dkms/dm-dcache /usr/sbin/dcachetab 2>/dev/null)
if [ -z "$left" ] && [ -z "$(dkms status -m dm-dcache 2>/dev/null)" ]; then
	pass "removed: no module, source or DKMS tree left"
else
	failure "removed" "left behind: $(echo "$left" | tr '\n' ' ') $(dkms status -m dm-dcache 2>&1)"
fi
for kver in "${kvers[@]}"; do
	if modinfo -k "$kver" -n dm-dcache >/dev/null 2>&1; then
		failure "removed for $kver" "modinfo still finds $(modinfo -k "$kver" -n dm-dcache)"
	fi
done
finish
