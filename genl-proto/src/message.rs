//! Requests to and replies from the `genl_echo` family.
//!
//! Requests are encoded straight into a caller-owned buffer
//! ([`Request::encode`], the one encoder of the family's requests) so a
//! client can reuse one allocation for every request.
//!
//! Replies are decoded from raw bytes, either a whole netlink message
//! ([`Reply::from_nlmsg`]) or the generic netlink payload after the
//! `nlmsghdr` ([`Reply::from_genl`]). Unknown attributes and
//! `GENL_ECHO_A_PAD` are skipped; a missing required attribute, a payload
//! of the wrong size or a length that runs past the buffer is a
//! [`DecodeError`].

use std::fmt::Write as _;

#[cfg(feature = "serde")]
use serde::ser::SerializeStruct;
#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize, Serializer};

use crate::attr::Attr;
use crate::cmd::Cmd;
use crate::consts::{
    align, FAMILY_VERSION, GENL_HDRLEN, MSG_MAX, NLA_HDRLEN, NLMSG_HDRLEN, NLMSG_MIN_TYPE,
    NLM_F_REQUEST,
};
use crate::error::{DecodeError, EncodeError};
use crate::mode::Mode;
use crate::netlink;
use crate::nla;

/// A request to the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `GENL_ECHO_CMD_ECHO` with this message (no NUL, at most [`MSG_MAX`] bytes).
    Echo(&'a [u8]),
    /// `GENL_ECHO_CMD_SET_CASE`.
    SetCase(Mode),
    /// `GENL_ECHO_CMD_GET_CASE`.
    GetCase,
    /// `GENL_ECHO_CMD_STATS`.
    Stats,
}

/// Checks that `msg` can be sent in an `ECHO` request: at most
/// [`MSG_MAX`] bytes and no NUL byte.
pub fn validate_msg(msg: &[u8]) -> Result<(), EncodeError> {
    if msg.len() > MSG_MAX {
        return Err(EncodeError::MsgTooLong {
            len: msg.len(),
            max: MSG_MAX,
        });
    }
    // `contains` is the library's word-at-a-time search; the offset is
    // only looked for when there is one.
    if msg.contains(&0) {
        let offset = msg.iter().position(|&b| b == 0).unwrap_or_default();
        return Err(EncodeError::MsgHasNul { offset });
    }
    Ok(())
}

impl Request<'_> {
    /// The command this request carries.
    pub fn cmd(&self) -> Cmd {
        match self {
            Request::Echo(_) => Cmd::Echo,
            Request::SetCase(_) => Cmd::SetCase,
            Request::GetCase => Cmd::GetCase,
            Request::Stats => Cmd::Stats,
        }
    }

    /// Checks the request's arguments (see [`validate_msg`]).
    pub fn validate(&self) -> Result<(), EncodeError> {
        match self {
            Request::Echo(m) => validate_msg(m),
            _ => Ok(()),
        }
    }

    /// Appends the generic netlink payload (genl header and attributes).
    pub fn encode_genl(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.validate()?;
        netlink::put_genl(out, self.cmd().value(), FAMILY_VERSION);
        match self {
            Request::Echo(m) => nla::put_cstr(out, Attr::Msg.value(), m),
            Request::SetCase(mode) => nla::put_u32(out, Attr::Mode.value(), mode.value()),
            Request::GetCase | Request::Stats => Ok(()),
        }
    }

    /// Appends the whole netlink message (`NLM_F_REQUEST`, no ACK requested)
    /// addressed to family `family_id` with sequence number `seq`. On error
    /// `out` is left as it was.
    pub fn encode(&self, family_id: u16, seq: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Request::Echo(msg) = self {
            return encode_echo(msg, family_id, seq, out);
        }
        let len0 = out.len();
        let start = netlink::begin(out, family_id, NLM_F_REQUEST, seq);
        let r = self
            .encode_genl(out)
            .and_then(|()| netlink::finish(out, start));
        if r.is_err() {
            out.truncate(len0);
        }
        r
    }
}

