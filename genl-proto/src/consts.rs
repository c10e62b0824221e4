//! Constants of the `genl_echo` family and of the netlink framing around it.
//!
//! The family's own (`FAMILY_NAME`, `FAMILY_VERSION`, `MCGRP_EVENTS`,
//! `MSG_MAX`) are generated from the YNL spec (`generated.rs`, `cargo xtask
//! gen`); the netlink framing constants are written here.

pub use crate::generated::{FAMILY_NAME, FAMILY_VERSION, MCGRP_EVENTS, MSG_MAX};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;
/// Netlink alignment (`NLMSG_ALIGNTO`, `NLA_ALIGNTO`).
pub const NL_ALIGNTO: usize = 4;

/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;
/// `NLMSG_MIN_TYPE`: message types below this are netlink control messages.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x01;
/// `NLM_F_MULTI`.
pub const NLM_F_MULTI: u16 = 0x02;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x04;
/// `NLM_F_DUMP_INTR`.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_CAPPED` (on `NLMSG_ERROR`): the original request's payload was left out.
pub const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` (on `NLMSG_ERROR`/`NLMSG_DONE`): extended ACK attributes follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// `NLA_F_NET_BYTEORDER`.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// `NLA_TYPE_MASK`.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Size of the largest `ECHO` reply datagram the family can send:
/// netlink header, genl header, a full `MSG` attribute and a `MODE` attribute.
pub const ECHO_REPLY_MAX: usize =
    NLMSG_HDRLEN + GENL_HDRLEN + align(NLA_HDRLEN + MSG_MAX + 1) + NLA_HDRLEN + 4;

/// Rounds `len` up to the netlink alignment (4 bytes).
pub const fn align(len: usize) -> usize {
    (len + NL_ALIGNTO - 1) & !(NL_ALIGNTO - 1)
}
