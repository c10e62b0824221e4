//! The command-line definition of `nlctl`, shared by the binary and by
//! `cargo xtask gen` (man page and shell completions).
//!
//! * [`cli`]: the clap `Cli` struct and its help texts.
//! * [`exit`]: the exit status codes.
//! * [`doc`]: the JSON output contract as data (rendered into the man page).

pub mod cli;
pub mod doc;
pub mod exit;
