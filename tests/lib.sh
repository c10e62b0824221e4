# shellcheck shell=bash
# Shared helpers for the test scripts. Source it; it sets ROOT and OUT.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${GENL_ECHO_OUT:-$ROOT/tests/out}
VENV=$ROOT/.venv
TOOLS=$ROOT/target/tools # virtiofsd (tests/setup.sh)
export VIRTIOFSD_VERSION=1.14.0
export PATH="$TOOLS/bin:$VENV/bin:$ROOT/target/release:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

section() {
	printf '\n==================== %s ====================\n' "$*"
}

die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# newest installed kernel (an image in /boot) whose version starts with $1
newest_kernel() {
	local v
	v=$(find /boot -maxdepth 1 -name "vmlinuz-$1*-amd64" -printf '%f\n' 2>/dev/null |
		sed 's/^vmlinuz-//' | sort -V | tail -n1)
	[ -n "$v" ] && printf '%s\n' "$v"
}

# The kernels the suite targets, one per line:
#   GENL_ECHO_KERNELS="6.1.0-56-amd64 6.12.57+deb12-amd64" picks them exactly;
#   otherwise the newest 6.1 in /boot, plus the newest 6.12 if
#   GENL_ECHO_BACKPORTS=1 (the default under CI).
target_kernels() {
	if [ -n "${GENL_ECHO_KERNELS:-}" ]; then
		# shellcheck disable=SC2086 # a space-separated list
		printf '%s\n' $GENL_ECHO_KERNELS
		return
	fi
	newest_kernel 6.1. || die "no 6.1 kernel in /boot (run tests/setup.sh)"
	if [ "${GENL_ECHO_BACKPORTS:-0}" = 1 ]; then
		newest_kernel 6.12. || die "no 6.12 kernel in /boot (run tests/setup.sh with GENL_ECHO_BACKPORTS=1)"
	fi
}

# The debug kernel built by tests/debug-kernel.sh, when $1 is its release:
# prints its cache directory (image bzImage, build tree linux-source-6.1).
debug_kernel_dir() {
	local d=$OUT/debug-kernel
	[ -f "$d/release" ] && [ "$(cat "$d/release")" = "$1" ] && printf '%s\n' "$d"
}

# the kernel image to boot for release $1
image_for() {
	local d
	if d=$(debug_kernel_dir "$1"); then
		printf '%s\n' "$d/bzImage"
	else
		printf '%s\n' "/boot/vmlinuz-$1"
	fi
}

kdir_for() {
	local d
	if d=$(debug_kernel_dir "$1"); then
		printf '%s\n' "$d/linux-source-6.1"
	elif [ -e "/usr/src/linux-headers-$1/Makefile" ]; then
		printf '%s\n' "/usr/src/linux-headers-$1"
	elif [ -e "/lib/modules/$1/build/Makefile" ]; then
		printf '%s\n' "/lib/modules/$1/build"
	else
		die "no headers for $1 (install linux-headers-$1)"
	fi
}

# where tests/build-kmod.sh puts the module built for kernel $1
ko_for() {
	printf '%s\n' "$OUT/kmod/$1/genl_echo.ko"
}
