"""The kernel ABI through hand-built netlink messages: family registration,
strict validation, extended acks."""

import errno
import struct

import pytest

import genl
from conftest import ok, zero_stats


def test_family_registration(raw):
    fam = raw.family
    assert fam["name"] == "genl_echo"
    assert fam["version"] == 1
    assert fam["hdrsize"] == 0
    assert fam["maxattr"] == genl.A_MAX
    assert set(fam["ops"]) == {genl.CMD_ECHO, genl.CMD_SET_CASE, genl.CMD_GET_CASE,
                               genl.CMD_STATS}, fam["ops"]
    assert set(fam["groups"]) == {"events"}, fam["groups"]


def test_only_set_case_needs_admin(raw):
    GENL_ADMIN_PERM = 0x01
    GENL_UNS_ADMIN_PERM = 0x10
    ops = raw.family["ops"]
    assert ops[genl.CMD_SET_CASE] & GENL_UNS_ADMIN_PERM, ops
    assert not ops[genl.CMD_SET_CASE] & GENL_ADMIN_PERM, ops
    for cmd in (genl.CMD_ECHO, genl.CMD_GET_CASE, genl.CMD_STATS):
        assert not ops[cmd] & (GENL_ADMIN_PERM | GENL_UNS_ADMIN_PERM), ops


def test_get_family_by_id(raw):
    fid = raw.family_id
    (msg,) = raw.transact(genl.GENL_ID_CTRL, genl.CTRL_CMD_GETFAMILY,
                          struct.pack("=HHHxx", 6, genl.CTRL_ATTR_FAMILY_ID, fid), version=2)
    assert genl.cstr(msg.get()[genl.CTRL_ATTR_FAMILY_NAME]) == b"genl_echo"


def test_bad_mode_extack(raw):
    """SET_CASE with mode 7: refused by the policy (NLA_POLICY_MAX), whose
    range check answers ERANGE ("integer out of range"; not EINVAL), with
    the extack offset pointing at the MODE attribute and the policy."""
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_SET_CASE, genl.nla_u32(genl.A_MODE, 7))
    err = ei.value
    assert err.errno == errno.ERANGE, err
    # offset of the attribute in the request: nlmsghdr (16) + genlmsghdr (4)
    assert err.offset == 20, err
    assert err.msg == "integer out of range", err
    assert err.policy is not None, err
    assert raw.get_case() == genl.MODE_NONE


@pytest.mark.parametrize("mode", [3, 4, 0xFFFFFFFF, 0x80000000])
def test_bad_modes_rejected(raw, mode):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.set_case(mode)
    assert ei.value.errno == errno.ERANGE
    assert ei.value.offset == 20, ei.value
    assert raw.stats() == zero_stats()


def test_mode_wrong_size(raw):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_SET_CASE, genl.nla(genl.A_MODE, b"\1\0"))
    assert ei.value.errno in (errno.EINVAL, errno.ERANGE), ei.value
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_SET_CASE, genl.nla(genl.A_MODE, b"\1\0\0\0\0\0\0\0"))
    assert ei.value.errno in (errno.EINVAL, errno.ERANGE), ei.value
    assert raw.get_case() == genl.MODE_NONE


def test_msg_without_nul_rejected(raw):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_ECHO, genl.nla(genl.A_MSG, b"abc"))
    assert ei.value.errno == errno.EINVAL
    assert ei.value.offset == 20, ei.value


def test_msg_too_long_rejected(raw):
    """65531 bytes before the NUL do not fit one attribute; 65531 bytes with
    no NUL at all must be refused."""
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_ECHO, genl.nla(genl.A_MSG, b"a" * (genl.MSG_MAX + 1)))
    assert ei.value.errno in (errno.EINVAL, errno.ERANGE), ei.value
    assert raw.stats() == zero_stats()


def test_unknown_attribute_rejected(raw):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_ECHO, genl.nla_str(genl.A_MSG, "x") + genl.nla_u32(genl.A_MAX + 1, 0))
    assert ei.value.errno == errno.EINVAL


def test_attribute_zero_rejected(raw):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_ECHO, genl.nla_str(genl.A_MSG, "x") + genl.nla_u32(0, 0))
    assert ei.value.errno == errno.EINVAL


def test_reply_only_attributes_rejected_in_request(raw):
    """PREV_MODE and the stats attributes are not accepted in requests."""
    with pytest.raises(genl.NetlinkError):
        raw.request(genl.CMD_SET_CASE, genl.nla_u32(genl.A_MODE, 1)
                    + genl.nla_u32(genl.A_PREV_MODE, 0))
    assert raw.get_case() == genl.MODE_NONE


def test_trailing_garbage_rejected(raw):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(genl.CMD_GET_CASE, b"\1\2")
    assert ei.value.errno == errno.EINVAL


