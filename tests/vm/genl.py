"""A tiny raw generic netlink client, independent of nlctl.

Builds messages by hand from the UAPI numbers in
genl-kmod/include/uapi/linux/genl_echo.h, resolves the family through the
controller (CTRL_CMD_GETFAMILY) and reads extended acks (NETLINK_EXT_ACK).
"""

import errno
import os
import socket
import struct

SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_GENERIC = 16
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_ACK_TLVS = 0x200  # in the ack: TLVs follow
NLM_F_CAPPED = 0x100    # in the ack: request payload left out

NLMSG_ERROR = 2
NLMSG_DONE = 3

NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
NLMSGERR_ATTR_POLICY = 4
NLMSGERR_ATTR_MISS_TYPE = 5
NLMSGERR_ATTR_MISS_NEST = 6

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_VERSION = 3
CTRL_ATTR_HDRSIZE = 4
CTRL_ATTR_MAXATTR = 5
CTRL_ATTR_OPS = 6
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_OP_ID = 1
CTRL_ATTR_OP_FLAGS = 2
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2

DEFAULT_TIMEOUT = 30  # seconds, for every recv

NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF

# genl_echo UAPI
FAMILY = "genl_echo"
FAMILY_VERSION = 1
MCGRP_EVENTS = "events"
MSG_MAX = 65530

MODE_NONE, MODE_UPPER, MODE_LOWER = 0, 1, 2
MODE_NAMES = {0: "none", 1: "upper", 2: "lower"}

A_PAD = 1
A_MSG = 2
A_MODE = 3
A_PREV_MODE = 4
A_STATS_ECHO_REQUESTS = 5
A_STATS_ECHO_BYTES = 6
A_STATS_CHARS_CONVERTED = 7
A_STATS_MODE_CHANGES = 8
A_STATS_REJECTED = 9
A_MAX = 9

CMD_ECHO = 1
CMD_SET_CASE = 2
CMD_GET_CASE = 3
CMD_STATS = 4
CMD_CASE_NTF = 5


def align4(n):
    return (n + 3) & ~3


