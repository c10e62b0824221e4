//! The books of a pipelined batch of `ECHO` requests: which reply comes
//! next, what was lost, what is stale, and the checks every reply passes.

use genl_proto::message::echo_reply_len;
use genl_proto::{netlink, Cmd, EchoReplyRef, Mode};
use log::debug;

use super::{from_kernel, log_foreign, seq_before, Datagram};
use crate::batch::BatchOutcome;
use crate::error::{Error, Mismatch, Op};

/// Offset of the message bytes in an `ECHO` request: netlink header, genl
/// header, the `MSG` attribute's header.
pub(crate) const MSG_OFFSET: usize = genl_proto::consts::NLMSG_HDRLEN
    + genl_proto::consts::GENL_HDRLEN
    + genl_proto::consts::NLA_HDRLEN;

/// Where a reply belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The reply to the request at this index of the batch.
    Index(usize),
    /// A reply to a request older than the batch (an abandoned or failed
    /// batch, a cancelled request): skipped and counted in `stale`.
    Stale,
}

/// What one received datagram meant for the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome<'d> {
    /// The checked reply to request `idx`.
    Reply {
        /// The request's index in the batch.
        idx: usize,
        /// The echoed bytes.
        msg: &'d [u8],
        /// The mode the kernel applied.
        mode: Mode,
    },
    /// Nothing for the caller: a stale reply, a lost one, a datagram not
    /// from the kernel.
    Skipped,
}

/// The bookkeeping of one batch in flight: which reply comes next, what
/// was lost.
#[derive(Debug)]
pub(crate) struct Tracker {
    first: u32,
    k: usize,
    next: usize,
    overrun: bool,
    /// Datagrams not from the kernel, dropped.
    pub(crate) foreign: u64,
    pub(crate) acc: BatchOutcome,
}

impl Tracker {
    /// `k` requests with sequence numbers `first..` were sent (one `send`).
    pub(crate) fn new(first: u32, k: usize) -> Tracker {
        Tracker {
            first,
            k,
            next: 0,
            overrun: false,
            foreign: 0,
            acc: BatchOutcome {
                requests: k as u64,
                syscalls: u64::from(k > 0),
                ..BatchOutcome::default()
            },
        }
    }

    /// Every reply is in or lost.
    pub(crate) fn done(&self) -> bool {
        self.next >= self.k
    }

    /// Whether an overrun was reported (replies are then read without
    /// blocking: the rest is queued or lost).
    pub(crate) fn overrun(&self) -> bool {
        self.overrun
    }

    /// Replies still expected.
    pub(crate) fn want(&self) -> usize {
        self.k - self.next.min(self.k)
    }

    /// The kernel reported `ENOBUFS`: from now on replies may be missing,
    /// and the rest is read without blocking.
    pub(crate) fn on_overrun(&mut self) {
        self.acc.overruns += 1;
        self.overrun = true;
    }

    /// Nothing more is queued after an overrun: every reply not seen is lost.
    pub(crate) fn lose_rest(&mut self) {
        self.acc.lost += self.want() as u64;
        self.next = self.k;
    }

    /// Places the reply with sequence number `seq`. Replies come in request
    /// order; one that skips requests is only accepted after an overrun,
    /// and the skipped ones count as lost. A sequence number before the
    /// batch is stale (skipped and counted), never an error.
    pub(crate) fn place(&mut self, seq: u32) -> Result<Place, Mismatch> {
        if seq_before(seq, self.first) {
            self.acc.stale += 1;
            debug!("stale reply seq {seq} (batch starts at {})", self.first);
            return Ok(Place::Stale);
        }
        let idx = seq.wrapping_sub(self.first) as usize;
        let expected = self.first.wrapping_add(self.next as u32);
        if idx < self.next || idx >= self.k || (idx != self.next && !self.overrun) {
            return Err(Mismatch::Seq { got: seq, expected });
        }
        self.acc.lost += (idx - self.next) as u64;
        self.next = idx + 1;
        Ok(Place::Index(idx))
    }

