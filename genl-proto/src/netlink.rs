//! Netlink message framing (`struct nlmsghdr`, `struct genlmsghdr`) and the
//! control messages `NLMSG_ERROR` / `NLMSG_DONE` with extended ACK attributes.

use crate::consts::{
    align, GENL_HDRLEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK_TLVS, NLM_F_CAPPED,
};
use crate::error::{DecodeError, EncodeError};
use crate::nla;

/// `NLMSGERR_ATTR_MSG`: the error message string.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in the request.
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
/// `NLMSGERR_ATTR_COOKIE`.
pub const NLMSGERR_ATTR_COOKIE: u16 = 3;
/// `NLMSGERR_ATTR_POLICY`: the policy of the rejected attribute (nested).
pub const NLMSGERR_ATTR_POLICY: u16 = 4;
/// `NLMSGERR_ATTR_MISS_TYPE`: type of a missing required attribute.
pub const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
/// `NLMSGERR_ATTR_MISS_NEST`: offset of the nest the missing attribute belongs in.
pub const NLMSGERR_ATTR_MISS_NEST: u16 = 6;

/// One netlink message within a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlMsg<'a> {
    /// `nlmsg_type`.
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// `nlmsg_pid`.
    pub pid: u32,
    /// The `nlmsg_len - 16` bytes after the header.
    pub payload: &'a [u8],
    /// The whole message, header included (`nlmsg_len` bytes).
    pub bytes: &'a [u8],
    /// Offset of the message within the buffer that was iterated.
    pub offset: usize,
}

/// Iterator over the netlink messages of one datagram; stops after the
/// first error.
#[derive(Debug, Clone)]
pub struct NlMsgIter<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

/// Iterates over the netlink messages in a received datagram.
pub fn messages(buf: &[u8]) -> NlMsgIter<'_> {
    NlMsgIter {
        buf,
        pos: 0,
        done: false,
    }
}

impl<'a> Iterator for NlMsgIter<'a> {
    type Item = Result<NlMsg<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let r = parse_at(rest, self.pos);
        match &r {
            Ok(m) => self.pos = (self.pos + align(m.bytes.len())).min(self.buf.len()),
            Err(_) => self.done = true,
        }
        Some(r)
    }
}

fn parse_at(rest: &[u8], offset: usize) -> Result<NlMsg<'_>, DecodeError> {
    let h = rest.get(..NLMSG_HDRLEN).ok_or(DecodeError::Truncated {
        what: "netlink header",
        need: NLMSG_HDRLEN,
        have: rest.len(),
    })?;
    let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]);
    let ulen = usize::try_from(len).unwrap_or(usize::MAX);
    if ulen < NLMSG_HDRLEN || ulen > rest.len() {
        return Err(DecodeError::BadMsgLen {
            offset,
            len,
            avail: rest.len(),
        });
    }
    Ok(NlMsg {
        ty: u16::from_ne_bytes([h[4], h[5]]),
        flags: u16::from_ne_bytes([h[6], h[7]]),
        seq: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
        pid: u32::from_ne_bytes([h[12], h[13], h[14], h[15]]),
        payload: &rest[NLMSG_HDRLEN..ulen],
        bytes: &rest[..ulen],
        offset,
    })
}

/// Parses the first netlink message in `buf` (which must hold all of it).
pub fn parse_message(buf: &[u8]) -> Result<NlMsg<'_>, DecodeError> {
    parse_at(buf, 0)
}

/// A generic netlink payload: `struct genlmsghdr` and its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenlMsg<'a> {
    /// `cmd`.
    pub cmd: u8,
    /// `version`.
    pub version: u8,
    /// Everything after the 4-byte genl header: the attributes (the families
    /// used here have no user header).
    pub attrs: &'a [u8],
}

/// Parses a generic netlink payload (what follows the `nlmsghdr`).
pub fn parse_genl(payload: &[u8]) -> Result<GenlMsg<'_>, DecodeError> {
    let h = payload.get(..GENL_HDRLEN).ok_or(DecodeError::Truncated {
        what: "generic netlink header",
        need: GENL_HDRLEN,
        have: payload.len(),
    })?;
    Ok(GenlMsg {
        cmd: h[0],
        version: h[1],
        attrs: &payload[GENL_HDRLEN..],
    })
}

