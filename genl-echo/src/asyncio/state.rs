//! The bookkeeping of an [`AsyncClient`](super::AsyncClient)'s requests,
//! without I/O: the queue of requests waiting to be sent, which caller
//! (ticket) waits for which sequence number, and the wakers to call. Every
//! protocol decision (sequence numbers, reply matching, stale replies,
//! lost replies) is the core's ([`Requests`]); this only connects it to
//! futures.
//!
//! A request is encoded when its future is first polled, into the queue
//! (with sequence number 0); the driver starts it in the core and gives it
//! its sequence number only when it takes the queue to send it. So a
//! request the core knows about has been sent (or is being sent), and the
//! core's "every request still waiting after an overrun lost its reply"
//! never hits a request that had not been sent; a request cancelled while
//! still queued is never sent at all.

use std::collections::VecDeque;
use std::io;
use std::task::{Poll, Waker};

use genl_proto::error::EncodeError;
use genl_proto::netlink;

use crate::core::requests::{Answer, Kind, Requests};
use crate::core::Datagram;
use crate::error::{Error, Op};

/// Why the driver stopped (every request still waiting fails with it).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Closed {
    /// A system call on the socket failed for good.
    Io {
        call: &'static str,
        errno: Option<i32>,
    },
    /// The background task was dropped (its runtime shut down).
    Stopped,
}

impl Closed {
    pub(crate) fn error(self, op: Op) -> Error {
        match self {
            Closed::Io { call, errno } => Error::io(
                op,
                call,
                errno.map_or_else(
                    || io::Error::other("the socket failed"),
                    io::Error::from_raw_os_error,
                ),
            ),
            Closed::Stopped => Error::io(
                op,
                "async driver",
                io::Error::other(
                    "the client's background task is gone (the runtime it was connected in \
                     shut down)",
                ),
            ),
        }
    }
}

/// A request encoded and waiting in the queue.
#[derive(Debug, Clone, Copy)]
struct Queued {
    ticket: u64,
    op: Op,
    kind: Kind,
    start: usize,
    len: usize,
}

/// One caller waiting.
#[derive(Debug)]
struct Ticket {
    op: Op,
    /// Set when the driver has started (sent) the request.
    seq: Option<u32>,
    waker: Option<Waker>,
    /// The send failed: nothing ran.
    failed: Option<Error>,
    /// Sent, and not answered by the end of the receive round that
    /// followed (generic netlink answers inside the send, so this is rare):
    /// the caller was woken to start its timeout.
    late: bool,
    /// Receive-buffer shares held (0 while waiting for them).
    units: usize,
    /// Shares waited for (in [`State::room`]); 0 once granted.
    want: usize,
}

/// The callers waiting, in reused slots: a ticket is a slot's index and
/// the slot's generation (so that a ticket never names the caller that
/// reused its slot). Grows to the most callers waiting at once; a slot
/// lookup is an index, not a hash.
#[derive(Debug, Default)]
struct Tickets {
    slots: Vec<(u32, Option<Ticket>)>,
    free: Vec<u32>,
}

impl Tickets {
    fn split(ticket: u64) -> (usize, u32) {
        ((ticket & 0xffff_ffff) as usize, (ticket >> 32) as u32)
    }

    fn insert(&mut self, t: Ticket) -> u64 {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push((0, None));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        match self.slots.get_mut(index as usize) {
            Some(slot) => {
                slot.1 = Some(t);
                (u64::from(slot.0) << 32) | u64::from(index)
            }
            // Not reachable: the index is a slot's. A ticket no caller
            // can find, not a panic, if it ever is.
            None => u64::MAX,
        }
    }

    fn get(&self, ticket: u64) -> Option<&Ticket> {
        let (i, generation) = Tickets::split(ticket);
        match self.slots.get(i) {
            Some((g, t)) if *g == generation => t.as_ref(),
            _ => None,
        }
    }

