//! The one error type of the library, [`Error`], and what it names:
//! the operation that failed ([`Op`]) and why a reply was not the one
//! expected ([`Mismatch`]).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use genl_proto::error::{DecodeError, EncodeError};

/// What the client was doing when an [`Error`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Opening or configuring a socket.
    Connect,
    /// `CTRL_CMD_GETFAMILY`: resolving a family by name.
    ResolveFamily,
    /// `CTRL_CMD_GETPOLICY`: dumping a family's attribute policies.
    Policy,
    /// `GENL_ECHO_CMD_ECHO`.
    Echo,
    /// `GENL_ECHO_CMD_SET_CASE`.
    SetMode,
    /// `GENL_ECHO_CMD_GET_CASE`.
    GetMode,
    /// `GENL_ECHO_CMD_STATS`.
    Stats,
    /// Joining or reading the `events` multicast group.
    Subscribe,
    /// The pipelined `ECHO` path ([`crate::Pipeline`], [`crate::Client::echo_batch`]).
    EchoBatch,
}

impl Op {
    /// A short lower-case name, as used in [`Error`]'s `Display`.
    pub const fn name(self) -> &'static str {
        match self {
            Op::Connect => "connect",
            Op::ResolveFamily => "family lookup",
            Op::Policy => "policy dump",
            Op::Echo => "echo",
            Op::SetMode => "set_mode",
            Op::GetMode => "get_mode",
            Op::Stats => "stats",
            Op::Subscribe => "subscribe",
            Op::EchoBatch => "echo batch",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a well-formed reply is not the answer the client expected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mismatch {
    /// A sequence number outside the requests in flight, or one that
    /// arrived before an earlier request's reply without an overrun.
    Seq {
        /// The sequence number found.
        got: u32,
        /// The sequence number expected next.
        expected: u32,
    },
    /// A reply addressed to another port id.
    Port {
        /// The port id found.
        got: u32,
        /// This socket's port id.
        expected: u32,
    },
    /// A message type other than the family's.
    Type {
        /// The type found.
        got: u16,
        /// The family id.
        expected: u16,
    },
    /// An ACK (`NLMSG_ERROR` with error 0) where a reply was expected.
    Ack,
    /// A datagram that is not exactly one reply of the expected length.
    Length {
        /// The datagram's length.
        got: usize,
        /// The length of the expected reply.
        expected: usize,
    },
    /// The echoed bytes are not the request's converted under the reply's mode.
    Content,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Seq { got, expected } => {
                write!(
                    f,
                    "reply with sequence number {got} where {expected} was expected"
                )
            }
            Mismatch::Port { got, expected } => {
                write!(f, "reply for port {got} on port {expected}")
            }
            Mismatch::Type { got, expected } => {
                write!(
                    f,
                    "reply of type {got:#x}, expected the family's {expected:#x}"
                )
            }
            Mismatch::Ack => f.write_str("an ACK instead of a reply"),
            Mismatch::Length { got, expected } => {
                write!(
                    f,
                    "a {got}-byte datagram where a {expected}-byte reply was expected"
                )
            }
            Mismatch::Content => f.write_str(
                "the echoed message is not the request converted under the reply's mode",
            ),
        }
    }
}

