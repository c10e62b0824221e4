//! [`AsyncClient`]: requests from many tasks on one socket.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use genl_proto::consts::FAMILY_NAME;
use genl_proto::ctrl::{self, FamilyInfo, PolicyDump};
use genl_proto::error::EncodeError;
use genl_proto::message::{echo_reply_len, Reply};
use genl_proto::{CaseReply, EchoReply, Mode, ModeReply, Request, Stats};
use tokio::sync::Notify;

use crate::batch::{reply_truesize, MAX_BATCH_BYTES};
use crate::conn::DEFAULT_TIMEOUT;
use crate::core::family;
use crate::core::requests::{Answer, Kind, Requests};
use crate::error::{Error, Op};
use crate::netns::Netns;
use crate::policy::FamilyPolicy;
use crate::sock::Sock;

use super::state::{dump_payloads, Closed, State};

/// The receive (and send) buffer an async client asks for: the kernel
/// doubles it; without CAP_NET_ADMIN it is capped by `net.core.rmem_max`
/// (`wmem_max`). Every reply in flight must fit in it.
const SOCKET_BUF: usize = 2 << 20;

/// The most datagrams the task reads in one `recvmmsg`; each slot is a
/// [`RECV_BUF_LEN`](crate::RECV_BUF_LEN) buffer, of which only the pages
/// replies were written to become resident.
const MAX_RECV_SLOTS: usize = 64;

/// Buffers of answered requests the client keeps for reuse: enough for
/// many tasks' requests in flight at once to allocate nothing (each is
/// kept only if small).
const SPARES: usize = 256;

/// Receive-buffer shares are counted in units of this many bytes.
const UNIT: usize = 256;

/// A reply of `GET_CASE`, `SET_CASE`, `STATS` or an error reply: at most this long.
const SMALL_REPLY: usize = 512;
/// A `CTRL_CMD_GETFAMILY` reply: at most this long (one page).
const FAMILY_REPLY: usize = 4096;
/// One datagram of a dump: the kernel makes them at most 32 KiB.
const DUMP_DATAGRAM: usize = 32 << 10;

/// Locks `m`, also if a thread panicked while holding it (the state is
/// only changed in steps that leave it consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The family as last resolved, and how many times it was.
#[derive(Debug)]
struct Family {
    info: FamilyInfo,
    generation: u64,
}

/// What the client's clones and its background task share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// Wakes the background task: requests were queued, or the last
    /// client was dropped.
    pub(crate) notify: Notify,
    /// Every [`AsyncClient`] clone is gone: the task ends.
    pub(crate) gone: AtomicBool,
    /// Shares of the receive buffer ([`UNIT`] bytes each), kept in `state`.
    total_units: usize,
    /// The largest datagram the task sends (`SO_SNDBUF` allows it).
    pub(crate) max_send: usize,
    port: u32,
    rcvbuf: usize,
    family: Mutex<Option<Family>>,
    /// The family's id and generation as in `family`, for requests to read
    /// without the lock: `generation << 16 | id`.
    family_id: AtomicU64,
    netns: Option<Arc<Netns>>,
}

impl Shared {
    /// Sets the family (under its lock, held by the caller).
    fn set_family(&self, f: &mut Option<Family>, info: FamilyInfo, generation: u64) {
        self.family_id
            .store(generation << 16 | u64::from(info.id), Ordering::Release);
        *f = Some(Family { info, generation });
    }
}

/// Owned by the clones; its drop (the last clone's) ends the task.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.gone.store(true, Ordering::Release);
        self.shared.notify.notify_one();
    }
}

/// An async client of the `genl_echo` family (feature `tokio`).
///
/// The methods are those of the blocking [`Client`](crate::Client), as
/// `async fn(&self, ..)`, with the same argument and result types. The
/// client is `Clone + Send + Sync`: clones share one socket, and any
/// number of tasks may call it at once; their requests are multiplexed by
/// sequence number and sent in batches. See [the module
/// documentation](crate::asyncio) for the background task, the memory
/// bound, cancellation and timeouts.
///
/// ```no_run
/// # async fn demo() -> Result<(), genl_echo::Error> {
/// use genl_echo::AsyncClient;
///
/// let client = AsyncClient::connect().await?;
/// let tasks: Vec<_> = (0..8)
///     .map(|i| {
///         let c = client.clone();
///         tokio::spawn(async move { c.echo(format!("hello {i}").as_bytes()).await })
///     })
///     .collect();
/// for t in tasks {
///     let reply = t.await.expect("task")?;
///     println!("{}", String::from_utf8_lossy(&reply.msg));
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncClient {
    handle: Arc<Handle>,
    timeout: Duration,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.handle.shared;
        f.debug_struct("AsyncClient")
            .field("family", &self.family())
            .field("port", &s.port)
            .field("rcvbuf", &s.rcvbuf)
            .field("timeout", &self.timeout)
            .field("netns", &s.netns)
            .finish_non_exhaustive()
    }
}

