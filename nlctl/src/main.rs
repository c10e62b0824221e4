//! `nlctl`: command-line client for the `genl_echo` generic netlink family.
//!
//! `main` parses the command line (clap prints usage errors itself, status
//! 2), runs the command and turns any [`Error`] into one `nlctl: ...` line
//! on standard error and the exit status from [`nlctl::exit::Exit`].

mod bench;
mod error;
mod info;
mod monitor;
mod netns;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;

use clap::Parser;
use genl_echo::proto::consts::{FAMILY_NAME, FAMILY_VERSION, MSG_MAX};
use genl_echo::proto::message::validate_msg;
use genl_echo::proto::ModeReply;
use genl_echo::{Client, FamilyInfo};
use nlctl::cli::{Cli, Command};
use nlctl::exit::Exit;
use serde::Serialize;

use crate::error::Error;

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
        .format_timestamp(None)
        .init();
    match run(cli) {
        Ok(()) => Exit::Ok.into(),
        Err(Error::BrokenPipe) => Exit::Ok.into(),
        Err(e) => {
            let _ = writeln!(io::stderr().lock(), "nlctl: {e}");
            e.exit().into()
        }
    }
}

/// Prints `nlctl: warning: <msg>` on standard error.
pub(crate) fn warn(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "nlctl: warning: {msg}");
}

/// Warns when the kernel's genl_echo version is not the one genl-proto speaks.
pub(crate) fn check_version(fam: &FamilyInfo) {
    if fam.name == FAMILY_NAME && fam.version != u32::from(FAMILY_VERSION) {
        warn(&format!(
            "the kernel's {FAMILY_NAME} family is version {}, nlctl speaks version {FAMILY_VERSION}",
            fam.version
        ));
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    // Arguments are checked (and stdin read) before anything else, so a
    // usage error never opens a socket or enters a namespace.
    let msg = match &cli.command {
        Command::Echo { msg } => Some(read_message(msg)?),
        _ => None,
    };
    if let Some(ns) = &cli.netns {
        netns::enter(ns)?;
    }
    let pretty = cli.pretty;
    match cli.command {
        Command::Echo { .. } => {
            let msg = msg.unwrap_or_default();
            emit(pretty, &connect()?.echo(&msg)?)
        }
        Command::SetMode { mode } => emit(pretty, &connect()?.set_mode(mode.into())?),
        Command::GetMode => emit(
            pretty,
            &ModeReply {
                mode: connect()?.get_mode()?,
            },
        ),
        Command::Stats => emit(pretty, &connect()?.stats()?),
        Command::Monitor { count, rcvbuf } => monitor::run(count, rcvbuf),
        Command::Info { family } => emit(pretty, &info::run(&family)?),
        Command::Bench {
            sizes,
            seconds,
            count,
            warmup,
            batch,
            threads,
            tasks,
            mode,
            rcvbuf,
        } => {
            let opts = bench::Options {
                sizes: sizes.into_iter().map(|s| s as usize).collect(),
                seconds: seconds.unwrap_or(bench::DEFAULT_SECONDS),
                count,
                warmup,
                batch: batch as usize,
                threads: threads as usize,
                tasks: tasks as usize,
                mode,
                rcvbuf: rcvbuf.map(|b| b as usize),
            };
            let report = bench::run(&opts)?;
            emit(pretty, &report)?;
            match report.losses() {
                (0, 0) => Ok(()),
                (lost, overruns) => Err(Error::Other(format!(
                    "{lost} replies lost in {overruns} receive buffer overruns (ENOBUFS); \
                     see \"overruns\" and \"lost\" in the output"
                ))),
            }
        }
    }
}

/// The message of `echo`: the argument's bytes, or standard input for `-`
/// with exactly one trailing newline removed. Too long or containing NUL is
/// a usage error.
fn read_message(arg: &OsString) -> Result<Vec<u8>, Error> {
    let mut msg = if arg == "-" {
        let limit = MSG_MAX + 2;
        let mut buf = Vec::with_capacity(4096);
        io::stdin()
            .lock()
            .take(limit as u64)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("reading the message from standard input", &e))?;
        if buf.len() == limit {
            return Err(Error::Usage(format!(
                "message too long: more than {MSG_MAX} bytes, the limit is {MSG_MAX} bytes (GENL_ECHO_MSG_MAX)"
            )));
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        buf
    } else {
        arg.clone().into_vec()
    };
    validate_msg(&msg).map_err(|e| Error::Usage(e.to_string()))?;
    msg.shrink_to_fit();
    Ok(msg)
}

/// Connects to the family (resolving it by name) and warns about a
/// version mismatch.
pub(crate) fn connect() -> Result<Client, Error> {
    let c = Client::connect()?;
    check_version(c.family());
    Ok(c)
}

/// Prints one JSON object and a newline on standard output.
fn emit<T: Serialize>(pretty: bool, v: &T) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    let r = if pretty {
        serde_json::to_writer_pretty(&mut out, v)
    } else {
        serde_json::to_writer(&mut out, v)
    };
    r.map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing to standard output", &e))
}