/// Every way a call of this library can fail.
///
/// `Display` is always one line. Variants a caller may want to act on carry
/// typed fields (errno, lengths, the operation) rather than text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The generic netlink family is not registered: the module is not
    /// loaded and the kernel could not autoload it (`ENOENT` from the
    /// controller).
    #[error("the {family} generic netlink family is not registered (is the module loaded?)")]
    NotRegistered {
        /// The family name that was looked up.
        family: String,
    },
    /// The kernel refused `op` for lack of privilege (`EPERM` or `EACCES`):
    /// `set_mode` needs CAP_NET_ADMIN over the network namespace.
    #[error("permission denied: {op} needs CAP_NET_ADMIN ({}{})", errno_name(*errno), MessageSuffix(message.as_deref()))]
    PermissionDenied {
        /// What was refused.
        op: Op,
        /// `EPERM` or `EACCES`.
        errno: i32,
        /// The extended ACK message (`NLMSGERR_ATTR_MSG`), if the kernel sent one.
        message: Option<String>,
    },
    /// The kernel refused the request with an error reply.
    #[error("{}", KernelLine { op: op.name(), errno: *errno, message: message.as_deref(), attr: attr.as_deref() })]
    Kernel {
        /// The request.
        op: Op,
        /// The positive errno of the error reply.
        errno: i32,
        /// The extended ACK message (`NLMSGERR_ATTR_MSG`), if the kernel sent one.
        message: Option<String>,
        /// The attribute the extended ACK points at (`NLMSGERR_ATTR_OFFS`
        /// resolved against the request, or `NLMSGERR_ATTR_MISS_TYPE` as
        /// `"<name> (missing)"`), e.g. `"mode"`.
        attr: Option<String>,
    },
    /// The message is longer than `GENL_ECHO_MSG_MAX`; nothing was sent.
    #[error("{}", EncodeError::MsgTooLong { len: *len, max: *max })]
    MsgTooLong {
        /// The message's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message contains a NUL byte, which a NUL-terminated string
    /// attribute cannot carry; nothing was sent.
    #[error("{}", EncodeError::MsgHasNul { offset: *offset })]
    MsgHasNul {
        /// Offset of the first NUL.
        offset: usize,
    },
    /// A request could not be encoded for another reason (a length that
    /// does not fit netlink's length fields); nothing was sent.
    #[error("{op}: cannot build the request: {source}")]
    Encode {
        /// The request.
        op: Op,
        /// Why.
        source: EncodeError,
    },
    /// No reply arrived within the receive timeout
    /// ([`crate::Client::set_timeout`]).
    #[error("{op}: no reply from the kernel within {:.1} s", after.as_secs_f64())]
    Timeout {
        /// The request.
        op: Op,
        /// The timeout that expired.
        after: Duration,
    },
    /// A system call failed.
    #[error("{op}: {call}: {}", io_text(source))]
    Io {
        /// What the client was doing.
        op: Op,
        /// The system call or socket option, e.g. `"recv"`.
        call: &'static str,
        /// The error.
        source: io::Error,
    },
    /// A reply could not be decoded (malformed framing, a missing or
    /// wrongly sized attribute, an unknown mode...).
    #[error("undecodable reply to {op}: {source}")]
    Decode {
        /// The request answered.
        op: Op,
        /// What is wrong with the bytes.
        source: DecodeError,
    },
    /// A datagram larger than the receive buffer (`MSG_TRUNC`); it was
    /// discarded, never cut.
    #[error("{op}: a {len}-byte datagram does not fit the {buf}-byte receive buffer")]
    Truncated {
        /// What the client was doing.
        op: Op,
        /// The datagram's real length.
        len: usize,
        /// The receive buffer's length.
        buf: usize,
    },
    /// A well-formed reply that does not answer the request.
    #[error("{op}: {what}")]
    UnexpectedReply {
        /// The request.
        op: Op,
        /// What was wrong.
        what: Mismatch,
    },
    /// The family has no multicast group of this name.
    #[error("the {family} family has no {group:?} multicast group")]
    NoGroup {
        /// The family.
        family: String,
        /// The group looked for.
        group: &'static str,
    },
    /// More requests than a [`crate::Pipeline`] can hold in one batch
    /// ([`crate::Pipeline::capacity`]); nothing was sent.
    #[error("a batch of {requested} requests exceeds the pipeline's capacity of {capacity}")]
    TooManyRequests {
        /// Requests in the batch.
        requested: usize,
        /// The pipeline's capacity.
        capacity: usize,
    },
    /// The kernel ran the request but dropped its reply: the request
    /// socket's receive buffer overran (`ENOBUFS`). The request's effect
    /// (e.g. a mode change) took place.
    #[error("{op}: the kernel dropped the reply (receive buffer overrun); the request did run")]
    ReplyLost {
        /// The request.
        op: Op,
    },
    /// A network namespace could not be opened or entered.
    #[error("cannot enter network namespace {}: {call}: {}", path.display(), io_text(source))]
    Netns {
        /// The namespace file.
        path: PathBuf,
        /// `"open"` or `"setns"`.
        call: &'static str,
        /// The error (`EPERM` from `setns` without CAP_SYS_ADMIN, `EINVAL`
        /// for a file that is not a network namespace).
        source: io::Error,
    },
}

