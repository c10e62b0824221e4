//! genl-echo-probe: a program outside the workspace that uses the genl-echo
//! library as a user would (tests/build-consumer.sh copies this file into a
//! new Cargo project in a temporary folder, depending on genl-echo by path,
//! and builds it). tests/vm/test_library.py runs it against the module.
//!
//! One command per run; one line of `key=value` words per result; an error
//! is printed as `error kind=<Variant> ...` (exit 1), so the test sees which
//! variant the library returned. `serve` and `async-serve` keep a client and
//! a subscription open and take commands on stdin (tests/vm/test_reload.py,
//! test_forged.py); the `async-*` commands use the tokio front end
//! (tests/vm/test_library_async.py).

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use genl_echo::{
    AsyncClient, AsyncSubscription, Client, Controller, EchoReply, Error, Event, Mode,
    PipelineOptions,
};

fn mode(s: &str) -> Mode {
    s.parse().unwrap_or(Mode::None)
}

fn run(args: &[String]) -> Result<(), Error> {
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match a(0) {
        "echo" => {
            let r = Client::connect()?.echo(a(1).as_bytes())?;
            println!(
                "echo msg={} mode={}",
                String::from_utf8_lossy(&r.msg),
                r.mode
            );
        }
        "echo-len" => {
            let msg = vec![b'x'; a(1).parse().unwrap_or(0)];
            let r = Client::connect()?.echo(&msg)?;
            println!("echo len={} mode={}", r.msg.len(), r.mode);
        }
        "set" => {
            let r = Client::connect()?.set_mode(mode(a(1)))?;
            println!("set mode={} previous={}", r.mode, r.previous);
        }
        "get" => println!("get mode={}", Client::connect()?.get_mode()?),
        "stats" => {
            let s = Client::connect()?.stats()?;
            println!(
                "stats mode={} echo_requests={} echo_bytes={} chars_converted={} mode_changes={} rejected={}",
                s.mode, s.echo_requests, s.echo_bytes, s.chars_converted, s.mode_changes, s.rejected
            );
        }
        "family" => {
            let c = Client::connect()?;
            let f = c.family();
            let ops: Vec<String> = f
                .ops
                .iter()
                .map(|o| format!("{}:{}", o.id, o.flags.0))
                .collect();
            let groups: Vec<String> = f
                .mcast_groups
                .iter()
                .map(|g| format!("{}:{}", g.name, g.id))
                .collect();
            println!(
                "family id={} name={} version={} ops={} groups={}",
                f.id,
                f.name,
                f.version,
                ops.join(","),
                groups.join(",")
            );
        }
        "policy" => {
            let p = Client::connect()?.policy()?;
            for op in &p.ops {
                let attrs: Vec<String> = op
                    .do_policy
                    .iter()
                    .flat_map(|pol| pol.attrs.iter())
                    .map(|at| {
                        format!(
                            "{}:{}",
                            at.name.as_deref().unwrap_or("?"),
                            at.policy.type_name().unwrap_or_default()
                        )
                    })
                    .collect();
                println!(
                    "op id={} name={} admin={} do_attrs={}",
                    op.id,
                    op.name.as_deref().unwrap_or("?"),
                    op.flags.admin_perm() || op.flags.uns_admin_perm(),
                    attrs.join(",")
                );
            }
        }
        "netns" => {
            let mut c = Client::connect_netns(a(1))?;
            match a(2) {
                "set" => {
                    let r = c.set_mode(mode(a(3)))?;
                    println!("set mode={} previous={}", r.mode, r.previous);
                }
                _ => {
                    let r = c.echo(a(3).as_bytes())?;
                    println!(
                        "echo msg={} mode={}",
                        String::from_utf8_lossy(&r.msg),
                        r.mode
                    );
                }
            }
        }
        "resolve" => {
            let f = Controller::open()?.resolve(a(1))?;
            println!("resolve id={} name={}", f.id, f.name);
        }
        "batch" => {
            // N distinct messages through echo_batch; every reply printed.
            let n: usize = a(1).parse().unwrap_or(1);
            let msgs: Vec<String> = (0..n).map(|i| format!("{}-{i}", a(2))).collect();
            let r = Client::connect()?.echo_batch(&msgs)?;
            let o = r.outcome;
            println!(
                "batch requests={} verified={} lost={} overruns={}",
                o.requests, o.verified, o.lost, o.overruns
            );
            for rep in &r.replies {
                match rep {
                    Some(e) => println!(
                        "reply msg={} mode={}",
                        String::from_utf8_lossy(&e.msg),
                        e.mode
                    ),
                    None => println!("reply lost"),
                }
            }
        }
        "pipeline" => {
            // pipeline SIZE BATCH ROUNDS [RCVBUF]
            let size: usize = a(1).parse().unwrap_or(16);
            let batch: usize = a(2).parse().unwrap_or(1);
            let rounds: usize = a(3).parse().unwrap_or(1);
            let rcvbuf = a(4).parse().ok();
            let mut c = Client::connect()?;
            let mut p = c.pipeline(size, batch, PipelineOptions::new().rcvbuf(rcvbuf))?;
            let msg: Vec<u8> = (0..size).map(|i| b"aBcDeF"[i % 6]).collect();
            p.load_repeated(&msg, p.capacity())?;
            let mut total = genl_echo::BatchOutcome::default();
            for _ in 0..rounds {
                p.send(p.capacity())?;
                total.add(&p.receive()?);
            }
            println!(
                "pipeline capacity={} requests={} verified={} lost={} overruns={}",
                p.capacity(),
                total.requests,
                total.verified,
                total.lost,
                total.overruns
            );
        }
        "overrun" => {
            // A subscription with a tiny receive buffer that is not read
            // while this process sets the mode N times.
            let n: usize = a(1).parse().unwrap_or(200);
            let mut c = Client::connect()?;
            let mut sub = c.subscribe_with_rcvbuf(Some(1))?;
            for i in 0..n {
                c.set_mode([Mode::Upper, Mode::Lower][i % 2])?;
            }
            let (mut events, mut overruns) = (0, 0);
            while let Some(item) = sub.try_next() {
                match item? {
                    Event::ModeChanged(_) => events += 1,
                    Event::Overrun => overruns += 1,
                    _ => {}
                }
            }
            println!("overrun sets={n} events={events} overruns={overruns}");
        }
        "serve" => serve(a(1).parse().ok())?,
        "async-serve" => async_serve(a(1).parse().ok())?,
        "async-storm" => async_storm(
            a(1).parse().unwrap_or(64),
            a(2).parse().unwrap_or(1000),
            mode(a(3)),
        )?,
        "cancel-storm" => cancel_storm(
            a(1).parse().unwrap_or(16),
            a(2).parse().unwrap_or(300),
            mode(a(3)),
        )?,
        "abandoned-batch" => abandoned_batch(a(1).parse().unwrap_or(64))?,
        "nul-batch" => nul_batch(a(1).parse().unwrap_or(1000))?,
        cmd => {
            eprintln!("usage: genl-echo-probe echo|echo-len|set|get|stats|family|policy|netns|resolve|batch|pipeline|overrun|serve|async-serve|async-storm|cancel-storm|abandoned-batch|nul-batch ARGS ({cmd:?})");
            std::process::exit(2);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Matching on the variants is what a user of the library does.
            let kind = match &e {
                Error::NotRegistered { .. } => "NotRegistered".to_owned(),
                Error::PermissionDenied { op, .. } => format!("PermissionDenied op={op}"),
                Error::Kernel {
                    errno,
                    message,
                    attr,
                    ..
                } => format!(
                    "Kernel errno={errno} message={:?} attr={:?}",
                    message.as_deref().unwrap_or(""),
                    attr.as_deref().unwrap_or("")
                ),
                Error::MsgTooLong { len, max } => format!("MsgTooLong len={len} max={max}"),
                Error::MsgHasNul { offset } => format!("MsgHasNul offset={offset}"),
                Error::Timeout { .. } => "Timeout".to_owned(),
                Error::Io { call, .. } => format!("Io call={call}"),
                Error::Decode { .. } => "Decode".to_owned(),
                Error::Netns { call, .. } => format!("Netns call={call}"),
                _ => "Other".to_owned(),
            };
            println!("error kind={kind}");
            eprintln!("genl-echo-probe: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers of the commands below.

/// `msg` as the kernel converts it under `mode` (ASCII letters only).
fn convert(msg: &[u8], mode: Mode) -> Vec<u8> {
    match mode.to_string().as_str() {
        "upper" => msg.to_ascii_uppercase(),
        "lower" => msg.to_ascii_lowercase(),
        _ => msg.to_vec(),
    }
}

/// Whether `r` answers `msg` under `mode`.
fn answers(r: &EchoReply, msg: &[u8], mode: Mode) -> bool {
    r.mode == mode && r.msg == convert(msg, mode)
}

/// The variant of an error, as the single-command output names it.
fn kind(e: &Error) -> String {
    match e {
        Error::NotRegistered { .. } => "NotRegistered".to_owned(),
        Error::Timeout { .. } => "Timeout".to_owned(),
        Error::PermissionDenied { op, .. } => format!("PermissionDenied op={op}"),
        Error::Kernel { errno, .. } => format!("Kernel errno={errno}"),
        Error::UnexpectedReply { .. } => "UnexpectedReply".to_owned(),
        Error::Io { call, .. } => format!("Io call={call}"),
        Error::Decode { .. } => "Decode".to_owned(),
        _ => "Other".to_owned(),
    }
}

/// One line per subscription item, and what a consumer that resyncs with
/// `get_mode` believes the mode is afterwards.
fn item_line(item: &Result<Event, Error>, belief: &str) -> String {
    match item {
        Ok(Event::ModeChanged(e)) => {
            format!(
                "item event mode={} previous={} belief={belief}",
                e.mode, e.previous
            )
        }
        Ok(Event::Overrun) => format!("item overrun belief={belief}"),
        Ok(Event::FamilyRemoved) => format!("item family_removed belief={belief}"),
        Ok(Event::FamilyAdded { id, version }) => {
            format!("item family_added id={id} version={version} belief={belief}")
        }
        Ok(_) => format!("item other belief={belief}"),
        Err(e) => format!("item error kind={} belief={belief}", kind(e)),
    }
}

/// The new belief after `item`: an event says the mode; an overrun or a
/// family (re)added means events were missed, so the consumer asks.
fn next_belief(
    item: &Result<Event, Error>,
    belief: String,
    resync: impl FnOnce() -> Result<Mode, Error>,
) -> String {
    match item {
        Ok(Event::ModeChanged(e)) => e.mode.to_string(),
        Ok(Event::Overrun) | Ok(Event::FamilyAdded { .. }) => match resync() {
            Ok(m) => m.to_string(),
            Err(e) => format!("error:{}", kind(&e)),
        },
        _ => belief,
    }
}

fn reply_line(r: Result<String, Error>) -> String {
    match r {
        Ok(s) => format!("reply {s}"),
        Err(e) => format!("reply error kind={}", kind(&e)),
    }
}

/// Counts of a hammer (a loop of checked echoes running in the background).
#[derive(Default)]
struct Hammer {
    stop: AtomicBool,
    ok: AtomicU64,
    bad: AtomicU64,
    not_registered: AtomicU64,
    other: AtomicU64,
}

impl Hammer {
    fn count(&self, msg: &[u8], r: Result<EchoReply, Error>) {
        let c = match r {
            // the reply must be the kernel's answer to this very message
            Ok(r) if r.msg == convert(msg, r.mode) => &self.ok,
            Ok(_) => &self.bad,
            Err(Error::NotRegistered { .. }) => &self.not_registered,
            Err(e) => {
                eprintln!("hammer: {e}");
                &self.other
            }
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self) -> String {
        format!(
            "hammer ok={} bad={} not_registered={} other={}",
            self.ok.load(Ordering::Relaxed),
            self.bad.load(Ordering::Relaxed),
            self.not_registered.load(Ordering::Relaxed),
            self.other.load(Ordering::Relaxed)
        )
    }
}

// ---------------------------------------------------------------------------
// serve: a blocking Client and Subscription across whatever the test does.
//
// Prints `ports client=P sub=Q resync=R`, then one `item ...` line per
// subscription item (from a thread of its own) and one `reply ...` line per
// command read from stdin: `echo MSG`, `get`, `set MODE`, `hammer-start`,
// `hammer-stop`. Exits at the end of stdin.

fn serve(rcvbuf: Option<usize>) -> Result<(), Error> {
    let mut client = Client::connect()?;
    let sub = client.subscribe_with_rcvbuf(rcvbuf)?;
    // the subscriber's own client, to resync with get_mode
    let mut resync = Client::connect()?;
    println!(
        "ports client={} sub={} resync={}",
        client.port_id(),
        sub.port_id(),
        resync.port_id()
    );
    std::thread::spawn(move || {
        let mut belief = resync.get_mode().map(|m| m.to_string()).unwrap_or_default();
        for item in sub {
            belief = next_belief(&item, belief, || resync.get_mode());
            println!("{}", item_line(&item, &belief));
        }
    });
    let hammer = Arc::new(Hammer::default());
    let mut hammer_thread = None;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (cmd, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let out = match cmd {
            "echo" => client.echo(arg.as_bytes()).map(|r| {
                format!(
                    "echo msg={} mode={}",
                    String::from_utf8_lossy(&r.msg),
                    r.mode
                )
            }),
            "get" => client.get_mode().map(|m| format!("get mode={m}")),
            "set" => client
                .set_mode(mode(arg))
                .map(|r| format!("set mode={} previous={}", r.mode, r.previous)),
            "hammer-start" => {
                let h = Arc::clone(&hammer);
                let mut c = Client::connect()?;
                let port = c.port_id();
                hammer_thread = Some(std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !h.stop.load(Ordering::Relaxed) {
                        let msg = format!("hammer-{i}");
                        h.count(msg.as_bytes(), c.echo(msg.as_bytes()));
                        i += 1;
                    }
                }));
                Ok(format!("hammer-start port={port}"))
            }
            "hammer-stop" => {
                hammer.stop.store(true, Ordering::Relaxed);
                if let Some(t) = hammer_thread.take() {
                    let _ = t.join();
                }
                Ok(hammer.line())
            }
            _ => Ok(format!("unknown command={cmd}")),
        };
        println!("{}", reply_line(out));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The tokio front end.

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("genl-echo-probe: tokio runtime: {e}");
            std::process::exit(1);
        }
    }
}

/// The next item of an async subscription.
async fn next_item(sub: &mut AsyncSubscription) -> Option<Result<Event, Error>> {
    use futures_core::Stream;
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *sub).poll_next(cx)).await
}

