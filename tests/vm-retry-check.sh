#!/bin/bash
# tests/vm-retry-check.sh: checks, without booting anything, that tests/vm.sh
# boots once more when the guest died before running its command (an
# infrastructure failure), and never runs again a command that ran, whether
# it failed or the guest died under it. A stand-in for vng (VM_VNG) runs the
# command on the host, or dies first, as told by FAKE_VNG.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/vng" <<'FAKE'
#!/bin/bash
# Stand-in for vng: counts its calls; dies without running the command
# (exit FAKE_VNG_DIE_RC, 255 by default, no output) on the calls listed in
# FAKE_VNG_DIE, hangs (sleeps) on those in FAKE_VNG_HANG, else runs the
# --exec command with sh, and with FAKE_VNG_CRASH dies after starting it.
n=$(($(cat "$FAKE_VNG_CALLS" 2>/dev/null || echo 0) + 1))
echo "$n" >"$FAKE_VNG_CALLS"
script=
while [ $# -gt 0 ]; do
	[ "$1" = --exec ] && script=$2
	shift
done
case " ${FAKE_VNG_DIE:-} " in *" $n "*) exit "${FAKE_VNG_DIE_RC:-255}" ;; esac
# a boot that hangs before the command
case " ${FAKE_VNG_HANG:-} " in *" $n "*) exec sleep 600 ;; esac
if [ -n "${FAKE_VNG_CRASH:-}" ]; then
	# the command line's first step (the start marker) only, then a crash
	sh -c "${script%%&&*}"
	exit 255
fi
exec sh -c "$script"
FAKE
chmod +x "$work/vng"
touch "$work/vmlinuz"

failures=0
# check NAME WANT_RC WANT_CALLS WANT_RETRY_LINE(0|1) ENV... -- CMD...
check() {
	local name=$1 want_rc=$2 want_calls=$3 want_line=$4 rc calls line=0
	shift 4
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	rm -f "$work/calls"
	set +e
	env "${envs[@]}" VM_VNG="$work/vng" FAKE_VNG_CALLS="$work/calls" GENL_ECHO_OUT="$work/out" \
		VM_IMAGE="$work/vmlinuz" "$ROOT/tests/vm.sh" fake-kernel "$@" >"$work/log" 2>&1
	rc=$?
	set -e
	calls=$(cat "$work/calls" 2>/dev/null || echo 0)
	grep -q 'infrastructure failure, booting once more' "$work/log" && line=1
	if [ "$rc" = "$want_rc" ] && [ "$calls" = "$want_calls" ] && [ "$line" = "$want_line" ]; then
		echo "ok: $name (exit $rc, $calls boot(s))"
	else
		echo "FAILED: $name: exit $rc (want $want_rc), $calls boot(s) (want $want_calls), retry line $line (want $want_line)"
		sed 's/^/    /' "$work/log"
		failures=$((failures + 1))
	fi
}

check "a command that succeeds runs once" 0 1 0 -- true
check "a command that fails is not run again" 3 1 0 -- sh -c 'exit 3'
check "a guest that dies before the command is booted once more" 0 2 1 FAKE_VNG_DIE=1 -- true
check "the second boot's failure is the result" 5 2 1 FAKE_VNG_DIE=1 -- sh -c 'exit 5'
check "two deaths before the command: no third boot" 255 2 1 "FAKE_VNG_DIE=1 2" -- true
check "a boot stopped by the time-out is not retried" 124 1 0 FAKE_VNG_DIE=1 FAKE_VNG_DIE_RC=124 -- true
check "a boot that hangs before the command is stopped and booted once more" 0 2 1 FAKE_VNG_HANG=1 VM_BOOT_TIMEOUT=5 -- true
check "a command that runs longer than the boot time-out is not stopped" 0 1 0 VM_BOOT_TIMEOUT=5 -- sleep 12
check "a command too long for the kernel's command line is refused, nothing booted" 1 0 0 -- \
	sh -c "echo $(printf '%0900d' 0)"
check "a guest that dies after starting the command is not booted again" 255 1 0 FAKE_VNG_CRASH=1 -- true

[ "$failures" = 0 ] || die "$failures check(s) failed"
echo "vm.sh retry: all checks passed"
