#!/bin/bash
# Runs inside the VM (started by tests/run-vm-suite.sh): the guest suite.
# Log and JUnit XML go to tests/out/KVER/.
set -uo pipefail
cd "$GENL_ECHO_ROOT" || exit 1
out=$GENL_ECHO_OUT/$GENL_ECHO_KVER
mkdir -p "$out"
echo "guest: kernel $(uname -r), module $GENL_ECHO_KO"
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
