//! The pipelined path: many `ECHO` requests in one `send`, their replies
//! drained with `recvmmsg`, every reply matched by sequence number and
//! checked in full, replies the kernel dropped (receive buffer overrun,
//! `ENOBUFS`) counted as lost, never silent.

use genl_proto::consts::MSG_MAX;
use genl_proto::message::{echo_reply_len, echo_request_len};
use genl_proto::{netlink, Cmd, EchoReply, EchoReplyRef, Mode, Request};

use crate::client::Client;
use crate::error::{Error, Mismatch, Op};
use crate::sock::Slots;

/// The largest datagram a batch is sent in.
pub const MAX_BATCH_BYTES: usize = 4 << 20;

/// A generous estimate of what one reply datagram of `reply_len` bytes
/// costs in a socket's receive buffer (its skb's truesize): the head is
/// allocated with `skb_shared_info` (320 bytes) after the data, rounded up
/// to a power of two, plus the `sk_buff` itself.
pub fn reply_truesize(reply_len: usize) -> usize {
    (reply_len + 384).next_power_of_two() + 512
}

/// How a [`Pipeline`] sizes its socket buffers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineOptions {
    /// A fixed `SO_RCVBUF` in bytes instead of one sized for the batch
    /// (for tests: a tiny one provokes overruns).
    pub rcvbuf: Option<usize>,
}

/// What one batch (or several) came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Requests sent.
    pub requests: u64,
    /// Replies received and checked.
    pub verified: u64,
    /// Requests whose reply the kernel dropped.
    pub lost: u64,
    /// `ENOBUFS` reports (receive buffer overruns).
    pub overruns: u64,
    /// `send`, `recv` and `recvmmsg` calls.
    pub syscalls: u64,
}

impl BatchOutcome {
    /// Adds `o`'s counts to these.
    pub fn add(&mut self, o: &BatchOutcome) {
        self.requests += o.requests;
        self.verified += o.verified;
        self.lost += o.lost;
        self.overruns += o.overruns;
        self.syscalls += o.syscalls;
    }
}

/// The replies of [`Client::echo_batch`], in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReplies {
    /// One entry per message: its checked reply, or `None` if the kernel
    /// dropped it (counted in `outcome.lost`).
    pub replies: Vec<Option<EchoReply>>,
    /// The counts.
    pub outcome: BatchOutcome,
}

/// Where one loaded request is in the send buffer.
#[derive(Debug, Clone, Copy)]
struct Entry {
    off: usize,
    len: usize,
    msg_len: usize,
}

/// Offset of the message bytes in an `ECHO` request: netlink header, genl
/// header, the `MSG` attribute's header.
const MSG_OFFSET: usize = genl_proto::consts::NLMSG_HDRLEN
    + genl_proto::consts::GENL_HDRLEN
    + genl_proto::consts::NLA_HDRLEN;

/// A reusable pipelined batch of `ECHO` requests on a [`Client`]'s socket.
///
/// [`Client::pipeline`] sizes the socket buffers for the batch (as root
/// with `SO_SNDBUFFORCE`/`SO_RCVBUFFORCE`, which ignore the sysctl caps)
/// and makes the batch smaller if they cannot hold it:
/// [`Pipeline::capacity`] tells. Requests are encoded once
/// ([`Pipeline::load`]); each [`Pipeline::send`] rewrites only their
/// sequence numbers.
pub struct Pipeline<'c> {
    client: &'c mut Client,
    reqs: Vec<u8>,
    entries: Vec<Entry>,
    capacity: usize,
    max_msg: usize,
    slots: Slots,
    sndbuf: usize,
    rcvbuf: usize,
    first: u32,
    in_flight: usize,
}

