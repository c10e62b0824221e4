"""Systematic allocation-failure injection (debug-kernel tier only).

For every request kind, the kernel is made to fail the 1st, 2nd, 3rd, ...
failable slab allocation the request makes, one per run, until a run in
which no failure was injected. The requests are made by nlctl itself: the
LD_PRELOAD shim tests/tools/libfailnth.so arms /proc/thread-self/fail-nth
right before the chosen send() and reports whether the failure was injected.
insmod and network namespace creation are swept by tests/tools/genl_failnth.

Every injected run must end in one of two ways: nlctl succeeds with the right
output (the kernel absorbed the failure), or nlctl prints one readable line
naming ENOMEM or ENOBUFS and exits 1 or 5, within the timeout. Either way the
counters must say what happened (`rejected` counts exactly the handler's
refusals), a mode listener must see either the event or an overrun, never
nothing, and the module must answer the next request.

Needs CONFIG_FAULT_INJECTION and CONFIG_FAILSLAB with debugfs: run by
tests/run-debug-tier.sh on the kernel from tests/debug-kernel.sh.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import KO, NLCTL, OUT, ROOT, hung, load_module, module_loaded, \
    ok, stats, unload_module, wait_for_listeners
from test_events import Monitor

TOOLS_OUT = Path(os.environ.get("GENL_ECHO_OUT", ROOT / "tests" / "out")) / "tools"
SHIM = TOOLS_OUT / "libfailnth.so"
FAILNTH = TOOLS_OUT / "genl_failnth"
FAILSLAB = Path("/sys/kernel/debug/failslab")
# A request passes a few dozen failable allocations at most; a sweep that
# never reaches a clean run is a bug of its own.
MAX_SITES = 200
# netlink_sendmsg() vmallocs a request bigger than NLMSG_GOODSIZE (a page
# less the skb overhead).
VMALLOC_REQUEST = 3000
CLEAN_ERROR = re.compile(r"\b(ENOMEM|ENOBUFS)\b")
REPORT = re.compile(r"^send=(\d+) at=(\d+) injected=([01]) ret=(-?\d+) errno=(\d+)$")
COUNTERS = ("echo_requests", "echo_bytes", "chars_converted", "mode_changes",
            "rejected")


def record(name, data):
    with open(OUT / "reliability.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"test": name, "kernel": os.uname().release, **data}) + "\n")


@pytest.fixture(scope="module", autouse=True)
def failslab():
    """failslab counts GFP_KERNEL allocations too, and stays quiet (its
    stack dumps would read as kernel problems in the log check)."""
    assert Path("/proc/self/fail-nth").exists(), "no fail-nth: not the debug kernel"
    if not FAILSLAB.exists():
        subprocess.run(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"],
                       check=False)
    assert FAILSLAB.is_dir(), "no failslab in debugfs (CONFIG_FAILSLAB)"
    assert SHIM.is_file() and FAILNTH.is_file(), "make -C tests/tools first"
    saved = {k: (FAILSLAB / k).read_text().strip() for k in ("ignore-gfp-wait", "verbose")}
    (FAILSLAB / "ignore-gfp-wait").write_text("N")
    (FAILSLAB / "verbose").write_text("0")
    yield
    for k, v in saved.items():
        (FAILSLAB / k).write_text(v)


def delta(before, after):
    return {k: after[k] - before[k] for k in COUNTERS}


class Run:
    """One nlctl run with the SEND-th netlink send's AT-th allocation failed."""

    def __init__(self, args, send, at, tmp_path):
        report = tmp_path / f"failnth-{send}-{at}.txt"
        env = dict(os.environ, LD_PRELOAD=str(SHIM), GE_FAILNTH_AT=str(at),
                   GE_FAILNTH_SEND=str(send), GE_FAILNTH_REPORT=str(report))
        self.args = [str(NLCTL), *args]
        p = subprocess.Popen(self.args, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            # A client stuck in the kernel (a lock never released) cannot be
            # killed or waited for, and neither can rmmod: stop the session
            # with what the kernel said.
            p.kill()
            hung(f"{' '.join(self.args)[:200]} (fail-nth {at} of send {send}) "
                 "did not finish in 60 s")
        self.rc = p.returncode
        self.out = out.decode("utf-8", "replace")
        self.err = err.decode("utf-8", "replace")
        lines = report.read_text().splitlines() if report.exists() else []
        assert len(lines) == 1, f"expected one shim report for send {send}: {lines} {self}"
        m = REPORT.match(lines[0])
        assert m, lines[0]
        self.injected = m.group(3) == "1"
        self.at = at

    @property
    def failed(self):
        return self.rc != 0

    def assert_clean(self, warning_ok=False):
        """Success, or one readable line naming the errno and a documented
        exit status. WARNING_OK: a success may carry one warning line naming
        the errno (what `info` prints when only the policy dump failed)."""
        if self.rc == 0:
            if warning_ok and self.err:
                lines = self.err.splitlines()
                assert len(lines) == 1 and lines[0].startswith("nlctl: warning: "), self
                assert CLEAN_ERROR.search(lines[0]), self
                return
            assert self.err == "", self
            return
        assert self.rc in (1, 5), self
        assert self.out == "", self
        lines = self.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("nlctl: "), self
        assert CLEAN_ERROR.search(lines[0]), self

    def json(self):
        assert self.rc == 0, self
        return json.loads(self.out)

    def __repr__(self):
        return (f"<{' '.join(self.args)[:200]} at={self.at} injected={self.injected} "
                f"rc={self.rc} out={self.out[:200]!r} err={self.err!r}>")


def sweep(args, check, tmp_path, send=2, warning_ok=False):
    """Runs ARGS with the 1st, 2nd, ... allocation of send number SEND failed
    until a run with nothing injected; CHECK(run, counter delta) judges each
    run, the module must answer afterwards. Returns the runs."""
    runs = []
    for at in range(1, MAX_SITES + 1):
        before = stats()
        r = Run(args, send, at, tmp_path)
        r.assert_clean(warning_ok)
        d = delta(before, stats())
        check(r, d)
        runs.append((r, d))
        if not r.injected:
            assert r.rc == 0, f"failed with nothing injected: {r}"
            break
    else:
        pytest.fail(f"{args}: still injecting after {MAX_SITES} sites")
    assert len(runs) > 1, f"{args}: the request made no failable allocation"
    ok("echo", "still here")
    return runs


def summarize(name, runs):
    injected = [(r, d) for r, d in runs if r.injected]
    data = {"sites": len(injected),
            "failed": sum(1 for r, _ in injected if r.failed),
            "absorbed": sum(1 for r, _ in injected if not r.failed),
            "handler_refused": sum(1 for _, d in injected if d["rejected"] == 1),
            "exit_codes": sorted({r.rc for r, _ in injected}),
            "runs": [[r.at, r.rc, d["rejected"], r.err.strip()[:80]] for r, d in injected]}
    record(f"failnth-{name}", data)
    print(f"{name}: {data}")
    return data


@pytest.mark.parametrize("size", [1, 1000, 4000, 60000])
def test_echo(size, tmp_path):
    msg = ("aB" * size)[:size]
    ok("set-mode", "upper")

    def check(r, d):
        if r.rc == 0:
            assert r.json() == {"msg": msg.upper(), "mode": "upper"}, r
            assert d["echo_requests"] == 1 and d["echo_bytes"] == size, (r, d)
            assert d["rejected"] == 0, (r, d)
        else:
            assert d["echo_requests"] == 0 and d["echo_bytes"] == 0, (r, d)
            assert d["rejected"] in (0, 1), (r, d)
            if d["rejected"]:
                # the handler refused: the kernel's ENOMEM, exit 5
                assert r.rc == 5 and "ENOMEM" in r.err, (r, d)
        assert d["mode_changes"] == 0

    data = summarize(f"echo-{size}", sweep(["echo", msg], check, tmp_path))
    # The handler's reply allocation is among the sites, and counted. A
    # request above a page is vmalloc'd, and how many allocations vmalloc
    # makes depends on per-CPU preloads: positions shift between runs, and
    # a sweep may step over the reply's. So only the small sizes must hit it.
    if size < VMALLOC_REQUEST:
        assert data["handler_refused"] >= 1, data


@pytest.mark.parametrize("cmd", ["get-mode", "stats"])
def test_get(cmd, tmp_path):
    ok("set-mode", "lower")

    def check(r, d):
        assert d["echo_requests"] == 0 and d["mode_changes"] == 0
        if r.rc == 0:
            assert r.json()["mode"] == "lower", r
            assert d["rejected"] == 0, (r, d)
        else:
            assert d["rejected"] in (0, 1), (r, d)
            if d["rejected"]:
                assert r.rc == 5 and "ENOMEM" in r.err, (r, d)

    data = summarize(cmd, sweep([cmd], check, tmp_path))
    assert data["handler_refused"] >= 1, data


def test_family_lookup(tmp_path):
    """The first send of every command is CTRL_CMD_GETFAMILY."""
    def check(r, d):
        assert d["rejected"] == 0 and d["echo_requests"] == 0, (r, d)
        if r.rc == 0:
            assert r.json()["mode"] == "none", r

    data = summarize("family-lookup", sweep(["get-mode"], check, tmp_path, send=1))
    assert data["failed"] >= 1, data


def test_info(tmp_path):
    """info: the family lookup, then the policy dump (CTRL_CMD_GETPOLICY)."""
    def check(r, d):
        assert d["rejected"] == 0, (r, d)
        if r.rc == 0:
            info = r.json()
            assert info["name"] == "genl_echo", r
            # without the policies only when it said why
            echo_op = [o for o in info["ops"] if o["name"] == "echo"]
            assert len(echo_op) == 1, r
            assert bool(r.err) == (echo_op[0]["do_policy"] is None), r

    summarize("info-policy", sweep(["info"], check, tmp_path, warning_ok=True))


def test_set_mode_with_listener(raw, tmp_path):
    """SET_CASE with `nlctl monitor` subscribed: a failed set changes
    nothing and announces nothing; a successful one reaches the listener as
    the event or, when the notification itself could not be allocated or
    delivered, as an overrun. Never as silence."""
    group = raw.family["groups"]["events"]
    m = Monitor()
    seen = {"event": 0, "overrun": 0}
    try:
        wait_for_listeners(group, 1)
        state = {"mode": "none"}

        def check(r, d):
            assert d["echo_requests"] == 0
            target = state["target"]
            if r.rc == 0:
                assert r.json() == {"mode": target, "previous": state["mode"]}, r
                assert d["mode_changes"] == 1 and d["rejected"] == 0, (r, d)
                line = m.next(timeout=30)
                if line == {"event": "overrun"}:
                    seen["overrun"] += 1
                else:
                    assert line == {"event": "mode", "mode": target,
                                    "previous": state["mode"]}, (line, r)
                    seen["event"] += 1
                state["mode"] = target
            else:
                assert d["mode_changes"] == 0, (r, d)
                assert d["rejected"] in (0, 1), (r, d)
                if d["rejected"]:
                    assert r.rc == 5 and "ENOMEM" in r.err, (r, d)
            assert stats()["mode"] == state["mode"]

        runs = []
        for at in range(1, MAX_SITES + 1):
            state["target"] = "lower" if state["mode"] == "upper" else "upper"
            before = stats()
            r = Run(["set-mode", state["target"]], 2, at, tmp_path)
            r.assert_clean()
            d = delta(before, stats())
            check(r, d)
            runs.append((r, d))
            if not r.injected:
                break
        else:
            pytest.fail("set-mode: still injecting after MAX_SITES")
        # the listener is still in step: one more set, one more event
        target = "lower" if state["mode"] == "upper" else "upper"
        ok("set-mode", target)
        assert m.next(timeout=30) == {"event": "mode", "mode": target,
                                      "previous": state["mode"]}
    finally:
        m.kill()
    data = summarize("set-mode-listener", runs)
    data.update(seen)
    record("failnth-set-mode-listener-events", seen)
    assert data["handler_refused"] >= 1, data
    # the notification's own allocation is among the sites
    assert seen["overrun"] >= 1, (data, seen)


def failnth(*args):
    p = subprocess.run([str(FAILNTH), *args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=1800)
    out = p.stdout.decode("utf-8", "replace")
    (OUT / f"failnth-{args[0]}.log").write_text(out)
    summary = [line for line in out.splitlines() if line.startswith("summary ")]
    assert p.returncode == 0 and summary, out[-4000:]
    fields = dict(f.split("=", 1) for f in summary[-1].split()[1:])
    return {k: (int(v) if v.isdigit() else v) for k, v in fields.items()}


@pytest.mark.module_unloaded
def test_insmod():
    """finit_module with each of its allocations failed in turn: a clean
    errno and no module, or a working module; finally a clean load."""
    s = failnth("insmod", str(KO))
    record("failnth-insmod", s)
    assert s["sites"] > 0 and s["failed"] > 0, s
    assert module_loaded()
    ok("echo", "loaded")
    unload_module()
    load_module()


def test_netns_create():
    """unshare(CLONE_NEWNET) with each allocation failed in turn, the module
    loaded: the namespace is made or not, and the family answers in
    whichever namespace the process ends up in."""
    s = failnth("netns")
    record("failnth-netns", s)
    assert s["sites"] > 0 and s["failed"] > 0, s
    ok("echo", "after netns sweep")
