"""Counters equal exactly what the test sent."""

import errno

import pytest

import genl
from conftest import NOBODY, assert_error, nlctl, ok, zero_stats


class Expect:
    """Tracks what the counters must be after the requests a test sends."""

    def __init__(self):
        self.s = zero_stats()

    def echo(self, msg, mode):
        data = msg.encode() if isinstance(msg, str) else msg
        self.s["echo_requests"] += 1
        self.s["echo_bytes"] += len(data)
        self.s["chars_converted"] += genl.converted_count(data, mode)

    def set_mode(self, mode):
        if self.s["mode"] != mode:
            self.s["mode_changes"] += 1
        self.s["mode"] = mode


MODES = {"none": genl.MODE_NONE, "upper": genl.MODE_UPPER, "lower": genl.MODE_LOWER}


def test_mixed_sequence(raw):
    e = Expect()
    seq = [
        ("echo", "Hello"), ("set", "upper"), ("echo", "Hello"),
        ("set", "upper"), ("set", "lower"), ("echo", "ABC def"),
        ("get", None), ("echo", ""), ("set", "none"), ("echo", "MiXeD 42"),
        ("set", "lower"), ("echo", "ÀÉ Ab"),
    ]
    for op, arg in seq:
        if op == "echo":
            mode = e.s["mode"]
            got = ok("echo", arg)
            assert got == {"msg": genl.convert(arg.encode(), MODES[mode]).decode(),
                           "mode": mode}
            e.echo(arg, MODES[mode])
        elif op == "set":
            prev = e.s["mode"]
            assert ok("set-mode", arg) == {"mode": arg, "previous": prev}
            e.set_mode(arg)
        else:
            assert ok("get-mode") == {"mode": e.s["mode"]}
        assert ok("stats") == e.s, (op, arg)
    # by hand, so a bug in Expect cannot hide one in the module
    assert e.s == {"mode": "lower", "echo_requests": 6, "echo_bytes": 5 + 5 + 7 + 0 + 8 + 7,
                   "chars_converted": 0 + 4 + 3 + 0 + 0 + 1, "mode_changes": 4,
                   "rejected": 0}


def test_rejected_echo_without_msg(raw):
    """ECHO without its attribute passes the policy, the handler refuses."""
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_ECHO)
    err = ei.value
    assert err.errno == errno.EINVAL, err
    assert err.miss_type == genl.A_MSG or (err.msg and "msg" in err.msg.lower()), err
    assert raw.stats() == {**zero_stats(), "rejected": 1}
    assert ok("stats") == {**zero_stats(), "rejected": 1}


def test_rejected_set_case_without_mode(raw):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_SET_CASE)
    err = ei.value
    assert err.errno == errno.EINVAL, err
    assert err.miss_type == genl.A_MODE or (err.msg and "mode" in err.msg.lower()), err
    assert ok("stats") == {**zero_stats(), "rejected": 1}


def test_policy_rejections_not_counted(raw):
    """Requests the policy refuses never reach a handler: rejected stays 0."""
    with pytest.raises(genl.NetlinkError):
        raw.request(genl.CMD_SET_CASE, genl.nla_u32(genl.A_MODE, 7))
    with pytest.raises(genl.NetlinkError):
        raw.request(genl.CMD_ECHO, genl.nla(genl.A_MSG, b"no nul"))
    with pytest.raises(genl.NetlinkError):
        raw.request(genl.CMD_ECHO, genl.nla_str(genl.A_MSG, "x") + genl.nla_u32(42, 1))
    assert ok("stats") == zero_stats()


def test_permission_denied_not_counted():
    res = nlctl("set-mode", "upper", prefix=NOBODY)
    assert_error(res, 4)
    assert ok("stats") == zero_stats()


def test_rejected_and_counts_together(raw):
    e = Expect()
    ok("set-mode", "upper")
    e.set_mode("upper")
    for i in range(3):
        with pytest.raises(genl.NetlinkError):
            raw.request(genl.CMD_ECHO)
    for msg in ["abc", "DEF", "gHi"]:
        ok("echo", msg)
        e.echo(msg, genl.MODE_UPPER)
    e.s["rejected"] = 3
    assert ok("stats") == e.s
    assert e.s["chars_converted"] == 5 and e.s["echo_bytes"] == 9


def test_many_echoes_raw(raw):
    """1000 requests on one socket: counters add up exactly."""
    raw.set_case(genl.MODE_LOWER)
    total = conv = 0
    for i in range(1000):
        msg = f"Req{i}-XYZ".encode()
        out, _ = raw.echo(msg)
        assert out == genl.convert(msg, genl.MODE_LOWER)
        total += len(msg)
        conv += genl.converted_count(msg, genl.MODE_LOWER)
    assert raw.stats() == {"mode": "lower", "echo_requests": 1000, "echo_bytes": total,
                           "chars_converted": conv, "mode_changes": 1, "rejected": 0}