/// [`Request::encode`] of an `ECHO` request, the one sent most: the
/// headers in one copy, the message in another, then its NUL and the
/// padding, into one reservation.
fn encode_echo(msg: &[u8], family_id: u16, seq: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    validate_msg(msg)?;
    let total = echo_request_len(msg.len());
    let attr_len = NLA_HDRLEN + msg.len() + 1;
    // Not reachable after `validate_msg` (MSG_MAX keeps both in range).
    let too_long = || EncodeError::TooLong {
        what: "attribute",
        len: attr_len,
    };
    let t = u32::try_from(total).map_err(|_| too_long())?.to_ne_bytes();
    let a = u16::try_from(attr_len)
        .map_err(|_| too_long())?
        .to_ne_bytes();
    let f = family_id.to_ne_bytes();
    let fl = NLM_F_REQUEST.to_ne_bytes();
    let s = seq.to_ne_bytes();
    let k = Attr::Msg.value().to_ne_bytes();
    #[rustfmt::skip]
    let head: [u8; NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN] = [
        // nlmsghdr: length, type, flags, sequence number, port (0: the kernel fills it in)
        t[0], t[1], t[2], t[3], f[0], f[1], fl[0], fl[1],
        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
        // genlmsghdr: command, version, reserved
        Cmd::Echo.value(), FAMILY_VERSION, 0, 0,
        // nlattr: length, type
        a[0], a[1], k[0], k[1],
    ];
    // The NUL and the padding: 1 to 4 zero bytes.
    let tail = total.saturating_sub(head.len() + msg.len());
    out.reserve(total);
    out.extend_from_slice(&head);
    out.extend_from_slice(msg);
    out.extend_from_slice(&[0u8; 4][..tail.min(4)]);
    Ok(())
}

/// Length of the `ECHO` request for a `len`-byte message: netlink header,
/// genl header and the NUL-terminated `MSG` attribute, padded.
pub const fn echo_request_len(len: usize) -> usize {
    NLMSG_HDRLEN + GENL_HDRLEN + align(NLA_HDRLEN + len + 1)
}

/// Length of the `ECHO` reply to a `len`-byte message: the request's
/// layout plus the `MODE` attribute.
pub const fn echo_reply_len(len: usize) -> usize {
    echo_request_len(len) + NLA_HDRLEN + 4
}

/// A typed reply (or notification) of the family.
pub trait Reply: Sized {
    /// If set, the genl command the message must carry.
    const CMD: Option<Cmd> = None;

    /// Decodes the attributes (what follows the genl header).
    fn from_attrs(attrs: &[u8]) -> Result<Self, DecodeError>;

    /// Decodes a generic netlink payload (genl header and attributes).
    fn from_genl(payload: &[u8]) -> Result<Self, DecodeError> {
        let g = netlink::parse_genl(payload)?;
        if let Some(c) = Self::CMD {
            if g.cmd != c.value() {
                return Err(DecodeError::UnexpectedCmd {
                    got: g.cmd,
                    expected: c.value(),
                });
            }
        }
        Self::from_attrs(g.attrs)
    }

    /// Decodes a whole netlink message (`nlmsghdr` first). An
    /// `NLMSG_ERROR` gives [`DecodeError::ErrorReply`]; other control
    /// messages give [`DecodeError::UnexpectedType`].
    fn from_nlmsg(msg: &[u8]) -> Result<Self, DecodeError> {
        let m = netlink::parse_message(msg)?;
        if m.ty < NLMSG_MIN_TYPE {
            if netlink::is_error(m.ty) {
                let e = netlink::parse_error(m.payload, m.flags)?;
                return Err(DecodeError::ErrorReply(e.errno));
            }
            return Err(DecodeError::UnexpectedType(m.ty));
        }
        Self::from_genl(m.payload)
    }
}

fn walk<'a>(
    attrs: &'a [u8],
    mut f: impl FnMut(Attr, &'a [u8]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    for a in nla::attrs(attrs) {
        let a = a?;
        f(Attr::from(a.kind), a.payload)?;
    }
    Ok(())
}

