#!/bin/bash
# Runs inside the debug kernel's VM (started by tests/run-debug-tier.sh):
# readies debugfs, forgets kmemleak's boot-time suspects so that its later
# reports are the tests' own, then runs the guest suite's debug tier and
# copies the module's coverage counts out.
set -uo pipefail
cd "$GENL_ECHO_ROOT" || exit 1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
if [ ! -w /sys/kernel/debug/kmemleak ]; then
	echo "guest-debug: no kmemleak in this kernel" >&2
	exit 1
fi
echo clear >/sys/kernel/debug/kmemleak
export GENL_ECHO_DEBUG_TIER=1
# No arguments: the tier's own list, made here rather than passed in (the
# kernel's command line, which carries the command, holds 2048 bytes): the
# guest suite minus the benchmark (numbers under KASAN mean nothing), the
# allocation-failure sweeps, kmemleak's and lockdep's verdicts, and the log
# check last.
if [ $# -eq 0 ]; then
	for f in tests/vm/test_*.py; do
		case ${f##*/} in
		test_bench.py | test_zz_dmesg.py) ;;
		*) set -- "$@" "$f" ;;
		esac
	done
	set -- "$@" tests/vm/debug/test_failnth.py tests/vm/debug/test_zz_kmemleak.py \
		tests/vm/test_zz_dmesg.py
fi
"$GENL_ECHO_ROOT/tests/guest-pytest.sh" "$@"
rc=$?
# the module's coverage counts, before the guest goes (tests/coverage.sh)
"$GENL_ECHO_ROOT/tests/coverage.sh" collect
exit "$rc"
