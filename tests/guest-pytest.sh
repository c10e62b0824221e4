#!/bin/bash
# Runs inside the VM (started by tests/run-vm-suite.sh): the guest suite.
# Log and JUnit XML go to tests/out/KVER/.
set -uo pipefail
cd "$GENL_ECHO_ROOT" || exit 1
suite=$GENL_ECHO_KVER
[ "${GENL_ECHO_MODULE:-c}" = c ] || suite=$GENL_ECHO_KVER-$GENL_ECHO_MODULE
out=$GENL_ECHO_OUT/$suite
mkdir -p "$out"
echo "guest: kernel $(uname -r), module $GENL_ECHO_KO (${GENL_ECHO_MODULE:-c})"
# default: the whole suite; arguments: pytest's (paths, -k, ...)
args=("$@")
has_path=0
for a in "$@"; do
	case $a in tests/*) has_path=1 ;; esac
done
[ "$has_path" = 1 ] || args=(tests/vm "${args[@]}")
.venv/bin/python -m pytest -v -p no:cacheprovider \
	--durations=15 --junitxml="$out/junit.xml" "${args[@]}" 2>&1 | tee "$out/pytest.log"
exit "${PIPESTATUS[0]}"
