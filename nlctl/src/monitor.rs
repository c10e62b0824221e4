//! `nlctl monitor`: print `CASE_NTF` events from the "events" group, and
//! the family going away and coming back (module reloads).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use std::os::fd::AsRawFd;

use genl_echo::Event;

use crate::error::Error;
use crate::warn;

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

/// Runs the monitor until `count` events, SIGINT or SIGTERM.
pub fn run(count: Option<u64>, rcvbuf: Option<u32>) -> Result<(), Error> {
    let client = crate::connect()?;
    let mask = setup_signals().map_err(|e| Error::io("installing signal handlers", &e))?;
    let mut sub = client.subscribe_with_rcvbuf(rcvbuf.map(|b| b as usize))?;
    let fd = sub.as_raw_fd();
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
        while let Some(item) = sub.try_next() {
            match item {
                Ok(ev @ Event::ModeChanged(_)) => {
                    emit_line(&ev)?;
                    seen += 1;
                    if count.is_some_and(|c| seen >= c) {
                        return Ok(());
                    }
                }
                Ok(Event::Overrun) => {
                    emit_line(&Event::Overrun)?;
                    warn("event socket overrun (ENOBUFS): some events were lost");
                }
                Ok(ev) => emit_line(&ev)?,
                Err(genl_echo::Error::Truncated { len, .. }) => warn(&format!(
                    "skipped a {len}-byte datagram larger than the receive buffer"
                )),
                Err(genl_echo::Error::Decode { source, .. }) => {
                    warn(&format!("skipped an undecodable notification: {source}"))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