    fn get_mut(&mut self, ticket: u64) -> Option<&mut Ticket> {
        let (i, generation) = Tickets::split(ticket);
        match self.slots.get_mut(i) {
            Some((g, t)) if *g == generation => t.as_mut(),
            _ => None,
        }
    }

    fn remove(&mut self, ticket: u64) -> Option<Ticket> {
        let (i, generation) = Tickets::split(ticket);
        let slot = self.slots.get_mut(i).filter(|s| s.0 == generation)?;
        let t = slot.1.take()?;
        slot.0 = slot.0.wrapping_add(1);
        self.free.push(i as u32);
        Some(t)
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut Ticket> {
        self.slots.iter_mut().filter_map(|s| s.1.as_mut())
    }

    fn values(&self) -> impl Iterator<Item = &Ticket> {
        self.slots.iter().filter_map(|s| s.1.as_ref())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.values().count()
    }
}

/// What a driver's receive pass saw, for the client's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Io {
    pub(crate) requests: u64,
    pub(crate) sends: u64,
    pub(crate) receives: u64,
    pub(crate) datagrams: u64,
}

/// The shared state of one client: the core's request table and the
/// futures waiting on it.
#[derive(Debug)]
pub(crate) struct State {
    core: Requests,
    queue: Vec<u8>,
    queued: VecDeque<Queued>,
    tickets: Tickets,
    /// Receive-buffer shares no caller holds.
    free_units: usize,
    /// Callers waiting for shares, first come, first served (one entry
    /// per caller: as bounded as the callers themselves).
    room: VecDeque<u64>,
    unanswered: bool,
    closed: Option<Closed>,
    pub(crate) io: Io,
}

impl State {
    /// The state of a client whose receive buffer holds `units` shares.
    pub(crate) fn new(core: Requests, units: usize) -> State {
        State {
            core,
            queue: Vec::new(),
            queued: VecDeque::new(),
            tickets: Tickets::default(),
            free_units: units,
            room: VecDeque::new(),
            unanswered: false,
            closed: None,
            io: Io::default(),
        }
    }

    pub(crate) fn core(&self) -> &Requests {
        &self.core
    }

    /// A new caller of request `op`, woken through `waker`, which needs
    /// `units` shares of the receive buffer for its reply. Returns its
    /// ticket and whether it holds them already (else it waits for them,
    /// after the callers that came before it).
    pub(crate) fn begin(
        &mut self,
        op: Op,
        units: usize,
        waker: &Waker,
    ) -> Result<(u64, bool), Error> {
        if let Some(c) = self.closed {
            return Err(c.error(op));
        }
        let room = self.room.is_empty() && self.free_units >= units;
        let mut t = Ticket {
            op,
            seq: None,
            waker: Some(waker.clone()),
            failed: None,
            late: false,
            units: 0,
            want: units,
        };
        if room {
            self.free_units -= units;
            (t.units, t.want) = (units, 0);
        }
        let ticket = self.tickets.insert(t);
        if !room {
            self.room.push_back(ticket);
        }
        Ok((ticket, room))
    }

    /// Whether the caller of `ticket` holds its shares of the buffer.
    pub(crate) fn has_room(&self, ticket: u64) -> bool {
        self.tickets.get(ticket).is_some_and(|t| t.want == 0)
    }

    /// Queues the request of `ticket` (which holds its shares), encoded by
    /// `encode(out)` with sequence number 0 (the driver writes the real
    /// one), its caller woken through `waker`. Returns whether the queue
    /// was empty: only then does the background task need waking (whoever
    /// queued the first request woke it, and it takes the whole queue).
    pub(crate) fn enqueue(
        &mut self,
        ticket: u64,
        kind: Kind,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
        waker: &Waker,
    ) -> Result<bool, Error> {
        let Some(t) = self.tickets.get_mut(ticket) else {
            return Err(Closed::Stopped.error(Op::Connect));
        };
        let op = t.op;
        set_waker(&mut t.waker, waker);
        if let Some(c) = self.closed {
            self.forget(ticket);
            return Err(c.error(op));
        }
        let start = self.queue.len();
        if let Err(e) = encode(&mut self.queue) {
            self.queue.truncate(start);
            self.forget(ticket);
            return Err(Error::encode(op, e));
        }
        let first = self.queued.is_empty();
        self.queued.push_back(Queued {
            ticket,
            op,
            kind,
            start,
            len: self.queue.len() - start,
        });
        Ok(first)
    }

