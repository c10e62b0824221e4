//! `nlctl bench`: echo round trips per second and latency percentiles.
//!
//! The hot loops avoid everything that made the first client slow:
//!
//! * no `NlRouter` (no background thread, no channel): one socket per
//!   thread, driven directly with `send(2)`, `recv(2)` and `recvmmsg(2)` on
//!   its descriptor;
//! * no allocation per request: each request is encoded once by genl-proto
//!   into a buffer that is reused (only `nlmsg_seq` is rewritten), replies
//!   land in buffers allocated once, latencies go into a vector reserved
//!   from the warm-up's rate;
//! * `NETLINK_CAP_ACK`, and no `NLM_F_ACK`: one reply datagram per request;
//! * batches: many requests in one `send`, the replies drained with as few
//!   `recvmmsg` calls as the kernel allows, the receive buffer sized for the
//!   whole batch (`SO_RCVBUFFORCE` as root) or the batch made smaller.
//!
//! Every reply is checked: one message per datagram of exactly the expected
//! length, the family's type, our sequence number and port id, the `ECHO`
//! command, the `MSG` bytes equal to the request's converted under the
//! reported `MODE`. A datagram that fails a check stops the bench (status
//! 1). A receive buffer overrun (`ENOBUFS`) is counted, the replies that
//! were dropped are counted as lost, and the run ends with status 1 after
//! printing the JSON: lost replies are never silent.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use genl_proto::consts::{align, FAMILY_NAME, GENL_HDRLEN, NLA_HDRLEN, NLMSG_HDRLEN};
use genl_proto::netlink::{self, ExtAck};
use genl_proto::{nla, Attr, Cmd, Mode, Request};
use neli::socket::synchronous::NlSocketHandle;
use nlctl::cli::BenchMode;
use serde::Serialize;

use crate::conn::{self, Conn};
use crate::error::Error;

/// Seconds per case when neither `--seconds` nor `--count` is given.
pub const DEFAULT_SECONDS: f64 = 1.0;
/// Seconds to wait for a reply before giving up.
const RECV_TIMEOUT_SECS: libc::time_t = 10;
/// At most this many latency samples are kept per case (32 MiB); past
/// that, a uniform random sample of this size (reservoir sampling).
const MAX_SAMPLES: usize = 1 << 22;
/// The largest datagram a batch is sent in.
const MAX_BATCH_BYTES: usize = 4 << 20;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// Message sizes in bytes.
    pub sizes: Vec<usize>,
    /// Seconds per case (when `count` is `None`).
    pub seconds: f64,
    /// Requests per case, instead of a duration.
    pub count: Option<u64>,
    /// Unmeasured requests before each case.
    pub warmup: u64,
    /// Requests per send in batch mode.
    pub batch: usize,
    /// Threads in threads mode.
    pub threads: usize,
    /// Which cases.
    pub mode: BenchMode,
    /// A fixed SO_RCVBUF instead of one sized for the batch.
    pub rcvbuf: Option<usize>,
}

/// How long one case runs.
#[derive(Debug, Clone, Copy)]
enum Limit {
    Time(Duration),
    Count(u64),
}

/// Why a case stopped.
#[derive(Debug)]
enum Fail {
    Io(&'static str, io::Error),
    Timeout,
    Kernel(i32, ExtAck),
    Bad(String),
}

impl From<genl_proto::DecodeError> for Fail {
    fn from(e: genl_proto::DecodeError) -> Self {
        Fail::Bad(format!("undecodable reply: {e}"))
    }
}

impl Fail {
    fn into_error(self) -> Error {
        match self {
            Fail::Io(op, e) => Error::io(format_args!("bench: {op}"), &e),
            Fail::Timeout => Error::Other(format!(
                "bench: no reply from the kernel within {RECV_TIMEOUT_SECS} s"
            )),
            Fail::Kernel(errno, ext) => Error::kernel("echo", errno, &ext, None),
            Fail::Bad(s) => Error::Other(format!("bench: {s}")),
        }
    }
}

/// Counters of one case.
#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    /// Requests sent.
    requests: u64,
    /// Replies received and checked.
    verified: u64,
    /// `ENOBUFS` reports.
    overruns: u64,
    /// Requests whose reply the kernel dropped.
    lost: u64,
    /// `send`, `recv` and `recvmmsg` calls.
    syscalls: u64,
    /// Time from the first send to the last reply.
    elapsed: Duration,
    /// Batch mode: time spent in `send` (the kernel handles every request
    /// of the batch and queues the replies during it).
    send_time: Duration,
    /// Batch mode: time spent receiving and checking the replies.
    recv_time: Duration,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.requests += o.requests;
        self.verified += o.verified;
        self.overruns += o.overruns;
        self.lost += o.lost;
        self.syscalls += o.syscalls;
        self.elapsed = self.elapsed.max(o.elapsed);
        self.send_time += o.send_time;
        self.recv_time += o.recv_time;
    }
}

