#!/bin/bash
# tests/run-debug-tier.sh [PYTEST-ARGS...]: the debug-kernel tier. Builds (or
# takes from the cache) the 6.1 kernel with KASAN, lockdep, kmemleak and
# failslab (tests/debug-kernel.sh), builds the module against it with W=1
# (no warnings allowed), boots it once and runs the tier inside:
#   the guest suite minus the benchmark test (numbers under KASAN mean
#   nothing), the allocation-failure sweeps (tests/vm/debug/test_failnth.py),
#   kmemleak and lockdep's verdicts (tests/vm/debug/test_zz_kmemleak.py),
#   and the kernel log check from the first insmod on (test_zz_dmesg.py).
# The long runs at reduced size (GENL_ECHO_SIZES=reduced, unless set: see
# docs/testing.md, "Where the long runs run").
# With arguments, pytest gets those instead of the default list.
# Output: tests/out/KVER/{pytest.log,junit.xml,dmesg.txt,dmesg-boot.txt,kmemleak.txt};
# the module's coverage (built with gcov, tests/coverage.sh) in tests/out/coverage/.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

kver=$("$ROOT/tests/debug-kernel.sh" | tail -n1)
echo "debug kernel: $kver ($(debug_kernel_dir "$kver"))"
# with gcov profiling, for the coverage report at the end
GENL_ECHO_GCOV=1 GENL_ECHO_GCOV_SRC="$ROOT/genl-kmod" "$ROOT/tests/build-kmod.sh" "$kver"
"$ROOT/tests/coverage.sh" clean
"$ROOT/tests/dkms-build.sh" "$kver"
make -s -C "$ROOT/tests/tools" O="$OUT/tools"

rm -rf "${OUT:?}/$kver"
mkdir -p "$OUT/$kver"
set +e
GENL_ECHO_SIZES=${GENL_ECHO_SIZES:-reduced} VM_MEMORY=${VM_MEMORY:-3G} VM_TIMEOUT=${VM_TIMEOUT:-4200} \
	"$ROOT/tests/vm.sh" "$kver" "$ROOT/tests/guest-debug.sh" "$@"
rc=$?
set -e

# The boot is not the module's, but nothing is hidden: what the log check
# finds in the log from before the tests started (conftest.py writes it)
# is printed here; the tests judge only their own log.
boot=$OUT/$kver/dmesg-boot-reports.txt
if [ -s "$boot" ]; then
	printf '\nboot-time kernel reports (before the tests, not judged):\n'
	cat "$boot"
elif [ -f "$boot" ]; then
	echo "boot log: no reports"
fi

# ---- coverage (tests/coverage.sh): the counts the guest copied, as a
# line, branch and function report in tests/out/coverage/
"$ROOT/tests/coverage.sh" report "$kver" || { [ "$rc" != 0 ] || rc=1; }
# ---- end of coverage
exit "$rc"
