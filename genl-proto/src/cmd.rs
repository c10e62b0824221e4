//! `enum genl_echo_cmd`: generic netlink commands of the family.
//!
//! The enum, `ALL`, `MAX`, `name` and `c_name` are generated from the YNL
//! spec (`generated.rs`, `cargo xtask gen`).

pub use crate::generated::Cmd;

impl neli::consts::genl::Cmd for Cmd {}

impl Cmd {
    /// The wire value.
    pub fn value(self) -> u8 {
        u8::from(self)
    }
}
