//! The error type of `nlctl`: every failure is one line and one exit status.
//! Library errors ([`genl_echo::Error`]) are mapped here, once.

use std::fmt;
use std::io;

use genl_echo::error::{io_text, one_line};
use genl_echo::Op;
use nlctl::exit::Exit;

/// A failure, printed once as `nlctl: <Display>` on standard error.
#[derive(Debug, Clone)]
pub enum Error {
    /// Bad arguments found after parsing (exit 2).
    Usage(String),
    /// The family is not registered (exit 3).
    NotLoaded(String),
    /// Permission denied (exit 4).
    Permission(String),
    /// The kernel refused a request (exit 5).
    Rejected(String),
    /// Anything else (exit 1).
    Other(String),
    /// Standard output was closed: stop quietly (exit 0).
    BrokenPipe,
}

impl Error {
    /// The exit status.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::NotLoaded(_) => Exit::NotLoaded,
            Error::Permission(_) => Exit::PermissionDenied,
            Error::Rejected(_) => Exit::Rejected,
            Error::Other(_) => Exit::Failure,
            Error::BrokenPipe => Exit::Ok,
        }
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl fmt::Display, e: &io::Error) -> Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Error::BrokenPipe;
        }
        Error::Other(format!("{what}: {}", io_text(e)))
    }
}

/// How nlctl names an operation in its messages (its command names).
fn op_name(op: Op) -> &'static str {
    match op {
        Op::Echo => "echo",
        Op::SetMode => "set-mode",
        Op::GetMode => "get-mode",
        Op::Stats => "stats",
        Op::Subscribe => "monitor",
        Op::EchoBatch => "bench",
        op => op.name(),
    }
}

/// The "not loaded" line for family `name`.
pub fn not_loaded_text(name: &str) -> String {
    if name == genl_echo::proto::consts::FAMILY_NAME {
        format!(
            "the {name} generic netlink family is not loaded; load it with \
             `modprobe {name}` or `insmod genl-kmod/{name}.ko`"
        )
    } else {
        format!("there is no generic netlink family {name:?}")
    }
}

impl From<genl_echo::Error> for Error {
    fn from(e: genl_echo::Error) -> Error {
        use genl_echo::Error as E;
        let what = e.op().map_or("", op_name);
        match e {
            E::NotRegistered { family } => Error::NotLoaded(not_loaded_text(&family)),
            E::PermissionDenied { message, .. } => Error::Permission(match message {
                Some(m) if !m.is_empty() => {
                    format!("permission denied: {what} needs CAP_NET_ADMIN: {m}")
                }
                _ => format!("permission denied: {what} needs CAP_NET_ADMIN"),
            }),
            E::Kernel { .. } => Error::Rejected(e.display_as(what).to_string()),
            E::MsgTooLong { .. } | E::MsgHasNul { .. } => Error::Usage(e.to_string()),
            E::Timeout { .. } => Error::Other(format!("{what}: no reply from the kernel")),
            E::Io {
                op: Op::Connect,
                call,
                source,
            } => Error::io(
                format_args!("cannot open a generic netlink socket: {call}"),
                &source,
            ),
            E::Io { call, source, .. } => Error::io(format_args!("{what}: {call}"), &source),
            E::Decode { source, .. } => {
                Error::Other(format!("undecodable reply to {what}: {source}"))
            }
            E::Netns { path, call, source } => {
                let p = path.display();
                match (call, source.raw_os_error()) {
                    ("setns", Some(libc::EPERM)) => Error::Permission(format!(
                        "permission denied: entering network namespace {p} needs CAP_SYS_ADMIN"
                    )),
                    ("setns", Some(libc::EINVAL)) => {
                        Error::Other(format!("{p} is not a network namespace"))
                    }
                    ("open", _) => Error::Other(format!(
                        "cannot open network namespace {p}: {}",
                        io_text(&source)
                    )),
                    _ => Error::Other(format!(
                        "cannot enter network namespace {p}: {}",
                        io_text(&source)
                    )),
                }
            }
            e => Error::Other(e.display_as(what).to_string()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(s)
            | Error::NotLoaded(s)
            | Error::Permission(s)
            | Error::Rejected(s)
            | Error::Other(s) => f.write_str(&one_line(s)),
            Error::BrokenPipe => f.write_str("broken pipe"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn library_errors_map_to_exit_statuses_and_lines() {
        let e = Error::from(genl_echo::Error::Kernel {
            op: Op::SetMode,
            errno: libc::ERANGE,
            message: Some("mode out of range".into()),
            attr: Some("mode".into()),
        });
        assert_eq!(e.exit(), Exit::Rejected);
        assert_eq!(
            e.to_string(),
            "kernel rejected set-mode: mode out of range (ERANGE, attribute mode)"
        );
        let e = Error::from(genl_echo::Error::PermissionDenied {
            op: Op::SetMode,
            errno: libc::EPERM,
            message: None,
        });
        assert_eq!(e.exit(), Exit::PermissionDenied);
        assert_eq!(
            e.to_string(),
            "permission denied: set-mode needs CAP_NET_ADMIN"
        );
        let e = Error::from(genl_echo::Error::PermissionDenied {
            op: Op::SetMode,
            errno: libc::EPERM,
            message: Some("only in its own\nnamespace".into()),
        });
        assert_eq!(
            e.to_string(),
            "permission denied: set-mode needs CAP_NET_ADMIN: only in its own namespace"
        );
        let e = Error::from(genl_echo::Error::NotRegistered {
            family: "genl_echo".into(),
        });
        assert_eq!(e.exit(), Exit::NotLoaded);
        assert!(e.to_string().contains("not loaded"), "{e}");
        let e = Error::from(genl_echo::Error::MsgTooLong { len: 9, max: 8 });
        assert_eq!(e.exit(), Exit::Usage);
        let e = Error::from(genl_echo::Error::Netns {
            path: PathBuf::from("/run/netns/x"),
            call: "setns",
            source: io::Error::from_raw_os_error(libc::EPERM),
        });
        assert_eq!(e.exit(), Exit::PermissionDenied);
        let e = Error::from(genl_echo::Error::Io {
            op: Op::Echo,
            call: "send",
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        });
        assert!(matches!(e, Error::BrokenPipe));
        assert_eq!(Error::Other("a\nb".into()).to_string(), "a b");
    }
}
