//! The clap definition of `nlctl`.

use std::ffi::OsString;

use clap::{Parser, Subcommand, ValueEnum};
use genl_echo::proto::Mode;

const ABOUT: &str = "Talk to the genl_echo generic netlink family";

const LONG_ABOUT: &str = "\
Talk to the genl_echo generic netlink family.

nlctl echoes messages through the kernel's genl_echo module, which converts \
ASCII letters to upper or lower case according to a per network namespace \
mode; it sets and reads that mode, reads the module's counters, listens to \
its mode change events and shows what the kernel reports about the family.

Every command prints exactly one JSON object on standard output (monitor \
prints one per line); keys are a stable contract documented in \
docs/json-output.md and nlctl(1). Errors are one line on standard error, \
'nlctl: <message>', with the exit status below.

The family is resolved by name through the generic netlink controller on \
every run, which lets the kernel autoload the module. Set RUST_LOG=debug to \
see every netlink message sent and received.";

/// The command line of `nlctl`.
#[derive(Debug, Parser)]
#[command(
    name = "nlctl",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = crate::exit::exit_status_help(),
    propagate_version = true,
)]
pub struct Cli {
    /// Indent the JSON output.
    #[arg(long, global = true)]
    pub pretty: bool,

    /// Run in another network namespace: NAME is a file under /run/netns
    /// (as for `ip -n`); a value containing '/' is a path (e.g.
    /// /proc/PID/ns/net).
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub netns: Option<OsString>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// A mode on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Echo messages unchanged.
    None,
    /// Convert ASCII letters to upper case.
    Upper,
    /// Convert ASCII letters to lower case.
    Lower,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::None => Mode::None,
            ModeArg::Upper => Mode::Upper,
            ModeArg::Lower => Mode::Lower,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Echo a message through the kernel, converted by the current mode.
    ///
    /// Prints {"msg":"...","mode":"..."}. If the reply is not valid UTF-8,
    /// "msg" is the lossy text and "msg_hex" has the exact bytes.
    Echo {
        /// The message; '-' reads it from standard input (one trailing
        /// newline is removed). At most 65530 bytes, no NUL byte. Use
        /// `--` before a message that starts with '-'.
        #[arg(value_name = "MSG")]
        msg: OsString,
    },
    /// Set the mode of the network namespace (needs CAP_NET_ADMIN).
    ///
    /// Prints {"mode":"...","previous":"..."}.
    SetMode {
        /// The new mode.
        #[arg(value_enum)]
        mode: ModeArg,
    },
    /// Print the current mode: {"mode":"..."}.
    GetMode,
    /// Print the module's counters for this network namespace.
    ///
    /// Prints {"mode":...,"echo_requests":N,"echo_bytes":N,
    /// "chars_converted":N,"mode_changes":N,"rejected":N}.
    Stats,
    /// Print mode change events as they happen, one JSON object per line.
    ///
    /// Each event is {"event":"mode","mode":"...","previous":"..."}. If the
    /// socket buffer overflows, {"event":"overrun"} is printed after the
    /// events that were still queued, a warning goes to standard error and
    /// listening goes on. When the module is unloaded,
    /// {"event":"family_removed"} is printed; when it is loaded again,
    /// {"event":"family_added","id":N,"version":V}, and its events follow.
    /// SIGINT and SIGTERM end the command with status 0. Lines are always
    /// compact (--pretty does not apply) and flushed one by one.
    Monitor {
        /// Exit (status 0) after N mode events.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Set the socket's receive buffer (SO_RCVBUF) to BYTES.
        #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
        rcvbuf: Option<u32>,
    },
    /// Measure echo round trips per second and their latency.
    ///
    /// For each message size, runs the selected modes: "single" (one
    /// request at a time on one socket), "batch" (--batch requests in one
    /// send, the replies drained with recvmmsg), "threads" (--threads
    /// threads, each one request at a time on its own socket),
    /// "batch-threads" (--threads threads, each sending batches), "async"
    /// (--tasks tokio tasks on one async client, whose concurrent requests
    /// go out together in one send, in a single-threaded runtime) and
    /// "async-threads" (the same in a multi-thread runtime of --threads
    /// workers, tokio's default kind). Every reply is checked:
    /// sequence number, port id, length, command and the echoed bytes.
    /// Prints one JSON object (see docs/json-output.md). The receive
    /// buffer is sized for a whole batch (SO_RCVBUFFORCE as root), or the
    /// batch is made smaller to fit it; if replies are lost anyway (ENOBUFS)
    /// the JSON reports "overruns" and "lost" and the status is 1.
    Bench {
        /// Message size in bytes, 0 to 65530; repeat for several sizes.
        #[arg(long = "size", value_name = "BYTES", default_values_t = [16u32, 1024, 32768], value_parser = clap::value_parser!(u32).range(0..=genl_echo::proto::consts::MSG_MAX as i64))]
        sizes: Vec<u32>,
        /// Measure each case for S seconds (default 1).
        #[arg(long, value_name = "S", value_parser = parse_seconds, conflicts_with = "count")]
        seconds: Option<f64>,
        /// Measure each case for N requests instead (split between threads or
        /// tasks).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Unmeasured requests before each case.
        #[arg(long, value_name = "N", default_value_t = 100)]
        warmup: u64,
        /// Requests per send in the batch modes (made smaller if the socket
        /// buffers cannot hold them).
        #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
        batch: u32,
        /// Threads in the threads and batch-threads modes, each with its own
        /// socket; the runtime's worker threads in async-threads mode.
        #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
        threads: u32,
        /// Tasks in the async modes, all on one async client (one socket).
        #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
        tasks: u32,
        /// Which cases to run.
        #[arg(long, value_enum, default_value_t = BenchMode::All)]
        mode: BenchMode,
        /// Set SO_RCVBUF(FORCE) to BYTES instead of sizing it for the batch,
        /// and do not shrink the batch to fit: a too small buffer then loses
        /// replies, which are counted and reported (status 1).
        #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
        rcvbuf: Option<u32>,
    },
    /// Show what the kernel reports about the family: id, version,
    /// operations and their flags, multicast groups, attribute policies.
    Info {
        /// Inspect another generic netlink family instead (e.g. nlctrl).
        #[arg(long, value_name = "NAME", default_value = genl_echo::proto::consts::FAMILY_NAME)]
        family: String,
    },
}

