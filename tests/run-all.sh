#!/bin/bash
# The whole test run, as CI does it (.ci/run): set-up (which also builds the
# module with W=1 for every target kernel, no warnings allowed), host unit
# tests, the generated files (tests/gen-check.sh: the spec against the
# kernel's schema, staleness, round trip), checkpatch and sparse, the
# crates' publish dry run, the bench report's judgement, the end-to-end
# suite in a VM, one boot per kernel, the Debian packages installed on a
# fresh Debian root (tests/packages.sh), then the debug-kernel tier (the
# long runs at reduced size there: docs/testing.md). If the set-up fails it
# stops there; otherwise every step runs and the exit status is non-zero if
# any failed. The last line is pytest's summary of the last VM run.
#
#   tests/run-all.sh                      6.1 (and 6.12 and 7.3 under CI)
#   GENL_ECHO_BACKPORTS=1 tests/run-all.sh   6.1 and 6.12 (bookworm-backports)
#   GENL_ECHO_TRIXIE=1 tests/run-all.sh      also Debian's 7.3 (tests/trixie-env.sh)
#   CI=true GENL_ECHO_TRIXIE=0 tests/run-all.sh   CI's run without 7.3
#   GENL_ECHO_TRIXIE=1 GENL_ECHO_RUST_MODULE=1 tests/run-all.sh
#                                   and on 7.3 the Rust module too: its build
#                                   (tests/build-kmod-rs.sh: rustfmt, clippy)
#                                   and the VM suite against it
#   GENL_ECHO_KERNELS="6.12.95+deb12-amd64" tests/run-all.sh   just that kernel
#   GENL_ECHO_PACKAGES=0 tests/run-all.sh     without the Debian packages' step
#   GENL_ECHO_DEBUG_TIER=0 tests/run-all.sh   without the debug-kernel tier
#                                   (tests/run-debug-tier.sh; its first run
#                                   builds a kernel, ~20-30 min)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# CI runs all three kernels unless told otherwise.
if [ "${CI:-}" = true ]; then
	export GENL_ECHO_BACKPORTS=${GENL_ECHO_BACKPORTS:-1} GENL_ECHO_TRIXIE=${GENL_ECHO_TRIXIE:-1}
fi

start=$(date +%s)
"$ROOT/tests/setup.sh"
mapfile -t kernels < <(target_kernels)
echo "target kernels: ${kernels[*]}"

# From here on a failing step is recorded and the next steps still run.
failed=()

section "host unit tests (cargo test --workspace)"
(cd "$ROOT" && cargo test --workspace) || failed+=("cargo test")

section "Rust style (cargo fmt --check, cargo clippy -D warnings, cargo doc -D warnings)"
(cd "$ROOT" && cargo fmt --all --check) || failed+=("cargo fmt")
(cd "$ROOT" && cargo clippy --workspace --all-targets -- -D warnings) || failed+=("cargo clippy")
(cd "$ROOT" && RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps) || failed+=("cargo doc")

section "generated files: spec vs the kernel's schema, staleness, round trip (tests/gen-check.sh)"
"$ROOT/tests/gen-check.sh" || failed+=("generated files")

section "VM runner: one more boot after an infrastructure failure, never a re-run (tests/vm-retry-check.sh)"
"$ROOT/tests/vm-retry-check.sh" || failed+=("vm.sh retry")

section "kernel style (checkpatch --strict, sparse)"
make -C "$ROOT/genl-kmod" style || failed+=("checkpatch")
for k in "${kernels[@]}"; do
	sparse_log=$(mktemp)
	# in_build_env: for Debian's 7.3, inside the trixie environment
	in_build_env "$k" make -C "$ROOT/genl-kmod" KDIR="$(kdir_for "$k")" check >"$sparse_log" 2>&1 ||
		failed+=("sparse build for $k")
	in_build_env "$k" make -s -C "$ROOT/genl-kmod" KDIR="$(kdir_for "$k")" clean >/dev/null 2>&1 || true
	cat "$sparse_log"
	if grep -E '(warning|error):' "$sparse_log"; then
		failed+=("sparse for $k")
	fi
	rm -f "$sparse_log"