/// One socket of the bench.
struct Sock {
    _handle: NlSocketHandle,
    fd: RawFd,
    pid: u32,
}

impl Sock {
    fn open() -> Result<Sock, Error> {
        let handle = conn::open_request_socket()?;
        let fd = handle.as_raw_fd();
        let pid = handle.pid();
        Ok(Sock {
            _handle: handle,
            fd,
            pid,
        })
    }

    fn get_opt(&self, opt: libc::c_int) -> io::Result<usize> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: v and len are valid for writes; len is v's size.
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_SOCKET,
                opt,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(v).unwrap_or(0))
    }

    /// Sets a socket buffer to `bytes` (the kernel doubles it): the
    /// `*FORCE` option first, which ignores `rmem_max`/`wmem_max` but needs
    /// CAP_NET_ADMIN, then the ordinary one, which is capped.
    fn set_buf(&self, force: libc::c_int, plain: libc::c_int, bytes: usize) -> io::Result<()> {
        let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX / 2);
        let set = |opt| {
            // SAFETY: v lives for the call; the size matches.
            unsafe {
                libc::setsockopt(
                    self.fd,
                    libc::SOL_SOCKET,
                    opt,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            }
        };
        if set(force) == 0 || set(plain) == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn send(&self, buf: &[u8]) -> Result<(), Fail> {
        loop {
            // SAFETY: buf is valid for reads of buf.len() bytes.
            let r = unsafe { libc::send(self.fd, buf.as_ptr().cast(), buf.len(), 0) };
            if r >= 0 {
                if r as usize != buf.len() {
                    return Err(Fail::Bad(format!("short send: {r} of {} bytes", buf.len())));
                }
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(Fail::Io("send", e));
            }
        }
    }
}

