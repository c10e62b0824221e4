//! Message builders for the core's tests: what the kernel would send.
#![allow(dead_code)] // the builders are shared by the core's tests

use genl_proto::consts::{NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTI};
use genl_proto::ctrl::{
    CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_HDRSIZE, CTRL_ATTR_MAXATTR,
    CTRL_ATTR_MCAST_GROUPS, CTRL_ATTR_MCAST_GRP_ID, CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_VERSION,
    CTRL_CMD_NEWFAMILY, GENL_ID_CTRL,
};
use genl_proto::netlink::{self, NLMSGERR_ATTR_MSG};
use genl_proto::{nla, Attr, Cmd};

pub(crate) const FAM: u16 = 0x20;
pub(crate) const PID: u32 = 77;

fn set_pid(b: &mut [u8], s: usize, pid: u32) {
    b[s + 12..s + 16].copy_from_slice(&pid.to_ne_bytes());
}

/// A generic netlink message of type `ty` with command `cmd` and
/// attributes `attrs` (already encoded), appended to `b`.
pub(crate) fn genl(
    b: &mut Vec<u8>,
    ty: u16,
    flags: u16,
    seq: u32,
    pid: u32,
    cmd: u8,
    attrs: &[u8],
) {
    let s = netlink::begin(b, ty, flags, seq);
    set_pid(b, s, pid);
    netlink::put_genl(b, cmd, 1);
    b.extend_from_slice(attrs);
    netlink::finish(b, s).unwrap();
}

/// An `ECHO` reply.
pub(crate) fn echo_reply(ty: u16, seq: u32, pid: u32, msg: &[u8], mode: u32) -> Vec<u8> {
    let mut a = Vec::new();
    nla::put_cstr(&mut a, Attr::Msg.value(), msg).unwrap();
    nla::put_u32(&mut a, Attr::Mode.value(), mode).unwrap();
    let mut b = Vec::new();
    genl(&mut b, ty, 0, seq, pid, Cmd::Echo.value(), &a);
    b
}

/// A `GET_CASE` reply with mode `mode`.
pub(crate) fn mode_reply(seq: u32, mode: u32) -> Vec<u8> {
    let mut a = Vec::new();
    nla::put_u32(&mut a, Attr::Mode.value(), mode).unwrap();
    let mut b = Vec::new();
    genl(&mut b, FAM, 0, seq, PID, Cmd::GetCase.value(), &a);
    b
}

/// A `CASE_NTF` notification (seq 0, pid 0) of family `ty`.
pub(crate) fn case_ntf(ty: u16, mode: u32, previous: u32) -> Vec<u8> {
    let mut a = Vec::new();
    nla::put_u32(&mut a, Attr::Mode.value(), mode).unwrap();
    nla::put_u32(&mut a, Attr::PrevMode.value(), previous).unwrap();
    let mut b = Vec::new();
    genl(&mut b, ty, 0, 0, 0, Cmd::CaseNtf.value(), &a);
    b
}

/// An error reply (capped, with an extack message if given).
pub(crate) fn error_reply(seq: u32, pid: u32, errno: i32, msg: Option<&str>) -> Vec<u8> {
    let mut b = Vec::new();
    let flags = NLM_F_CAPPED | if msg.is_some() { NLM_F_ACK_TLVS } else { 0 };
    let s = netlink::begin(&mut b, NLMSG_ERROR, flags, seq);
    set_pid(&mut b, s, pid);
    b.extend_from_slice(&(-errno).to_ne_bytes());
    let mut h = Vec::new();
    let hs = netlink::begin(&mut h, FAM, 1, seq);
    netlink::finish(&mut h, hs).unwrap();
    b.extend_from_slice(&h);
    if let Some(m) = msg {
        nla::put_cstr(&mut b, NLMSGERR_ATTR_MSG, m.as_bytes()).unwrap();
    }
    netlink::finish(&mut b, s).unwrap();
    b
}

/// One message of a dump (a controller `GETPOLICY` part: any payload).
pub(crate) fn dump_part(seq: u32, n: u32) -> Vec<u8> {
    let mut a = Vec::new();
    nla::put_u32(&mut a, 1, n).unwrap();
    let mut b = Vec::new();
    genl(&mut b, GENL_ID_CTRL, NLM_F_MULTI, seq, PID, 10, &a);
    b
}

/// The `NLMSG_DONE` that ends a dump with status `errno`.
pub(crate) fn done(seq: u32, errno: i32) -> Vec<u8> {
    let mut b = Vec::new();
    let s = netlink::begin(&mut b, NLMSG_DONE, NLM_F_MULTI, seq);
    set_pid(&mut b, s, PID);
    b.extend_from_slice(&(-errno).to_ne_bytes());
    netlink::finish(&mut b, s).unwrap();
    b
}

/// A controller notification `NEWFAMILY` (cmd 1) or `DELFAMILY` (cmd 2)
/// for family `name` with id `id`, version `version` and an `events` group.
pub(crate) fn ctrl_family(cmd: u8, name: &str, id: u16, version: u32, group: u32) -> Vec<u8> {
    let mut a = Vec::new();
    nla::put_u16(&mut a, CTRL_ATTR_FAMILY_ID, id).unwrap();
    nla::put_cstr(&mut a, CTRL_ATTR_FAMILY_NAME, name.as_bytes()).unwrap();
    nla::put_u32(&mut a, CTRL_ATTR_VERSION, version).unwrap();
    nla::put_u32(&mut a, CTRL_ATTR_HDRSIZE, 0).unwrap();
    nla::put_u32(&mut a, CTRL_ATTR_MAXATTR, 9).unwrap();
    let mut g = Vec::new();
    nla::put_cstr(&mut g, CTRL_ATTR_MCAST_GRP_NAME, b"events").unwrap();
    nla::put_u32(&mut g, CTRL_ATTR_MCAST_GRP_ID, group).unwrap();
    let mut one = Vec::new();
    nla::put_parts(&mut one, 1 | genl_proto::consts::NLA_F_NESTED, &[&g]).unwrap();
    nla::put_parts(
        &mut a,
        CTRL_ATTR_MCAST_GROUPS | genl_proto::consts::NLA_F_NESTED,
        &[&one],
    )
    .unwrap();
    let mut b = Vec::new();
    genl(&mut b, GENL_ID_CTRL, 0, 0, 0, cmd, &a);
    b
}

/// `NEWFAMILY` for `name`.
pub(crate) fn new_family(name: &str, id: u16, version: u32, group: u32) -> Vec<u8> {
    ctrl_family(CTRL_CMD_NEWFAMILY, name, id, version, group)
}

/// `DELFAMILY` for `name`.
pub(crate) fn del_family(name: &str, id: u16) -> Vec<u8> {
    ctrl_family(super::events::CTRL_CMD_DELFAMILY, name, id, 1, 9)
}
