//! `nlctl bench`: echo round trips per second and latency percentiles.
//!
//! The bench is a user of the genl-echo library's pipelined path
//! ([`genl_echo::Pipeline`]); it has no socket code of its own. Each
//! thread has its own [`Client`] (one socket); one request at a time is a
//! pipeline of one, `send` then `recv`; a batch is many requests in one
//! `send`, their replies drained with `recvmmsg`. The library encodes each
//! request once (only `nlmsg_seq` is rewritten per send), sizes the socket
//! buffers for the batch (`SO_RCVBUFFORCE` as root) or makes the batch
//! smaller, and checks every reply in full: one message per datagram of
//! exactly the expected length, the family's type, our sequence number and
//! port id, the `ECHO` command, the `MSG` bytes equal to the request's
//! converted under the reported `MODE`. A reply that fails a check stops
//! the bench (status 1). A receive buffer overrun (`ENOBUFS`) is counted,
//! the replies that were dropped are counted as lost, and the run ends with
//! status 1 after printing the JSON: lost replies are never silent.
//!
//! The async modes run `--tasks` tokio tasks on one [`AsyncClient`] (one
//! socket), in a current-thread runtime (`async`) or a multi-thread
//! runtime of `--threads` workers (`async-threads`, what `#[tokio::main]`
//! gives): each task sends one request at a
//! time, and the client sends the requests queued by all tasks while a
//! send was in progress together in one `send`, so concurrency becomes
//! batching. The library matches every reply to its request (sequence
//! number, port id, sender, type, command, lengths); the bench checks
//! that the echoed bytes are its request's converted under the reply's
//! mode, and every request in flight carries a message of its own (the
//! task and request number are written into it), so a reply handed to the
//! wrong request would be caught.
//!
//! What the bench adds is measurement: nothing is allocated per request
//! (latencies go into a vector reserved from the warm-up's rate), one
//! request in [`SAMPLE_EVERY`] is timed in the one-at-a-time modes.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use genl_echo::{
    AsyncClient, BatchOutcome, Client, Mode, Pipeline, PipelineOptions, MAX_BATCH_BYTES,
};
use nlctl::cli::BenchMode;
use serde::Serialize;

use crate::error::Error;

/// Seconds per case when neither `--seconds` nor `--count` is given.
pub const DEFAULT_SECONDS: f64 = 1.0;
/// At most this many latency samples are kept per case (32 MiB); past
/// that, a uniform random sample of this size (reservoir sampling).
const MAX_SAMPLES: usize = 1 << 22;

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
    /// Tasks in async mode.
    pub tasks: usize,
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

