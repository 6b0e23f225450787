//! The roles a user holds in a group.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ParseError;

/// `reader` < `contributor` < `admin`; a higher role can do everything a lower one can.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Contributor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Contributor => "contributor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input {
            "reader" => Ok(Self::Reader),
            "contributor" => Ok(Self::Contributor),
            "admin" => Ok(Self::Admin),
            other => Err(ParseError::new(format!(
                "Unknown role '{other}': use reader, contributor or admin."
            ))),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
