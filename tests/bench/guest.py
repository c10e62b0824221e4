#!/usr/bin/env python3
"""The guest half of tests/bench/run.sh: runs as root inside the VM.

Loads the module, then measures, writing everything to one JSON file:

* throughput: for each round and each size, genl_cbench (the C floor, one
  request at a time) and right after it `nlctl bench` (single, batch,
  threads, batch-threads, async, async-threads) for the same size and duration; rounds interleave the two so
  that a slow phase of the emulator hits both;
* max_size: a 65530-byte `nlctl echo -` checked byte for byte, and
  `nlctl bench --size 65530` in every mode;
* startup: the wall time of `nlctl echo hi` and of `genl ctrl list`, run
  alternately (time.perf_counter around subprocess.run, output discarded);
* sweep: batch mode at several batch sizes;
* profile (--profile, when perf exists): the hottest functions of the C
  client and of nlctl;
* rss: nlctl's peak resident set size for `echo hi`, a 65530-byte echo and
  the async bench (16 B, --tasks tasks), from GNU time -v (or busybox time -v).

Standard library only: it runs with the host's python3 through the shared
file system.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("GENL_ECHO_ROOT", Path(__file__).resolve().parents[2]))
OUT = Path(os.environ.get("GENL_ECHO_OUT", ROOT / "tests" / "out"))
KO = os.environ.get("GENL_ECHO_KO", "")
NLCTL = str(ROOT / "target" / "release" / "nlctl")
CBENCH = str(OUT / "tools" / "genl_cbench")
SIZES = [16, 1024, 32768]
MSG_MAX = 65530


def log(*a):
    print("guest:", *a, file=sys.stderr, flush=True)


def run(args, stdin=None, timeout=600):
    return subprocess.run([str(a) for a in args], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, check=False)


def run_json(args, allow_rc=(0,)):
    """Runs a command that prints one JSON object; returns (object, rc)."""
    p = run(args)
    if p.returncode not in allow_rc:
        raise SystemExit(f"{' '.join(map(str, args))} exited {p.returncode}: "
                         f"{p.stderr.decode(errors='replace').strip()}")
    try:
        return json.loads(p.stdout), p.returncode
    except json.JSONDecodeError as e:
        raise SystemExit(f"{' '.join(map(str, args))}: not JSON ({e}): {p.stdout[:500]!r}")


def read(path, default=""):
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def load_module():
    if Path("/sys/module/genl_echo").exists():
        run(["rmmod", "genl_echo"])
    p = run(["insmod", KO])
    if p.returncode != 0:
        raise SystemExit(f"insmod {KO}: {p.stderr.decode(errors='replace').strip()}")


def machine():
    model = ""
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal"):
            mem = line.split(":", 1)[1].strip()
    flags = set()
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    auto_init = ""
    for line in run(["dmesg"]).stdout.decode(errors="replace").splitlines():
        if "mem auto-init:" in line:
            auto_init = line.split("mem auto-init:", 1)[1].strip()
    return {
        "kernel": platform.release(),
        # virtme-ng's own parameters (the command to run, mounts) left out
        "cmdline": " ".join(w for w in read("/proc/cmdline").split()
                            if not w.startswith(("virtme", "init="))),
        # the kernel's memcpy/memset/copy_user variants follow these flags
        "string_flags": sorted(flags & {"erms", "fsrm", "rep_good"}),
        "mem_auto_init": auto_init,
        "kernel_version": read("/proc/sys/kernel/version"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory": mem,
        "clocksource": read("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
        "rmem_max": int(read("/proc/sys/net/core/rmem_max", "0") or 0),
        "wmem_max": int(read("/proc/sys/net/core/wmem_max", "0") or 0),
        "python": platform.python_version(),
        "nlctl": run([NLCTL, "--version"]).stdout.decode().strip(),
        "iproute2": run(["genl", "-V"]).stdout.decode().strip(),
    }


def throughput(rounds, seconds, batch, threads, tasks):
    rows = []
    for r in range(rounds):
        for size in SIZES:
            c, _ = run_json([CBENCH, "--size", size, "--seconds", seconds])
            n, rc = run_json([NLCTL, "bench", "--size", size, "--seconds", seconds,
                              "--batch", batch, "--threads", threads, "--tasks", tasks],
                             allow_rc=(0, 1))
            rows.append({"round": r, "size": size, "c": c, "nlctl": n, "nlctl_rc": rc})
            modes = ", ".join(f"{x['mode']} {x['rps']:.0f}/s" for x in n["results"])
            log(f"round {r} size {size}: c {c['rps']:.0f}/s; nlctl {modes}")
    return rows


def sweep(seconds, sizes=(16, 1024), batches=(1, 4, 16, 64, 256)):
    """nlctl bench --mode batch for several batch sizes: where batching stops
    paying (the kernel's own work per request)."""
    rows = []
    for size in sizes:
        for b in batches:
            n, _ = run_json([NLCTL, "bench", "--mode", "batch", "--size", size,
                             "--seconds", seconds, "--batch", b], allow_rc=(0, 1))
            rows.append(n["results"][0])
    return rows


def profile(seconds=3):
    """Where the time goes (perf, cpu-clock sampling: there is no PMU under
    TCG): the C client one at a time, and nlctl batched, 16 bytes."""
    perf = "/usr/bin/perf"
    if not os.access(perf, os.X_OK):
        return None
    Path("/proc/sys/kernel/kptr_restrict").write_text("0")
    Path("/proc/sys/kernel/perf_event_paranoid").write_text("-1")
    out = {}
    for name, cmd in [
        ("c_single_16", [CBENCH, "--size", 16, "--seconds", seconds]),
        ("nlctl_single_16", [NLCTL, "bench", "--mode", "single", "--size", 16,
                             "--seconds", seconds]),
        ("nlctl_batch_16", [NLCTL, "bench", "--mode", "batch", "--size", 16,
                            "--seconds", seconds]),
        ("nlctl_batch_1024", [NLCTL, "bench", "--mode", "batch", "--size", 1024,
                              "--seconds", seconds]),
    ]:
        data = f"/tmp/perf-{name}.data"
        p = run([perf, "record", "-q", "-e", "cpu-clock", "-F", "10000", "-o", data, "--",
                 *cmd])
        if p.returncode != 0:
            return None
        rep = run([perf, "report", "-i", data, "--stdio", "--sort", "dso,symbol"])
        top, module, dsos = [], 0.0, {}
        for line in rep.stdout.decode(errors="replace").splitlines():
            f = line.split()
            if len(f) >= 4 and f[0].endswith("%") and not line.startswith("#"):
                pct = float(f[0][:-1])
                if len(top) < 25:
                    top.append({"pct": pct, "dso": f[1], "symbol": f[3]})
                # by object: kernel, program, libraries
                dsos[f[1]] = dsos.get(f[1], 0.0) + pct
                # the module's own functions (what they call in the kernel
                # is not counted here)
                if f[3].startswith("genl_echo_"):
                    module += pct
        dsos = [{"pct": round(v, 2), "dso": k}
                for k, v in sorted(dsos.items(), key=lambda kv: -kv[1])]
        out[name] = {"top": top, "dsos": dsos, "module_pct": round(module, 2)}
    return out


def letters(n):
    abc = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return bytes(abc[(i * 7 + i // 52) % 52] for i in range(n))


def max_size():
    msg = letters(MSG_MAX)
    p = run([NLCTL, "echo", "-"], stdin=msg)
    echo_ok = False
    if p.returncode == 0:
        out = json.loads(p.stdout)
        echo_ok = out.get("msg", "").encode() == msg and out.get("mode") == "none"
    bench, rc = run_json([NLCTL, "bench", "--size", MSG_MAX, "--seconds", "0.5",
                          "--batch", "16"], allow_rc=(0, 1))
    c, _ = run_json([CBENCH, "--size", MSG_MAX, "--count", "200"])
    return {"echo_rc": p.returncode, "echo_ok": echo_ok, "bench": bench, "bench_rc": rc,
            "c": c}


def summary(ts):
    ts = sorted(ts)
    return {
        "runs": len(ts),
        "median_ms": round(statistics.median(ts) * 1e3, 3),
        "mean_ms": round(statistics.fmean(ts) * 1e3, 3),
        "min_ms": round(ts[0] * 1e3, 3),
        "p90_ms": round(ts[min(len(ts) - 1, int(0.9 * len(ts)))] * 1e3, 3),
    }


def startup(n):
    cmds = {"nlctl": [NLCTL, "echo", "hi"], "genl": ["genl", "ctrl", "list"]}
    times = {k: [] for k in cmds}
    for _ in range(3):  # page cache, dentries
        for cmd in cmds.values():
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for i in range(n):
        order = list(cmds) if i % 2 == 0 else list(reversed(cmds))
        for k in order:
            t = time.perf_counter()
            p = subprocess.run(cmds[k], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=False)
            times[k].append(time.perf_counter() - t)
            if p.returncode != 0:
                raise SystemExit(f"{cmds[k]} exited {p.returncode}")
    res = {k: summary(v) for k, v in times.items()}
    res["ratio_median"] = round(res["nlctl"]["median_ms"] / res["genl"]["median_ms"], 3)
    return res


def time_v():
    """GNU time (Debian package `time`), else busybox's applet: both fork the
    program and read its peak RSS from wait4(2). (wait4 straight from this
    script would not do: the child's peak counts the Python process it was
    forked from.)"""
    if os.access("/usr/bin/time", os.X_OK):
        return ["/usr/bin/time", "-v"]
    for bb in ("/bin/busybox", "/usr/bin/busybox"):
        if os.access(bb, os.X_OK):
            return [bb, "time", "-v"]
    raise SystemExit("no /usr/bin/time (apt-get install time) and no busybox")


def peak_rss_kib(args, stdin=b""):
    p = run([*time_v(), *args], stdin=stdin)
    if p.returncode != 0:
        raise SystemExit(f"{args} exited {p.returncode}: {p.stderr.decode(errors='replace')}")
    for line in p.stderr.decode(errors="replace").splitlines():
        if "Maximum resident set size" in line:
            return int(line.rsplit(":", 1)[1])
    raise SystemExit(f"no 'Maximum resident set size' from {time_v()}")


def rss(tasks):
    big = letters(MSG_MAX)
    return {
        "tool": " ".join(time_v()),
        "echo_kib": max(peak_rss_kib([NLCTL, "echo", "hi"]) for _ in range(3)),
        "echo_max_kib": max(peak_rss_kib([NLCTL, "echo", "-"], big) for _ in range(3)),
        "genl_ctrl_list_kib": peak_rss_kib(["genl", "ctrl", "list"]),
        "async_bench_kib": peak_rss_kib([NLCTL, "bench", "--mode", "async", "--size", "16",
                                         "--seconds", "1", "--tasks", tasks]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", default="1")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=64)
    ap.add_argument("--starts", type=int, default=50)
    ap.add_argument("--profile", action="store_true", help="perf profiles (if perf exists)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    load_module()
    t0 = time.monotonic()
    res = {"machine": machine(),
           "config": {"rounds": a.rounds, "seconds": float(a.seconds), "batch": a.batch,
                      "threads": a.threads, "tasks": a.tasks, "starts": a.starts,
                      "sizes": SIZES}}
    log("machine:", json.dumps(res["machine"]))
    res["throughput"] = throughput(a.rounds, a.seconds, a.batch, a.threads, a.tasks)
    log("batch sweep")
    res["sweep"] = sweep(a.seconds)
    if a.profile:
        log("profile")
        res["profile"] = profile()
    log("max size")
    res["max_size"] = max_size()
    log("start-up")
    res["startup"] = startup(a.starts)
    log("rss")
    res["rss"] = rss(a.tasks)
    res["guest_seconds"] = round(time.monotonic() - t0, 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    log(f"wrote {a.out} ({res['guest_seconds']} s)")


if __name__ == "__main__":
    main()
