//! The blocking request path: one socket, one request at a time, driven
//! through the core's [`Requests`] (which matches and classifies every
//! reply).

use std::time::Duration;

use genl_proto::ctrl::{self, FamilyInfo, GENL_ID_CTRL};
use genl_proto::error::EncodeError;
use genl_proto::{message, netlink, nla, Attr, Cmd};
use log::{debug, log_enabled, trace, Level};

use crate::core::requests::{Answer, Kind, Requests};
use crate::error::{Error, Op};
use crate::netns::Netns;
use crate::sock::Sock;

/// Receive buffer of a request socket: larger than any reply of the family
/// (a maximum `ECHO` reply is about 64 KiB; an error reply quotes at most a
/// header with `NETLINK_CAP_ACK`) and than a controller dump datagram.
pub const RECV_BUF_LEN: usize = 128 * 1024;

/// How long a request waits for its reply by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A request socket with its buffers and the requests in flight.
pub(crate) struct Conn {
    pub(crate) sock: Sock,
    pub(crate) reqs: Requests,
    pub(crate) timeout: Duration,
    /// Set when a request or a batch was given up before its replies were
    /// all read: they, or an `ENOBUFS` for them, may still be queued. The
    /// next request then checks `SO_ERROR` and drains first; in the steady
    /// state (every reply read) that costs no system call.
    pub(crate) leftovers: bool,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl Conn {
    pub(crate) fn open(ns: Option<&Netns>) -> Result<Conn, Error> {
        let sock = Sock::open_request(ns, DEFAULT_TIMEOUT)?;
        let reqs = Requests::new(sock.pid(), initial_seq());
        Ok(Conn {
            sock,
            reqs,
            timeout: DEFAULT_TIMEOUT,
            leftovers: false,
            tx: Vec::with_capacity(4096),
            rx: vec![0; RECV_BUF_LEN],
        })
    }

    /// The socket, for another use (a subscription resolves its families
    /// on it first).
    pub(crate) fn into_sock(self) -> Sock {
        self.sock
    }

    pub(crate) fn set_timeout(&mut self, d: Duration) -> Result<(), Error> {
        self.sock
            .set_timeout(d)
            .map_err(|e| Error::io(Op::Connect, "setsockopt SO_RCVTIMEO", e))?;
        self.timeout = d;
        Ok(())
    }

    /// Sends one request built by `encode(buf)` (sequence number 0: the
    /// core writes the real one, [`Requests::start`]) and waits for its
    /// answer: the reply message of a "do" request, every message of a dump.
    pub(crate) fn request(
        &mut self,
        op: Op,
        kind: Kind,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<Answer, Error> {
        if std::mem::take(&mut self.leftovers) {
            self.clear_leftover_error();
        }
        self.tx.clear();
        let seq = self.reqs.start(op, kind, &mut self.tx, encode)?;
        if log_enabled!(Level::Debug) {
            debug!("send {} bytes: {}", self.tx.len(), summarize(&self.tx));
            dump_hex("send", &self.tx);
        }
        if let Err(e) = send_all(&self.sock, &self.tx) {
            self.reqs.cancel(seq);
            self.leftovers = true;
            return Err(Error::io(op, "send", e));
        }
        let r = self.wait(op, seq);
        if r.is_err() {
            self.reqs.cancel(seq);
            self.leftovers = true;
        }
        r
    }

    fn wait(&mut self, op: Op, seq: u32) -> Result<Answer, Error> {
        loop {
            if let Some(r) = self.reqs.take(seq) {
                return r;
            }
            match self.recv_one(0) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.reqs.on_overrun();
                    self.drain().map_err(|e| Error::io(op, "recv", e))?;
                    self.reqs.on_drained();
                }
                Err(e) => return Err(recv_error(op, e, self.timeout)),
            }
        }
    }

    /// Receives one datagram into the core.
    fn recv_one(&mut self, flags: libc::c_int) -> std::io::Result<()> {
        let d = self.sock.recv_datagram(&mut self.rx, flags)?;
        if log_enabled!(Level::Debug) {
            debug!(
                "recv {} bytes from port {}: {}",
                d.len,
                d.sender,
                summarize(d.bytes)
            );
            dump_hex("recv", d.bytes);
        }
        self.reqs.on_datagram(d);
        Ok(())
    }

