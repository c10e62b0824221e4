"""`nlctl bench`: a functional smoke test, not a measurement.

Timing under emulation is too noisy to gate on; tests/bench/run.sh measures
and compares with the C client. Here: the JSON shape, every reply verified,
the kernel's own counter agreeing with the number of requests, the batch
made to fit the receive buffer when SO_RCVBUFFORCE is not allowed, and a
receive buffer overrun reported (JSON and exit status 1), never silent.
"""

import json
from pathlib import Path

import pytest

from conftest import NOBODY, assert_error, nlctl, ok, run, stats
from test_hostile import tools  # noqa: F401 (fixture)

CASE_KEYS = [
    "mode", "size", "threads", "tasks", "batch", "requests", "seconds", "rps", "p50_us", "p99_us",
    "p50_us_per_request", "p99_us_per_request", "verified", "overruns", "lost",
    "syscalls_per_request", "send_us_per_request", "recv_us_per_request", "rcvbuf",
]
TOP_KEYS = ["client", "version", "kernel", "cpus", "family_id", "seconds", "count", "warmup",
            "results", "overruns", "lost"]
MODES = ["single", "batch", "threads", "batch-threads", "async", "async-threads"]


def check_case(c):
    assert list(c) == CASE_KEYS, c
    assert c["requests"] > 0, c
    assert c["verified"] == c["requests"], c
    assert c["overruns"] == 0 and c["lost"] == 0, c
    assert c["rps"] > 0 and c["seconds"] > 0, c
    assert 0 < c["p50_us"] <= c["p99_us"], c
    assert c["p50_us_per_request"] <= c["p50_us"], c
    if c["mode"].startswith("async"):
        # 64 tasks on one client: their requests go out together, also
        # when they run on two threads
        assert c["tasks"] == 64, c
        assert c["threads"] == (2 if c["mode"] == "async-threads" else 1), c
        assert c["batch"] > 1 and c["syscalls_per_request"] < 1, c
        assert c["p50_us_per_request"] == c["p50_us"], c
        assert c["send_us_per_request"] is None, c
        return
    assert c["tasks"] == 1, c
    if c["mode"].startswith("batch"):
        assert c["batch"] > 1, c
        assert c["syscalls_per_request"] < 1, c
        assert c["send_us_per_request"] > 0 and c["recv_us_per_request"] > 0, c
    else:
        assert c["batch"] == 1, c
        assert c["syscalls_per_request"] == 2, c
        assert c["send_us_per_request"] is None, c
    assert c["threads"] == (2 if "threads" in c["mode"] else 1), c


def test_bench_all_modes_small_and_max_size():
    out = ok("bench", "--seconds", "0.2", "--size", "16", "--size", "65530",
             "--batch", "8", "--threads", "2", timeout=300)
    assert list(out) == TOP_KEYS, out
    assert out["client"] == "nlctl"
    assert out["seconds"] == 0.2 and out["count"] is None
    assert out["overruns"] == 0 and out["lost"] == 0
    got = [(c["size"], c["mode"]) for c in out["results"]]
    assert got == [(s, m) for s in (16, 65530) for m in MODES], got
    for c in out["results"]:
        check_case(c)


def test_bench_default_sizes_one_mode():
    out = ok("bench", "--mode", "single", "--count", "50", "--warmup", "0")
    assert [(c["size"], c["mode"]) for c in out["results"]] == [
        (16, "single"), (1024, "single"), (32768, "single")]
    assert out["count"] == 50 and out["seconds"] is None
    for c in out["results"]:
        assert c["requests"] == 50
        check_case(c)


@pytest.mark.parametrize("mode,extra", [
    ("single", []),
    ("batch", ["--batch", "64"]),
    ("threads", ["--threads", "2"]),
    ("batch-threads", ["--threads", "2", "--batch", "16"]),
    ("async", ["--tasks", "16"]),
    ("async-threads", ["--tasks", "16", "--threads", "2"]),
])
def test_bench_requests_reach_the_kernel(mode, extra):
    """The module's counter sees exactly the requests (warm-up included;
    the async modes' warm-up is split between their tasks)."""
    out = ok("bench", "--mode", mode, "--size", "100", "--count", "1001", "--warmup", "7",
             *extra)
    (c,) = out["results"]
    assert c["requests"] == c["verified"] == 1001, c
    warm = 7 * (2 if mode in ("threads", "batch-threads") else 1)
    s = stats()
    assert s["echo_requests"] == 1001 + warm, (s, c)
    assert s["echo_bytes"] == 100 * (1001 + warm), (s, c)


