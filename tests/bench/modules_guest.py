"""Runs inside the VM (tests/bench/modules.sh): `nlctl bench` against the C
and the Rust module in the same boot, interleaved over rounds (C, Rust, C,
Rust, ...) so that drift in the emulated machine hits both alike. Writes
the median rate per module, mode and size as JSON to
$GENL_ECHO_OUT/bench/modules.json. The modules are where
tests/build-kmod.sh and tests/build-kmod-rs.sh put them (the paths are not
passed: the guest's command line has little room)."""

import json
import os
import statistics
import subprocess
from pathlib import Path

OUT = Path(os.environ["GENL_ECHO_OUT"])
KVER = os.environ["GENL_ECHO_KVER"]
MODULES = {"c": OUT / "kmod" / KVER / "genl_echo.ko",
           "rust": OUT / "kmod-rs" / KVER / "genl_echo.ko"}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = os.environ.get("BENCH_SECONDS", "1")
SIZES = ["16", "1024", "32768"]
MODES = ["single", "batch"]
NLCTL = Path(os.environ["GENL_ECHO_ROOT"]) / "target" / "release" / "nlctl"


def sh(*args):
    subprocess.run([str(a) for a in args], check=True)


def loaded():
    return Path("/sys/module/genl_echo").exists()


rates = {m: {mode: {s: [] for s in SIZES} for mode in MODES} for m in MODULES}
for rnd in range(ROUNDS):
    for name, ko in MODULES.items():
        if loaded():
            sh("rmmod", "genl_echo")
        sh("insmod", ko)
        for mode in MODES:
            args = [NLCTL, "bench", "--mode", mode, "--seconds", SECONDS]
            for s in SIZES:
                args += ["--size", s]
            out = subprocess.run([str(a) for a in args], check=True,
                                 stdout=subprocess.PIPE).stdout
            for r in json.loads(out)["results"]:
                rates[name][mode][str(r["size"])].append(r["rps"])
        sh("rmmod", "genl_echo")
        print(f"round {rnd + 1}/{ROUNDS}: {name} done", flush=True)

result = {"kernel": os.uname().release, "rounds": ROUNDS, "seconds": float(SECONDS),
          "median_rps": {m: {mode: {s: statistics.median(v) for s, v in sizes.items()}
                             for mode, sizes in modes.items()}
                         for m, modes in rates.items()},
          "all_rps": rates}
(OUT / "bench" / "modules.json").write_text(json.dumps(result, indent=1) + "\n")