done

# The set-up built the module for every target kernel with W=1
# (tests/build-kmod.sh) and stops the run on a warning; building it again
# here would build the same sources the same way. Its result, from the logs:
section "module build with W=1 (no warnings allowed; built by the set-up)"
for k in "${kernels[@]}"; do
	log=$OUT/kmod/$k.log
	if [ -f "$(ko_for "$k")" ] && [ -f "$log" ] && ! grep 'warning:' "$log"; then
		echo "$(ko_for "$k"): built for $k, no warnings ($log)"
	else
		failed+=("module build for $k")
	fi
done
rust_kernel=
if [ "${GENL_ECHO_RUST_MODULE:-0}" = 1 ]; then
	for k in "${kernels[@]}"; do
		[ "$k" = "$(trixie_kernel)" ] && rust_kernel=$k
	done
	[ -n "$rust_kernel" ] || failed+=("Rust module: GENL_ECHO_RUST_MODULE=1 without Debian's $(trixie_kernel) among the kernels")
fi
if [ -n "$rust_kernel" ]; then
	section "Rust module build for $rust_kernel (rustfmt, clippy, W=1; tests/build-kmod-rs.sh)"
	"$ROOT/tests/build-kmod-rs.sh" "$rust_kernel" || failed+=("Rust module build for $rust_kernel")
fi

section "crates: cargo publish --workspace --dry-run"
(cd "$ROOT" && cargo publish --workspace --dry-run --allow-dirty --locked) || failed+=("publish dry run")

section "bench report: judged against the bound its run measures (tests/bench/test_report.py)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/tests/bench/test_report.py" ||
	failed+=("bench report test")

# pytest's closing line, e.g. "===== 3 failed, 150 passed in 250.12s (0:04:10) ====="
summary_re='^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s'
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
summaries=()
# vm_step NAME LOG CMD...: runs a VM step, keeps its log in $logs/LOG and
# its pytest summary (with the time taken) for the end; LOG becomes last_log.
vm_step() {
	local name=$1 log=$logs/$2 t0 rc summary
	shift 2
	section "$name"
	t0=$(date +%s)
	set +e
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	summary=$(grep -E "$summary_re" "$log" | tail -n1 || true)
	[ -n "$summary" ] || summary="(no pytest summary: the VM run did not finish, exit $rc)"
	summaries+=("$name ($(($(date +%s) - t0)) s): $summary")
	[ "$rc" = 0 ] || failed+=("$name")
	last_log=$log
}
for k in "${kernels[@]}"; do
	vm_step "VM suite on $k" "$k.log" "$ROOT/tests/run-vm-suite.sh" "$k"
done
if [ -n "$rust_kernel" ]; then
	vm_step "VM suite on $rust_kernel, Rust module" "$rust_kernel-rust.log" \
		env GENL_ECHO_MODULE=rust "$ROOT/tests/run-vm-suite.sh" "$rust_kernel"
fi
if [ "${GENL_ECHO_PACKAGES:-1}" != 0 ]; then
	section "Debian packages: build, lintian, install, autoload, upgrade, purge (tests/packages.sh)"
	t0=$(date +%s)
	if "$ROOT/tests/packages.sh"; then
		verdict="passed (logs in tests/out/pkg/)"
	else
		verdict="FAILED (logs in tests/out/pkg/)"
		failed+=("Debian packages")
	fi
	summaries+=("Debian packages ($(($(date +%s) - t0)) s): $verdict")
fi
if [ "${GENL_ECHO_DEBUG_TIER:-1}" != 0 ]; then
	vm_step "debug-kernel tier (KASAN, lockdep, kmemleak, failslab)" debug.log \
		"$ROOT/tests/run-debug-tier.sh"
fi

section "summary ($(($(date +%s) - start)) s)"
printf '%s\n' "${summaries[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
fi
# the closing line: the last VM run's pytest summary, as pytest printed it
grep -E "$summary_re" "$last_log" | tail -n1 || true
[ "${#failed[@]}" = 0 ]
