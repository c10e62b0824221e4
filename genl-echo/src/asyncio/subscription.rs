//! [`AsyncSubscription`]: the family's events as a `Stream`, read when
//! polled (no task).

use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use genl_proto::consts::MCGRP_EVENTS;
use tokio::io::unix::AsyncFd;

use crate::conn::RECV_BUF_LEN;
use crate::core::events::Events;
use crate::error::{Error, Op};
use crate::sock::Sock;
use crate::subscribe::{Event, CTRL_NAME, CTRL_NOTIFY};

use super::client::AsyncClient;

/// Datagrams read in one poll before yielding to the runtime (a flood of
/// events must not keep the task on its thread forever).
const READS_PER_POLL: usize = 64;

/// The `events` group of `genl_echo` and the controller's `notify` group
/// on a socket of its own, as a [`Stream`] of `Result<Event, Error>`
/// (feature `tokio`; from [`AsyncClient::subscribe`]).
///
/// The items are those of the blocking [`Subscription`](crate::Subscription),
/// in the order things happened: events in the order the kernel sent them;
/// on a receive buffer overrun, first every event still queued (older than
/// the loss), then [`Event::Overrun`]; [`Event::FamilyRemoved`] when the
/// module is unloaded and [`Event::FamilyAdded`] when the family is
/// registered again, after which the stream follows the new family's
/// events; an `Err` for a datagram that could not be received or decoded
/// (the stream goes on after it). It never ends by itself.
///
/// There is no background task: the socket is read when the stream is
/// polled. A consumer that polls slowly only delays its own items (the
/// kernel drops what does not fit the socket's buffer, and the stream says
/// so with [`Event::Overrun`]); memory stays bounded.
pub struct AsyncSubscription {
    fd: AsyncFd<Sock>,
    events: Events,
    buf: Vec<u8>,
}

impl std::fmt::Debug for AsyncSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSubscription")
            .field("port", &self.fd.get_ref().pid())
            .field("family_id", &self.events.family_id())
            .field("group", &self.events.group_id())
            .finish_non_exhaustive()
    }
}

impl AsyncClient {
    /// Joins the family's `events` group, and the controller's `notify`
    /// group, on a new socket (in the client's network namespace).
    pub async fn subscribe(&self) -> Result<AsyncSubscription, Error> {
        self.subscribe_with_rcvbuf(None).await
    }

    /// Like [`AsyncClient::subscribe`], with `SO_RCVBUF` set to `rcvbuf`
    /// bytes first (capped by `net.core.rmem_max`; the kernel doubles it).
    /// A small buffer makes [`Event::Overrun`] likely under a burst of
    /// events.
    pub async fn subscribe_with_rcvbuf(
        &self,
        rcvbuf: Option<usize>,
    ) -> Result<AsyncSubscription, Error> {
        let op = Op::Subscribe;
        let sock = Sock::open(self.netns())?;
        if let Some(b) = rcvbuf {
            sock.set_rcvbuf(b)
                .map_err(|e| Error::io(op, "setsockopt SO_RCVBUF", e))?;
        }
        sock.set_nonblocking()
            .map_err(|e| Error::io(op, "fcntl O_NONBLOCK", e))?;
        // The controller's group first, so that a reload after the family
        // is resolved below is seen.
        let ctrl = self.resolve_name(CTRL_NAME).await?;
        let notify = ctrl
            .mcast_group(CTRL_NOTIFY)
            .ok_or_else(|| Error::NoGroup {
                family: ctrl.name.clone(),
                group: CTRL_NOTIFY,
            })?;
        sock.join(notify)
            .map_err(|e| Error::io(op, "setsockopt NETLINK_ADD_MEMBERSHIP", e))?;
        let family = self.resolve_name(&self.family().name).await?;
        let group = family
            .mcast_group(MCGRP_EVENTS)
            .ok_or_else(|| Error::NoGroup {
                family: family.name.clone(),
                group: MCGRP_EVENTS,
            })?;
        sock.join(group)
            .map_err(|e| Error::io(op, "setsockopt NETLINK_ADD_MEMBERSHIP", e))?;
        log::debug!(
            "async subscription on port {}: group {MCGRP_EVENTS} ({group}) of family {} and \
             {CTRL_NAME}'s {CTRL_NOTIFY} ({notify})",
            sock.pid(),
            family.id
        );
        // SAFETY: the socket owns its descriptor, which stays open, and
        // always the same, until the AsyncFd (which owns the socket) is
        // dropped.
        let fd =
            unsafe { AsyncFd::register(sock) }.map_err(|e| Error::io(op, "epoll_ctl", e.into()))?;
        Ok(AsyncSubscription {
            fd,
            events: Events::new(&family.name, family.id, group),
            buf: vec![0; RECV_BUF_LEN],
        })
    }
}

impl AsyncSubscription {
    /// The socket's netlink port id.
    pub fn port_id(&self) -> u32 {
        self.fd.get_ref().pid()
    }

    /// The `events` group id joined (the newest, after a reload), `None`
    /// while the family is gone.
    pub fn group_id(&self) -> Option<u32> {
        self.events.group_id()
    }

    /// The family id followed, `None` while the family is gone.
    pub fn family_id(&self) -> Option<u16> {
        self.events.family_id()
    }

    /// Reads one datagram without blocking into the core. `Err` only for
    /// "nothing queued".
    fn read_one(&mut self) -> Result<(), ()> {
        match self
            .fd
            .get_ref()
            .recv_datagram(&mut self.buf, libc::MSG_DONTWAIT)
        {
            Ok(d) => self.events.on_datagram(d),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Err(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.events.on_overrun(),
            Err(e) => self
                .events
                .on_error(Error::io(Op::Subscribe, "recvfrom", e)),
        }
        Ok(())
    }
}

impl Stream for AsyncSubscription {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut reads = 0;
        loop {
            if let Some(g) = this.events.join_needed() {
                if let Err(e) = this.fd.get_ref().join(g) {
                    this.events.on_error(Error::io(
                        Op::Subscribe,
                        "setsockopt NETLINK_ADD_MEMBERSHIP",
                        e,
                    ));
                }
                continue;
            }
            if reads >= READS_PER_POLL {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if this.events.draining() {
                // After an overrun: everything still queued first, without
                // waiting, then the Overrun item after it.
                reads += 1;
                if this.read_one().is_err() {
                    this.events.on_drained();
                }
                continue;
            }
            if let Some(item) = this.events.pop() {
                return Poll::Ready(Some(item));
            }
            let mut ready = match this.fd.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(g)) => g,
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Some(Err(Error::io(Op::Subscribe, "epoll", e))))
                }
            };
            reads += 1;
            match this
                .fd
                .get_ref()
                .recv_datagram(&mut this.buf, libc::MSG_DONTWAIT)
            {
                Ok(d) => this.events.on_datagram(d),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ready.clear_ready(),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => this.events.on_overrun(),
                Err(e) => this
                    .events
                    .on_error(Error::io(Op::Subscribe, "recvfrom", e)),
            }
        }
    }
}

impl AsRawFd for AsyncSubscription {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_is_a_send_unpin_stream() {
        fn check<T: Stream<Item = Result<Event, Error>> + Send + Unpin>() {}
        check::<AsyncSubscription>();
    }
}
