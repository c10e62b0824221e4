//! Request/reply on one socket: sequence numbers, matching a reply to its
//! request, error replies with their extended ACK, dumps. The only reply
//! classifier of the project; the pipelined path ([`crate::batch`]) adds
//! the checks a batch needs on top of the same decoders.

use std::time::Duration;

use genl_proto::consts::{GENL_HDRLEN, NLMSG_HDRLEN, NLMSG_NOOP};
use genl_proto::ctrl::{self, FamilyInfo, GENL_ID_CTRL};
use genl_proto::error::{DecodeError, EncodeError};
use genl_proto::netlink::{self, ExtAck, NlMsg};
use genl_proto::{message, nla, Attr, Cmd};
use log::{debug, log_enabled, trace, Level};

use crate::error::{Error, Op};
use crate::netns::Netns;
use crate::sock::Sock;

/// Receive buffer of a request socket: larger than any reply of the family
/// (a maximum `ECHO` reply is about 64 KiB; an error reply quotes at most a
/// header with `NETLINK_CAP_ACK`) and than a controller dump datagram.
pub const RECV_BUF_LEN: usize = 128 * 1024;

/// How long a request waits for its reply by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A received message, as [`Conn::classify`] sorts it.
enum Incoming {
    Skip,
    Done,
    Data,
}

