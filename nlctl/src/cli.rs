//! The clap definition of `nlctl`.

use std::ffi::OsString;

use clap::{Parser, Subcommand, ValueEnum};
use genl_proto::Mode;

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
    /// socket buffer overflows, {"event":"overrun"} is printed, a warning
    /// goes to standard error and listening goes on. SIGINT and SIGTERM end
    /// the command with status 0. Lines are always compact (--pretty does
    /// not apply) and flushed one by one.
    Monitor {
        /// Exit (status 0) after N mode events.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Set the socket's receive buffer (SO_RCVBUF) to BYTES.
        #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
        rcvbuf: Option<u32>,
    },
    /// Show what the kernel reports about the family: id, version,
    /// operations and their flags, multicast groups, attribute policies.
    Info {
        /// Inspect another generic netlink family instead (e.g. nlctrl).
        #[arg(long, value_name = "NAME", default_value = genl_proto::consts::FAMILY_NAME)]
        family: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
