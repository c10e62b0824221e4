"""The debug kernel's own verdicts, after everything else of the tier ran
(file name order): lockdep still on, and no leak of the module's.

kmemleak's automatic scan is off in this kernel (it stalls emulated guests);
tests/guest-debug.sh clears the boot-time suspects before the first test,
so every report here is from the tests. A scan runs twice, as the kernel's
documentation advises (a leak must be unreferenced in two scans, and at
least 5 s old): first with the module loaded, so a leaked object's
backtrace still shows the module's symbols, then after rmmod, for what its
exit path left behind.
"""

import os
import re
import time
from pathlib import Path

from conftest import OUT, load_module, ok, unload_module

KMEMLEAK = Path("/sys/kernel/debug/kmemleak")
# A report is ours when its backtrace runs through the module or the
# generic netlink request path the tests drive.
OURS = re.compile(r"genl_echo|genl_rcv|genl_family_rcv|genlmsg|netlink_sendmsg|"
                  r"netlink_rcv|genl_register_family|register_pernet|setup_net|"
                  r"load_module|do_init_module|"
                  # a frame in a module that is gone (after rmmod)
                  r"\] 0x[0-9a-f]+$", re.M)


def scan_twice():
    KMEMLEAK.write_text("scan")
    time.sleep(6)
    KMEMLEAK.write_text("scan")
    return KMEMLEAK.read_text()


def reports(text):
    """The report blocks: each starts with 'unreferenced object'."""
    blocks = re.split(r"(?m)^(?=unreferenced object )", text)
    return [b for b in blocks if b.startswith("unreferenced object")]


def test_lockdep_still_on():
    """A lock report anywhere switches lockdep off for the rest of the
    boot; then nothing later would be checked."""
    text = Path("/proc/lockdep_stats").read_text()
    m = re.search(r"debug_locks:\s+(\d+)", text)
    assert m and m.group(1) == "1", text


def test_no_leaks():
    assert KMEMLEAK.exists(), "no kmemleak (CONFIG_DEBUG_KMEMLEAK, debugfs)"
    # some traffic with the module loaded, then the scans
    ok("set-mode", "upper")
    ok("echo", "leak check")
    ok("stats")
    loaded = reports(scan_twice())
    unload_module()
    unloaded = reports(scan_twice())
    load_module()
    (OUT / "kmemleak.txt").write_text(
        "== module loaded ==\n" + "".join(loaded) +
        "== after rmmod ==\n" + "".join(unloaded))
    every = loaded + unloaded
    ours = [b for b in every if OURS.search(b)]
    print(f"kmemleak: {len(every)} reports, {len(ours)} attributable to the module")
    with open(OUT / "reliability.jsonl", "a", encoding="utf-8") as f:
        f.write('{"test": "kmemleak", "kernel": "%s", "reports": %d, "ours": %d}\n'
                % (os.uname().release, len(every), len(ours)))
    assert ours == [], "leaks:\n" + "\n".join(ours)
