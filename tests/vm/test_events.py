"""CASE_NTF events: nlctl monitor, a raw listener, overruns."""

import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

import genl
from conftest import NLCTL, NOBODY, assert_error, nlctl, ok, wait_for_listeners


class Monitor:
    """nlctl monitor ARGS in the background; lines are collected by a thread."""

    def __init__(self, *args, prefix=(), options=()):
        self.proc = subprocess.Popen([*prefix, str(NLCTL), *options, "monitor", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode())
        self.lines.put(None)

    def next(self, timeout=30):
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"monitor ended: {self.finish()}"
        assert line.endswith("\n")
        return json.loads(line)

    def finish(self, timeout=60):
        """Waits for exit; returns (rc, remaining stdout lines as JSON, stderr)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            out = self._drain()
            raise AssertionError(f"monitor did not exit; printed {out}")
        self.t.join(10)
        return rc, self._drain(), self.proc.stderr.read().decode()

    def _drain(self):
        out = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                out.append(json.loads(line))
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def group(raw):
    return raw.family["groups"]["events"]


def ev(mode, prev):
    return {"event": "mode", "mode": mode, "previous": prev}


def test_monitor_sees_sequence_in_order(raw, group):
    m = Monitor("--count", "5")
    try:
        wait_for_listeners(group, 1)
        ok("set-mode", "upper")
        ok("set-mode", "upper")  # unchanged: still an event
        # failed sets: no events
        assert nlctl("set-mode", "bogus").rc == 2
        with pytest.raises(genl.NetlinkError):
            raw.set_case(7)
        with pytest.raises(genl.NetlinkError):
            raw.request(genl.CMD_SET_CASE)
        assert_error(nlctl("set-mode", "none", prefix=NOBODY), 4)
        ok("echo", "not an event")
        ok("get-mode")
        ok("stats")
        ok("set-mode", "lower")
        raw.set_case(genl.MODE_NONE)
        ok("set-mode", "lower")
        rc, lines, err = m.finish()
    finally:
        m.kill()
    assert rc == 0, err
    assert lines == [ev("upper", "none"), ev("upper", "upper"), ev("lower", "upper"),
                     ev("none", "lower"), ev("lower", "none")]


def test_no_event_for_failed_sets(raw, group):
    """Only failed requests, then one good one: the first event is the good one."""
    m = Monitor("--count", "1")
    try:
        wait_for_listeners(group, 1)
        for mode in (3, 7, 0xFFFFFFFF):
            with pytest.raises(genl.NetlinkError):
                raw.set_case(mode)
        assert_error(nlctl("set-mode", "upper", prefix=NOBODY), 4)
        ok("set-mode", "lower")
        rc, lines, err = m.finish()
    finally:
        m.kill()
    assert rc == 0, err
    assert lines == [ev("lower", "none")]


def test_raw_listener_notification_format(raw, group):
    with genl.GenlSocket() as lst:
        lst.get_family()
        assert lst.join() == group
        raw.set_case(genl.MODE_UPPER)
        raw.set_case(genl.MODE_LOWER)
        msgs = lst.notifications(timeout=2)
    assert len(msgs) == 2, [(m.cmd, m.attrs) for m in msgs]
    for m, (mode, prev) in zip(msgs, [(1, 0), (2, 1)]):
        assert m.nltype == raw.family_id
        assert m.cmd == genl.CMD_CASE_NTF
        assert m.seq == 0
        assert m.portid == 0
        a = m.get()
        assert set(a) == {genl.A_MODE, genl.A_PREV_MODE}
        assert (genl.u32(a[genl.A_MODE]), genl.u32(a[genl.A_PREV_MODE])) == (mode, prev)


def test_monitor_count_exits_cleanly(group):
    m = Monitor("--count", "2")
    try:
        wait_for_listeners(group, 1)
        ok("set-mode", "upper")
        ok("set-mode", "none")
        rc, lines, err = m.finish()
    finally:
        m.kill()
    assert (rc, err) == (0, "")
    assert lines == [ev("upper", "none"), ev("none", "upper")]


def test_two_monitors_both_see_events(group):
    a, b = Monitor("--count", "1"), Monitor("--count", "1")
    try:
        wait_for_listeners(group, 2)
        ok("set-mode", "lower")
        ra, la, _ = a.finish()
        rb, lb, _ = b.finish()
    finally:
        a.kill()
        b.kill()
    assert ra == rb == 0
    assert la == lb == [ev("lower", "none")]


def test_unprivileged_monitor(group):
    m = Monitor("--count", "1", prefix=NOBODY)
    try:
        wait_for_listeners(group, 1)
        ok("set-mode", "upper")
        rc, lines, err = m.finish()
    finally:
        m.kill()
    assert rc == 0, err
    assert lines == [ev("upper", "none")]


def test_overrun_then_keeps_working(raw, group):
    """A stopped monitor with a tiny receive buffer misses events: it prints
    {"event":"overrun"} and goes on with the next events."""
    m = Monitor("--rcvbuf", "1024")
    try:
        wait_for_listeners(group, 1)
        m.proc.send_signal(signal.SIGSTOP)
        for i in range(200):
            raw.set_case(genl.MODE_UPPER if i % 2 == 0 else genl.MODE_LOWER)
        raw.set_case(genl.MODE_NONE)  # previous: lower
        m.proc.send_signal(signal.SIGCONT)
        seen = []
        while True:
            e = m.next()
            seen.append(e)
            if e == {"event": "overrun"}:
                break
            assert e["event"] == "mode", seen
        assert len(seen) < 200, "no overrun reported before the end of the flood"
        # still working: drain what was queued after the overrun, then a
        # distinctive event must arrive
        time.sleep(1)
        ok("set-mode", "upper")
        ok("set-mode", "lower")
        tail = []
        while tail[-2:] != [ev("upper", "none"), ev("lower", "upper")]:
            e = m.next()
            assert e == {"event": "overrun"} or e["event"] == "mode", e
            tail.append(e)
            assert len(tail) < 300, tail
        assert m.proc.poll() is None, "monitor exited"
    finally:
        m.kill()


def test_monitor_in_netns_sees_only_its_netns(netns, raw, group):
    netns("ev")
    m = Monitor("--count", "1", options=("--netns", "ev"))
    try:
        wait_for_listeners(group, 1, ns_prefix=("ip", "netns", "exec", "ev"))
        ok("set-mode", "upper")  # initial netns: not seen
        ok("--netns", "ev", "set-mode", "lower")
        rc, lines, err = m.finish()
    finally:
        m.kill()
    assert rc == 0, err
    assert lines == [ev("lower", "none")]
