//! [`Subscription`]: the family's `events` multicast group, and the
//! controller's `notify` group, as an iterator.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use genl_proto::consts::MCGRP_EVENTS;
use genl_proto::CaseEvent;
use log::debug;

use crate::client::Client;
use crate::conn::{summarize, Conn, RECV_BUF_LEN};
use crate::core::events::Events;
use crate::error::{Error, Op};
use crate::sock::Sock;

/// The controller's family name.
pub(crate) const CTRL_NAME: &str = "nlctrl";
/// The controller's multicast group that announces families coming and going.
pub(crate) const CTRL_NOTIFY: &str = "notify";

/// Something that happened on the `events` group, or to the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `CASE_NTF`: a namespace's mode changed.
    ModeChanged(CaseEvent),
    /// The socket's receive buffer overran (`ENOBUFS`): the kernel dropped
    /// one or more events after the items before this one (which were
    /// queued before the loss). The subscription goes on.
    Overrun,
    /// The family was unregistered (its module unloaded): no event comes
    /// until it is back ([`Event::FamilyAdded`]).
    FamilyRemoved,
    /// A family of the subscribed name was registered (the module loaded
    /// again), possibly under a new id; the subscription has joined its
    /// `events` group and follows it from here.
    FamilyAdded {
        /// The family's id now.
        id: u16,
        /// The family's version (`CTRL_ATTR_VERSION`).
        version: u32,
    },
}

/// With the `serde` feature an event serializes as one JSON object:
/// `{"event":"mode","mode":..,"previous":..}`, `{"event":"overrun"}`,
/// `{"event":"family_removed"}`, `{"event":"family_added","id":N,"version":V}`
/// (what `nlctl monitor` prints).
#[cfg(feature = "serde")]
impl serde::Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match self {
            Event::ModeChanged(ev) => ev.serialize(ser),
            Event::Overrun => {
                let mut s = ser.serialize_struct("Event", 1)?;
                s.serialize_field("event", "overrun")?;
                s.end()
            }
            Event::FamilyRemoved => {
                let mut s = ser.serialize_struct("Event", 1)?;
                s.serialize_field("event", "family_removed")?;
                s.end()
            }
            Event::FamilyAdded { id, version } => {
                let mut s = ser.serialize_struct("Event", 3)?;
                s.serialize_field("event", "family_added")?;
                s.serialize_field("id", id)?;
                s.serialize_field("version", version)?;
                s.end()
            }
        }
    }
}

/// A socket joined to the `events` group of `genl_echo` and to the
/// controller's `notify` group, in the namespace of the [`Client`] that
/// opened it. Iterating blocks until the next item.
///
/// Items come in the order things happened: `Ok(Event)` in the order the
/// kernel sent them; on a receive buffer overrun, first every event that
/// was still queued (older than the loss), then `Ok(Event::Overrun)`; an
/// `Err` for a datagram that could not be received or decoded (the
/// iterator goes on after it). When the module is unloaded the iterator
/// yields [`Event::FamilyRemoved`], and when a family of the same name is
/// registered again, [`Event::FamilyAdded`], after which it follows the
/// new family's events. Notifications of other commands and datagrams not
/// sent by the kernel are skipped. The iterator never ends by itself.
pub struct Subscription {
    sock: Sock,
    events: Events,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("port", &self.sock.pid())
            .field("family_id", &self.events.family_id())
            .field("group", &self.events.group_id())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Joins the family's `events` group, and the controller's `notify`
    /// group, on a new socket.
    pub fn subscribe(&self) -> Result<Subscription, Error> {
        self.subscribe_with_rcvbuf(None)
    }

