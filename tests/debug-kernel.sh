#!/bin/bash
# tests/debug-kernel.sh: builds (once) a 6.1 kernel with KASAN, lockdep,
# kmemleak and failslab from Debian's linux-source-6.1, for the debug-kernel
# tier (tests/run-debug-tier.sh). The base is virtme-ng's minimal config
# (vng --kconfig); tests/debug-kernel.config lists the options on top.
#
# The build is cached under $GENL_ECHO_CACHE (default ~/.cache/genl-echo),
# keyed by the source package's version, the option list and the recipe
# version below: a second run with the same three takes a second. The tree
# stays there (about 2 GB) because the module builds against it.
#
# Prints the kernel release on its last line and points tests/out/debug-kernel
# at the build, where tests/lib.sh finds the image and the build tree.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# Bump when the steps below change what is built.
RECIPE=1
CACHE=$GENL_ECHO_CACHE
tarball=/usr/src/linux-source-6.1.tar.xz
options=$ROOT/tests/debug-kernel.config
build_deps=(linux-source-6.1 bc bison flex libelf-dev libssl-dev cpio)

missing=()
for p in "${build_deps[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ -x "$VENV/bin/vng" ] || die "no $VENV/bin/vng (run tests/setup.sh)"

# NAME=VALUE lines, comments and blanks dropped
mapfile -t opts < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$options")
src_version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( {
	echo "recipe $RECIPE"
	echo "linux-source-6.1 $src_version"
	echo "virtme-ng $("$VENV/bin/vng" --version 2>&1)"
	printf '%s\n' "${opts[@]}"
} | sha256sum | cut -c1-16)
dir=$CACHE/debug-kernel/$key
mkdir -p "$OUT"

if [ -f "$dir/.done" ]; then
	echo "cached: $dir (linux-source-6.1 $src_version)"
else
	rm -rf "$dir"
	mkdir -p "$dir"
	t0=$(date +%s)
	echo "extracting linux-source-6.1 $src_version into $dir"
	tar -C "$dir" -xJf "$tarball"
	tree=$dir/linux-source-6.1
	cd "$tree"
	"$VENV/bin/vng" --kconfig >/dev/null
	for opt in "${opts[@]}"; do
		name=${opt%%=*}
		val=${opt#*=}
		case $val in
		y) scripts/config --enable "$name" ;;
		n) scripts/config --disable "$name" ;;
		*) scripts/config --set-val "$name" "$val" ;;
		esac
	done
	scripts/config --set-str LOCALVERSION "-genl-debug" --disable LOCALVERSION_AUTO
	make -s olddefconfig
	# Every option must have survived olddefconfig (an unmet dependency
	# silently drops it).
	bad=()
	for opt in "${opts[@]}"; do
		name=${opt%%=*}
		val=${opt#*=}
		case $val in
		n) grep -q "^CONFIG_$name=" .config && bad+=("$opt") ;;
		*) grep -qx "CONFIG_$opt" .config || bad+=("$opt") ;;
		esac
	done
	[ "${#bad[@]}" = 0 ] || die "options not in the final .config: ${bad[*]}"
	echo "building with $(nproc) jobs"
	make -s -j"$(nproc)" bzImage modules
	make -s kernelrelease >"$dir/release"
	cp .config "$dir/config"
	cp arch/x86/boot/bzImage "$dir/bzImage"
	echo "built in $(($(date +%s) - t0)) s"
	touch "$dir/.done"
fi

ln -sfn "$dir" "$OUT/debug-kernel"
cat "$dir/release"
