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

use std::future::{poll_fn, Future};
use std::io;
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

/// The task's own buffers.
struct Driver {
    tx: Vec<u8>,
    sent: Vec<(u64, u32)>,
    slots: Slots,
    wake: Vec<Waker>,
}

/// The task: runs until the last client is dropped or the socket fails.
/// The guard is made before the future, so that it closes the client even
/// if the runtime drops the task before ever polling it.
pub(crate) fn run(
    shared: Arc<Shared>,
    fd: AsyncFd<Sock>,
    slots: usize,
) -> impl Future<Output = ()> + Send + 'static {
    let guard = CloseOnDrop {
        shared: shared.clone(),
        why: Closed::Stopped,
    };
    drive(guard, shared, fd, slots)
}

async fn drive(mut guard: CloseOnDrop, shared: Arc<Shared>, fd: AsyncFd<Sock>, slots: usize) {
    let mut d = Driver {
        tx: Vec::new(),
        sent: Vec::new(),
        slots: Slots::new(slots, RECV_BUF_LEN),
        wake: Vec::new(),
    };
    log::debug!(
        "async client on port {}: background task started",
        fd.get_ref().pid()
    );
    // Whether the socket may hold datagrams: read it before waiting.
    let mut readable = false;
    let r = loop {
        if shared.gone.load(Ordering::Acquire) {
            break Ok(());
        }
        match d.send_queued(&shared, &fd).await {
            Ok(sent) => readable |= sent,
            Err(e) => break Err(e),
        }
        if readable {
            if let Err(e) = d.drain(&shared, fd.get_ref()) {
                break Err(e);
            }
            readable = false;
        }
        if lock(&shared.state).has_queued() {
            continue;
        }
        match d.wait(&shared, &fd).await {
            Ok(r) => readable = r,
            Err(e) => break Err(e),
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
    /// Step 1: sends what is queued (as much as one datagram carries).
    /// Returns whether anything was sent.
    async fn send_queued(&mut self, shared: &Shared, fd: &AsyncFd<Sock>) -> Result<bool, Closed> {
        let n = lock(&shared.state).take_batch(&mut self.tx, &mut self.sent, shared.max_send);
        if n == 0 {
            return Ok(false);
        }
        let r = loop {
            match fd.get_ref().send(&self.tx) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Not expected of netlink (the kernel takes the message
                    // at once); wait rather than spin if it ever happens.
                    match fd.writable().await {
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

    /// One `recvmmsg` without blocking, its datagrams fed to the core.
    fn recv_once(&mut self, shared: &Shared, sock: &Sock) -> io::Result<usize> {
        let r = self.slots.recv(sock, self.slots.count(), true);
        let mut st = lock(&shared.state);
        st.io.receives += 1;
        match r {
            Ok(n) => {
                for i in 0..n {
                    st.on_datagram(self.slots.datagram(i));
                }
                Ok(n)
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                st.on_overrun();
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// Step 2: reads until `EAGAIN`, then wakes the answered.
    fn drain(&mut self, shared: &Shared, sock: &Sock) -> Result<(), Closed> {
        loop {
            match self.recv_once(shared, sock) {
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(fatal("recvmmsg", &e)),
            }
        }
        self.finish_round(shared);
        Ok(())
    }

    /// The socket is empty: an overrun's losses are now known; wakes
    /// every caller whose answer is there.
    fn finish_round(&mut self, shared: &Shared) {
        {
            let mut st = lock(&shared.state);
            st.on_drained();
            st.collect_ready(&mut self.wake);
        }
        self.wake.drain(..).for_each(Waker::wake);
    }

    /// Step 3: waits for work. Reading happens here too when the socket
    /// turns readable (a reply that came after the drain), with tokio's
    /// readiness cleared only by an `EAGAIN` seen after it was reported.
    /// Returns whether the socket had something (read the rest of it).
    async fn wait(&mut self, shared: &Shared, fd: &AsyncFd<Sock>) -> Result<bool, Closed> {
        let notified = shared.notify.notified();
        let mut notified = std::pin::pin!(notified);
        poll_fn(|cx| {
            if shared.gone.load(Ordering::Acquire) || notified.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(false));
            }
            if !lock(&shared.state).awaiting_replies() {
                return Poll::Pending;
            }
            loop {
                let mut ready = match fd.poll_read_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(fatal("epoll", &e))),
                    Poll::Ready(Ok(g)) => g,
                };
                match self.recv_once(shared, fd.get_ref()) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        ready.clear_ready_matching(tokio::io::Ready::READABLE);
                        self.finish_round(shared);
                    }
                    Ok(_) => return Poll::Ready(Ok(true)),
                    Err(e) => return Poll::Ready(Err(fatal("recvmmsg", &e))),
                }
            }
        })
        .await
    }
}