/// The cases `nlctl bench` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchMode {
    /// One request at a time on one socket.
    Single,
    /// --batch requests per send, replies drained with recvmmsg.
    Batch,
    /// --threads threads, one request at a time each.
    Threads,
    /// --threads threads, batches of --batch each.
    BatchThreads,
    /// --tasks tokio tasks on one async client, one request at a time
    /// each, in a single-threaded runtime.
    Async,
    /// The same in a multi-thread runtime of --threads workers.
    AsyncThreads,
    /// Every mode above.
    All,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v <= 3600.0 {
        Ok(v)
    } else {
        Err("must be more than 0 and at most 3600".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bench_arguments() {
        let c = Cli::try_parse_from(["nlctl", "bench"]).unwrap();
        match c.command {
            Command::Bench { sizes, .. } => assert_eq!(sizes, [16, 1024, 32768]),
            _ => panic!("not bench"),
        }
        let c = Cli::try_parse_from(["nlctl", "bench", "--size", "16", "--size", "65530"]).unwrap();
        match c.command {
            Command::Bench { sizes, mode, .. } => {
                assert_eq!(sizes, [16, 65530]);
                assert_eq!(mode, BenchMode::All);
            }
            _ => panic!("not bench"),
        }
        for bad in [
            &["nlctl", "bench", "--size", "65531"][..],
            &["nlctl", "bench", "--seconds", "0"],
            &["nlctl", "bench", "--seconds", "1", "--count", "5"],
            &["nlctl", "bench", "--batch", "0"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
