//! A blocking client for the `genl_echo` generic netlink family.
//!
//! The kernel module `genl_echo` echoes a string back with its ASCII
//! letters converted according to a mode kept per network namespace,
//! counts what it did, and announces mode changes to the multicast group
//! `events`. This crate talks to it:
//!
//! * [`Client`]: connect (the family is resolved by name, which lets the
//!   kernel autoload an installed module), [`Client::echo`],
//!   [`Client::set_mode`], [`Client::get_mode`], [`Client::stats`],
//!   [`Client::family`], [`Client::policy`]; [`Client::connect_netns`] for
//!   another network namespace;
//! * [`Subscription`] ([`Client::subscribe`]): the `events` group as an
//!   iterator of `Result<Event, Error>`, where a receive buffer overrun is
//!   an item of its own ([`Event::Overrun`]), and so are the family going
//!   away and coming back ([`Event::FamilyRemoved`],
//!   [`Event::FamilyAdded`]);
//! * [`Pipeline`] ([`Client::pipeline`], [`Client::echo_batch`]): many
//!   requests in one `send`, replies drained with `recvmmsg`, every reply
//!   matched by sequence number and checked, lost replies counted;
//! * [`Error`]: one error type for all of it.
//!
//! The wire format is the [`proto`] crate (`genl-proto`), re-exported.
//! The socket is neli's `NlSocketHandle`; requests and replies go through
//! this crate's own buffers and genl-proto's length-checked decoders
//! (docs/neli.md in the repository lists the neli defects this avoids).
//! With the `serde` feature, replies, events and [`FamilyPolicy`]
//! implement `Serialize`.
//!
//! # What a long-running program can rely on
//!
//! * **One reply per request, its own.** Replies are matched by sequence
//!   number; a reply that arrives after its request was given up on (a
//!   timeout, an abandoned or failed batch) is skipped and counted
//!   ([`BatchOutcome::stale`] for a [`Pipeline`]), never handed to another
//!   request. A receive buffer overrun on a request socket fails only the
//!   requests whose reply the kernel dropped ([`Error::ReplyLost`]: such a
//!   request did run); an overrun left over from earlier replies is not
//!   charged to the next request.
//! * **Only the kernel is heard.** Every datagram's sender address is read;
//!   anything not from the kernel (port id 0) is dropped and logged at
//!   debug level, on every socket, whatever its headers say.
//! * **Events in order.** A [`Subscription`] yields events in the order the
//!   kernel sent them. The kernel reports a receive buffer overrun before
//!   the events still queued, which are older than the loss: the
//!   subscription first yields those, then [`Event::Overrun`], so a program
//!   that re-reads the mode on `Overrun` and applies the events after it
//!   ends in the right mode.
//! * **Module reloads.** A subscription also follows the controller's
//!   `notify` group: it yields [`Event::FamilyRemoved`] when the module is
//!   unloaded and [`Event::FamilyAdded`] when a family of the same name is
//!   registered again, after joining the new family's `events` group; the
//!   new family's events follow. A [`Client`] whose family id went stale
//!   (generic netlink answers `ENOENT` or `EOPNOTSUPP` for it) resolves the
//!   family by name again and retries the request once; if the family is
//!   not back, [`Error::NotRegistered`].
//! * **No panic, no unbounded memory** from any argument or reply.
//!
//! The matching, checking and ordering logic is one sans-IO core inside the
//! crate (no system call, clock or thread), which the front ends drive.
//!
//! # Example
//!
//! ```no_run
//! use genl_echo::{Client, Mode};
//!
//! let mut client = Client::connect()?;
//! let reply = client.echo(b"Hello")?;
//! println!("{} (mode {})", String::from_utf8_lossy(&reply.msg), reply.mode);
//! assert_eq!(client.get_mode()?, reply.mode);
//! # let _ = Mode::Upper;
//! # Ok::<(), genl_echo::Error>(())
//! ```
//!
//! # Async (feature `tokio`)
//!
#![cfg_attr(
    feature = "tokio",
    doc = "With the `tokio` feature (off by default), [`AsyncClient`] offers the
