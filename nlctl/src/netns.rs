//! `--netns`: enter a network namespace before any socket is created.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{io_text, Error};

/// Where `ip netns` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// The file `--netns VALUE` names: VALUE itself if it contains '/', else
/// `/run/netns/VALUE`.
pub fn path_of(ns: &OsStr) -> PathBuf {
    if ns.as_bytes().contains(&b'/') {
        PathBuf::from(ns)
    } else {
        Path::new(NETNS_RUN_DIR).join(ns)
    }
}

/// Moves this (single-threaded) process into network namespace `ns`.
pub fn enter(ns: &OsStr) -> Result<(), Error> {
    if ns.is_empty() {
        return Err(Error::Usage(
            "--netns needs a namespace name or a path".to_owned(),
        ));
    }
    let path = path_of(ns);
    let f = File::open(&path).map_err(|e| {
        Error::Other(format!(
            "cannot open network namespace {}: {}",
            path.display(),
            io_text(&e)
        ))
    })?;
    // SAFETY: f is an open descriptor for the duration of the call.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if r == 0 {
        log::debug!("entered network namespace {}", path.display());
        return Ok(());
    }
    let e = io::Error::last_os_error();
    Err(match e.raw_os_error() {
        Some(libc::EPERM) => Error::Permission(format!(
            "permission denied: entering network namespace {} needs CAP_SYS_ADMIN",
            path.display()
        )),
        Some(libc::EINVAL) => {
            Error::Other(format!("{} is not a network namespace", path.display()))
        }
        _ => Error::Other(format!(
            "cannot enter network namespace {}: {}",
            path.display(),
            io_text(&e)
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(path_of(OsStr::new("blue")), Path::new("/run/netns/blue"));
        assert_eq!(
            path_of(OsStr::new("/proc/1/ns/net")),
            Path::new("/proc/1/ns/net")
        );
        assert_eq!(path_of(OsStr::new("./x")), Path::new("./x"));
    }
}
