#!/bin/bash
# tests/dkms-build.sh KVER: installs genl-kmod the DKMS way, as a user would
# (make dkms-install, then dkms add/build/install), for kernel KVER, into
# private trees under tests/out/dkms/ so the system's /usr/src, /var/lib/dkms
# and /lib/modules are left alone. The module lands in
# tests/out/dkms/install/KVER/updates/dkms/genl_echo.ko, where the VM suite's
# DKMS test autoloads it. Also checks that DKMS refuses to build for a
# kernel older than 6.1 (dkms.conf's BUILD_EXCLUSIVE_KERNEL).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# = 1 ] || die "usage: $0 KVER"
kver=$1
# Debian's 7.3 kernel: in the trixie environment (tests/trixie-env.sh)
enter_build_env "$kver" "$0" "$@"
command -v dkms >/dev/null || die "dkms not found (apt-get install dkms)"
kdir=$(kdir_for "$kver")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$ROOT/genl-kmod/dkms.conf")
mod_version=$(sed -n 's/^#define GENL_ECHO_MODULE_VERSION "\(.*\)"/\1/p' "$ROOT/genl-kmod/version.h")
[ "$version" = "$mod_version" ] ||
	die "dkms.conf PACKAGE_VERSION $version != GENL_ECHO_MODULE_VERSION $mod_version"

base=$OUT/dkms
src=$base/src
tree=$base/tree-$kver
inst=$base/install
rm -rf "$src" "$tree" "${inst:?}/$kver"
mkdir -p "$src" "$tree" "$inst/$kver"
trees=(--sourcetree "$src" --dkmstree "$tree" --installtree "$inst")

make -s -C "$ROOT/genl-kmod" dkms-install DESTDIR="$src" SRCDIR=
dkms add -m genl_echo -v "$version" "${trees[@]}"
# DKMS is pointed at the headers kdir_for found: it would look for them in
# /lib/modules/KVER/build (DKMS 3.0, bookworm; the same tree for Debian's
# packages) or under the --installtree (DKMS 3.2, trixie), and a kernel that
# is not installed (the debug kernel) has no /lib/modules/KVER/build.
installed=0
[ -e "/lib/modules/$kver/build" ] && installed=1
dkms build -m genl_echo -v "$version" -k "$kver" "${trees[@]}" --kernelsourcedir "$kdir" ||
	{ cat "$tree/genl_echo/$version/build/make.log" >&2 || true; die "dkms build failed for $kver ($kdir)"; }
if [ "$installed" = 1 ]; then
	dkms install -m genl_echo -v "$version" -k "$kver" "${trees[@]}" --force
else
	# dkms install would run depmod on a /lib/modules/KVER that does not
	# exist; put the module DKMS built where it would have installed it.
	mkdir -p "$inst/$kver/updates/dkms"
	cp "$tree/genl_echo/$version/$kver/$(uname -m)"/module/genl_echo.ko* "$inst/$kver/updates/dkms/"
fi
ko=$(find "$inst/$kver" -name 'genl_echo.ko*' | head -n1)
[ -n "$ko" ] || die "dkms install left no genl_echo.ko under $inst/$kver"
vermagic=$(modinfo -F vermagic "$ko")
[ "${vermagic%% *}" = "$kver" ] || die "$ko is for ${vermagic%% *}, not $kver"
echo "dkms: $ko ($(modinfo -F version "$ko"), vermagic $kver)"

# A kernel before 6.1: DKMS must skip it (exit 77, "BUILD_EXCLUSIVE"), not
# try and fail the build. In trees of its own: run against the shared ones,
# the refused build left the other kernels' installed modules deleted
# (dkms 3.0.10).
old=5.10.0-30-amd64
rtrees=(--sourcetree "$src" --dkmstree "$base/tree-refused" --installtree "$base/install-refused")
rm -rf "$base/tree-refused" "$base/install-refused"
mkdir -p "$base/tree-refused" "$base/install-refused"
dkms add -m genl_echo -v "$version" "${rtrees[@]}" >/dev/null
rc=0
out=$(dkms build -m genl_echo -v "$version" -k "$old" "${rtrees[@]}" 2>&1) || rc=$?
rm -rf "$base/tree-refused" "$base/install-refused"
if [ "$rc" != 77 ] || ! grep -q 'BUILD_EXCLUSIVE' <<<"$out"; then
	printf '%s\n' "$out" >&2
	die "dkms build for $old: exit $rc, expected 77 and the BUILD_EXCLUSIVE message"
fi
echo "dkms: refuses $old (BUILD_EXCLUSIVE_KERNEL)"
