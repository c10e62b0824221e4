//! Requests in flight on one socket: sequence numbers, the table of
//! requests waiting for a reply, and the classification of every message
//! received on the socket.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use genl_proto::consts::{GENL_HDRLEN, NLMSG_HDRLEN, NLMSG_NOOP};
use genl_proto::ctrl::{self, GENL_ID_CTRL};
use genl_proto::error::{DecodeError, EncodeError};
use genl_proto::netlink::{self, ExtAck, NlMsg};
use genl_proto::{message, nla, Attr};
use log::debug;

use super::{from_kernel, header_seq, log_foreign, Datagram};
use crate::error::{Error, Op};

/// A "do" request (one reply message) or a dump (messages until `NLMSG_DONE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One reply message.
    Do,
    /// Reply messages until `NLMSG_DONE`.
    Dump,
}

/// The answer to a request: the reply message (header included) of a "do"
/// request, or every message of a dump before its `NLMSG_DONE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) messages: Vec<Vec<u8>>,
}

impl Answer {
    /// The reply message of a "do" request.
    pub(crate) fn message(&self) -> &[u8] {
        self.messages.first().map_or(&[], Vec::as_slice)
    }
}

/// What the socket has seen besides answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Messages for no request in flight: replies of cancelled or
    /// abandoned requests, duplicates.
    pub(crate) stale: u64,
    /// Datagrams not sent by the kernel, dropped.
    pub(crate) foreign: u64,
    /// `ENOBUFS` reports while requests were in flight.
    pub(crate) overruns: u64,
    /// `ENOBUFS` left over from before a request (not charged to it).
    pub(crate) leftover_overruns: u64,
    /// Requests failed with [`Error::ReplyLost`].
    pub(crate) lost: u64,
    /// Malformed datagrams that named no request in flight.
    pub(crate) malformed: u64,
}

#[derive(Debug)]
struct Pending {
    op: Op,
    kind: Kind,
    /// The request as sent (to name the attribute an extended ACK points at).
    request: Vec<u8>,
    /// Dump messages so far.
    parts: Vec<Vec<u8>>,
    /// Set once the request is answered; [`Requests::take`] hands it out.
    outcome: Option<Result<Answer, Error>>,
}

impl Pending {
    fn new(op: Op, kind: Kind, request: Vec<u8>) -> Pending {
        Pending {
            op,
            kind,
            request,
            parts: Vec::new(),
            outcome: None,
        }
    }

    fn finish(&mut self, r: Result<Answer, Error>) {
        // Emptied, its allocation kept: Requests::take and cancel recycle it.
        self.request.clear();
        self.parts = Vec::new();
        self.outcome = Some(r);
    }
}

/// The requests of one socket (port `port`).
#[derive(Debug)]
pub(crate) struct Requests {
    port: u32,
    seq: u32,
    table: HashMap<u32, Pending, BuildHasherDefault<super::NumberHasher>>,
    /// Buffers of taken requests and answers, for reuse ([`Requests::recycle`]).
    spare: Vec<Vec<u8>>,
    spare_lists: Vec<Vec<Vec<u8>>>,
    /// How many of each it keeps.
    spare_max: usize,
    overrun: bool,
    counters: Counters,
}

impl Requests {
    /// Requests of the socket bound to port `port`; the first sequence
    /// number is `initial_seq + 1`.
    pub(crate) fn new(port: u32, initial_seq: u32) -> Requests {
        Requests {
            port,
            seq: initial_seq,
            table: HashMap::default(),
            spare: Vec::new(),
            spare_lists: Vec::new(),
            spare_max: SPARE_MAX,
            overrun: false,
            counters: Counters::default(),
        }
    }

    /// Keeps up to `n` spare buffers (and lists) instead of
    /// [`SPARE_MAX`]: for a front end with many requests in flight at once.
    #[allow(dead_code)] // for the async front end and tests
    pub(crate) fn with_spares(mut self, n: usize) -> Requests {
        self.spare_max = n;
        self
    }

    /// The socket's port id.
    #[allow(dead_code)] // for the async front end and tests
    pub(crate) fn port(&self) -> u32 {
        self.port
    }

    /// What was seen besides answers.
    #[allow(dead_code)] // for the async front end and tests
    pub(crate) fn counters(&self) -> Counters {
        self.counters
    }

    /// Requests started and not yet taken.
    #[allow(dead_code)] // for the async front end and tests
    pub(crate) fn in_flight(&self) -> usize {
        self.table.len()
    }

    /// The next sequence number (wrapping), never one still in flight.
    pub(crate) fn next_seq(&mut self) -> u32 {
        loop {
            self.seq = self.seq.wrapping_add(1);
            if !self.table.contains_key(&self.seq) {
                return self.seq;
            }
        }
    }

