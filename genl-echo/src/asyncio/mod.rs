//! The async front end (feature `tokio`): [`AsyncClient`] and
//! [`AsyncSubscription`].
//!
//! # How it works
//!
//! An [`AsyncClient`] owns one generic netlink socket, shared by all its
//! clones, and **one background task** (spawned on the current tokio
//! runtime by [`AsyncClient::connect`]; it ends when the last clone is
//! dropped). A request future encodes its request into the client's queue
//! and wakes the task; the task sends every request queued since its last
//! send in **one** `sendmsg` (several netlink messages in one datagram, as
//! [`Pipeline`](crate::Pipeline) does), so many tasks calling one client
//! at once make batches. Generic netlink handles a request inside that
//! `sendmsg` and queues its reply at once; the task then reads every
//! queued datagram with `recvmmsg` (without blocking), hands them to the
//! library's protocol core, which matches each reply to its request by
//! sequence number and checks it (sender, port, type, lengths), and wakes
//! the futures whose replies came.
//!
//! * **Bounded memory.** A request future first takes its shares of the
//!   receive buffer (counted from the socket's `SO_RCVBUF`, as many as
//!   its reply's estimated size needs, [`reply_truesize`](crate::reply_truesize)),
//!   so the replies of everything queued and in flight always fit: the
//!   kernel does not drop them. Futures beyond that wait their turn (first
//!   come, first served). There is no unbounded queue or channel.
//! * **Cheap per request.** A request takes the client's lock twice (to
//!   queue it, and to take and decode its answer), allocates nothing but
//!   its result (answer buffers are reused), and costs the background task
//!   a share of one `sendmsg` and one `recvmmsg`. The socket is in the
//!   runtime's epoll set only while the task waits for a late reply, so the
//!   kernel does not wake epoll for every reply it queues.
//! * **Cancellation-safe.** A request future dropped before its reply (a
//!   `tokio::time::timeout`, a `select!`) is forgotten: not sent at all if
//!   it was still queued, its reply discarded (and counted as stale) if it
//!   was sent. A reply is only ever handed to the request whose sequence
//!   number it carries.
//! * **Timeouts.** A request whose reply is not there when the task has
//!   read the socket after sending it waits at most the client's timeout
//!   more ([`AsyncClient::set_timeout`], 10 s by default), then fails with
//!   [`Error::Timeout`](crate::Error::Timeout) and is cancelled as above;
//!   so does a request that waits longer than that for its share of the
//!   receive buffer. (Generic netlink answers inside the `sendmsg`, so the
//!   timer is almost never needed: a request costs no timer and no clock
//!   read.) For a deadline of your own, wrap the call in
//!   `tokio::time::timeout`: dropping the future is safe.
//! * **Lost replies.** If the kernel drops replies anyway (`ENOBUFS`, e.g.
//!   after `SO_RCVBUF` was lowered from outside), the task reads what is
//!   queued and every request still unanswered fails with
//!   [`Error::ReplyLost`](crate::Error::ReplyLost) (the request did run).
//! * **Module reloads.** A request the kernel refuses with `ENOENT` or
//!   `EOPNOTSUPP` because the family id went stale makes the client
//!   resolve the family again once and retry it;
//!   [`Error::NotRegistered`](crate::Error::NotRegistered) if the family
//!   is gone.
//!
//! An [`AsyncSubscription`] has a socket of its own and **no task**: it is
//! read when the stream is polled, so a slow consumer only delays its own
//! events (and gets [`Event::Overrun`](crate::Event::Overrun) if the kernel
//! drops some), never the client's replies.
//!
//! The runtime must have I/O and time enabled (`#[tokio::main]`, or
//! `Builder::enable_all()`), as for tokio's own sockets. Either runtime
//! flavour works; nothing blocks a runtime thread except `connect_netns`
//! (and `subscribe` of a client connected with it), which create their
//! sockets on a short-lived thread that enters the namespace.
//!
//! # Throughput
//!
//! Many tasks calling one client make batches: with 64 tasks each sending
//! one request at a time, a send carries about 64 requests on a
//! current-thread runtime and about 31 on a multi-thread runtime of 2
//! workers (there the background task yields once before it sends, so that
//! tasks running beside it can add theirs). Per request the client still costs a
//! task wake-up and poll and its bookkeeping, so a single thread sending
//! batches through [`Pipeline`](crate::Pipeline) does more requests per
//! second than the async client on one thread (docs/performance.md in the
//! repository has the figures); the async client is for programs whose
//! requests come from many tasks.

mod client;
mod driver;
mod state;
mod subscription;

pub use client::{AsyncClient, IoCounters};
pub use subscription::AsyncSubscription;
