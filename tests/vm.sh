#!/bin/bash
# tests/vm.sh KVER CMD [ARG...]: boots kernel KVER (/boot/vmlinuz-KVER, the
# debug kernel, or Debian's 7.3 unpacked by tests/trixie-env.sh) under QEMU (software
# emulation, no KVM) with virtme-ng, runs CMD inside as root in the project's
# root directory, and exits with CMD's status.
#
# The guest sees the host's filesystem read-only, except:
#   tests/out/        shared read-write with the host (results, logs)
#   /lib/modules, /etc, /var, /tmp, ...  overlays writable in the guest only
# Inside, GENL_ECHO_KVER, GENL_ECHO_KO (the module built for KVER by
# tests/build-kmod.sh, or with GENL_ECHO_MODULE=rust by tests/build-kmod-rs.sh;
# then GENL_ECHO_MODULE=rust, and the results go to tests/out/KVER-rust/),
# GENL_ECHO_ROOT and GENL_ECHO_OUT are set, and for Debian's 7.3
# GENL_ECHO_LINUX_TOOLS (its tree's YNL tools); GENL_ECHO_SIZES (the long
# runs' sizes, full or reduced: tests/vm/conftest.py) when set.
#
# Environment: VM_TIMEOUT (seconds, default 1200), VM_MEMORY (2G), VM_CPUS (2),
# VM_FORCE_9P=1 (share the host fs over 9p even if virtiofsd is there),
# VM_IMAGE (boot this kernel image instead of the one for KVER),
# VM_BOOT_TIMEOUT (seconds until the command must have started: 300, 900 on
# the debug kernel; a boot that takes longer is stopped and retried once),
# VM_APPEND (extra kernel command line), VM_QEMU_OPTS (extra QEMU arguments).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: $0 KVER CMD [ARG...]"
kver=$1
shift
image=${VM_IMAGE:-$(image_for "$kver")}
if [ ! -r "$image" ]; then
	[ "$kver" != "$(trixie_kernel)" ] || die "no kernel image for $kver (run tests/trixie-env.sh)"
	die "no kernel image $image"
fi
# VM_VNG: another vng (tests/vm-retry-check.sh passes a stand-in to check
# the retry below without booting anything).
vng=${VM_VNG:-$VENV/bin/vng}
[ -x "$vng" ] || die "no $vng (run tests/setup.sh)"
mkdir -p "$OUT"

status_file=$OUT/.vm-status.$$
started_file=$OUT/.vm-started.$$
rm -f "$status_file" "$started_file"

env_vars=(
	GENL_ECHO_KVER="$kver"
	GENL_ECHO_KO="$(ko_for "$kver")"
	GENL_ECHO_ROOT="$ROOT"
	GENL_ECHO_OUT="$OUT"
	PATH="$ROOT/target/release:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	PYTHONDONTWRITEBYTECODE=1
	LC_ALL=C.UTF-8
	CI="${CI:-}"
)
[ -z "${GENL_ECHO_SIZES:-}" ] || env_vars+=(GENL_ECHO_SIZES="$GENL_ECHO_SIZES")
# POSIX sh quoting (the guest runs the command string with /bin/sh, where
# bash's $'...' from printf %q means something else).
shq() {
	local w out=""
	for w in "$@"; do
		out+="'${w//\'/\'\\\'\'}' "
	done
	printf '%s' "$out"
}
# only when not the default: the command line has little room
if [ "$(genl_echo_module)" != c ]; then
	env_vars+=(GENL_ECHO_MODULE="$(genl_echo_module)")
