#!/bin/bash
# tests/bench/modules.sh: `nlctl bench` against the C module and the Rust
# module (genl-kmod-rs/) in one boot of Debian's 7.3, interleaved over
# rounds (tests/bench/modules_guest.py), one request at a time ("single")
# and batched ("batch"), at 16, 1024 and 32768 bytes. Prints the median
# rates and the Rust module's ratio to the C module's; writes
# tests/out/bench/modules.json. Needs both modules built for 7.3
# (tests/build-kmod.sh, tests/build-kmod-rs.sh) and nlctl.
# Environment: BENCH_ROUNDS (default 5), BENCH_SECONDS (default 1).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

kver=$(trixie_kernel)
c_ko=$(GENL_ECHO_MODULE=c ko_for "$kver")
rust_ko=$(GENL_ECHO_MODULE=rust ko_for "$kver")
[ -f "$c_ko" ] || die "no $c_ko (tests/build-kmod.sh $kver)"
[ -f "$rust_ko" ] || die "no $rust_ko (tests/build-kmod-rs.sh $kver)"
mkdir -p "$OUT/bench"
json=$OUT/bench/modules.json
rm -f "$json"
"$ROOT/tests/vm.sh" "$kver" env BENCH_ROUNDS="${BENCH_ROUNDS:-5}" BENCH_SECONDS="${BENCH_SECONDS:-1}" \
	python3 "$ROOT/tests/bench/modules_guest.py"
[ -f "$json" ] || die "the guest wrote no $json"
"$VENV/bin/python" - "$json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["median_rps"]
print(f"{r['kernel']}, {r['rounds']} rounds x {r['seconds']} s, median verified replies/s")
print(f"{'mode':8} {'size':>6} {'C':>10} {'Rust':>10} {'Rust/C':>7}")
for mode in m["c"]:
    for size in m["c"][mode]:
        c, rs = m["c"][mode][size], m["rust"][mode][size]
        print(f"{mode:8} {size:>6} {c:10.0f} {rs:10.0f} {rs / c:7.3f}")
PY