    /// Like [`Client::subscribe`], with `SO_RCVBUF` set to `rcvbuf` bytes
    /// first (capped by `net.core.rmem_max`; the kernel doubles it). A small
    /// buffer makes [`Event::Overrun`] likely under a burst of events.
    pub fn subscribe_with_rcvbuf(&self, rcvbuf: Option<usize>) -> Result<Subscription, Error> {
        let op = Op::Subscribe;
        // The groups are resolved on the new socket itself: the
        // controller's, and the family's again (the client's id may be
        // stale after a reload).
        let mut conn = Conn::open(self.netns.as_deref())?;
        let ctrl = conn.resolve(CTRL_NAME)?;
        let notify = ctrl
            .mcast_group(CTRL_NOTIFY)
            .ok_or_else(|| Error::NoGroup {
                family: ctrl.name.clone(),
                group: CTRL_NOTIFY,
            })?;
        let family = conn.resolve(&self.family.name)?;
        let group = family
            .mcast_group(MCGRP_EVENTS)
            .ok_or_else(|| Error::NoGroup {
                family: family.name.clone(),
                group: MCGRP_EVENTS,
            })?;
        let sock = conn.into_sock();
        sock.set_timeout(Duration::ZERO)
            .map_err(|e| Error::io(op, "setsockopt SO_RCVTIMEO", e))?;
        if let Some(b) = rcvbuf {
            sock.set_rcvbuf(b)
                .map_err(|e| Error::io(op, "setsockopt SO_RCVBUF", e))?;
        }
        for g in [notify, group] {
            sock.join(g)
                .map_err(|e| Error::io(op, "setsockopt NETLINK_ADD_MEMBERSHIP", e))?;
        }
        debug!(
            "listening on multicast group {MCGRP_EVENTS} ({group}) of family {} and {CTRL_NAME}'s {CTRL_NOTIFY} ({notify})",
            family.id
        );
        Ok(Subscription {
            sock,
            events: Events::new(&family.name, family.id, group),
            buf: vec![0; RECV_BUF_LEN],
        })
    }
}

impl Subscription {
    /// The `events` multicast group id joined; `None` while the family is
    /// gone.
    pub fn group_id(&self) -> Option<u32> {
        self.events.group_id()
    }

    /// The family id followed; `None` while the family is gone.
    pub fn family_id(&self) -> Option<u16> {
        self.events.family_id()
    }

    /// The socket's netlink port id.
    pub fn port_id(&self) -> u32 {
        self.sock.pid()
    }

    /// The next item if one is available without waiting, else `None`.
    /// With [`AsRawFd`] this lets a program wait in its own `poll`.
    pub fn try_next(&mut self) -> Option<Result<Event, Error>> {
        self.next_item(true)
    }

    fn next_item(&mut self, nonblock: bool) -> Option<Result<Event, Error>> {
        loop {
            if let Some(item) = self.events.pop() {
                return Some(item);
            }
            let draining = self.events.draining();
            let flags = if nonblock || draining {
                libc::MSG_DONTWAIT
            } else {
                0
            };
            match self.sock.recv_datagram(&mut self.buf, flags) {
                Ok(d) => {
                    if log::log_enabled!(log::Level::Debug) {
                        debug!(
                            "recv {} bytes from port {}: {}",
                            d.len,
                            d.sender,
                            summarize(d.bytes)
                        );
                    }
                    self.events.on_datagram(d);
                    if let Some(g) = self.events.join_needed() {
                        debug!("joining the family's new events group {g}");
                        if let Err(e) = self.sock.join(g) {
                            self.events.on_error(Error::io(
                                Op::Subscribe,
                                "setsockopt NETLINK_ADD_MEMBERSHIP",
                                e,
                            ));
                        }
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.events.on_overrun(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && draining => {
                    self.events.on_drained()
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && nonblock => return None,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Some(Err(Error::io(Op::Subscribe, "recv", e))),
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

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;
    use genl_proto::Mode;

    #[test]
    fn json_lines() {
        let j = |e: Event| serde_json::to_string(&e).unwrap();
        assert_eq!(
            j(Event::ModeChanged(CaseEvent {
                mode: Mode::Upper,
                previous: Mode::None
            })),
            r#"{"event":"mode","mode":"upper","previous":"none"}"#
        );
        assert_eq!(j(Event::Overrun), r#"{"event":"overrun"}"#);
        assert_eq!(j(Event::FamilyRemoved), r#"{"event":"family_removed"}"#);
        assert_eq!(
            j(Event::FamilyAdded { id: 33, version: 1 }),
            r#"{"event":"family_added","id":33,"version":1}"#
        );
    }
}