/// Extended ACK attributes of an `NLMSG_ERROR` or `NLMSG_DONE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ExtAck {
    /// `NLMSGERR_ATTR_MSG`, without its NUL (lossily converted to UTF-8).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub msg: Option<String>,
    /// `NLMSGERR_ATTR_OFFS`: byte offset into the request, from its `nlmsghdr`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub offset: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_TYPE`: type of a missing required attribute.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub missing_type: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_NEST`: offset of the nest lacking it.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub missing_nest: Option<u32>,
}

impl ExtAck {
    /// Decodes extended ACK attributes. Unknown ones are skipped; a malformed
    /// known one is an error.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut e = ExtAck::default();
        for a in nla::attrs(buf) {
            let a = a?;
            match a.kind {
                NLMSGERR_ATTR_MSG => {
                    let s = nla::get_cstr_bytes("NLMSGERR_ATTR_MSG", a.payload)?;
                    e.msg = Some(String::from_utf8_lossy(s).into_owned());
                }
                NLMSGERR_ATTR_OFFS => {
                    e.offset = Some(nla::get_u32("NLMSGERR_ATTR_OFFS", a.payload)?)
                }
                NLMSGERR_ATTR_MISS_TYPE => {
                    e.missing_type = Some(nla::get_u32("NLMSGERR_ATTR_MISS_TYPE", a.payload)?)
                }
                NLMSGERR_ATTR_MISS_NEST => {
                    e.missing_nest = Some(nla::get_u32("NLMSGERR_ATTR_MISS_NEST", a.payload)?)
                }
                _ => {}
            }
        }
        Ok(e)
    }

    /// Whether no attribute was present.
    pub fn is_empty(&self) -> bool {
        *self == ExtAck::default()
    }
}

/// A decoded `NLMSG_ERROR` (an ACK when `errno == 0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMsg {
    /// The positive errno (`-error`), 0 for an ACK.
    pub errno: i32,
    /// Sequence number of the request this answers.
    pub orig_seq: u32,
    /// Type of the request this answers.
    pub orig_type: u16,
    /// Extended ACK attributes, if any.
    pub ext_ack: ExtAck,
}

/// Decodes the payload of an `NLMSG_ERROR` message with header flags `flags`.
pub fn parse_error(payload: &[u8], flags: u16) -> Result<ErrorMsg, DecodeError> {
    let need = 4 + NLMSG_HDRLEN;
    if payload.len() < need {
        return Err(DecodeError::Truncated {
            what: "netlink error message",
            need,
            have: payload.len(),
        });
    }
    let error = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
    let orig = &payload[4..];
    let olen = u32::from_ne_bytes([orig[0], orig[1], orig[2], orig[3]]);
    let orig_type = u16::from_ne_bytes([orig[4], orig[5]]);
    let orig_seq = u32::from_ne_bytes([orig[8], orig[9], orig[10], orig[11]]);
    // The quoted request: just its header when capped (or on an ACK with
    // NETLINK_CAP_ACK semantics), else the whole request.
    let quoted = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        let l = usize::try_from(olen).unwrap_or(usize::MAX);
        if l < NLMSG_HDRLEN || l > orig.len() {
            return Err(DecodeError::BadMsgLen {
                offset: 4,
                len: olen,
                avail: orig.len(),
            });
        }
        align(l).min(orig.len())
    };
    let ext_ack = if flags & NLM_F_ACK_TLVS != 0 {
        ExtAck::decode(&orig[quoted..])?
    } else {
        ExtAck::default()
    };
    Ok(ErrorMsg {
        errno: error.checked_neg().unwrap_or(i32::MAX),
        orig_seq,
        orig_type,
        ext_ack,
    })
}

/// Decodes the payload of an `NLMSG_DONE` that ends a dump: the dump's
/// status as a positive errno (0 for success) and its extended ACK.
pub fn parse_done(payload: &[u8], flags: u16) -> Result<(i32, ExtAck), DecodeError> {
    let Some(h) = payload.get(..4) else {
        // Some families send an empty DONE; that is success.
        return Ok((0, ExtAck::default()));
    };
    let error = i32::from_ne_bytes([h[0], h[1], h[2], h[3]]);
    let ext_ack = if flags & NLM_F_ACK_TLVS != 0 {
        ExtAck::decode(&payload[4..])?
    } else {
        ExtAck::default()
    };
    Ok((error.checked_neg().unwrap_or(i32::MAX), ext_ack))
}

/// Whether a message type is `NLMSG_ERROR`.
pub fn is_error(ty: u16) -> bool {
    ty == NLMSG_ERROR
}

