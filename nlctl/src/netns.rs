//! `--netns`: enter a network namespace before any socket is created.

use std::ffi::OsStr;
use std::path::Path;

use crate::error::Error;

/// Moves this process (still single-threaded: the bench's threads start
/// later and inherit it) into network namespace `ns`: a name under
/// `/run/netns`, or a path if it contains '/'.
pub fn enter(ns: &OsStr) -> Result<(), Error> {
    if ns.is_empty() {
        return Err(Error::Usage(
            "--netns needs a namespace name or a path".to_owned(),
        ));
    }
    genl_echo::netns::enter(&genl_echo::netns::path_of(Path::new(ns)))?;
    Ok(())
}