    /// Removes `ticket`, giving its shares back (to the callers waiting for
    /// them, in turn).
    fn forget(&mut self, ticket: u64) -> Option<Ticket> {
        let t = self.tickets.remove(ticket)?;
        if t.want > 0 {
            self.room.retain(|&w| w != ticket);
        }
        self.free_units += t.units;
        while let Some(&next) = self.room.front() {
            let Some(w) = self.tickets.get_mut(next) else {
                self.room.pop_front();
                continue;
            };
            if w.want > self.free_units {
                break;
            }
            self.free_units -= w.want;
            (w.units, w.want) = (w.want, 0);
            self.room.pop_front();
            if let Some(waker) = w.waker.take() {
                waker.wake();
            }
        }
        Some(t)
    }

    /// Whether requests wait to be sent.
    pub(crate) fn has_queued(&self) -> bool {
        !self.queued.is_empty()
    }

    /// Whether a request that was sent was still unanswered at the end of
    /// the last receive round (or a batch was just taken): the task then
    /// also waits for the socket to turn readable.
    pub(crate) fn awaiting_replies(&self) -> bool {
        self.unanswered
    }

    fn recompute_unanswered(&mut self) {
        let core = &self.core;
        self.unanswered = self
            .tickets
            .values()
            .any(|t| t.seq.is_some_and(|s| core.waiting(s)));
    }

    /// Takes the queued requests still wanted into `tx` (in queue order,
    /// as many as fit in `max_bytes`, at least one), starting each in the
    /// core, which gives it its sequence number. Their tickets and
    /// sequence numbers are put in `sent`. Returns how many.
    pub(crate) fn take_batch(
        &mut self,
        tx: &mut Vec<u8>,
        sent: &mut Vec<(u64, u32)>,
        max_bytes: usize,
    ) -> usize {
        tx.clear();
        sent.clear();
        // The usual case: the whole queue goes, every request still
        // wanted. The queue's buffer becomes the datagram (each request's
        // sequence number written in place) and the datagram's, emptied,
        // the queue: no copy.
        if self.queue.len() <= max_bytes
            && self
                .queued
                .iter()
                .all(|q| self.tickets.get(q.ticket).is_some())
        {
            std::mem::swap(&mut self.queue, tx);
            for q in self.queued.drain(..) {
                let Some(msg) = tx.get_mut(q.start..q.start + q.len) else {
                    continue; // not reachable: the queue holds every request it lists
                };
                let seq = self.core.start_encoded(q.op, q.kind, msg);
                if let Some(t) = self.tickets.get_mut(q.ticket) {
                    t.seq = Some(seq);
                }
                sent.push((q.ticket, seq));
            }
            self.unanswered |= !sent.is_empty();
            self.io.requests += sent.len() as u64;
            return sent.len();
        }
        while let Some(&q) = self.queued.front() {
            if !tx.is_empty() && tx.len().saturating_add(q.len) > max_bytes {
                break;
            }
            self.queued.pop_front();
            let Some(t) = self.tickets.get_mut(q.ticket) else {
                continue; // cancelled before it was sent
            };
            let bytes = self.queue.get(q.start..q.start + q.len).unwrap_or_default();
            let at = tx.len();
            tx.extend_from_slice(bytes);
            let seq = self
                .core
                .start_encoded(q.op, q.kind, tx.get_mut(at..).unwrap_or_default());
            t.seq = Some(seq);
            sent.push((q.ticket, seq));
        }
        if self.queued.is_empty() {
            self.queue.clear();
        }
        self.unanswered |= !sent.is_empty();
        self.io.requests += sent.len() as u64;
        sent.len()
    }

