//! The one socket layer of the project: a neli `NlSocketHandle` (connect,
//! port id, extended ACKs, memberships, buffer sizes) driven with
//! `send(2)`, `recv(2)` and `recvmmsg(2)` on its descriptor, into buffers
//! owned by the caller. `MSG_TRUNC` is always passed, so a datagram larger
//! than the buffer is reported, never silently cut (neli's own receive
//! path does not detect truncation: see docs/neli.md).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::socket::synchronous::NlSocketHandle;
use neli::utils::Groups;

use crate::core::Datagram;
use crate::error::{Error, Op};
use crate::netns::{self, Netns};

/// neli's socket error as an `io::Error` (keeping the errno when there is one).
fn neli_io(e: SocketError) -> io::Error {
    match e {
        SocketError::Io(e) => e.raw_os_error().map_or_else(
            || io::Error::new(e.kind(), e.to_string()),
            io::Error::from_raw_os_error,
        ),
        e => io::Error::other(e.to_string()),
    }
}

/// A generic netlink socket.
pub(crate) struct Sock {
    handle: NlSocketHandle,
    pid: u32,
}

impl AsRawFd for Sock {
    fn as_raw_fd(&self) -> RawFd {
        self.handle.as_raw_fd()
    }
}

impl Sock {
    /// Opens a generic netlink socket with extended ACKs, in network
    /// namespace `ns` if given (the socket stays in the namespace it was
    /// created in).
    pub(crate) fn open(ns: Option<&Netns>) -> Result<Sock, Error> {
        match ns {
            None => Sock::open_here(),
            Some(f) => netns::in_namespace(f, Sock::open_here),
        }
    }

