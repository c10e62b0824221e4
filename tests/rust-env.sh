#!/bin/bash
# tests/rust-env.sh: makes (once) the build environment for the Rust module
# (genl-kmod-rs/) on Debian's 7.3 and prints its directory on its last line.
#
# Debian builds 7.3 with CONFIG_RUST=y, but its headers packages ship none of
# the kernel's Rust build files (the crates' metadata, the target spec, the
# proc-macro libraries), so an out-of-tree Rust module cannot be built
# against them as shipped. This script regenerates those files the way
# Debian built its image, and adds them to the headers:
#
#   1. copies the trixie environment's root (tests/trixie-env.sh) and
#      installs trixie's Rust toolchain into the copy (rustc, rust-src,
#      bindgen, clippy, rustfmt: the versions Debian's kernel was built
#      with; the headers' .config names them), plus what the kernel's
#      build needs (flex, bison, libelf, openssl, ...);
#   2. unpacks linux-source-7.3 (the same upload as the image), copies in
#      Debian's .config, checks that `make olddefconfig` leaves it
#      unchanged, and runs `make modules_prepare`, which builds the Rust
#      crates (core, kernel, bindings, macros, ...) with Debian's
#      .kernelvariables (gcc-14, KERNELRELEASE);
#   3. checks that the Rust symbols the rebuilt crates export are exactly
#      the ones Debian's vmlinux exports (its Module.symvers): Rust symbol
#      names carry a hash of the compiler's version, so a different rustc
#      would build modules that cannot load. The check fails the script;
#   4. copies the crates' metadata, proc-macro libraries and target spec
#      (OVERLAY below) into the copy's /usr/src/linux-headers-KVER and
#      deletes the source tree: from then on `make -C
#      /usr/src/linux-headers-KVER M=... modules` builds Rust modules in the
#      copy, with Debian's own Makefile, Module.symvers and vmlinux.
#
# Cached in $GENL_ECHO_CACHE (default ~/.cache/genl-echo) as rust-env-HASH/
# (root/: the copy), HASH being the hash of this recipe and of the trixie
# environment it copies; older ones are deleted. tests/out/rust-env points
# at it (tests/lib.sh: rust_env_dir, in_rust_env).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# RECIPE
SOURCE=linux-source-7.3
# trixie main's, never trixie-backports' newer rustc (apt prefers main)
PACKAGES=(
	rustc rust-src rust-clippy rustfmt bindgen libclang-dev # the Rust toolchain
	flex bison bc libelf-dev libssl-dev openssl dwarves python3 xz-utils cpio
)
# what an out-of-tree Rust module needs beyond Debian's headers
OVERLAY=(
	rust/libcore.rmeta rust/libcompiler_builtins.rmeta rust/libffi.rmeta
	rust/libbuild_error.rmeta rust/libbindings.rmeta rust/libuapi.rmeta
	rust/libpin_init.rmeta rust/libzerocopy.rmeta rust/libkernel.rmeta
	rust/libmacros.so rust/libpin_init_internal.so rust/libzerocopy_derive.so
	scripts/target.json
)
# the values of the headers' .kernelvariables, as the kernel's make wants them
MAKE_VARS=(ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- CC=x86_64-linux-gnu-gcc-14 HOSTCC=gcc-14)
# RECIPE END

[ "$(id -u)" = 0 ] || die "run as root (chroot, apt)"
kver=$(trixie_kernel)
env=$(trixie_env_dir "$kver") || die "no trixie environment for $kver (run tests/trixie-env.sh)"
env=$(realpath "$env")
hash=$( (recipe_hash "$0" && basename "$env") | sha256sum | cut -c1-16)
cache=$GENL_ECHO_CACHE
dir=$cache/rust-env-$hash
hdr=/usr/src/linux-headers-$kver

if [ -f "$dir/.done" ]; then
	echo "cached: $dir" >&2
