"""Fixtures for the guest suite. Runs as root inside the virtme-ng VM.

Every test starts with a freshly loaded module (rmmod + insmod of
$GENL_ECHO_KO), so the initial netns has mode none and zero counters, unless
it is marked `module_unloaded` (the module is then unloaded when it starts).
Network namespaces made with the `netns` fixture are deleted after the test.
At the end of the session the module is unloaded and the kernel log is
checked: a WARNING, BUG, Oops, refcount, general protection or KASAN line
fails the run.
"""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

import genl

ROOT = Path(os.environ.get("GENL_ECHO_ROOT", Path(__file__).resolve().parents[2]))
KVER = os.environ.get("GENL_ECHO_KVER", os.uname().release)
KO = Path(os.environ.get("GENL_ECHO_KO", ROOT / "genl-kmod" / "genl_echo.ko"))
# which implementation KO is: "c" (genl-kmod/) or "rust" (genl-kmod-rs/)
IMPL = os.environ.get("GENL_ECHO_MODULE", "c")
# results: tests/out/KVER, or tests/out/KVER-rust (tests/lib.sh: suite_name)
OUT = Path(os.environ.get("GENL_ECHO_OUT", "/tmp")) / (KVER if IMPL == "c" else f"{KVER}-{IMPL}")
NLCTL = ROOT / "target" / "release" / "nlctl"
MODULE = "genl_echo"

BAD_DMESG = re.compile(
    r"WARNING|\bBUG\b|Oops|refcount|general protection|KASAN|UBSAN|"
    r"Call Trace|list_(add|del) corruption|kernel BUG|stack-protector|"
    # the debug kernel's: DEBUG_OBJECTS, lockdep, kmemleak, hung tasks
    r"ODEBUG|locking correctness validator|possible (circular|recursive) locking|"
    r"suspicious RCU usage|blocked for more than")

# tests/vm/debug/ needs the debug kernel (tests/run-debug-tier.sh sets this).
collect_ignore = [] if os.environ.get("GENL_ECHO_DEBUG_TIER") == "1" else ["debug"]

# How long the long runs are (the fuzzer's seeds, the stress tests, the
# load/unload cycles, the tokio storm): GENL_ECHO_SIZES=full, the default,
# or reduced (tests/run-debug-tier.sh sets it: under KASAN and lockdep these
# messages cost 10-25 times as much, and they report a bad path the first
# time it runs). The same tests run either way, with the same checks; see
# docs/testing.md ("Where the long runs run").
SIZES = os.environ.get("GENL_ECHO_SIZES") or "full"
if SIZES not in ("full", "reduced"):
    raise pytest.UsageError(f"GENL_ECHO_SIZES={SIZES!r}: full or reduced")


def sized(full, reduced):
    """FULL, or REDUCED under GENL_ECHO_SIZES=reduced."""
    return full if SIZES == "full" else reduced

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


class Result:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.out_bytes = proc.stdout
        self.out = proc.stdout.decode("utf-8", "surrogateescape")
        self.err = proc.stderr.decode("utf-8", "surrogateescape")

    @property
    def json(self):
        assert self.rc == 0, self
        lines = self.out.splitlines()
        assert len(lines) == 1, f"expected one line of JSON, got {self.out!r}"
        assert self.out.endswith("\n"), f"no final newline: {self.out!r}"
        return json.loads(self.out)

    def __repr__(self):
        out = self.out if len(self.out) < 2000 else self.out[:2000] + "..."
        return f"<{' '.join(map(repr, self.args))[:500]} rc={self.rc} out={out!r} err={self.err!r}>"


def run(args, stdin=None, timeout=120, check=False):
    if isinstance(stdin, str):
        stdin = stdin.encode()
    args = [a if isinstance(a, bytes) else str(a) for a in args]
    proc = subprocess.run(args, input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)
    res = Result(args, proc)
    if check:
        assert res.rc == 0, res
    return res


def nlctl(*args, stdin=None, prefix=(), timeout=120):
    """Runs nlctl ARGS (after PREFIX, e.g. setpriv or unshare)."""
    return run([*prefix, NLCTL, *args], stdin=stdin, timeout=timeout)


def ok(*args, **kw):
    """Runs nlctl, asserts exit 0, nothing on stderr, one JSON line; returns it."""
    res = nlctl(*args, **kw)
    assert res.rc == 0, res
    assert res.err == "", res
    return res.json


def assert_error(res, code, *needles):
    """nlctl failed with CODE, printed nothing on stdout and exactly one
    'nlctl: ...' line on stderr containing every needle (case-insensitive)."""
    assert res.rc == code, res
    assert res.out == "", res
    lines = res.err.splitlines()
    assert len(lines) == 1, f"expected one stderr line: {res!r}"
    assert lines[0].startswith("nlctl: "), res
    for n in needles:
        assert n.lower() in lines[0].lower(), f"{n!r} not in {lines[0]!r}"
    return lines[0]


def module_loaded():
    return Path(f"/sys/module/{MODULE}").exists()


