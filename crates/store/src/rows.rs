//! Rows as both backends return them, and their conversion to domain records. Stored values
//! are parsed again on the way out, so a damaged row surfaces as an error, never as a panic.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use sifr_domain::{
    Email, Group, GroupPath, GroupState, Resource, ResourceId, ResourceState, Role, TagMap,
    Timestamp, User, UserState,
};

use crate::{Credentials, StoreError};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> String {
    // Serialising maps of strings and plain structs cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn time(what: &str, text: &str) -> Result<Timestamp, StoreError> {
    Timestamp::parse(text).map_err(|e| corrupt(what, e))
}

fn optional_time(what: &str, text: Option<&str>) -> Result<Option<Timestamp>, StoreError> {
    text.map(|t| time(what, t)).transpose()
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub state: String,
    pub tags: String,
    pub configuration: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
}

impl TryFrom<GroupRow> for Group {
    type Error = StoreError;
    fn try_from(row: GroupRow) -> Result<Group, StoreError> {
        Ok(Group {
            id: GroupPath::parse(&row.id).map_err(|e| corrupt("group id", e))?,
            name: row.name,
            description: row.description,
            state: GroupState::parse(&row.state).map_err(|e| corrupt("group state", e))?,
            tags: json("group tags", &row.tags)?,
            configuration: json("group configuration", &row.configuration)?,
            created_by: row.created_by,
            created_at: time("group createdAt", &row.created_at)?,
            updated_by: row.updated_by,
            updated_at: optional_time("group updatedAt", row.updated_at.as_deref())?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub email: String,
    pub state: String,
    pub groups: String,
    pub default_group: Option<String>,
    pub tags: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<User, StoreError> {
        let groups: BTreeMap<GroupPath, Role> = json("user groups", &row.groups)?;
        Ok(User {
            email: Email::parse(&row.email).map_err(|e| corrupt("user email", e))?,
            state: UserState::parse(&row.state).map_err(|e| corrupt("user state", e))?,
            default_group: row
                .default_group
                .map(|g| GroupPath::parse(&g))
                .transpose()
                .map_err(|e| corrupt("user default group", e))?
                // SIF fills a missing default with the first group.
                .or_else(|| groups.keys().next().cloned()),
            groups,
            tags: json("user tags", &row.tags)?,
            created_by: row.created_by,
            created_at: time("user createdAt", &row.created_at)?,
            updated_by: row.updated_by,
            updated_at: optional_time("user updatedAt", row.updated_at.as_deref())?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CredentialsRow {
    pub password_hash: Option<String>,
    pub state: String,
}

impl TryFrom<CredentialsRow> for Credentials {
    type Error = StoreError;
    fn try_from(row: CredentialsRow) -> Result<Credentials, StoreError> {
        Ok(Credentials {
            password_hash: row.password_hash,
            state: UserState::parse(&row.state).map_err(|e| corrupt("user state", e))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ResourceRow {
    pub id: String,
    pub version: i64,
    pub name: Option<String>,
    pub state: String,
    pub groups: String,
    pub tags: String,
    pub body: String,
    pub active_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
}

impl TryFrom<ResourceRow> for Resource {
    type Error = StoreError;
    fn try_from(row: ResourceRow) -> Result<Resource, StoreError> {
        Ok(Resource {
            id: ResourceId::parse(&row.id).map_err(|e| corrupt("resource id", e))?,
            version: u32::try_from(row.version).map_err(|e| corrupt("resource version", e))?,
            name: row.name,
            state: ResourceState::parse(&row.state).map_err(|e| corrupt("resource state", e))?,
            groups: json("resource groups", &row.groups)?,
            tags: json::<TagMap>("resource tags", &row.tags)?,
            body: json("resource body", &row.body)?,
            active_at: optional_time("resource activeAt", row.active_at.as_deref())?,
            created_by: row.created_by,
            created_at: time("resource createdAt", &row.created_at)?,
            updated_by: row.updated_by,
            updated_at: optional_time("resource updatedAt", row.updated_at.as_deref())?,
        })
    }
}
