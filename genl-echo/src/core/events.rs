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
            // An Overrun last in the queue already covers this loss.
            self.owed = !matches!(self.items.back(), Some(Ok(Event::Overrun)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::*;
    use genl_proto::Mode;
    use proptest::prelude::*;

    const NAME: &str = "genl_echo";

    fn ev(mode: u32, previous: u32) -> Event {
        Event::ModeChanged(CaseEvent {
            mode: Mode::from_wire(mode),
            previous: Mode::from_wire(previous),
        })
    }

    fn kernel(e: &mut Events, bytes: &[u8]) {
        e.on_datagram(Datagram::whole(0, bytes));
    }

    fn drain(e: &mut Events) -> Vec<Event> {
        std::iter::from_fn(|| e.pop()).map(|i| i.unwrap()).collect()
    }

    #[test]
    fn events_in_order() {
        let mut e = Events::new(NAME, FAM, 9);
        kernel(&mut e, &case_ntf(FAM, 1, 0));
        kernel(&mut e, &case_ntf(FAM, 2, 1));
        assert!(e.ready());
        assert_eq!(drain(&mut e), [ev(1, 0), ev(2, 1)]);
        assert!(!e.ready());
    }

    #[test]
    fn an_overrun_comes_after_the_events_queued_before_the_loss() {
        let mut e = Events::new(NAME, FAM, 9);
        kernel(&mut e, &case_ntf(FAM, 1, 0));
        // recv reports ENOBUFS before handing out what is still queued.
        e.on_overrun();
        assert!(e.draining());
        kernel(&mut e, &case_ntf(FAM, 2, 1));
        kernel(&mut e, &case_ntf(FAM, 0, 2));
        e.on_overrun(); // another loss while draining: one Overrun
        kernel(&mut e, &case_ntf(FAM, 1, 0));
        e.on_drained();
        assert!(!e.draining());
        kernel(&mut e, &case_ntf(FAM, 2, 1)); // after the loss
        assert_eq!(
            drain(&mut e),
            [
                ev(1, 0),
                ev(2, 1),
                ev(0, 2),
                ev(1, 0),
                Event::Overrun,
                ev(2, 1)
            ]
        );
        // on_drained without an overrun adds nothing.
        e.on_drained();
        assert!(e.pop().is_none());
    }

    #[test]
    fn family_removed_and_back_under_a_new_id() {
        let mut e = Events::new(NAME, FAM, 9);
        kernel(&mut e, &case_ntf(FAM, 1, 0));
        kernel(&mut e, &del_family(NAME, FAM));
        assert_eq!(e.family_id(), None);
        assert_eq!(e.group_id(), None);
        assert_eq!(e.join_needed(), None);
        // Nothing of the old id counts any more.
        kernel(&mut e, &case_ntf(FAM, 2, 1));
        kernel(&mut e, &new_family(NAME, FAM + 1, 2, 11));
        assert_eq!(e.join_needed(), Some(11));
        assert_eq!(e.join_needed(), None, "once");
        assert_eq!(e.family_id(), Some(FAM + 1));
        kernel(&mut e, &case_ntf(FAM, 2, 1));
        kernel(&mut e, &case_ntf(FAM + 1, 2, 0));
        assert_eq!(
            drain(&mut e),
            [
                ev(1, 0),
                Event::FamilyRemoved,
                Event::FamilyAdded {
                    id: FAM + 1,
                    version: 2
                },
                ev(2, 0)
            ]
        );
    }

    #[test]
    fn other_families_and_forgers_are_ignored() {
        let mut e = Events::new(NAME, FAM, 9);
        kernel(&mut e, &del_family("other", 0x30));
        kernel(&mut e, &new_family("other", 0x30, 1, 12));
        kernel(&mut e, &case_ntf(0x30, 1, 0));
        // A process with CAP_NET_ADMIN writing to the subscriber's port.
        e.on_datagram(Datagram::whole(1234, &case_ntf(FAM, 1, 0)));
        e.on_datagram(Datagram::whole(1234, &del_family(NAME, FAM)));
        e.on_datagram(Datagram::whole(1234, &new_family(NAME, 0x40, 1, 13)));
        assert!(e.pop().is_none());
        assert_eq!(e.join_needed(), None);
        assert_eq!(e.family_id(), Some(FAM));
        assert_eq!(e.foreign, 3);
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut e = Events::with_capacity(NAME, FAM, 9, 3);
        let mut d = Vec::new();
        for _ in 0..5 {
            d.extend_from_slice(&case_ntf(FAM, 1, 0));
        }
        d.extend_from_slice(&case_ntf(FAM, 2, 1));
        kernel(&mut e, &d);
        assert_eq!(e.items.len(), 3);
        assert_eq!(e.pop().unwrap().unwrap(), ev(1, 0));
        assert_eq!(e.pop().unwrap().unwrap(), ev(1, 0));
        // Room for the Overrun owed, then the new event.
        kernel(&mut e, &case_ntf(FAM, 0, 2));
        assert_eq!(drain(&mut e), [ev(1, 0), Event::Overrun, ev(0, 2)]);
        // Owed with nothing after it.
        kernel(&mut e, &d);
        assert_eq!(
            drain(&mut e),
            [ev(1, 0), ev(1, 0), ev(1, 0), Event::Overrun]
        );
        // Full with an Overrun last: a further loss folds into it.
        kernel(&mut e, &d);
        e.pop();
        e.pop();
        kernel(&mut e, &d); // [e, Overrun, e] then the rest dropped
        assert_eq!(
            drain(&mut e),
            [ev(1, 0), Event::Overrun, ev(1, 0), Event::Overrun]
        );
    }

    #[test]
    fn bad_datagrams_are_items_in_their_place() {
        let mut e = Events::new(NAME, FAM, 9);
        let big = case_ntf(FAM, 1, 0);
        e.on_datagram(Datagram {
            sender: 0,
            bytes: &big[..20],
            len: 5000,
        });
        let mut bad = case_ntf(FAM, 1, 0);
        bad[0] = 0xee;
        kernel(&mut e, &bad);
        kernel(&mut e, &case_ntf(FAM, 7, 0));
        assert!(matches!(
            e.pop(),
            Some(Err(Error::Truncated { len: 5000, .. }))
        ));
        assert!(matches!(e.pop(), Some(Err(Error::Decode { .. }))));
        // A newer module's mode is an event, not an error.
        assert_eq!(e.pop().unwrap().unwrap(), ev(7, 0));
        assert!(e.pop().is_none());
    }

    /// What the kernel does, in order.
    #[derive(Debug, Clone)]
    enum K {
        /// Sends an event (queued in the socket).
        Event(u8),
        /// Drops an event (receive buffer full).
        Drop,
        /// A forged event from a process.
        Forged(u8),
    }

    proptest! {
        /// Whatever the kernel queues, drops and a forger sends, and however
        /// the reads interleave: the events come out in the order sent,
        /// none forged, none twice; every loss is reported by an Overrun
        /// that comes after every event sent before the loss (a consumer
        /// that resyncs on Overrun has seen them all), and there is no
        /// Overrun without a loss.
        #[test]
        fn items_follow_the_kernel(
            script in proptest::collection::vec(
                prop_oneof![
                    (0u8..3).prop_map(K::Event),
                    Just(K::Drop),
                    (0u8..3).prop_map(K::Forged),
                ],
                0..60,
            ),
            reads in proptest::collection::vec(0usize..4, 60),
        ) {
            let mut e = Events::new(NAME, FAM, 9);
            // The socket: queued datagrams and a pending ENOBUFS.
            let mut queue: std::collections::VecDeque<(u32, Vec<u8>)> = Default::default();
            let mut err = false;
            let mut sent = Vec::new();
            // For each loss: how many events were sent before it.
            let mut losses = Vec::new();
            let mut got = Vec::new();
            let step = |e: &mut Events, queue: &mut std::collections::VecDeque<(u32, Vec<u8>)>, err: &mut bool| {
                // One read, as the front end does it: ENOBUFS first.
                if std::mem::take(err) {
                    e.on_overrun();
                } else if let Some((sender, d)) = queue.pop_front() {
                    e.on_datagram(Datagram::whole(sender, &d));
                } else if e.draining() {
                    e.on_drained();
                }
            };
            for (i, k) in script.iter().enumerate() {
                match k {
                    K::Event(m) => {
                        let m = u32::from(*m);
                        queue.push_back((0, case_ntf(FAM, m, (m + 1) % 3)));
                        sent.push(ev(m, (m + 1) % 3));
                    }
                    K::Drop => {
                        losses.push(sent.len());
                        err = true;
                    }
                    K::Forged(m) => queue.push_back((55, case_ntf(FAM, u32::from(*m), 0))),
                }
                for _ in 0..reads[i] {
                    step(&mut e, &mut queue, &mut err);
                    while let Some(item) = e.pop() {
                        got.push(item.unwrap());
                    }
                }
            }
            for _ in 0..200 {
                step(&mut e, &mut queue, &mut err);
                while let Some(item) = e.pop() {
                    got.push(item.unwrap());
                }
            }
            let events: Vec<Event> = got.iter().copied().filter(|i| *i != Event::Overrun).collect();
            prop_assert_eq!(&events, &sent);
            let overruns: Vec<usize> = got
                .iter()
                .enumerate()
                .filter(|(_, i)| **i == Event::Overrun)
                .map(|(pos, _)| got[..pos].iter().filter(|i| **i != Event::Overrun).count())
                .collect();
            prop_assert_eq!(losses.is_empty(), overruns.is_empty());
            for before in &losses {
                prop_assert!(
                    overruns.iter().any(|o| o >= before),
                    "a loss after {} events has no Overrun after them: {:?}", before, got
                );
            }
            prop_assert!(overruns.len() <= losses.len());
        }
    }
}