def test_bench_checks_replies_in_every_mode():
    """Replies are compared with the request converted under the reported
    mode, so the bench works (and verifies) in upper and lower mode too."""
    for mode in ("upper", "lower"):
        ok("set-mode", mode)
        out = ok("bench", "--size", "64", "--count", "200", "--batch", "32")
        for c in out["results"]:
            check_case(c)


@pytest.mark.parametrize("mode", ["none", "upper", "lower"])
def test_c_client_checks_and_counts(tools, mode):
    """genl_cbench, the C floor, does what the comparison assumes: one
    request per round trip, all of them reaching the kernel, every reply
    checked against the request converted under the reported mode."""
    ok("set-mode", mode)
    before = stats()
    res = run([tools["genl_cbench"], "--size", 300, "--count", 1000, "--warmup", 5])
    assert res.rc == 0, res
    out = json.loads(res.out)
    assert list(out) == ["client", "size", "requests", "seconds", "rps", "p50_us", "p99_us"]
    assert out["client"] == "c" and out["size"] == 300 and out["requests"] == 1000, out
    assert out["rps"] > 0 and 0 < out["p50_us"] <= out["p99_us"], out
    after = stats()
    assert after["echo_requests"] - before["echo_requests"] == 1005, (before, after)
    assert after["echo_bytes"] - before["echo_bytes"] == 300 * 1005, (before, after)
    converted = after["chars_converted"] - before["chars_converted"]
    assert (converted > 0) == (mode != "none"), (before, after)


def test_unprivileged_batch_is_made_to_fit_rcvbuf():
    """Without CAP_NET_ADMIN SO_RCVBUFFORCE fails and SO_RCVBUF is capped by
    rmem_max: the batch is made smaller (with a warning), nothing is lost."""
    res = nlctl("bench", "--mode", "batch", "--size", "32768", "--batch", "256",
                "--count", "300", prefix=NOBODY, timeout=300)
    assert res.rc == 0, res
    assert "warning" in res.err and "SO_RCVBUF" in res.err, res
    (c,) = json.loads(res.out)["results"]
    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    assert 1 < c["batch"] < 256, c
    assert c["rcvbuf"] <= 2 * rmem_max, c
    check_case(c)


def test_root_batch_gets_a_big_enough_rcvbuf():
    out = ok("bench", "--mode", "batch", "--size", "32768", "--batch", "64", "--count", "128")
    (c,) = out["results"]
    assert c["batch"] == 64, c
    assert c["rcvbuf"] >= 64 * 32768, c
    check_case(c)


def test_overrun_is_reported_not_silent():
    """A tiny receive buffer and a big batch: the kernel drops replies
    (ENOBUFS). nlctl still prints its JSON, counts the overruns and the lost
    replies, and exits 1 with one line on stderr."""
    res = nlctl("bench", "--mode", "batch", "--size", "16", "--batch", "256",
                "--rcvbuf", "1", "--count", "1024", "--warmup", "0")
    assert res.rc == 1, res
    out = json.loads(res.out)
    (c,) = out["results"]
    assert c["overruns"] > 0 and c["lost"] > 0, c
    assert c["verified"] + c["lost"] == c["requests"] == 1024, c
    assert out["overruns"] == c["overruns"] and out["lost"] == c["lost"], out
    lines = res.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nlctl: "), res
    assert "lost" in lines[0] and "ENOBUFS" in lines[0], res


def test_bench_usage_errors():
    for args in (["--size", "65531"], ["--seconds", "0"], ["--seconds", "1", "--count", "1"],
                 ["--batch", "0"], ["--threads", "0"], ["--mode", "nope"]):
        res = nlctl("bench", *args)
        assert res.rc == 2, res
        assert res.out == "", res


@pytest.mark.module_unloaded
def test_bench_module_not_loaded():
    assert_error(nlctl("bench", "--count", "1"), 3, "not loaded")
