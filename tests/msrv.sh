#!/bin/bash
# tests/msrv.sh: checks that the workspace builds with the Rust of its
# `rust-version` (Cargo.toml), as the published crates promise: the
# libraries, nlctl and the examples, every feature on (`cargo check`; the
# tests' dev-dependencies may need a newer Rust and are not checked).
#
# The compiler is Debian's rustc-web at that version (bookworm has 1.85),
# unpacked from its packages into target/msrv-toolchain/ with
# `apt-get download` (nothing is installed on the system); cargo is the
# machine's own. Build output in target/msrv/.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

want=$(sed -n '/^\[workspace.package\]/,/^\[/s/^rust-version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml")
[ -n "$want" ] || die "no rust-version in [workspace.package] of Cargo.toml"
tc=$ROOT/target/msrv-toolchain
root=$tc/root-$want
if [ ! -x "$root/usr/bin/rustc" ]; then
	deb=$(apt-cache madison rustc-web | awk -v w="$want" '$3 ~ "^"w"[.+]" {print $3; exit}')
	[ -n "$deb" ] || die "no rustc-web $want in the apt sources (apt-cache madison rustc-web)"
	llvm=$(apt-cache show "libstd-rust-web-$want=$deb" 2>/dev/null |
		sed -n 's/^Depends:.*\(libllvm[0-9][0-9]*\).*/\1/p' | head -n1)
	rm -rf "$tc/debs" "$root"
	mkdir -p "$tc/debs" "$root"
	(cd "$tc/debs" && apt-get download -q "rustc-web=$deb" "libstd-rust-web-dev=$deb" \
		"libstd-rust-web-$want=$deb" ${llvm:+"$llvm"} 2>&1 | grep -v unsandboxed || true)
	for d in "$tc"/debs/*.deb; do dpkg-deb -x "$d" "$root"; done
fi
export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu
export RUSTC=$root/usr/bin/rustc RUSTDOC=$root/usr/bin/rustdoc CARGO_TARGET_DIR=$ROOT/target/msrv
got=$("$RUSTC" --version)
echo "rust-version $want: $got"
case $got in "rustc $want"*) ;; *) die "$RUSTC is not $want" ;; esac
cd "$ROOT"
cargo check --workspace --lib --bins --examples --all-features --locked
echo "msrv: the workspace builds with $got"
