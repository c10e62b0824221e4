#!/bin/bash
# The whole test run, as CI does it (.ci/run): set-up, host unit tests, the
# generated files (tests/gen-check.sh: the spec against the kernel's schema,
# staleness, round trip), checkpatch and sparse, the module's W=1 build for
# every target kernel, then the end-to-end suite in a
# VM, one boot per kernel. If the set-up fails it stops there; otherwise every
# step runs and the exit status is non-zero if any failed. The last line is
# pytest's summary of the last VM run.
#
#   tests/run-all.sh                      6.1 (and 6.12 under CI)
#   GENL_ECHO_BACKPORTS=1 tests/run-all.sh   6.1 and 6.12 (bookworm-backports)
#   GENL_ECHO_KERNELS="6.12.95+deb12-amd64" tests/run-all.sh   just that kernel
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# CI runs both kernels unless told otherwise.
if [ "${CI:-}" = true ] && [ -z "${GENL_ECHO_BACKPORTS:-}" ]; then
	export GENL_ECHO_BACKPORTS=1
fi

start=$(date +%s)
"$ROOT/tests/setup.sh"
mapfile -t kernels < <(target_kernels)
echo "target kernels: ${kernels[*]}"

# From here on a failing step is recorded and the next steps still run.
failed=()

section "host unit tests (cargo test --workspace)"
(cd "$ROOT" && cargo test --workspace) || failed+=("cargo test")

section "Rust style (cargo fmt --check, cargo clippy -D warnings)"
(cd "$ROOT" && cargo fmt --all --check) || failed+=("cargo fmt")
(cd "$ROOT" && cargo clippy --workspace --all-targets -- -D warnings) || failed+=("cargo clippy")

section "generated files: spec vs the kernel's schema, staleness, round trip (tests/gen-check.sh)"
"$ROOT/tests/gen-check.sh" || failed+=("generated files")

section "kernel style (checkpatch --strict, sparse)"
make -C "$ROOT/genl-kmod" style || failed+=("checkpatch")
for k in "${kernels[@]}"; do
	sparse_log=$(mktemp)
	make -C "$ROOT/genl-kmod" KDIR="$(kdir_for "$k")" check >"$sparse_log" 2>&1 || failed+=("sparse build for $k")
	make -s -C "$ROOT/genl-kmod" KDIR="$(kdir_for "$k")" clean >/dev/null 2>&1 || true
	cat "$sparse_log"
	if grep -E '(warning|error):' "$sparse_log"; then
		failed+=("sparse for $k")
	fi
	rm -f "$sparse_log"
done

section "module build with W=1 (no warnings allowed)"
for k in "${kernels[@]}"; do
	"$ROOT/tests/build-kmod.sh" "$k" || failed+=("module build for $k")
done

# pytest's closing line, e.g. "===== 3 failed, 150 passed in 250.12s (0:04:10) ====="
summary_re='^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s'
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
summaries=()
for k in "${kernels[@]}"; do
	section "VM suite on $k"
	set +e
	"$ROOT/tests/run-vm-suite.sh" "$k" 2>&1 | tee "$logs/$k.log"
	rc=${PIPESTATUS[0]}
	set -e
	summary=$(grep -E "$summary_re" "$logs/$k.log" | tail -n1 || true)
	[ -n "$summary" ] || summary="(no pytest summary: the VM run did not finish, exit $rc)"
	summaries+=("$k: $summary")
	if [ "$rc" != 0 ]; then
		failed+=("VM suite on $k")
	fi
done

section "summary ($(($(date +%s) - start)) s)"
printf '%s\n' "${summaries[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
fi
# the closing line: the last kernel's pytest summary, as pytest printed it
grep -E "$summary_re" "$logs/${kernels[-1]}.log" | tail -n1 || true
[ "${#failed[@]}" = 0 ]
