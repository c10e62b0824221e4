#!/bin/bash
# The short demonstration: set-up and build everything, boot the 6.1 kernel in
# a VM, load the module and run a few nlctl commands.
#   GENL_ECHO_KERNELS=6.12.95+deb12-amd64 tests/demo.sh   on another kernel
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

"$ROOT/tests/setup.sh"
kver=$(target_kernels | head -n1)

section "demo on $kver"
# shellcheck disable=SC2016 # expanded inside the guest
exec "$ROOT/tests/vm.sh" "$kver" bash -c '
set -e
show() { printf "\n\$ %s\n" "$*"; "$@"; }
echo "guest kernel: $(uname -r)"
show insmod "$GENL_ECHO_KO"
show nlctl echo hello
show nlctl set-mode upper
show nlctl echo hello
nlctl stats > /tmp/stats.json
printf "\n\$ nlctl stats | jq .\n"
jq . /tmp/stats.json
show rmmod genl_echo
'
