"""The genl-echo library against the real module.

Through genl-echo-probe, a program outside the workspace that depends on the
library by path (built on the host by tests/build-consumer.sh in a temporary
Cargo project: the guest cannot build), and through the crate's examples
(target/release/examples/, built by tests/setup.sh). Every library method,
every error kind, the subscription's ordered events and the pipelined path.
"""

import os
import queue
import subprocess
import threading
from pathlib import Path

import pytest

import genl
from conftest import NOBODY, ROOT, ok, run, wait_for_listeners, zero_stats

CONSUMER = Path(os.environ.get("GENL_ECHO_OUT", ROOT / "tests" / "out")) / "consumer"
PROBE = CONSUMER / "genl-echo-probe"
EXAMPLES = ROOT / "target" / "release" / "examples"


def probe(*args, prefix=(), code=0, timeout=120):
    """Runs the probe; returns its stdout lines as lists of key=value dicts."""
    assert PROBE.is_file(), f"no {PROBE} (tests/build-consumer.sh)"
    res = run([*prefix, PROBE, *args], timeout=timeout)
    assert res.rc == code, res
    return [parse(line) for line in res.out.splitlines()], res


def parse(line):
    """'echo msg=HI mode=upper' -> {'_': 'echo', 'msg': 'HI', 'mode': 'upper'}"""
    head, _, rest = line.partition(" ")
    d = {"_": head}
    if head == "error":
        d["kind"] = rest.removeprefix("kind=")
        return d
    for w in rest.split(" "):
        k, _, v = w.partition("=")
        d[k] = v
    return d


def one(*args, **kw):
    lines, res = probe(*args, **kw)
    assert len(lines) == 1, res
    return lines[0]


def error_kind(*args, **kw):
    lines, res = probe(*args, code=1, **kw)
    assert len(lines) == 1 and lines[0]["_"] == "error", res
    assert res.err.startswith("genl-echo-probe: ") and res.err.count("\n") == 1, res
    return lines[0]["kind"], res.err


def test_built_outside_the_workspace():
    info = dict(line.split("=", 1) for line in (CONSUMER / "build-info.txt").read_text().splitlines())
    assert not info["project"].startswith(str(ROOT)), info
    assert f'path = "{ROOT}/genl-echo"' in info["manifest_dependency"], info
    # the binary comes from the template in the repository, as it is now
    import hashlib
    src = (ROOT / "tests" / "consumer" / "main.rs").read_bytes()
    assert info["source_sha256"] == hashlib.sha256(src).hexdigest(), info


def test_echo_set_get_stats():
    assert one("echo", "Hello") == {"_": "echo", "msg": "Hello", "mode": "none"}
    assert one("set", "upper") == {"_": "set", "mode": "upper", "previous": "none"}
    assert one("get") == {"_": "get", "mode": "upper"}
    assert one("echo", "Hello") == {"_": "echo", "msg": "HELLO", "mode": "upper"}
    assert one("set", "lower") == {"_": "set", "mode": "lower", "previous": "upper"}
    assert one("echo-len", "65530") == {"_": "echo", "len": "65530", "mode": "lower"}
    s = one("stats")
    want = {**zero_stats("lower"), "echo_requests": 3, "echo_bytes": 5 + 5 + 65530,
            "chars_converted": 4, "mode_changes": 2}
    assert s == {"_": "stats", **{k: str(v) for k, v in want.items()}}
    assert ok("stats") == want


def test_family_matches_the_controller(raw):
    f = one("family")
    fam = raw.family
    assert f["name"] == "genl_echo" and int(f["id"]) == fam["id"], (f, fam)
    assert int(f["version"]) == fam["version"] == 1
    ops = dict(o.split(":") for o in f["ops"].split(","))
    assert {int(k): int(v) for k, v in ops.items()} == fam["ops"]
    assert f["groups"] == f"events:{fam['groups']['events']}"


def test_policy_matches_nlctl_info():
    lines, _ = probe("policy")
    info = ok("info")
    assert [int(line["id"]) for line in lines] == [op["id"] for op in info["ops"]]
    for line, op in zip(lines, info["ops"]):
        assert line["name"] == op["name"]
        assert line["admin"] == str(op["flags"]["admin_perm"] or op["flags"]["uns_admin_perm"]).lower()
        attrs = [] if op["do_policy"] is None else op["do_policy"]["attrs"]
        want = ",".join(f"{a['name']}:{a['type']}" for a in attrs)
        assert line["do_attrs"] == want, (line, op)
    by_name = {line["name"]: line for line in lines}
    assert by_name["echo"]["do_attrs"] == "msg:nul_string"
    assert by_name["set_case"]["admin"] == "true"


def test_connect_netns(netns):
    netns("lib_a")
    assert one("netns", "/run/netns/lib_a", "set", "upper") == {"_": "set", "mode": "upper", "previous": "none"}
    assert one("netns", "/run/netns/lib_a", "echo", "MiXed") == {"_": "echo", "msg": "MIXED", "mode": "upper"}
    # the initial namespace is untouched, and so is the calling process's
    assert one("echo", "MiXed") == {"_": "echo", "msg": "MiXed", "mode": "none"}
    assert ok("--netns", "lib_a", "get-mode") == {"mode": "upper"}
    kind, err = error_kind("netns", "/run/netns/nope", "echo", "x")
    assert kind == "Netns call=open", err


