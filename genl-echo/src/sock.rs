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

    /// Sets `SO_RCVBUF` through neli (capped by `rmem_max`).
    pub(crate) fn set_rcvbuf(&self, bytes: usize) -> io::Result<()> {
        self.handle.set_recv_buffer_size(bytes).map_err(neli_io)
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
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: v and len are valid for writes; len is v's size.
        let r = unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(v).unwrap_or(0))
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
        let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX / 2);
        if self.set_int(libc::SOL_SOCKET, force, v).is_ok() {
            return Ok(());
        }
        self.set_int(libc::SOL_SOCKET, plain, v)
    }

    /// Sets the receive timeout (`SO_RCVTIMEO`); zero waits forever.
    pub(crate) fn set_timeout(&self, d: Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_usec: libc::suseconds_t::from(d.subsec_micros()),
        };
        self.set_opt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)
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

    /// `recv(2)` of one datagram into `buf` with `MSG_TRUNC | flags`,
    /// retrying on EINTR. Returns the datagram's real length, which exceeds
    /// `buf.len()` when it did not fit.
    pub(crate) fn recv(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
        loop {
            // SAFETY: buf is valid for writes of buf.len() bytes.
            let r = unsafe {
                libc::recv(
                    self.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags | libc::MSG_TRUNC,
                )
            };
            if let Ok(n) = usize::try_from(r) {
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Receive slots for `recvmmsg(2)`: `slots` datagrams of up to `slot_len`
/// bytes each, and the headers that point into them (built once).
pub(crate) struct Slots {
    buf: Vec<u8>,
    slot_len: usize,
    lens: Vec<usize>,
    _iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl Slots {
    pub(crate) fn new(slots: usize, slot_len: usize) -> Slots {
        let slots = slots.max(1);
        let mut buf = vec![0u8; slots * slot_len];
        let base = buf.as_mut_ptr();
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
                // SAFETY: i < slots = iov.len().
                h.msg_hdr.msg_iov = unsafe { iov_base.add(i) };
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        // The heap blocks of buf and iov never move: neither is resized.
        Slots {
            buf,
            slot_len,
            lens: vec![0; slots],
            _iov: iov,
            hdrs,
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.lens.len()
    }

    pub(crate) fn slot_len(&self) -> usize {
        self.slot_len
    }

    /// Receives up to `want` datagrams: `recv` for one, `recvmmsg` for
    /// more (`MSG_WAITFORONE`, or `MSG_DONTWAIT` when `nonblock`). Returns
    /// how many; their real lengths are in [`Slots::datagram`].
    pub(crate) fn recv(&mut self, s: &Sock, want: usize, nonblock: bool) -> io::Result<usize> {
        let want = want.clamp(1, self.count());
        if want == 1 {
            let flags = if nonblock { libc::MSG_DONTWAIT } else { 0 };
            let slot_len = self.slot_len;
            self.lens[0] = s.recv(&mut self.buf[..slot_len], flags)?;
            return Ok(1);
        }
        let flags = libc::MSG_TRUNC
            | if nonblock {
                libc::MSG_DONTWAIT
            } else {
                libc::MSG_WAITFORONE
            };
        loop {
            // SAFETY: hdrs[..want] point at iovecs that point into buf, all
            // alive and unaliased for the call.
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
                for i in 0..n {
                    self.lens[i] = self.hdrs[i].msg_len as usize;
                }
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Datagram `i` of the last receive: `Err(real length)` if it did not
    /// fit its slot.
    pub(crate) fn datagram(&self, i: usize) -> Result<&[u8], usize> {
        let n = self.lens.get(i).copied().unwrap_or(0);
        if n > self.slot_len {
            return Err(n);
        }
        let start = i * self.slot_len;
        Ok(&self.buf[start..start + n])
    }
}