impl Error {
    /// The errno behind this error, if there is one: the kernel's for
    /// [`Error::Kernel`] and [`Error::PermissionDenied`], the system call's
    /// for [`Error::Io`] and [`Error::Netns`].
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } | Error::PermissionDenied { errno, .. } => Some(*errno),
            Error::Io { source, .. } | Error::Netns { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The operation that failed, where there is one.
    pub fn op(&self) -> Option<Op> {
        match self {
            Error::PermissionDenied { op, .. }
            | Error::Kernel { op, .. }
            | Error::Encode { op, .. }
            | Error::Timeout { op, .. }
            | Error::Io { op, .. }
            | Error::Decode { op, .. }
            | Error::Truncated { op, .. }
            | Error::UnexpectedReply { op, .. }
            | Error::ReplyLost { op } => Some(*op),
            _ => None,
        }
    }

    /// [`Error::Kernel`]'s line with `name` in place of the operation's
    /// name (a program may call its operations differently); any other
    /// error's `Display` unchanged.
    pub fn display_as<'a>(&'a self, name: &'a str) -> impl fmt::Display + 'a {
        DisplayAs { e: self, name }
    }

    pub(crate) fn io(op: Op, call: &'static str, source: io::Error) -> Error {
        Error::Io { op, call, source }
    }

    pub(crate) fn decode(op: Op) -> impl FnOnce(DecodeError) -> Error {
        move |source| Error::Decode { op, source }
    }

    pub(crate) fn encode(op: Op, e: EncodeError) -> Error {
        match e {
            EncodeError::MsgTooLong { len, max } => Error::MsgTooLong { len, max },
            EncodeError::MsgHasNul { offset } => Error::MsgHasNul { offset },
            source => Error::Encode { op, source },
        }
    }

    /// The error for an `NLMSG_ERROR` reply with `errno` to `op`.
    pub(crate) fn kernel(
        op: Op,
        errno: i32,
        message: Option<String>,
        attr: Option<String>,
    ) -> Error {
        if errno == libc::EPERM || errno == libc::EACCES {
            Error::PermissionDenied { op, errno, message }
        } else {
            Error::Kernel {
                op,
                errno,
                message,
                attr,
            }
        }
    }
}

/// `": <message>"` for a non-empty extended ACK message, on one line.
struct MessageSuffix<'a>(Option<&'a str>);

impl fmt::Display for MessageSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(m) if !m.is_empty() => write!(f, ": {}", one_line(m)),
            _ => Ok(()),
        }
    }
}

struct DisplayAs<'a> {
    e: &'a Error,
    name: &'a str,
}

impl fmt::Display for DisplayAs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.e {
            Error::Kernel {
                errno,
                message,
                attr,
                ..
            } => KernelLine {
                op: self.name,
                errno: *errno,
                message: message.as_deref(),
                attr: attr.as_deref(),
            }
            .fmt(f),
            e => e.fmt(f),
        }
    }
}

/// `kernel rejected <op>: <message or strerror> (<ERRNO>[, attribute <a>])`,
/// on one line whatever the kernel's message contains.
struct KernelLine<'a> {
    op: &'a str,
    errno: i32,
    message: Option<&'a str>,
    attr: Option<&'a str>,
}

impl fmt::Display for KernelLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.message {
            Some(m) if !m.is_empty() => one_line(m),
            _ => strerror(self.errno),
        };
        write!(
            f,
            "kernel rejected {}: {text} ({}",
            self.op,
            errno_name(self.errno)
        )?;
        if let Some(a) = self.attr {
            write!(f, ", attribute {}", one_line(a))?;
        }
        f.write_str(")")
    }
}

/// Replaces line breaks so that a message is always one line.
pub fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The text of an errno without Rust's ` (os error N)` suffix, e.g.
/// `"Invalid argument"`.
pub fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// An I/O error's text: `"Permission denied (EPERM)"` for an OS error,
/// its `Display` otherwise.
pub fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("{} ({})", strerror(n), errno_name(n)),
        None => e.to_string(),
    }
}

