#!/bin/bash
# tests/build-kmod-rs.sh KVER: builds the Rust module genl-kmod-rs/ for
# Debian's 7.3 (KVER), in the environment tests/rust-env.sh made, into
# tests/out/kmod-rs/KVER/genl_echo.ko, and checks it as the kernel checks
# its own Rust code:
#   - rustfmt --check with the kernel's .rustfmt.toml (make rustfmtcheck);
#   - the build with CLIPPY=1 (the kernel's lint set, warnings are errors
#     here) and W=1;
#   - modpost against Debian's Module.symvers: every symbol resolves.
# The module builds in a copy (with the C module's generated tables and
# headers beside it), as tests/build-kmod.sh does. Log:
# tests/out/kmod-rs/KVER.log.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# = 1 ] || die "usage: $0 KVER"
kver=$1
[ "$kver" = "$(trixie_kernel)" ] || die "the Rust module builds for Debian's $(trixie_kernel) only (Debian's $kver has no Rust)"

if [ -z "${GENL_ECHO_IN_ENV:-}" ]; then
	env=$(rust_env_dir "$kver") || die "no Rust build environment for $kver (run tests/rust-env.sh)"
	rc=0
	chroot_run "$(realpath "$env")/root" "$ROOT" "$OUT" -- \
		env GENL_ECHO_IN_ENV=1 GENL_ECHO_OUT="$OUT" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		"$(realpath "$0")" "$@" || rc=$?
	exit "$rc"
fi

kdir=/usr/src/linux-headers-$kver
dir=$OUT/kmod-rs/$kver
log=$OUT/kmod-rs/$kver.log
mkdir -p "$OUT/kmod-rs"
work=$(mktemp -d "$OUT/kmod-rs/.build-$kver.XXXXXX")
trap 'rm -rf "$work"' EXIT
# the Rust module and, beside it, what it takes from the C module
mkdir -p "$work/genl-kmod-rs" "$work/genl-kmod"
cp "$ROOT"/genl-kmod-rs/Kbuild "$ROOT"/genl-kmod-rs/*.rs "$ROOT"/genl-kmod-rs/*.[ch] "$work/genl-kmod-rs/"
cp -r "$ROOT"/genl-kmod/{netlink-gen.c,netlink-gen.h,compat.h,version.h,include} "$work/genl-kmod/"

fmt=(rustfmt --check --edition 2021 --config-path "$kdir/.rustfmt.toml" "$work"/genl-kmod-rs/*.rs)
cmd=(make -C "$kdir" M="$work/genl-kmod-rs" W=1 CLIPPY=1 modules)
fmt_rc=0
rc=0
{
	echo "+ ${fmt[*]}"
	"${fmt[@]}" || fmt_rc=$?
	echo "+ ${cmd[*]}"
	"${cmd[@]}" || rc=$?
} >"$log" 2>&1
cat "$log"
[ "$rc" = 0 ] || die "Rust module build for $kver failed (exit $rc)"
[ "$fmt_rc" = 0 ] || die "genl-kmod-rs/ is not formatted as the kernel's rustfmt wants (above)"
[ -f "$work/genl-kmod-rs/genl_echo.ko" ] || die "no genl_echo.ko after the build for $kver"
if grep -Eq '(^|[^-])warning[:\[]' "$log"; then
	grep -E '(^|[^-])warning[:\[]' "$log" >&2
	die "Rust module build for $kver has warnings (W=1, CLIPPY=1)"
fi
rm -rf "$dir"
mkdir -p "$dir"
mv "$work/genl-kmod-rs/genl_echo.ko" "$dir/"
echo "built $dir/genl_echo.ko for $kver (rustfmt, clippy, W=1: clean)"
