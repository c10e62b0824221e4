//! When the family id a client holds went stale.
//!
//! A module reload unregisters the family and registers it again, maybe
//! under another id. A request to the old id is answered by generic
//! netlink itself, before any handler of the family runs: `ENOENT` when no
//! family has the id any more, `EOPNOTSUPP` when another family took the
//! id and has no such command. Either way the request did not run, so it is
//! safe to resolve the family by name again and retry it once.

use crate::error::Error;

/// What a front end does after a family request failed with `e`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Hand the error to the caller.
    Fail,
    /// Resolve the family by name again (through the same socket) and, if
    /// it is back, retry the request once with the new id.
    Reresolve,
}

/// Whether error `e`, the answer to a request of the family (not one of
/// the controller's), says the family id went stale. Generic netlink's own
/// refusals carry no extended ACK; a handler's `ENOENT` with a message or
/// an attribute is the family's answer, not staleness.
pub(crate) fn after_error(e: &Error, retried: bool) -> Next {
    match e {
        Error::Kernel {
            errno,
            message: None,
            attr: None,
            ..
        } if !retried && (*errno == libc::ENOENT || *errno == libc::EOPNOTSUPP) => Next::Reresolve,
        _ => Next::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Op;

    #[test]
    fn stale_family_errors() {
        for errno in [libc::ENOENT, libc::EOPNOTSUPP] {
            let e = Error::kernel(Op::Echo, errno, None, None);
            assert_eq!(after_error(&e, false), Next::Reresolve);
            assert_eq!(after_error(&e, true), Next::Fail, "only once");
            let with_msg = Error::kernel(Op::Echo, errno, Some("no such thing".into()), None);
            assert_eq!(after_error(&with_msg, false), Next::Fail);
            let with_attr = Error::kernel(Op::Echo, errno, None, Some("msg".into()));
            assert_eq!(after_error(&with_attr, false), Next::Fail);
        }
        for e in [
            Error::kernel(Op::Echo, libc::EINVAL, None, None),
            Error::kernel(Op::SetMode, libc::EPERM, None, None),
            Error::ReplyLost { op: Op::Echo },
            Error::Timeout {
                op: Op::Echo,
                after: std::time::Duration::from_secs(1),
            },
        ] {
            assert_eq!(after_error(&e, false), Next::Fail, "{e:?}");
        }
    }
}
