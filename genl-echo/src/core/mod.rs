//! The protocol logic of the library, without I/O (sans-IO): no system
//! call, no clock, no thread. The blocking front end (`Client`,
//! `Subscription`, `Pipeline`) and the async one feed it the datagrams they
//! receive, with the sender's address, and act on what it decides; every
//! matching, checking and ordering decision lives here, once.
//!
//! * [`requests::Requests`]: sequence numbers, requests in flight, reply
//!   classification (data, error with extended ACK, ACK, NOOP, end of dump),
//!   stale replies skipped and counted, replies lost to an overrun;
//! * [`batch::Tracker`] and [`batch::check`]: a pipelined batch of `ECHO`s;
//! * [`events::Events`]: a subscription's items in order, family removal
//!   and return (the controller's `notify` group), overruns placed after
//!   the events that were queued before the loss;
//! * [`family`]: when a request's error means the family id went stale.

pub(crate) mod batch;
pub(crate) mod events;
pub(crate) mod family;
pub(crate) mod requests;

/// One received datagram, as the front end got it from `recvfrom`,
/// `recvmsg` or one slot of `recvmmsg`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Datagram<'a> {
    /// `nl_pid` of the sender's `sockaddr_nl` (`msg_name`): 0 for the kernel.
    pub(crate) sender: u32,
    /// The bytes received (at most the buffer's length).
    pub(crate) bytes: &'a [u8],
    /// The datagram's real length (`MSG_TRUNC`): more than `bytes.len()`
    /// when it did not fit the buffer.
    pub(crate) len: usize,
}

impl<'a> Datagram<'a> {
    /// A datagram that fit its buffer.
    #[cfg(test)]
    pub(crate) fn whole(sender: u32, bytes: &'a [u8]) -> Datagram<'a> {
        Datagram {
            sender,
            bytes,
            len: bytes.len(),
        }
    }

    /// Whether the datagram was cut (larger than the buffer).
    pub(crate) fn truncated(&self) -> bool {
        self.len > self.bytes.len()
    }
}

/// Whether a datagram from port `sender` comes from the kernel. Only the
/// kernel sends from port 0; anything else (a process that can write to
/// this socket's port, e.g. with CAP_NET_ADMIN over its network namespace)
/// is dropped by every caller, with a debug log line.
pub(crate) fn from_kernel(sender: u32) -> bool {
    sender == 0
}

/// Logs a dropped datagram from a process.
pub(crate) fn log_foreign(what: &str, d: &Datagram<'_>) {
    log::debug!(
        "{what}: dropped a {}-byte datagram from port {} (not the kernel)",
        d.len,
        d.sender
    );
}

/// The sequence number in the header at the start of `bytes`, if the
/// header's seq field is there (even when the rest is malformed).
pub(crate) fn header_seq(bytes: &[u8]) -> Option<u32> {
    let s = bytes.get(8..12)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// Whether sequence number `a` comes before `b`, modulo 2^32 (RFC 1982
/// style: within half the number space).
pub(crate) fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::*;

    /// The core's state can live in a task of a multi-threaded runtime.
    #[test]
    fn state_is_send() {
        fn is_send<T: Send + 'static>() {}
        is_send::<requests::Requests>();
        is_send::<events::Events>();
        is_send::<batch::Tracker>();
        is_send::<crate::sock::Slots>();
        is_send::<crate::sock::Sock>();
    }

    #[test]
    fn only_port_zero_is_the_kernel() {
        assert!(from_kernel(0));
        assert!(!from_kernel(1));
        assert!(!from_kernel(u32::MAX));
    }

    #[test]
    fn sequence_order_wraps() {
        assert!(seq_before(1, 2));
        assert!(!seq_before(2, 2));
        assert!(seq_before(u32::MAX, 0));
        assert!(!seq_before(0, u32::MAX));
        assert!(seq_before(u32::MAX - 5, 3));
    }
}
