//! Network namespaces: a socket belongs to the namespace of the thread that
//! created it, so [`crate::Client::connect_netns`] creates its sockets on a
//! short-lived thread that has entered the namespace, and leaves the
//! calling thread where it was.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Op};

/// Where `ip netns` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// The namespace file for `name`: `name` itself if it contains a `/`
/// (e.g. `/proc/PID/ns/net`), else `/run/netns/<name>` (as `ip -n` does).
pub fn path_of(name: &Path) -> PathBuf {
    if name.as_os_str().as_encoded_bytes().contains(&b'/') {
        name.to_path_buf()
    } else {
        Path::new(NETNS_RUN_DIR).join(name)
    }
}

/// An open network namespace file and its path (for error messages).
#[derive(Debug)]
pub(crate) struct Netns {
    file: File,
    path: PathBuf,
}

impl Netns {
    /// Opens a network namespace file.
    pub(crate) fn open(path: &Path) -> Result<Netns, Error> {
        let file = File::open(path).map_err(|source| Error::Netns {
            path: path.to_path_buf(),
            call: "open",
            source,
        })?;
        Ok(Netns {
            file,
            path: path.to_path_buf(),
        })
    }
}

fn setns(f: &File, path: &Path) -> Result<(), Error> {
    // SAFETY: f is an open descriptor for the duration of the call.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if r == 0 {
        log::debug!("entered network namespace {}", path.display());
        Ok(())
    } else {
        Err(Error::Netns {
            path: path.to_path_buf(),
            call: "setns",
            source: io::Error::last_os_error(),
        })
    }
}

/// Moves the calling thread into the network namespace at `path` (threads
/// it creates afterwards start there too). Needs CAP_SYS_ADMIN;
/// [`Error::Netns`] says which step failed.
pub fn enter(path: &Path) -> Result<(), Error> {
    let ns = Netns::open(path)?;
    setns(&ns.file, &ns.path)
}

/// Runs `f` on a new thread that has entered namespace `ns` first. A
/// thread that cannot be created is an [`Error::Io`] (`"spawn thread"`).
pub(crate) fn in_namespace<T: Send>(
    ns: &Netns,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<T, Error> {
    in_namespace_with(std::thread::Builder::new(), ns, f)
}

fn in_namespace_with<T: Send>(
    builder: std::thread::Builder,
    ns: &Netns,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<T, Error> {
    std::thread::scope(|s| {
        let handle = builder
            .name("genl-echo-netns".into())
            .spawn_scoped(s, || {
                setns(&ns.file, &ns.path)?;
                f()
            })
            .map_err(|e| Error::io(Op::Connect, "spawn thread", e))?;
        handle.join().unwrap_or_else(|_| {
            Err(Error::Netns {
                path: ns.path.clone(),
                call: "thread",
                source: io::Error::other("the thread that enters the namespace panicked"),
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(path_of(Path::new("blue")), Path::new("/run/netns/blue"));
        assert_eq!(
            path_of(Path::new("/proc/1/ns/net")),
            Path::new("/proc/1/ns/net")
        );
        assert_eq!(path_of(Path::new("./x")), Path::new("./x"));
    }

    /// A thread that cannot be created is an error, not a panic.
    #[test]
    fn thread_spawn_failure_is_an_error() {
        let ns = Netns::open(Path::new("/proc/self/ns/net")).unwrap();
        // No stack this large can be mapped: spawn fails.
        let builder = std::thread::Builder::new().stack_size(usize::MAX / 2);
        let r = in_namespace_with(builder, &ns, || Ok(1));
        match r {
            Err(Error::Io {
                op: Op::Connect,
                call: "spawn thread",
                ..
            }) => {}
            r => panic!("{r:?}"),
        }
    }
}