    /// Classifies and checks datagram `d` on the socket bound to `port`,
    /// for family `family`. `request(idx)` gives the request sent at index
    /// `idx` of the batch (a whole encoded `ECHO`) and its message length.
    pub(crate) fn on_datagram<'d, 'r>(
        &mut self,
        d: Datagram<'d>,
        port: u32,
        family: u16,
        request: impl FnOnce(usize) -> Option<(&'r [u8], usize)>,
    ) -> Result<Outcome<'d>, Error> {
        let op = Op::EchoBatch;
        if !from_kernel(d.sender) {
            self.foreign += 1;
            log_foreign("pipeline", &d);
            return Ok(Outcome::Skipped);
        }
        if d.truncated() {
            return Err(Error::Truncated {
                op,
                len: d.len,
                buf: d.bytes.len(),
            });
        }
        let seq = netlink::parse_message(d.bytes)
            .map_err(Error::decode(op))?
            .seq;
        let idx = match self
            .place(seq)
            .map_err(|what| Error::UnexpectedReply { op, what })?
        {
            Place::Stale => return Ok(Outcome::Skipped),
            Place::Index(i) => i,
        };
        let Some((req, msg_len)) = request(idx) else {
            return Err(Error::UnexpectedReply {
                op,
                what: Mismatch::Seq {
                    got: seq,
                    expected: self.first,
                },
            });
        };
        match check(d.bytes, seq, port, family, req, msg_len) {
            Ok((msg, mode)) => {
                self.acc.verified += 1;
                Ok(Outcome::Reply { idx, msg, mode })
            }
            // After an overrun the kernel may answer a request whose reply
            // it could not queue with EAGAIN or ENOBUFS: that reply is lost.
            Err(Error::Kernel { errno, .. })
                if self.overrun && (errno == libc::EAGAIN || errno == libc::ENOBUFS) =>
            {
                self.acc.lost += 1;
                Ok(Outcome::Skipped)
            }
            Err(e) => Err(e),
        }
    }
}

/// Checks that datagram `d` is exactly the reply to `request` (a whole
/// encoded `ECHO` whose message is `msg_len` bytes) with sequence number
/// `seq` on port `pid`; returns the echoed bytes and the mode.
pub(crate) fn check<'d>(
    d: &'d [u8],
    seq: u32,
    pid: u32,
    family: u16,
    request: &[u8],
    msg_len: usize,
) -> Result<(&'d [u8], Mode), Error> {
    let op = Op::EchoBatch;
    let m = netlink::parse_message(d).map_err(Error::decode(op))?;
    let bad = |what| Err(Error::UnexpectedReply { op, what });
    if m.seq != seq {
        return bad(Mismatch::Seq {
            got: m.seq,
            expected: seq,
        });
    }
    if m.pid != pid {
        return bad(Mismatch::Port {
            got: m.pid,
            expected: pid,
        });
    }
    if netlink::is_error(m.ty) {
        let e = netlink::parse_error(m.payload, m.flags).map_err(Error::decode(op))?;
        if e.errno == 0 {
            return bad(Mismatch::Ack);
        }
        return Err(super::requests::kernel_error(
            op, e.errno, e.ext_ack, request,
        ));
    }
    if m.ty != family {
        return bad(Mismatch::Type {
            got: m.ty,
            expected: family,
        });
    }
    let want_len = echo_reply_len(msg_len);
    if m.bytes.len() != d.len() || d.len() != want_len {
        return bad(Mismatch::Length {
            got: d.len(),
            expected: want_len,
        });
    }
    let g = netlink::parse_genl(m.payload).map_err(Error::decode(op))?;
    if g.cmd != Cmd::Echo.value() {
        return Err(Error::Decode {
            op,
            source: genl_proto::DecodeError::UnexpectedCmd {
                got: g.cmd,
                expected: Cmd::Echo.value(),
            },
        });
    }
    let EchoReplyRef { msg, mode } =
        EchoReplyRef::from_attrs(g.attrs).map_err(Error::decode(op))?;
    let sent = request
        .get(MSG_OFFSET..MSG_OFFSET + msg_len)
        .unwrap_or_default();
    if !converted(mode, sent, msg) {
        return bad(Mismatch::Content);
    }
    Ok((msg, mode))
}

