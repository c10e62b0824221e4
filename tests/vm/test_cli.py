"""Every nlctl command and every key of its JSON output."""

import json

import pytest

import genl
from conftest import assert_error, nlctl, ok, zero_stats


def test_echo_default_mode_none():
    assert ok("echo", "Hello, World") == {"msg": "Hello, World", "mode": "none"}


def test_echo_output_is_one_compact_line():
    res = nlctl("echo", "hi")
    assert res.rc == 0, res
    assert res.out == '{"msg":"hi","mode":"none"}\n', res


def test_set_mode_reply_keys():
    assert ok("set-mode", "upper") == {"mode": "upper", "previous": "none"}
    assert ok("set-mode", "lower") == {"mode": "lower", "previous": "upper"}
    assert ok("set-mode", "lower") == {"mode": "lower", "previous": "lower"}
    assert ok("set-mode", "none") == {"mode": "none", "previous": "lower"}


@pytest.mark.parametrize("mode", ["none", "upper", "lower"])
def test_get_mode(mode):
    ok("set-mode", mode)
    assert ok("get-mode") == {"mode": mode}


def test_echo_each_mode():
    msg = "Hello, World 123"
    assert ok("echo", msg) == {"msg": msg, "mode": "none"}
    ok("set-mode", "upper")
    assert ok("echo", msg) == {"msg": "HELLO, WORLD 123", "mode": "upper"}
    ok("set-mode", "lower")
    assert ok("echo", msg) == {"msg": "hello, world 123", "mode": "lower"}
    ok("set-mode", "none")
    assert ok("echo", msg) == {"msg": msg, "mode": "none"}


def test_stats_keys_fresh():
    assert ok("stats") == zero_stats()


def test_stats_value_types():
    s = ok("stats")
    assert set(s) == set(zero_stats()), s
    assert isinstance(s["mode"], str)
    for k in zero_stats():
        if k != "mode":
            assert type(s[k]) is int, (k, s[k])


def test_pretty_output():
    res = nlctl("--pretty", "echo", "hi")
    assert res.rc == 0, res
    assert len(res.out.splitlines()) > 1, res
    assert json.loads(res.out) == {"msg": "hi", "mode": "none"}
    res = nlctl("--pretty", "stats")
    assert res.rc == 0, res
    assert json.loads(res.out) == {**zero_stats(), "echo_requests": 1, "echo_bytes": 2}


def test_echo_stdin_strips_one_newline():
    assert ok("echo", "-", stdin="hello\n") == {"msg": "hello", "mode": "none"}
    assert ok("echo", "-", stdin="hello\n\n") == {"msg": "hello\n", "mode": "none"}
    assert ok("echo", "-", stdin="hello") == {"msg": "hello", "mode": "none"}
    assert ok("echo", "-", stdin="") == {"msg": "", "mode": "none"}
    assert ok("echo", "-", stdin="\n") == {"msg": "", "mode": "none"}
    assert ok("echo", "-", stdin="a\nb\n") == {"msg": "a\nb", "mode": "none"}


def test_echo_argv_keeps_newlines():
    assert ok("echo", "a\n") == {"msg": "a\n", "mode": "none"}


def test_json_escaping():
    msg = 'quote" backslash\\ tab\t ctrl\x01 slash/'
    assert ok("echo", msg) == {"msg": msg, "mode": "none"}
    ok("set-mode", "upper")
    assert ok("echo", msg) == {"msg": msg.upper(), "mode": "upper"}


# usage errors: exit 2, nothing sent ------------------------------------

@pytest.mark.parametrize("args", [
    ["set-mode", "bogus"],
    ["set-mode", "UPPER"],
    ["set-mode"],
    ["set-mode", "upper", "lower"],
    ["echo"],
    ["frobnicate"],
    [],
    ["--netns"],
    ["monitor", "--count", "x"],
])
def test_usage_errors(args):
    res = nlctl(*args)
    assert res.rc == 2, res
    assert res.out == "", res
    assert res.err.strip() != "", res
    # nothing reached the kernel
    assert ok("stats") == zero_stats()


def test_help_exits_0():
    res = nlctl("--help")
    assert res.rc == 0, res
    for cmd in ["echo", "set-mode", "get-mode", "stats", "monitor", "info"]:
        assert cmd in res.out, (cmd, res)


def test_info(raw):
    fam = raw.family
    info = ok("info")
    assert info["id"] == fam["id"]
    assert info["name"] == "genl_echo"
    assert info["version"] == genl.FAMILY_VERSION == fam["version"]
    assert info["hdrsize"] == 0
    assert info["maxattr"] == genl.A_MAX
    assert info["mcast_groups"] == [{"name": "events", "id": fam["groups"]["events"]}]
    ops = {op["id"]: op for op in info["ops"]}
    assert sorted(ops) == [1, 2, 3, 4], info["ops"]
    names = {1: "echo", 2: "set_case", 3: "get_case", 4: "stats"}
    for cmd, op in ops.items():
        assert op["name"] == names[cmd], op
        f = op["flags"]
        assert f["do"] is True and f["dump"] is False, op
        assert f["admin_perm"] is False, op
        assert f["uns_admin_perm"] is (cmd == genl.CMD_SET_CASE), op
        assert f["raw"] == fam["ops"][cmd], (op, fam["ops"])
        assert op["dump_policy"] is None, op
    # the attributes each command accepts, with their limits
    echo_attrs = {a["name"]: a for a in ops[1]["do_policy"]["attrs"]}
    assert echo_attrs["msg"]["type"] == "nul_string", echo_attrs
    assert echo_attrs["msg"]["max_length"] == genl.MSG_MAX, echo_attrs
    set_attrs = {a["name"]: a for a in ops[2]["do_policy"]["attrs"]}
    assert set_attrs["mode"]["type"] == "u32", set_attrs
    assert set_attrs["mode"].get("max_value") == genl.MODE_LOWER, set_attrs
    assert set_attrs["mode"].get("min_value", 0) == 0, set_attrs
    assert info["policies"], info
    for a in ops[3]["do_policy"]["attrs"] if ops[3]["do_policy"] else []:
        assert a["name"] not in ("msg",), ops[3]


def test_info_other_family():
    info = ok("info", "--family", "nlctrl")
    assert info["name"] == "nlctrl" and info["id"] == genl.GENL_ID_CTRL, info


def test_info_pretty_matches_compact():
    a = ok("info")
    res = nlctl("--pretty", "info")
    assert res.rc == 0, res
    assert json.loads(res.out) == a


def test_nul_in_stdin_is_usage_error():
    res = nlctl("echo", "-", stdin=b"ab\0cd\n")
    assert_error(res, 2)
    assert ok("stats") == zero_stats()


def test_non_utf8_reply_has_msg_hex():
    ok("set-mode", "upper")
    res = nlctl("echo", b"\xff\xfeAb")
    assert res.rc == 0, res
    assert res.json == {"msg": "\ufffd\ufffdAB", "mode": "upper", "msg_hex": "fffe4142"}


def test_utf8_reply_has_no_msg_hex():
    assert "msg_hex" not in ok("echo", "é")
