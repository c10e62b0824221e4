"""The kernel's generic YNL client drives the module from the family's YNL
spec genl-kmod/genl_echo.yaml alone: every operation and the events group.
The client is the booted kernel's own where the tests have its tree
(GENL_ECHO_LINUX_TOOLS: Debian's 7.3, tools/net/ynl/pyynl/cli.py from
linux-source-7.3, unpacked by tests/trixie-env.sh), else tools/net/ynl/cli.py
from Debian's linux-source-6.12 (tests/kernel-tools.sh)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import genl
from conftest import ROOT, run, wait_for_listeners

TOOLS = Path(os.environ.get("GENL_ECHO_LINUX_TOOLS") or ROOT / ".cache" / "linux-tools")
# tools/net/ynl/cli.py moved to tools/net/ynl/pyynl/ in 6.14
CLI = next((p for p in (TOOLS / "ynl" / "pyynl" / "cli.py", TOOLS / "ynl" / "cli.py")
            if p.is_file()), TOOLS / "ynl" / "cli.py")
# genetlink-legacy: the schema level the spec declares, unpatched.
SCHEMA = TOOLS / "netlink" / "genetlink-legacy.yaml"
SPEC = ROOT / "genl-kmod" / "genl_echo.yaml"


def ynl(*args):
    # Validating the spec costs seconds under emulation: it is done once, in
    # test_spec_validates_against_kernel_schema.
    assert CLI.is_file(), f"no {CLI}: run tests/kernel-tools.sh"
    return run([sys.executable, CLI, "--spec", SPEC, "--no-schema", *args])


def ynl_do(op, attrs=None):
    args = ["--do", op, "--output-json"]
    if attrs is not None:
        args += ["--json", json.dumps(attrs)]
    res = ynl(*args)
    assert res.rc == 0 and res.err == "", res
    return json.loads(res.out)


def test_list_ops():
    res = ynl("--list-ops")
    assert res.rc == 0, res
    ops = {line.split()[0] for line in res.out.splitlines() if line.strip()}
    assert ops == {"echo", "set-case", "get-case", "stats"}, res
    res = ynl("--list-msgs")
    assert res.rc == 0, res
    assert "case-ntf" in res.out, res


def test_every_operation():
    assert ynl_do("echo", {"msg": "Hello, World"}) == {
        "msg": "Hello, World", "mode": "none"}
    assert ynl_do("set-case", {"mode": "upper"}) == {
        "mode": "upper", "prev-mode": "none"}
    assert ynl_do("get-case") == {"mode": "upper"}
    assert ynl_do("echo", {"msg": "Hello, World"}) == {
        "msg": "HELLO, WORLD", "mode": "upper"}
    assert ynl_do("stats") == {
        "mode": "upper",
        "stats-echo-requests": 2,
        "stats-echo-bytes": 24,
        "stats-chars-converted": 8,
        "stats-mode-changes": 1,
        "stats-rejected": 0,
    }


def test_extack_reaches_ynl():
    res = ynl("--do", "set-case", "--json", json.dumps({"mode": 7}))
    assert res.rc != 0, res
    assert "integer out of range" in res.out + res.err, res
    assert ynl_do("get-case") == {"mode": "none"}


def test_subscribe_events():
    # 6.12's cli.py cannot take a notification on the socket it is waiting
    # for a reply on (_ops() loses its op), so one process listens and
    # another sets the mode.
    listener = subprocess.Popen(
        [sys.executable, CLI, "--spec", SPEC, "--no-schema",
         "--subscribe", "events", "--sleep", "20", "--output-json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with genl.GenlSocket() as s:
            group = s.get_family()["groups"]["events"]
        wait_for_listeners(group, 1)
        assert ynl_do("set-case", {"mode": "lower"}) == {
            "mode": "lower", "prev-mode": "none"}
        assert ynl_do("set-case", {"mode": "upper"}) == {
            "mode": "upper", "prev-mode": "lower"}
        out, err = listener.communicate(timeout=120)
    finally:
        listener.kill()
    assert listener.returncode == 0 and err == b"", (out, err)
    text = out.decode()
    if text.startswith("["):
        # 6.12's cli.py: the queued notifications, one JSON list at exit
        events = json.loads(text)
    else:
        # 7.3's: each notification as it arrives, one JSON object a line
        events = [json.loads(line) for line in text.splitlines()]
    assert [(e["name"], e["msg"]) for e in events] == [
        ("case-ntf", {"mode": "lower", "prev-mode": "none"}),
        ("case-ntf", {"mode": "upper", "prev-mode": "lower"}),
    ]


def test_spec_validates_against_kernel_schema():
    res = run([sys.executable, "-c",
               "import sys, yaml, jsonschema;"
               "jsonschema.validate(yaml.safe_load(open(sys.argv[1])),"
               " yaml.safe_load(open(sys.argv[2])))", SPEC, SCHEMA])
    assert res.rc == 0, res


def test_no_module_no_family():
    subprocess.run(["rmmod", "genl_echo"], check=True)
    res = ynl("--do", "get-case")
    assert res.rc != 0
    assert "not supported by the kernel" in res.out + res.err, res
