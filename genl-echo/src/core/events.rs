//! A subscription's items, in the order things happened.
//!
//! Input: the datagrams of a socket joined to the family's `events` group
//! and to the controller's `notify` group, an `ENOBUFS` report
//! ([`Events::on_overrun`]) and the end of the drain that follows it
//! ([`Events::on_drained`]). Output: [`Event`]s and errors in a bounded
//! queue, and the group id to join when the family comes back
//! ([`Events::join_needed`]).

use std::collections::VecDeque;

use genl_proto::consts::MCGRP_EVENTS;
use genl_proto::ctrl::{FamilyInfo, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, GENL_ID_CTRL};
use genl_proto::message::Reply;
use genl_proto::netlink::{self, NlMsg};
use genl_proto::{nla, CaseEvent, DecodeError};
use log::debug;

use super::{from_kernel, log_foreign, Datagram};
use crate::error::{Error, Op};
use crate::subscribe::Event;

/// `CTRL_CMD_DELFAMILY`.
pub(crate) const CTRL_CMD_DELFAMILY: u8 = 2;

/// How many items wait at most; beyond, events are dropped and an
/// [`Event::Overrun`] takes their place.
pub(crate) const QUEUE_CAP: usize = 4096;

/// The state of one subscription.
#[derive(Debug)]
pub(crate) struct Events {
    name: String,
    family: Option<u16>,
    group: Option<u32>,
    items: VecDeque<Result<Event, Error>>,
    cap: usize,
    draining: bool,
    /// Events were dropped because the queue was full: an `Overrun` is
    /// owed as soon as there is room.
    owed: bool,
    join: Option<u32>,
    /// Datagrams not from the kernel, dropped.
    pub(crate) foreign: u64,
}

impl Events {
    /// A subscription to family `name`, registered as `family` with its
    /// `events` group `group` (already joined).
    pub(crate) fn new(name: &str, family: u16, group: u32) -> Events {
        Events::with_capacity(name, family, group, QUEUE_CAP)
    }

    pub(crate) fn with_capacity(name: &str, family: u16, group: u32, cap: usize) -> Events {
        Events {
            name: name.to_owned(),
            family: Some(family),
            group: Some(group),
            items: VecDeque::new(),
            cap: cap.max(1),
            draining: false,
            owed: false,
            join: None,
            foreign: 0,
        }
    }

    /// The family id followed, `None` while the family is gone.
    pub(crate) fn family_id(&self) -> Option<u16> {
        self.family
    }

    /// The `events` group id, `None` while the family is gone.
    pub(crate) fn group_id(&self) -> Option<u32> {
        self.group
    }

    /// The next item, if one is ready.
    pub(crate) fn pop(&mut self) -> Option<Result<Event, Error>> {
        if let Some(item) = self.items.pop_front() {
            return Some(item);
        }
        if std::mem::take(&mut self.owed) {
            return Some(Ok(Event::Overrun));
        }
        None
    }

    /// Whether an item is ready.
    #[allow(dead_code)] // for the async front end and tests
    pub(crate) fn ready(&self) -> bool {
        !self.items.is_empty() || self.owed
    }

    /// Whether the front end is draining the socket after an overrun: it
    /// must read without blocking until the socket is empty, then call
    /// [`Events::on_drained`].
    pub(crate) fn draining(&self) -> bool {
        self.draining
    }

    /// The multicast group to join now (the family came back with a new
    /// `events` group); the `FamilyAdded` item is queued already, behind
    /// every earlier item.
    pub(crate) fn join_needed(&mut self) -> Option<u32> {
        self.join.take()
    }

    /// The socket reported `ENOBUFS`: events were dropped after the ones
    /// still queued in it, which are older than the loss.
    pub(crate) fn on_overrun(&mut self) {
        debug!("ENOBUFS on the subscription socket: draining");
        self.draining = true;
    }

    /// The socket is empty after [`Events::on_overrun`]: the `Overrun`
    /// item goes after every event that was drained.
    pub(crate) fn on_drained(&mut self) {
        if std::mem::take(&mut self.draining) {
            self.push(Ok(Event::Overrun));
        }
    }

    /// A receive error other than `ENOBUFS`, as an item in its place.
    pub(crate) fn on_error(&mut self, e: Error) {
        self.push(Err(e));
    }

