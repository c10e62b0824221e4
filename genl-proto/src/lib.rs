//! Wire format of the `genl_echo` generic netlink family.
//!
//! This crate only builds and parses bytes; it never opens a socket. The
//! authoritative ABI is the UAPI header
//! `genl-kmod/include/uapi/linux/genl_echo.h`; a test compiles a C program
//! against it and checks that every constant here matches.
//!
//! * [`consts`]: family name, version, multicast group, message limit and the
//!   netlink/generic-netlink framing constants.
//! * [`cmd`], [`attr`], [`mode`]: the family's enums.
//! * [`nla`]: bounds-checked attribute iteration and encoding.
//! * [`netlink`]: `nlmsghdr` framing, `NLMSG_ERROR`/`NLMSG_DONE` and extended
//!   ACK decoding.
//! * [`message`]: request builders and typed reply decoders.
//! * [`ctrl`]: the generic netlink controller (`nlctrl`): `CTRL_CMD_GETFAMILY`
//!   and `CTRL_CMD_GETPOLICY`.
//! * [`error`]: [`DecodeError`] and [`EncodeError`].
//!
//! With the `serde` feature, replies, events, modes and the controller's
//! types implement `Serialize` in the JSON shapes of docs/json-output.md.
//!
//! Decoders never panic: every length is checked before it is used, unknown
//! attribute types are skipped, and a missing or malformed attribute is an
//! error that names it.

pub mod attr;
pub mod cmd;
pub mod consts;
pub mod ctrl;
pub mod error;
pub mod message;
pub mod mode;
pub mod netlink;
pub mod nla;

pub use attr::Attr;
pub use cmd::Cmd;
pub use error::{DecodeError, EncodeError};
pub use message::{CaseEvent, CaseReply, EchoReply, EchoReplyRef, ModeReply, Request, Stats};
pub use mode::Mode;