    /// The send of the batch `sent` failed with `e`: none of it ran.
    pub(crate) fn send_failed(
        &mut self,
        sent: &[(u64, u32)],
        e: &io::Error,
        wake: &mut Vec<Waker>,
    ) {
        for &(ticket, seq) in sent {
            self.core.cancel(seq);
            if let Some(t) = self.tickets.get_mut(ticket) {
                t.seq = None;
                let source = e.raw_os_error().map_or_else(
                    || io::Error::new(e.kind(), e.to_string()),
                    io::Error::from_raw_os_error,
                );
                t.failed = Some(Error::io(t.op, "sendmsg", source));
                wake.extend(t.waker.take());
            }
        }
        self.recompute_unanswered();
    }

    /// Feeds one received datagram to the core.
    pub(crate) fn on_datagram(&mut self, d: Datagram<'_>) {
        self.io.datagrams += 1;
        self.core.on_datagram(d);
    }

    /// `ENOBUFS` on the socket: replies were dropped.
    pub(crate) fn on_overrun(&mut self) {
        self.core.on_overrun();
    }

    /// The socket was read until `EAGAIN` after an overrun.
    pub(crate) fn on_drained(&mut self) {
        self.core.on_drained();
    }

    /// At the end of a receive round (the socket read until `EAGAIN`):
    /// moves into `wake` the wakers of every caller whose request is
    /// answered, and, once, of every caller whose request was sent and is
    /// still unanswered (it is late: it starts its timeout).
    pub(crate) fn collect_ready(&mut self, wake: &mut Vec<Waker>) {
        let mut unanswered = false;
        for t in self.tickets.values_mut() {
            let Some(seq) = t.seq else { continue };
            if !self.core.waiting(seq) {
                wake.extend(t.waker.take());
                continue;
            }
            unanswered = true;
            if !t.late {
                t.late = true;
                wake.extend(t.waker.take());
            }
        }
        self.unanswered = unanswered;
    }

    /// Whether the request of `ticket` was sent and not answered in the
    /// round that followed.
    pub(crate) fn is_late(&self, ticket: u64) -> bool {
        self.tickets.get(ticket).is_some_and(|t| t.late)
    }

    /// Gives an answer's buffers back to the core once its caller has
    /// decoded it: a caller answered after another then allocates nothing.
    pub(crate) fn recycle(&mut self, a: Answer) {
        self.core.recycle(a);
    }

    /// The driver stopped: every caller fails with `why` from now on.
    pub(crate) fn close(&mut self, why: Closed, wake: &mut Vec<Waker>) {
        if self.closed.is_none() {
            self.closed = Some(why);
        }
        for t in self.tickets.values_mut() {
            wake.extend(t.waker.take());
        }
    }

    /// The answer for `ticket` if there is one; else registers `waker`.
    pub(crate) fn poll(&mut self, ticket: u64, waker: &Waker) -> Poll<Result<Answer, Error>> {
        let Some(t) = self.tickets.get_mut(ticket) else {
            // Not reachable through the futures (a ticket is polled until it
            // is done); an answer, not a panic, if it ever is.
            return Poll::Ready(Err(Closed::Stopped.error(Op::Connect)));
        };
        if let Some(e) = t.failed.take() {
            self.forget(ticket);
            return Poll::Ready(Err(e));
        }
        if let Some(seq) = t.seq {
            if let Some(r) = self.core.take(seq) {
                self.forget(ticket);
                return Poll::Ready(r);
            }
        }
        if let Some(c) = self.closed {
            let op = t.op;
            if let Some(seq) = t.seq {
                self.core.cancel(seq);
            }
            self.forget(ticket);
            return Poll::Ready(Err(c.error(op)));
        }
        set_waker(&mut t.waker, waker);
        Poll::Pending
    }

