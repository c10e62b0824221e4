//! The background task of an [`AsyncClient`](super::AsyncClient): the only
//! code that touches its socket. It loops:
//!
//! 1. take every request queued since the last send and send them in one
//!    `sendmsg` (generic netlink runs them, and queues their replies,
//!    inside that call);
//! 2. read every queued datagram with `recvmmsg` without blocking, feed
//!    them to the core, and wake the futures whose answers came (after an
//!    `ENOBUFS`, the core fails the requests whose replies were dropped
//!    once the socket is drained);
//! 3. wait until requests are queued, or (while requests wait for replies)
//!    the socket is readable, or the last client is dropped.
//!
//! The socket is in the runtime's epoll set only while the task waits for
//! it (a reply still missing after a drain, or a send that would block):
//! generic netlink queues a reply inside the `sendmsg` of its request, so
//! step 2 nearly always finds every reply, and a socket nobody polls saves
//! the kernel an epoll wake-up for every reply it queues.

use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Poll, Waker};

use tokio::io::unix::AsyncFd;

use crate::conn::RECV_BUF_LEN;
use crate::sock::{Slots, Sock};

use super::client::{lock, Shared};
use super::state::Closed;

/// Marks the client closed if the task ends for any reason (its runtime
/// shutting down drops it), so that no caller waits for it.
struct CloseOnDrop {
    shared: Arc<Shared>,
    why: Closed,
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let mut wake = Vec::new();
        lock(&self.shared.state).close(self.why, &mut wake);
        wake.into_iter().for_each(Waker::wake);
    }
}

/// The socket's descriptor, for registering it with the runtime while the
/// task waits for it. It does not own the descriptor.
pub(crate) struct SockFd(RawFd);

impl AsRawFd for SockFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Registers `sock` with the runtime's I/O driver (`epoll_ctl`).
pub(crate) fn register(sock: &Sock) -> io::Result<AsyncFd<SockFd>> {
    // SAFETY: the descriptor belongs to a `Sock` that outlives the returned
    // registration: the client registers it before it spawns the task and
    // hands both to it, and the task keeps the registration in a field
    // declared before the socket (dropped, so deregistered, first).
    unsafe { AsyncFd::register(SockFd(sock.as_raw_fd())) }.map_err(Into::into)
}

/// The task's socket and its own buffers.
struct Driver {
    /// The socket's registration with the runtime, while the task waits for
    /// the socket. Declared before `sock`: dropped first.
    polled: Option<AsyncFd<SockFd>>,
    sock: Sock,
    tx: Vec<u8>,
    sent: Vec<(u64, u32)>,
    slots: Slots,
    wake: Vec<Waker>,
    /// Whether other tasks run beside this one (a multi-thread runtime):
    /// then, once woken by a request, the task lets them queue theirs
    /// before it sends.
    beside: bool,
}

/// The task: runs until the last client is dropped or the socket fails.
/// The guard is made before the future, so that it closes the client even
/// if the runtime drops the task before ever polling it.
/// `polled` is `sock`'s registration, made by the caller in the runtime's
/// context (so that a runtime without I/O shows at connect, not in the task).
pub(crate) fn run(
    shared: Arc<Shared>,
    sock: Sock,
    polled: AsyncFd<SockFd>,
    slots: usize,
    beside: bool,
) -> impl Future<Output = ()> + Send + 'static {
    let guard = CloseOnDrop {
        shared: shared.clone(),
        why: Closed::Stopped,
    };
    let d = Driver {
        polled: Some(polled),
        sock,
        tx: Vec::new(),
        sent: Vec::new(),
        slots: Slots::new(slots, RECV_BUF_LEN),
        wake: Vec::new(),
        beside,
    };
    drive(guard, shared, d)
}

async fn drive(mut guard: CloseOnDrop, shared: Arc<Shared>, mut d: Driver) {
    log::debug!(
        "async client on port {}: background task started",
        d.sock.pid()
    );
    // Whether the socket may hold datagrams: read it before waiting.
    let mut readable = false;
    let r = loop {
        if shared.gone.load(Ordering::Acquire) {
            break Ok(());
        }
        match d.send_queued(&shared).await {
            Ok(sent) => readable |= sent,
            Err(e) => break Err(e),
        }
        if readable {
            if let Err(e) = d.drain(&shared) {
                break Err(e);
            }
            readable = false;
        }
        if lock(&shared.state).has_queued() {
            continue;
        }
        match d.wait(&shared).await {
            Ok(r) => readable = r,
            Err(e) => break Err(e),
        }
        if !readable && d.beside {
            // Woken by the first request queued: let the tasks that are
            // ready to run queue theirs too, so that they go out in the
            // same send (they run beside this task, which would otherwise
            // send far smaller batches). On a current-thread runtime the
            // tasks woken before this one have all run by now, and a
            // yield would only cost the scheduler an extra poll of its
            // I/O and timers.
            tokio::task::yield_now().await;
        }
    };
    if let Err(why) = r {
        log::debug!("async client: background task stops: {why:?}");
        guard.why = why;
    }
    log::debug!("async client: background task ends");
}

