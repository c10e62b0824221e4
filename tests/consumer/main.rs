//! genl-echo-probe: a program outside the workspace that uses the genl-echo
//! library as a user would (tests/build-consumer.sh copies this file into a
//! new Cargo project in a temporary folder, depending on genl-echo by path,
//! and builds it). tests/vm/test_library.py runs it against the module.
//!
//! One command per run; one line of `key=value` words per result; an error
//! is printed as `error kind=<Variant> ...` (exit 1), so the test sees which
//! variant the library returned.

use std::process::ExitCode;

use genl_echo::{Client, Controller, Error, Event, Mode, PipelineOptions};

fn mode(s: &str) -> Mode {
    s.parse().unwrap_or(Mode::None)
}

fn run(args: &[String]) -> Result<(), Error> {
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match a(0) {
        "echo" => {
            let r = Client::connect()?.echo(a(1).as_bytes())?;
            println!("echo msg={} mode={}", String::from_utf8_lossy(&r.msg), r.mode);
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
            let ops: Vec<String> = f.ops.iter().map(|o| format!("{}:{}", o.id, o.flags.0)).collect();
            let groups: Vec<String> =
                f.mcast_groups.iter().map(|g| format!("{}:{}", g.name, g.id)).collect();
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
                    println!("echo msg={} mode={}", String::from_utf8_lossy(&r.msg), r.mode);
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
                    Some(e) => println!("reply msg={} mode={}", String::from_utf8_lossy(&e.msg), e.mode),
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
        cmd => {
            eprintln!("usage: genl-echo-probe echo|echo-len|set|get|stats|family|policy|netns|resolve|batch|pipeline|overrun ARGS ({cmd:?})");
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