/// Counters of one case.
#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    /// The library's counts: requests, verified, lost, overruns, syscalls.
    o: BatchOutcome,
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
        self.o.add(&o.o);
        self.elapsed = self.elapsed.max(o.elapsed);
        self.send_time += o.send_time;
        self.recv_time += o.recv_time;
    }
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
fn run_single(p: &mut Pipeline<'_>, limit: Limit, lat: &mut Samples) -> Result<Acc, Error> {
    let mut acc = Acc::default();
    let start = Instant::now();
    loop {
        if let Limit::Count(n) = limit {
            if acc.o.requests >= n {
                break;
            }
        }
        let t0 = (acc.o.requests % SAMPLE_EVERY == 0).then(Instant::now);
        p.send(1)?;
        let o = p.receive()?;
        acc.o.add(&o);
        if let Some(t0) = t0 {
            let t1 = Instant::now();
            if o.verified > 0 {
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

/// Batches of up to the pipeline's capacity per send, then all their replies.
fn run_batch(p: &mut Pipeline<'_>, limit: Limit, lat: &mut Samples) -> Result<Acc, Error> {
    let batch = p.capacity();
    let mut acc = Acc::default();
    let start = Instant::now();
    let mut end = start;
    loop {
        let k = match limit {
            Limit::Count(n) if acc.o.requests >= n => break,
            Limit::Count(n) => batch.min(usize::try_from(n - acc.o.requests).unwrap_or(batch)),
            Limit::Time(_) => batch,
        };
        let t0 = Instant::now();
        p.send(k)?;
        let sent = Instant::now();
        let o = p.receive()?;
        end = Instant::now();
        acc.o.add(&o);
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

fn run_loop(
    p: &mut Pipeline<'_>,
    batched: bool,
    limit: Limit,
    lat: &mut Samples,
) -> Result<Acc, Error> {
    if batched {
        run_batch(p, limit, lat)
    } else {
        run_single(p, limit, lat)
    }
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
    tasks: usize,
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
    /// `per_batch`: latencies are of whole batches of `batch` requests
    /// (else of single requests).
    #[allow(clippy::too_many_arguments)]
    fn new(
        mode: &'static str,
        size: usize,
        threads: usize,
        tasks: usize,
        batch: usize,
        per_batch: bool,
        acc: &Acc,
        lat: &mut [u64],
        rcvbuf: usize,
    ) -> CaseResult {
        lat.sort_unstable();
        let secs = acc.elapsed.as_secs_f64();
        let (p50, p99) = (percentile_us(lat, 50.0), percentile_us(lat, 99.0));
        let per = if per_batch { batch.max(1) as f64 } else { 1.0 };
        let digits = if per > 1.0 { 2 } else { 1 };
        CaseResult {
            mode,
            size,
            threads,
            tasks,
            batch,
            requests: acc.o.requests,
            seconds: round(secs, 3),
            rps: if secs > 0.0 {
                round(acc.o.verified as f64 / secs, 0)
            } else {
                0.0
            },
            p50_us: round(p50, 1),
            p99_us: round(p99, 1),
            p50_us_per_request: round(p50 / per, digits),
            p99_us_per_request: round(p99 / per, digits),
            verified: acc.o.verified,
            overruns: acc.o.overruns,
            lost: acc.o.lost,
            syscalls_per_request: if acc.o.requests > 0 {
                round(acc.o.syscalls as f64 / acc.o.requests as f64, 3)
            } else {
                0.0
            },
            send_us_per_request: per_request(acc.send_time, acc.o.requests),
            recv_us_per_request: per_request(acc.recv_time, acc.o.requests),
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

/// Samples to reserve so that the measured loop does not grow the vector.
fn reserve_for(limit: Limit, warm: &Acc, per_sample: usize) -> usize {
    let n = match limit {
        Limit::Count(n) => n,
        Limit::Time(d) => {
            let secs = warm.elapsed.as_secs_f64();
            let rate = if secs > 0.0 {
                warm.o.requests as f64 / secs
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

impl CaseOut {
    fn empty() -> CaseOut {
        CaseOut {
            acc: Acc::default(),
            warm: Acc::default(),
            lat: Samples::default(),
            batch: 1,
            rcvbuf: 0,
        }
    }
}

/// Sets up one socket's pipeline (one request at a time, or batches of
/// `o.batch`, fewer if the socket buffers cannot hold them; `warn` says so
/// on standard error) and warms it up.
fn prepare<'c>(
    client: &'c mut Client,
    msg: &[u8],
    o: &Options,
    batched: bool,
    warn: bool,
) -> Result<(Pipeline<'c>, Acc, Samples), Error> {
    let want = if batched { o.batch.max(1) } else { 1 };
    let mut p = client.pipeline(msg.len(), want, PipelineOptions::new().rcvbuf(o.rcvbuf))?;
    if p.capacity() < want && warn {
        crate::warn(&format!(
            "a batch of {want} {}-byte messages does not fit the socket buffers \
             (SO_SNDBUF {}, SO_RCVBUF {}; as root SO_RCVBUFFORCE \
             lifts the limit) or a {MAX_BATCH_BYTES}-byte datagram: using batches \
             of {}",
            msg.len(),
            p.sndbuf(),
            p.rcvbuf(),
            p.capacity()
        ));
    }
    p.load_repeated(msg, p.capacity())?;
    let mut lat = Samples::default();
    let warm = run_loop(&mut p, batched, Limit::Count(o.warmup), &mut lat)?;
    lat.clear();
    Ok((p, warm, lat))
}

/// One socket's case: connect, set up and warm up, wait for the other
/// threads at `barrier` (a thread that fails to set up still meets the
/// others there, so none waits forever), then measure. Returns when the
/// measurement started.
fn worker(
    msg: &[u8],
    limit: Limit,
    o: &Options,
    batched: bool,
    warn: bool,
    barrier: Option<&Barrier>,
) -> Result<(CaseOut, Instant), Error> {
    let mut client = Client::connect().map_err(Error::from);
    let setup = match client.as_mut() {
        Ok(c) => prepare(c, msg, o, batched, warn),
        Err(e) => Err(e.clone()),
    };
    if let Some(b) = barrier {
        b.wait();
    }
    let (mut p, warm, mut lat) = setup?;
    let per_sample = if batched {
        p.capacity()
    } else {
        SAMPLE_EVERY as usize
    };
    lat.reserve(reserve_for(limit, &warm, per_sample));
    let start = Instant::now();
    let acc = run_loop(&mut p, batched, limit, &mut lat)?;
    Ok((
        CaseOut {
            acc,
            warm,
            lat,
            batch: p.capacity(),
            rcvbuf: p.rcvbuf(),
        },
        start,
    ))
}

/// Runs one case: `threads` sockets (one per thread), each one request at a
/// time or in batches. With several threads, `--count` is split between
/// them and the elapsed time runs from the first thread's start to the last
/// one's end.
fn run_case(
    msg: &[u8],
    limit: Limit,
    o: &Options,
    threads: usize,
    batched: bool,
) -> Result<CaseOut, Error> {
    if threads <= 1 {
        return worker(msg, limit, o, batched, true, None).map(|(c, _)| c);
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
                sc.spawn(move || worker(msg, limit, o, batched, i == 0, Some(barrier)))
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
    let mut total = CaseOut::empty();
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

/// Whether `got` is `sent` converted under `mode` (ASCII letters only).
fn echoes(sent: &[u8], mode: Mode, got: &[u8]) -> bool {
    got.len() == sent.len()
        && match mode {
            Mode::None => got == sent,
            Mode::Upper => got
                .iter()
                .zip(sent)
                .all(|(g, s)| *g == s.to_ascii_uppercase()),
            Mode::Lower => got
                .iter()
                .zip(sent)
                .all(|(g, s)| *g == s.to_ascii_lowercase()),
            _ => false,
        }
}

/// Writes `tag` into the start of `msg` in base 64 (letters, digits, `-`
/// and `_`; least significant first, as many digits as fit in 11 bytes,
/// which hold all 64 bits), so that every request in flight carries a
/// message of its own. Shifts, not divisions: the stamp is the harness's
/// cost, kept well below the client's.
fn stamp(msg: &mut [u8], mut tag: u64) {
    const D: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    for b in msg.iter_mut().take(11) {
        *b = D[(tag & 63) as usize];
        tag >>= 6;
    }
}

/// One request in this many of each task is timed in async mode: two
/// clock reads per 48 requests, about what the batched mode spends (three
/// per batch of 64); with many tasks the clock would otherwise be read far
/// more often than in the other modes (see [`SAMPLE_EVERY`]).
pub const ASYNC_SAMPLE_EVERY: u64 = 48;

/// One task of the async mode: one request at a time on `client`, each
/// with the message `base` stamped with the task number and a counter,
/// until `limit` requests or until `stop` is set; every
/// [`ASYNC_SAMPLE_EVERY`]th request is timed.
async fn async_task(
    client: AsyncClient,
    base: std::sync::Arc<[u8]>,
    task: u64,
    limit: Option<u64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Result<(Acc, Vec<u64>), Error> {
    let mut msg = base.to_vec();
    let mut acc = Acc::default();
    let mut lat = Vec::new();
    let mut n: u64 = 0;
    while limit.is_none_or(|c| n < c) && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        stamp(&mut msg, (task << 40) | (n & ((1 << 40) - 1)));
        let t0 = (n % ASYNC_SAMPLE_EVERY == 0).then(Instant::now);
        n += 1;
        acc.o.requests += 1;
        match client.echo(&msg).await {
            Ok(reply) if echoes(&msg, reply.mode, &reply.msg) => {
                acc.o.verified += 1;
                if let Some(t0) = t0 {
                    lat.push(nanos(Instant::now() - t0));
                }
            }
            Ok(reply) => {
                return Err(Error::Other(format!(
                    "bench: the reply to request {n} of task {task} is not its message \
                     converted under mode {}",
                    reply.mode
                )))
            }
            // The kernel dropped the reply (receive buffer overrun): counted.
            Err(genl_echo::Error::ReplyLost { .. }) => acc.o.lost += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok((acc, lat))
}

/// `tasks` tasks on `client` (`--count` split between them); the elapsed
/// time runs from the start to the last task's end.
async fn run_async_tasks(
    client: &AsyncClient,
    msg: &std::sync::Arc<[u8]>,
    limit: Limit,
    tasks: usize,
    lat: &mut Samples,
) -> Result<Acc, Error> {
    let start = Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..tasks {
        let count = match limit {
            Limit::Count(c) => {
                let (n, i) = (tasks as u64, i as u64);
                Some(c / n + u64::from(i < c % n))
            }
            Limit::Time(_) => None,
        };
        set.spawn(async_task(
            client.clone(),
            msg.clone(),
            i as u64,
            count,
            stop.clone(),
        ));
    }
    // A deadline for all tasks (they read no clock for it), kept by a
    // thread that sleeps, not by a timer of the runtime: a pending timer
    // makes the runtime read the clock once more every time it polls its
    // drivers, a cost of the harness, not of the client measured.
    let timer = match limit {
        Limit::Time(d) => {
            let stop = stop.clone();
            let t = std::thread::Builder::new()
                .name("bench-deadline".into())
                .spawn(move || {
                    std::thread::sleep(d);
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                })
                .map_err(|e| Error::io("bench: spawn the deadline thread", &e))?;
            Some(t)
        }
        Limit::Count(_) => None,
    };
    let mut acc = Acc::default();
    let mut first_err = None;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok((a, l))) => {
                acc.o.add(&a.o);
                for x in l {
                    lat.push(x);
                }
            }
            Ok(Err(e)) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                first_err.get_or_insert(e);
            }
            Err(e) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                first_err.get_or_insert(Error::Other(format!("bench: a task failed: {e}")));
            }
        }
    }
    // The tasks stop at the deadline (or at an error, having set `stop`
    // themselves); the thread ends at its deadline either way.
    if let Some(t) = timer {
        let _ = t.join();
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    acc.elapsed = start.elapsed();
    Ok(acc)
}

/// The async cases: `o.tasks` tasks on one [`AsyncClient`] in a
/// current-thread runtime, or with `workers`, a multi-thread runtime of
/// that many worker threads. `batch` is the mean number of requests per
/// `send`; the losses and system calls are the client's own counts.
fn run_async_case(
    msg: &[u8],
    limit: Limit,
    o: &Options,
    workers: Option<usize>,
) -> Result<CaseOut, Error> {
    let mut builder = match workers {
        None => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n.max(1));
            b
        }
    };
    let rt = builder
        .enable_all()
        .build()
        .map_err(|e| Error::io("bench: tokio runtime", &e))?;
    let msg: std::sync::Arc<[u8]> = msg.into();
    let tasks = o.tasks.max(1);
    rt.block_on(async {
        let client = AsyncClient::connect().await?;
        let mut lat = Samples::default();
        let c0 = client.io_counters();
        let mut warm =
            run_async_tasks(&client, &msg, Limit::Count(o.warmup), tasks, &mut lat).await?;
        let c1 = client.io_counters();
        warm.o.overruns = c1.overruns.saturating_sub(c0.overruns);
        lat.clear();
        let mut acc = run_async_tasks(&client, &msg, limit, tasks, &mut lat).await?;
        let c2 = client.io_counters();
        acc.o.overruns = c2.overruns.saturating_sub(c1.overruns);
        let sends = c2.sends.saturating_sub(c1.sends);
        acc.o.syscalls = sends.saturating_add(c2.receives.saturating_sub(c1.receives));
        // The mean requests per send, rounded.
        let requests = c2.requests.saturating_sub(c1.requests);
        let batch = requests
            .saturating_add(sends / 2)
            .checked_div(sends)
            .and_then(|b| usize::try_from(b).ok())
            .unwrap_or(1);
        Ok(CaseOut {
            acc,
            warm,
            lat,
            batch: batch.max(1),
            rcvbuf: client.rcvbuf(),
        })
    })
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs every selected case and returns the report.
pub fn run(o: &Options) -> Result<Report, Error> {
    let fam = {
        let c = Client::connect()?;
        crate::check_version(c.family());
        c.family().id
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
            (BenchMode::Async, "async", 1, false),
            (BenchMode::AsyncThreads, "async-threads", o.threads, false),
        ];
        for (mode, name, threads, batched) in cases {
            if o.mode != mode && o.mode != BenchMode::All {
                continue;
            }
            let (mut c, tasks) = if mode == BenchMode::Async {
                (run_async_case(&msg, limit, o, None)?, o.tasks)
            } else if mode == BenchMode::AsyncThreads {
                (run_async_case(&msg, limit, o, Some(threads))?, o.tasks)
            } else {
                (run_case(&msg, limit, o, threads, batched)?, 1)
            };
            overruns += c.acc.o.overruns + c.warm.o.overruns;
            lost += c.acc.o.lost + c.warm.o.lost;
            results.push(CaseResult::new(
                name,
                size,
                threads,
                tasks,
                c.batch,
                batched,
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

    /// Every tag gets a stamp of its own (11 base-64 digits hold 64
    /// bits), made of bytes an echo can carry (no NUL).
    #[test]
    fn stamps_are_distinct_and_carry_no_nul() {
        let mut seen = std::collections::HashSet::new();
        let tags = (0..5000u64)
            .chain([u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) | 1])
            .chain((0..64).map(|task| (task << 40) | 12345));
        for tag in tags {
            let mut m = vec![b'.'; 16];
            stamp(&mut m, tag);
            assert!(!m.contains(&0), "{m:?}");
            assert_eq!(&m[11..], b".....", "only the first 11 bytes");
            assert!(seen.insert(m), "tag {tag:#x} stamped like an earlier one");
        }
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
}
