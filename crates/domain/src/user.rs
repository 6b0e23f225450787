//! Users: keyed by lower-cased email, holding one role per group they were granted.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::{GroupPath, ParseError, Role, TagMap, Timestamp};

/// A user id: an email address (the `email` format of JSON schema), lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let lower = input.trim().to_lowercase();
        let valid = lower
            .split_once('@')
            .is_some_and(|(local, domain)| valid_local_part(local) && valid_domain(domain));
        if valid {
            Ok(Self(lower))
        } else {
            Err(ParseError::new(format!(
                "'{input}' is not a valid email address"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Dot-separated atoms of the characters RFC 5322 allows unquoted.
fn valid_local_part(local: &str) -> bool {
    let atom_byte = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b);
    local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(atom_byte))
}

/// Two or more dot-separated labels of letters, digits and inner hyphens.
fn valid_domain(domain: &str) -> bool {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    domain.len() <= 253 && domain.split('.').count() >= 2 && domain.split('.').all(label_ok)
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A password that meets the policy SIF's user pools enforced: at least 6 characters with a
/// lower-case letter and a digit. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

pub const MIN_PASSWORD_LEN: usize = 6;

impl Password {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let long_enough = input.chars().count() >= MIN_PASSWORD_LEN;
        let has_lower = input.chars().any(|c| c.is_lowercase());
        let has_digit = input.chars().any(|c| c.is_ascii_digit());
        if long_enough && has_lower && has_digit {
            Ok(Self(input.to_owned()))
        } else {
            Err(ParseError::new(format!(
                "Password does not conform to policy: at least {MIN_PASSWORD_LEN} characters, with a lower-case letter and a digit."
            )))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    Invited,
    Active,
    Disabled,
}

impl UserState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input {
            "invited" => Ok(Self::Invited),
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            other => Err(ParseError::new(format!("Unknown user state '{other}'."))),
        }
    }
}

/// A user as stored and as the API returns it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[schema(value_type = String)]
    pub email: Email,
    pub state: UserState,
    /// Group id → the role held there.
    #[schema(value_type = BTreeMap<String, Role>)]
    pub groups: BTreeMap<GroupPath, Role>,
    #[schema(value_type = Option<String>)]
    pub default_group: Option<GroupPath>,
    pub tags: TagMap,
    pub created_by: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub updated_at: Option<Timestamp>,
}

impl User {
    /// Whether `group` lies inside one of the groups the user was granted.
    pub fn is_within(&self, group: &GroupPath) -> bool {
        self.groups.keys().any(|granted| granted.contains(group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("Jane.Doe+sif@Example.COM")
                .expect("valid")
                .as_str(),
            "jane.doe+sif@example.com"
        );
        for bad in [
            "",
            "jane",
            "jane@",
            "@x.com",
            "jane@localhost",
            "ja ne@x.com",
            "jane@x..com",
            "a.@x.com",
            "jane@-x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn password_policy() {
        assert!(Password::parse("secret1").is_ok());
        for bad in ["abc1", "SECRET1", "secrets"] {
            assert!(Password::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(
            format!("{:?}", Password::parse("secret1").expect("valid")),
            "Password(***)"
        );
    }
}