    fn open_here() -> Result<Sock, Error> {
        let handle = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error::io(Op::Connect, "socket", neli_io(e)))?;
        handle
            .enable_ext_ack(true)
            .map_err(|e| Error::io(Op::Connect, "setsockopt NETLINK_EXT_ACK", neli_io(e)))?;
        let pid = handle.pid();
        Ok(Sock { handle, pid })
    }

    /// Opens a socket for requests: also `NETLINK_CAP_ACK` (error replies
    /// do not quote the request) and a receive timeout.
    pub(crate) fn open_request(ns: Option<&Netns>, timeout: Duration) -> Result<Sock, Error> {
        let s = Sock::open(ns)?;
        s.set_int(libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, 1)
            .map_err(|e| Error::io(Op::Connect, "setsockopt NETLINK_CAP_ACK", e))?;
        s.set_timeout(timeout)
            .map_err(|e| Error::io(Op::Connect, "setsockopt SO_RCVTIMEO", e))?;
        Ok(s)
    }

    /// The port id the kernel bound the socket to.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Joins multicast group `id` (`NETLINK_ADD_MEMBERSHIP`, any group id).
    pub(crate) fn join(&self, id: u32) -> io::Result<()> {
        self.handle
            .add_mcast_membership(Groups::new_groups(&[id]))
            .map_err(neli_io)
    }

    /// Sets `SO_RCVBUF` (capped by `rmem_max`; the kernel doubles it). A
    /// size beyond `c_int` asks for the largest allowed, never a wrapped
    /// value.
    pub(crate) fn set_rcvbuf(&self, bytes: usize) -> io::Result<()> {
        self.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, buf_int(bytes))
    }

    /// Makes every call on the socket non-blocking (`O_NONBLOCK`), for a
    /// front end that waits in its own event loop.
    #[allow(dead_code)]
    pub(crate) fn set_nonblocking(&self) -> io::Result<()> {
        // SAFETY: fcntl on a descriptor this socket owns; no pointers.
        let flags = unsafe { libc::fcntl(self.as_raw_fd(), libc::F_GETFL) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above.
        let r = unsafe { libc::fcntl(self.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`): 0 if none.
    pub(crate) fn take_error(&self) -> io::Result<i32> {
        self.get_opt(libc::SO_ERROR, 0)
    }

    /// Sets socket option `opt` at `level` to the bytes of `v`.
    fn set_opt<T>(&self, level: libc::c_int, opt: libc::c_int, v: &T) -> io::Result<()> {
        // SAFETY: v points at a T that lives for the duration of the call;
        // the size passed is T's.
        let r = unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                level,
                opt,
                (v as *const T).cast(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Sets an integer socket option.
    pub(crate) fn set_int(
        &self,
        level: libc::c_int,
        opt: libc::c_int,
        v: libc::c_int,
    ) -> io::Result<()> {
        self.set_opt(level, opt, &v)
    }

    /// Reads an integer `SOL_SOCKET` option.
    pub(crate) fn get_int(&self, opt: libc::c_int) -> io::Result<usize> {
        let v: libc::c_int = self.get_opt(opt, 0)?;
        Ok(usize::try_from(v).unwrap_or(0))
    }

    /// Reads `SOL_SOCKET` option `opt` into a `T` (`init` until written).
    /// `T` must be a plain C type that any bytes the kernel writes make
    /// valid (an integer, a `timeval`).
    fn get_opt<T>(&self, opt: libc::c_int, init: T) -> io::Result<T> {
        let mut v = init;
        let mut len = std::mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: v and len are valid for writes; len is v's size, so the
        // kernel writes at most that many bytes into v.
        let r = unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&mut v as *mut T).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(v)
    }

    /// Sets a socket buffer to `bytes` (the kernel doubles it): the
    /// `*FORCE` option first, which ignores `rmem_max`/`wmem_max` but needs
    /// CAP_NET_ADMIN, then the ordinary one, which is capped.
    pub(crate) fn set_buf(
        &self,
        force: libc::c_int,
        plain: libc::c_int,
        bytes: usize,
    ) -> io::Result<()> {
        let v = buf_int(bytes);
        if self.set_int(libc::SOL_SOCKET, force, v).is_ok() {
            return Ok(());
        }
        self.set_int(libc::SOL_SOCKET, plain, v)
    }

    /// Sets the receive timeout (`SO_RCVTIMEO`); zero waits forever.
    pub(crate) fn set_timeout(&self, d: Duration) -> io::Result<()> {
        self.set_opt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeval(d))
    }

    /// Reads the receive timeout (`SO_RCVTIMEO`).
    #[cfg(test)]
    pub(crate) fn timeout(&self) -> io::Result<Duration> {
        // SAFETY: an all-zero timeval is valid.
        let tv: libc::timeval = self.get_opt(libc::SO_RCVTIMEO, unsafe { std::mem::zeroed() })?;
        let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
        let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
        Ok(Duration::new(secs, micros.saturating_mul(1000)))
    }

    /// Sends `buf` as one datagram, retrying on EINTR. Returns the bytes sent.
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        loop {
            // SAFETY: buf is valid for reads of buf.len() bytes.
            let r = unsafe { libc::send(self.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
            if let Ok(n) = usize::try_from(r) {
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Sends `buf` as one datagram to port `pid` (a test's forger).
    #[cfg(test)]
    pub(crate) fn send_to(&self, buf: &[u8], pid: u32) -> io::Result<usize> {
        let mut addr = empty_addr();
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_pid = pid;
        // SAFETY: buf is valid for reads of buf.len() bytes; addr is a
        // valid sockaddr_nl of the size passed.
        let r = unsafe {
            libc::sendto(
                self.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        usize::try_from(r).map_err(|_| io::Error::last_os_error())
    }

    /// `recvfrom(2)` of one datagram into `buf` with `MSG_TRUNC | flags`,
    /// retrying on EINTR. Returns the datagram's real length, which exceeds
    /// `buf.len()` when it did not fit, and the sender's port id
    /// (`nl_pid`, 0 for the kernel).
    pub(crate) fn recv_from(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<(usize, u32)> {
        loop {
            let mut addr = empty_addr();
            let mut alen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // SAFETY: buf is valid for writes of buf.len() bytes; addr and
            // alen are valid for writes and alen is addr's size.
            let r = unsafe {
                libc::recvfrom(
                    self.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags | libc::MSG_TRUNC,
                    (&mut addr as *mut libc::sockaddr_nl).cast(),
                    &mut alen,
                )
            };
            if let Ok(n) = usize::try_from(r) {
                return Ok((n, sender_of(&addr, alen)));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// [`Sock::recv_from`] as a [`Datagram`] view of `buf`.
    pub(crate) fn recv_datagram<'b>(
        &self,
        buf: &'b mut [u8],
        flags: libc::c_int,
    ) -> io::Result<Datagram<'b>> {
        let (len, sender) = self.recv_from(buf, flags)?;
        let shown = len.min(buf.len());
        Ok(Datagram {
            sender,
            bytes: &buf[..shown],
            len,
        })
    }
}

/// A socket buffer size as the `int` `setsockopt` takes: at most
/// `c_int::MAX / 2` (the kernel doubles it), never a wrapped value.
pub(crate) fn buf_int(bytes: usize) -> libc::c_int {
    libc::c_int::try_from(bytes)
        .unwrap_or(libc::c_int::MAX)
        .min(libc::c_int::MAX / 2)
}

/// `d` as a `timeval`, rounded up to the microsecond: a non-zero timeout
/// never becomes zero ("wait forever").
pub(crate) fn timeval(d: Duration) -> libc::timeval {
    let mut secs = d.as_secs();
    let mut micros = d.subsec_nanos().div_ceil(1000);
    if micros >= 1_000_000 {
        secs = secs.saturating_add(1);
        micros = 0;
    }
    libc::timeval {
        tv_sec: libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX),
        tv_usec: libc::suseconds_t::from(micros),
    }
}

/// An all-zero `sockaddr_nl`.
fn empty_addr() -> libc::sockaddr_nl {
    // SAFETY: an all-zero sockaddr_nl is valid.
    unsafe { std::mem::zeroed() }
}

/// The sender's port id from an address the kernel filled in. An address
/// that is missing or not `AF_NETLINK` is treated as not the kernel's.
fn sender_of(addr: &libc::sockaddr_nl, len: libc::socklen_t) -> u32 {
    let full = std::mem::size_of::<libc::sockaddr_nl>();
    if usize::try_from(len).unwrap_or(0) < full || i32::from(addr.nl_family) != libc::AF_NETLINK {
        return u32::MAX;
    }
    addr.nl_pid
}

/// The most datagrams one `recvmmsg(2)` fills (`UIO_MAXIOV`).
pub(crate) const MAX_SLOTS: usize = 1024;

/// Receive slots for `recvmmsg(2)`: `slots` datagrams of up to `slot_len`
/// bytes each, their senders' addresses, and the headers that point into
/// them (built once). At most [`MAX_SLOTS`] slots: one call fills no more.
pub(crate) struct Slots {
    buf: Vec<u8>,
    slot_len: usize,
    lens: Vec<usize>,
    senders: Vec<u32>,
    names: Vec<libc::sockaddr_nl>,
    _iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers in `_iov` and `hdrs` point only into `buf`,
// `names` and `_iov`, heap blocks owned by the same value that move with
// it; nothing else aliases them.
unsafe impl Send for Slots {}

impl Slots {
    pub(crate) fn new(slots: usize, slot_len: usize) -> Slots {
        let slots = slots.clamp(1, MAX_SLOTS);
        let slot_len = slot_len.max(1);
        let mut buf = vec![0u8; slots * slot_len];
        let base = buf.as_mut_ptr();
        let mut names = vec![empty_addr(); slots];
        let names_base = names.as_mut_ptr();
        let mut iov: Vec<libc::iovec> = (0..slots)
            .map(|i| libc::iovec {
                // SAFETY: i * slot_len is within buf (slots * slot_len bytes).
                iov_base: unsafe { base.add(i * slot_len) }.cast(),
                iov_len: slot_len,
            })
            .collect();
        let iov_base = iov.as_mut_ptr();
        let hdrs = (0..slots)
            .map(|i| {
                // SAFETY: an all-zero mmsghdr is valid (null pointers, zero lengths).
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                // SAFETY: i < slots = iov.len() = names.len().
                h.msg_hdr.msg_iov = unsafe { iov_base.add(i) };
                h.msg_hdr.msg_iovlen = 1;
                // SAFETY: as above.
                h.msg_hdr.msg_name = unsafe { names_base.add(i) }.cast();
                h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
                h
            })
            .collect();
        // The heap blocks of buf, names and iov never move: none is resized.
        Slots {
            buf,
            slot_len,
            lens: vec![0; slots],
            senders: vec![u32::MAX; slots],
            names,
            _iov: iov,
            hdrs,
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.lens.len()
    }

    #[allow(dead_code)] // for the async front end and tests
    pub(crate) fn slot_len(&self) -> usize {
        self.slot_len
    }

    /// Receives up to `want` datagrams: `recvfrom` for one, `recvmmsg` for
    /// more (`MSG_WAITFORONE`, or `MSG_DONTWAIT` when `nonblock`). Returns
    /// how many; they are [`Slots::datagram`] `0..n`.
    pub(crate) fn recv(&mut self, s: &Sock, want: usize, nonblock: bool) -> io::Result<usize> {
        let want = want.clamp(1, self.count());
        if want == 1 {
            let flags = if nonblock { libc::MSG_DONTWAIT } else { 0 };
            let slot_len = self.slot_len;
            let (n, sender) = s.recv_from(&mut self.buf[..slot_len], flags)?;
            self.lens[0] = n;
            self.senders[0] = sender;
            return Ok(1);
        }
        let flags = libc::MSG_TRUNC
            | if nonblock {
                libc::MSG_DONTWAIT
            } else {
                libc::MSG_WAITFORONE
            };
        for h in &mut self.hdrs[..want] {
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        }
        loop {
            // SAFETY: hdrs[..want] point at iovecs that point into buf and
            // at addresses in names, all alive and unaliased for the call;
            // want <= hdrs.len() <= UIO_MAXIOV.
            let n = unsafe {
                libc::recvmmsg(
                    s.as_raw_fd(),
                    self.hdrs.as_mut_ptr(),
                    want as libc::c_uint,
                    flags,
                    std::ptr::null_mut(),
                )
            };
            if let Ok(n) = usize::try_from(n) {
                for i in 0..n.min(want) {
                    self.lens[i] = self.hdrs[i].msg_len as usize;
                    self.senders[i] = sender_of(&self.names[i], self.hdrs[i].msg_hdr.msg_namelen);
                }
                return Ok(n.min(want));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Datagram `i` of the last receive (its bytes cut to the slot when it
    /// did not fit: see [`Datagram::truncated`]).
    pub(crate) fn datagram(&self, i: usize) -> Datagram<'_> {
        let len = self.lens.get(i).copied().unwrap_or(0);
        let start = i.saturating_mul(self.slot_len).min(self.buf.len());
        let end = start
            .saturating_add(len.min(self.slot_len))
            .min(self.buf.len());
        Datagram {
            sender: self.senders.get(i).copied().unwrap_or(u32::MAX),
            bytes: &self.buf[start..end],
            len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_at_what_one_recvmmsg_fills() {
        // 150k slots of 4 KiB would be 600 MiB; one recvmmsg fills 1024.
        let s = Slots::new(150_000, 4096);
        assert_eq!(s.count(), MAX_SLOTS);
        assert_eq!(s.buf.len(), MAX_SLOTS * 4096);
        assert_eq!(Slots::new(0, 10).count(), 1);
    }

    #[test]
    fn sub_microsecond_timeouts_round_up() {
        let tv = timeval(Duration::from_nanos(1));
        assert_eq!((tv.tv_sec, tv.tv_usec), (0, 1));
        let tv = timeval(Duration::new(2, 999_999_001));
        assert_eq!((tv.tv_sec, tv.tv_usec), (3, 0));
        let tv = timeval(Duration::new(1, 1_500));
        assert_eq!((tv.tv_sec, tv.tv_usec), (1, 2));
        let tv = timeval(Duration::ZERO);
        assert_eq!((tv.tv_sec, tv.tv_usec), (0, 0));
        let tv = timeval(Duration::MAX);
        assert_eq!(tv.tv_sec, libc::time_t::MAX);
    }

    #[test]
    fn a_one_nanosecond_timeout_is_not_wait_forever() {
        let s = Sock::open(None).unwrap();
        s.set_timeout(Duration::from_nanos(1)).unwrap();
        // The kernel keeps it in jiffies: at least one, never zero.
        let t = s.timeout().unwrap();
        assert!(
            t > Duration::ZERO && t <= Duration::from_millis(10),
            "{t:?}"
        );
        // And it does time out.
        let mut buf = [0u8; 64];
        let e = s.recv_from(&mut buf, 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn buffer_sizes_never_wrap() {
        assert_eq!(buf_int(4096), 4096);
        assert_eq!(buf_int(usize::MAX), libc::c_int::MAX / 2);
        // 2^32 + 4096 used to become 4096 through `as c_int`.
        assert_eq!(buf_int((1usize << 32) + 4096), libc::c_int::MAX / 2);
        let s = Sock::open(None).unwrap();
        s.set_rcvbuf(8192).unwrap();
        let small = s.get_int(libc::SO_RCVBUF).unwrap();
        s.set_rcvbuf((1usize << 32) + 4096).unwrap();
        let big = s.get_int(libc::SO_RCVBUF).unwrap();
        assert!(big > small, "{big} <= {small}");
    }

    #[test]
    fn the_kernel_is_port_zero_in_recvfrom() {
        // A GETFAMILY request to the controller: its reply comes from port 0;
        // a datagram sent by another socket carries that socket's port.
        let s = Sock::open(None).unwrap();
        let mut req = Vec::new();
        genl_proto::ctrl::encode_getfamily("nlctrl", 1, &mut req).unwrap();
        s.send(&req).unwrap();
        let mut buf = vec![0u8; 32768];
        let (n, sender) = s.recv_from(&mut buf, 0).unwrap();
        assert!(n > 16);
        assert_eq!(sender, 0);
        let forger = Sock::open(None).unwrap();
        forger.send_to(&req, s.pid()).unwrap();
        let (n, sender) = s.recv_from(&mut buf, 0).unwrap();
        assert_eq!((n, sender), (req.len(), forger.pid()));
        // Through recvmmsg too.
        forger.send_to(&req, s.pid()).unwrap();
        s.send(&req).unwrap();
        let mut slots = Slots::new(4, 32768);
        let mut got = Vec::new();
        while got.len() < 2 {
            let k = slots.recv(&s, 4, false).unwrap();
            got.extend((0..k).map(|i| slots.datagram(i).sender));
        }
        got.sort_unstable();
        assert_eq!(got, [0, forger.pid()]);
    }
}
