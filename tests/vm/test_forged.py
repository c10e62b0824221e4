"""Forged messages: a root process's own netlink socket sends a CASE_NTF
event, ECHO and GET_CASE replies with the sequence numbers a client will
use next, and the controller's family notifications, to the ports of a
client and of a subscriber. They are byte for byte what the kernel would
send; only the sender's address (nl_pid, not 0) differs. The library (both
front ends) and `nlctl monitor` must ignore them.

The forger (tests/vm/forge.py) sends without waiting, so each send returns
only once the datagram sits in the target socket's receive queue;
`test_forged_datagrams_are_delivered` shows a plain socket receiving them
exactly as sent. The sequence numbers come from tests/tools/libseqlog.so,
preloaded into the probe.
"""

import os

import pytest

import genl
from conftest import ok, wait_for_listeners
from forge import (CTRL_CMD_DELFAMILY, CTRL_CMD_NEWFAMILY, Forger, SeqLog, case_ntf,
                   ctrl_family_ntf, echo_reply, get_case_reply, netlink_ports)
from served import LIBSEQLOG, Serve
from test_events import Monitor, ev

WINDOW = 32  # forged replies for the next WINDOW sequence numbers


def forged_family_ntfs(fam):
    """The controller saying our family left, and came back under another
    id with another events group."""
    gid = fam["groups"]["events"]
    return [ctrl_family_ntf(CTRL_CMD_DELFAMILY, fam["id"]),
            ctrl_family_ntf(CTRL_CMD_NEWFAMILY, fam["id"] + 1,
                            groups=[("events", gid + 1)], version=7)]


def test_forged_datagrams_are_delivered(raw):
    """A plain socket, bound and joined as a subscriber's is, receives each
    forged message exactly as sent; a kernel event differs from the forged
    one only in the sender's address."""
    fam = raw.family
    with genl.GenlSocket() as lst, Forger() as f:
        lst.get_family()
        lst.join()
        forged = [case_ntf(fam["id"], genl.MODE_LOWER, genl.MODE_UPPER),
                  echo_reply(fam["id"], lst.seq + 1, lst.portid, "FORGED", genl.MODE_UPPER),
                  *forged_family_ntfs(fam)]
        for data in forged:
            f.send(lst.portid, data)
        for data in forged:
            got, addr = lst.sock.recvfrom(65536)
            assert got == data
            assert addr == (f.port, 0), addr
        raw.set_case(genl.MODE_UPPER)
        got, addr = lst.sock.recvfrom(65536)
        assert addr[0] == 0, addr  # the kernel
        assert got == case_ntf(fam["id"], genl.MODE_UPPER, genl.MODE_NONE)


def seqlog_env(tmp_path):
    assert LIBSEQLOG.is_file(), f"no {LIBSEQLOG} (make -C tests/tools)"
    log = tmp_path / "seq.log"
    env = {**os.environ, "LD_PRELOAD": str(LIBSEQLOG), "GE_SEQLOG": str(log)}
    return env, SeqLog(log)


@pytest.mark.parametrize("command", ["serve", "async-serve"])
def test_client_and_subscription_ignore_forgeries(raw, tmp_path, command):
    fam = raw.family
    env, seqlog = seqlog_env(tmp_path)
    p = Serve(command, env=env)
    try:
        ports = p.ports
        held = netlink_ports(p.proc.pid)
        assert {ports["client"], ports["sub"], ports["resync"]} <= set(held), (ports, held)
        wait_for_listeners(fam["groups"]["events"], 1)
        assert p.cmd("echo first") == {"_": "echo", "msg": "first", "mode": "none"}
        last = seqlog.last_seq(ports["client"])
        with Forger() as f:
            for s in range(last + 1, last + 1 + WINDOW):
                seq = s & 0xFFFFFFFF
                f.send(ports["client"], echo_reply(fam["id"], seq, ports["client"],
                                                   "SECOND", genl.MODE_UPPER))
                f.send(ports["client"], get_case_reply(fam["id"], seq, ports["client"],
                                                       genl.MODE_LOWER))
            for port in {ports["sub"], ports["client"], ports["resync"]}:
                f.send(port, case_ntf(fam["id"], genl.MODE_LOWER, genl.MODE_UPPER))
                for data in forged_family_ntfs(fam):
                    f.send(port, data)
            assert f.sent == 2 * WINDOW + 3 * len({ports["sub"], ports["client"], ports["resync"]})
        # the requests right after get the kernel's replies
        assert p.cmd("echo second") == {"_": "echo", "msg": "second", "mode": "none"}
        assert p.cmd("get") == {"_": "get", "mode": "none"}
        # the forged replies did fit the sequence numbers the client used
        used = [m["seq"] for m in seqlog.messages() if m["port"] == ports["client"]]
        assert (last + 1) & 0xFFFFFFFF in used, (last, used[-4:])
        # the subscription yields the kernel's event and nothing else
        ok("set-mode", "upper")
        assert p.item() == {"_": "event", "mode": "upper", "previous": "none", "belief": "upper"}
        assert p.cmd("echo third") == {"_": "echo", "msg": "THIRD", "mode": "upper"}
        p.no_item(1.0)
        if command == "async-serve":
            # the client's socket received and dropped every forged datagram
            io = p.cmd("io")
            assert io["foreign"] == str(2 * WINDOW + 3), io
            assert (io["stale"], io["lost"]) == ("0", "0"), io
        rc, err = p.finish()
        assert rc == 0, err
        assert p.unexpected == []
    finally:
        p.kill()


def test_monitor_ignores_forgeries(raw):
    fam = raw.family
    m = Monitor("--count", "1")
    try:
        wait_for_listeners(fam["groups"]["events"], 1)
        ports = netlink_ports(m.proc.pid)
        gid = fam["groups"]["events"]
        if gid < 32:  # /proc/net/netlink shows the first 32 groups
            assert any(v["groups"] & (1 << (gid - 1)) for v in ports.values()), ports
        with Forger() as f:
            for port in ports:
                f.send(port, case_ntf(fam["id"], genl.MODE_LOWER, genl.MODE_UPPER))
                for data in forged_family_ntfs(fam):
                    f.send(port, data)
        ok("set-mode", "upper")
        rc, lines, err = m.finish()
    finally:
        m.kill()
    assert (rc, err) == (0, "")
    assert lines == [ev("upper", "none")]