/// A request socket with its buffers and sequence numbers.
pub(crate) struct Conn {
    pub(crate) sock: Sock,
    pub(crate) seq: u32,
    pub(crate) timeout: Duration,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl Conn {
    pub(crate) fn open(ns: Option<&Netns>) -> Result<Conn, Error> {
        Ok(Conn {
            sock: Sock::open_request(ns, DEFAULT_TIMEOUT)?,
            seq: initial_seq(),
            timeout: DEFAULT_TIMEOUT,
            tx: Vec::with_capacity(4096),
            rx: vec![0; RECV_BUF_LEN],
        })
    }

    pub(crate) fn set_timeout(&mut self, d: Duration) -> Result<(), Error> {
        self.sock
            .set_timeout(d)
            .map_err(|e| Error::io(Op::Connect, "setsockopt SO_RCVTIMEO", e))?;
        self.timeout = d;
        Ok(())
    }

    /// The next sequence number.
    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends one request built by `encode(seq, buf)` and returns the reply
    /// message (header included) that answers it.
    pub(crate) fn request(
        &mut self,
        op: Op,
        encode: impl FnOnce(u32, &mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<&[u8], Error> {
        let seq = self.send_new(op, encode)?;
        loop {
            let n = self.recv(op)?;
            let mut found = None;
            for m in netlink::messages(&self.rx[..n]) {
                let m = m.map_err(Error::decode(op))?;
                match self.classify(op, &m, seq)? {
                    Incoming::Skip => continue,
                    Incoming::Done => {
                        return Err(Error::Decode {
                            op,
                            source: DecodeError::UnexpectedType(m.ty),
                        })
                    }
                    Incoming::Data => {
                        found = Some((m.offset, m.offset + m.bytes.len()));
                        break;
                    }
                }
            }
            if let Some((s, e)) = found {
                return Ok(&self.rx[s..e]);
            }
        }
    }

    /// Sends a dump request built by `encode(seq, buf)` and calls `each`
    /// with every reply message until `NLMSG_DONE`.
    pub(crate) fn dump(
        &mut self,
        op: Op,
        encode: impl FnOnce(u32, &mut Vec<u8>) -> Result<(), EncodeError>,
        mut each: impl FnMut(&NlMsg<'_>) -> Result<(), DecodeError>,
    ) -> Result<(), Error> {
        let seq = self.send_new(op, encode)?;
        loop {
            let n = self.recv(op)?;
            for m in netlink::messages(&self.rx[..n]) {
                let m = m.map_err(Error::decode(op))?;
                match self.classify(op, &m, seq)? {
                    Incoming::Skip => continue,
                    Incoming::Done => {
                        let (errno, ext_ack) =
                            netlink::parse_done(m.payload, m.flags).map_err(Error::decode(op))?;
                        if errno != 0 {
                            return Err(self.kernel_error(op, errno, ext_ack));
                        }
                        return Ok(());
                    }
                    Incoming::Data => each(&m).map_err(Error::decode(op))?,
                }
            }
        }
    }

    /// Resolves family `name` with `CTRL_CMD_GETFAMILY` by name (which lets
    /// the kernel autoload its module). ENOENT is [`Error::NotRegistered`].
    pub(crate) fn resolve(&mut self, name: &str) -> Result<FamilyInfo, Error> {
        let op = Op::ResolveFamily;
        match self.request(op, |seq, out| ctrl::encode_getfamily(name, seq, out)) {
            Ok(bytes) => FamilyInfo::from_nlmsg(bytes).map_err(Error::decode(op)),
            Err(Error::Kernel { errno, .. }) if errno == libc::ENOENT => {
                Err(Error::NotRegistered {
                    family: name.to_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// What message `m` means for the request with sequence number `seq`:
    /// another request's message, an ACK or a NOOP is skipped; an
    /// `NLMSG_ERROR` with a non-zero error is the kernel's refusal.
    fn classify(&self, op: Op, m: &NlMsg<'_>, seq: u32) -> Result<Incoming, Error> {
        let ours = m.seq == seq && (m.pid == self.sock.pid() || m.pid == 0);
        if !ours || m.ty == NLMSG_NOOP {
            debug!(
                "skipping message type {:#x} seq {} pid {} (waiting for seq {seq})",
                m.ty, m.seq, m.pid
            );
            return Ok(Incoming::Skip);
        }
        if netlink::is_error(m.ty) {
            let e = netlink::parse_error(m.payload, m.flags).map_err(Error::decode(op))?;
            if e.errno == 0 {
                return Ok(Incoming::Skip);
            }
            return Err(self.kernel_error(op, e.errno, e.ext_ack));
        }
        if netlink::is_done(m.ty) {
            return Ok(Incoming::Done);
        }
        Ok(Incoming::Data)
    }

    /// The error for an error reply to the request in `tx`.
    fn kernel_error(&self, op: Op, errno: i32, ext_ack: ExtAck) -> Error {
        let attr = attr_named(&self.tx, &ext_ack);
        debug!("kernel error {errno}: {ext_ack:?}, attribute {attr:?}");
        Error::kernel(op, errno, ext_ack.msg, attr)
    }

    fn send_new(
        &mut self,
        op: Op,
        encode: impl FnOnce(u32, &mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<u32, Error> {
        let seq = self.next_seq();
        self.tx.clear();
        encode(seq, &mut self.tx).map_err(|e| Error::encode(op, e))?;
        if log_enabled!(Level::Debug) {
            debug!("send {} bytes: {}", self.tx.len(), summarize(&self.tx));
            dump_hex("send", &self.tx);
        }
        let n = self
            .sock
            .send(&self.tx)
            .map_err(|e| Error::io(op, "send", e))?;
        if n != self.tx.len() {
            return Err(Error::UnexpectedReply {
                op,
                what: crate::error::Mismatch::ShortSend {
                    sent: n,
                    len: self.tx.len(),
                },
            });
        }
        Ok(seq)
    }

    fn recv(&mut self, op: Op) -> Result<usize, Error> {
        let n = self
            .sock
            .recv(&mut self.rx, 0)
            .map_err(|e| recv_error(op, e, self.timeout))?;
        if log_enabled!(Level::Debug) {
            let shown = n.min(self.rx.len());
            debug!("recv {n} bytes: {}", summarize(&self.rx[..shown]));
            dump_hex("recv", &self.rx[..shown]);
        }
        if n > self.rx.len() {
            return Err(Error::Truncated {
                op,
                len: n,
                buf: self.rx.len(),
            });
        }
        Ok(n)
    }
}

/// A failed receive: `EAGAIN` after `SO_RCVTIMEO` is a timeout.
pub(crate) fn recv_error(op: Op, e: std::io::Error, timeout: Duration) -> Error {
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Error::Timeout { op, after: timeout }
    } else {
        Error::io(op, "recv", e)
    }
}

/// Names the attribute an extended ACK points at in `request` (a whole
/// netlink message): the offset's attribute, or the missing type.
pub(crate) fn attr_named(request: &[u8], ext: &ExtAck) -> Option<String> {
    let is_ctrl = request.get(4..6) == Some(&GENL_ID_CTRL.to_ne_bytes()[..]);
    let at_offset = |off: u32| {
        if is_ctrl {
            let base = NLMSG_HDRLEN + GENL_HDRLEN;
            let o = usize::try_from(off).ok()?.checked_sub(base)?;
            let path = nla::path_at_offset(request.get(base..)?, o);
            path.first().map(|&t| ctrl::attr_name(t))
        } else {
            message::attr_at_offset(request, off)
        }
    };
    ext.offset.and_then(at_offset).or_else(|| {
        ext.missing_type.map(|t| {
            let t = u16::try_from(t).unwrap_or(u16::MAX);
            let name = if is_ctrl {
                ctrl::attr_name(t)
            } else {
                Attr::display_name(t)
            };
            format!("{name} (missing)")
        })
    })
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