    /// The caller of `ticket` gave up (a dropped future, a timeout): a
    /// request not sent yet never will be; the reply of one sent is
    /// discarded when it comes (the core counts it as stale).
    pub(crate) fn cancel(&mut self, ticket: u64) {
        if let Some(t) = self.forget(ticket) {
            if let Some(seq) = t.seq {
                self.core.cancel(seq);
            }
        }
    }

    /// Callers waiting (queued or sent).
    #[cfg(test)]
    pub(crate) fn callers(&self) -> usize {
        self.tickets.len()
    }
}

/// Registers `waker` in `slot` (cloned only if it is another).
fn set_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        w => *w = Some(waker.clone()),
    }
}

/// The messages of a dump answer, each as its genl payload.
pub(crate) fn dump_payloads(
    a: &Answer,
) -> impl Iterator<Item = Result<&[u8], genl_proto::DecodeError>> {
    a.messages
        .iter()
        .map(|m| netlink::parse_message(m).map(|m| m.payload))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use genl_proto::{Mode, Request};

    use super::*;
    use crate::core::testutil::{echo_reply, error_reply, FAM, PID};

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count::default());
        (c.clone(), Waker::from(c))
    }

    impl State {
        /// A new caller (one share) queued at once.
        fn queue_new(
            &mut self,
            op: Op,
            kind: Kind,
            encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
        ) -> Result<u64, Error> {
            let (t, room) = self.begin(op, 1, Waker::noop())?;
            assert!(room);
            self.enqueue(t, kind, encode, Waker::noop()).map(|_| t)
        }
    }

    fn state() -> State {
        State::new(Requests::new(PID, 1000), 1 << 20)
    }

    fn echo(st: &mut State, msg: &[u8]) -> u64 {
        st.queue_new(Op::Echo, Kind::Do, |out| {
            Request::Echo(msg).encode(FAM, 0, out)
        })
        .unwrap()
    }

    fn kernel(bytes: &[u8]) -> Datagram<'_> {
        Datagram {
            sender: 0,
            bytes,
            len: bytes.len(),
        }
    }

    /// The echoed message of an answer.
    fn echoed(r: Poll<Result<Answer, Error>>) -> Vec<u8> {
        match r {
            Poll::Ready(Ok(a)) => genl_proto::EchoReply::from_nlmsg(a.message()).unwrap().msg,
            r => panic!("{r:?}"),
        }
    }

    fn take(st: &mut State) -> (Vec<u8>, Vec<(u64, u32)>) {
        let (mut tx, mut sent) = (Vec::new(), Vec::new());
        st.take_batch(&mut tx, &mut sent, usize::MAX);
        (tx, sent)
    }

    use genl_proto::message::Reply as _;

    #[test]
    fn queued_requests_go_out_together_and_each_gets_its_own_reply() {
        let mut st = state();
        let (count, w) = waker();
        let t: Vec<u64> = [b"aa", b"bb", b"cc"]
            .iter()
            .map(|m| echo(&mut st, *m))
            .collect();
        for &t in &t {
            assert!(st.poll(t, &w).is_pending());
        }
        assert!(st.has_queued() && !st.awaiting_replies());
        let (tx, sent) = take(&mut st);
        assert_eq!(sent.len(), 3);
        assert!(!st.has_queued() && st.awaiting_replies());
        // One datagram of three messages, sequence numbers written in.
        let seqs: Vec<u32> = genl_proto::netlink::messages(&tx)
            .map(|m| m.unwrap().seq)
            .collect();
        assert_eq!(seqs, sent.iter().map(|s| s.1).collect::<Vec<_>>());
        assert_eq!(seqs, [1001, 1002, 1003]);
        // Replies out of order, in one datagram: each goes to its own caller.
        let mut d = echo_reply(FAM, 1003, PID, b"CC", 1);
        d.extend(echo_reply(FAM, 1001, PID, b"AA", 1));
        st.on_datagram(kernel(&d));
        // The end of the round: the two answered callers are woken, and
        // the third too, once, as late (it starts its timeout).
        let mut wake = Vec::new();
        assert!(!st.is_late(t[1]));
        st.collect_ready(&mut wake);
        assert_eq!(wake.len(), 3);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert!(st.is_late(t[1]) && !st.is_late(t[0]));
        assert_eq!(echoed(st.poll(t[2], &w)), b"CC");
        assert_eq!(echoed(st.poll(t[0], &w)), b"AA");
        assert!(st.poll(t[1], &w).is_pending());
        st.collect_ready(&mut wake);
        assert!(wake.is_empty(), "late is said once");
        st.on_datagram(kernel(&echo_reply(FAM, 1002, PID, b"BB", 1)));
        st.collect_ready(&mut wake);
        assert_eq!(wake.len(), 1);
        assert_eq!(echoed(st.poll(t[1], &w)), b"BB");
        assert_eq!(st.callers(), 0);
        assert!(!st.awaiting_replies());
        assert_eq!(st.io.requests, 3);
    }

    #[test]
    fn a_request_cancelled_while_queued_is_never_sent() {
        let mut st = state();
        let a = echo(&mut st, b"a");
        let b = echo(&mut st, b"b");
        st.cancel(a);
        let (tx, sent) = take(&mut st);
        assert_eq!(sent, [(b, 1001)]);
        assert_eq!(genl_proto::netlink::messages(&tx).count(), 1);
        assert_eq!(st.callers(), 1);
    }

    #[test]
    fn a_cancelled_requests_reply_is_discarded_never_handed_on() {
        let mut st = state();
        let (_, w) = waker();
        let a = echo(&mut st, b"first");
        let _ = take(&mut st);
        st.cancel(a); // e.g. its timeout expired
                      // The next request, and the late reply of the first.
        let b = echo(&mut st, b"second");
        assert!(st.poll(b, &w).is_pending());
        let (_, sent) = take(&mut st);
        assert_eq!(sent, [(b, 1002)]);
        st.on_datagram(kernel(&echo_reply(FAM, 1001, PID, b"first", 0)));
        assert!(
            st.poll(b, &w).is_pending(),
            "never the other request's reply"
        );
        assert_eq!(st.core().counters().stale, 1);
        st.on_datagram(kernel(&echo_reply(FAM, 1002, PID, b"second", 0)));
        assert_eq!(echoed(st.poll(b, &w)), b"second");
    }

    #[test]
    fn replies_from_a_process_are_dropped() {
        let mut st = state();
        let (_, w) = waker();
        let a = echo(&mut st, b"x");
        let _ = take(&mut st);
        let forged = echo_reply(FAM, 1001, PID, b"forged", 0);
        st.on_datagram(Datagram {
            sender: 4242,
            bytes: &forged,
            len: forged.len(),
        });
        assert!(st.poll(a, &w).is_pending());
        assert_eq!(st.core().counters().foreign, 1);
        st.on_datagram(kernel(&echo_reply(FAM, 1001, PID, b"x", 0)));
        assert_eq!(echoed(st.poll(a, &w)), b"x");
    }

    #[test]
    fn an_overrun_fails_the_sent_requests_not_the_queued_ones() {
        let mut st = state();
        let (count, w) = waker();
        let a = echo(&mut st, b"a");
        let b = echo(&mut st, b"b");
        let _ = take(&mut st);
        for t in [a, b] {
            assert!(st.poll(t, &w).is_pending());
        }
        // Queued during the drain: not sent yet, so not lost.
        let c = echo(&mut st, b"c");
        assert!(st.poll(c, &w).is_pending());
        st.on_datagram(kernel(&echo_reply(FAM, 1001, PID, b"a", 0)));
        st.on_overrun();
        st.on_drained();
        let mut wake = Vec::new();
        st.collect_ready(&mut wake);
        assert_eq!(wake.len(), 2);
        assert_eq!(echoed(st.poll(a, &w)), b"a");
        match st.poll(b, &w) {
            Poll::Ready(Err(Error::ReplyLost { op: Op::Echo })) => {}
            r => panic!("{r:?}"),
        }
        assert!(st.poll(c, &w).is_pending());
        let (_, sent) = take(&mut st);
        assert_eq!(sent, [(c, 1003)]);
        assert_eq!(st.core().counters().lost, 1);
        drop(wake);
        let _ = count;
    }

    #[test]
    fn kernel_errors_reach_their_request() {
        let mut st = state();
        let (_, w) = waker();
        let t = st
            .queue_new(Op::SetMode, Kind::Do, |out| {
                Request::SetCase(Mode::Upper).encode(FAM, 0, out)
            })
            .unwrap();
        let _ = take(&mut st);
        st.on_datagram(kernel(&error_reply(1001, PID, libc::EPERM, Some("no"))));
        match st.poll(t, &w) {
            Poll::Ready(Err(Error::PermissionDenied {
                op: Op::SetMode, ..
            })) => {}
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn a_failed_send_fails_its_requests_and_close_fails_the_rest() {
        let mut st = state();
        let (_, w) = waker();
        let a = echo(&mut st, b"a");
        assert!(st.poll(a, &w).is_pending());
        let (_, sent) = take(&mut st);
        let mut wake = Vec::new();
        st.send_failed(
            &sent,
            &io::Error::from_raw_os_error(libc::ENOMEM),
            &mut wake,
        );
        assert_eq!(wake.len(), 1);
        match st.poll(a, &w) {
            Poll::Ready(Err(
                e @ Error::Io {
                    call: "sendmsg", ..
                },
            )) => {
                assert_eq!(e.errno(), Some(libc::ENOMEM))
            }
            r => panic!("{r:?}"),
        }
        assert!(!st.awaiting_replies());
        let b = echo(&mut st, b"b");
        assert!(st.poll(b, &w).is_pending());
        let mut wake = Vec::new();
        st.close(Closed::Stopped, &mut wake);
        assert_eq!(wake.len(), 1);
        assert!(matches!(st.poll(b, &w), Poll::Ready(Err(Error::Io { .. }))));
        assert!(matches!(
            st.queue_new(Op::Echo, Kind::Do, |_| Ok(())),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn a_batch_stops_at_the_datagram_limit_and_bad_requests_queue_nothing() {
        let mut st = state();
        let len = {
            let mut b = Vec::new();
            Request::Echo(b"0123456789").encode(FAM, 0, &mut b).unwrap();
            b.len()
        };
        for _ in 0..5 {
            echo(&mut st, b"0123456789");
        }
        let (mut tx, mut sent) = (Vec::new(), Vec::new());
        assert_eq!(st.take_batch(&mut tx, &mut sent, 2 * len + 1), 2);
        assert_eq!(tx.len(), 2 * len);
        // At least one, whatever the limit.
        assert_eq!(st.take_batch(&mut tx, &mut sent, 1), 1);
        assert_eq!(st.take_batch(&mut tx, &mut sent, usize::MAX), 2);
        assert!(!st.has_queued());
        let e = st
            .queue_new(Op::Echo, Kind::Do, |out| {
                Request::Echo(b"a\0b").encode(FAM, 0, out)
            })
            .unwrap_err();
        assert!(matches!(e, Error::MsgHasNul { offset: 1 }), "{e:?}");
        assert!(!st.has_queued());
        // Its caller is gone and its share is back.
        assert_eq!(st.callers(), 5);
        assert_eq!(st.free_units, (1 << 20) - 5);
    }
}
