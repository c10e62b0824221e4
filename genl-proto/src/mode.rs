//! `enum genl_echo_mode`: how `ECHO` converts the case of ASCII letters.
//!
//! The enum, `ALL`, `MAX`, `value`, `name`, `c_name`, `from_value`,
//! `from_wire` and the comparisons are generated from the YNL spec
//! (`generated.rs`, `cargo xtask gen`). A value this crate does not know
//! (a newer module's) is [`Mode::Unknown`]: replies carrying it decode,
//! and it prints as its number.

use std::fmt;
use std::str::FromStr;

pub use crate::generated::Mode;

/// The name (`"upper"`), or the number of a value this crate does not know (`"7"`).
impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.value()),
        }
    }
}

/// Error of [`Mode::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {0:?} (expected {names})", names = mode_names())]
pub struct ParseModeError(pub String);

/// `"none, upper or lower"`.
fn mode_names() -> String {
    let names: Vec<&str> = Mode::ALL.iter().filter_map(|m| m.name()).collect();
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
            .find(|m| m.name() == Some(s))
            .ok_or_else(|| ParseModeError(s.to_owned()))
    }
}

impl From<Mode> for u32 {
    fn from(m: Mode) -> u32 {
        m.value()
    }
}

/// A known value only: an unknown one is `Err(value)`.
impl TryFrom<u32> for Mode {
    type Error = u32;

    fn try_from(v: u32) -> Result<Self, u32> {
        Mode::from_value(v).ok_or(v)
    }
}

/// Serializes as its name (`"none"`, `"upper"`, `"lower"`), or as a number
/// for a value this crate does not know.
#[cfg(feature = "serde")]
impl serde::Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => ser.serialize_str(n),
            None => ser.serialize_u32(self.value()),
        }
    }
}

/// Deserializes a name, or a number (any value: an unknown one is
/// [`Mode::Unknown`]).
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Mode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mode name or number")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Mode, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Mode, E> {
                u32::try_from(v)
                    .map(Mode::from_wire)
                    .map_err(|_| E::custom(format!("mode {v} out of range")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Mode, E> {
                u32::try_from(v)
                    .map(Mode::from_wire)
                    .map_err(|_| E::custom(format!("mode {v} out of range")))
            }
        }
        de.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for m in Mode::ALL {
            let name = m.name().unwrap();
            assert_eq!(name.parse::<Mode>().unwrap(), m);
            assert_eq!(Mode::from_value(m.value()), Some(m));
            assert_eq!(Mode::from_wire(m.value()), m);
            assert_eq!(m.to_string(), name);
        }
        assert_eq!(
            "UPPER".parse::<Mode>().unwrap_err().to_string(),
            "unknown mode \"UPPER\" (expected none, upper or lower)"
        );
        assert_eq!(Mode::from_value(3), None);
        assert_eq!(Mode::ALL.len() as u32, Mode::MAX + 1);
    }

    /// A newer module's mode decodes and prints; it is no known mode.
    #[test]
    fn unknown_values_are_values() {
        let m = Mode::from_wire(7);
        assert_eq!(m, Mode::Unknown(7));
        assert_eq!(m.value(), 7);
        assert_eq!(m.to_string(), "7");
        assert_eq!((m.name(), m.c_name()), (None, None));
        assert_eq!(Mode::try_from(7), Err(7));
        assert!("7".parse::<Mode>().is_err());
        // Compared by value, whatever built it.
        assert_eq!(Mode::Unknown(1), Mode::Upper);
        assert!(Mode::Lower < Mode::Unknown(3));
        let mut set = std::collections::HashSet::new();
        set.insert(Mode::Upper);
        assert!(set.contains(&Mode::Unknown(1)));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_is_the_name() {
        for m in Mode::ALL {
            let json = format!("\"{}\"", m.name().unwrap());
            assert_eq!(serde_json::to_string(&m).unwrap(), json);
            assert_eq!(serde_json::from_str::<Mode>(&json).unwrap(), m);
        }
        assert!(serde_json::from_str::<Mode>("\"Lower\"").is_err());
        assert_eq!(serde_json::to_string(&Mode::Unknown(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<Mode>("7").unwrap(), Mode::Unknown(7));
        assert_eq!(serde_json::from_str::<Mode>("2").unwrap(), Mode::Lower);
        assert!(serde_json::from_str::<Mode>("-1").is_err());
    }
}
