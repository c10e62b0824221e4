"""Overruns in the order things happened, for the blocking and the tokio
subscriptions (genl-echo-probe `serve` / `async-serve`) and `nlctl monitor`.

A subscriber with a tiny receive buffer is stopped (SIGSTOP) while the mode
is set 201 times. Its buffer holds the first events of the flood; the
kernel drops the rest and flags ENOBUFS, which a receive reports before the
queued events. The subscriber must yield the queued events first (a prefix
of the real sequence, at least one), then exactly one Overrun, then the
events that come later. A consumer that resyncs with get_mode on Overrun
and applies the events after it ends in the kernel's mode.
"""

import signal

import genl
from conftest import ok, wait_for_listeners
from served import WAIT, Serve, stop_process
from test_events import Monitor, ev

RCVBUF = 1024
FLOOD = 200
NAMES = genl.MODE_NAMES


def flood(raw):
    """Sets lower/upper FLOOD times, then none. Returns the events the
    kernel sent, as (mode, previous) names, starting from upper."""
    seq = []
    prev = genl.MODE_UPPER
    for i in range(FLOOD):
        m = genl.MODE_LOWER if i % 2 == 0 else genl.MODE_UPPER
        raw.set_case(m)
        seq.append((NAMES[m], NAMES[prev]))
        prev = m
    raw.set_case(genl.MODE_NONE)
    seq.append(("none", NAMES[prev]))
    return seq


def check_order(items, seq):
    """ITEMS up to the overrun: a prefix of SEQ (at least one event)."""
    k = len(items)
    assert 1 <= k < len(seq), f"{k} events before the overrun: {items}"
    assert items == seq[:k], (items, seq[:k])


def test_subscriptions_overrun_in_order(raw):
    """Both front ends at once; each consumer resyncs with get_mode on
    Overrun (its `belief` is printed with every item)."""
    wait_group = raw.family["groups"]["events"]
    procs = [Serve("serve", RCVBUF), Serve("async-serve", RCVBUF)]
    try:
        wait_for_listeners(wait_group, 2)
        raw.set_case(genl.MODE_UPPER)
        for p in procs:
            assert p.item() == {"_": "event", "mode": "upper", "previous": "none", "belief": "upper"}
            p.stop()
        seq = flood(raw)
        for p in procs:
            p.cont()
        for p in procs:
            before = []
            while True:
                it = p.item()
                if it["_"] == "overrun":
                    break
                assert it["_"] == "event", (it, before)
                # applying each event: the belief follows
                assert it["belief"] == it["mode"], it
                before.append((it["mode"], it["previous"]))
            check_order(before, seq)
            # resynced after the queued events: the kernel's mode
            assert it == {"_": "overrun", "belief": "none"}, it
            p.no_item(1.0)  # exactly one overrun, nothing older after it
        raw.set_case(genl.MODE_LOWER)
        for p in procs:
            assert p.item() == {"_": "event", "mode": "lower", "previous": "none", "belief": "lower"}
            assert p.cmd("get") == {"_": "get", "mode": "lower"}
            p.no_item(0.5)
            rc, err = p.finish()
            assert rc == 0, err
    finally:
        for p in procs:
            p.kill()


def test_monitor_overrun_in_order(raw):
    m = Monitor("--rcvbuf", str(RCVBUF))
    try:
        wait_for_listeners(raw.family["groups"]["events"], 1)
        ok("set-mode", "upper")
        assert m.next(WAIT) == ev("upper", "none")
        stop_process(m.proc)
        seq = flood(raw)
        m.proc.send_signal(signal.SIGCONT)
        before = []
        while True:
            e = m.next(WAIT)
            if e == {"event": "overrun"}:
                break
            assert e["event"] == "mode", (e, before)
            before.append((e["mode"], e["previous"]))
        check_order(before, seq)
        ok("set-mode", "lower")
        assert m.next(WAIT) == ev("lower", "none")
        m.proc.terminate()
        rc, rest, err = m.finish()
        assert rest == [], rest
        assert err == "nlctl: warning: event socket overrun (ENOBUFS): some events were lost\n", err
    finally:
        m.kill()