/// Receive buffers: `slots` datagrams of up to `slot_len` bytes, and the
/// `recvmmsg` headers that point into them (built once).
struct Rx {
    buf: Vec<u8>,
    slot_len: usize,
    lens: Vec<usize>,
    _iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl Rx {
    fn new(slots: usize, slot_len: usize) -> Rx {
        let slots = slots.max(1);
        let mut buf = vec![0u8; slots * slot_len];
        let base = buf.as_mut_ptr();
        let mut iov: Vec<libc::iovec> = (0..slots)
            .map(|i| libc::iovec {
                // SAFETY: i * slot_len is within buf (slots * slot_len bytes).
                iov_base: unsafe { base.add(i * slot_len) }.cast(),
                iov_len: slot_len,
            })
            .collect();
        let iov_base = iov.as_mut_ptr();
        let hdrs = (0..slots)
            .map(|i| {
                // SAFETY: an all-zero mmsghdr is valid (null pointers, zero lengths).
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                // SAFETY: i < slots = iov.len().
                h.msg_hdr.msg_iov = unsafe { iov_base.add(i) };
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        // The heap blocks of buf and iov never move: neither is resized.
        Rx {
            buf,
            slot_len,
            lens: vec![0; slots],
            _iov: iov,
            hdrs,
        }
    }

    fn slots(&self) -> usize {
        self.lens.len()
    }

    /// Receives up to `want` datagrams: `recv` for one, `recvmmsg` for more.
    /// Returns how many; their lengths (real lengths: `MSG_TRUNC`) are in
    /// `lens`.
    fn recv(&mut self, fd: RawFd, want: usize, nonblock: bool) -> io::Result<usize> {
        let want = want.clamp(1, self.slots());
        loop {
            let r = if want == 1 {
                let flags = libc::MSG_TRUNC | if nonblock { libc::MSG_DONTWAIT } else { 0 };
                // SAFETY: the first slot is valid for writes of slot_len bytes.
                let n =
                    unsafe { libc::recv(fd, self.buf.as_mut_ptr().cast(), self.slot_len, flags) };
                if n >= 0 {
                    self.lens[0] = n as usize;
                    1
                } else {
                    -1
                }
            } else {
                let flags = libc::MSG_TRUNC
                    | if nonblock {
                        libc::MSG_DONTWAIT
                    } else {
                        libc::MSG_WAITFORONE
                    };
                // SAFETY: hdrs[..want] point at iovecs that point into buf,
                // all alive and unaliased for the call.
                let n = unsafe {
                    libc::recvmmsg(
                        fd,
                        self.hdrs.as_mut_ptr(),
                        want as libc::c_uint,
                        flags,
                        std::ptr::null_mut(),
                    )
                };
                if n >= 0 {
                    for i in 0..n as usize {
                        self.lens[i] = self.hdrs[i].msg_len as usize;
                    }
                    n as isize
                } else {
                    -1
                }
            };
            if r >= 0 {
                return Ok(r as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Datagram `i` of the last `recv`, or an error if it was truncated.
    fn datagram(&self, i: usize) -> Result<&[u8], Fail> {
        let n = self.lens[i];
        if n > self.slot_len {
            return Err(Fail::Bad(format!(
                "a {n}-byte datagram did not fit the {}-byte receive slot",
                self.slot_len
            )));
        }
        let start = i * self.slot_len;
        Ok(&self.buf[start..start + n])
    }
}

/// What a correct reply looks like.
struct Expect {
    fam: u16,
    pid: u32,
    reply_len: usize,
    /// The echoed bytes for each mode value.
    msg: [Vec<u8>; 3],
}

/// The sequence number of the (first) message in a datagram.
fn seq_of(d: &[u8]) -> Result<u32, Fail> {
    Ok(netlink::parse_message(d)?.seq)
}

impl Expect {
    fn new(fam: u16, pid: u32, msg: &[u8]) -> Expect {
        Expect {
            fam,
            pid,
            reply_len: echo_reply_len(msg.len()),
            msg: [
                msg.to_vec(),
                msg.to_ascii_uppercase(),
                msg.to_ascii_lowercase(),
            ],
        }
    }

    /// Checks one reply datagram for the request with sequence number `seq`.
    fn check(&self, d: &[u8], seq: u32) -> Result<(), Fail> {
        let m = netlink::parse_message(d)?;
        if m.seq != seq {
            return Err(Fail::Bad(format!(
                "reply with sequence number {} where {seq} was expected",
                m.seq
            )));
        }
        if m.pid != self.pid {
            return Err(Fail::Bad(format!(
                "reply for port {} on port {}",
                m.pid, self.pid
            )));
        }
        if netlink::is_error(m.ty) {
            let e = netlink::parse_error(m.payload, m.flags)?;
            if e.errno == 0 {
                return Err(Fail::Bad("unexpected ACK instead of a reply".into()));
            }
            return Err(Fail::Kernel(e.errno, e.ext_ack));
        }
        if m.ty != self.fam {
            return Err(Fail::Bad(format!(
                "reply of type {:#x}, expected the family's {:#x}",
                m.ty, self.fam
            )));
        }
        if m.bytes.len() != d.len() || d.len() != self.reply_len {
            return Err(Fail::Bad(format!(
                "reply of {} bytes in a {}-byte datagram, expected {}",
                m.bytes.len(),
                d.len(),
                self.reply_len
            )));
        }
        let g = netlink::parse_genl(m.payload)?;
        if g.cmd != Cmd::Echo.value() {
            return Err(Fail::Bad(format!("reply with command {}", g.cmd)));
        }
        let (mut msg, mut mode) = (None, None);
        for a in nla::attrs(g.attrs) {
            let a = a?;
            match Attr::from(a.kind) {
                Attr::Msg => msg = Some(nla::get_cstr_bytes("GENL_ECHO_A_MSG", a.payload)?),
                Attr::Mode => mode = Some(nla::get_u32("GENL_ECHO_A_MODE", a.payload)?),
                _ => {}
            }
        }
        let mode = mode.ok_or_else(|| Fail::Bad("reply without GENL_ECHO_A_MODE".into()))?;
        let want = usize::try_from(mode)
            .ok()
            .and_then(|i| self.msg.get(i))
            .ok_or_else(|| Fail::Bad(format!("reply with unknown mode {mode}")))?;
        match msg {
            Some(got) if got == want.as_slice() => Ok(()),
            Some(_) => Err(Fail::Bad(format!(
                "the echoed message differs from the request (mode {})",
                Mode::from_value(mode).map_or("?", Mode::as_str)
            ))),
            None => Err(Fail::Bad("reply without GENL_ECHO_A_MSG".into())),
        }
    }
}

/// Size of the `ECHO` reply to a `len`-byte message.
pub fn echo_reply_len(len: usize) -> usize {
    NLMSG_HDRLEN + GENL_HDRLEN + align(NLA_HDRLEN + len + 1) + NLA_HDRLEN + 4
}

/// A generous estimate of what one reply of `reply_len` bytes costs in the
/// receive buffer (its skb's truesize): the head is kmalloc'ed with
/// `skb_shared_info` (320 bytes) after the data, rounded up to a power of
/// two, plus the `sk_buff` itself.
pub fn reply_truesize(reply_len: usize) -> usize {
    (reply_len + 384).next_power_of_two() + 512
}

/// Writes `seq` into the `nlmsg_seq` of the message at `off`.
fn set_seq(buf: &mut [u8], off: usize, seq: u32) {
    if let Some(s) = buf.get_mut(off + 8..off + 12) {
        s.copy_from_slice(&seq.to_ne_bytes());
    }
}

/// Receives the replies to `k` requests with sequence numbers `first..`.
/// After an overrun, reads what is queued without blocking and counts the
/// requests without a reply as lost.
fn drain(
    s: &Sock,
    exp: &Expect,
    rx: &mut Rx,
    first: u32,
    k: usize,
    acc: &mut Acc,
) -> Result<(), Fail> {
    let mut next = 0usize;
    let mut overrun = false;
    while next < k {
        acc.syscalls += 1;
        let got = match rx.recv(s.fd, k - next, overrun) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                acc.overruns += 1;
                overrun = true;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if overrun {
                    acc.lost += (k - next) as u64;
                    return Ok(());
                }
                return Err(Fail::Timeout);
            }
            Err(e) => return Err(Fail::Io("recv", e)),
        };
        for i in 0..got {
            let d = rx.datagram(i)?;
            let seq = seq_of(d)?;
            let idx = seq.wrapping_sub(first) as usize;
            if idx < next || idx >= k {
                return Err(Fail::Bad(format!(
                    "reply with sequence number {seq}, outside the {k} requests from {first}"
                )));
            }
            if idx != next && !overrun {
                return Err(Fail::Bad(format!(
                    "reply {seq} arrived before {}: a reply was lost without ENOBUFS",
                    first.wrapping_add(next as u32)
                )));
            }
            acc.lost += (idx - next) as u64;
            next = idx + 1;
            if overrun {
                // The kernel may answer a request whose reply it could not
                // queue with an error (EAGAIN): that request's reply is lost.
                if let Ok(m) = netlink::parse_message(d) {
                    if netlink::is_error(m.ty) {
                        let e = netlink::parse_error(m.payload, m.flags)?;
                        if e.errno == libc::EAGAIN || e.errno == libc::ENOBUFS {
                            acc.lost += 1;
                            continue;
                        }
                    }
                }
            }
            exp.check(d, seq)?;
            acc.verified += 1;
        }
    }
    Ok(())
}

/// One request in this many is timed in the one-at-a-time modes (two
/// clock reads around it); the others are not. Reading the clock is not
/// free: where the clocksource has no vDSO fast path (HPET under QEMU TCG)
/// each read is a system call plus an emulated device access under QEMU's
/// global lock, which would slow the loop down and serialize the threads.
pub const SAMPLE_EVERY: u64 = 8;

/// One request at a time: send, receive, check. Every [`SAMPLE_EVERY`]th
/// request is timed, from before its `send` to after its reply is checked;
/// a `--seconds` deadline is checked at those requests too.
fn run_single(
    s: &Sock,
    exp: &Expect,
    req: &mut [u8],
    rx: &mut Rx,
    seq: &mut u32,
    limit: Limit,
    lat: &mut Samples,
) -> Result<Acc, Fail> {
    let mut acc = Acc::default();
    let start = Instant::now();
    loop {
        if let Limit::Count(n) = limit {
            if acc.requests >= n {
                break;
            }
        }
        let t0 = (acc.requests % SAMPLE_EVERY == 0).then(Instant::now);
        *seq = seq.wrapping_add(1);
        set_seq(req, 0, *seq);
        s.send(req)?;
        acc.syscalls += 1;
        acc.requests += 1;
        let verified = acc.verified;
        drain(s, exp, rx, *seq, 1, &mut acc)?;
        if let Some(t0) = t0 {
            let t1 = Instant::now();
            if acc.verified > verified {
                lat.push(nanos(t1 - t0));
            }
            if let Limit::Time(d) = limit {
                if t1 - start >= d {
                    break;
                }
            }
        }
    }
    acc.elapsed = start.elapsed();
    Ok(acc)
}

/// Batches: `batch` requests (encoded back to back in `reqs`, `req_len`
/// bytes each) per send, then all their replies.
#[allow(clippy::too_many_arguments)]
fn run_batch(
    s: &Sock,
    exp: &Expect,
    reqs: &mut [u8],
    req_len: usize,
    batch: usize,
    rx: &mut Rx,
    seq: &mut u32,
    limit: Limit,
    lat: &mut Samples,
) -> Result<Acc, Fail> {
    let mut acc = Acc::default();
    let start = Instant::now();
    let mut end = start;
    loop {
        let k = match limit {
            Limit::Count(n) if acc.requests >= n => break,
            Limit::Count(n) => batch.min(usize::try_from(n - acc.requests).unwrap_or(batch)),
            Limit::Time(_) => batch,
        };
        let first = seq.wrapping_add(1);
        for i in 0..k {
            set_seq(reqs, i * req_len, first.wrapping_add(i as u32));
        }
        *seq = first.wrapping_add(k as u32 - 1);
        let t0 = Instant::now();
        s.send(&reqs[..k * req_len])?;
        let sent = Instant::now();
        acc.syscalls += 1;
        acc.requests += k as u64;
        drain(s, exp, rx, first, k, &mut acc)?;
        end = Instant::now();
        lat.push(nanos(end - t0));
        acc.send_time += sent - t0;
        acc.recv_time += end - sent;
        if let Limit::Time(d) = limit {
            if end - start >= d {
                break;
            }
        }
    }
    acc.elapsed = end - start;
    Ok(acc)
}

/// Latency samples in nanoseconds: all of them up to [`MAX_SAMPLES`], then
/// a uniform random sample of that many (reservoir sampling), so that the
/// percentiles stay unbiased and memory bounded however long the run.
#[derive(Debug)]
struct Samples {
    v: Vec<u64>,
    seen: u64,
    rng: u64,
}

impl Default for Samples {
    fn default() -> Self {
        Samples {
            v: Vec::new(),
            seen: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl Samples {
    fn push(&mut self, x: u64) {
        self.seen += 1;
        if self.v.len() < MAX_SAMPLES {
            self.v.push(x);
            return;
        }
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let j = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) % self.seen;
        if let Some(slot) = usize::try_from(j).ok().and_then(|j| self.v.get_mut(j)) {
            *slot = x;
        }
    }

    fn clear(&mut self) {
        *self = Samples {
            v: std::mem::take(&mut self.v),
            ..Samples::default()
        };
        self.v.clear();
    }

    fn reserve(&mut self, n: usize) {
        self.v.reserve(n.min(MAX_SAMPLES));
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Nearest-rank percentile of sorted `v`, in microseconds.
fn percentile_us(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    let i = rank.clamp(1, v.len()) - 1;
    v[i] as f64 / 1000.0
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// One line of the results.
#[derive(Debug, Serialize)]
pub struct CaseResult {
    mode: &'static str,
    size: usize,
    threads: usize,
    batch: usize,
    requests: u64,
    seconds: f64,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    p50_us_per_request: f64,
    p99_us_per_request: f64,
    verified: u64,
    overruns: u64,
    lost: u64,
    syscalls_per_request: f64,
    send_us_per_request: Option<f64>,
    recv_us_per_request: Option<f64>,
    rcvbuf: usize,
}

impl CaseResult {
    fn new(
        mode: &'static str,
        size: usize,
        threads: usize,
        batch: usize,
        acc: &Acc,
        lat: &mut [u64],
        rcvbuf: usize,
    ) -> CaseResult {
        lat.sort_unstable();
        let secs = acc.elapsed.as_secs_f64();
        let (p50, p99) = (percentile_us(lat, 50.0), percentile_us(lat, 99.0));
        let per = batch.max(1) as f64;
        CaseResult {
            mode,
            size,
            threads,
            batch,
            requests: acc.requests,
            seconds: round(secs, 3),
            rps: if secs > 0.0 {
                round(acc.verified as f64 / secs, 0)
            } else {
                0.0
            },
            p50_us: round(p50, 1),
            p99_us: round(p99, 1),
            p50_us_per_request: round(p50 / per, if batch > 1 { 2 } else { 1 }),
            p99_us_per_request: round(p99 / per, if batch > 1 { 2 } else { 1 }),
            verified: acc.verified,
            overruns: acc.overruns,
            lost: acc.lost,
            syscalls_per_request: if acc.requests > 0 {
                round(acc.syscalls as f64 / acc.requests as f64, 3)
            } else {
                0.0
            },
            send_us_per_request: per_request(acc.send_time, acc.requests),
            recv_us_per_request: per_request(acc.recv_time, acc.requests),
            rcvbuf,
        }
    }
}

/// Mean microseconds per request of `t`, or `None` if nothing was timed.
fn per_request(t: Duration, requests: u64) -> Option<f64> {
    (!t.is_zero() && requests > 0).then(|| round(t.as_secs_f64() * 1e6 / requests as f64, 2))
}

/// The whole output of `nlctl bench`.
#[derive(Debug, Serialize)]
pub struct Report {
    client: &'static str,
    version: &'static str,
    kernel: String,
    cpus: usize,
    family_id: u16,
    seconds: Option<f64>,
    count: Option<u64>,
    warmup: u64,
    results: Vec<CaseResult>,
    overruns: u64,
    lost: u64,
}

impl Report {
    /// Replies lost to overruns, and how many overruns, over all cases.
    pub fn losses(&self) -> (u64, u64) {
        (self.lost, self.overruns)
    }
}

/// A message of `size` ASCII letters, upper and lower case mixed.
fn letters(size: usize) -> Vec<u8> {
    const L: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut x: u32 = 0x9e37_79b9;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            L[(x % 52) as usize]
        })
        .collect()
}

fn encode(fam: u16, msg: &[u8], copies: usize) -> Result<(Vec<u8>, usize), Error> {
    let mut one = Vec::new();
    Request::Echo(msg)
        .encode(fam, 0, &mut one)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let len = one.len();
    let mut out = Vec::with_capacity(len * copies);
    for _ in 0..copies {
        out.extend_from_slice(&one);
    }
    Ok((out, len))
}

/// Samples to reserve so that the measured loop does not grow the vector.
fn reserve_for(limit: Limit, warm: &Acc, per_sample: usize) -> usize {
    let n = match limit {
        Limit::Count(n) => n,
        Limit::Time(d) => {
            let secs = warm.elapsed.as_secs_f64();
            let rate = if secs > 0.0 {
                warm.requests as f64 / secs
            } else {
                1e5
            };
            (rate * d.as_secs_f64() * 1.5) as u64 + 1024
        }
    };
    usize::try_from(n / per_sample.max(1) as u64 + 1)
        .unwrap_or(MAX_SAMPLES)
        .min(MAX_SAMPLES)
}

/// What one case measured.
struct CaseOut {
    /// The measured requests.
    acc: Acc,
    /// The warm-up's requests (only their losses are reported).
    warm: Acc,
    /// Latency samples: per request, or per batch.
    lat: Samples,
    /// Requests per send.
    batch: usize,
    /// The receive buffer as the kernel set it (SO_RCVBUF).
    rcvbuf: usize,
}

/// One socket with everything its loop needs, allocated up front.
struct Worker {
    s: Sock,
    exp: Expect,
    /// `batch` copies of the request, back to back.
    reqs: Vec<u8>,
    req_len: usize,
    batch: usize,
    batched: bool,
    rx: Rx,
    seq: u32,
    rcvbuf: usize,
}

impl Worker {
    /// Opens a socket for one-at-a-time requests, or for batches of
    /// `o.batch` (fewer if the socket buffers cannot hold them; `warn`
    /// says so on standard error).
    fn new(fam: u16, msg: &[u8], o: &Options, batched: bool, warn: bool) -> Result<Worker, Error> {
        let s = Sock::open()?;
        let (_, req_len) = encode(fam, msg, 1)?;
        let reply_len = echo_reply_len(msg.len());
        let mut batch = if batched { o.batch.max(1) } else { 1 };
        if batched {
            // The whole batch goes in one datagram, which must fit the send
            // buffer (netlink refuses more than SO_SNDBUF - 32 bytes).
            let need_snd = (batch * req_len).min(MAX_BATCH_BYTES) + 64;
            if s.get_opt(libc::SO_SNDBUF).unwrap_or(0) < need_snd {
                let _ = s.set_buf(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, need_snd);
            }
        }
        let sndbuf = s.get_opt(libc::SO_SNDBUF).unwrap_or(0);
        let mut fit = (sndbuf.saturating_sub(32).min(MAX_BATCH_BYTES) / req_len).max(1);
        // Every reply of a batch is queued before the first is read: the
        // receive buffer must hold them all, or the kernel drops replies.
        let truesize = reply_truesize(reply_len);
        match o.rcvbuf {
            Some(b) => s
                .set_buf(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, b)
                .map_err(|e| Error::io("setsockopt SO_RCVBUF", &e))?,
            None if batched => {
                let need = batch.min(fit) * truesize;
                if s.get_opt(libc::SO_RCVBUF).unwrap_or(0) < need {
                    let _ = s.set_buf(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, need);
                }
            }
            None => {}
        }
        let rcvbuf = s.get_opt(libc::SO_RCVBUF).unwrap_or(0);
        if o.rcvbuf.is_none() {
            fit = fit.min((rcvbuf / truesize).max(1));
        }
        if fit < batch {
            if warn {
                crate::warn(&format!(
                    "a batch of {batch} {}-byte messages does not fit the socket buffers \
                     (SO_SNDBUF {sndbuf}, SO_RCVBUF {rcvbuf}; as root SO_RCVBUFFORCE \
                     lifts the limit) or a {MAX_BATCH_BYTES}-byte datagram: using batches \
                     of {fit}",
                    msg.len()
                ));
            }
            batch = fit;
        }
        let exp = Expect::new(fam, s.pid, msg);
        let (reqs, _) = encode(fam, msg, batch)?;
        let rx = Rx::new(batch, reply_len.max(4096));
        Ok(Worker {
            s,
            exp,
            reqs,
            req_len,
            batch,
            batched,
            rx,
            seq: 0,
            rcvbuf,
        })
    }

    fn run(&mut self, limit: Limit, lat: &mut Samples) -> Result<Acc, Error> {
        let r = if self.batched {
            run_batch(
                &self.s,
                &self.exp,
                &mut self.reqs,
                self.req_len,
                self.batch,
                &mut self.rx,
                &mut self.seq,
                limit,
                lat,
            )
        } else {
            run_single(
                &self.s,
                &self.exp,
                &mut self.reqs,
                &mut self.rx,
                &mut self.seq,
                limit,
                lat,
            )
        };
        r.map_err(Fail::into_error)
    }

    /// Warms up, then measures into a vector reserved from the warm-up's rate.
    fn measure(&mut self, limit: Limit, warmup: u64) -> Result<CaseOut, Error> {
        let mut lat = Samples::default();
        let warm = self.warm_up(warmup, &mut lat)?;
        self.measure_after(limit, warm, lat)
    }

    fn warm_up(&mut self, warmup: u64, lat: &mut Samples) -> Result<Acc, Error> {
        let warm = self.run(Limit::Count(warmup), lat)?;
        lat.clear();
        Ok(warm)
    }

    fn measure_after(
        &mut self,
        limit: Limit,
        warm: Acc,
        mut lat: Samples,
    ) -> Result<CaseOut, Error> {
        let per_sample = if self.batched {
            self.batch
        } else {
            SAMPLE_EVERY as usize
        };
        lat.reserve(reserve_for(limit, &warm, per_sample));
        let acc = self.run(limit, &mut lat)?;
        Ok(CaseOut {
            acc,
            warm,
            lat,
            batch: self.batch,
            rcvbuf: self.rcvbuf,
        })
    }
}

/// One thread of a multi-threaded case: set up and warm up, wait for the
/// others, then measure. A thread that fails to set up still meets the
/// others at the barrier, so none waits forever. Returns when it started.
#[allow(clippy::too_many_arguments)]
fn thread_body(
    fam: u16,
    msg: &[u8],
    limit: Limit,
    o: &Options,
    batched: bool,
    warn: bool,
    barrier: &Barrier,
) -> Result<(CaseOut, Instant), Error> {
    let mut lat = Samples::default();
    let setup = Worker::new(fam, msg, o, batched, warn).and_then(|mut w| {
        let warm = w.warm_up(o.warmup, &mut lat)?;
        Ok((w, warm))
    });
    barrier.wait();
    let start = Instant::now();
    let (mut w, warm) = setup?;
    Ok((w.measure_after(limit, warm, lat)?, start))
}

/// Runs one case: `threads` sockets (one per thread), each one request at a
/// time or in batches. With several threads, `--count` is split between
/// them and the elapsed time runs from the first thread's start to the last
/// one's end.
fn run_case(
    fam: u16,
    msg: &[u8],
    limit: Limit,
    o: &Options,
    threads: usize,
    batched: bool,
) -> Result<CaseOut, Error> {
    if threads <= 1 {
        return Worker::new(fam, msg, o, batched, true)?.measure(limit, o.warmup);
    }
    let barrier = Barrier::new(threads);
    let outs: Vec<Result<(CaseOut, Instant), Error>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = &barrier;
                let limit = match limit {
                    Limit::Count(c) => {
                        let (n, i) = (threads as u64, i as u64);
                        Limit::Count(c / n + u64::from(i < c % n))
                    }
                    l => l,
                };
                sc.spawn(move || thread_body(fam, msg, limit, o, batched, i == 0, barrier))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Other("bench: a thread panicked".into())))
            })
            .collect()
    });
    let mut total = CaseOut {
        acc: Acc::default(),
        warm: Acc::default(),
        lat: Samples::default(),
        batch: 1,
        rcvbuf: 0,
    };
    let mut span: Option<(Instant, Instant)> = None;
    for r in outs {
        let (c, start) = r?;
        total.acc.add(&c.acc);
        total.warm.add(&c.warm);
        total.lat.v.extend_from_slice(&c.lat.v);
        total.batch = c.batch;
        total.rcvbuf = c.rcvbuf;
        let end = start + c.acc.elapsed;
        span = Some(span.map_or((start, end), |(a, b)| (a.min(start), b.max(end))));
    }
    if let Some((a, b)) = span {
        total.acc.elapsed = b.saturating_duration_since(a);
    }
    Ok(total)
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs every selected case and returns the report.
pub fn run(o: &Options) -> Result<Report, Error> {
    let fam = {
        let mut c = Conn::open()?;
        let fam = c.resolve(FAMILY_NAME)?;
        crate::check_version(&fam);
        fam.id
    };
    let limit = match o.count {
        Some(n) => Limit::Count(n),
        None => Limit::Time(Duration::from_secs_f64(o.seconds)),
    };
    let mut results = Vec::new();
    let (mut overruns, mut lost) = (0, 0);
    for &size in &o.sizes {
        let msg = letters(size);
        let cases = [
            (BenchMode::Single, "single", 1, false),
            (BenchMode::Batch, "batch", 1, true),
            (BenchMode::Threads, "threads", o.threads, false),
            (BenchMode::BatchThreads, "batch-threads", o.threads, true),
        ];
        for (mode, name, threads, batched) in cases {
            if o.mode != mode && o.mode != BenchMode::All {
                continue;
            }
            let mut c = run_case(fam, &msg, limit, o, threads, batched)?;
            overruns += c.acc.overruns + c.warm.overruns;
            lost += c.acc.lost + c.warm.lost;
            results.push(CaseResult::new(
                name,
                size,
                threads,
                c.batch,
                &c.acc,
                &mut c.lat.v,
                c.rcvbuf,
            ));
        }
    }
    Ok(Report {
        client: "nlctl",
        version: env!("CARGO_PKG_VERSION"),
        kernel: kernel_release(),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        family_id: fam,
        seconds: o.count.is_none().then_some(o.seconds),
        count: o.count,
        warmup: o.warmup,
        results,
        overruns,
        lost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(fam: u16, seq: u32, pid: u32, msg: &[u8], mode: u32) -> Vec<u8> {
        let mut b = Vec::new();
        let s = netlink::begin(&mut b, fam, 0, seq);
        b[s + 12..s + 16].copy_from_slice(&pid.to_ne_bytes());
        netlink::put_genl(&mut b, Cmd::Echo.value(), 1);
        nla::put_cstr(&mut b, Attr::Msg.value(), msg).unwrap();
        nla::put_u32(&mut b, Attr::Mode.value(), mode).unwrap();
        netlink::finish(&mut b, s).unwrap();
        b
    }

    #[test]
    fn reply_lengths() {
        // The worked example in docs/protocol.md: "hi" gives 36 bytes.
        assert_eq!(echo_reply_len(2), 36);
        assert_eq!(echo_reply_len(65530), genl_proto::consts::ECHO_REPLY_MAX);
        for len in [0, 1, 16, 1024, 32768, 65530] {
            assert_eq!(
                reply(0x20, 1, 5, &letters(len), 0).len(),
                echo_reply_len(len)
            );
            assert!(reply_truesize(echo_reply_len(len)) >= 2 * echo_reply_len(len));
        }
    }

    #[test]
    fn check_accepts_good_replies_in_every_mode() {
        let msg = letters(100);
        let e = Expect::new(0x20, 77, &msg);
        e.check(&reply(0x20, 9, 77, &msg, 0), 9).unwrap();
        e.check(&reply(0x20, 9, 77, &msg.to_ascii_uppercase(), 1), 9)
            .unwrap();
        e.check(&reply(0x20, 9, 77, &msg.to_ascii_lowercase(), 2), 9)
            .unwrap();
    }

    #[test]
    fn check_rejects_bad_replies() {
        let msg = letters(16);
        let e = Expect::new(0x20, 77, &msg);
        let good = reply(0x20, 9, 77, &msg, 0);
        assert!(e.check(&good, 10).is_err(), "seq");
        assert!(e.check(&reply(0x21, 9, 77, &msg, 0), 9).is_err(), "type");
        assert!(e.check(&reply(0x20, 9, 78, &msg, 0), 9).is_err(), "pid");
        assert!(e.check(&reply(0x20, 9, 77, &msg, 1), 9).is_err(), "mode");
        assert!(
            e.check(&reply(0x20, 9, 77, &msg, 7), 9).is_err(),
            "bad mode"
        );
        let mut other = msg.clone();
        other[3] ^= 1;
        assert!(e.check(&reply(0x20, 9, 77, &other, 0), 9).is_err(), "bytes");
        assert!(
            e.check(&reply(0x20, 9, 77, &msg[1..], 0), 9).is_err(),
            "len"
        );
        for n in 0..good.len() {
            assert!(e.check(&good[..n], 9).is_err(), "prefix {n}");
        }
        let mut two = good.clone();
        two.extend_from_slice(&good);
        assert!(e.check(&two, 9).is_err(), "two messages");
    }

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile_us(&v, 50.0), 50.0);
        assert_eq!(percentile_us(&v, 99.0), 99.0);
        assert_eq!(percentile_us(&[5000], 99.0), 5.0);
        assert_eq!(percentile_us(&[], 50.0), 0.0);
    }

    #[test]
    fn samples_stay_bounded_and_uniform() {
        let mut s = Samples::default();
        let n = MAX_SAMPLES as u64 * 2;
        for x in 0..n {
            s.push(x);
        }
        assert_eq!(s.v.len(), MAX_SAMPLES);
        assert_eq!(s.seen, n);
        // About half the kept samples come from the second half.
        let late = s.v.iter().filter(|&&x| x >= n / 2).count() as f64;
        let share = late / MAX_SAMPLES as f64;
        assert!((0.45..0.55).contains(&share), "{share}");
        s.clear();
        assert!(s.v.is_empty() && s.seen == 0);
    }

    #[test]
    fn letters_are_ascii_letters() {
        let m = letters(1000);
        assert!(m.iter().all(u8::is_ascii_alphabetic));
        assert!(m.iter().any(u8::is_ascii_uppercase));
        assert!(m.iter().any(u8::is_ascii_lowercase));
    }

    #[test]
    fn encode_batches_back_to_back() {
        let (b, len) = encode(0x20, b"abc", 3).unwrap();
        assert_eq!(b.len(), 3 * len);
        assert_eq!(len % 4, 0);
        let mut b = b;
        for i in 0..3 {
            set_seq(&mut b, i * len, 100 + i as u32);
        }
        let seqs: Vec<u32> = netlink::messages(&b).map(|m| m.unwrap().seq).collect();
        assert_eq!(seqs, [100, 101, 102]);
    }
}
