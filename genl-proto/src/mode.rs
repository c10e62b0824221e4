//! `enum genl_echo_mode`: how `ECHO` converts the case of ASCII letters.

use std::fmt;
use std::str::FromStr;

/// The case conversion mode of a network namespace.
///
/// Serializes (serde) and displays as `"none"`, `"upper"` or `"lower"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Mode {
    /// `GENL_ECHO_MODE_NONE`: echo unchanged.
    None = 0,
    /// `GENL_ECHO_MODE_UPPER`: ASCII letters to upper case.
    Upper = 1,
    /// `GENL_ECHO_MODE_LOWER`: ASCII letters to lower case.
    Lower = 2,
}

impl Mode {
    /// Every mode, in value order.
    pub const ALL: [Mode; 3] = [Mode::None, Mode::Upper, Mode::Lower];
    /// `GENL_ECHO_MODE_MAX`.
    pub const MAX: u32 = 2;

    /// The wire value.
    pub const fn value(self) -> u32 {
        self as u32
    }

    /// The lower-case name (`"none"`, `"upper"`, `"lower"`); also its serde form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Upper => "upper",
            Mode::Lower => "lower",
        }
    }

    /// The C enumerator's name in the UAPI header.
    pub const fn c_name(self) -> &'static str {
        match self {
            Mode::None => "GENL_ECHO_MODE_NONE",
            Mode::Upper => "GENL_ECHO_MODE_UPPER",
            Mode::Lower => "GENL_ECHO_MODE_LOWER",
        }
    }

    /// The mode with wire value `v`, if there is one.
    pub const fn from_value(v: u32) -> Option<Mode> {
        match v {
            0 => Some(Mode::None),
            1 => Some(Mode::Upper),
            2 => Some(Mode::Lower),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Mode::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {0:?} (expected none, upper or lower)")]
pub struct ParseModeError(pub String);

impl FromStr for Mode {
    type Err = ParseModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| ParseModeError(s.to_owned()))
    }
}

impl From<Mode> for u32 {
    fn from(m: Mode) -> u32 {
        m.value()
    }
}

impl TryFrom<u32> for Mode {
    type Error = u32;

    fn try_from(v: u32) -> Result<Self, u32> {
        Mode::from_value(v).ok_or(v)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(de)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), m);
            assert_eq!(Mode::from_value(m.value()), Some(m));
            #[cfg(feature = "serde")]
            {
                let json = format!("\"{}\"", m.as_str());
                assert_eq!(serde_json::to_string(&m).unwrap(), json);
                assert_eq!(serde_json::from_str::<Mode>(&json).unwrap(), m);
            }
            assert_eq!(m.to_string(), m.as_str());
        }
        assert!("UPPER".parse::<Mode>().is_err());
        assert_eq!(Mode::from_value(3), None);
        assert_eq!(Mode::ALL.len() as u32, Mode::MAX + 1);
    }
}
