#!/bin/bash
# tests/run-vm-suite.sh KVER [PYTEST-ARGS...]: boots kernel KVER once and runs
# the guest suite (tests/vm) inside it, as root. Needs tests/setup.sh first
# (venv, nlctl, and the module built for KVER by tests/build-kmod.sh).
#   tests/run-vm-suite.sh 6.1.0-56-amd64 -k netns
#   tests/run-vm-suite.sh 6.1.0-56-amd64 tests/vm/test_case.py::test_boundaries
#   GENL_ECHO_MODULE=rust tests/run-vm-suite.sh 7.3.4+deb13-amd64
#                     the same suite against the Rust module (genl-kmod-rs/)
# Output: tests/out/KVER/{pytest.log,junit.xml,dmesg.txt,dmesg-boot.txt}
# (tests/out/KVER-rust/ for the Rust module).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || die "usage: $0 KVER [PYTEST-ARGS...]"
kver=$1
shift
[ -x "$ROOT/target/release/nlctl" ] || die "no target/release/nlctl (run tests/setup.sh)"
if [ "$(genl_echo_module)" = rust ]; then
	[ -f "$(ko_for "$kver")" ] || die "no $(ko_for "$kver") (run tests/build-kmod-rs.sh $kver)"
else
	[ -f "$(ko_for "$kver")" ] || die "no $(ko_for "$kver") (run tests/build-kmod.sh $kver)"
fi
suite=$(suite_name "$kver")
rm -rf "${OUT:?}/$suite"
mkdir -p "$OUT/$suite"
exec "$ROOT/tests/vm.sh" "$kver" "$ROOT/tests/guest-pytest.sh" "$@"