fi
mods_opts=()
max_script=900
if env_dir=$(trixie_env_dir "$kver"); then
	# Debian's 7.3, unpacked by tests/trixie-env.sh: virtme-ng finds its
	# modules beside the image (usr/lib/modules/KVER) and links the guest's
	# /lib/modules/KVER to them; an overlay makes them writable in the
	# guest only, as --overlay-rwdir /lib/modules does for an installed
	# kernel (the autoload test installs the module there).
	moddir=$(kernel_moddir "$(realpath "$env_dir")/kernel" "$kver")
	mods_opts=(--overlay-rwdir "$moddir")
	# both paths go on the kernel's command line (below)
	link=$(kernel_moddir "$env_dir/kernel" "$kver")
	max_script=$((max_script - ${#moddir} - ${#link} - 38))
	# the YNL tools of the 7.3 tree (tests/vm/test_ynl.py)
	env_vars+=(GENL_ECHO_LINUX_TOOLS="$env_dir/linux-tools")
fi
script="echo > $(shq "$started_file")&& cd $(shq "$ROOT")&& export $(shq "${env_vars[@]}")&& { $(shq "$@"); }; rc=\$?; echo \$rc > $(shq "$status_file"); exit \$rc"
# virtme-ng hands the command to the guest on the kernel's command line
# (base64, beside about 700 bytes of its own), which x86 cuts at 2048
# bytes: a longer command would lose init= and hang the boot.
if [ "${#script}" -gt "$max_script" ]; then
	die "the guest command is ${#script} bytes; at most $max_script fit on the kernel's command line (pass long lists in a file)"
fi

append=${VM_APPEND:-}
wrap=()
if debug_kernel_dir "$kver" >/dev/null; then
	# QEMU's -cpu max offers 5-level paging, under which this KASAN kernel
	# reports a false wild-memory-access while identifying the CPU.
	append="no5lvl${append:+ $append}"
	# udev's coldplug takes minutes under KASAN and emulation; the guest
	# needs only virtme-ng's own rule. Bind-mount a rules directory with
	# just that rule in a private mount namespace (the guest sees the host's
	# file system through it).
	rules=$OUT/udev-rules.d
	mkdir -p "$rules"
	printf '%s\n' 'SUBSYSTEM=="virtio-ports", KERNEL=="vport*", ATTR{name}=="?*", SYMLINK+="virtio-ports/$attr{name}"' \
		>"$rules/99-virtme-ports.rules"
	wrap=(unshare --mount --propagation private -- sh -c 'mount --bind "$0" /usr/lib/udev/rules.d && exec "$@"' "$rules")
fi
extra_opts=()
[ -z "$append" ] || extra_opts+=("--append=$append")
[ -z "${VM_QEMU_OPTS:-}" ] || extra_opts+=("--qemu-opts=$VM_QEMU_OPTS")
fs_opts=()
if [ "${VM_FORCE_9P:-0}" = 1 ] || ! command -v virtiofsd >/dev/null; then
	fs_opts=(--force-9p)
fi

# A guest that has not started its command after VM_BOOT_TIMEOUT seconds
# hangs in its boot (seen once in many boots of the debug kernel): stop it
# there rather than at VM_TIMEOUT, and boot once more (below).
if debug_kernel_dir "$kver" >/dev/null; then
	boot_timeout=${VM_BOOT_TIMEOUT:-900}
else
	boot_timeout=${VM_BOOT_TIMEOUT:-300}
fi
hung_file=$OUT/.vm-hung.$$

# Through a pipe: QEMU reopens its standard output, which (for a file) would
# start writing again at offset 0 over what came before.
boot() {
	rm -f "$hung_file"
	(
		# The watchdog: every process of the boot carries the start
		# marker's path in its arguments; the oldest is timeout(1), which
		# leads the process group that QEMU is in.
		waited=0
		while [ "$waited" -lt "$boot_timeout" ]; do
			sleep 5
			waited=$((waited + 5))
			[ ! -f "$started_file" ] || exit 0
			pgrep -f -- "$started_file" >/dev/null || exit 0
		done
		pid=$(pgrep -o -f -- "$started_file") || exit 0
		pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
		echo "${0##*/}: the guest has not started its command after $boot_timeout s: stopping the boot" >&2
		touch "$hung_file"
		kill -TERM -- "-$pgid" 2>/dev/null || true
		sleep 10
		kill -KILL -- "-$pgid" 2>/dev/null || true
	) &
	watchdog=$!
	set +e
	timeout -k 30 "${VM_TIMEOUT:-1200}" "${wrap[@]}" \
		"$vng" --run "$image" --disable-kvm "${fs_opts[@]}" "${extra_opts[@]}" \
		--memory "${VM_MEMORY:-2G}" --cpus "${VM_CPUS:-2}" \
		--rwdir "$OUT" --overlay-rwdir /lib/modules "${mods_opts[@]}" \
		--exec "$script" </dev/null 2>&1 | cat
	rc=${PIPESTATUS[0]}
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	set -e
}
boot
# A guest that died or hung before it ran the command (the start marker,
# written by the command line's first step, is missing) is an
# infrastructure failure: QEMU or the boot failed, no test ran. Boot once
# more and say so. A command that started is never run again, whatever its
# outcome. A boot stopped by VM_TIMEOUT (124, or 137 after the kill) is not
# retried: it would cost another VM_TIMEOUT.
if [ ! -f "$started_file" ] && [ ! -f "$status_file" ] &&
	{ [ -f "$hung_file" ] || { [ "$rc" != 124 ] && [ "$rc" != 137 ]; }; }; then
	echo "${0##*/}: the guest died or hung before running its command (vng exit $rc): infrastructure failure, booting once more" >&2
	boot
fi
rm -f "$hung_file"
rm -f "$started_file"

# vng returns the guest command's status; the status file guards against a
# guest that died (panic, timeout) before the command finished.
if [ ! -f "$status_file" ]; then
	echo "${0##*/}: the guest did not finish the command (vng exit $rc)" >&2
	[ "$rc" != 0 ] || rc=1
elif [ "$(cat "$status_file")" != "$rc" ]; then
	echo "${0##*/}: guest command exited $(cat "$status_file"), vng $rc" >&2
	[ "$rc" != 0 ] || rc=$(cat "$status_file")
fi
rm -f "$status_file"
exit "$rc"
