"""A forger: a root process's own netlink socket sending messages that look
like the kernel's (replies, CASE_NTF events, the controller's family
notifications) to another process's port.

Netlink lets any process unicast to any port of its namespace; the header
fields (type, flags, sequence number, port) are the sender's to write, so a
forged message is identical to the kernel's but for the sender's address
(nl_pid of the source, not 0), which only `recvfrom`/`msg_name` shows.

Ports come from the printed lines of the program under test and from
/proc (`netlink_ports`: its file descriptors' socket inodes in
/proc/net/netlink), sequence numbers from the LD_PRELOAD shim
tests/tools/libseqlog.so (`SeqLog`), which writes down every netlink message
a program sends.
"""

import os
import socket
import struct
from pathlib import Path

import genl

CTRL_CMD_NEWFAMILY = 1
CTRL_CMD_DELFAMILY = 2
CTRL_VERSION = 2


def message(nltype, seq, port, cmd, version, attrs, flags=0):
    """One netlink message: header, genl header, attributes."""
    payload = struct.pack("=BBH", cmd, version, 0) + attrs
    return struct.pack("=IHHII", 16 + len(payload), nltype, flags, seq, port) + payload


def case_ntf(family_id, mode, prev):
    """A CASE_NTF as the kernel multicasts it (seq 0, port 0)."""
    return message(family_id, 0, 0, genl.CMD_CASE_NTF, genl.FAMILY_VERSION,
                   genl.nla_u32(genl.A_MODE, mode) + genl.nla_u32(genl.A_PREV_MODE, prev))


def echo_reply(family_id, seq, port, msg, mode):
    """An ECHO reply as the kernel sends it to the requester's PORT."""
    if isinstance(msg, str):
        msg = msg.encode()
    return message(family_id, seq, port, genl.CMD_ECHO, genl.FAMILY_VERSION,
                   genl.nla_str(genl.A_MSG, msg) + genl.nla_u32(genl.A_MODE, mode))


def get_case_reply(family_id, seq, port, mode):
    return message(family_id, seq, port, genl.CMD_GET_CASE, genl.FAMILY_VERSION,
                   genl.nla_u32(genl.A_MODE, mode))


def ctrl_family_ntf(cmd, family_id, groups=(), name=genl.FAMILY, version=genl.FAMILY_VERSION):
    """The controller's CTRL_CMD_NEWFAMILY/DELFAMILY notification for a
    family (as multicast on nlctrl's `notify` group), GROUPS being
    (name, id) pairs."""
    attrs = (genl.nla(genl.CTRL_ATTR_FAMILY_ID, struct.pack("=H", family_id) + b"\0\0")
             + genl.nla_str(genl.CTRL_ATTR_FAMILY_NAME, name)
             + genl.nla_u32(genl.CTRL_ATTR_VERSION, version)
             + genl.nla_u32(genl.CTRL_ATTR_HDRSIZE, 0)
             + genl.nla_u32(genl.CTRL_ATTR_MAXATTR, genl.A_MAX))
    if groups:
        nest = b""
        for i, (gname, gid) in enumerate(groups, 1):
            nest += genl.nla(i | genl.NLA_F_NESTED,
                             genl.nla_u32(genl.CTRL_ATTR_MCAST_GRP_ID, gid)
                             + genl.nla_str(genl.CTRL_ATTR_MCAST_GRP_NAME, gname))
        attrs += genl.nla(genl.CTRL_ATTR_MCAST_GROUPS | genl.NLA_F_NESTED, nest)
    return message(genl.GENL_ID_CTRL, 0, 0, cmd, CTRL_VERSION, attrs)


class Forger:
    """A plain NETLINK_GENERIC socket of this (root) process."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, genl.NETLINK_GENERIC)
        self.sock.bind((0, 0))
        self.port = self.sock.getsockname()[0]
        self.sent = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, port, data):
        """Unicasts DATA to PORT without waiting: it returns only once the
        datagram is in PORT's receive queue (a full or missing receiver is
        an error here), so success proves delivery."""
        n = self.sock.sendto(data, socket.MSG_DONTWAIT, (port, 0))
        assert n == len(data), (n, len(data))
        self.sent += 1


def netlink_ports(pid, protocol=genl.NETLINK_GENERIC):
    """The port ids of the netlink sockets (of PROTOCOL) that process PID
    holds, from its descriptors' inodes and /proc/net/netlink (the
    process's own netns): {port: {"groups": mask, "rmem": n, "drops": n}}."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:["):-1]))
    out = {}
    with open(f"/proc/{pid}/net/netlink", encoding="ascii") as f:
        header = f.readline().split()
        col = {name: i for i, name in enumerate(header)}
        for line in f:
            v = line.split()
            if int(v[col["Eth"]]) != protocol or int(v[col["Inode"]]) not in inodes:
                continue
            out[int(v[col["Pid"]])] = {"groups": int(v[col["Groups"]], 16),
                                       "rmem": int(v[col["Rmem"]]),
                                       "drops": int(v[col["Drops"]])}
    return out


class SeqLog:
    """The file libseqlog.so appends to: one line per netlink message sent,
    'port=P type=T flags=F seq=S'."""

    def __init__(self, path):
        self.path = Path(path)

    def messages(self):
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            out.append({k: int(v) for k, v in (w.split("=") for w in line.split())})
        return out

    def last_seq(self, port, nltype=None):
        seqs = [m["seq"] for m in self.messages()
                if m["port"] == port and (nltype is None or m["type"] == nltype)]
        assert seqs, f"no message from port {port} in {self.path}: {self.messages()}"
        return seqs[-1]