/// `serve` on an AsyncClient and AsyncSubscription (same protocol). The
/// hammer is 4 tasks on clones of the client.
fn async_serve(rcvbuf: Option<usize>) -> Result<(), Error> {
    let rt = runtime();
    let client = rt.block_on(AsyncClient::connect())?;
    let mut sub = rt.block_on(client.subscribe_with_rcvbuf(rcvbuf))?;
    println!(
        "ports client={} sub={} resync={}",
        client.port_id(),
        sub.port_id(),
        client.port_id()
    );
    let resync = client.clone();
    rt.spawn(async move {
        let mut belief = resync
            .get_mode()
            .await
            .map(|m| m.to_string())
            .unwrap_or_default();
        while let Some(item) = next_item(&mut sub).await {
            let new = match &item {
                Ok(Event::Overrun) | Ok(Event::FamilyAdded { .. }) => {
                    match resync.get_mode().await {
                        Ok(m) => m.to_string(),
                        Err(e) => format!("error:{}", kind(&e)),
                    }
                }
                _ => next_belief(&item, belief.clone(), || Ok(Mode::None)),
            };
            belief = new;
            println!("{}", item_line(&item, &belief));
        }
        println!("item end");
    });
    let hammer = Arc::new(Hammer::default());
    let mut tasks = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (cmd, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let out = match cmd {
            "echo" => rt.block_on(client.echo(arg.as_bytes())).map(|r| {
                format!(
                    "echo msg={} mode={}",
                    String::from_utf8_lossy(&r.msg),
                    r.mode
                )
            }),
            "get" => rt
                .block_on(client.get_mode())
                .map(|m| format!("get mode={m}")),
            "io" => Ok(io_line(&client)),
            "set" => rt
                .block_on(client.set_mode(mode(arg)))
                .map(|r| format!("set mode={} previous={}", r.mode, r.previous)),
            "hammer-start" => {
                for t in 0..4 {
                    let (h, c) = (Arc::clone(&hammer), client.clone());
                    tasks.push(rt.spawn(async move {
                        let mut i = 0u64;
                        while !h.stop.load(Ordering::Relaxed) {
                            let msg = format!("hammer-{t}-{i}");
                            h.count(msg.as_bytes(), c.echo(msg.as_bytes()).await);
                            i += 1;
                        }
                    }));
                }
                Ok(format!("hammer-start port={}", client.port_id()))
            }
            "hammer-stop" => {
                hammer.stop.store(true, Ordering::Relaxed);
                for t in tasks.drain(..) {
                    let _ = rt.block_on(t);
                }
                Ok(hammer.line())
            }
            _ => Ok(format!("unknown command={cmd}")),
        };
        println!("{}", reply_line(out));
    }
    Ok(())
}

