//! Tenants: isolated databases (a SQLite file or a PostgreSQL schema each).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ParseError;

pub const MAX_TENANT_ID_LEN: usize = 40;

/// A tenant id: 1 to 40 characters `[a-z0-9-]`, starting with a letter or digit. The narrow
/// alphabet lets it name a file and a PostgreSQL schema without quoting surprises.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let valid = !input.is_empty()
            && input.len() <= MAX_TENANT_ID_LEN
            && !input.starts_with('-')
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(ParseError::new(format!(
                "Invalid tenant id '{input}': use 1 to {MAX_TENANT_ID_LEN} lower-case letters, digits or '-', not starting with '-'."
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TenantId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        assert!(TenantId::parse("acme-1").is_ok());
        for bad in ["", "-a", "Acme", "a_b", "a b", &"a".repeat(41)] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} must not parse");
        }
    }
}