def nla(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    return hdr + payload + b"\0" * (align4(len(payload)) - len(payload))


def nla_u32(atype, value):
    return nla(atype, struct.pack("=I", value))


def nla_str(atype, s):
    if isinstance(s, str):
        s = s.encode()
    return nla(atype, s + b"\0")


def parse_attrs(buf):
    """Returns a list of (type, payload) in order; the type has its flags masked."""
    out = []
    off = 0
    while off + 4 <= len(buf):
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4 or off + alen > len(buf):
            raise ValueError(f"bad attribute length {alen} at {off}")
        out.append((atype & NLA_TYPE_MASK, bytes(buf[off + 4:off + alen])))
        off += align4(alen)
    return out


def attr_dict(attrs):
    d = {}
    for t, p in attrs:
        if t in d:
            raise ValueError(f"attribute {t} appears twice")
        d[t] = p
    return d


def u32(p):
    assert len(p) == 4, f"u32 attribute of {len(p)} bytes"
    return struct.unpack("=I", p)[0]


def u64(p):
    assert len(p) == 8, f"u64 attribute of {len(p)} bytes"
    return struct.unpack("=Q", p)[0]


def cstr(p):
    assert p.endswith(b"\0"), "string attribute without its NUL"
    return p[:-1]


class NetlinkError(Exception):
    def __init__(self, err, msg=None, offset=None, miss_type=None,
                 miss_nest=None, policy=None):
        self.errno = err
        self.msg = msg
        self.offset = offset
        self.miss_type = miss_type
        self.miss_nest = miss_nest
        self.policy = policy
        super().__init__(
            f"{errno.errorcode.get(err, err)}: msg={msg!r} offset={offset} "
            f"miss_type={miss_type}")


class Message:
    def __init__(self, nltype, flags, seq, portid, cmd, version, attrs):
        self.nltype = nltype
        self.flags = flags
        self.seq = seq
        self.portid = portid
        self.cmd = cmd
        self.version = version
        self.attrs = attrs  # list of (type, payload)

    def get(self):
        return attr_dict(self.attrs)


class GenlSocket:
    def __init__(self, rcvbuf=None):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                  NETLINK_GENERIC)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.bind((0, 0))
        # no test waits forever for the kernel
        self.sock.settimeout(DEFAULT_TIMEOUT)
        self.portid = self.sock.getsockname()[0]
        self.seq = 1000
        self.family_id = None

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def build(self, nltype, cmd, attrs=b"", flags=NLM_F_REQUEST | NLM_F_ACK,
              version=FAMILY_VERSION, reserved=0, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        payload = struct.pack("=BBH", cmd, version, reserved) + attrs
        return struct.pack("=IHHII", 16 + len(payload), nltype, flags, seq,
                           0) + payload, seq

    def send_raw(self, data):
        self.sock.sendto(data, (0, 0))

    def recv_messages(self, bufsize=1 << 20):
        data = self.sock.recv(bufsize)
        msgs = []
        off = 0
        while off + 16 <= len(data):
            mlen, mtype, mflags, mseq, mpid = struct.unpack_from("=IHHII", data, off)
            body = data[off + 16:off + mlen]
            msgs.append((mtype, mflags, mseq, mpid, body))
            off += align4(mlen)
        return msgs

    @staticmethod
    def parse_error(mflags, body):
        err = -struct.unpack_from("=i", body, 0)[0]
        if err == 0:
            return 0, None
        # the request's nlmsghdr follows; its payload too unless capped
        if mflags & NLM_F_CAPPED:
            tlv_off = 4 + 16
        else:
            olen = struct.unpack_from("=I", body, 4)[0]
            tlv_off = 4 + align4(olen)
        kw = {}
        if mflags & NLM_F_ACK_TLVS:
            for t, p in parse_attrs(body[tlv_off:]):
                if t == NLMSGERR_ATTR_MSG:
                    kw["msg"] = cstr(p).decode()
                elif t == NLMSGERR_ATTR_OFFS:
                    kw["offset"] = u32(p)
                elif t == NLMSGERR_ATTR_MISS_TYPE:
                    kw["miss_type"] = u32(p)
                elif t == NLMSGERR_ATTR_MISS_NEST:
                    kw["miss_nest"] = u32(p)
                elif t == NLMSGERR_ATTR_POLICY:
                    kw["policy"] = p
        return err, NetlinkError(err, **kw)

    def transact(self, nltype, cmd, attrs=b"", flags=NLM_F_REQUEST | NLM_F_ACK,
                 version=FAMILY_VERSION, reserved=0, raw=None):
        """Sends one request, returns its replies (list of Message).

        Raises NetlinkError for an error ack. Without NLM_F_ACK a reply is
        the last message read."""
        if raw is None:
            data, seq = self.build(nltype, cmd, attrs, flags, version, reserved)
        else:
            data = raw
            seq = struct.unpack_from("=I", raw, 8)[0]
        self.send_raw(data)
        replies = []
        while True:
            for mtype, mflags, mseq, mpid, body in self.recv_messages():
                if mseq != seq:
                    continue  # a notification or a stale reply
                if mtype == NLMSG_ERROR:
                    err, exc = self.parse_error(mflags, body)
                    if err:
                        raise exc
                    return replies
                if mtype == NLMSG_DONE:
                    return replies
                cmd_, ver, _ = struct.unpack_from("=BBH", body, 0)
                replies.append(Message(mtype, mflags, mseq, mpid, cmd_, ver,
                                       parse_attrs(body[4:])))
                if not (flags & NLM_F_ACK) and not (mflags & 0x2):  # NLM_F_MULTI
                    return replies

    def get_family(self, name=FAMILY):
        """CTRL_CMD_GETFAMILY by name: returns a dict (id, version, hdrsize,
        maxattr, ops {cmd: flags}, groups {name: id})."""
        (msg,) = self.transact(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                               nla_str(CTRL_ATTR_FAMILY_NAME, name),
                               version=2)
        a = msg.get()
        fam = {
            "id": struct.unpack("=H", a[CTRL_ATTR_FAMILY_ID])[0],
            "name": cstr(a[CTRL_ATTR_FAMILY_NAME]).decode(),
            "version": u32(a[CTRL_ATTR_VERSION]),
            "hdrsize": u32(a[CTRL_ATTR_HDRSIZE]),
            "maxattr": u32(a[CTRL_ATTR_MAXATTR]),
            "ops": {},
            "groups": {},
        }
        for _, op in parse_attrs(a.get(CTRL_ATTR_OPS, b"")):
            od = attr_dict(parse_attrs(op))
            fam["ops"][u32(od[CTRL_ATTR_OP_ID])] = u32(od.get(CTRL_ATTR_OP_FLAGS, b"\0\0\0\0"))
        for _, grp in parse_attrs(a.get(CTRL_ATTR_MCAST_GROUPS, b"")):
            gd = attr_dict(parse_attrs(grp))
            fam["groups"][cstr(gd[CTRL_ATTR_MCAST_GRP_NAME]).decode()] = u32(gd[CTRL_ATTR_MCAST_GRP_ID])
        self.family_id = fam["id"]
        self.family = fam
        return fam

    # genl_echo requests -------------------------------------------------

    def _fid(self):
        if self.family_id is None:
            self.get_family()
        return self.family_id

    def request(self, cmd, attrs=b"", **kw):
        (reply,) = self.transact(self._fid(), cmd, attrs, **kw)
        return reply

    def echo(self, msg):
        """Returns (converted bytes, mode number)."""
        r = self.request(CMD_ECHO, nla_str(A_MSG, msg))
        assert r.cmd == CMD_ECHO, r.cmd
        a = r.get()
        assert set(a) == {A_MSG, A_MODE}, sorted(a)
        return cstr(a[A_MSG]), u32(a[A_MODE])

    def set_case(self, mode):
        r = self.request(CMD_SET_CASE, nla_u32(A_MODE, mode))
        assert r.cmd == CMD_SET_CASE, r.cmd
        a = r.get()
        assert set(a) == {A_MODE, A_PREV_MODE}, sorted(a)
        return u32(a[A_MODE]), u32(a[A_PREV_MODE])

    def get_case(self):
        r = self.request(CMD_GET_CASE)
        a = r.get()
        assert set(a) == {A_MODE}, sorted(a)
        return u32(a[A_MODE])

    def stats(self):
        r = self.request(CMD_STATS)
        a = {t: p for t, p in r.attrs if t != A_PAD}
        names = {
            A_STATS_ECHO_REQUESTS: "echo_requests",
            A_STATS_ECHO_BYTES: "echo_bytes",
            A_STATS_CHARS_CONVERTED: "chars_converted",
            A_STATS_MODE_CHANGES: "mode_changes",
            A_STATS_REJECTED: "rejected",
        }
        assert set(a) == set(names) | {A_MODE}, sorted(a)
        out = {"mode": MODE_NAMES[u32(a[A_MODE])]}
        for t, n in names.items():
            out[n] = u64(a[t])
        return out

    def join(self, group=MCGRP_EVENTS):
        if self.family_id is None:
            self.get_family()
        gid = self.family["groups"][group]
        self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, gid)
        return gid

    def notifications(self, timeout):
        """Reads notifications (seq 0) until timeout seconds pass quietly."""
        self.sock.settimeout(timeout)
        out = []
        try:
            while True:
                for mtype, mflags, mseq, mpid, body in self.recv_messages():
                    cmd, ver, _ = struct.unpack_from("=BBH", body, 0)
                    out.append(Message(mtype, mflags, mseq, mpid, cmd, ver,
                                       parse_attrs(body[4:])))
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(DEFAULT_TIMEOUT)
        return out


def convert(data, mode):
    """Reference conversion: ASCII letters only, everything else untouched."""
    out = bytearray(data)
    for i, c in enumerate(out):
        if mode == MODE_UPPER and 0x61 <= c <= 0x7A:
            out[i] = c - 0x20
        elif mode == MODE_LOWER and 0x41 <= c <= 0x5A:
            out[i] = c + 0x20
    return bytes(out)


def converted_count(data, mode):
    return sum(1 for a, b in zip(data, convert(data, mode)) if a != b)


def in_netns(name):
    """Moves the calling thread/process into the named netns (for raw
    sockets in a child process)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNET = 0x40000000
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)
