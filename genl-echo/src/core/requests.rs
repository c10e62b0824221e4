//! Requests in flight on one socket: sequence numbers, the table of
//! requests waiting for a reply, and the classification of every message
//! received on the socket.

use std::collections::HashMap;

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
    fn finish(&mut self, r: Result<Answer, Error>) {
        self.request = Vec::new();
        self.parts = Vec::new();
        self.outcome = Some(r);
    }
}

/// The requests of one socket (port `port`).
#[derive(Debug)]
pub(crate) struct Requests {
    port: u32,
    seq: u32,
    table: HashMap<u32, Pending>,
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
            table: HashMap::new(),
            overrun: false,
            counters: Counters::default(),
        }
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

    /// Starts request `op`: allocates its sequence number, appends the
    /// request built by `encode(seq, out)` to `out` and records it as in
    /// flight. Call it when the request is about to be sent (in the same
    /// step as the send); if the send fails, [`Requests::cancel`] it.
    pub(crate) fn start(
        &mut self,
        op: Op,
        kind: Kind,
        out: &mut Vec<u8>,
        encode: impl FnOnce(u32, &mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<u32, Error> {
        let seq = self.next_seq();
        let start = out.len();
        if let Err(e) = encode(seq, out) {
            out.truncate(start);
            return Err(Error::encode(op, e));
        }
        let request = out.get(start..).unwrap_or_default().to_vec();
        self.table.insert(
            seq,
            Pending {
                op,
                kind,
                request,
                parts: Vec::new(),
                outcome: None,
            },
        );
        Ok(seq)
    }

    /// Forgets request `seq` (its caller gave up: a timeout, a dropped
    /// future, a failed send). Its reply, if it comes, is stale: counted
    /// and discarded, never handed to another request.
    pub(crate) fn cancel(&mut self, seq: u32) {
        if self.table.remove(&seq).is_some() {
            debug!("request {seq} cancelled");
        }
    }

    /// The answer to request `seq` once there is one (the request is then
    /// forgotten); `None` while it is still waiting or if it is unknown.
    pub(crate) fn take(&mut self, seq: u32) -> Option<Result<Answer, Error>> {
        if self.table.get(&seq)?.outcome.is_none() {
            return None;
        }
        self.table.remove(&seq).and_then(|p| p.outcome)
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
    /// [`Requests::on_drained`].
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
            Kind::Do => p.finish(Ok(Answer {
                messages: vec![m.bytes.to_vec()],
            })),
            Kind::Dump => p.parts.push(m.bytes.to_vec()),
        }
    }
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
