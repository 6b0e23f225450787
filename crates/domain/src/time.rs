//! Instants as SIF writes them: ISO-8601 in UTC with milliseconds (`2023-03-22T20:55:55.585Z`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ParseError;

/// An instant with millisecond precision. Its text form sorts in time order, which the stores
/// rely on when they compare activation times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(jiff::Timestamp);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_millis(jiff::Timestamp::now().as_millisecond())
            .unwrap_or(Self(jiff::Timestamp::UNIX_EPOCH))
    }

    /// Parses an RFC 3339 date-time (the `date-time` format of JSON schema); the offset is required.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let instant: jiff::Timestamp = input
            .parse()
            .map_err(|_| ParseError::new(format!("'{input}' is not an RFC 3339 date-time")))?;
        Self::from_millis(instant.as_millisecond())
    }

    pub fn from_millis(millis: i64) -> Result<Self, ParseError> {
        jiff::Timestamp::from_millisecond(millis)
            .map(Self)
            .map_err(|_| ParseError::new(format!("{millis} ms is out of the supported time range")))
    }

    pub fn as_seconds(self) -> i64 {
        self.0.as_second()
    }

    pub fn as_millis(self) -> i64 {
        self.0.as_millisecond()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}", self.0)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_sif() {
        let at = Timestamp::parse("2023-03-22T22:55:55.5855+02:00").expect("valid");
        assert_eq!(at.to_string(), "2023-03-22T20:55:55.585Z");
        assert_eq!(
            Timestamp::from_millis(0).expect("valid").to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert!(Timestamp::parse("2023-03-22").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn text_order_is_time_order() {
        let early = Timestamp::parse("2023-03-22T20:55:55.585Z").expect("valid");
        let late = Timestamp::parse("2023-03-22T20:55:56Z").expect("valid");
        assert!(early < late && early.to_string() < late.to_string());
    }
}