def test_echo_batch_every_reply_checked():
    ok("set-mode", "upper")
    lines, res = probe("batch", "300", "msg")
    head, replies = lines[0], lines[1:]
    assert head == {"_": "batch", "requests": "300", "verified": "300", "lost": "0", "overruns": "0"}, res
    assert [r["msg"] for r in replies] == [f"MSG-{i}" for i in range(300)]
    assert all(r["mode"] == "upper" for r in replies)
    s = ok("stats")
    assert s["echo_requests"] == 300


def test_pipeline_rounds_verify_every_reply():
    p = one("pipeline", "1024", "64", "10")
    assert p == {"_": "pipeline", "capacity": "64", "requests": "640", "verified": "640",
                 "lost": "0", "overruns": "0"}
    assert ok("stats")["echo_requests"] == 640


def test_pipeline_overrun_reports_lost_replies():
    p = one("pipeline", "16", "256", "4", "1")
    assert int(p["overruns"]) > 0 and int(p["lost"]) > 0, p
    assert int(p["verified"]) + int(p["lost"]) == int(p["requests"]) == 4 * int(p["capacity"]), p
    # the kernel answered every request; the ones not verified were dropped
    assert ok("stats")["echo_requests"] == int(p["requests"])


def test_batch_after_an_abandoned_batch():
    """Pipeline: send 64, load 64 others, send, receive: the first batch's
    replies are skipped and counted as stale, never matched to the second.
    Then 64 are sent and the pipeline dropped: echo_batch skips those."""
    lines, res = probe("abandoned-batch", "64")
    assert lines == [
        {"_": "pipeline", "requests": "64", "verified": "64", "lost": "0", "stale": "64",
         "own_replies": "64"},
        {"_": "echo_batch", "requests": "64", "verified": "64", "lost": "0", "stale": "64",
         "own_replies": "64"},
    ], res
    assert ok("stats")["echo_requests"] == 4 * 64


def test_echo_batch_refused_for_a_nul_runs_nothing_then_works():
    """A NUL in the last of 1000 messages: refused before the first send
    (as uid 65534 the socket buffers hold a few hundred requests per send,
    so the batch spans several), nothing ran; the next batch works."""
    lines, res = probe("nul-batch", "1000", prefix=NOBODY)
    assert lines[0] == {"_": "refused", "kind": "MsgHasNul", "offset": "7"}, res
    assert lines[1] == {"_": "after_refusal", "echo_requests": "0"}, res
    assert lines[2] == {"_": "echo_batch", "requests": "1000", "verified": "1000", "lost": "0",
                        "stale": "0", "own_replies": "1000"}, res
    assert ok("stats")["echo_requests"] == 1000


def test_subscription_overrun_is_an_item():
    p = one("overrun", "300")
    assert int(p["overruns"]) >= 1, p
    assert int(p["events"]) < 300, p


@pytest.mark.module_unloaded
def test_not_registered():
    for args in (["echo", "x"], ["stats"], ["family"], ["batch", "2", "x"]):
        kind, err = error_kind(*args)
        assert kind == "NotRegistered", (args, err)
        assert "genl_echo" in err and "not registered" in err


def test_permission_denied_unprivileged():
    kind, err = error_kind("set", "upper", prefix=NOBODY)
    assert kind == "PermissionDenied op=set_mode", err
    assert "CAP_NET_ADMIN" in err
    # reads work unprivileged; nothing changed
    assert one("get", prefix=NOBODY) == {"_": "get", "mode": "none"}
    assert ok("stats") == zero_stats()


def test_kernel_refusal_with_extack():
    """The controller's policy refuses a family name longer than
    GENL_NAMSIZ - 1 with EINVAL, an extended ACK message and the offset of
    the attribute."""
    kind, err = error_kind("resolve", "a_family_name_far_too_long")
    assert kind == 'Kernel errno=22 message="Attribute failed policy validation" attr="family_name"', err
    assert err.strip() == ("genl-echo-probe: kernel rejected family lookup: "
                           "Attribute failed policy validation (EINVAL, attribute family_name)"), err
    assert one("resolve", "genl_echo")["name"] == "genl_echo"
    kind, _ = error_kind("resolve", "no_such_family")
    assert kind == "NotRegistered"


def test_too_long_is_refused_before_sending():
    kind, err = error_kind("echo-len", "65531")
    assert kind == "MsgTooLong len=65531 max=65530", err
    assert ok("stats") == zero_stats()


def test_example_echo():
    ok("set-mode", "upper")
    res = run([EXAMPLES / "echo", "Hello", "World"])
    assert res.rc == 0 and res.err == "", res
    assert res.out == "HELLO WORLD (mode upper)\n", res


class Lines:
    def __init__(self, args):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line.decode())
        self.q.put(None)


def test_example_monitor_sees_exact_ordered_events():
    """Subscription through the monitor example: exactly the events of a
    sequence of sets, in order (a set to the current mode is an event too),
    then the example exits after its COUNT."""
    seq = ["upper", "lower", "none", "lower", "upper", "upper"]
    with genl.GenlSocket() as s:
        gid = s.get_family()["groups"]["events"]
        mon = Lines([EXAMPLES / "monitor", str(len(seq))])
        wait_for_listeners(gid, 1)
        prev = "none"
        want = []
        for m in seq:
            ok("set-mode", m)
            want.append(f"mode {prev} -> {m}\n")
            prev = m
        rc = mon.proc.wait(timeout=60)
        got = []
        while True:
            line = mon.q.get(timeout=10)
            if line is None:
                break
            got.append(line)
        assert rc == 0, (rc, got, mon.proc.stderr.read())
        assert got == want
