//! One generic netlink socket with reusable send and receive buffers.
//!
//! The socket is a neli `NlSocketHandle` (extended ACKs enabled, never an
//! `NlRouter`). Bytes are sent and received with `send(2)`/`recv(2)` on its
//! descriptor, into buffers owned here: the receive buffer is
//! [`RECV_BUF_LEN`] (128 KiB), larger than any reply of the family, and
//! `MSG_TRUNC` reports a datagram that would not fit instead of silently
//! cutting it. All parsing is genl-proto's, which validates every length.

use std::io;
use std::os::fd::AsRawFd;

use genl_proto::consts::{NLMSG_NOOP, RECV_BUF_LEN};
use genl_proto::ctrl::{self, FamilyInfo, GENL_ID_CTRL};
use genl_proto::error::{DecodeError, EncodeError};
use genl_proto::netlink::{self, ExtAck, NlMsg};
use genl_proto::{message, Attr, Cmd};
use log::{debug, log_enabled, trace, Level};
use neli::consts::socket::NlFamily;
use neli::socket::synchronous::NlSocketHandle;
use neli::utils::Groups;

use crate::error::Error;

/// Why a request failed.
#[derive(Debug)]
pub enum NetError {
    /// A system call failed.
    Io(&'static str, io::Error),
    /// The request could not be built.
    Encode(EncodeError),
    /// The reply could not be parsed.
    Decode(DecodeError),
    /// The kernel answered with an error.
    Kernel {
        /// Positive errno.
        errno: i32,
        /// Extended ACK.
        ext_ack: ExtAck,
        /// The attribute the extended ACK points at (offset or missing type).
        attr: Option<String>,
    },
    /// A datagram larger than the receive buffer.
    Truncated(usize),
    /// No reply within the receive timeout.
    Timeout,
}

impl From<DecodeError> for NetError {
    fn from(e: DecodeError) -> Self {
        NetError::Decode(e)
    }
}

impl NetError {
    /// Turns this into a one-line [`Error`] for request `what`.
    pub fn into_error(self, what: &str) -> Error {
        match self {
            NetError::Io(op, e) => Error::io(format_args!("{what}: {op}"), &e),
            NetError::Encode(
                e @ (EncodeError::MsgTooLong { .. } | EncodeError::MsgHasNul { .. }),
            ) => Error::Usage(e.to_string()),
            NetError::Encode(e) => Error::Other(format!("{what}: cannot build request: {e}")),
            NetError::Decode(e) => Error::Other(format!("undecodable reply to {what}: {e}")),
            NetError::Kernel {
                errno,
                ext_ack,
                attr,
            } => Error::kernel(what, errno, &ext_ack, attr.as_deref()),
            NetError::Truncated(n) => Error::Other(format!(
                "{what}: reply of {n} bytes does not fit the {RECV_BUF_LEN}-byte receive buffer"
            )),
            NetError::Timeout => Error::Other(format!("{what}: no reply from the kernel")),
        }
    }
}

/// Seconds to wait for a reply before giving up.
const RECV_TIMEOUT_SECS: libc::time_t = 10;

/// Opens a generic netlink socket for request/reply use: errors leave the
/// request out (`NETLINK_CAP_ACK`) and a receive gives up after
/// `RECV_TIMEOUT_SECS` instead of hanging.
pub(crate) fn open_request_socket() -> Result<NlSocketHandle, Error> {
    let sock = open_socket()?;
    set_int_opt(&sock, libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, 1)
        .map_err(|e| Error::io("setsockopt NETLINK_CAP_ACK", &e))?;
    let tv = libc::timeval {
        tv_sec: RECV_TIMEOUT_SECS,
        tv_usec: 0,
    };
    // SAFETY: tv is a valid timeval for the duration of the call.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(Error::io(
            "setsockopt SO_RCVTIMEO",
            &io::Error::last_os_error(),
        ));
    }
    Ok(sock)
}

/// A received message, as [`Conn::classify`] sorts it.
enum Incoming {
    Skip,
    Done,
    Data,
}

