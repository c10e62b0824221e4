#!/bin/bash
# Runs inside the debug kernel's VM (started by tests/run-debug-tier.sh):
# readies debugfs, forgets kmemleak's boot-time suspects so that its later
# reports are the tests' own, then runs the guest suite's debug tier.
set -uo pipefail
cd "$GENL_ECHO_ROOT" || exit 1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
if [ ! -w /sys/kernel/debug/kmemleak ]; then
	echo "guest-debug: no kmemleak in this kernel" >&2
	exit 1
fi
echo clear >/sys/kernel/debug/kmemleak
export GENL_ECHO_DEBUG_TIER=1
exec "$GENL_ECHO_ROOT/tests/guest-pytest.sh" "$@"