    fn push(&mut self, item: Result<Event, Error>) {
        if self.owed && self.items.len() < self.cap {
            self.owed = false;
            self.items.push_back(Ok(Event::Overrun));
        }
        if self.items.len() >= self.cap {
            debug!("subscription queue full: dropped an item");
            self.owed = true;
            return;
        }
        if matches!(item, Ok(Event::Overrun))
            && matches!(self.items.back(), Some(Ok(Event::Overrun)))
        {
            return;
        }
        self.items.push_back(item);
    }

    /// Queues the items of datagram `d`.
    pub(crate) fn on_datagram(&mut self, d: Datagram<'_>) {
        let op = Op::Subscribe;
        if !from_kernel(d.sender) {
            self.foreign += 1;
            log_foreign("subscription", &d);
            return;
        }
        if d.truncated() {
            self.push(Err(Error::Truncated {
                op,
                len: d.len,
                buf: d.bytes.len(),
            }));
            return;
        }
        for m in netlink::messages(d.bytes) {
            match m {
                Ok(m) => self.on_message(&m),
                Err(source) => {
                    self.push(Err(Error::Decode { op, source }));
                    break;
                }
            }
        }
    }

    fn on_message(&mut self, m: &NlMsg<'_>) {
        if m.ty == GENL_ID_CTRL {
            self.on_ctrl(m);
            return;
        }
        if Some(m.ty) != self.family {
            debug!(
                "skipping a message of type {:#x} (following family {:?})",
                m.ty, self.family
            );
            return;
        }
        match CaseEvent::from_genl(m.payload) {
            Ok(ev) => self.push(Ok(Event::ModeChanged(ev))),
            Err(DecodeError::UnexpectedCmd { got, .. }) => {
                debug!("skipping notification with command {got}");
            }
            Err(source) => self.push(Err(Error::Decode {
                op: Op::Subscribe,
                source,
            })),
        }
    }

    /// A controller notification: only `NEWFAMILY` and `DELFAMILY` of the
    /// followed family's name matter.
    fn on_ctrl(&mut self, m: &NlMsg<'_>) {
        let Ok(g) = netlink::parse_genl(m.payload) else {
            debug!("skipping a short controller notification");
            return;
        };
        let cmd = g.cmd;
        if cmd != genl_proto::ctrl::CTRL_CMD_NEWFAMILY && cmd != CTRL_CMD_DELFAMILY {
            return;
        }
        let (name, id) = name_and_id(g.attrs);
        if name.as_deref() != Some(self.name.as_str()) {
            return;
        }
        if cmd == CTRL_CMD_DELFAMILY {
            debug!("family {} (id {id:?}) removed", self.name);
            self.family = None;
            self.group = None;
            self.join = None;
            self.push(Ok(Event::FamilyRemoved));
            return;
        }
        match FamilyInfo::from_attrs(g.attrs) {
            Ok(f) => {
                debug!(
                    "family {} back as id {} version {}",
                    f.name, f.id, f.version
                );
                self.family = Some(f.id);
                self.group = f.mcast_group(MCGRP_EVENTS);
                self.join = self.group;
                if self.group.is_none() {
                    self.push(Err(Error::NoGroup {
                        family: f.name.clone(),
                        group: MCGRP_EVENTS,
                    }));
                }
                self.push(Ok(Event::FamilyAdded {
                    id: f.id,
                    version: f.version,
                }));
            }
            Err(source) => self.push(Err(Error::Decode {
                op: Op::Subscribe,
                source,
            })),
        }
    }
}

/// `CTRL_ATTR_FAMILY_NAME` and `CTRL_ATTR_FAMILY_ID` of a controller
/// notification, as far as they can be read.
fn name_and_id(attrs: &[u8]) -> (Option<String>, Option<u16>) {
    let (mut name, mut id) = (None, None);
    for a in nla::attrs(attrs) {
        let Ok(a) = a else { break };
        match a.kind {
            CTRL_ATTR_FAMILY_NAME => {
                name = nla::get_cstr("CTRL_ATTR_FAMILY_NAME", a.payload)
                    .ok()
                    .map(str::to_owned)
            }
            CTRL_ATTR_FAMILY_ID => id = nla::get_u16("CTRL_ATTR_FAMILY_ID", a.payload).ok(),
            _ => {}
        }
    }
    (name, id)
}
