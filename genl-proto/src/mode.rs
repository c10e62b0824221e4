//! `enum genl_echo_mode`: how `ECHO` converts the case of ASCII letters.
//!
//! The enum, `ALL`, `MAX`, `as_str`, `c_name` and `from_value` are generated
//! from the YNL spec (`generated.rs`, `cargo xtask gen`).

use std::fmt;
use std::str::FromStr;

pub use crate::generated::Mode;

impl Mode {
    /// The wire value.
    pub const fn value(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Mode::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {0:?} (expected {names})", names = mode_names())]
pub struct ParseModeError(pub String);

/// `"none, upper or lower"`.
fn mode_names() -> String {
    let names: Vec<&str> = Mode::ALL.iter().map(|m| m.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

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

/// Serializes as its name (`"none"`, `"upper"`, `"lower"`).
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
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(
            "UPPER".parse::<Mode>().unwrap_err().to_string(),
            "unknown mode \"UPPER\" (expected none, upper or lower)"
        );
        assert_eq!(Mode::from_value(3), None);
        assert_eq!(Mode::ALL.len() as u32, Mode::MAX + 1);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_is_the_name() {
        for m in Mode::ALL {
            let json = format!("\"{}\"", m.as_str());
            assert_eq!(serde_json::to_string(&m).unwrap(), json);
            assert_eq!(serde_json::from_str::<Mode>(&json).unwrap(), m);
        }
        assert!(serde_json::from_str::<Mode>("\"Lower\"").is_err());
        assert!(serde_json::from_str::<Mode>("2").is_err());
    }
}
