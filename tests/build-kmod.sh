#!/bin/bash
# tests/build-kmod.sh KVER: builds genl-kmod for kernel KVER with W=1, in a
# copy (tests/out/kmod/KVER/) so builds for several kernels don't clash with
# each other or with a developer's in-tree build. Fails if the build fails or
# its log has a "warning:" line. Log: tests/out/kmod/KVER.log.
# Also builds the test-only impostor module tests/kmod-evil (used by
# tests/vm/test_impostor.py) into tests/out/kmod/KVER/evil/.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# = 1 ] || die "usage: $0 KVER"
kver=$1
# Debian's 7.3 kernel: in the trixie environment (tests/trixie-env.sh)
enter_build_env "$kver" "$0" "$@"
kdir=$(kdir_for "$kver")
dir=$OUT/kmod/$kver
log=$OUT/kmod/$kver.log

[ -d "$ROOT/genl-kmod" ] || die "no genl-kmod/"
mkdir -p "$OUT/kmod"
# Build in a private directory and move it into place at the end, so a
# concurrent run never sees a half-built (or removed) module.
work=$(mktemp -d "$OUT/kmod/.build-$kver.XXXXXX")
trap 'rm -rf "$work"' EXIT
# copy the sources without any in-tree build products
tar -C "$ROOT/genl-kmod" \
	--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude='.*.cmd' --exclude='*.order' --exclude='*.symvers' --exclude='.tmp_versions' \
	-cf - . | tar -C "$work" -xf -

if [ -f "$work/Makefile" ]; then
	cmd=(make -C "$work" KDIR="$kdir" W=1)
else
	cmd=(make -C "$kdir" M="$work" W=1 modules)
fi
echo "+ ${cmd[*]}"
rc=0
"${cmd[@]}" >"$log" 2>&1 || rc=$?
cat "$log"
[ "$rc" = 0 ] || die "module build for $kver failed (exit $rc)"
[ -f "$work/genl_echo.ko" ] || die "no genl_echo.ko after the build for $kver"

if [ -d "$ROOT/tests/kmod-evil" ]; then
	# its Kbuild finds the UAPI header relative to tests/kmod-evil: point
	# the copy at the real one
	evil=$work/evil
	mkdir -p "$evil"
	cp "$ROOT"/tests/kmod-evil/Kbuild "$ROOT"/tests/kmod-evil/Makefile "$ROOT"/tests/kmod-evil/*.c "$evil/"
	sed -i "s|\$(src)/../../genl-kmod/include|$ROOT/genl-kmod/include|" "$evil/Kbuild"
	elog=$OUT/kmod/$kver-evil.log
	if ! make -C "$evil" KDIR="$kdir" >"$elog" 2>&1; then
		cat "$elog" >&2
		die "tests/kmod-evil build for $kver failed"
	fi
	echo "built evil/genl_echo_evil.ko (tests/kmod-evil) for $kver"
fi

# in place even with warnings, so the VM suite can still run
rm -rf "$dir"
mv "$work" "$dir"
trap - EXIT

if grep -q 'warning:' "$log"; then
	grep 'warning:' "$log" >&2
	die "module build for $kver has warnings (W=1)"
fi
echo "built $dir/genl_echo.ko for $kver, no warnings"
