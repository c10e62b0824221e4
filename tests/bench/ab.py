#!/usr/bin/env python3
"""Paired comparison of two nlctl builds in one VM boot (run as root in the
guest, e.g. `tests/vm.sh KVER python3 tests/bench/ab.py OLD NEW 7`, with both
binaries somewhere the guest sees, such as under tests/out/).

For each round, size and mode (single, batch) it runs `nlctl bench --mode M
--size N --seconds 1` with OLD and NEW back to back, swapping the order
every round, and prints the ratio NEW/OLD of the two rates; at the end the
median, minimum and maximum of the ratios per case. On a busy host the
rates of single runs swing widely; pairs taken seconds apart share most of
that noise, which is what makes this comparison fairer than two full runs
of tests/bench/run.sh.
"""

import json
import os
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: ab.py OLD_NLCTL NEW_NLCTL ROUNDS")
    old, new, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if not os.path.exists("/sys/module/genl_echo"):
        subprocess.run(["insmod", os.environ["GENL_ECHO_KO"]], check=True)
    ratios = {}
    for rnd in range(rounds):
        for size in (16, 1024, 32768):
            for mode in ("single", "batch"):
                rate = {}
                for b in ((new, old) if rnd % 2 == 0 else (old, new)):
                    p = subprocess.run([b, "bench", "--mode", mode, "--size", str(size),
                                        "--seconds", "1"], stdout=subprocess.PIPE, check=True)
                    rate[b] = json.loads(p.stdout)["results"][0]["rps"]
                ratios.setdefault((size, mode), []).append(rate[new] / rate[old])
                print(f"round {rnd} {size} B {mode}: new {rate[new]:.0f}/s old {rate[old]:.0f}/s",
                      flush=True)
    for (size, mode), v in ratios.items():
        print(f"{size} B {mode}: new/old median {statistics.median(v):.2f} "
              f"(n={len(v)}, min {min(v):.2f}, max {max(v):.2f})")


if __name__ == "__main__":
    main()