    /// Reserves `k` consecutive sequence numbers for a batch that keeps its
    /// own books ([`super::batch::Tracker`]) and returns the first. Replies
    /// to them that reach this table later are stale.
    pub(crate) fn reserve(&mut self, k: usize) -> u32 {
        let first = self.next_seq();
        let k = u32::try_from(k.max(1)).unwrap_or(u32::MAX);
        self.seq = first.wrapping_add(k - 1);
        first
    }

    /// Starts request `op`: appends the request built by `encode(out)`
    /// (one netlink message, with sequence number 0), allocates its
    /// sequence number, writes it into the message and records the request
    /// as in flight ([`Requests::start_encoded`]). Call it when the request
    /// is about to be sent (in the same step as the send); if the send
    /// fails, [`Requests::cancel`] it. If `encode` fails, `out` is left as
    /// it was.
    pub(crate) fn start(
        &mut self,
        op: Op,
        kind: Kind,
        out: &mut Vec<u8>,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<u32, Error> {
        let start = out.len();
        if let Err(e) = encode(out) {
            out.truncate(start);
            return Err(Error::encode(op, e));
        }
        let msg = out.get_mut(start..).unwrap_or_default();
        Ok(self.start_encoded(op, kind, msg))
    }

    /// Starts request `op` already encoded in `msg` (one whole netlink
    /// message, its sequence number still to be written): allocates the
    /// sequence number, writes it into `msg` and records the request as in
    /// flight.
    pub(crate) fn start_encoded(&mut self, op: Op, kind: Kind, msg: &mut [u8]) -> u32 {
        // The next sequence number not in flight, and its free slot (one
        // lookup, as in `next_seq`).
        let (seq, slot) = loop {
            self.seq = self.seq.wrapping_add(1);
            if let Entry::Vacant(v) = self.table.entry(self.seq) {
                break (self.seq, v);
            }
        };
        if let Some(s) = msg.get_mut(8..12) {
            s.copy_from_slice(&seq.to_ne_bytes());
        }
        let request = spare_copy(&mut self.spare, msg);
        slot.insert(Pending::new(op, kind, request));
        seq
    }

    /// Forgets request `seq` (its caller gave up: a timeout, a dropped
    /// future, a failed send). Its reply, if it comes, is stale: counted
    /// and discarded, never handed to another request.
    /// A request answered but not yet taken has its answer discarded:
    /// counted as stale too (unless it was [`Error::ReplyLost`], counted as
    /// lost), so that every reply received is taken, stale or lost.
    pub(crate) fn cancel(&mut self, seq: u32) {
        let Some(p) = self.table.remove(&seq) else {
            return;
        };
        debug!("request {seq} cancelled");
        let discarded = match &p.outcome {
            None => p.parts.len(),
            Some(Err(Error::ReplyLost { .. })) => 0,
            Some(Ok(a)) => a.messages.len().max(1),
            Some(Err(_)) => 1,
        };
        self.counters.stale += discarded as u64;
        if let Some(Ok(a)) = p.outcome {
            self.recycle(a);
        }
        self.keep(p.request);
    }

    /// The answer to request `seq` once there is one (the request is then
    /// forgotten); `None` while it is still waiting or if it is unknown.
    pub(crate) fn take(&mut self, seq: u32) -> Option<Result<Answer, Error>> {
        let Entry::Occupied(e) = self.table.entry(seq) else {
            return None;
        };
        e.get().outcome.as_ref()?;
        let p = e.remove();
        self.keep(p.request);
        p.outcome
    }

    /// Gives the buffers of an answer its caller has decoded back for
    /// reuse: a client answering one request after another then allocates
    /// nothing per request (under emulation, an allocation costs a visible
    /// share of a round trip).
    pub(crate) fn recycle(&mut self, a: Answer) {
        let mut list = a.messages;
        for b in list.drain(..) {
            self.keep(b);
        }
        if self.spare_lists.len() < self.spare_max {
            self.spare_lists.push(list);
        }
    }

    /// Keeps buffer `b` for reuse if there is room and it is not large.
    fn keep(&mut self, b: Vec<u8>) {
        if self.spare.len() < self.spare_max && b.capacity() <= SPARE_CAP {
            self.spare.push(b);
        }
    }

    /// Whether no request waits for a reply and no overrun is being
    /// drained: a front end reading the socket need not read on until
    /// `EAGAIN` (nothing it reads could answer a request).
    #[allow(dead_code)] // for the async front end and tests
    pub(crate) fn settled(&self) -> bool {
        !self.overrun && self.table.values().all(|p| p.outcome.is_some())
    }

    /// Whether request `seq` is in flight and not yet answered.
    #[allow(dead_code)] // for the async front end and tests
    pub(crate) fn waiting(&self, seq: u32) -> bool {
        self.table.get(&seq).is_some_and(|p| p.outcome.is_none())
    }

    /// An `ENOBUFS` found before a request was sent (e.g. `SO_ERROR` read
    /// before a blocking request): a reply of an earlier, abandoned
    /// request was dropped. Counted; no request in flight is charged.
    pub(crate) fn on_leftover_overrun(&mut self) {
        self.counters.leftover_overruns += 1;
        debug!("leftover ENOBUFS on the request socket (an earlier reply was dropped)");
    }

    /// The socket reported `ENOBUFS`: the kernel dropped one or more
    /// replies. The front end now reads every queued datagram without
    /// blocking (into [`Requests::on_datagram`]) and then calls
    /// [`Requests::on_drained`], sending nothing in between (a request sent
    /// then would be taken for one whose reply was dropped).
    pub(crate) fn on_overrun(&mut self) {
        self.counters.overruns += 1;
        self.overrun = true;
        debug!("ENOBUFS on the request socket");
    }

    /// The socket is drained after [`Requests::on_overrun`]. Generic
    /// netlink runs a request inside `sendmsg`, so by now every reply of a
    /// request sent was either queued (and has been read) or dropped:
    /// every "do" request still waiting lost its reply
    /// ([`Error::ReplyLost`]; the request did run). Dumps go on (their
    /// next messages are made as the socket is read).
    pub(crate) fn on_drained(&mut self) {
        if !std::mem::take(&mut self.overrun) {
            return;
        }
        for (seq, p) in &mut self.table {
            if p.kind == Kind::Do && p.outcome.is_none() {
                debug!("request {seq} ({}) lost its reply to an overrun", p.op);
                self.counters.lost += 1;
                let op = p.op;
                p.finish(Err(Error::ReplyLost { op }));
            }
        }
    }

    /// Classifies every message of datagram `d`.
    pub(crate) fn on_datagram(&mut self, d: Datagram<'_>) {
        if !from_kernel(d.sender) {
            self.counters.foreign += 1;
            log_foreign("request socket", &d);
            return;
        }
        if d.truncated() {
            let seq = header_seq(d.bytes);
            match seq.and_then(|s| self.waiting_mut(s)) {
                Some(p) => {
                    let op = p.op;
                    p.finish(Err(Error::Truncated {
                        op,
                        len: d.len,
                        buf: d.bytes.len(),
                    }))
                }
                None => {
                    self.counters.stale += 1;
                    debug!(
                        "discarded a truncated {}-byte datagram (seq {seq:?})",
                        d.len
                    );
                }
            }
            return;
        }
        let mut next = 0usize;
        for m in netlink::messages(d.bytes) {
            match m {
                Ok(m) => {
                    next = m.offset + genl_proto::consts::align(m.bytes.len());
                    self.on_message(&m);
                }
                Err(source) => {
                    let seq = header_seq(d.bytes.get(next..).unwrap_or_default());
                    match seq.and_then(|s| self.waiting_mut(s)) {
                        Some(p) => {
                            let op = p.op;
                            p.finish(Err(Error::Decode { op, source }))
                        }
                        None => {
                            self.counters.malformed += 1;
                            debug!("discarded a malformed datagram: {source}");
                        }
                    }
                    break;
                }
            }
        }
    }

    fn waiting_mut(&mut self, seq: u32) -> Option<&mut Pending> {
        self.table.get_mut(&seq).filter(|p| p.outcome.is_none())
    }

    fn on_message(&mut self, m: &NlMsg<'_>) {
        let port = self.port;
        let Some(p) = self
            .table
            .get_mut(&m.seq)
            .filter(|p| p.outcome.is_none() && (m.pid == port || m.pid == 0))
        else {
            self.counters.stale += 1;
            debug!(
                "stale message type {:#x} seq {} pid {} (no request waiting for it)",
                m.ty, m.seq, m.pid
            );
            return;
        };
        let op = p.op;
        if m.ty == NLMSG_NOOP {
            return;
        }
        if netlink::is_error(m.ty) {
            match netlink::parse_error(m.payload, m.flags) {
                Err(source) => p.finish(Err(Error::Decode { op, source })),
                // An ACK: these requests do not ask for one; skipped.
                Ok(e) if e.errno == 0 => {}
                Ok(e) => {
                    let err = kernel_error(op, e.errno, e.ext_ack, &p.request);
                    p.finish(Err(err));
                }
            }
            return;
        }
        if netlink::is_done(m.ty) {
            if p.kind == Kind::Do {
                p.finish(Err(Error::Decode {
                    op,
                    source: DecodeError::UnexpectedType(m.ty),
                }));
                return;
            }
            match netlink::parse_done(m.payload, m.flags) {
                Err(source) => p.finish(Err(Error::Decode { op, source })),
                Ok((0, _)) => {
                    let messages = std::mem::take(&mut p.parts);
                    p.finish(Ok(Answer { messages }));
                }
                Ok((errno, ext)) => {
                    let err = kernel_error(op, errno, ext, &p.request);
                    p.finish(Err(err));
                }
            }
            return;
        }
        match p.kind {
            Kind::Do => {
                let mut messages = self.spare_lists.pop().unwrap_or_default();
                messages.clear();
                messages.push(spare_copy(&mut self.spare, m.bytes));
                p.finish(Ok(Answer { messages }));
            }
            Kind::Dump => p.parts.push(m.bytes.to_vec()),
        }
    }
}

/// How many buffers (and lists of them) [`Requests`] keeps for reuse, and
/// the largest it keeps: enough for a client that has a few requests in
/// flight, without holding on to maximum-size replies.
const SPARE_MAX: usize = 16;
const SPARE_CAP: usize = 8 * 1024;

/// `bytes` in a buffer taken from `spare` (or a new one).
fn spare_copy(spare: &mut Vec<Vec<u8>>, bytes: &[u8]) -> Vec<u8> {
    let mut b = spare.pop().unwrap_or_default();
    b.clear();
    b.extend_from_slice(bytes);
    b
}

/// The error for an error reply with `errno` to `request`.
pub(crate) fn kernel_error(op: Op, errno: i32, ext_ack: ExtAck, request: &[u8]) -> Error {
    let attr = attr_named(request, &ext_ack);
    debug!("kernel error {errno}: {ext_ack:?}, attribute {attr:?}");
    Error::kernel(op, errno, ext_ack.msg, attr)
}

/// Names the attribute an extended ACK points at in `request` (a whole
/// netlink message): the offset's attribute, or the missing type.
pub(crate) fn attr_named(request: &[u8], ext: &ExtAck) -> Option<String> {
    let is_ctrl = request.get(4..6) == Some(&GENL_ID_CTRL.to_ne_bytes()[..]);
    let at_offset = |off: u32| {
        if is_ctrl {
            let base = NLMSG_HDRLEN + GENL_HDRLEN;
            let o = usize::try_from(off).ok()?.checked_sub(base)?;
            let path = nla::path_at_offset(request.get(base..)?, o);
            path.first().map(|&t| ctrl::attr_name(t))
        } else {
            message::attr_at_offset(request, off)
        }
    };
    ext.offset.and_then(at_offset).or_else(|| {
        ext.missing_type.map(|t| {
            let t = u16::try_from(t).unwrap_or(u16::MAX);
            let name = if is_ctrl {
                ctrl::attr_name(t)
            } else {
                Attr::display_name(t)
            };
            format!("{name} (missing)")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::*;
    use genl_proto::consts::NLMSG_NOOP;
    use genl_proto::Request;
    use proptest::prelude::*;

    fn start(r: &mut Requests, op: Op, kind: Kind) -> u32 {
        let mut out = Vec::new();
        r.start(op, kind, &mut out, |o| Request::GetCase.encode(FAM, 0, o))
            .unwrap()
    }

    fn kernel(r: &mut Requests, bytes: &[u8]) {
        r.on_datagram(Datagram::whole(0, bytes));
    }

    fn mode_of(a: &Answer) -> u32 {
        use genl_proto::message::Reply as _;
        genl_proto::ModeReply::from_nlmsg(a.message())
            .unwrap()
            .mode
            .value()
    }

    #[test]
    fn a_reply_answers_its_request_once() {
        let mut r = Requests::new(PID, 100);
        let seq = start(&mut r, Op::GetMode, Kind::Do);
        assert_eq!(seq, 101);
        assert!(r.take(seq).is_none(), "no reply yet");
        kernel(&mut r, &mode_reply(seq, 2));
        let a = r.take(seq).unwrap().unwrap();
        assert_eq!(mode_of(&a), 2);
        assert!(r.take(seq).is_none());
        assert_eq!(r.in_flight(), 0);
        // A duplicate is stale.
        kernel(&mut r, &mode_reply(seq, 2));
        assert_eq!(r.counters().stale, 1);
    }

    /// `settled`: no request waiting and no overrun being drained (when a
    /// reader may stop before `EAGAIN`). Answered but not yet taken counts
    /// as settled; a dump is waiting until its `NLMSG_DONE`.
    #[test]
    fn settled_means_nothing_waits_and_no_overrun_is_open() {
        let mut r = Requests::new(PID, 0);
        assert!(r.settled());
        let a = start(&mut r, Op::GetMode, Kind::Do);
        let b = start(&mut r, Op::GetMode, Kind::Do);
        assert!(!r.settled());
        kernel(&mut r, &mode_reply(a, 1));
        assert!(!r.settled(), "b still waits");
        kernel(&mut r, &mode_reply(b, 2));
        assert!(r.settled(), "both answered, neither taken");
        r.on_overrun();
        assert!(!r.settled(), "an overrun is drained to EAGAIN");
        r.on_drained();
        assert!(r.settled());
        let d = start(&mut r, Op::Policy, Kind::Dump);
        kernel(&mut r, &mode_reply(d, 1));
        assert!(!r.settled(), "a dump waits for its end");
        r.cancel(d);
        assert!(r.settled());
    }

    /// One request after another, each answer recycled: after the first,
    /// the answers and the requests' copies reuse the same buffers, and a
    /// recycled buffer never changes an answer.
    #[test]
    fn recycled_answers_reuse_their_buffers() {
        let mut r = Requests::new(PID, 0);
        let pool = |r: &Requests| (r.spare.len(), r.spare_lists.len());
        for (i, mode) in [1, 2, 0, 1, 2, 0, 1].into_iter().enumerate() {
            let seq = start(&mut r, Op::GetMode, Kind::Do);
            // The request's copy came from the pool (after the first round).
            assert_eq!(pool(&r), if i == 0 { (0, 0) } else { (1, 1) });
            kernel(&mut r, &mode_reply(seq, mode));
            // So did the answer's buffer and list.
            assert_eq!(pool(&r), (0, 0));
            let a = r.take(seq).unwrap().unwrap();
            assert_eq!(mode_of(&a), mode);
            assert_eq!(a.message(), mode_reply(seq, mode).as_slice());
            assert_eq!(pool(&r), (1, 0), "the request's copy is back");
            r.recycle(a);
            assert_eq!(pool(&r), (2, 1), "and the answer's buffers");
        }
        // Cancelled requests give their buffers back too; the pool is bounded.
        for _ in 0..100 {
            let seq = start(&mut r, Op::GetMode, Kind::Do);
            kernel(&mut r, &mode_reply(seq, 1));
            r.cancel(seq);
        }
        assert!(r.spare.len() <= SPARE_MAX && r.spare_lists.len() <= SPARE_MAX);
    }

    #[test]
    fn start_appends_and_records_the_request() {
        let mut r = Requests::new(PID, 0);
        let mut out = vec![1, 2, 3];
        let seq = r
            .start(Op::Echo, Kind::Do, &mut out, |o| {
                Request::Echo(b"hi").encode(FAM, 0, o)
            })
            .unwrap();
        assert_eq!(&out[..3], &[1, 2, 3]);
        assert_eq!(crate::core::header_seq(&out[3..]), Some(seq));
        // A request that cannot be encoded leaves the buffer as it was.
        let before = out.clone();
        let e = r
            .start(Op::Echo, Kind::Do, &mut out, |o| {
                Request::Echo(b"a\0b").encode(FAM, 0, o)
            })
            .unwrap_err();
        assert!(matches!(e, Error::MsgHasNul { offset: 1 }), "{e:?}");
        assert_eq!(out, before);
        assert_eq!(r.in_flight(), 1);
    }

    #[test]
    fn a_cancelled_requests_reply_is_stale_never_anothers() {
        let mut r = Requests::new(PID, 7);
        let old = start(&mut r, Op::GetMode, Kind::Do);
        r.cancel(old);
        let new = start(&mut r, Op::GetMode, Kind::Do);
        // The late reply arrives first, in the same datagram as the new one.
        let mut d = mode_reply(old, 1);
        d.extend_from_slice(&mode_reply(new, 2));
        kernel(&mut r, &d);
        assert_eq!(mode_of(&r.take(new).unwrap().unwrap()), 2);
        assert_eq!(r.counters().stale, 1);
        assert!(r.take(old).is_none());
    }

    #[test]
    fn forged_datagrams_are_dropped() {
        let mut r = Requests::new(PID, 0);
        let seq = start(&mut r, Op::GetMode, Kind::Do);
        // A process that knows the port and guesses the seq.
        r.on_datagram(Datagram::whole(4242, &mode_reply(seq, 1)));
        r.on_datagram(Datagram::whole(
            4242,
            &error_reply(seq, PID, libc::EINVAL, None),
        ));
        assert!(r.take(seq).is_none());
        assert_eq!(r.counters().foreign, 2);
        kernel(&mut r, &mode_reply(seq, 2));
        assert_eq!(mode_of(&r.take(seq).unwrap().unwrap()), 2);
    }

    #[test]
    fn a_reply_for_another_port_is_stale() {
        let mut r = Requests::new(PID, 0);
        let seq = start(&mut r, Op::Echo, Kind::Do);
        kernel(&mut r, &echo_reply(FAM, seq, PID + 1, b"x", 0));
        assert!(r.waiting(seq));
        assert_eq!(r.counters().stale, 1);
    }

    #[test]
    fn error_replies_keep_their_extack() {
        let mut r = Requests::new(PID, 0);
        let a = start(&mut r, Op::SetMode, Kind::Do);
        let b = start(&mut r, Op::SetMode, Kind::Do);
        kernel(
            &mut r,
            &error_reply(a, PID, libc::EPERM, Some("needs admin")),
        );
        kernel(
            &mut r,
            &error_reply(b, PID, libc::ERANGE, Some("out of range")),
        );
        match r.take(a).unwrap() {
            Err(Error::PermissionDenied { message, .. }) => {
                assert_eq!(message.as_deref(), Some("needs admin"))
            }
            x => panic!("{x:?}"),
        }
        match r.take(b).unwrap() {
            Err(Error::Kernel { errno, message, .. }) => {
                assert_eq!(
                    (errno, message.as_deref()),
                    (libc::ERANGE, Some("out of range"))
                )
            }
            x => panic!("{x:?}"),
        }
    }

    #[test]
    fn acks_and_noops_are_skipped() {
        let mut r = Requests::new(PID, 0);
        let seq = start(&mut r, Op::GetMode, Kind::Do);
        kernel(&mut r, &error_reply(seq, PID, 0, None));
        let mut noop = Vec::new();
        let s = netlink::begin(&mut noop, NLMSG_NOOP, 0, seq);
        netlink::finish(&mut noop, s).unwrap();
        kernel(&mut r, &noop);
        assert!(r.waiting(seq));
        kernel(&mut r, &mode_reply(seq, 0));
        assert!(r.take(seq).unwrap().is_ok());
    }

    #[test]
    fn a_dump_spans_datagrams_until_done() {
        let mut r = Requests::new(PID, 0);
        let seq = start(&mut r, Op::Policy, Kind::Dump);
        let mut d1 = dump_part(seq, 1);
        d1.extend_from_slice(&dump_part(seq, 2));
        kernel(&mut r, &d1);
        assert!(r.take(seq).is_none());
        kernel(&mut r, &dump_part(seq, 3));
        // Overruns while a dump runs do not fail it: its messages are made
        // as the socket is read.
        r.on_overrun();
        r.on_drained();
        kernel(&mut r, &done(seq, 0));
        let a = r.take(seq).unwrap().unwrap();
        assert_eq!(a.messages.len(), 3);
        assert_eq!(a.messages[2], dump_part(seq, 3));
        // A dump that ends in an error.
        let seq = start(&mut r, Op::Policy, Kind::Dump);
        kernel(&mut r, &dump_part(seq, 1));
        kernel(&mut r, &done(seq, libc::EMSGSIZE));
        assert!(matches!(
            r.take(seq).unwrap(),
            Err(Error::Kernel {
                errno: libc::EMSGSIZE,
                ..
            })
        ));
        // NLMSG_DONE for a "do" request is not an answer.
        let seq = start(&mut r, Op::GetMode, Kind::Do);
        kernel(&mut r, &done(seq, 0));
        assert!(matches!(
            r.take(seq).unwrap(),
            Err(Error::Decode {
                source: DecodeError::UnexpectedType(_),
                ..
            })
        ));
    }

    #[test]
    fn an_overrun_fails_only_the_requests_whose_reply_was_dropped() {
        let mut r = Requests::new(PID, 0);
        let a = start(&mut r, Op::SetMode, Kind::Do);
        let b = start(&mut r, Op::GetMode, Kind::Do);
        let dump = start(&mut r, Op::Policy, Kind::Dump);
        r.on_overrun();
        // The drain finds a's reply: it was queued before the loss.
        kernel(&mut r, &mode_reply(a, 1));
        r.on_drained();
        assert!(r.take(a).unwrap().is_ok());
        assert!(matches!(
            r.take(b).unwrap(),
            Err(Error::ReplyLost { op: Op::GetMode })
        ));
        assert!(r.waiting(dump));
        assert_eq!((r.counters().overruns, r.counters().lost), (1, 1));
        // Cancelling a request whose reply is in counts the reply as stale;
        // one whose reply was lost, not again.
        let d = start(&mut r, Op::GetMode, Kind::Do);
        kernel(&mut r, &mode_reply(d, 0));
        let e = start(&mut r, Op::GetMode, Kind::Do);
        r.on_overrun();
        r.on_drained();
        let (stale, lost) = (r.counters().stale, r.counters().lost);
        r.cancel(d);
        r.cancel(e);
        assert_eq!((r.counters().stale, r.counters().lost), (stale + 1, lost));
        // A dump cancelled midway: its messages so far are stale.
        let f = start(&mut r, Op::Policy, Kind::Dump);
        kernel(&mut r, &dump_part(f, 1));
        kernel(&mut r, &dump_part(f, 2));
        r.cancel(f);
        assert_eq!(r.counters().stale, stale + 3);
        // A second on_drained without an overrun changes nothing.
        let c = start(&mut r, Op::GetMode, Kind::Do);
        r.on_drained();
        assert!(r.waiting(c));
    }

    #[test]
    fn a_leftover_overrun_is_not_charged_to_the_next_request() {
        let mut r = Requests::new(PID, 0);
        r.on_leftover_overrun();
        let seq = start(&mut r, Op::GetMode, Kind::Do);
        r.on_drained();
        assert!(r.waiting(seq));
        kernel(&mut r, &mode_reply(seq, 1));
        assert!(r.take(seq).unwrap().is_ok());
        assert_eq!(r.counters().leftover_overruns, 1);
        assert_eq!(r.counters().lost, 0);
    }

    #[test]
    fn family_gone_mid_request_then_back() {
        use crate::core::family::{after_error, Next};
        let mut r = Requests::new(PID, 0);
        let seq = start(&mut r, Op::GetMode, Kind::Do);
        // Generic netlink answers for a family id that is gone.
        kernel(&mut r, &error_reply(seq, PID, libc::ENOENT, None));
        let e = r.take(seq).unwrap().unwrap_err();
        assert_eq!(after_error(&e, false), Next::Reresolve);
        // The front end resolves again through the same table...
        let mut out = Vec::new();
        let resolve = r
            .start(Op::ResolveFamily, Kind::Do, &mut out, |o| {
                ctrl::encode_getfamily("genl_echo", 0, o)
            })
            .unwrap();
        let mut reply = new_family("genl_echo", 0x21, 1, 12);
        reply[8..12].copy_from_slice(&resolve.to_ne_bytes());
        kernel(&mut r, &reply);
        let f =
            genl_proto::ctrl::FamilyInfo::from_nlmsg(r.take(resolve).unwrap().unwrap().message())
                .unwrap();
        assert_eq!(f.id, 0x21);
        // ...and retries once with the new id.
        let retry = start(&mut r, Op::GetMode, Kind::Do);
        kernel(&mut r, &mode_reply(retry, 1));
        assert!(r.take(retry).unwrap().is_ok());
        // A second staleness is not retried again.
        assert_eq!(after_error(&e, true), Next::Fail);
    }

    #[test]
    fn truncated_and_malformed_datagrams() {
        let mut r = Requests::new(PID, 0);
        let seq = start(&mut r, Op::Echo, Kind::Do);
        let full = echo_reply(FAM, seq, PID, &[b'a'; 100], 0);
        r.on_datagram(Datagram {
            sender: 0,
            bytes: &full[..64],
            len: full.len(),
        });
        assert!(matches!(
            r.take(seq).unwrap(),
            Err(Error::Truncated { len, buf: 64, .. }) if len == full.len()
        ));
        // Truncated and for nobody: stale.
        r.on_datagram(Datagram {
            sender: 0,
            bytes: &full[..64],
            len: full.len(),
        });
        assert_eq!(r.counters().stale, 1);
        // A header whose length lies, naming a waiting request.
        let seq = start(&mut r, Op::Echo, Kind::Do);
        let mut bad = echo_reply(FAM, seq, PID, b"x", 0);
        bad[0] = 0xff;
        kernel(&mut r, &bad);
        assert!(matches!(r.take(seq).unwrap(), Err(Error::Decode { .. })));
        // Naming nobody.
        kernel(&mut r, &bad);
        assert_eq!(r.counters().malformed, 1);
        kernel(&mut r, &[1, 2, 3]);
        assert_eq!(r.counters().malformed, 2);
    }

    #[test]
    fn sequence_numbers_wrap_and_skip_requests_in_flight() {
        let mut r = Requests::new(PID, u32::MAX - 1);
        let a = start(&mut r, Op::GetMode, Kind::Do);
        assert_eq!(a, u32::MAX);
        let b = start(&mut r, Op::GetMode, Kind::Do);
        assert_eq!(b, 0);
        // Force the counter back onto a: it is skipped.
        r.seq = u32::MAX - 1;
        assert_eq!(r.next_seq(), 1);
        let first = r.reserve(5);
        assert_eq!(first, 2);
        assert_eq!(r.next_seq(), 7);
        // A batch's replies reaching this table are stale.
        kernel(&mut r, &echo_reply(FAM, first, PID, b"x", 0));
        assert_eq!(r.counters().stale, 1);
    }

    /// What happens on the socket, in some order.
    #[derive(Debug, Clone)]
    enum Step {
        /// The kernel's reply to request i.
        Reply(usize),
        /// A forged reply to request i (from a process).
        Forged(usize),
        /// A duplicate of request i's reply.
        Duplicate(usize),
    }

    proptest! {
        /// Requests, some cancelled, answered in any order among forged
        /// and duplicate replies: every request still waiting gets its own
        /// reply and nothing else; everything else is counted.
        #[test]
        fn every_request_gets_its_own_reply(
            n in 1usize..12,
            cancelled in proptest::collection::vec(any::<bool>(), 12),
            extra in proptest::collection::vec((0usize..12, any::<bool>()), 0..20),
            order in proptest::collection::vec(any::<u32>(), 64),
            initial in any::<u32>(),
        ) {
            let mut r = Requests::new(PID, initial);
            let seqs: Vec<u32> = (0..n).map(|_| start(&mut r, Op::GetMode, Kind::Do)).collect();
            for (i, &s) in seqs.iter().enumerate() {
                if cancelled[i] {
                    r.cancel(s);
                }
            }
            let mut steps: Vec<Step> = (0..n).map(Step::Reply).collect();
            for &(i, forged) in &extra {
                let i = i % n;
                steps.push(if forged { Step::Forged(i) } else { Step::Duplicate(i) });
            }
            // Shuffle.
            let len = steps.len();
            for (k, x) in order.iter().enumerate().take(len) {
                steps.swap(k, (*x as usize) % len);
            }
            let mut seen = vec![false; n];
            let (mut stale, mut foreign) = (0u64, 0u64);
            for st in &steps {
                match *st {
                    Step::Reply(i) => {
                        kernel(&mut r, &mode_reply(seqs[i], (i % 3) as u32));
                        if cancelled[i] || seen[i] { stale += 1; }
                        seen[i] = true;
                    }
                    Step::Duplicate(i) => {
                        kernel(&mut r, &mode_reply(seqs[i], ((i + 1) % 3) as u32));
                        if cancelled[i] || seen[i] { stale += 1; }
                        seen[i] = true;
                    }
                    Step::Forged(i) => {
                        r.on_datagram(Datagram::whole(99, &mode_reply(seqs[i], ((i + 2) % 3) as u32)));
                        foreign += 1;
                    }
                }
            }
            let _ = &seen;
            for (i, &s) in seqs.iter().enumerate() {
                if cancelled[i] {
                    prop_assert!(r.take(s).is_none());
                } else {
                    let a = r.take(s).unwrap().unwrap();
                    // The first kernel message for it, duplicate or not, is
                    // what the kernel sent for that seq; the forged one never.
                    let m = mode_of(&a);
                    prop_assert!(m == (i % 3) as u32 || m == ((i + 1) % 3) as u32);
                }
            }
            prop_assert_eq!(r.counters().foreign, foreign);
            prop_assert_eq!(r.counters().stale, stale);
            prop_assert_eq!(r.in_flight(), 0);
        }
    }

    proptest! {
        /// Replies queued or dropped by the kernel in any pattern, read in
        /// any rhythm: a request whose reply was queued gets it, one whose
        /// reply was dropped gets ReplyLost, never another's reply.
        #[test]
        fn overruns_fail_exactly_the_dropped_replies(
            fates in proptest::collection::vec(any::<bool>(), 1..40),
            reads in proptest::collection::vec(0usize..3, 40),
        ) {
            let mut r = Requests::new(PID, 1000);
            let mut queue = std::collections::VecDeque::new();
            let mut err = false;
            let mut seqs = Vec::new();
            let read = |r: &mut Requests, queue: &mut std::collections::VecDeque<Vec<u8>>, err: &mut bool| {
                if std::mem::take(err) {
                    // ENOBUFS: drain everything queued, then on_drained.
                    r.on_overrun();
                    while let Some(d) = queue.pop_front() {
                        kernel(r, &d);
                    }
                    r.on_drained();
                } else if let Some(d) = queue.pop_front() {
                    kernel(r, &d);
                }
            };
            for (i, &kept) in fates.iter().enumerate() {
                // Sent: genl answers inside sendmsg, so the reply is queued
                // or dropped before the next request.
                let seq = start(&mut r, Op::GetMode, Kind::Do);
                seqs.push(seq);
                if kept {
                    queue.push_back(mode_reply(seq, (i % 3) as u32));
                } else {
                    err = true;
                }
                for _ in 0..reads[i] {
                    read(&mut r, &mut queue, &mut err);
                }
            }
            while !queue.is_empty() || err {
                read(&mut r, &mut queue, &mut err);
            }
            for (i, &seq) in seqs.iter().enumerate() {
                match r.take(seq) {
                    Some(Ok(a)) => {
                        prop_assert!(fates[i]);
                        prop_assert_eq!(mode_of(&a), (i % 3) as u32);
                    }
                    Some(Err(Error::ReplyLost { .. })) => prop_assert!(!fates[i]),
                    other => prop_assert!(false, "request {} ({}): {:?}", i, fates[i], other),
                }
            }
        }
    }
}