/// A generic netlink socket with its buffers.
pub struct Conn {
    sock: NlSocketHandle,
    pid: u32,
    seq: u32,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl Conn {
    /// Opens a generic netlink socket for requests.
    pub fn open() -> Result<Conn, Error> {
        let sock = open_request_socket()?;
        let pid = sock.pid();
        Ok(Conn {
            sock,
            pid,
            seq: initial_seq(),
            tx: Vec::with_capacity(4096),
            rx: vec![0; RECV_BUF_LEN],
        })
    }

    /// Sends one request built by `encode(seq, buf)` and returns the bytes
    /// of the reply message (header included) that answers it. An
    /// `NLMSG_ERROR` with a non-zero error becomes [`NetError::Kernel`].
    pub fn request(
        &mut self,
        encode: impl FnOnce(u32, &mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<&[u8], NetError> {
        let seq = self.send_new(encode)?;
        loop {
            let n = self.recv()?;
            let mut found = None;
            for m in netlink::messages(&self.rx[..n]) {
                let m = m?;
                match self.classify(&m, seq)? {
                    Incoming::Skip => continue,
                    Incoming::Done => {
                        return Err(NetError::Decode(DecodeError::UnexpectedType(m.ty)))
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
    pub fn dump(
        &mut self,
        encode: impl FnOnce(u32, &mut Vec<u8>) -> Result<(), EncodeError>,
        mut each: impl FnMut(&NlMsg<'_>) -> Result<(), DecodeError>,
    ) -> Result<(), NetError> {
        let seq = self.send_new(encode)?;
        loop {
            let n = self.recv()?;
            for m in netlink::messages(&self.rx[..n]) {
                let m = m?;
                match self.classify(&m, seq)? {
                    Incoming::Skip => continue,
                    Incoming::Done => {
                        let (errno, ext_ack) = netlink::parse_done(m.payload, m.flags)?;
                        if errno != 0 {
                            return Err(self.kernel_error(errno, ext_ack));
                        }
                        return Ok(());
                    }
                    Incoming::Data => each(&m)?,
                }
            }
        }
    }

    /// Resolves family `name` with `CTRL_CMD_GETFAMILY` by name (which lets
    /// the kernel autoload its module). ENOENT becomes [`Error::NotLoaded`].
    pub fn resolve(&mut self, name: &str) -> Result<FamilyInfo, Error> {
        let r = self.request(|seq, out| ctrl::encode_getfamily(name, seq, out));
        match r {
            Ok(bytes) => FamilyInfo::from_nlmsg(bytes).map_err(|e| {
                Error::Other(format!("undecodable reply to family lookup of {name}: {e}"))
            }),
            Err(NetError::Kernel { errno, .. }) if errno == libc::ENOENT => {
                Err(Error::NotLoaded(not_loaded_text(name)))
            }
            Err(e) => Err(e.into_error("family lookup")),
        }
    }

    /// What message `m` means for the request with sequence number `seq`:
    /// another request's message, an ACK or a NOOP is skipped; an
    /// `NLMSG_ERROR` with a non-zero error is the kernel's refusal.
    fn classify(&self, m: &NlMsg<'_>, seq: u32) -> Result<Incoming, NetError> {
        if !self.is_ours(m, seq) || m.ty == NLMSG_NOOP {
            return Ok(Incoming::Skip);
        }
        if netlink::is_error(m.ty) {
            let e = netlink::parse_error(m.payload, m.flags)?;
            if e.errno == 0 {
                return Ok(Incoming::Skip);
            }
            return Err(self.kernel_error(e.errno, e.ext_ack));
        }
        if netlink::is_done(m.ty) {
            return Ok(Incoming::Done);
        }
        Ok(Incoming::Data)
    }

    fn is_ours(&self, m: &NlMsg<'_>, seq: u32) -> bool {
        let ours = m.seq == seq && (m.pid == self.pid || m.pid == 0);
        if !ours {
            debug!(
                "skipping message type {:#x} seq {} pid {} (waiting for seq {seq})",
                m.ty, m.seq, m.pid
            );
        }
        ours
    }

    fn kernel_error(&self, errno: i32, ext_ack: ExtAck) -> NetError {
        let attr = ext_ack
            .offset
            .and_then(|off| self.attr_at(off))
            .or_else(|| {
                ext_ack
                    .missing_type
                    .map(|t| format!("{} (missing)", self.attr_name(t)))
            });
        debug!("kernel error {errno}: {ext_ack:?}, attribute {attr:?}");
        NetError::Kernel {
            errno,
            ext_ack,
            attr,
        }
    }

    fn is_ctrl_request(&self) -> bool {
        self.tx.get(4..6) == Some(&GENL_ID_CTRL.to_ne_bytes()[..])
    }

    fn attr_at(&self, off: u32) -> Option<String> {
        if self.is_ctrl_request() {
            let base = genl_proto::consts::NLMSG_HDRLEN + genl_proto::consts::GENL_HDRLEN;
            let o = usize::try_from(off).ok()?.checked_sub(base)?;
            let path = genl_proto::nla::path_at_offset(self.tx.get(base..)?, o);
            path.first().map(|&t| ctrl_attr_name(t))
        } else {
            message::attr_at_offset(&self.tx, off)
        }
    }

    fn attr_name(&self, t: u32) -> String {
        let t = u16::try_from(t).unwrap_or(u16::MAX);
        if self.is_ctrl_request() {
            ctrl_attr_name(t)
        } else {
            Attr::display_name(t)
        }
    }

    fn send_new(
        &mut self,
        encode: impl FnOnce(u32, &mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<u32, NetError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        self.tx.clear();
        encode(seq, &mut self.tx).map_err(NetError::Encode)?;
        if log_enabled!(Level::Debug) {
            debug!("send {} bytes: {}", self.tx.len(), summarize(&self.tx));
            dump_hex("send", &self.tx);
        }
        send_all(&self.sock, &self.tx)?;
        Ok(seq)
    }

    fn recv(&mut self) -> Result<usize, NetError> {
        let n = recv_into(&self.sock, &mut self.rx, libc::MSG_TRUNC)?;
        if log_enabled!(Level::Debug) {
            let shown = n.min(self.rx.len());
            debug!("recv {n} bytes: {}", summarize(&self.rx[..shown]));
            dump_hex("recv", &self.rx[..shown]);
        }
        if n > self.rx.len() {
            return Err(NetError::Truncated(n));
        }
        Ok(n)
    }
}

/// Opens a generic netlink socket with extended ACKs enabled.
pub fn open_socket() -> Result<NlSocketHandle, Error> {
    let sock = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
        .map_err(|e| Error::Other(format!("cannot open a generic netlink socket: {e}")))?;
    sock.enable_ext_ack(true)
        .map_err(|e| Error::Other(format!("cannot enable extended ACKs: {e}")))?;
    Ok(sock)
}

/// Sets an integer socket option.
pub fn set_int_opt(
    sock: &NlSocketHandle,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: v lives for the duration of the call; the size matches.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            opt,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn send_all(sock: &NlSocketHandle, buf: &[u8]) -> Result<(), NetError> {
    loop {
        // SAFETY: buf is valid for reads of buf.len() bytes.
        let r = unsafe { libc::send(sock.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
        if r >= 0 {
            if r as usize != buf.len() {
                return Err(NetError::Io(
                    "send",
                    io::Error::new(io::ErrorKind::WriteZero, "short send"),
                ));
            }
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(NetError::Io("send", e));
        }
    }
}

/// `recv(2)` into `buf`, retrying on EINTR. Returns the datagram's real
/// length when `flags` has `MSG_TRUNC` (which may exceed `buf.len()`).
pub fn recv_into(
    sock: &NlSocketHandle,
    buf: &mut [u8],
    flags: libc::c_int,
) -> Result<usize, NetError> {
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let r = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Err(NetError::Timeout),
            _ => return Err(NetError::Io("recv", e)),
        }
    }
}

fn initial_seq() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(1)
}

/// The "not loaded" line for family `name`.
pub fn not_loaded_text(name: &str) -> String {
    if name == genl_proto::consts::FAMILY_NAME {
        format!(
            "the {name} generic netlink family is not loaded; load it with \
             `modprobe {name}` or `insmod genl-kmod/{name}.ko`"
        )
    } else {
        format!("there is no generic netlink family {name:?}")
    }
}

/// Name of an `nlctrl` attribute type.
pub fn ctrl_attr_name(t: u16) -> String {
    match t {
        ctrl::CTRL_ATTR_FAMILY_ID => "family_id".into(),
        ctrl::CTRL_ATTR_FAMILY_NAME => "family_name".into(),
        ctrl::CTRL_ATTR_VERSION => "version".into(),
        ctrl::CTRL_ATTR_HDRSIZE => "hdrsize".into(),
        ctrl::CTRL_ATTR_MAXATTR => "maxattr".into(),
        ctrl::CTRL_ATTR_OPS => "ops".into(),
        ctrl::CTRL_ATTR_MCAST_GROUPS => "mcast_groups".into(),
        ctrl::CTRL_ATTR_POLICY => "policy".into(),
        ctrl::CTRL_ATTR_OP_POLICY => "op_policy".into(),
        ctrl::CTRL_ATTR_OP => "op".into(),
        _ => format!("attr_{t}"),
    }
}

/// A one-line description of every message in a datagram, for the debug log.
pub fn summarize(buf: &[u8]) -> String {
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
                Ok(e) if e.errno == 0 => s.push_str(" ACK"),
                Ok(e) => s.push_str(&format!(" ERROR errno={} {:?}", e.errno, e.ext_ack)),
                Err(e) => s.push_str(&format!(" ERROR <{e}>")),
            }
        } else if netlink::is_done(m.ty) {
            s.push_str(" DONE");
        } else if let Ok(g) = netlink::parse_genl(m.payload) {
            let cmd = if m.ty == GENL_ID_CTRL {
                format!("ctrl:{}", g.cmd)
            } else {
                Cmd::from(g.cmd)
                    .name()
                    .map_or_else(|| g.cmd.to_string(), str::to_owned)
            };
            s.push_str(&format!(" cmd={cmd} v{} attrs=[", g.version));
            let mut first = true;
            for a in genl_proto::nla::attrs(g.attrs) {
                if !first {
                    s.push(' ');
                }
                first = false;
                match a {
                    Ok(a) => {
                        let name = if m.ty == GENL_ID_CTRL {
                            ctrl_attr_name(a.kind)
                        } else {
                            Attr::display_name(a.kind)
                        };
                        s.push_str(&format!("{name}:{}", a.payload.len()));
                    }
                    Err(e) => {
                        s.push_str(&format!("<{e}>"));
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
