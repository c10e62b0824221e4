"""Concurrency: tests/tools/genl_stress runs ECHO clients on their own
sockets while other threads flip the mode. Every reply must be entirely one
mode (the input converted under the reply's MODE, exactly) and the STATS
deltas must equal what was sent, converted and flipped. See
docs/reliability.md."""

import subprocess
import time

from conftest import run, sized
from test_hostile import kernel_log, last_json, record, result_json, tools  # noqa: F401 (fixtures)


def stress(tools, *args, prefix=(), timeout=900):
    return run([*prefix, tools["genl_stress"], *args], timeout=timeout)


# Echoes per thread; reduced (the debug tier, docs/testing.md): the same
# threads and flippers, fewer echoes each.
EXACT_COUNT = sized(20000, 2500)
FLIPPERS_COUNT = sized(5000, 1000)
NETNS_COUNT = sized(5000, 1000)
# long enough that genl_stress is still running when the foreign client's
# 50 echoes are done (2 x 20,000 take about 2 s on a stock kernel)
FOREIGN_COUNT = sized(20000, 4000)


def assert_exact(res, threads, count):
    s = result_json(res)
    assert res.rc == 0 and s["result"] == "pass", res
    assert s["failures"] == [], s
    assert s["echoes"] == threads * count, s
    assert s["observed"] == s["expected"], s
    assert s["observed"]["rejected"] == 0, s
    return s


def test_stress_exact_counters(tools, kernel_log):
    """8 threads x EXACT_COUNT (20,000) echoes against a flipper."""
    res = stress(tools, "--threads", 8, "--count", EXACT_COUNT, "--flippers", 1)
    s = assert_exact(res, 8, EXACT_COUNT)
    assert s["flips"] > 0 and s["flips_changed"] > 0, s
    # the flipper really interleaved with the echoes
    assert sum(1 for n in s["replies_by_mode"].values() if n) >= 2, s
    record(f"stress-8x{EXACT_COUNT}", s)
    kernel_log.assert_clean()


def test_stress_several_flippers(tools, kernel_log):
    """3 flippers racing each other (mode_changes counts only the SET_CASE
    requests whose PREV_MODE differs), long messages."""
    res = stress(tools, "--threads", 4, "--count", FLIPPERS_COUNT, "--flippers", 3,
                 "--max-len", 4096, "--seed", 3)
    s = assert_exact(res, 4, FLIPPERS_COUNT)
    assert s["flips"] > 0, s
    kernel_log.assert_clean()


def test_stress_two_namespaces(tools, netns, kernel_log):
    """Two runs at once, one in the initial netns and one in another: each
    namespace's counters see exactly its own traffic."""
    ns = netns("stress")
    args = ["--threads", 4, "--count", NETNS_COUNT, "--flippers", 1]
    other = subprocess.Popen(
        ["ip", "netns", "exec", ns, str(tools["genl_stress"]), *map(str, args),
         "--seed", "11"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    mine = stress(tools, *args, "--seed", 12)
    out, err = other.communicate(timeout=900)
    assert_exact(mine, 4, NETNS_COUNT)
    assert other.returncode == 0, (out, err)
    s = last_json(out.decode())
    assert s["result"] == "pass", s
    assert s["observed"] == s["expected"], s
    kernel_log.assert_clean()


def test_foreign_traffic_is_detected(tools, tmp_path):
    """The counter check bites: echoes from another client in the same
    namespace during the run must make genl_stress fail."""
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [str(tools["genl_stress"]), "--threads", "2", "--count", str(FOREIGN_COUNT),
         "--flippers", "0", "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "genl_stress never got ready"
        time.sleep(0.05)
    bench = run([tools["genl_cbench"], "--size", 16, "--count", 50, "--warmup", 0])
    assert bench.rc == 0, bench
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 1, (out, err)
    assert b"STATS deltas differ" in out, out