fn fatal(call: &'static str, e: &io::Error) -> Closed {
    Closed::Io {
        call,
        errno: e.raw_os_error(),
    }
}

impl Driver {
    /// The socket's registration with the runtime, made if there is none.
    fn polled(&mut self) -> Result<&AsyncFd<SockFd>, Closed> {
        match &mut self.polled {
            Some(p) => Ok(p),
            p => {
                let r = register(&self.sock).map_err(|e| fatal("epoll_ctl", &e))?;
                Ok(p.insert(r))
            }
        }
    }

    /// Step 1: sends what is queued (as much as one datagram carries).
    /// Returns whether anything was sent.
    async fn send_queued(&mut self, shared: &Shared) -> Result<bool, Closed> {
        let n = lock(&shared.state).take_batch(&mut self.tx, &mut self.sent, shared.max_send);
        if n == 0 {
            return Ok(false);
        }
        let r = loop {
            match self.sock.send(&self.tx) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Not expected of netlink (the kernel takes the message
                    // at once); wait rather than spin if it ever happens.
                    match self.polled()?.writable().await {
                        Ok(mut g) => g.clear_ready(),
                        Err(e) => break Err(e),
                    }
                }
                r => break r,
            }
        };
        let mut st = lock(&shared.state);
        st.io.sends += 1;
        match r {
            Ok(sent) if sent == self.tx.len() => {}
            Ok(sent) => {
                let e = io::Error::other(format!("short send: {sent} of {} bytes", self.tx.len()));
                st.send_failed(&self.sent, &e, &mut self.wake);
            }
            Err(e) => {
                log::debug!("async client: sendmsg of {n} requests failed: {e}");
                st.send_failed(&self.sent, &e, &mut self.wake);
            }
        }
        drop(st);
        self.wake.drain(..).for_each(Waker::wake);
        Ok(true)
    }

    /// Step 2: reads until `EAGAIN`, then wakes the answered. A read that
    /// leaves no request waiting (and no overrun open) ends it early: what
    /// the socket may still hold answers nothing in flight (stale replies,
    /// or an error `recvmmsg` kept for its next call), and the next round
    /// reads it before anything it sends can be answered, so the
    /// `recvmmsg` that would only confirm `EAGAIN` is saved.
    fn drain(&mut self, shared: &Shared) -> Result<(), Closed> {
        loop {
            match recv_once(&mut self.slots, &self.sock, shared) {
                Ok((n, settled)) if settled && n > 0 => break,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(fatal("recvmmsg", &e)),
            }
        }
        finish_round(shared, &mut self.wake);
        Ok(())
    }

    /// Step 3: waits for work. Reading happens here too when the socket
    /// turns readable (a reply that came after the drain), with tokio's
    /// readiness cleared only by an `EAGAIN` seen after it was reported.
    /// The socket is registered with the runtime only while a request
    /// waits for its reply.
    /// Returns whether the socket had something (read the rest of it).
    async fn wait(&mut self, shared: &Shared) -> Result<bool, Closed> {
        if lock(&shared.state).awaiting_replies() {
            self.polled()?;
        } else {
            self.polled = None;
        }
        let Driver {
            polled,
            sock,
            slots,
            wake,
            ..
        } = self;
        let notified = shared.notify.notified();
        let mut notified = std::pin::pin!(notified);
        poll_fn(|cx| {
            if shared.gone.load(Ordering::Acquire) || notified.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(false));
            }
            let Some(polled) = polled.as_ref() else {
                return Poll::Pending;
            };
            loop {
                let mut ready = match polled.poll_read_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(fatal("epoll", &e))),
                    Poll::Ready(Ok(g)) => g,
                };
                match recv_once(slots, sock, shared) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        ready.clear_ready_matching(tokio::io::Ready::READABLE);
                        finish_round(shared, wake);
                        if !lock(&shared.state).awaiting_replies() {
                            // Nothing to wait for on the socket any more:
                            // back to the loop, which deregisters it.
                            return Poll::Ready(Ok(false));
                        }
                    }
                    Ok(_) => return Poll::Ready(Ok(true)),
                    Err(e) => return Poll::Ready(Err(fatal("recvmmsg", &e))),
                }
            }
        })
        .await
    }
}

/// One `recvmmsg` without blocking, its datagrams fed to the core.
/// Returns how many, and whether the core is then settled (no request
/// waits for a reply, no overrun is being drained).
fn recv_once(slots: &mut Slots, sock: &Sock, shared: &Shared) -> io::Result<(usize, bool)> {
    let r = slots.recv(sock, slots.count(), true);
    let mut st = lock(&shared.state);
    st.io.receives += 1;
    match r {
        Ok(n) => {
            for i in 0..n {
                st.on_datagram(slots.datagram(i));
            }
            Ok((n, st.core().settled()))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
            st.on_overrun();
            Ok((0, false))
        }
        Err(e) => Err(e),
    }
}

/// The socket is empty: an overrun's losses are now known; wakes every
/// caller whose answer is there.
fn finish_round(shared: &Shared, wake: &mut Vec<Waker>) {
    {
        let mut st = lock(&shared.state);
        st.on_drained();
        st.collect_ready(wake);
    }
    wake.drain(..).for_each(Waker::wake);
}
