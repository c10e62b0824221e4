//! The pipelined path: many `ECHO` requests in one `send`, their replies
//! drained with `recvmmsg`, every reply matched by sequence number and
//! checked in full, replies the kernel dropped (receive buffer overrun,
//! `ENOBUFS`) counted as lost, never silent. The books are the core's
//! [`Tracker`]; this is the blocking front end that drives it.

use genl_proto::consts::MSG_MAX;
use genl_proto::message::{echo_reply_len, echo_request_len, validate_msg};
use genl_proto::{EchoReply, Mode, Request};
use log::debug;

use crate::client::Client;
use crate::conn::send_all;
use crate::core::batch::{Outcome, Tracker};
use crate::core::family::{self, Next};
use crate::core::Datagram;
use crate::error::{Error, Op};
use crate::sock::{Slots, MAX_SLOTS};

/// The largest datagram a batch is sent in.
pub const MAX_BATCH_BYTES: usize = 4 << 20;

/// A generous estimate of what one reply datagram of `reply_len` bytes
/// costs in a socket's receive buffer (its skb's truesize): the head is
/// allocated with `skb_shared_info` (320 bytes) after the data, rounded up
/// to a power of two, plus the `sk_buff` itself.
pub fn reply_truesize(reply_len: usize) -> usize {
    (reply_len + 384).next_power_of_two() + 512
}

/// How a [`Pipeline`] sizes its socket buffers. Build it with
/// [`PipelineOptions::new`] and its setters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// A fixed `SO_RCVBUF` in bytes instead of one sized for the batch
    /// (for tests: a tiny one provokes overruns).
    pub rcvbuf: Option<usize>,
}

impl PipelineOptions {
    /// The defaults: buffers sized for the batch.
    pub fn new() -> PipelineOptions {
        PipelineOptions::default()
    }

    /// A fixed `SO_RCVBUF` of `bytes` (`None`: sized for the batch).
    pub fn rcvbuf(mut self, bytes: Option<usize>) -> PipelineOptions {
        self.rcvbuf = bytes;
        self
    }
}

/// What one batch (or several) came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Replies to earlier requests (an abandoned or failed batch, a
    /// request that timed out) found and skipped.
    pub stale: u64,
}

impl BatchOutcome {
    /// Adds `o`'s counts to these.
    pub fn add(&mut self, o: &BatchOutcome) {
        self.requests += o.requests;
        self.verified += o.verified;
        self.lost += o.lost;
        self.overruns += o.overruns;
        self.syscalls += o.syscalls;
        self.stale += o.stale;
    }
}

/// The replies of [`Client::echo_batch`], in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
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

/// A reusable pipelined batch of `ECHO` requests on a [`Client`]'s socket.
///
/// [`Client::pipeline`] sizes the socket buffers for the batch (as root
/// with `SO_SNDBUFFORCE`/`SO_RCVBUFFORCE`, which ignore the sysctl caps)
/// and makes the batch smaller if they cannot hold it:
/// [`Pipeline::capacity`] tells. The buffers are restored to their
/// previous sizes when the pipeline is dropped. Requests are encoded once
/// ([`Pipeline::load`]); each [`Pipeline::send`] rewrites only their
/// sequence numbers.
///
/// Replies of a batch that was not received in full (abandoned by a new
/// [`Pipeline::load`] or [`Pipeline::send`], or ended early by an error)
/// are skipped when they turn up and counted in [`BatchOutcome::stale`];
/// they never fail a later batch.
pub struct Pipeline<'c> {
    client: &'c mut Client,
    reqs: Vec<u8>,
    entries: Vec<Entry>,
    capacity: usize,
    max_msg: usize,
    slots: Slots,
    sndbuf: usize,
    rcvbuf: usize,
    /// The sizes to restore on drop (as `SO_*BUF` reported them, doubled).
    saved: (Option<usize>, Option<usize>),
    first: u32,
    in_flight: usize,
    /// Replies of an earlier batch may still be queued.
    dirty: bool,
    /// Stale replies drained before a send, reported with the next batch.
    stale: u64,
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

/// The sizes a pipeline asks for, from what it is asked to hold and what
/// the socket reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sizing {
    req_len: usize,
    reply_len: usize,
    truesize: usize,
    batch: usize,
}

impl Sizing {
    fn new(max_msg_len: usize, batch: usize) -> Sizing {
        let reply_len = echo_reply_len(max_msg_len);
        Sizing {
            req_len: echo_request_len(max_msg_len),
            reply_len,
            truesize: reply_truesize(reply_len),
            batch: batch.max(1),
        }
    }

    /// The send buffer the whole batch needs in one datagram (netlink
    /// refuses more than `SO_SNDBUF - 32` bytes).
    fn sndbuf_need(&self) -> usize {
        self.batch
            .saturating_mul(self.req_len)
            .min(MAX_BATCH_BYTES)
            .saturating_add(64)
    }