impl std::fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("capacity", &self.capacity)
            .field("loaded", &self.entries.len())
            .field("sndbuf", &self.sndbuf)
            .field("rcvbuf", &self.rcvbuf)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Prepares batches of up to `batch` `ECHO` requests of at most
    /// `max_msg_len` bytes each.
    pub fn pipeline(
        &mut self,
        max_msg_len: usize,
        batch: usize,
        opts: PipelineOptions,
    ) -> Result<Pipeline<'_>, Error> {
        Pipeline::new(self, max_msg_len, batch, opts)
    }

    /// Echoes every message of `msgs` through the pipelined path: as many
    /// per `send` as the socket buffers hold, every reply checked (its
    /// sequence number, port, type, length, and the bytes: the request's
    /// converted under the reply's mode).
    pub fn echo_batch<M: AsRef<[u8]>>(&mut self, msgs: &[M]) -> Result<BatchReplies, Error> {
        let max = msgs.iter().map(|m| m.as_ref().len()).max().unwrap_or(0);
        let mut p = self.pipeline(max, msgs.len().max(1), PipelineOptions::default())?;
        let mut out = BatchReplies {
            replies: Vec::with_capacity(msgs.len()),
            outcome: BatchOutcome::default(),
        };
        for chunk in msgs.chunks(p.capacity()) {
            let refs: Vec<&[u8]> = chunk.iter().map(AsRef::as_ref).collect();
            p.load(&refs)?;
            let base = out.replies.len();
            out.replies.resize(base + chunk.len(), None);
            p.send(chunk.len())?;
            let o = p.receive_with(|i, msg, mode| {
                if let Some(slot) = out.replies.get_mut(base + i) {
                    *slot = Some(EchoReply {
                        msg: msg.to_vec(),
                        mode,
                    });
                }
            })?;
            out.outcome.add(&o);
        }
        Ok(out)
    }
}

