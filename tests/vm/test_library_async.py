"""The library's tokio front end (AsyncClient, AsyncSubscription) against the
real module, through genl-echo-probe (built outside the workspace with the
`tokio` feature by tests/build-consumer.sh): many tasks on one client,
cancellation racing replies, the event stream in order. Counters are
checked exactly against the module's."""

import pytest

import genl
from conftest import load_module, ok, run, sized, unload_module, wait_for_listeners, zero_stats
from forge import netlink_ports
from served import WAIT, SLOW, Serve
from test_library import EXAMPLES, Lines, probe

TASKS = 64
# reduced (the debug tier, docs/testing.md): the same 64 tasks, fewer each
EACH = sized(1000, 100)


def storm_messages():
    return [f"Task{t:02}-Msg{i:04}-mIxEd".encode() for t in range(TASKS) for i in range(EACH)]


def test_async_storm_64_tasks_every_reply_checked():
    ok("set-mode", "upper")
    (r, io), res = probe("async-storm", TASKS, EACH, "upper", timeout=120 * SLOW)
    assert r == {"_": "async-storm", "tasks": str(TASKS), "each": str(EACH),
                 "ok": str(TASKS * EACH), "bad": "0", "errors": "0"}, res
    # concurrency became batching: fewer sends than requests (the family
    # lookup at connect is one request more)
    assert TASKS * EACH <= int(io["requests"]) <= TASKS * EACH + 1, io
    assert int(io["sends"]) < int(io["requests"]), io
    assert (io["stale"], io["foreign"], io["overruns"], io["lost"]) == ("0", "0", "0", "0"), io
    msgs = storm_messages()
    assert len(set(msgs)) == TASKS * EACH
    want = {**zero_stats("upper"), "mode_changes": 1,
            "echo_requests": TASKS * EACH,
            "echo_bytes": sum(len(m) for m in msgs),
            "chars_converted": sum(genl.converted_count(m, genl.MODE_UPPER) for m in msgs)}
    assert ok("stats") == want


def test_cancellation_storm_then_every_request_gets_its_own_reply():
    """16 tasks x 300 requests cancelled while racing their replies (a
    1-8 us tokio timeout, the future dropped after 1-3 polls, or the
    client's own 3 us timeout), then 20 plain requests per task."""
    tasks, each = 16, 300
    ok("set-mode", "lower")
    (r, io), res = probe("cancel-storm", tasks, each, "lower", timeout=120 * SLOW)
    assert r["_"] == "cancel-storm" and io["_"] == "io", res
    attempts = int(r["attempts"])
    completed, cancelled, timeouts = int(r["completed"]), int(r["cancelled"]), int(r["timeouts"])
    assert attempts == tasks * each
    # every attempt ended one of three ways, none with a wrong reply or
    # another error; afterwards every request got its own reply
    assert (r["bad"], r["other"]) == ("0", "0"), r
    assert completed + cancelled + timeouts == attempts, r
    assert r["after"] == str(tasks * 20), r
    # the race was real: both outcomes happened
    assert cancelled + timeouts > 0 and completed > 0, r
    s = ok("stats")
    # the module ran every completed request and every plain one, and at
    # most every attempt (a request cancelled before its send never ran)
    assert completed + tasks * 20 <= s["echo_requests"] <= attempts + tasks * 20, (r, s)
    assert s["rejected"] == 0 and s["mode"] == "lower", s
    # every request the module answered was either handed to its own
    # future or, cancelled, discarded and counted as stale; none lost
    assert (io["overruns"], io["lost"], io["foreign"]) == ("0", "0", "0"), io
    assert s["echo_requests"] == completed + tasks * 20 + int(io["stale"]), (r, io, s)


def test_async_client_one_at_a_time():
    p = Serve("async-serve")
    try:
        assert p.cmd("echo Hello") == {"_": "echo", "msg": "Hello", "mode": "none"}
        assert p.cmd("set upper") == {"_": "set", "mode": "upper", "previous": "none"}
        assert p.cmd("get") == {"_": "get", "mode": "upper"}
        assert p.cmd("echo Hello") == {"_": "echo", "msg": "HELLO", "mode": "upper"}
        assert p.item() == {"_": "event", "mode": "upper", "previous": "none", "belief": "upper"}
        rc, err = p.finish()
        assert (rc, err) == (0, ""), err
    finally:
        p.kill()
    assert ok("stats") == {**zero_stats("upper"), "echo_requests": 2, "echo_bytes": 10,
                           "chars_converted": 4, "mode_changes": 1}


def test_event_stream_in_order(raw):
    """Blocking and async subscriptions see exactly the events of a
    sequence of sets, in order, and none for failed ones."""
    procs = [Serve("serve"), Serve("async-serve")]
    try:
        wait_for_listeners(raw.family["groups"]["events"], 2)
        seq = ["upper", "upper", "lower", "none", "lower", "upper", "none"]
        prev = "none"
        want = []
        for i, m in enumerate(seq):
            ok("set-mode", m)
            if i == 2:
                with pytest.raises(genl.NetlinkError):
                    raw.set_case(7)  # refused: no event
            want.append({"_": "event", "mode": m, "previous": prev, "belief": m})
            prev = m
        for p in procs:
            got = [p.item(WAIT) for _ in want]
            assert got == want
            p.no_item(1.0)
            assert p.finish()[0] == 0
    finally:
        for p in procs:
            p.kill()


def test_example_async_echo():
    """examples/async_echo: 16 tasks x 50 distinct messages on one client,
    every reply checked."""
    ok("set-mode", "lower")
    res = run([EXAMPLES / "async_echo", "16", "50"], timeout=120 * SLOW)
    assert res.rc == 0 and res.err == "", res
    lines = res.out.splitlines()
    assert len(lines) == 1 and "800 replies checked" in lines[0], res
    assert ok("stats")["echo_requests"] == 800


def test_example_async_monitor_across_a_reload(raw):
    """examples/async_monitor prints its port, then one line per item:
    an event, the family removed and added again, the next event."""
    mon = Lines([EXAMPLES / "async_monitor", "4"])
    try:
        first = mon.q.get(timeout=WAIT)
        assert first is not None and first.startswith("port "), first
        port = int(first.split()[1])
        assert port in netlink_ports(mon.proc.pid)
        wait_for_listeners(raw.family["groups"]["events"], 1)
        wait_for_listeners(0x10, 1)  # the controller's notify group
        ok("set-mode", "upper")
        unload_module()
        load_module()
        with genl.GenlSocket() as s:
            fam = s.get_family()
        ok("set-mode", "lower")
        rc = mon.proc.wait(timeout=WAIT)
        got = []
        while (line := mon.q.get(timeout=WAIT)) is not None:
            got.append(line)
        assert (rc, mon.proc.stderr.read()) == (0, b""), got
        assert got == ["mode none -> upper\n", "family removed\n",
                       f"family added: id {fam['id']}, version 1\n", "mode none -> lower\n"]
    finally:
        if mon.proc.poll() is None:
            mon.proc.kill()
            mon.proc.wait()