/// Counts of what an [`AsyncClient`]'s socket did, since it connected
/// (all clones together). [`AsyncClient::io_counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoCounters {
    /// Requests sent.
    pub requests: u64,
    /// `sendmsg` calls: each carries every request queued since the
    /// previous one, so `requests / sends` is the mean batch.
    pub sends: u64,
    /// `recvmmsg` calls (those that found nothing queued included).
    pub receives: u64,
    /// Datagrams received.
    pub datagrams: u64,
    /// Replies to requests whose caller had given up (a dropped future,
    /// a timeout), discarded.
    pub stale: u64,
    /// Datagrams not sent by the kernel, dropped.
    pub foreign: u64,
    /// Receive buffer overruns (`ENOBUFS`).
    pub overruns: u64,
    /// Requests failed with [`Error::ReplyLost`].
    pub lost: u64,
}

/// How a request is made and its reply expected.
struct Call {
    op: Op,
    kind: Kind,
    /// The largest reply datagram expected.
    reply_len: usize,
}

impl AsyncClient {
    /// Opens a socket in the calling thread's network namespace, starts
    /// the client's background task on the current tokio runtime and
    /// resolves the `genl_echo` family by name (`CTRL_CMD_GETFAMILY`,
    /// which lets the kernel autoload an installed module).
    ///
    /// Fails with [`Error::NotRegistered`] if the family does not exist,
    /// and with [`Error::Io`] (`call` `"tokio runtime"`) outside a tokio
    /// runtime.
    pub async fn connect() -> Result<AsyncClient, Error> {
        AsyncClient::connect_in(None).await
    }

    /// Like [`AsyncClient::connect`], in the network namespace at `path`
    /// (see [`Client::connect_netns`](crate::Client::connect_netns)). The
    /// socket is created on a short-lived thread that enters the
    /// namespace; the calling thread stays where it is.
    pub async fn connect_netns(path: impl AsRef<Path>) -> Result<AsyncClient, Error> {
        let ns = Arc::new(Netns::open(path.as_ref())?);
        AsyncClient::connect_in(Some(ns)).await
    }

    async fn connect_in(netns: Option<Arc<Netns>>) -> Result<AsyncClient, Error> {
        let client = AsyncClient::open(netns)?;
        let info = client.resolve().await?;
        let shared = &client.handle.shared;
        shared.set_family(&mut lock(&shared.family), info, 0);
        Ok(client)
    }

