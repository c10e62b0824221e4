//! `enum genl_echo_attr`: attribute types of the family.
//!
//! The enum, `ALL`, `MAX`, `name` and `c_name` are generated from the YNL
//! spec (`generated.rs`, `cargo xtask gen`).

pub use crate::generated::Attr;

impl neli::consts::genl::NlAttrType for Attr {}

impl Attr {
    /// The wire value.
    pub fn value(self) -> u16 {
        u16::from(self)
    }

    /// The name of attribute type `v`: its snake-case name if known, else `attr_<v>`.
    pub fn display_name(v: u16) -> String {
        Attr::from(v)
            .name()
            .map_or_else(|| format!("attr_{v}"), str::to_owned)
    }
}