@pytest.mark.parametrize("cmd", [genl.CMD_GET_CASE, genl.CMD_STATS])
@pytest.mark.parametrize("attr", [
    genl.nla_u32(0, 0),
    genl.nla(genl.A_PAD, b""),
    genl.nla_str(genl.A_MSG, "x"),
    genl.nla_u32(genl.A_MODE, genl.MODE_UPPER),
    genl.nla_u32(genl.A_MAX + 1, 0),
], ids=["zero", "pad", "msg", "mode", "unknown"])
def test_no_attribute_commands_refuse_any(raw, cmd, attr):
    """GET_CASE and STATS have no policy; any attribute is refused
    (EINVAL, extack at its offset) on 6.1's genl_ops and 6.12's split ops
    alike, as a policy failure: nothing counted as rejected."""
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(cmd, attr)
    assert ei.value.errno == errno.EINVAL, ei.value
    assert ei.value.offset == 20, ei.value
    assert raw.stats() == zero_stats()


@pytest.mark.parametrize("cmd", [0, genl.CMD_CASE_NTF, 6, 200])
def test_unknown_commands(raw, cmd):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(cmd)
    assert ei.value.errno == errno.EOPNOTSUPP, ei.value


# a valid request of each command: only the header is wrong in the tests below
VALID = {
    genl.CMD_ECHO: genl.nla_str(genl.A_MSG, "abc"),
    genl.CMD_SET_CASE: genl.nla_u32(genl.A_MODE, genl.MODE_UPPER),
    genl.CMD_GET_CASE: b"",
    genl.CMD_STATS: b"",
}


@pytest.mark.parametrize("cmd", sorted(VALID))
def test_reserved_header_bytes_rejected(raw, cmd):
    """The core checks genlmsghdr.reserved only for commands at or above the
    family's resv_start_op: a new family must leave it at 0."""
    with pytest.raises(genl.NetlinkError) as ei:
        raw.request(cmd, VALID[cmd], reserved=1)
    assert ei.value.errno == errno.EINVAL
    assert ei.value.msg == "genlmsghdr.reserved field is not 0", ei.value
    assert raw.stats() == zero_stats()


@pytest.mark.parametrize("cmd", sorted(VALID))
def test_reserved_nlmsg_flags_rejected(raw, cmd):
    NLM_F_REPLACE = 0x100
    with pytest.raises(genl.NetlinkError) as ei:
        raw.transact(raw.family_id, cmd, VALID[cmd],
                     flags=genl.NLM_F_REQUEST | genl.NLM_F_ACK | NLM_F_REPLACE)
    assert ei.value.errno == errno.EINVAL
    assert ei.value.msg == "ambiguous or reserved bits set in nlmsg_flags", ei.value
    assert raw.stats() == zero_stats()


@pytest.mark.parametrize("cmd", [genl.CMD_ECHO, genl.CMD_GET_CASE, genl.CMD_STATS])
def test_dump_not_supported(raw, cmd):
    with pytest.raises(genl.NetlinkError) as ei:
        raw.transact(raw.family_id, cmd, flags=genl.NLM_F_REQUEST | genl.NLM_F_DUMP)
    assert ei.value.errno == errno.EOPNOTSUPP, ei.value


def test_set_case_reply_and_get(raw):
    assert raw.set_case(genl.MODE_UPPER) == (genl.MODE_UPPER, genl.MODE_NONE)
    assert raw.set_case(genl.MODE_UPPER) == (genl.MODE_UPPER, genl.MODE_UPPER)
    assert raw.get_case() == genl.MODE_UPPER
    assert ok("get-mode") == {"mode": "upper"}


def test_stats_u64_padded(raw):
    """u64 counters come with GENL_ECHO_A_PAD where needed and are 8 bytes."""
    r = raw.request(genl.CMD_STATS)
    types = [t for t, _ in r.attrs if t != genl.A_PAD]
    assert sorted(types) == [genl.A_MODE, genl.A_STATS_ECHO_REQUESTS, genl.A_STATS_ECHO_BYTES,
                             genl.A_STATS_CHARS_CONVERTED, genl.A_STATS_MODE_CHANGES,
                             genl.A_STATS_REJECTED], types
    for t, p in r.attrs:
        if t in range(genl.A_STATS_ECHO_REQUESTS, genl.A_STATS_REJECTED + 1):
            assert len(p) == 8


def test_replies_without_ack_flag(raw):
    """A request without NLM_F_ACK still gets its reply (and no ack)."""
    replies = raw.transact(raw.family_id, genl.CMD_ECHO, genl.nla_str(genl.A_MSG, "q"),
                           flags=genl.NLM_F_REQUEST)
    assert len(replies) == 1
    assert genl.cstr(replies[0].get()[genl.A_MSG]) == b"q"