/// The symbolic name of errno `e` (positive), e.g. `"EINVAL"`, or
/// `"errno N"` if this table does not know it.
pub fn errno_name(e: i32) -> String {
    let n = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::ENODATA => "ENODATA",
        libc::EPROTO => "EPROTO",
        libc::EBADMSG => "EBADMSG",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::ENOBUFS => "ENOBUFS",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EALREADY => "EALREADY",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::ECANCELED => "ECANCELED",
        _ => return format!("errno {e}"),
    };
    n.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_map_and_format() {
        let e = Error::kernel(
            Op::SetMode,
            libc::ERANGE,
            Some("integer out of range".into()),
            Some("mode".into()),
        );
        assert!(matches!(
            e,
            Error::Kernel {
                op: Op::SetMode,
                errno: libc::ERANGE,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "kernel rejected set_mode: integer out of range (ERANGE, attribute mode)"
        );
        assert_eq!(
            e.display_as("set-mode").to_string(),
            "kernel rejected set-mode: integer out of range (ERANGE, attribute mode)"
        );
        assert_eq!(e.errno(), Some(libc::ERANGE));
        assert_eq!(e.op(), Some(Op::SetMode));
        let e = Error::kernel(Op::Echo, libc::EINVAL, None, None);
        assert_eq!(
            e.to_string(),
            "kernel rejected echo: Invalid argument (EINVAL)"
        );
        let e = Error::kernel(Op::Echo, libc::EINVAL, Some(String::new()), None);
        assert_eq!(
            e.to_string(),
            "kernel rejected echo: Invalid argument (EINVAL)"
        );
    }

    #[test]
    fn permission_errors_are_their_own_kind() {
        for errno in [libc::EPERM, libc::EACCES] {
            let e = Error::kernel(Op::SetMode, errno, Some("x".into()), None);
            assert!(
                matches!(
                    e,
                    Error::PermissionDenied {
                        op: Op::SetMode,
                        ..
                    }
                ),
                "{e:?}"
            );
            assert_eq!(e.errno(), Some(errno));
        }
        assert_eq!(
            Error::kernel(Op::SetMode, libc::EPERM, None, None).to_string(),
            "permission denied: set_mode needs CAP_NET_ADMIN (EPERM)"
        );
    }

    #[test]
    fn permission_errors_keep_the_extack_text() {
        let e = Error::kernel(Op::SetMode, libc::EPERM, Some("needs\nadmin".into()), None);
        match &e {
            Error::PermissionDenied { message, .. } => {
                assert_eq!(message.as_deref(), Some("needs\nadmin"))
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(
            e.to_string(),
            "permission denied: set_mode needs CAP_NET_ADMIN (EPERM: needs admin)"
        );
    }

    #[test]
    fn encode_errors_map_to_typed_variants() {
        let e = Error::encode(Op::Echo, EncodeError::MsgTooLong { len: 9, max: 8 });
        assert!(matches!(e, Error::MsgTooLong { len: 9, max: 8 }));
        let e = Error::encode(Op::Echo, EncodeError::MsgHasNul { offset: 3 });
        assert!(matches!(e, Error::MsgHasNul { offset: 3 }));
        let e = Error::encode(
            Op::Echo,
            EncodeError::TooLong {
                what: "attribute",
                len: 70000,
            },
        );
        assert!(matches!(e, Error::Encode { op: Op::Echo, .. }));
    }

    #[test]
    fn every_display_is_one_line() {
        let errors = [
            Error::NotRegistered {
                family: "genl_echo".into(),
            },
            Error::kernel(
                Op::Echo,
                libc::EINVAL,
                Some("two\nlines\r".into()),
                Some("a\nb".into()),
            ),
            Error::Timeout {
                op: Op::Stats,
                after: Duration::from_secs(10),
            },
            Error::io(
                Op::Connect,
                "socket",
                io::Error::from_raw_os_error(libc::EMFILE),
            ),
            Error::Decode {
                op: Op::Echo,
                source: DecodeError::MissingAttr("GENL_ECHO_A_MSG"),
            },
            Error::Truncated {
                op: Op::Subscribe,
                len: 9,
                buf: 8,
            },
            Error::UnexpectedReply {
                op: Op::EchoBatch,
                what: Mismatch::Seq {
                    got: 5,
                    expected: 4,
                },
            },
            Error::NoGroup {
                family: "genl_echo".into(),
                group: "events",
            },
            Error::Netns {
                path: "/run/netns/x".into(),
                call: "setns",
                source: io::Error::from_raw_os_error(libc::EPERM),
            },
            Error::TooManyRequests {
                requested: 9,
                capacity: 8,
            },
            Error::ReplyLost { op: Op::SetMode },
        ];
        for e in &errors {
            let s = e.to_string();
            assert!(
                !s.contains('\n') && !s.contains('\r') && !s.is_empty(),
                "{s:?}"
            );
        }
        assert_eq!(
            errors[3].to_string(),
            "connect: socket: Too many open files (EMFILE)"
        );
        assert_eq!(
            errors[4].to_string(),
            "undecodable reply to echo: missing attribute GENL_ECHO_A_MSG"
        );
        assert_eq!(errors[1].errno(), Some(libc::EINVAL));
        assert_eq!(errors[8].errno(), Some(libc::EPERM));
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::EINVAL), "EINVAL");
        assert_eq!(errno_name(libc::EOPNOTSUPP), "EOPNOTSUPP");
        assert_eq!(errno_name(9999), "errno 9999");
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
    }
}