/// The client's own counters (shared by its clones).
fn io_line(c: &AsyncClient) -> String {
    let io = c.io_counters();
    format!(
        "io requests={} sends={} receives={} datagrams={} stale={} foreign={} overruns={} lost={}",
        io.requests,
        io.sends,
        io.receives,
        io.datagrams,
        io.stale,
        io.foreign,
        io.overruns,
        io.lost
    )
}

/// async-storm TASKS N MODE: TASKS tasks on one AsyncClient, N echoes each
/// of distinct messages, every reply checked against its own message under
/// MODE (the mode the test set).
fn async_storm(tasks: usize, n: usize, want: Mode) -> Result<(), Error> {
    let rt = runtime();
    let client = rt.block_on(AsyncClient::connect())?;
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (c, ok, bad, errors) = (
                client.clone(),
                Arc::clone(&ok),
                Arc::clone(&bad),
                Arc::clone(&errors),
            );
            rt.spawn(async move {
                for i in 0..n {
                    let msg = format!("Task{t:02}-Msg{i:04}-mIxEd");
                    match c.echo(msg.as_bytes()).await {
                        Ok(r) if answers(&r, msg.as_bytes(), want) => {
                            ok.fetch_add(1, Ordering::Relaxed)
                        }
                        Ok(r) => {
                            eprintln!(
                                "task {t} echo {msg:?}: got {:?} mode {}",
                                String::from_utf8_lossy(&r.msg),
                                r.mode
                            );
                            bad.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(e) => {
                            eprintln!("task {t} echo {msg:?}: {e}");
                            errors.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    for h in handles {
        if rt.block_on(h).is_err() {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    println!(
        "async-storm tasks={tasks} each={n} ok={} bad={} errors={}",
        ok.load(Ordering::Relaxed),
        bad.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed)
    );
    println!("{}", io_line(&client));
    Ok(())
}

/// A future polled at most `n` times, then dropped (cancelled): `None`.
struct PollAtMost<F> {
    fut: std::pin::Pin<Box<F>>,
    left: usize,
}

impl<F: std::future::Future> std::future::Future for PollAtMost<F> {
    type Output = Option<F::Output>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        match self.fut.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
            std::task::Poll::Pending => {
                // come back soon, whether the reply woke us or not
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        }
    }
}

/// cancel-storm TASKS N MODE: TASKS tasks on one AsyncClient make N
/// requests each that are cancelled while racing their replies (a
/// `tokio::time::timeout` of 1-8 µs, or the future dropped after 1-3
/// polls, or the client's own timeout of a few µs on a clone); every
/// request that completes must carry its own reply. Then every task makes
/// 20 plain requests: each must get its own reply.
fn cancel_storm(tasks: usize, n: usize, want: Mode) -> Result<(), Error> {
    let rt = runtime();
    let client = rt.block_on(AsyncClient::connect())?;
    let mut hasty = client.clone();
    hasty.set_timeout(Duration::from_micros(3));
    let c = Arc::new([
        AtomicU64::new(0), // 0 completed
        AtomicU64::new(0), // 1 cancelled (future dropped)
        AtomicU64::new(0), // 2 Error::Timeout
        AtomicU64::new(0), // 3 bad (a reply not this request's)
        AtomicU64::new(0), // 4 other errors
        AtomicU64::new(0), // 5 after: plain requests answered right
    ]);
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (client, hasty, c) = (client.clone(), hasty.clone(), Arc::clone(&c));
            rt.spawn(async move {
                let tally = |msg: &str, r: Option<Result<EchoReply, Error>>| {
                    let i = match r {
                        Some(Ok(r)) if answers(&r, msg.as_bytes(), want) => 0,
                        Some(Ok(r)) => {
                            eprintln!("{msg:?}: got {:?}", String::from_utf8_lossy(&r.msg));
                            3
                        }
                        None => 1,
                        Some(Err(Error::Timeout { .. })) => 2,
                        Some(Err(e)) => {
                            eprintln!("{msg:?}: {e}");
                            4
                        }
                    };
                    c[i].fetch_add(1, Ordering::Relaxed);
                };
                for i in 0..n {
                    let msg = format!("cancel-T{t}-R{i}-xYz");
                    let r = match i % 3 {
                        0 => tokio::time::timeout(
                            Duration::from_micros(1 + (i % 8) as u64),
                            client.echo(msg.as_bytes()),
                        )
                        .await
                        .ok(),
                        1 => {
                            PollAtMost {
                                fut: Box::pin(client.echo(msg.as_bytes())),
                                left: 1 + i % 3,
                            }
                            .await
                        }
                        _ => Some(hasty.echo(msg.as_bytes()).await),
                    };
                    tally(&msg, r);
                }
                for i in 0..20 {
                    let msg = format!("after-T{t}-R{i}-xYz");
                    match client.echo(msg.as_bytes()).await {
                        Ok(r) if answers(&r, msg.as_bytes(), want) => {
                            c[5].fetch_add(1, Ordering::Relaxed);
                        }
                        r => tally(&msg, Some(r)),
                    }
                }
            })
        })
        .collect();
    for h in handles {
        if rt.block_on(h).is_err() {
            c[4].fetch_add(1, Ordering::Relaxed);
        }
    }
    let v = |i: usize| c[i].load(Ordering::Relaxed);
    println!(
        "cancel-storm attempts={} completed={} cancelled={} timeouts={} bad={} other={} after={}",
        tasks * n,
        v(0),
        v(1),
        v(2),
        v(3),
        v(4),
        v(5)
    );
    println!("{}", io_line(&client));
    Ok(())
}

// ---------------------------------------------------------------------------
// Batches after a batch that did not finish.

/// abandoned-batch K: a Pipeline sends K requests and never receives
/// their replies, loads K other messages, sends and receives them; then
/// the pipeline sends K more and is dropped, and echo_batch runs K
/// messages. Every reply is checked against its own message.
fn abandoned_batch(k: usize) -> Result<(), Error> {
    let mut c = Client::connect()?;
    {
        let mut p = c.pipeline(32, k, PipelineOptions::new())?;
        let first: Vec<Vec<u8>> = (0..k).map(|i| format!("first-{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = first.iter().map(Vec::as_slice).collect();
        p.load(&refs)?;
        p.send(k)?;
        let second: Vec<Vec<u8>> = (0..k).map(|i| format!("second-{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = second.iter().map(Vec::as_slice).collect();
        p.load(&refs)?;
        p.send(k)?;
        let mut seen = Vec::new();
        let o = p.receive_with(|i, msg, _| seen.push((i, msg.to_vec())))?;
        let right = seen
            .iter()
            .filter(|(i, m)| second.get(*i) == Some(m))
            .count();
        println!(
            "pipeline requests={} verified={} lost={} stale={} own_replies={right}",
            o.requests, o.verified, o.lost, o.stale
        );
        // abandoned again: sent, never received
        p.send(k)?;
    }
    let msgs: Vec<String> = (0..k).map(|i| format!("third-{i}")).collect();
    let r = c.echo_batch(&msgs)?;
    let right = r
        .replies
        .iter()
        .zip(&msgs)
        .filter(|(rep, m)| rep.as_ref().map(|e| e.msg == m.as_bytes()) == Some(true))
        .count();
    let o = r.outcome;
    println!(
        "echo_batch requests={} verified={} lost={} stale={} own_replies={right}",
        o.requests, o.verified, o.lost, o.stale
    );
    Ok(())
}

/// nul-batch N: echo_batch of N messages whose last has a NUL (refused
/// before anything is sent), then of N good ones.
fn nul_batch(n: usize) -> Result<(), Error> {
    let mut c = Client::connect()?;
    let mut msgs: Vec<Vec<u8>> = (0..n).map(|i| format!("nul-{i}").into_bytes()).collect();
    if let Some(last) = msgs.last_mut() {
        last.extend_from_slice(b"\0x");
    }
    match c.echo_batch(&msgs) {
        Ok(r) => println!("refused no requests={}", r.outcome.requests),
        Err(e) => println!("refused kind={}", kind_full(&e)),
    }
    println!("after_refusal echo_requests={}", c.stats()?.echo_requests);
    let good: Vec<String> = (0..n).map(|i| format!("good-{i}")).collect();
    let r = c.echo_batch(&good)?;
    let right = r
        .replies
        .iter()
        .zip(&good)
        .filter(|(rep, m)| rep.as_ref().map(|e| e.msg == m.as_bytes()) == Some(true))
        .count();
    let o = r.outcome;
    println!(
        "echo_batch requests={} verified={} lost={} stale={} own_replies={right}",
        o.requests, o.verified, o.lost, o.stale
    );
    Ok(())
}

fn kind_full(e: &Error) -> String {
    match e {
        Error::MsgHasNul { offset } => format!("MsgHasNul offset={offset}"),
        e => kind(e),
    }
}