/// A mode attribute: any value decodes (one this crate does not know is
/// [`Mode::Unknown`]).
fn get_mode(attr: &'static str, p: &[u8]) -> Result<Mode, DecodeError> {
    nla::get_u32(attr, p).map(Mode::from_wire)
}

fn need<T>(v: Option<T>, attr: &'static str) -> Result<T, DecodeError> {
    v.ok_or(DecodeError::MissingAttr(attr))
}

const A_MSG: &str = "GENL_ECHO_A_MSG";
const A_MODE: &str = "GENL_ECHO_A_MODE";
const A_PREV_MODE: &str = "GENL_ECHO_A_PREV_MODE";

/// Reply to `ECHO`: the converted message and the mode applied.
///
/// Serializes as `{"msg": <text>, "mode": <mode>}`; when `msg` is not valid
/// UTF-8, `msg` is the lossy text (U+FFFD for bad bytes) and a
/// `"msg_hex"` key with the exact bytes in lower-case hex follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoReply {
    /// The message bytes, without the NUL.
    pub msg: Vec<u8>,
    /// The mode that was applied.
    pub mode: Mode,
}

/// An `ECHO` reply decoded in place: the message borrows the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoReplyRef<'a> {
    /// The message bytes, without the NUL.
    pub msg: &'a [u8],
    /// The mode that was applied.
    pub mode: Mode,
}

impl<'a> EchoReplyRef<'a> {
    /// Decodes the attributes of an `ECHO` reply (what follows the genl header).
    pub fn from_attrs(attrs: &'a [u8]) -> Result<Self, DecodeError> {
        let (mut msg, mut mode) = (None, None);
        walk(attrs, |a, p| {
            match a {
                Attr::Msg => msg = Some(nla::get_cstr_bytes(A_MSG, p)?),
                Attr::Mode => mode = Some(get_mode(A_MODE, p)?),
                _ => {}
            }
            Ok(())
        })?;
        Ok(EchoReplyRef {
            msg: need(msg, A_MSG)?,
            mode: need(mode, A_MODE)?,
        })
    }
}

impl Reply for EchoReply {
    fn from_attrs(attrs: &[u8]) -> Result<Self, DecodeError> {
        EchoReplyRef::from_attrs(attrs).map(|r| EchoReply {
            msg: r.msg.to_vec(),
            mode: r.mode,
        })
    }
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(feature = "serde")]
impl Serialize for EchoReply {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.msg) {
            Ok(text) => {
                let mut s = ser.serialize_struct("EchoReply", 2)?;
                s.serialize_field("msg", text)?;
                s.serialize_field("mode", &self.mode)?;
                s.end()
            }
            Err(_) => {
                let mut s = ser.serialize_struct("EchoReply", 3)?;
                s.serialize_field("msg", &String::from_utf8_lossy(&self.msg))?;
                s.serialize_field("mode", &self.mode)?;
                s.serialize_field("msg_hex", &hex(&self.msg))?;
                s.end()
            }
        }
    }
}

/// Reply to `SET_CASE`: `{"mode": <new>, "previous": <old>}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct CaseReply {
    /// The new mode.
    pub mode: Mode,
    /// The mode before the request.
    pub previous: Mode,
}

fn mode_pair(attrs: &[u8]) -> Result<(Mode, Mode), DecodeError> {
    let (mut mode, mut prev) = (None, None);
    walk(attrs, |a, p| {
        match a {
            Attr::Mode => mode = Some(get_mode(A_MODE, p)?),
            Attr::PrevMode => prev = Some(get_mode(A_PREV_MODE, p)?),
            _ => {}
        }
        Ok(())
    })?;
    Ok((need(mode, A_MODE)?, need(prev, A_PREV_MODE)?))
}