    /// Reads every queued datagram without blocking.
    fn drain(&mut self) -> std::io::Result<()> {
        loop {
            match self.recv_one(libc::MSG_DONTWAIT) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.reqs.on_overrun(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and clears an error left on the socket by an earlier request
    /// (an `ENOBUFS` for a reply of an abandoned batch), so that it is not
    /// charged to the next one.
    pub(crate) fn clear_leftover_error(&mut self) {
        match self.sock.take_error() {
            Ok(0) => {}
            Ok(libc::ENOBUFS) => {
                self.reqs.on_leftover_overrun();
                // Nothing is in flight: whatever is queued is stale, and
                // would crowd out the next reply.
                if let Err(e) = self.drain() {
                    debug!("draining stale replies: {e}");
                }
            }
            Ok(e) => debug!("cleared a leftover socket error {e}"),
            Err(e) => debug!("getsockopt SO_ERROR: {e}"),
        }
    }

    /// Resolves family `name` with `CTRL_CMD_GETFAMILY` by name (which lets
    /// the kernel autoload its module). ENOENT is [`Error::NotRegistered`].
    pub(crate) fn resolve(&mut self, name: &str) -> Result<FamilyInfo, Error> {
        let op = Op::ResolveFamily;
        match self.request(op, Kind::Do, |out| ctrl::encode_getfamily(name, 0, out)) {
            Ok(a) => FamilyInfo::from_nlmsg(a.message()).map_err(Error::decode(op)),
            Err(Error::Kernel { errno, .. }) if errno == libc::ENOENT => {
                Err(Error::NotRegistered {
                    family: name.to_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }
}

/// Sends `buf` as one datagram; a netlink send is all or nothing, so a
/// short count is an error.
pub(crate) fn send_all(sock: &Sock, buf: &[u8]) -> std::io::Result<()> {
    let n = sock.send(buf)?;
    if n != buf.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            format!("short send: {n} of {} bytes", buf.len()),
        ));
    }
    Ok(())
}

/// A failed receive: `EAGAIN` after `SO_RCVTIMEO` is a timeout.
pub(crate) fn recv_error(op: Op, e: std::io::Error, timeout: Duration) -> Error {
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Error::Timeout { op, after: timeout }
    } else {
        Error::io(op, "recv", e)
    }
}

fn initial_seq() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(1)
}

/// A one-line description of every message in a datagram, for the debug log.
pub(crate) fn summarize(buf: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut parts = Vec::new();
    for m in netlink::messages(buf) {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                parts.push(format!("<malformed: {e}>"));
                break;
            }
        };
        let mut s = format!(
            "[type={:#x} flags={:#x} seq={} pid={} len={}",
            m.ty,
            m.flags,
            m.seq,
            m.pid,
            m.bytes.len()
        );
        if netlink::is_error(m.ty) {
            match netlink::parse_error(m.payload, m.flags) {
                Ok(e) => {
                    let _ = write!(s, " ERROR errno={} {:?}", e.errno, e.ext_ack);
                }
                Err(e) => {
                    let _ = write!(s, " ERROR <{e}>");
                }
            }
        } else if netlink::is_done(m.ty) {
            s.push_str(" DONE");
        } else if let Ok(g) = netlink::parse_genl(m.payload) {
            let is_ctrl = m.ty == GENL_ID_CTRL;
            let cmd = if is_ctrl {
                format!("ctrl:{}", g.cmd)
            } else {
                Cmd::from(g.cmd)
                    .name()
                    .map_or_else(|| g.cmd.to_string(), str::to_owned)
            };
            let _ = write!(s, " cmd={cmd} v{} attrs=[", g.version);
            for (i, a) in nla::attrs(g.attrs).enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                match a {
                    Ok(a) => {
                        let name = if is_ctrl {
                            ctrl::attr_name(a.kind)
                        } else {
                            Attr::display_name(a.kind)
                        };
                        let _ = write!(s, "{name}:{}", a.payload.len());
                    }
                    Err(e) => {
                        let _ = write!(s, "<{e}>");
                        break;
                    }
                }
            }
            s.push(']');
        }
        s.push(']');
        parts.push(s);
    }
    parts.join(" ")
}

/// Hex dump for the log: the first 256 bytes at debug level, all at trace.
fn dump_hex(what: &str, b: &[u8]) {
    if log_enabled!(Level::Trace) {
        trace!("{what} hex: {}", message::hex(b));
    } else {
        let shown = &b[..b.len().min(256)];
        let more = if b.len() > shown.len() { "..." } else { "" };
        debug!("{what} hex: {}{more}", message::hex(shown));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::requests::attr_named;
    use genl_proto::netlink::ExtAck;
    use genl_proto::{Mode, Request};

    #[test]
    fn ext_ack_attribute_names() {
        let mut req = Vec::new();
        Request::SetCase(Mode::Upper)
            .encode(0x20, 1, &mut req)
            .unwrap();
        let at = |offset, missing_type| {
            attr_named(
                &req,
                &ExtAck {
                    offset,
                    missing_type,
                    ..ExtAck::default()
                },
            )
        };
        assert_eq!(at(Some(20), None).as_deref(), Some("mode"));
        assert_eq!(at(Some(4), None), None);
        assert_eq!(at(None, Some(2)).as_deref(), Some("msg (missing)"));
        assert_eq!(at(None, None), None);
        let mut ctrl_req = Vec::new();
        ctrl::encode_getfamily("x", 1, &mut ctrl_req).unwrap();
        let ext = ExtAck {
            offset: Some(20),
            ..ExtAck::default()
        };
        assert_eq!(attr_named(&ctrl_req, &ext).as_deref(), Some("family_name"));
    }

    #[test]
    fn timeouts_are_their_own_kind() {
        let e = recv_error(
            Op::Echo,
            std::io::Error::from_raw_os_error(libc::EAGAIN),
            DEFAULT_TIMEOUT,
        );
        assert!(matches!(e, Error::Timeout { op: Op::Echo, .. }), "{e:?}");
        let e = recv_error(
            Op::Echo,
            std::io::Error::from_raw_os_error(libc::EBADF),
            DEFAULT_TIMEOUT,
        );
        assert!(matches!(e, Error::Io { call: "recv", .. }), "{e:?}");
    }
}