/// Whether `got` is `sent` converted under `mode` (ASCII letters only).
/// Under a mode this crate does not know (a newer module's), only the
/// letters' case may differ.
pub(crate) fn converted(mode: Mode, sent: &[u8], got: &[u8]) -> bool {
    if got.len() != sent.len() {
        return false;
    }
    match mode {
        Mode::None => got == sent,
        Mode::Upper => got
            .iter()
            .zip(sent)
            .all(|(g, s)| *g == s.to_ascii_uppercase()),
        Mode::Lower => got
            .iter()
            .zip(sent)
            .all(|(g, s)| *g == s.to_ascii_lowercase()),
        _ => got.eq_ignore_ascii_case(sent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genl_proto::consts::NLMSG_ERROR;
    use genl_proto::{nla, Attr, Request};

    const FAM: u16 = 0x20;
    const PID: u32 = 77;

    fn request(msg: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        Request::Echo(msg).encode(FAM, 9, &mut b).unwrap();
        b
    }

    fn reply(ty: u16, seq: u32, pid: u32, msg: &[u8], mode: u32) -> Vec<u8> {
        let mut b = Vec::new();
        let s = netlink::begin(&mut b, ty, 0, seq);
        b[s + 12..s + 16].copy_from_slice(&pid.to_ne_bytes());
        netlink::put_genl(&mut b, Cmd::Echo.value(), 1);
        nla::put_cstr(&mut b, Attr::Msg.value(), msg).unwrap();
        nla::put_u32(&mut b, Attr::Mode.value(), mode).unwrap();
        netlink::finish(&mut b, s).unwrap();
        b
    }

    fn error_reply(seq: u32, errno: i32) -> Vec<u8> {
        let mut b = Vec::new();
        let s = netlink::begin(&mut b, NLMSG_ERROR, genl_proto::consts::NLM_F_CAPPED, seq);
        b[s + 12..s + 16].copy_from_slice(&PID.to_ne_bytes());
        b.extend_from_slice(&(-errno).to_ne_bytes());
        let mut h = Vec::new();
        netlink::begin(&mut h, FAM, 1, seq);
        netlink::finish(&mut h, 0).unwrap();
        b.extend_from_slice(&h);
        netlink::finish(&mut b, s).unwrap();
        b
    }

    #[test]
    fn tracker_in_order() {
        let mut t = Tracker::new(u32::MAX - 1, 4); // wraps around
        assert_eq!(t.want(), 4);
        for (i, seq) in [u32::MAX - 1, u32::MAX, 0, 1].into_iter().enumerate() {
            assert_eq!(t.place(seq), Ok(Place::Index(i)));
        }
        assert!(t.done());
        assert_eq!((t.acc.requests, t.acc.lost, t.acc.overruns), (4, 0, 0));
    }

    #[test]
    fn tracker_refuses_skips_without_overrun_and_strays() {
        let mut t = Tracker::new(100, 3);
        assert_eq!(
            t.place(101),
            Err(Mismatch::Seq {
                got: 101,
                expected: 100
            })
        );
        assert_eq!(t.place(100), Ok(Place::Index(0)));
        assert!(t.place(100).is_err(), "duplicate");
        assert!(t.place(103).is_err(), "after the batch");
        assert_eq!(t.acc.lost, 0);
    }

    #[test]
    fn tracker_counts_losses_after_overrun() {
        let mut t = Tracker::new(10, 6);
        assert_eq!(t.place(10), Ok(Place::Index(0)));
        t.on_overrun();
        assert_eq!(t.place(13), Ok(Place::Index(3))); // 11 and 12 were dropped
        assert_eq!(t.acc.lost, 2);
        assert_eq!(t.want(), 2);
        t.lose_rest(); // nothing more queued: 14 and 15 lost
        assert!(t.done());
        assert_eq!((t.acc.lost, t.acc.overruns), (4, 1));
        assert_eq!(t.acc.requests, 6);
    }

    #[test]
    fn check_accepts_good_replies_in_every_mode() {
        let msg = b"Hello, World";
        let req = request(msg);
        for (mode, out) in [
            (0, msg.to_vec()),
            (1, msg.to_ascii_uppercase()),
            (2, msg.to_ascii_lowercase()),
        ] {
            let d = reply(FAM, 9, PID, &out, mode);
            let (got, m) = check(&d, 9, PID, FAM, &req, msg.len()).unwrap();
            assert_eq!((got, m.value()), (out.as_slice(), mode));
        }
    }

    #[test]
    fn check_rejects_bad_replies() {
        let msg = b"abcdefghijklmnop";
        let req = request(msg);
        let ck = |d: &[u8]| check(d, 9, PID, FAM, &req, msg.len()).map(|_| ());
        let good = reply(FAM, 9, PID, msg, 0);
        assert!(ck(&good).is_ok());
        let seq = check(&good, 10, PID, FAM, &req, msg.len());
        assert!(matches!(
            seq,
            Err(Error::UnexpectedReply {
                what: Mismatch::Seq { .. },
                ..
            })
        ));
        assert!(matches!(
            ck(&reply(0x21, 9, PID, msg, 0)),
            Err(Error::UnexpectedReply {
                what: Mismatch::Type { .. },
                ..
            })
        ));
        assert!(matches!(
            ck(&reply(FAM, 9, PID + 1, msg, 0)),
            Err(Error::UnexpectedReply {
                what: Mismatch::Port { .. },
                ..
            })
        ));
        assert!(matches!(
            ck(&reply(FAM, 9, PID, msg, 1)),
            Err(Error::UnexpectedReply {
                what: Mismatch::Content,
                ..
            })
        ));
        // A newer module's mode: letters may change case, nothing else.
        assert!(ck(&reply(FAM, 9, PID, &msg.to_ascii_uppercase(), 7)).is_ok());
        let mut other = msg.to_vec();
        other[0] = b'!';
        assert!(matches!(
            ck(&reply(FAM, 9, PID, &other, 7)),
            Err(Error::UnexpectedReply {
                what: Mismatch::Content,
                ..
            })
        ));
        let mut other = msg.to_vec();
        other[3] ^= 1;
        assert!(ck(&reply(FAM, 9, PID, &other, 0)).is_err(), "bytes");
        assert!(matches!(
            ck(&reply(FAM, 9, PID, &msg[1..], 0)),
            Err(Error::UnexpectedReply {
                what: Mismatch::Length { .. },
                ..
            })
        ));
        for n in 0..good.len() {
            assert!(ck(&good[..n]).is_err(), "prefix {n}");
        }
        let mut two = good.clone();
        two.extend_from_slice(&good);
        assert!(ck(&two).is_err(), "two messages");
        match ck(&error_reply(9, libc::EINVAL)) {
            Err(Error::Kernel { errno, op, .. }) => {
                assert_eq!((errno, op), (libc::EINVAL, Op::EchoBatch))
            }
            r => panic!("{r:?}"),
        }
        assert!(matches!(
            ck(&error_reply(9, 0)),
            Err(Error::UnexpectedReply {
                what: Mismatch::Ack,
                ..
            })
        ));
    }

    #[test]
    fn stale_replies_of_an_earlier_batch_are_skipped_and_counted() {
        use crate::core::testutil::echo_reply as reply_of;
        let msg = b"abc";
        let req = request(msg);
        // The earlier batch was 95..100 and abandoned; this one is 100..103.
        let mut t = Tracker::new(100, 3);
        let lookup = |_| Some((req.as_slice(), msg.len()));
        for seq in [95u32, 96, 97] {
            let d = reply_of(FAM, seq, PID, msg, 0);
            assert_eq!(
                t.on_datagram(Datagram::whole(0, &d), PID, FAM, lookup)
                    .unwrap(),
                Outcome::Skipped
            );
        }
        // An error reply of the earlier batch too.
        let d = error_reply(98, libc::EINVAL);
        assert_eq!(
            t.on_datagram(Datagram::whole(0, &d), PID, FAM, lookup)
                .unwrap(),
            Outcome::Skipped
        );
        // A forged reply for the batch itself.
        let d = reply_of(FAM, 100, PID, msg, 0);
        assert_eq!(
            t.on_datagram(Datagram::whole(31, &d), PID, FAM, lookup)
                .unwrap(),
            Outcome::Skipped
        );
        for (i, seq) in (100u32..103).enumerate() {
            let d = reply_of(FAM, seq, PID, msg, 0);
            match t
                .on_datagram(Datagram::whole(0, &d), PID, FAM, lookup)
                .unwrap()
            {
                Outcome::Reply { idx, msg: m, .. } => assert_eq!((idx, m), (i, &msg[..])),
                o => panic!("{o:?}"),
            }
        }
        assert!(t.done());
        assert_eq!((t.acc.stale, t.acc.verified, t.acc.lost), (4, 3, 0));
        assert_eq!(t.foreign, 1);
        // Across the wrap of the sequence numbers.
        let mut t = Tracker::new(2, 2);
        assert_eq!(t.place(u32::MAX - 3), Ok(Place::Stale));
        assert_eq!(t.place(2), Ok(Place::Index(0)));
    }

    #[test]
    fn a_truncated_reply_is_an_error() {
        let msg = b"abc";
        let req = request(msg);
        let d = reply(FAM, 9, PID, msg, 0);
        let mut t = Tracker::new(9, 1);
        let r = t.on_datagram(
            Datagram {
                sender: 0,
                bytes: &d[..8],
                len: d.len(),
            },
            PID,
            FAM,
            |_| Some((req.as_slice(), msg.len())),
        );
        assert!(matches!(r, Err(Error::Truncated { .. })), "{r:?}");
    }
}