def unload_module():
    if module_loaded():
        r = run(["rmmod", MODULE])
        assert r.rc == 0, f"rmmod failed: {r!r}"
    assert not module_loaded()


def load_module():
    assert KO.is_file(), f"no module at {KO} (tests/build-kmod.sh {KVER})"
    r = run(["insmod", KO])
    assert r.rc == 0, f"insmod failed: {r!r}"
    assert module_loaded()


def reload_module():
    unload_module()
    load_module()


def stats(*args, **kw):
    return ok(*args, "stats", **kw)


def zero_stats(mode="none"):
    return {"mode": mode, "echo_requests": 0, "echo_bytes": 0,
            "chars_converted": 0, "mode_changes": 0, "rejected": 0}


@pytest.fixture(autouse=True)
def fresh_module(request):
    if request.node.get_closest_marker("module_unloaded"):
        unload_module()
    else:
        reload_module()
    yield


@pytest.fixture
def netns():
    """netns('a') creates /run/netns/a (deleted after the test)."""
    made = []

    def make(name):
        r = run(["ip", "netns", "add", name])
        assert r.rc == 0, r
        made.append(name)
        return name

    yield make
    for name in made:
        run(["ip", "netns", "del", name])


@pytest.fixture
def raw():
    """A raw generic netlink socket in the initial netns, family resolved."""
    with genl.GenlSocket() as s:
        s.get_family()
        yield s


def wait_for_listeners(group_id, count, ns_prefix=(), timeout=30):
    """Waits until COUNT NETLINK_GENERIC sockets of the netns have joined
    GROUP_ID (as /proc/net/netlink shows for group ids below 32)."""
    if group_id >= 32:
        time.sleep(3)
        return
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        text = run([*ns_prefix, "cat", "/proc/net/netlink"], check=True).out
        n = 0
        for line in text.splitlines()[1:]:
            f = line.split()
            if int(f[1]) == 16 and int(f[3], 16) & (1 << (group_id - 1)):
                n += 1
        if n >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"only {n} listeners on group {group_id} after {timeout}s")


def pytest_report_header(config):
    return f"long runs: {SIZES} size (GENL_ECHO_SIZES)"


def pytest_configure(config):
    config.addinivalue_line("markers", "module_unloaded: start with the module unloaded")
    OUT.mkdir(parents=True, exist_ok=True)
    # keep the boot log, then start the session's log from empty
    boot = subprocess.run(["dmesg"], stdout=subprocess.PIPE, check=False).stdout
    (OUT / "dmesg-boot.txt").write_bytes(boot)
    # what the log check would have said of the boot, kept (not judged: the
    # boot is not the module's) for tests/run-debug-tier.sh to print
    reports = problem_lines(boot.decode("utf-8", "replace").splitlines())
    (OUT / "dmesg-boot-reports.txt").write_text("".join(f"{r}\n" for r in reports))
    subprocess.run(["dmesg", "-C"], check=False)


# The debug tier fails allocations on purpose, and the kernel reports some
# failures with a stack dump under a line saying what failed (vmalloc's
# warn_alloc, sysctl registration). Such a dump is expected; a report
# starting inside it (WARNING:, BUG:, Oops, KASAN:) still counts.
ALLOC_FAILURE = re.compile(r"vmalloc error: |page allocation failure: |"
                           r"could not get directory: ")
REPORT_START = re.compile(r"WARNING:|\bBUG\b|Oops|KASAN:|ODEBUG")


def problem_lines(lines):
    bad = []
    in_dump = False
    for line in lines:
        if ALLOC_FAILURE.search(line):
            in_dump = True
            continue
        if in_dump:
            if "</TASK>" in line:
                in_dump = False
            if not REPORT_START.search(line):
                continue
        if BAD_DMESG.search(line):
            bad.append(line)
    return bad


def check_dmesg():
    text = subprocess.run(["dmesg"], stdout=subprocess.PIPE,
                          check=False).stdout.decode("utf-8", "replace")
    (OUT / "dmesg.txt").write_text(text)
    return problem_lines(text.splitlines())


HUNG = []


def hung(what):
    """Stops the session: a process is stuck in the kernel, so rmmod would
    hang too. The kernel log (checked at the end) says why."""
    HUNG.append(what)
    pytest.exit(f"stuck in the kernel: {what}", returncode=1)


def pytest_sessionfinish(session, exitstatus):
    # unload at the end, so exit-path problems show up in the log too
    if HUNG:
        print(f"\nnot unloading the module: {HUNG[0]}")
        session.exitstatus = 1
    elif module_loaded():
        r = subprocess.run(["rmmod", MODULE], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            print(f"\nFINAL rmmod {MODULE} FAILED: {r.stderr.strip()}")
            session.exitstatus = 1
    bad = check_dmesg()
    if bad:
        print("\nKERNEL LOG PROBLEMS (see tests/out/%s/dmesg.txt):" % KVER)
        for line in bad:
            print("  " + line)
        session.exitstatus = 1
