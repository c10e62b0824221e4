#!/bin/bash
# tests/bench/run.sh [KVER]: nlctl bench against the minimal C client, end to end
# (the figures of docs/performance.md).
#
#   1. builds nlctl (cargo build --release), the C tools (make -C tests/tools)
#      and the module for KVER (tests/build-kmod.sh; default: the newest 6.1);
#   2. boots KVER once under QEMU (tests/vm.sh: TCG, 2 vCPUs) and runs
#      tests/bench/guest.py inside: genl_cbench and `nlctl bench` side by side
#      for each size, interleaved over several rounds, the start-up time of
#      `nlctl echo hi` against `genl ctrl list`, nlctl's peak RSS and a
#      maximum-size (65530-byte) round trip; it writes
#      tests/out/bench/results.json;
#   3. on the host, tests/bench/report.py prints the figures and the ratios
#      with PASS/FAIL per target (batched throughput against the bound the
#      same run measures) and draws docs/performance.svg.
#
# Exits non-zero if the build, the guest or any target fails. Timing under
# emulation is noisy: this is not part of the CI gate (tests/vm/test_bench.py
# is). Environment:
#   BENCH_ROUNDS   rounds of the throughput comparison (default 5)
#   BENCH_SECONDS  seconds per case and round (default 1)
#   BENCH_STARTS   runs of each program for the start-up comparison (default 50)
#   BENCH_PROFILE=1  also record perf profiles (needs linux-perf)
#   BENCH_SVG      where to draw the chart (default docs/performance.svg;
#                  empty: no chart)
#   BENCH_SKIP_BUILD=1  use the binaries as they are
#   BENCH_CPU      QEMU's -cpu for the guest (default max,erms=off: see
#                  docs/performance.md; empty: virtme-ng's default, max)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

kver=${1:-$(newest_kernel 6.1.)}
[ -n "$kver" ] || die "no 6.1 kernel in /boot (run tests/setup.sh)"
out=$OUT/bench
svg=${BENCH_SVG-$ROOT/docs/performance.svg}

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
	section "bench: build"
	(cd "$ROOT" && cargo build --release -p nlctl)
	make -C "$ROOT/tests/tools"
	"$ROOT/tests/build-kmod.sh" "$kver" >/dev/null
fi
[ -x "$ROOT/target/release/nlctl" ] || die "no target/release/nlctl"
[ -x "$OUT/tools/genl_cbench" ] || die "no $OUT/tools/genl_cbench (make -C tests/tools)"
[ -f "$(ko_for "$kver")" ] || die "no $(ko_for "$kver") (tests/build-kmod.sh $kver)"

section "bench: VM run on $kver"
rm -rf "$out"
mkdir -p "$out"
# The guest's 2 vCPUs are host threads: anything else running on the host
# (another VM, a build) competes with them and shows up in the figures.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "host: $(nproc) CPUs, load average $load_before"
# CPU pressure (PSI, "some": time anything waited for a CPU), in microseconds
psi_some() { sed -n 's/^some .*total=\([0-9]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null || true; }
psi_before=$(psi_some)
t_before=$(date +%s%N)
# QEMU TCG runs the "enhanced" rep movsb/stosb one byte per step, so with
# ERMS advertised the guest kernel's memcpy, memset and user copies run many
# times slower than its unrolled variants: unlike on hardware, where ERMS
# makes them the fast ones. Without it the emulated costs are closer to
# hardware's.
cpu=${BENCH_CPU-max,erms=off}
qemu_cpu=()
[ -z "$cpu" ] || qemu_cpu=(VM_QEMU_OPTS="-cpu $cpu")
env "${qemu_cpu[@]}" VM_CPUS=2 "$ROOT/tests/vm.sh" "$kver" python3 "$ROOT/tests/bench/guest.py" \
	--rounds "${BENCH_ROUNDS:-5}" --seconds "${BENCH_SECONDS:-1}" \
	--starts "${BENCH_STARTS:-50}" ${BENCH_PROFILE:+--profile} --out "$out/results.json"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
psi_after=$(psi_some)
t_after=$(date +%s%N)
pressure=null
if [ -n "$psi_before" ] && [ -n "$psi_after" ]; then
	pressure=$(((psi_after - psi_before) * 100000 / ((t_after - t_before) / 1000)))
	pressure=$((pressure / 1000)).$(printf '%02d' $(((pressure % 1000) / 10)))
fi
printf '{"cpus": %s, "loadavg_before": "%s", "loadavg_after": "%s", "cpu_pressure_pct": %s, "qemu_cpu": "%s", "qemu": "%s"}\n' \
	"$(nproc)" "$load_before" "$load_after" "$pressure" "${cpu:-max}" \
	"$(qemu-system-x86_64 --version | head -n1)" >"$out/host.json"

section "bench: report"
args=("$out/results.json")
[ -z "$svg" ] || args+=(--svg "$svg")
python3 "$ROOT/tests/bench/report.py" "${args[@]}"