else
	t0=$(date +%s)
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "building the Rust build environment $dir (from $env)" >&2
	cp -a "$env/root" "$dir/root"
	cp /etc/resolv.conf "$dir/root/etc/resolv.conf"
	mkdir -p "$dir/root/build"
	# shellcheck disable=SC2016 # expanded inside the environment
	chroot_run "$dir/root" -- env DEBIAN_FRONTEND=noninteractive sh -euc '
		apt-get update -q
		apt-get install -y -q --no-install-recommends "$@"
		apt-get clean
		rm -rf /var/lib/apt/lists/*' sh "${PACKAGES[@]}" "$SOURCE" >&2
	t1=$(date +%s)
	echo "packages in $((t1 - t0)) s" >&2

	# shellcheck disable=SC2016 # expanded inside the environment
	chroot_run "$dir/root" -- sh -euc '
		hdr=$1
		src=$2
		shift 2
		export LC_ALL=C
		want=$(sed -n "s/^CONFIG_RUSTC_VERSION_TEXT=\"\(.*\)\"$/\1/p" "$hdr/.config")
		have=$(rustc --version)
		[ "$want" = "$have" ] || { echo "rustc is \"$have\", Debian built with \"$want\"" >&2; exit 1; }
		want=$(sed -n "s/^CONFIG_BINDGEN_VERSION_TEXT=\"\(.*\)\"$/\1/p" "$hdr/.config")
		have=$(bindgen --version)
		[ "$want" = "$have" ] || { echo "bindgen is \"$have\", Debian built with \"$want\"" >&2; exit 1; }
		cd /build
		tar xJf "/usr/src/$src.tar.xz"
		cd "$src"
		cp "$hdr/.config" .config
		echo "make $*" >&2
		make "$@" olddefconfig >/dev/null
		cmp -s .config "$hdr/.config" || { echo "olddefconfig changed Debian'"'"'s .config" >&2; diff "$hdr/.config" .config >&2; exit 1; }
		make "$@" rustavailable
		make "$@" -j"$(nproc)" modules_prepare >/build/modules_prepare.log 2>&1 ||
			{ tail -n 40 /build/modules_prepare.log >&2; exit 1; }
		# the guard: the same Rust exports as Debian'"'"'s vmlinux. Every
		# symbol the rebuilt crates export is one of Debian'"'"'s, and every
		# Rust symbol Debian exports (mangled _R..., rust_helper_...) is
		# one the rebuilt crates export.
		sed -n "s/^EXPORT_SYMBOL_RUST_GPL(\(.*\));$/\1/p" rust/exports_*_generated.h | sort -u >/build/exports.rebuilt
		awk "\$3 == \"vmlinux\" {print \$2}" "$hdr/Module.symvers" | sort -u >/build/exports.debian
		grep -E "^(_R|rust_helper_)" /build/exports.debian >/build/exports.debian-rust || true
		missing=$(comm -23 /build/exports.rebuilt /build/exports.debian)
		extra=$(comm -13 /build/exports.rebuilt /build/exports.debian-rust)
		if [ -n "$missing$extra" ]; then
			echo "the rebuilt Rust crates do not match Debian'"'"'s vmlinux (another rustc or config?)" >&2
			[ -z "$missing" ] || printf "exported here, not by Debian: %s\n" $missing | head -n 10 >&2
			[ -z "$extra" ] || printf "exported by Debian, not here: %s\n" $extra | head -n 10 >&2
			exit 1
		fi
		echo "Rust exports: $(wc -l </build/exports.rebuilt), all in Debian'"'"'s Module.symvers, and all of its $(wc -l </build/exports.debian-rust) Rust symbols" >&2
	' sh "$hdr" "$SOURCE" "${MAKE_VARS[@]}" "KERNELRELEASE=$kver" >&2
	t2=$(date +%s)
	echo "modules_prepare and the check in $((t2 - t1)) s" >&2

	src=$dir/root/build/$SOURCE
	# scripts/ of the headers is a link into linux-kbuild-*: copy through it
	for f in "${OVERLAY[@]}"; do
		[ -f "$src/$f" ] || die "modules_prepare made no $f"
		install -D -m644 "$src/$f" "$dir/root$hdr/$f"
	done
	cp "$src/.rustfmt.toml" "$dir/root$hdr/.rustfmt.toml"
	mv "$dir/root/build/exports.rebuilt" "$dir/rust-exports"
	rm -rf "$dir/root/build" "$dir/root/usr/src/$SOURCE.tar.xz"
	chroot_run "$dir/root" -- rustc --version >"$dir/rustc-version"
	echo "$kver" >"$dir/release"
	touch "$dir/.done"
	echo "made in $(($(date +%s) - t0)) s" >&2
	find "$cache" -maxdepth 1 -name 'rust-env-*' ! -name "${dir##*/}" -exec rm -rf {} +
fi

mkdir -p "$OUT"
ln -sfn "$dir" "$OUT/rust-env"
echo "$dir"