impl<'c> Pipeline<'c> {
    fn new(
        client: &'c mut Client,
        max_msg_len: usize,
        batch: usize,
        opts: PipelineOptions,
    ) -> Result<Pipeline<'c>, Error> {
        let op = Op::EchoBatch;
        if max_msg_len > MSG_MAX {
            return Err(Error::MsgTooLong {
                len: max_msg_len,
                max: MSG_MAX,
            });
        }
        let s = &client.conn.sock;
        let req_len = echo_request_len(max_msg_len);
        let reply_len = echo_reply_len(max_msg_len);
        let batch = batch.max(1);
        if batch > 1 {
            // The whole batch goes in one datagram, which must fit the send
            // buffer (netlink refuses more than SO_SNDBUF - 32 bytes).
            let need = (batch * req_len).min(MAX_BATCH_BYTES) + 64;
            if s.get_int(libc::SO_SNDBUF).unwrap_or(0) < need {
                let _ = s.set_buf(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, need);
            }
        }
        let sndbuf = s.get_int(libc::SO_SNDBUF).unwrap_or(0);
        let mut fit = (sndbuf.saturating_sub(32).min(MAX_BATCH_BYTES) / req_len).max(1);
        // Every reply of a batch is queued before the first is read: the
        // receive buffer must hold them all, or the kernel drops replies.
        let truesize = reply_truesize(reply_len);
        match opts.rcvbuf {
            Some(b) => s
                .set_buf(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, b)
                .map_err(|e| Error::io(op, "setsockopt SO_RCVBUF", e))?,
            None if batch > 1 => {
                let need = batch.min(fit) * truesize;
                if s.get_int(libc::SO_RCVBUF).unwrap_or(0) < need {
                    let _ = s.set_buf(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, need);
                }
            }
            None => {}
        }
        let rcvbuf = s.get_int(libc::SO_RCVBUF).unwrap_or(0);
        if opts.rcvbuf.is_none() {
            fit = fit.min((rcvbuf / truesize).max(1));
        }
        let capacity = batch.min(fit);
        Ok(Pipeline {
            client,
            reqs: Vec::with_capacity(capacity * req_len),
            entries: Vec::with_capacity(capacity),
            capacity,
            max_msg: max_msg_len,
            slots: Slots::new(capacity, reply_len.max(4096)),
            sndbuf,
            rcvbuf,
            first: 0,
            in_flight: 0,
        })
    }

    /// How many requests one batch can hold (at most the `batch` asked
    /// for; fewer when the socket buffers or [`MAX_BATCH_BYTES`] cannot
    /// hold them).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// `SO_SNDBUF` as the kernel set it.
    pub fn sndbuf(&self) -> usize {
        self.sndbuf
    }

    /// `SO_RCVBUF` as the kernel set it.
    pub fn rcvbuf(&self) -> usize {
        self.rcvbuf
    }

    /// Encodes the requests of the next batches: one `ECHO` per message,
    /// at most [`Pipeline::capacity`] of them, each at most the
    /// `max_msg_len` the pipeline was made for.
    pub fn load(&mut self, msgs: &[&[u8]]) -> Result<(), Error> {
        // Replies of a batch sent before are not matched against new requests.
        self.in_flight = 0;
        self.reqs.clear();
        self.entries.clear();
        if msgs.len() > self.capacity {
            return Err(Error::Encode {
                op: Op::EchoBatch,
                source: genl_proto::EncodeError::TooLong {
                    what: "batch (more requests than the pipeline's capacity)",
                    len: msgs.len(),
                },
            });
        }
        for m in msgs {
            if m.len() > self.max_msg {
                return Err(Error::MsgTooLong {
                    len: m.len(),
                    max: self.max_msg,
                });
            }
            let off = self.reqs.len();
            Request::Echo(m)
                .encode(self.client.family.id, 0, &mut self.reqs)
                .map_err(|e| Error::encode(Op::EchoBatch, e))?;
            self.entries.push(Entry {
                off,
                len: self.reqs.len() - off,
                msg_len: m.len(),
            });
        }
        Ok(())
    }

    /// [`Pipeline::load`] with `n` copies of `msg` (at most the capacity).
    pub fn load_repeated(&mut self, msg: &[u8], n: usize) -> Result<(), Error> {
        let msgs = vec![msg; n.min(self.capacity)];
        self.load(&msgs)
    }

    /// Sends the first `k` loaded requests in one `send`, with fresh
    /// sequence numbers. Their replies are read by [`Pipeline::receive`].
    pub fn send(&mut self, k: usize) -> Result<(), Error> {
        let op = Op::EchoBatch;
        let k = k.min(self.entries.len());
        if k == 0 {
            self.in_flight = 0;
            return Ok(());
        }
        let first = self.client.conn.next_seq();
        for (i, e) in self.entries[..k].iter().enumerate() {
            let seq = first.wrapping_add(i as u32);
            if let Some(s) = self.reqs.get_mut(e.off + 8..e.off + 12) {
                s.copy_from_slice(&seq.to_ne_bytes());
            }
        }
        self.client.conn.seq = first.wrapping_add(k as u32 - 1);
        let end = self.entries[k - 1].off + self.entries[k - 1].len;
        let n = self
            .client
            .conn
            .sock
            .send(&self.reqs[..end])
            .map_err(|e| Error::io(op, "send", e))?;
        if n != end {
            return Err(Error::UnexpectedReply {
                op,
                what: Mismatch::ShortSend { sent: n, len: end },
            });
        }
        self.first = first;
        self.in_flight = k;
        Ok(())
    }

    /// Receives and checks the replies of the last [`Pipeline::send`].
    pub fn receive(&mut self) -> Result<BatchOutcome, Error> {
        self.receive_with(|_, _, _| {})
    }

    /// [`Pipeline::receive`], calling `each(index, echoed bytes, mode)` for
    /// every checked reply.
    pub fn receive_with(
        &mut self,
        mut each: impl FnMut(usize, &[u8], Mode),
    ) -> Result<BatchOutcome, Error> {
        let op = Op::EchoBatch;
        let mut t = Tracker::new(self.first, self.in_flight);
        self.in_flight = 0;
        let timeout = self.client.conn.timeout;
        while !t.done() {
            t.acc.syscalls += 1;
            let got = match self.slots.recv(&self.client.conn.sock, t.want(), t.overrun) {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    t.on_overrun();
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && t.overrun => {
                    t.lose_rest();
                    break;
                }
                Err(e) => return Err(crate::conn::recv_error(op, e, timeout)),
            };
            for i in 0..got {
                let d = self.slots.datagram(i).map_err(|len| Error::Truncated {
                    op,
                    len,
                    buf: self.slots.slot_len(),
                })?;
                let seq = netlink::parse_message(d).map_err(Error::decode(op))?.seq;
                let idx = t
                    .place(seq)
                    .map_err(|what| Error::UnexpectedReply { op, what })?;
                let Some(&entry) = self.entries.get(idx) else {
                    return Err(Error::UnexpectedReply {
                        op,
                        what: Mismatch::Seq {
                            got: seq,
                            expected: self.first,
                        },
                    });
                };
                let req = self
                    .reqs
                    .get(entry.off..entry.off + entry.len)
                    .unwrap_or_default();
                let pid = self.client.conn.sock.pid();
                match check(d, seq, pid, self.client.family.id, req, entry.msg_len) {
                    Ok((msg, mode)) => {
                        t.acc.verified += 1;
                        each(idx, msg, mode);
                    }
                    // After an overrun the kernel may answer a request whose
                    // reply it could not queue with EAGAIN or ENOBUFS: that
                    // reply is lost too.
                    Err(Error::Kernel { errno, .. })
                        if t.overrun && (errno == libc::EAGAIN || errno == libc::ENOBUFS) =>
                    {
                        t.acc.lost += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(t.acc)
    }
}

/// The bookkeeping of one batch in flight: which reply comes next, what
/// was lost.
#[derive(Debug)]
struct Tracker {
    first: u32,
    k: usize,
    next: usize,
    overrun: bool,
    acc: BatchOutcome,
}

impl Tracker {
    /// `k` requests with sequence numbers `first..` were sent (one `send`).
    fn new(first: u32, k: usize) -> Tracker {
        Tracker {
            first,
            k,
            next: 0,
            overrun: false,
            acc: BatchOutcome {
                requests: k as u64,
                syscalls: u64::from(k > 0),
                ..BatchOutcome::default()
            },
        }
    }

    fn done(&self) -> bool {
        self.next >= self.k
    }

    /// Replies still expected.
    fn want(&self) -> usize {
        self.k - self.next.min(self.k)
    }

    /// The kernel reported `ENOBUFS`: from now on replies may be missing,
    /// and the rest is read without blocking.
    fn on_overrun(&mut self) {
        self.acc.overruns += 1;
        self.overrun = true;
    }

    /// Nothing more is queued after an overrun: every reply not seen is lost.
    fn lose_rest(&mut self) {
        self.acc.lost += self.want() as u64;
        self.next = self.k;
    }

    /// Places the reply with sequence number `seq`: its request's index.
    /// Replies come in request order; one that skips requests is only
    /// accepted after an overrun, and the skipped ones count as lost.
    fn place(&mut self, seq: u32) -> Result<usize, Mismatch> {
        let idx = seq.wrapping_sub(self.first) as usize;
        let expected = self.first.wrapping_add(self.next as u32);
        if idx < self.next || idx >= self.k || (idx != self.next && !self.overrun) {
            return Err(Mismatch::Seq { got: seq, expected });
        }
        self.acc.lost += (idx - self.next) as u64;
        self.next = idx + 1;
        Ok(idx)
    }
}

/// Checks that datagram `d` is exactly the reply to `request` (a whole
/// encoded `ECHO` whose message is `msg_len` bytes) with sequence number
/// `seq` on port `pid`; returns the echoed bytes and the mode.
fn check<'d>(
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
        let attr = crate::conn::attr_named(request, &e.ext_ack);
        return Err(Error::kernel(op, e.errno, e.ext_ack.msg, attr));
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
fn converted(mode: Mode, sent: &[u8], got: &[u8]) -> bool {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genl_proto::consts::NLMSG_ERROR;
    use genl_proto::{nla, Attr};

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
            assert_eq!(t.place(seq), Ok(i));
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
        assert_eq!(t.place(100), Ok(0));
        assert!(t.place(100).is_err(), "duplicate");
        assert!(t.place(99).is_err(), "before the batch");
        assert!(t.place(103).is_err(), "after the batch");
        assert_eq!(t.acc.lost, 0);
    }

    #[test]
    fn tracker_counts_losses_after_overrun() {
        let mut t = Tracker::new(10, 6);
        assert_eq!(t.place(10), Ok(0));
        t.on_overrun();
        assert_eq!(t.place(13), Ok(3)); // 11 and 12 were dropped
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
        assert!(matches!(
            ck(&reply(FAM, 9, PID, msg, 7)),
            Err(Error::Decode { .. })
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
    fn truesize_covers_the_reply() {
        for len in [0, 1, 16, 1024, 32768, MSG_MAX] {
            let r = echo_reply_len(len);
            assert!(reply_truesize(r) >= 2 * r, "{len}");
        }
        assert_eq!(echo_reply_len(MSG_MAX), genl_proto::consts::ECHO_REPLY_MAX);
        assert_eq!(echo_reply_len(2), 36); // docs/protocol.md's worked example
    }
}
