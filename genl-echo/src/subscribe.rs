//! [`Subscription`]: the family's `events` multicast group as an iterator.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use genl_proto::consts::MCGRP_EVENTS;
use genl_proto::message::Reply;
use genl_proto::{netlink, CaseEvent, DecodeError};
use log::debug;

use crate::client::Client;
use crate::conn::{summarize, RECV_BUF_LEN};
use crate::error::{Error, Op};
use crate::sock::Sock;

/// Something that happened on the `events` group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `CASE_NTF`: a namespace's mode changed.
    ModeChanged(CaseEvent),
    /// The socket's receive buffer overran (`ENOBUFS`): the kernel dropped
    /// one or more events since the previous item. The subscription goes on.
    Overrun,
}

/// A socket joined to the `events` group of `genl_echo`, in the namespace
/// of the [`Client`] that opened it. Iterating blocks until the next item.
///
/// Items are `Ok(Event)` in the order the kernel sent them, an
/// `Ok(Event::Overrun)` where events were lost, or an `Err` for a datagram
/// that could not be received or decoded (the iterator goes on after it).
/// Notifications of other commands are skipped. The iterator never ends by
/// itself.
pub struct Subscription {
    sock: Sock,
    family_id: u16,
    group: u32,
    buf: Vec<u8>,
    pending: VecDeque<Result<Event, Error>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("family_id", &self.family_id)
            .field("group", &self.group)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Joins the family's `events` group on a new socket.
    pub fn subscribe(&self) -> Result<Subscription, Error> {
        self.subscribe_with_rcvbuf(None)
    }

    /// Like [`Client::subscribe`], with `SO_RCVBUF` set to `rcvbuf` bytes
    /// first (capped by `net.core.rmem_max`; the kernel doubles it). A small
    /// buffer makes [`Event::Overrun`] likely under a burst of events.
    pub fn subscribe_with_rcvbuf(&self, rcvbuf: Option<usize>) -> Result<Subscription, Error> {
        let op = Op::Subscribe;
        let group = self
            .family
            .mcast_group(MCGRP_EVENTS)
            .ok_or_else(|| Error::NoGroup {
                family: self.family.name.clone(),
                group: MCGRP_EVENTS,
            })?;
        let sock = Sock::open(self.netns.as_deref())?;
        if let Some(b) = rcvbuf {
            sock.set_rcvbuf(b)
                .map_err(|e| Error::io(op, "setsockopt SO_RCVBUF", e))?;
        }
        sock.join(group)
            .map_err(|e| Error::io(op, "setsockopt NETLINK_ADD_MEMBERSHIP", e))?;
        debug!(
            "listening on multicast group {MCGRP_EVENTS} ({group}) of family {}",
            self.family.id
        );
        Ok(Subscription {
            sock,
            family_id: self.family.id,
            group,
            buf: vec![0; RECV_BUF_LEN],
            pending: VecDeque::new(),
        })
    }
}

impl Subscription {
    /// The multicast group id joined.
    pub fn group_id(&self) -> u32 {
        self.group
    }

    /// The next item if one is available without waiting, else `None`.
    /// With [`AsRawFd`] this lets a program wait in its own `poll`.
    pub fn try_next(&mut self) -> Option<Result<Event, Error>> {
        self.next_item(true)
    }

    fn next_item(&mut self, nonblock: bool) -> Option<Result<Event, Error>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            let flags = if nonblock { libc::MSG_DONTWAIT } else { 0 };
            match self.sock.recv(&mut self.buf, flags) {
                Ok(n) => self.decode(n),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Some(Ok(Event::Overrun));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && nonblock => return None,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Some(Err(Error::io(Op::Subscribe, "recv", e))),
            }
        }
    }

    /// Queues the items of a datagram of `n` bytes.
    fn decode(&mut self, n: usize) {
        let op = Op::Subscribe;
        if n > self.buf.len() {
            self.pending.push_back(Err(Error::Truncated {
                op,
                len: n,
                buf: self.buf.len(),
            }));
            return;
        }
        if log::log_enabled!(log::Level::Debug) {
            debug!("recv {n} bytes: {}", summarize(&self.buf[..n]));
        }
        for m in netlink::messages(&self.buf[..n]) {
            let m = match m {
                Ok(m) => m,
                Err(source) => {
                    self.pending.push_back(Err(Error::Decode { op, source }));
                    break;
                }
            };
            if m.ty != self.family_id {
                debug!("skipping message of type {:#x}", m.ty);
                continue;
            }
            match CaseEvent::from_genl(m.payload) {
                Ok(ev) => self.pending.push_back(Ok(Event::ModeChanged(ev))),
                Err(DecodeError::UnexpectedCmd { got, .. }) => {
                    debug!("skipping notification with command {got}");
                }
                Err(source) => self.pending.push_back(Err(Error::Decode { op, source })),
            }
        }
    }
}

impl Iterator for Subscription {
    type Item = Result<Event, Error>;

    /// Blocks until the next item; never returns `None`.
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item(false)
    }
}

impl AsRawFd for Subscription {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
