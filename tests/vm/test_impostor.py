"""nlctl against a kernel side that answers wrongly.

tests/kmod-evil/genl_echo_evil.ko registers the family "genl_echo" at
version 2 and gives malformed replies (see its header comment): a missing
attribute, a wrongly sized one, a mode value from a later version, and
unknown extra attributes. nlctl must refuse the first two with one clear line
and exit 1, print the unknown mode as its number, tolerate the extra
attributes, warn about the version, and never panic.
"""

import os
from pathlib import Path

import pytest

from conftest import KVER, OUT, ROOT, nlctl, run, unload_module
from test_hostile import tools  # noqa: F401 (fixture)

EVIL = Path(os.environ.get(
    "GENL_ECHO_EVIL_KO", Path(os.environ.get("GENL_ECHO_OUT", ROOT / "tests" / "out"))
    / "kmod" / KVER / "evil" / "genl_echo_evil.ko"))

pytestmark = pytest.mark.module_unloaded

VERSION_WARNING = ("nlctl: warning: the kernel's genl_echo family is version 2, "
                   "nlctl speaks version 1")


@pytest.fixture(autouse=True)
def impostor():
    unload_module()
    assert EVIL.is_file(), f"no {EVIL} (tests/build-kmod.sh {KVER})"
    r = run(["insmod", EVIL])
    assert r.rc == 0, r
    yield
    r = run(["rmmod", "genl_echo_evil"])
    assert r.rc == 0, r


def split_stderr(res):
    """The version warning, then at most one error line; no panic text."""
    assert "panicked" not in res.err and "RUST_BACKTRACE" not in res.err, res
    lines = res.err.splitlines()
    assert lines and lines[0] == VERSION_WARNING, res
    return lines[1:]


def refused(res, *needles):
    assert res.rc == 1, res
    assert res.out == "", res
    errors = split_stderr(res)
    assert len(errors) == 1 and errors[0].startswith("nlctl: "), res
    for n in needles:
        assert n in errors[0], (n, res)


def test_missing_attribute():
    refused(nlctl("echo", "hello"), "undecodable reply to echo",
            "missing attribute GENL_ECHO_A_MSG")


def test_wrong_attribute_size():
    refused(nlctl("set-mode", "upper"), "mode", "payload is 2 bytes, expected 4")


def test_unknown_mode_value():
    """A mode this client does not know (a newer module's) is a value, not a
    failure of the whole reply: JSON prints it as a number."""
    res = nlctl("stats")
    assert res.rc == 0, res
    assert split_stderr(res) == [], res
    assert res.out == ('{"mode":99,"echo_requests":1,"echo_bytes":2,"chars_converted":3,'
                       '"mode_changes":4,"rejected":5}\n'), res


def test_unknown_attributes_tolerated():
    res = nlctl("get-mode")
    assert res.rc == 0, res
    assert split_stderr(res) == [], res
    assert res.out == '{"mode":"upper"}\n', res


def test_benches_verify_every_reply(tools):
    """Neither bench counts a reply it has not checked: the impostor's ECHO
    reply has no GENL_ECHO_A_MSG, so both stop at the first one."""
    res = nlctl("bench", "--mode", "single", "--size", "16", "--count", "10")
    assert res.rc == 1, res
    assert "panicked" not in res.err, res
    assert "reply" in res.err, res
    c = run([tools["genl_cbench"], "--size", 16, "--count", 10, "--warmup", 0])
    assert c.rc == 2, c  # the tools' die()
    assert c.out == "", c
    assert "unexpected reply" in c.err, c