same requests as `async fn(&self, ..)`; it is `Clone + Send + Sync`,
its clones share one socket, and the requests of many tasks are
multiplexed on it and sent together in one `sendmsg`.
[`AsyncClient::subscribe`] gives an [`AsyncSubscription`], a
`futures_core::Stream` of the same items as [`Subscription`]. The
[`asyncio`] module tells how it works (one background task per client,
bounded memory, cancellation, timeouts).
"
)]
#![cfg_attr(
    not(feature = "tokio"),
    doc = "With the `tokio` feature (off by default), `AsyncClient` offers the
same requests as `async fn(&self, ..)`; it is `Clone + Send + Sync`,
its clones share one socket, and the requests of many tasks are
multiplexed on it and sent together in one `sendmsg`.
`AsyncClient::subscribe` gives an `AsyncSubscription`, a
`futures_core::Stream` of the same items as [`Subscription`]. The
`asyncio` module tells how it works (one background task per client,
bounded memory, cancellation, timeouts).
"
)]
//!
#![cfg_attr(feature = "tokio", doc = "```no_run")]
#![cfg_attr(not(feature = "tokio"), doc = "```ignore")]
//! use genl_echo::{AsyncClient, Event};
//!
//! # async fn demo() -> Result<(), genl_echo::Error> {
//! let client = AsyncClient::connect().await?;
//! let mut events = client.subscribe().await?;
//! // Eight echoes at once: they go out in one send.
//! let replies = (0..8).map(|i| {
//!     let c = client.clone();
//!     tokio::spawn(async move { c.echo(format!("echo {i}").as_bytes()).await })
//! });
//! for r in replies {
//!     let reply = r.await.expect("task")?;
//!     println!("{}", String::from_utf8_lossy(&reply.msg));
//! }
//! client.set_mode(genl_echo::Mode::Upper).await?;
//! let next = std::future::poll_fn(|cx| {
//!     futures_core::Stream::poll_next(std::pin::Pin::new(&mut events), cx)
//! });
//! if let Some(Ok(Event::ModeChanged(e))) = next.await {
//!     println!("mode {} -> {}", e.previous, e.mode);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Errors are typed, so a program can tell the cases apart:
//!
//! ```no_run
//! use genl_echo::{Client, Error, Mode};
//!
//! match Client::connect().and_then(|mut c| c.set_mode(Mode::Upper)) {
//!     Ok(r) => println!("{} -> {}", r.previous, r.mode),
//!     Err(Error::NotRegistered { .. }) => eprintln!("load the module first"),
//!     Err(Error::PermissionDenied { .. }) => eprintln!("needs CAP_NET_ADMIN"),
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```

#![deny(missing_docs)]

pub use genl_proto as proto;

pub use genl_proto::ctrl::FamilyInfo;
pub use genl_proto::{CaseEvent, CaseReply, EchoReply, Mode, Stats};

mod batch;
mod client;
mod conn;
mod core;
pub mod error;
pub mod netns;
mod policy;
mod sock;
mod subscribe;

#[cfg(feature = "tokio")]
pub mod asyncio;
#[cfg(feature = "tokio")]
pub use asyncio::{AsyncClient, AsyncSubscription, IoCounters};

pub use batch::{
    reply_truesize, BatchOutcome, BatchReplies, Pipeline, PipelineOptions, MAX_BATCH_BYTES,
};
pub use client::Client;
pub use conn::{DEFAULT_TIMEOUT, RECV_BUF_LEN};
pub use error::{Error, Mismatch, Op};
pub use policy::{AttrInfo, Controller, FamilyPolicy, OpInfo, PolicyInfo};
pub use subscribe::{Event, Subscription};

#[cfg(test)]
mod tests {
    /// A client, a subscription and an error can move to another thread.
    #[test]
    fn send_types() {
        fn is_send<T: Send>() {}
        is_send::<crate::Client>();
        is_send::<crate::Subscription>();
        is_send::<crate::Controller>();
        is_send::<crate::Error>();
    }
}

/// The README's example, compiled (and run where it can run) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
