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
//!   an item of its own ([`Event::Overrun`]);
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
pub mod error;
pub mod netns;
mod policy;
mod sock;
mod subscribe;

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
