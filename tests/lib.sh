# shellcheck shell=bash
# Shared helpers for the test scripts. Source it; it sets ROOT and OUT.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${GENL_ECHO_OUT:-$ROOT/tests/out}
VENV=$ROOT/.venv
TOOLS=$ROOT/target/tools # virtiofsd (tests/setup.sh)
# built kernels, Debian roots, the trixie environment
GENL_ECHO_CACHE=${GENL_ECHO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/genl-echo}
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
#   GENL_ECHO_BACKPORTS=1, plus Debian's 7.3 (tests/trixie-env.sh) if
#   GENL_ECHO_TRIXIE=1 (tests/run-all.sh sets both under CI).
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
	if [ "${GENL_ECHO_TRIXIE:-0}" = 1 ]; then
		trixie_kernel
	fi
}

# The hash of a script's recipe: the lines between "# RECIPE" and
# "# RECIPE END" (what a cached build made by the script depends on).
recipe_hash() {
	sed -n '/^# RECIPE$/,/^# RECIPE END$/p' "$1" | sha256sum | cut -c1-16
}

# The modules directory of kernel $2 in the root $1 (lib/modules or, in a
# merged-/usr root, usr/lib/modules).
kernel_moddir() {
	local d
	for d in "$1/usr/lib/modules/$2" "$1/lib/modules/$2"; do
		[ -d "$d" ] && printf '%s\n' "$d" && return
	done
	return 1
}

# The trixie environment made by tests/trixie-env.sh, when $1 is its
# kernel's release: prints its cache directory (root/: the build
# environment, kernel/: Debian's image unpacked).
trixie_env_dir() {
	local d=$OUT/trixie-env
	[ -f "$d/release" ] && [ "$(cat "$d/release")" = "$1" ] && printf '%s\n' "$d"
}

# The release of the kernel tests/trixie-env.sh provides (its recipe's KVER;
# known before the environment exists).
trixie_kernel() {
	sed -n 's/^KVER=\([^ ]*\).*/\1/p' "$ROOT/tests/trixie-env.sh"
}

# chroot_run ROOT [DIR]... -- CMD...: runs CMD in ROOT (a chroot in a
# private mount namespace, with /dev, /proc and every DIR mounted at their
# own paths).
chroot_run() {
	local r=$1 binds=()
	shift
	while [ "$1" != -- ]; do
		binds+=("$1")
		shift
	done
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- sh -euc '
		r=$1
		n=$2
		shift 2
		mount --rbind /dev "$r/dev"
		mount -t proc proc "$r/proc"
		while [ "$n" -gt 0 ]; do
			mkdir -p "$r$1"
			mount --bind "$1" "$r$1"
			shift
			n=$((n - 1))
		done
		exec chroot "$r" "$@"' \
		sh "$r" "${#binds[@]}" "${binds[@]}" "$@"
}

# in_build_env KVER [-b DIR]... CMD...: runs CMD where modules for KVER are
# built: for the trixie environment's kernel, inside that root (a chroot in
# a private mount namespace, with /dev, /proc, the repository, tests/out
# and every DIR mounted at their own paths); for every other kernel, here.
in_build_env() {
	local kver=$1 env binds=("$ROOT" "$OUT") extra=() d rc=0
	shift
	while [ "${1:-}" = -b ]; do
		extra+=("$2")
		shift 2
	done
	binds+=("${extra[@]}")
	if ! env=$(trixie_env_dir "$kver") || [ -n "${GENL_ECHO_IN_ENV:-}" ]; then
		"$@"
		return
	fi
	chroot_run "$env/root" "${binds[@]}" -- env GENL_ECHO_IN_ENV=1 "$@" || rc=$?
	# the mount points made for the extra folders (temporary ones)
	for d in "${extra[@]}"; do
		rmdir "$env/root$d" 2>/dev/null || true
	done
	return "$rc"
}

# enter_build_env KVER SCRIPT [ARG...]: called at the top of a script that
# builds for kernel KVER (as enter_build_env "$kver" "$0" "$@"): for the
# trixie environment's kernel, runs the script again inside that
# environment and exits with its status; for any other kernel, or inside
# the environment already, returns.
enter_build_env() {
	local kver=$1 script rc=0
	script=$(realpath "$2")
	shift 2
	if [ -n "${GENL_ECHO_IN_ENV:-}" ] || ! trixie_env_dir "$kver" >/dev/null; then
		return 0
	fi
	in_build_env "$kver" "$script" "$@" || rc=$?
	exit "$rc"
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
	elif d=$(trixie_env_dir "$1") && d=$(kernel_moddir "$d/kernel" "$1"); then
		printf '%s\n' "$d/vmlinuz"
	else
		printf '%s\n' "/boot/vmlinuz-$1"
	fi
}

kdir_for() {
	local d
	if d=$(debug_kernel_dir "$1"); then
		printf '%s\n' "$d/linux-source-6.1"
	elif [ -z "${GENL_ECHO_IN_ENV:-}" ] && trixie_env_dir "$1" >/dev/null; then
		# the path inside the environment: use it through in_build_env
		printf '%s\n' "/usr/src/linux-headers-$1"
	elif [ -e "/usr/src/linux-headers-$1/Makefile" ]; then
		printf '%s\n' "/usr/src/linux-headers-$1"
	elif [ -e "/lib/modules/$1/build/Makefile" ]; then
		printf '%s\n' "/lib/modules/$1/build"
	elif [ "$1" = "$(trixie_kernel)" ]; then
		die "no build environment for $1 (run tests/trixie-env.sh, or tests/setup.sh with GENL_ECHO_TRIXIE=1)"
	else
		die "no headers for $1 (install linux-headers-$1)"
	fi
}

# Which module the VM suite loads: GENL_ECHO_MODULE=c (the default) is
# genl-kmod/, built by tests/build-kmod.sh; GENL_ECHO_MODULE=rust is
# genl-kmod-rs/, built by tests/build-kmod-rs.sh (Debian's 7.3 only).
genl_echo_module() {
	case ${GENL_ECHO_MODULE:-c} in
	c | rust) printf '%s\n' "${GENL_ECHO_MODULE:-c}" ;;
	*) die "GENL_ECHO_MODULE=$GENL_ECHO_MODULE: c or rust" ;;
	esac
}

# where tests/build-kmod.sh (or, with GENL_ECHO_MODULE=rust,
# tests/build-kmod-rs.sh) puts the module built for kernel $1
ko_for() {
	if [ "$(genl_echo_module)" = rust ]; then
		printf '%s\n' "$OUT/kmod-rs/$1/genl_echo.ko"
	else
		printf '%s\n' "$OUT/kmod/$1/genl_echo.ko"
	fi
}

# The folder (under tests/out) of a VM suite's results for kernel $1:
# KVER for the C module, KVER-rust for the Rust one.
suite_name() {
	if [ "$(genl_echo_module)" = rust ]; then
		printf '%s\n' "$1-rust"
	else
		printf '%s\n' "$1"
	fi
}

# The Rust build environment made by tests/rust-env.sh, when $1 is its
# kernel's release: prints its cache directory (root/: the trixie
# environment with Rust and the kernel's Rust build files).
rust_env_dir() {
	local d=$OUT/rust-env
	[ -f "$d/release" ] && [ "$(cat "$d/release")" = "$1" ] && printf '%s\n' "$d"
}