/// Whether a message type is `NLMSG_DONE`.
pub fn is_done(ty: u16) -> bool {
    ty == NLMSG_DONE
}

/// Appends a netlink header for a message whose body `body_len` bytes long
/// will follow, returning the offset of the header (for [`finish`]).
pub fn begin(out: &mut Vec<u8>, ty: u16, flags: u16, seq: u32) -> usize {
    let start = out.len();
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    start
}

/// Appends a generic netlink header.
pub fn put_genl(out: &mut Vec<u8>, cmd: u8, version: u8) {
    out.extend_from_slice(&[cmd, version, 0, 0]);
}

/// Writes the final `nlmsg_len` of the message begun at `start`.
pub fn finish(out: &mut [u8], start: usize) -> Result<(), EncodeError> {
    let len = out.len().saturating_sub(start);
    let l = u32::try_from(len).map_err(|_| EncodeError::TooLong {
        what: "netlink message",
        len,
    })?;
    if let Some(h) = out.get_mut(start..start + 4) {
        h.copy_from_slice(&l.to_ne_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_msg(errno: i32, capped: bool, tlvs: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        let mut flags = if capped { NLM_F_CAPPED } else { 0 };
        if !tlvs.is_empty() {
            flags |= NLM_F_ACK_TLVS;
        }
        let s = begin(&mut b, NLMSG_ERROR, flags, 7);
        b.extend_from_slice(&(-errno).to_ne_bytes());
        // Quoted request: 24 bytes when not capped.
        let qlen: u32 = 24;
        b.extend_from_slice(&qlen.to_ne_bytes());
        b.extend_from_slice(&0x20u16.to_ne_bytes());
        b.extend_from_slice(&1u16.to_ne_bytes());
        b.extend_from_slice(&7u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        if !capped {
            b.extend_from_slice(&[1, 1, 0, 0, 4, 0, 2, 0]);
        }
        b.extend_from_slice(tlvs);
        finish(&mut b, s).unwrap();
        b
    }

    #[test]
    fn error_with_ext_ack_capped_and_not() {
        let mut t = Vec::new();
        nla::put_cstr(&mut t, NLMSGERR_ATTR_MSG, b"bad mode").unwrap();
        nla::put_u32(&mut t, NLMSGERR_ATTR_OFFS, 20).unwrap();
        nla::put_u32(&mut t, 99, 1).unwrap();
        for capped in [false, true] {
            let b = error_msg(22, capped, &t);
            let m = parse_message(&b).unwrap();
            assert!(is_error(m.ty));
            let e = parse_error(m.payload, m.flags).unwrap();
            assert_eq!(e.errno, 22);
            assert_eq!(e.orig_seq, 7);
            assert_eq!(e.orig_type, 0x20);
            assert_eq!(e.ext_ack.msg.as_deref(), Some("bad mode"));
            assert_eq!(e.ext_ack.offset, Some(20));
        }
    }

    #[test]
    fn error_prefixes_never_panic() {
        let mut t = Vec::new();
        nla::put_cstr(&mut t, NLMSGERR_ATTR_MSG, b"x").unwrap();
        let b = error_msg(1, false, &t);
        for n in 0..=b.len() {
            for flags in [
                0,
                NLM_F_CAPPED,
                NLM_F_ACK_TLVS,
                NLM_F_CAPPED | NLM_F_ACK_TLVS,
            ] {
                let _ = parse_error(&b[16.min(n)..n], flags);
                let _ = parse_done(&b[16.min(n)..n], flags);
            }
            let _ = messages(&b[..n]).count();
        }
    }

    #[test]
    fn message_iteration_and_lying_len() {
        let mut b = Vec::new();
        for seq in 1..=2 {
            let s = begin(&mut b, 0x20, 0, seq);
            put_genl(&mut b, 1, 1);
            nla::put_u32(&mut b, 3, 1).unwrap();
            finish(&mut b, s).unwrap();
        }
        let v: Vec<_> = messages(&b).collect::<Result<_, _>>().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].seq, 2);
        let g = parse_genl(v[0].payload).unwrap();
        assert_eq!((g.cmd, g.version, g.attrs.len()), (1, 1, 8));
        // Lie about the length.
        b[0] = 0xff;
        b[1] = 0xff;
        assert!(matches!(
            messages(&b).next(),
            Some(Err(DecodeError::BadMsgLen { .. }))
        ));
        b[0] = 3;
        b[1] = 0;
        assert!(messages(&b).next().unwrap().is_err());
    }
}