    /// The socket and the background task, the family not resolved yet.
    fn open(netns: Option<Arc<Netns>>) -> Result<AsyncClient, Error> {
        let op = Op::Connect;
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|e| Error::io(op, "tokio runtime", std::io::Error::other(e.to_string())))?;
        let sock = Sock::open_request(netns.as_deref(), DEFAULT_TIMEOUT)?;
        sock.set_nonblocking()
            .map_err(|e| Error::io(op, "fcntl O_NONBLOCK", e))?;
        // Best effort: the kernel caps them without CAP_NET_ADMIN, and the
        // shares below follow what it granted.
        let _ = sock.set_buf(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, SOCKET_BUF);
        let _ = sock.set_buf(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, SOCKET_BUF);
        let rcvbuf = sock
            .get_int(libc::SO_RCVBUF)
            .map_err(|e| Error::io(op, "getsockopt SO_RCVBUF", e))?;
        let sndbuf = sock
            .get_int(libc::SO_SNDBUF)
            .map_err(|e| Error::io(op, "getsockopt SO_SNDBUF", e))?;
        let port = sock.pid();
        // At least one share for the largest reply, however small the buffer.
        let total_units = (rcvbuf / UNIT).max(units(reply_truesize(
            DUMP_DATAGRAM.max(genl_proto::consts::ECHO_REPLY_MAX),
        )));
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(
                Requests::new(port, initial_seq()).with_spares(SPARES),
                total_units,
            )),
            notify: Notify::new(),
            gone: AtomicBool::new(false),
            total_units,
            max_send: sndbuf.saturating_sub(64).clamp(4096, MAX_BATCH_BYTES),
            port,
            rcvbuf,
            family: Mutex::new(None),
            family_id: AtomicU64::new(0),
            netns,
        });
        // Registered here, in the caller's runtime context (a runtime
        // without I/O is found at connect, as by tokio's own sockets); the
        // task keeps the registration only while it waits for the socket.
        let polled = super::driver::register(&sock).map_err(|e| Error::io(op, "epoll_ctl", e))?;
        let slots = (rcvbuf / reply_truesize(64)).clamp(1, MAX_RECV_SLOTS);
        let beside = !matches!(
            rt.runtime_flavor(),
            tokio::runtime::RuntimeFlavor::CurrentThread
        );
        rt.spawn(super::driver::run(
            shared.clone(),
            sock,
            polled,
            slots,
            beside,
        ));
        Ok(AsyncClient {
            handle: Arc::new(Handle { shared }),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// What the controller reported about the family when it was last
    /// resolved (when connecting, or again after a module reload): id,
    /// version, operations, multicast groups. An owned copy, since a
    /// reload may change it.
    pub fn family(&self) -> FamilyInfo {
        lock(&self.handle.shared.family)
            .as_ref()
            .map(|f| f.info.clone())
            .unwrap_or_else(|| FamilyInfo {
                id: 0,
                name: FAMILY_NAME.to_owned(),
                version: 0,
                hdrsize: 0,
                maxattr: 0,
                ops: Vec::new(),
                mcast_groups: Vec::new(),
            })
    }

    /// The socket's netlink port id.
    pub fn port_id(&self) -> u32 {
        self.handle.shared.port
    }

    /// `SO_RCVBUF` as the kernel set it: the replies of every request in
    /// flight fit in it.
    pub fn rcvbuf(&self) -> usize {
        self.handle.shared.rcvbuf
    }

    /// Counts of what the socket did, over all clones.
    pub fn io_counters(&self) -> IoCounters {
        let st = lock(&self.handle.shared.state);
        let c = st.core().counters();
        IoCounters {
            requests: st.io.requests,
            sends: st.io.sends,
            receives: st.io.receives,
            datagrams: st.io.datagrams,
            stale: c.stale,
            foreign: c.foreign,
            overruns: c.overruns,
            lost: c.lost,
        }
    }

    /// Sets how long each request of this clone (and of clones made from
    /// it afterwards) waits for a reply that was not there right after it
    /// was sent, or for its share of the receive buffer:
    /// [`Error::Timeout`] after that (see [the module
    /// documentation](crate::asyncio)). A zero duration waits forever.
    /// 10 s by default.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Echoes `msg` (at most `GENL_ECHO_MSG_MAX` = 65530 bytes, no NUL):
    /// see [`Client::echo`](crate::Client::echo).
    pub async fn echo(&self, msg: &[u8]) -> Result<EchoReply, Error> {
        let call = Call {
            op: Op::Echo,
            kind: Kind::Do,
            reply_len: echo_reply_len(msg.len()),
        };
        self.family_call(call, Request::Echo(msg)).await
    }

    /// Sets the namespace's mode: see [`Client::set_mode`](crate::Client::set_mode).
    pub async fn set_mode(&self, mode: Mode) -> Result<CaseReply, Error> {
        self.family_call(small(Op::SetMode), Request::SetCase(mode))
            .await
    }

    /// The namespace's current mode.
    pub async fn get_mode(&self) -> Result<Mode, Error> {
        self.family_call::<ModeReply>(small(Op::GetMode), Request::GetCase)
            .await
            .map(|r| r.mode)
    }

    /// The namespace's counters and mode.
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.family_call(small(Op::Stats), Request::Stats).await
    }

    /// The family's operations with their attribute policies
    /// (`CTRL_CMD_GETPOLICY`): see [`Client::policy`](crate::Client::policy).
    pub async fn policy(&self) -> Result<FamilyPolicy, Error> {
        let op = Op::Policy;
        let family = self.family();
        let call = Call {
            op,
            kind: Kind::Dump,
            reply_len: DUMP_DATAGRAM,
        };
        let id = family.id;
        let parse = |answer: &Answer| {
            let mut dump = PolicyDump::default();
            for payload in dump_payloads(answer) {
                let payload = payload.map_err(Error::decode(op))?;
                dump.add_genl(payload).map_err(Error::decode(op))?;
            }
            Ok(dump)
        };
        let dump = self
            .request(
                &call,
                move |out| ctrl::encode_getpolicy(id, None, 0, out),
                parse,
            )
            .await??;
        Ok(FamilyPolicy::new(&family, &dump))
    }

    /// Resolves the family by name through this client's socket.
    async fn resolve(&self) -> Result<FamilyInfo, Error> {
        self.resolve_name(FAMILY_NAME).await
    }

    /// Resolves family `name` (`CTRL_CMD_GETFAMILY` by name) through this
    /// client's socket; ENOENT is [`Error::NotRegistered`].
    pub(crate) async fn resolve_name(&self, name: &str) -> Result<FamilyInfo, Error> {
        let op = Op::ResolveFamily;
        let call = Call {
            op,
            kind: Kind::Do,
            reply_len: FAMILY_REPLY,
        };
        let decode = |a: &Answer| FamilyInfo::from_nlmsg(a.message()).map_err(Error::decode(op));
        match self
            .request(&call, |out| ctrl::encode_getfamily(name, 0, out), decode)
            .await
        {
            Ok(r) => r,
            Err(Error::Kernel { errno, .. }) if errno == libc::ENOENT => {
                Err(Error::NotRegistered {
                    family: name.to_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The network namespace the client's sockets are made in, if not the caller's.
    pub(crate) fn netns(&self) -> Option<&Netns> {
        self.handle.shared.netns.as_deref()
    }

    /// Resolves the family again after a request found its id stale,
    /// unless another request did so since `generation`.
    async fn reresolve(&self, generation: u64) -> Result<(), Error> {
        let info = self.resolve().await?;
        let shared = &self.handle.shared;
        let mut f = lock(&shared.family);
        match f.as_ref() {
            Some(old) if old.generation != generation => {}
            old => {
                if let Some(old) = old {
                    log::debug!(
                        "family {FAMILY_NAME} resolved again: id {} -> {}",
                        old.info.id,
                        info.id
                    );
                }
                shared.set_family(&mut f, info, generation + 1);
            }
        }
        Ok(())
    }

    fn family_id(&self) -> (u16, u64) {
        let v = self.handle.shared.family_id.load(Ordering::Acquire);
        ((v & 0xffff) as u16, v >> 16)
    }

    /// A request of the family: sent with the current family id; if the
    /// kernel says the id is stale, resolved again and retried once.
    async fn family_call<T: Reply>(&self, call: Call, req: Request<'_>) -> Result<T, Error> {
        // Checked before anything is queued (encode checks too).
        req.validate().map_err(|e| Error::encode(call.op, e))?;
        let op = call.op;
        let decode = |a: &Answer| T::from_nlmsg(a.message()).map_err(Error::decode(op));
        let (id, generation) = self.family_id();
        match self
            .request(&call, |out| req.encode(id, 0, out), decode)
            .await
        {
            Err(e) if family::after_error(&e, false) == family::Next::Reresolve => {
                log::debug!("{op}: family id {id} looks stale ({e}): resolving again");
                self.reresolve(generation).await?;
                let (id, _) = self.family_id();
                self.request(&call, |out| req.encode(id, 0, out), decode)
                    .await?
            }
            r => r?,
        }
    }

    /// Queues one request, encoded by `encode` with sequence number 0, and
    /// waits for its answer (at most the timeout), which `decode` turns
    /// into the result.
    async fn request<R>(
        &self,
        call: &Call,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
        decode: impl FnOnce(&Answer) -> R,
    ) -> Result<R, Error> {
        let shared = &self.handle.shared;
        Waiting {
            shared,
            units: units(reply_truesize(call.reply_len)).min(shared.total_units),
            encode: Some(encode),
            decode: Some(decode),
            ticket: None,
            done: false,
            op: call.op,
            kind: call.kind,
            timeout: self.timeout,
            timer: None,
        }
        .await
    }
}

fn small(op: Op) -> Call {
    Call {
        op,
        kind: Kind::Do,
        reply_len: SMALL_REPLY,
    }
}

/// Shares of [`UNIT`] bytes for `bytes`, rounded up.
fn units(bytes: usize) -> usize {
    bytes.div_ceil(UNIT).max(1)
}

fn initial_seq() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(1)
}

/// A request's caller; dropping it cancels the request.
///
/// Its first poll takes its shares of the receive buffer (or, if there are
/// not enough free, waits for them after the callers that came before it),
/// then queues the request (encoded into the client's queue) and wakes the
/// background task; the answer is decoded where it lies and its buffers
/// go back to the core. All of it under the state's one lock, once per
/// step.
///
/// Its timeout starts only once the request is late (sent, and not
/// answered in the receive round that followed; the background task wakes
/// it then), or when it has to wait for its shares: generic netlink
/// answers a request inside the `sendmsg` that carries it, so nearly every
/// request is answered before, and costs neither a timer nor a clock read
/// (which under emulation can cost as much as a round trip). A request is
/// never failed with [`Error::Timeout`] before its timeout has passed.
struct Waiting<'a, E, D> {
    shared: &'a Shared,
    /// Shares of the receive buffer its reply needs.
    units: usize,
    /// The request's encoder, until it is queued.
    encode: Option<E>,
    decode: Option<D>,
    /// Set by the first poll.
    ticket: Option<u64>,
    done: bool,
    op: Op,
    kind: Kind,
    timeout: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

// No field is pinned (the timer is boxed).
impl<E, D> Unpin for Waiting<'_, E, D> {}

/// What one step of a [`Waiting`] came to.
enum Step<R> {
    Done(Result<R, Error>),
    /// Waiting for the answer; `wake_task`: the request was queued first,
    /// the background task needs waking.
    Pending {
        wake_task: bool,
    },
    /// Waiting, with the timeout running: the request is late, or waits
    /// for its shares of the receive buffer.
    Late,
}

impl<E, D, R> Waiting<'_, E, D>
where
    E: FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    D: FnOnce(&Answer) -> R,
{
    /// One step, under the state's lock.
    fn step(&mut self, st: &mut State, waker: &Waker) -> Step<R> {
        let ticket = match self.ticket {
            Some(t) => t,
            None => match st.begin(self.op, self.units, waker) {
                Ok((t, _)) => {
                    self.ticket = Some(t);
                    t
                }
                Err(e) => return Step::Done(Err(e)),
            },
        };
        if self.encode.is_some() && st.has_room(ticket) {
            if let Some(encode) = self.encode.take() {
                // The wait for its shares is over: a timeout from here on
                // counts from when it is late.
                self.timer = None;
                return match st.enqueue(ticket, self.kind, encode, waker) {
                    Ok(first) => Step::Pending { wake_task: first },
                    Err(e) => Step::Done(Err(e)),
                };
            }
        }
        match st.poll(ticket, waker) {
            Poll::Ready(r) => Step::Done(r.and_then(|a| {
                let out = self.decode.take().map(|decode| decode(&a));
                st.recycle(a);
                out.ok_or_else(|| Closed::Stopped.error(self.op))
            })),
            // Still waiting for its shares, or late.
            Poll::Pending if self.encode.is_some() || st.is_late(ticket) => Step::Late,
            Poll::Pending => Step::Pending { wake_task: false },
        }
    }
}

impl<E, D, R> Future for Waiting<'_, E, D>
where
    E: FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    D: FnOnce(&Answer) -> R,
{
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.done {
            // Polled after it completed: an answer, not a panic.
            return Poll::Ready(Err(Closed::Stopped.error(this.op)));
        }
        let step = {
            let mut st = lock(&this.shared.state);
            this.step(&mut st, cx.waker())
        };
        match step {
            Step::Done(r) => {
                this.done = true;
                return Poll::Ready(r);
            }
            Step::Pending { wake_task } => {
                if wake_task {
                    this.shared.notify.notify_one();
                }
                return Poll::Pending;
            }
            Step::Late => {}
        }
        if this.timer.is_none() && !this.timeout.is_zero() {
            this.timer = Some(Box::pin(tokio::time::sleep(this.timeout)));
        }
        if let Some(t) = this.timer.as_mut() {
            if t.as_mut().poll(cx).is_ready() {
                // Dropping the future cancels the request: its reply, if
                // it comes, is stale.
                return Poll::Ready(Err(Error::Timeout {
                    op: this.op,
                    after: this.timeout,
                }));
            }
        }
        Poll::Pending
    }
}

impl<E, D> Drop for Waiting<'_, E, D> {
    fn drop(&mut self) {
        if let (false, Some(ticket)) = (self.done, self.ticket) {
            lock(&self.shared.state).cancel(ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn client_is_send_sync_and_its_futures_are_send() {
        assert_send_sync::<AsyncClient>();
        assert_send_sync::<IoCounters>();
        // The futures of every method can move between runtime threads.
        #[allow(unused)]
        fn futures(c: &AsyncClient) {
            assert_send(&c.echo(b"x"));
            assert_send(&c.set_mode(Mode::Upper));
            assert_send(&c.get_mode());
            assert_send(&c.stats());
            assert_send(&c.policy());
            assert_send(&AsyncClient::connect());
            assert_send(&AsyncClient::connect_netns("/x"));
            assert_send(&c.subscribe());
        }
    }

    #[test]
    fn shares_round_up() {
        assert_eq!(units(1), 1);
        assert_eq!(units(UNIT), 1);
        assert_eq!(units(UNIT + 1), 2);
        // A 16-byte echo's reply takes 4 shares; the largest reply fits.
        assert_eq!(units(reply_truesize(echo_reply_len(16))), 4);
    }

    // The tests below use the host kernel's generic netlink controller
    // (nlctrl), which every Linux kernel has: no module needed.

    fn runtime(multi: bool) -> tokio::runtime::Runtime {
        if multi {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        }
    }

    /// Many tasks resolving families at once on one client: every answer
    /// is the one asked for, and concurrent requests share sends.
    async fn concurrent_lookups(client: AsyncClient, tasks: usize, each: usize) {
        let mut set = tokio::task::JoinSet::new();
        for t in 0..tasks {
            let c = client.clone();
            set.spawn(async move {
                for i in 0..each {
                    // Alternate between two families so a mixed-up answer shows.
                    let (name, id) = if (t + i) % 2 == 0 {
                        ("nlctrl", genl_proto::ctrl::GENL_ID_CTRL)
                    } else {
                        ("nosuchfamily", 0)
                    };
                    match c.resolve_name(name).await {
                        Ok(f) => assert_eq!((f.name.as_str(), f.id), (name, id)),
                        Err(Error::NotRegistered { family }) => {
                            assert_eq!((family.as_str(), id), (name, 0))
                        }
                        Err(e) => panic!("{name}: {e}"),
                    }
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    }

    #[test]
    fn many_tasks_share_one_socket_and_each_gets_its_answer() {
        for multi in [false, true] {
            runtime(multi).block_on(async {
                let client = AsyncClient::open(None).unwrap();
                concurrent_lookups(client.clone(), 32, 20).await;
                let c = client.io_counters();
                assert_eq!(c.requests, 32 * 20, "{c:?}");
                // On one thread the tasks queue while the task is not
                // running: batches. (On several, whether requests meet in
                // a send depends on timing.)
                if !multi {
                    assert!(c.sends < c.requests, "batched: {c:?}");
                }
                assert_eq!(
                    (c.stale, c.foreign, c.lost, c.overruns),
                    (0, 0, 0, 0),
                    "{c:?}"
                );
            });
        }
    }

    #[test]
    fn cancelled_and_timed_out_requests_leave_the_client_consistent() {
        for multi in [false, true] {
            runtime(multi).block_on(async {
                let client = AsyncClient::open(None).unwrap();
                let mut hasty = client.clone();
                hasty.set_timeout(Duration::from_nanos(1));
                let mut set = tokio::task::JoinSet::new();
                for t in 0..16 {
                    let hasty = hasty.clone();
                    set.spawn(async move {
                        for i in 0..50 {
                            match hasty.resolve_name("nlctrl").await {
                                Ok(f) => assert_eq!(f.name, "nlctrl"),
                                Err(Error::Timeout { op, after }) => {
                                    assert_eq!(
                                        (op, after),
                                        (Op::ResolveFamily, Duration::from_nanos(1))
                                    )
                                }
                                Err(e) => panic!("{e}"),
                            }
                            // And futures dropped at every point of their life.
                            let f = hasty.resolve_name("nlctrl");
                            let _ =
                                tokio::time::timeout(Duration::from_micros((t * i) % 7), f).await;
                        }
                    });
                }
                while let Some(r) = set.join_next().await {
                    r.unwrap();
                }
                // Every request after the storm gets its own answer.
                concurrent_lookups(client.clone(), 8, 10).await;
                let c = client.io_counters();
                assert_eq!((c.foreign, c.lost, c.overruns), (0, 0, 0), "{c:?}");
                // Nothing is left waiting, in the front end or in the core.
                let st = lock(&client.handle.shared.state);
                assert_eq!((st.callers(), st.core().in_flight()), (0, 0));
            });
        }
    }

    #[test]
    fn the_task_ends_with_the_last_clone_and_survives_none() {
        let rt = runtime(false);
        let client = rt.block_on(async { AsyncClient::open(None).unwrap() });
        let shared = client.handle.shared.clone();
        let other = client.clone();
        drop(client);
        assert!(!shared.gone.load(Ordering::Acquire));
        drop(other);
        assert!(shared.gone.load(Ordering::Acquire));
        // The task sees it and ends, dropping its reference.
        rt.block_on(async {
            for _ in 0..100 {
                if Arc::strong_count(&shared) == 1 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("the background task did not end");
        });
    }

    #[test]
    fn requests_fail_instead_of_hanging_once_the_runtime_is_gone() {
        let client = runtime(false).block_on(async { AsyncClient::open(None).unwrap() });
        // The runtime (and the task) is gone: a request in another one
        // fails at once.
        runtime(false).block_on(async {
            match client.resolve_name("nlctrl").await {
                Err(Error::Io { call, .. }) => assert_eq!(call, "async driver"),
                r => panic!("{r:?}"),
            }
        });
    }

    /// Shared state with no socket and no task: the test plays the task.
    fn bare_shared() -> Shared {
        Shared {
            state: Mutex::new(State::new(Requests::new(77, 1000), 8)),
            notify: Notify::new(),
            gone: AtomicBool::new(false),
            total_units: 8,
            max_send: 1 << 20,
            port: 77,
            rcvbuf: 8 * UNIT,
            family: Mutex::new(None),
            family_id: AtomicU64::new(0),
            netns: None,
        }
    }

    /// A current-thread runtime with time only, its clock paused.
    fn paused_runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    type Encode = fn(&mut Vec<u8>) -> Result<(), EncodeError>;
    type Decode = fn(&Answer) -> Result<ModeReply, genl_proto::DecodeError>;

    /// A caller of GET_CASE needing `units` shares, as `request` makes it.
    fn get_mode(shared: &Shared, units: usize, timeout: Duration) -> Waiting<'_, Encode, Decode> {
        Waiting {
            shared,
            units,
            encode: Some(|out| Request::GetCase.encode(0x20, 0, out)),
            decode: Some(|a| ModeReply::from_nlmsg(a.message())),
            ticket: None,
            done: false,
            op: Op::GetMode,
            kind: Kind::Do,
            timeout,
            timer: None,
        }
    }

    /// The driver's part: sends what is queued, feeds `replies` (for the
    /// sequence numbers sent, in order) and ends the round. Returns how
    /// many callers it woke.
    fn serve(shared: &Shared, replies: usize) -> usize {
        let (mut tx, mut sent, mut wake) = (Vec::new(), Vec::new(), Vec::new());
        let mut st = lock(&shared.state);
        st.take_batch(&mut tx, &mut sent, usize::MAX);
        for &(_, seq) in sent.iter().take(replies) {
            let r = crate::core::testutil::mode_reply(seq, 1);
            st.on_datagram(crate::core::Datagram {
                sender: 0,
                bytes: &r,
                len: r.len(),
            });
        }
        st.collect_ready(&mut wake);
        wake.len()
    }

    #[test]
    fn a_late_request_times_out_and_is_cancelled() {
        let rt = paused_runtime();
        rt.block_on(async {
            let shared = bare_shared();
            let mut w = std::pin::pin!(get_mode(&shared, 1, Duration::from_secs(3)));
            let start = tokio::time::Instant::now();
            // Queued, then sent: no timer yet.
            assert!(futures_poll(w.as_mut()).is_pending());
            assert!(lock(&shared.state).has_queued());
            assert!(w.timer.is_none());
            // The round ends without its reply: late, woken, timer armed.
            assert_eq!(serve(&shared, 0), 1);
            match w.as_mut().await {
                Err(Error::Timeout { op, after }) => {
                    assert_eq!((op, after), (Op::GetMode, Duration::from_secs(3)))
                }
                r => panic!("{r:?}"),
            }
            assert!(start.elapsed() >= Duration::from_secs(3));
        });
    }

    #[test]
    fn a_dropped_request_is_cancelled_in_the_core() {
        let shared = bare_shared();
        let mut w = Box::pin(get_mode(&shared, 1, DEFAULT_TIMEOUT));
        assert!(futures_poll(w.as_mut()).is_pending());
        serve(&shared, 0);
        assert_eq!(lock(&shared.state).core().in_flight(), 1);
        drop(w);
        let st = lock(&shared.state);
        assert_eq!((st.callers(), st.core().in_flight()), (0, 0));
    }

    #[test]
    fn callers_wait_their_turn_for_receive_buffer_shares() {
        // 8 shares: a needs 6; b (4) must wait, and so must c (1), which
        // would fit but came after b.
        let shared = bare_shared();
        let mut a = Box::pin(get_mode(&shared, 6, DEFAULT_TIMEOUT));
        let mut b = Box::pin(get_mode(&shared, 4, DEFAULT_TIMEOUT));
        let mut c = Box::pin(get_mode(&shared, 1, DEFAULT_TIMEOUT));
        let rt = paused_runtime();
        let _guard = rt.enter();
        for w in [&mut a, &mut b, &mut c] {
            assert!(futures_poll(w.as_mut()).is_pending());
        }
        {
            let st = lock(&shared.state);
            assert_eq!(st.callers(), 3);
            assert!(st.has_queued());
        }
        // Waiting for shares starts the timeout; being queued does not.
        assert!(a.timer.is_none() && b.timer.is_some() && c.timer.is_some());
        assert!(b.encode.is_some() && c.encode.is_some());
        // a's reply comes and a takes it: its shares go to b, then c.
        assert_eq!(serve(&shared, 1), 1);
        match futures_poll(a.as_mut()) {
            Poll::Ready(Ok(Ok(r))) => assert_eq!(r.mode, Mode::Upper),
            r => panic!("{r:?}"),
        }
        for w in [&mut b, &mut c] {
            assert!(futures_poll(w.as_mut()).is_pending());
            assert!(w.encode.is_none() && w.timer.is_none(), "queued now");
        }
        assert_eq!(serve(&shared, 2), 2);
        for w in [&mut b, &mut c] {
            assert!(matches!(futures_poll(w.as_mut()), Poll::Ready(Ok(Ok(_)))));
        }
        assert_eq!(lock(&shared.state).callers(), 0);
    }

    #[test]
    fn a_caller_that_gives_up_waiting_for_shares_leaves_the_line() {
        let shared = bare_shared();
        let rt = paused_runtime();
        let _guard = rt.enter();
        let mut a = Box::pin(get_mode(&shared, 8, DEFAULT_TIMEOUT));
        let mut b = Box::pin(get_mode(&shared, 8, DEFAULT_TIMEOUT));
        let mut c = Box::pin(get_mode(&shared, 2, DEFAULT_TIMEOUT));
        for w in [&mut a, &mut b, &mut c] {
            assert!(futures_poll(w.as_mut()).is_pending());
        }
        drop(b); // e.g. its own deadline
        assert_eq!(serve(&shared, 1), 1);
        assert!(matches!(futures_poll(a.as_mut()), Poll::Ready(Ok(Ok(_)))));
        // c is next in line and gets its shares; b's place is gone.
        assert!(futures_poll(c.as_mut()).is_pending());
        assert!(c.encode.is_none());
        assert_eq!(serve(&shared, 1), 1);
        assert!(matches!(futures_poll(c.as_mut()), Poll::Ready(Ok(Ok(_)))));
        assert_eq!(lock(&shared.state).callers(), 0);
    }

    /// Polls `f` once with a waker that does nothing.
    fn futures_poll<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn connect_outside_a_runtime_is_an_error() {
        let fut = AsyncClient::connect();
        let mut fut = std::pin::pin!(fut);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Err(Error::Io { call, .. })) => assert_eq!(call, "tokio runtime"),
            r => panic!("{r:?}"),
        }
    }
}