    /// How many requests a send buffer of `sndbuf` bytes takes in one datagram.
    fn fit_send(&self, sndbuf: usize) -> usize {
        (sndbuf.saturating_sub(32).min(MAX_BATCH_BYTES) / self.req_len).max(1)
    }

    /// The receive buffer `n` queued replies need.
    fn rcvbuf_need(&self, n: usize) -> usize {
        n.saturating_mul(self.truesize)
    }

    /// How many replies a receive buffer of `rcvbuf` bytes holds.
    fn fit_recv(&self, rcvbuf: usize) -> usize {
        (rcvbuf / self.truesize).max(1)
    }
}

/// Checks every message of a batch before anything is sent.
fn validate_all<M: AsRef<[u8]>>(msgs: &[M]) -> Result<(), Error> {
    for m in msgs {
        validate_msg(m.as_ref()).map_err(|e| Error::encode(Op::EchoBatch, e))?;
    }
    Ok(())
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
    /// converted under the reply's mode). Every message is checked (length,
    /// no NUL) before the first is sent.
    pub fn echo_batch<M: AsRef<[u8]>>(&mut self, msgs: &[M]) -> Result<BatchReplies, Error> {
        validate_all(msgs)?;
        let max = msgs.iter().map(|m| m.as_ref().len()).max().unwrap_or(0);
        let mut p = self.pipeline(max, msgs.len().max(1), PipelineOptions::default())?;
        let mut out = BatchReplies {
            replies: Vec::with_capacity(msgs.len()),
            outcome: BatchOutcome::default(),
        };
        for chunk in msgs.chunks(p.capacity()) {
            let refs: Vec<&[u8]> = chunk.iter().map(AsRef::as_ref).collect();
            let base = out.replies.len();
            out.replies.resize(base + chunk.len(), None);
            let mut retried = false;
            loop {
                p.load(&refs)?;
                p.send(chunk.len())?;
                let mut got = 0usize;
                let r = p.receive_with(|i, msg, mode| {
                    got += 1;
                    if let Some(slot) = out.replies.get_mut(base + i) {
                        *slot = Some(EchoReply {
                            msg: msg.to_vec(),
                            mode,
                        });
                    }
                });
                match r {
                    Ok(o) => {
                        out.outcome.add(&o);
                        break;
                    }
                    // The first reply says the family id went stale: no
                    // request of the chunk ran. Resolve again, retry once.
                    Err(e) if got == 0 && family::after_error(&e, retried) == Next::Reresolve => {
                        debug!("family id went stale during a batch ({e}); resolving again");
                        p.client.reresolve()?;
                        retried = true;
                    }
                    Err(e) => return Err(e),
                }
            }
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
        let z = Sizing::new(max_msg_len, batch);
        let mut saved = (None, None);
        if z.batch > 1 {
            let need = z.sndbuf_need();
            let have = s.get_int(libc::SO_SNDBUF).unwrap_or(0);
            if have < need
                && s.set_buf(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, need)
                    .is_ok()
            {
                saved.0 = Some(have);
            }
        }
        let sndbuf = s.get_int(libc::SO_SNDBUF).unwrap_or(0);
        let mut fit = z.fit_send(sndbuf);
        // Every reply of a batch is queued before the first is read: the
        // receive buffer must hold them all, or the kernel drops replies.
        let rcv_before = s.get_int(libc::SO_RCVBUF).unwrap_or(0);
        match opts.rcvbuf {
            Some(b) => {
                s.set_buf(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, b)
                    .map_err(|e| Error::io(op, "setsockopt SO_RCVBUF", e))?;
                saved.1 = Some(rcv_before);
            }
            None if z.batch > 1 => {
                let need = z.rcvbuf_need(z.batch.min(fit));
                if rcv_before < need
                    && s.set_buf(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, need)
                        .is_ok()
                {
                    saved.1 = Some(rcv_before);
                }
            }
            None => {}
        }
        let rcvbuf = s.get_int(libc::SO_RCVBUF).unwrap_or(0);
        if opts.rcvbuf.is_none() {
            fit = fit.min(z.fit_recv(rcvbuf));
        }
        let capacity = z.batch.min(fit);
        Ok(Pipeline {
            client,
            reqs: Vec::with_capacity(capacity.saturating_mul(z.req_len)),
            entries: Vec::with_capacity(capacity),
            capacity,
            max_msg: max_msg_len,
            slots: Slots::new(capacity.min(MAX_SLOTS), z.reply_len.max(4096)),
            sndbuf,
            rcvbuf,
            saved,
            first: 0,
            in_flight: 0,
            dirty: false,
            stale: 0,
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
    /// at most [`Pipeline::capacity`] of them ([`Error::TooManyRequests`]
    /// otherwise), each at most the `max_msg_len` the pipeline was made
    /// for. Every message is checked before any is encoded; on error
    /// nothing is loaded.
    pub fn load(&mut self, msgs: &[&[u8]]) -> Result<(), Error> {
        // Replies of a batch sent before are not matched against new
        // requests: they are stale from now on.
        if self.in_flight > 0 {
            self.dirty = true;
        }
        self.in_flight = 0;
        self.reqs.clear();
        self.entries.clear();
        if msgs.len() > self.capacity {
            return Err(Error::TooManyRequests {
                requested: msgs.len(),
                capacity: self.capacity,
            });
        }
        for m in msgs {
            if m.len() > self.max_msg {
                return Err(Error::MsgTooLong {
                    len: m.len(),
                    max: self.max_msg,
                });
            }
        }
        validate_all(msgs)?;
        for m in msgs {
            let off = self.reqs.len();
            if let Err(e) = Request::Echo(m).encode(self.client.family.id, 0, &mut self.reqs) {
                self.reqs.clear();
                self.entries.clear();
                return Err(Error::encode(Op::EchoBatch, e));
            }
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

    /// Reads, without blocking, whatever an earlier batch left queued
    /// (stale replies, counted) and a leftover `ENOBUFS`.
    fn drain_stale(&mut self) {
        self.client.conn.clear_leftover_error();
        let mut t = Tracker::new(self.client.conn.reqs.reserve(1), 0);
        loop {
            match self
                .slots
                .recv(&self.client.conn.sock, self.slots.count(), true)
            {
                Ok(n) => {
                    for i in 0..n {
                        let d = self.slots.datagram(i);
                        if d.truncated() {
                            t.acc.stale += 1;
                            continue;
                        }
                        // Every reply queued now is older than `t`'s batch.
                        let _ = t.on_datagram(d, 0, 0, |_| None);
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(_) => break,
            }
        }
        debug!("drained {} stale replies before a batch", t.acc.stale);
        self.stale += t.acc.stale;
        self.dirty = false;
    }

    /// Sends the first `k` loaded requests in one `send`, with fresh
    /// sequence numbers. Their replies are read by [`Pipeline::receive`].
    pub fn send(&mut self, k: usize) -> Result<(), Error> {
        let op = Op::EchoBatch;
        if self.in_flight > 0 {
            self.dirty = true;
        }
        self.in_flight = 0;
        let k = k.min(self.entries.len());
        if k == 0 {
            return Ok(());
        }
        if self.dirty {
            self.drain_stale();
        }
        let first = self.client.conn.reqs.reserve(k);
        for (i, e) in self.entries[..k].iter().enumerate() {
            let seq = first.wrapping_add(i as u32);
            if let Some(s) = self.reqs.get_mut(e.off + 8..e.off + 12) {
                s.copy_from_slice(&seq.to_ne_bytes());
            }
        }
        let end = self.entries[k - 1].off + self.entries[k - 1].len;
        // From here on replies may be queued.
        self.dirty = true;
        send_all(&self.client.conn.sock, &self.reqs[..end])
            .map_err(|e| Error::io(op, "send", e))?;
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
        t.acc.stale = std::mem::take(&mut self.stale);
        self.in_flight = 0;
        let timeout = self.client.conn.timeout;
        let port = self.client.conn.sock.pid();
        let family = self.client.family.id;
        while !t.done() {
            t.acc.syscalls += 1;
            let got = match self
                .slots
                .recv(&self.client.conn.sock, t.want(), t.overrun())
            {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    t.on_overrun();
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && t.overrun() => {
                    t.lose_rest();
                    break;
                }
                Err(e) => return Err(crate::conn::recv_error(op, e, timeout)),
            };
            for i in 0..got {
                let d: Datagram<'_> = self.slots.datagram(i);
                let (entries, reqs) = (&self.entries, &self.reqs);
                let request = |idx: usize| {
                    let e = entries.get(idx)?;
                    Some((reqs.get(e.off..e.off + e.len)?, e.msg_len))
                };
                match t.on_datagram(d, port, family, request)? {
                    Outcome::Reply { idx, msg, mode } => each(idx, msg, mode),
                    Outcome::Skipped => {}
                }
            }
        }
        // Every reply of the batch is in or lost: nothing of it is queued.
        self.dirty = false;
        Ok(t.acc)
    }
}

impl Drop for Pipeline<'_> {
    /// Restores the socket buffers the pipeline raised (the kernel reports
    /// twice the size set, so half is set back).
    fn drop(&mut self) {
        let s = &self.client.conn.sock;
        if let Some(b) = self.saved.0 {
            let _ = s.set_buf(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, b / 2);
        }
        if let Some(b) = self.saved.1 {
            let _ = s.set_buf(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, b / 2);
        }
        // An unfinished batch leaves replies queued: the client skips them,
        // and checks for an ENOBUFS they caused before its next request.
        self.client.conn.leftovers = true;
        if self.in_flight > 0 {
            debug!("pipeline dropped with {} replies unread", self.in_flight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
