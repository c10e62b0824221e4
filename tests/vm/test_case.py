"""Case conversion: ASCII boundaries, bytes >= 0x80, empty and maximum
messages, the size limit."""

import pytest

import genl
from conftest import assert_error, nlctl, ok, zero_stats

BOUNDARY = "@AZ[`az{"


@pytest.mark.parametrize("mode,expected", [
    ("none", "@AZ[`az{"),
    ("upper", "@AZ[`AZ{"),
    ("lower", "@az[`az{"),
])
def test_boundaries(mode, expected):
    ok("set-mode", mode)
    assert ok("echo", BOUNDARY) == {"msg": expected, "mode": mode}
    s = ok("stats")
    assert s["chars_converted"] == (0 if mode == "none" else 2), s
    assert s["echo_bytes"] == 8, s


@pytest.mark.parametrize("ch,upper,lower", [
    ("@", "@", "@"), ("A", "A", "a"), ("B", "B", "b"), ("Y", "Y", "y"),
    ("Z", "Z", "z"), ("[", "[", "["), ("`", "`", "`"), ("a", "A", "a"),
    ("b", "B", "b"), ("y", "Y", "y"), ("z", "Z", "z"), ("{", "{", "{"),
    ("0", "0", "0"), ("~", "~", "~"), (" ", " ", " "), ("\x7f", "\x7f", "\x7f"),
])
def test_single_char_neighbours(ch, upper, lower):
    ok("set-mode", "upper")
    assert ok("echo", ch)["msg"] == upper
    ok("set-mode", "lower")
    assert ok("echo", ch)["msg"] == lower
    s = ok("stats")
    assert s["chars_converted"] == (ch != upper) + (ch != lower), s


def test_utf8_passthrough():
    msg = "héllo wörld ÄÖ ß"
    ok("set-mode", "upper")
    assert ok("echo", msg) == {"msg": "HéLLO WöRLD ÄÖ ß", "mode": "upper"}
    ok("set-mode", "lower")
    assert ok("echo", msg) == {"msg": "héllo wörld ÄÖ ß", "mode": "lower"}
    s = ok("stats")
    # upper: h l l o w r l d = 8; lower: nothing ASCII upper-case
    assert s["chars_converted"] == 8, s
    assert s["echo_bytes"] == 2 * len(msg.encode()), s
    assert s["echo_requests"] == 2, s


def test_every_byte_raw(raw):
    """All bytes 1..255 through the raw socket: only A-Z / a-z change."""
    data = bytes(range(1, 256))
    for mode in (genl.MODE_NONE, genl.MODE_UPPER, genl.MODE_LOWER):
        raw.set_case(mode)
        out, m = raw.echo(data)
        assert m == mode
        assert out == genl.convert(data, mode), mode
    s = raw.stats()
    assert s["chars_converted"] == 52, s
    assert s["echo_bytes"] == 3 * 255, s
    assert s["echo_requests"] == 3, s


def test_latin1_letters_untouched_raw(raw):
    """The kernel's toupper() would turn 0xe9 into 0xc9: must not happen."""
    data = bytes([0xE9, 0xC9, 0xE0, 0xC0, 0xFE, 0xDE, 0xFF, 0xB5, 0xDF])
    raw.set_case(genl.MODE_UPPER)
    assert raw.echo(data) == (data, genl.MODE_UPPER)
    raw.set_case(genl.MODE_LOWER)
    assert raw.echo(data) == (data, genl.MODE_LOWER)
    assert raw.stats()["chars_converted"] == 0


def test_embedded_nul_raw(raw):
    """Bytes after an embedded NUL are not part of the message."""
    raw.set_case(genl.MODE_UPPER)
    attr = genl.nla(genl.A_MSG, b"ab\0cd\0")
    r = raw.request(genl.CMD_ECHO, attr)
    a = r.get()
    assert genl.cstr(a[genl.A_MSG]) == b"AB"
    s = raw.stats()
    assert s["echo_bytes"] == 2, s
    assert s["chars_converted"] == 2, s


def test_empty_message():
    assert ok("echo", "") == {"msg": "", "mode": "none"}
    ok("set-mode", "upper")
    assert ok("echo", "") == {"msg": "", "mode": "upper"}
    s = ok("stats")
    assert s == {**zero_stats("upper"), "echo_requests": 2, "mode_changes": 1}, s


def test_empty_message_raw(raw):
    assert raw.echo(b"") == (b"", genl.MODE_NONE)


def pattern(n):
    """n bytes cycling through printable ASCII (letters, digits, quotes,
    backslash)."""
    alphabet = bytes(range(0x20, 0x7F))
    return (alphabet * (n // len(alphabet) + 1))[:n]


def test_max_message_roundtrip_stdin():
    data = pattern(genl.MSG_MAX)
    ok("set-mode", "upper")
    res = nlctl("echo", "-", stdin=data + b"\n")
    assert res.rc == 0, res
    got = res.json
    assert got["mode"] == "upper"
    assert len(got["msg"]) == genl.MSG_MAX
    assert got["msg"].encode() == genl.convert(data, genl.MODE_UPPER)
    s = ok("stats")
    assert s["echo_bytes"] == genl.MSG_MAX, s
    assert s["chars_converted"] == genl.converted_count(data, genl.MODE_UPPER), s


def test_max_message_roundtrip_argv():
    data = pattern(genl.MSG_MAX).decode()
    assert ok("echo", data) == {"msg": data, "mode": "none"}


def test_max_message_raw(raw):
    data = b"x" * genl.MSG_MAX
    raw.set_case(genl.MODE_UPPER)
    assert raw.echo(data) == (b"X" * genl.MSG_MAX, genl.MODE_UPPER)


@pytest.mark.parametrize("how", ["stdin", "argv"])
def test_over_max_refused_before_sending(how):
    data = pattern(genl.MSG_MAX + 1)
    if how == "stdin":
        res = nlctl("echo", "-", stdin=data + b"\n")
    else:
        res = nlctl("echo", data.decode())
    assert_error(res, 2, "65530")
    assert ok("stats") == zero_stats()


def test_over_max_multibyte_counts_bytes():
    """65530 bytes in UTF-8 pass; one more 2-byte char does not."""
    data = "é" * (genl.MSG_MAX // 2)  # 65530 bytes
    assert ok("echo", data)["msg"] == data
    res = nlctl("echo", data + "é")
    assert_error(res, 2)
    s = ok("stats")
    assert s["echo_requests"] == 1 and s["echo_bytes"] == genl.MSG_MAX, s
