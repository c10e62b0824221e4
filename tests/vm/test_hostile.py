"""Hostile input: tests/tools/genl_fuzz sends 100,000 generated messages per
seed (20,000 with GENL_ECHO_SIZES=reduced, the debug tier): truncated and
lying headers, wrong attribute types and sizes, oversized and unterminated
strings, unknown commands and attributes, nests, bad flags, many messages
per send(). It checks every response and the counters against its model
of the kernel. See docs/reliability.md.

The helpers at the top (the C tools, the kernel log, JSON results) are shared
with test_concurrency.py and test_unload.py.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import KO, KVER, MODULE, OUT, ROOT, module_loaded, run, sized

TOOLS_SRC = ROOT / "tests" / "tools"
TOOLS_OUT = Path(os.environ.get("GENL_ECHO_OUT", ROOT / "tests" / "out")) / "tools"

# A kernel log line that means trouble. Word-anchored: the boot log has
# harmless lines such as "... please report a bug" or "This is not a bug".
BAD_LOG = re.compile(r"\b(?:WARNING|BUG):|\bOops\b|refcount|general protection|"
                     r"KASAN|UBSAN|\bCall Trace\b")

# Per seed; reduced (the debug tier, docs/testing.md): a fifth, the rarest
# category (weight 1 of 114) still generated about 175 times.
FUZZ_COUNT = sized(100_000, 20_000)
FUZZ_SEEDS = [1, 20261123]
NETNS_FUZZ_COUNT = sized(20_000, 5_000)

# categories of genl_fuzz whose every message the kernel must answer with a
# reply, and those it must refuse (see the category list in genl_fuzz.c)
ANSWERED = ["echo_valid", "echo_boundary", "echo_embedded_nul", "echo_dup_attrs",
            "set_valid", "get_valid", "stats_valid", "attr_byteorder",
            "genl_version", "ack_flag"]
REFUSED = ["echo_oversize", "echo_unterminated", "echo_empty_attr",
           "set_out_of_range", "attr_wrong_size", "noattr_with_attrs",
           "attr_unknown", "attr_nested", "trailing_bytes",
           "cmd_unknown", "dump_flag", "family_unknown", "genl_hdr_truncated",
           "len_swallow"]
HANDLER_REFUSED = ["echo_no_attrs", "set_no_attrs"]
NEVER_PROCESSED = ["nl_hdr_truncated", "len_too_long", "len_too_short"]


@pytest.fixture(scope="session")
def tools():
    """Builds tests/tools (a no-op when the host already did) and returns
    {name: path}."""
    r = subprocess.run(["make", "-s", "-C", str(TOOLS_SRC), f"O={TOOLS_OUT}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       check=False, timeout=600)
    assert r.returncode == 0, "make -C tests/tools failed:\n" + r.stdout.decode()
    paths = {n: TOOLS_OUT / n for n in ("genl_fuzz", "genl_stress", "genl_cbench")}
    for p in paths.values():
        assert os.access(p, os.X_OK), p
    return paths


def dmesg_lines():
    out = subprocess.run(["dmesg"], stdout=subprocess.PIPE, check=True).stdout
    return out.decode("utf-8", "replace").splitlines()


class KernelLog:
    """The kernel log lines written since it was created."""

    def __init__(self):
        self.start = dmesg_lines()

    def new(self):
        now = dmesg_lines()
        n = len(self.start)
        if now[:n] == self.start:
            return now[n:]
        return now  # the ring buffer moved on: check all of it

    def assert_clean(self):
        bad = [line for line in self.new() if BAD_LOG.search(line)]
        assert bad == [], "kernel log problems:\n" + "\n".join(bad)


@pytest.fixture
def kernel_log():
    return KernelLog()


def last_json(text):
    """The JSON summary: the last line a tool printed."""
    lines = text.strip().splitlines()
    assert lines, "no output"
    return json.loads(lines[-1])


def result_json(res):
    assert res.out.strip(), f"no output: {res!r}"
    return last_json(res.out)


def record(name, data):
    """Appends a measurement to tests/out/KVER/reliability.jsonl (for
    docs/reliability.md)."""
    with open(OUT / "reliability.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"test": name, "kernel": KVER, "module": str(KO),
                            **data}) + "\n")


def rmmod_ok():
    r = run(["rmmod", MODULE])
    assert r.rc == 0, f"rmmod failed: {r!r}"
    assert not module_loaded()


def fuzz(tools, *args, timeout=900):
    return run([tools["genl_fuzz"], *args], timeout=timeout)


def check_categories(s):
    cats = s["categories"]
    for name, c in cats.items():
        if name != "smuggled":
            assert c["units"] > 0, f"category {name} never generated"
    seen = {n: c["units"] - c["unseen"] for n, c in cats.items()}
    for n in ANSWERED:
        assert cats[n]["ok"] == seen[n] and cats[n]["err"] == 0, (n, cats[n])
    for n in REFUSED:
        assert cats[n]["err"] == seen[n] and cats[n]["ok"] == 0, (n, cats[n])
    for n in HANDLER_REFUSED:
        assert cats[n]["err"] == cats[n]["rejected"] == seen[n], (n, cats[n])
    for n in NEVER_PROCESSED:
        assert seen[n] == 0, (n, cats[n])
    for n in ("no_request_flag", "control_type"):
        assert cats[n]["ok"] == cats[n]["err"] == 0, (n, cats[n])
        assert cats[n]["ack"] + cats[n]["silent"] == seen[n], (n, cats[n])
    assert cats["smuggled"]["ok"] > 0, cats["smuggled"]
    # reserved byte and nlmsg_flags: the family leaves resv_start_op at 0,
    # so the core checks them for every command
    resv = s["resv_start_op"]
    assert resv <= 1, f"commands below {resv} skip the header checks"
    for n in ("reserved_nonzero", "flags_noise"):
        assert cats[n]["err"] == seen[n], (n, resv, cats[n])


@pytest.mark.parametrize("seed", FUZZ_SEEDS)
def test_fuzz(tools, kernel_log, seed):
    """FUZZ_COUNT (100,000) hostile messages: every response as the model predicts, the
    counters exact, a clean kernel log, and the module still unloads."""
    res = fuzz(tools, "--seed", seed, "--count", FUZZ_COUNT)
    s = result_json(res)
    assert res.rc == 0 and s["result"] == "pass", res
    assert s["units"] == FUZZ_COUNT
    assert s["observed"] == s["expected"], s
    exp = s["expected"]
    assert exp["rejected"] > 0 and exp["echo_requests"] > 0 and exp["mode_changes"] > 0, exp
    assert s["sends"] < s["units"] and s["batches_multi"] > 0 and s["max_batch"] >= 32, s
    assert s["replies"] > 0 and s["errors"] > 0 and s["acks"] > 0, s
    assert {"EINVAL", "ERANGE", "EOPNOTSUPP", "ENOENT"} <= set(s["errno"]), s["errno"]
    check_categories(s)
    record(f"fuzz-seed-{seed}", {k: v for k, v in s.items() if k != "categories"})
    kernel_log.assert_clean()
    rmmod_ok()
    kernel_log.assert_clean()


def test_fuzz_reproducible(tools):
    """The same seed gives the same messages, so the same summary."""
    a = result_json(fuzz(tools, "--seed", 7, "--count", 5000))
    b = result_json(fuzz(tools, "--seed", 7, "--count", 5000))
    assert a["result"] == b["result"] == "pass", (a, b)
    a.pop("seconds")
    b.pop("seconds")
    assert a == b


def test_fuzz_in_netns(tools, netns, kernel_log):
    """The same in a fresh network namespace (its own mode and counters)."""
    ns = netns("fuzz")
    res = run(["ip", "netns", "exec", ns, tools["genl_fuzz"], "--seed", 99,
               "--count", NETNS_FUZZ_COUNT], timeout=600)
    s = result_json(res)
    assert res.rc == 0 and s["result"] == "pass", res
    assert s["observed"] == s["expected"], s
    kernel_log.assert_clean()


def test_fuzz_checks_bite(tools):
    """The fuzzer's checks are not vacuous: a model that expects one
    `rejected` too many, or the wrong resv_start_op, must fail the run."""
    res = fuzz(tools, "--seed", 1, "--count", 20000, "--skew-rejected")
    assert res.rc == 1 and result_json(res)["result"] == "fail", res
    assert "rejected" in res.err, res

    resv = result_json(fuzz(tools, "--seed", 1, "--count", 100))["resv_start_op"]
    wrong = 0 if resv > 1 else 6
    res = fuzz(tools, "--seed", 1, "--count", 20000, "--resv-start-op", wrong)
    assert res.rc == 1 and result_json(res)["result"] == "fail", res