impl Reply for CaseReply {
    fn from_attrs(attrs: &[u8]) -> Result<Self, DecodeError> {
        let (mode, previous) = mode_pair(attrs)?;
        Ok(CaseReply { mode, previous })
    }
}

/// Reply to `GET_CASE`: `{"mode": <mode>}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ModeReply {
    /// The current mode.
    pub mode: Mode,
}

impl Reply for ModeReply {
    fn from_attrs(attrs: &[u8]) -> Result<Self, DecodeError> {
        let mut mode = None;
        walk(attrs, |a, p| {
            if a == Attr::Mode {
                mode = Some(get_mode(A_MODE, p)?);
            }
            Ok(())
        })?;
        Ok(ModeReply {
            mode: need(mode, A_MODE)?,
        })
    }
}

/// Reply to `STATS`. Counters are JSON numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Stats {
    /// The current mode.
    pub mode: Mode,
    /// `ECHO` requests answered.
    pub echo_requests: u64,
    /// Message bytes echoed (NUL excluded).
    pub echo_bytes: u64,
    /// Letters whose case changed.
    pub chars_converted: u64,
    /// `SET_CASE` requests that changed the mode.
    pub mode_changes: u64,
    /// Requests that passed the policy but that a handler refused.
    pub rejected: u64,
}

impl Reply for Stats {
    fn from_attrs(attrs: &[u8]) -> Result<Self, DecodeError> {
        const N: [&str; 5] = [
            "GENL_ECHO_A_STATS_ECHO_REQUESTS",
            "GENL_ECHO_A_STATS_ECHO_BYTES",
            "GENL_ECHO_A_STATS_CHARS_CONVERTED",
            "GENL_ECHO_A_STATS_MODE_CHANGES",
            "GENL_ECHO_A_STATS_REJECTED",
        ];
        let mut mode = None;
        let mut c: [Option<u64>; 5] = [None; 5];
        walk(attrs, |a, p| {
            let i = match a {
                Attr::Mode => {
                    mode = Some(get_mode(A_MODE, p)?);
                    return Ok(());
                }
                Attr::StatsEchoRequests => 0,
                Attr::StatsEchoBytes => 1,
                Attr::StatsCharsConverted => 2,
                Attr::StatsModeChanges => 3,
                Attr::StatsRejected => 4,
                _ => return Ok(()),
            };
            c[i] = Some(nla::get_u64(N[i], p)?);
            Ok(())
        })?;
        Ok(Stats {
            mode: need(mode, A_MODE)?,
            echo_requests: need(c[0], N[0])?,
            echo_bytes: need(c[1], N[1])?,
            chars_converted: need(c[2], N[2])?,
            mode_changes: need(c[3], N[3])?,
            rejected: need(c[4], N[4])?,
        })
    }
}

/// `CASE_NTF` notification: serializes as
/// `{"event":"mode","mode":<new>,"previous":<old>}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "event", rename = "mode"))]
pub struct CaseEvent {
    /// The new mode.
    pub mode: Mode,
    /// The mode before the change.
    pub previous: Mode,
}

impl Reply for CaseEvent {
    const CMD: Option<Cmd> = Some(Cmd::CaseNtf);

    fn from_attrs(attrs: &[u8]) -> Result<Self, DecodeError> {
        let (mode, previous) = mode_pair(attrs)?;
        Ok(CaseEvent { mode, previous })
    }
}

/// Names the attribute of request `request` (a whole netlink message of
/// this family) that an extended ACK offset points at, e.g. `"msg"`.
/// `None` if the offset is in the headers or past every attribute.
pub fn attr_at_offset(request: &[u8], offset: u32) -> Option<String> {
    let base = crate::consts::NLMSG_HDRLEN + crate::consts::GENL_HDRLEN;
    let off = usize::try_from(offset).ok()?.checked_sub(base)?;
    let path = nla::path_at_offset(request.get(base..)?, off);
    let first = *path.first()?;
    let mut s = Attr::display_name(first);
    for &p in &path[1..] {
        let _ = write!(s, ".attr_{p}");
    }
    Some(s)
}
