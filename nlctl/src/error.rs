//! The error type of `nlctl`: every failure is one line and one exit status.

use std::fmt;
use std::io;

use genl_proto::netlink::ExtAck;
use nlctl::exit::Exit;

use crate::errno;

/// A failure, printed once as `nlctl: <Display>` on standard error.
#[derive(Debug)]
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

    /// The kernel refused `what` with `errno` and extended ACK `ext`;
    /// `attr` names the attribute the extended ACK points at, if known.
    pub fn kernel(what: &str, errno: i32, ext: &ExtAck, attr: Option<&str>) -> Error {
        if errno == libc::EPERM || errno == libc::EACCES {
            return Error::Permission(format!("permission denied: {what} needs CAP_NET_ADMIN"));
        }
        let text = match &ext.msg {
            Some(m) if !m.is_empty() => m.clone(),
            _ => strerror(errno),
        };
        let mut tail = errno::name(errno);
        if let Some(a) = attr {
            tail.push_str(&format!(", attribute {a}"));
        }
        Error::Rejected(one_line(&format!(
            "kernel rejected {what}: {text} ({tail})"
        )))
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

/// The text of an errno without Rust's " (os error N)" suffix.
pub fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// An I/O error's text, without Rust's " (os error N)" suffix.
pub fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("{} ({})", strerror(n), errno::name(n)),
        None => e.to_string(),
    }
}

/// Replaces line breaks so that an error is always one line.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_format() {
        let ext = ExtAck {
            msg: Some("mode out of range".into()),
            ..ExtAck::default()
        };
        let e = Error::kernel("set-mode", libc::ERANGE, &ext, Some("mode"));
        assert_eq!(e.exit(), Exit::Rejected);
        assert_eq!(
            e.to_string(),
            "kernel rejected set-mode: mode out of range (ERANGE, attribute mode)"
        );
        let e = Error::kernel("echo", libc::EINVAL, &ExtAck::default(), None);
        assert_eq!(
            e.to_string(),
            "kernel rejected echo: Invalid argument (EINVAL)"
        );
        let e = Error::kernel("set-mode", libc::EPERM, &ext, None);
        assert_eq!(e.exit(), Exit::PermissionDenied);
        assert_eq!(
            e.to_string(),
            "permission denied: set-mode needs CAP_NET_ADMIN"
        );
        assert_eq!(Error::Other("a\nb".into()).to_string(), "a b");
    }
}
