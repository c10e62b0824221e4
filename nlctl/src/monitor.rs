//! `nlctl monitor`: print `CASE_NTF` events from the "events" group.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use genl_proto::consts::{FAMILY_NAME, MCGRP_EVENTS, RECV_BUF_LEN};
use genl_proto::message::Reply;
use genl_proto::{netlink, CaseEvent, DecodeError};
use log::debug;
use neli::utils::Groups;

use crate::conn::{self, Conn, NetError};
use crate::error::Error;
use crate::{check_version, warn};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Installs SIGINT/SIGTERM handlers (no SA_RESTART), blocks both signals and
/// returns the mask to wait with in `ppoll`, under which they are
/// delivered. Waiting only inside `ppoll` means a signal can never slip in
/// between the check of [`STOP`] and the wait.
fn setup_signals() -> io::Result<libc::sigset_t> {
    // SAFETY: plain libc calls on locally owned, initialised structures;
    // the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        for sig in [libc::SIGINT, libc::SIGTERM] {
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let mut block: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGINT);
        libc::sigaddset(&mut block, libc::SIGTERM);
        let mut old: libc::sigset_t = std::mem::zeroed();
        if libc::sigprocmask(libc::SIG_BLOCK, &block, &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::sigdelset(&mut old, libc::SIGINT);
        libc::sigdelset(&mut old, libc::SIGTERM);
        Ok(old)
    }
}

fn emit_line<T: serde::Serialize>(v: &T) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, v)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing to standard output", &e))
}

#[derive(serde::Serialize)]
struct Overrun {
    event: &'static str,
}

/// Runs the monitor until `count` events, SIGINT or SIGTERM.
pub fn run(count: Option<u64>, rcvbuf: Option<u32>) -> Result<(), Error> {
    let fam = {
        let mut c = Conn::open()?;
        c.resolve(FAMILY_NAME)?
    };
    check_version(&fam);
    let gid = fam.mcast_group(MCGRP_EVENTS).ok_or_else(|| {
        Error::Other(format!(
            "the {FAMILY_NAME} family has no {MCGRP_EVENTS:?} multicast group"
        ))
    })?;

    let sock = conn::open_socket()?;
    if let Some(b) = rcvbuf {
        sock.set_recv_buffer_size(b as usize)
            .map_err(|e| Error::Other(format!("cannot set SO_RCVBUF to {b}: {e}")))?;
    }
    let mask = setup_signals().map_err(|e| Error::io("installing signal handlers", &e))?;
    sock.add_mcast_membership(Groups::new_groups(&[gid]))
        .map_err(|e| {
            Error::Other(format!(
                "cannot join multicast group {MCGRP_EVENTS} ({gid}): {e}"
            ))
        })?;
    debug!(
        "listening on multicast group {MCGRP_EVENTS} ({gid}) of family {}",
        fam.id
    );

    let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
    let mut buf = vec![0u8; RECV_BUF_LEN];
    let mut seen = 0u64;
    loop {
        if STOP.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: pfd and mask are valid for the call.
        let r = unsafe { libc::ppoll(&mut pfd, 1, std::ptr::null(), &mask) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::io("poll", &e));
        }
        let n = match conn::recv_into(&sock, &mut buf, libc::MSG_TRUNC | libc::MSG_DONTWAIT) {
            Ok(n) => n,
            Err(NetError::Io(_, e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                emit_line(&Overrun { event: "overrun" })?;
                warn("event socket overrun (ENOBUFS): some events were lost");
                continue;
            }
            Err(NetError::Timeout) => continue,
            Err(e) => return Err(e.into_error("monitor")),
        };
        if n > buf.len() {
            warn(&format!(
                "skipped a {n}-byte datagram larger than the receive buffer"
            ));
            continue;
        }
        if log::log_enabled!(log::Level::Debug) {
            debug!("recv {n} bytes: {}", conn::summarize(&buf[..n]));
        }
        for m in netlink::messages(&buf[..n]) {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    warn(&format!("skipped a malformed notification: {e}"));
                    break;
                }
            };
            if m.ty != fam.id {
                debug!("skipping message of type {:#x}", m.ty);
                continue;
            }
            match CaseEvent::from_genl(m.payload) {
                Ok(ev) => {
                    emit_line(&ev)?;
                    seen += 1;
                    if count.is_some_and(|c| seen >= c) {
                        return Ok(());
                    }
                }
                Err(DecodeError::UnexpectedCmd { got, .. }) => {
                    debug!("skipping notification with command {got}");
                }
                Err(e) => warn(&format!("skipped an undecodable notification: {e}")),
            }
        }
    }
}
