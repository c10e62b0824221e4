//! Error types for decoding and encoding.

/// Why bytes could not be decoded. Every variant is a plain description of
/// the bytes; none of them comes from a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The buffer ends before a fixed-size header does.
    #[error("{what} truncated: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A netlink message header gives a length that is too small or runs past the buffer.
    #[error("netlink message at offset {offset} has invalid length {len} ({avail} bytes left)")]
    BadMsgLen {
        /// Offset of the message in the buffer.
        offset: usize,
        /// `nlmsg_len` as given.
        len: u32,
        /// Bytes left in the buffer from `offset`.
        avail: usize,
    },
    /// An attribute header gives a length that is too small or runs past its container.
    #[error("attribute at offset {offset} has invalid length {len} ({avail} bytes left)")]
    BadAttrLen {
        /// Offset of the attribute in its container.
        offset: usize,
        /// `nla_len` as given.
        len: u16,
        /// Bytes left in the container from `offset`.
        avail: usize,
    },
    /// Bytes after the last attribute that are too few to be an attribute.
    #[error("{count} stray trailing bytes after the last attribute")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A required attribute is absent.
    #[error("missing attribute {0}")]
    MissingAttr(&'static str),
    /// An attribute payload has the wrong size for its type.
    #[error("attribute {attr}: payload is {got} bytes, expected {expected}")]
    AttrSize {
        /// Attribute name.
        attr: &'static str,
        /// Payload size found.
        got: usize,
        /// Payload size expected, in words (e.g. "4").
        expected: &'static str,
    },
    /// A string attribute does not end in NUL.
    #[error("attribute {0}: string is not NUL-terminated")]
    NotNulTerminated(&'static str),
    /// A string attribute that must be UTF-8 is not.
    #[error("attribute {0}: string is not valid UTF-8")]
    NotUtf8(&'static str),
    /// A message of an unexpected netlink type.
    #[error("unexpected netlink message type {0:#x}")]
    UnexpectedType(u16),
    /// A generic netlink message with an unexpected command.
    #[error("unexpected generic netlink command {got} (expected {expected})")]
    UnexpectedCmd {
        /// The command found.
        got: u8,
        /// The command expected.
        expected: u8,
    },
    /// A netlink error message arrived where a reply was expected.
    #[error("netlink error reply: errno {0}")]
    ErrorReply(i32),
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message is longer than [`crate::consts::MSG_MAX`].
    #[error("message too long: {len} bytes, the limit is {max} bytes (GENL_ECHO_MSG_MAX)")]
    MsgTooLong {
        /// Message length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message contains a NUL byte, which cannot travel in a NUL-terminated string.
    #[error("message contains a NUL byte at offset {offset}; genl_echo messages are NUL-terminated strings")]
    MsgHasNul {
        /// Offset of the first NUL.
        offset: usize,
    },
    /// An attribute or message would not fit its 16- or 32-bit length field.
    #[error("{what} too long for netlink: {len} bytes")]
    TooLong {
        /// What overflowed.
        what: &'static str,
        /// Its length.
        len: usize,
    },
}
