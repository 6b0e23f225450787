//! sifr's storage. [`Store`] manages tenants (each an isolated database: a SQLite file or a
//! PostgreSQL schema) and hands out a [`TenantStore`] per tenant, through which everything else
//! is read and written. Two implementations: SQLite (the default, one WAL database file per
//! tenant under the data directory) and PostgreSQL (a schema per tenant). Each carries its own
//! migrations, applied by [`Store::migrate`].
//!
//! The store knows the domain rules that must hold atomically (a group is deleted only when
//! disabled and empty, the last root admin stays, names are unique in a group) and nothing of HTTP.

mod blob;
mod catalog;
mod migrations;
mod pending;
mod postgres;
mod processor;
mod rows;
pub mod segment;
mod sqlite;
mod tenant;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use sifr_domain::{
    Email, Group, GroupConfiguration, GroupPath, GroupState, ListRequest, NewResource, Page,
    Resource, ResourceChange, ResourceId, ResourceKind, ResourceState, Role, TagMap, TagPatch,
    TenantId, Timestamp, User, UserState,
};

pub use blob::{BlobKey, BlobReader, BlobStore, LocalBlobs};
pub use pending::PendingEntries;
pub use postgres::PostgresStore;
pub use processor::{
    ActivityChunk, ActivityKind, ActivityQuery, ActivityRecord, AggregationJobQuery,
    AggregationJobRecord, AuditBlock, Committed, ExecutionExtent, ExecutionRecord, MetricScope,
    MetricValueRecord, ProcessorStore, ScannedActivity,
};
pub use sqlite::SqliteStore;

/// Where the data lives.
#[derive(Clone)]
pub enum StoreSettings {
    /// One SQLite database per tenant under `data_dir/tenants/`, plus `data_dir/catalog.db`.
    Sqlite { data_dir: PathBuf },
    /// One schema per tenant (`<prefix>_t_<tenant>`) plus the catalog schema `<prefix>`.
    Postgres {
        url: String,
        schema_prefix: String,
        max_connections: u32,
    },
}

impl StoreSettings {
    /// The backend a database URL names: `postgres://` or `postgresql://`; anything else is refused.
    pub fn postgres(
        url: &str,
        schema_prefix: &str,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Config(format!(
                "unsupported database URL '{}': use postgres://…, or no URL for the embedded SQLite store",
                redact(url)
            )));
        }
        let prefix_ok = !schema_prefix.is_empty()
            && schema_prefix.len() <= 16
            && schema_prefix.starts_with(|c: char| c.is_ascii_lowercase())
            && schema_prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !prefix_ok {
            return Err(StoreError::Config(format!(
                "invalid schema prefix '{schema_prefix}': use 1 to 16 characters [a-z0-9_], starting with a letter"
            )));
        }
        Ok(Self::Postgres {
            url: url.to_owned(),
            schema_prefix: schema_prefix.to_owned(),
            max_connections,
        })
    }
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { data_dir } => f
                .debug_struct("Sqlite")
                .field("data_dir", data_dir)
                .finish(),
            Self::Postgres {
                url,
                schema_prefix,
                max_connections,
            } => f
                .debug_struct("Postgres")
                .field("url", &redact(url))
                .field("schema_prefix", schema_prefix)
                .field("max_connections", max_connections)
                .finish(),
        }
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Opens the store the settings name. Migrations are not applied: call [`Store::migrate`].
pub async fn open(settings: &StoreSettings) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match settings {
        StoreSettings::Sqlite { data_dir } => Arc::new(SqliteStore::open(data_dir).await?),
        StoreSettings::Postgres {
            url,
            schema_prefix,
            max_connections,
        } => Arc::new(PostgresStore::open(url, schema_prefix, *max_connections).await?),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Tenant '{0}' not found.")]
    TenantNotFound(TenantId),
    #[error("Tenant '{0}' already exists.")]
    TenantExists(TenantId),
    #[error("Group '{0}' not found.")]
    GroupNotFound(GroupPath),
    #[error("User '{0}' not found.")]
    UserNotFound(Email),
    #[error("Resource '{0}' not found.")]
    ResourceNotFound(String),
    /// Another item of the same kind has this name in the group.
    #[error("Name '{0}' already in use.")]
    NameInUse(String),
    /// The item exists but is not in a state that allows the change (HTTP 409).
    #[error("{0}")]
    InvalidState(String),
    /// The change would break a rule of the domain (HTTP 400).
    #[error("{0}")]
    InvalidRequest(String),
    #[error("invalid store configuration: {0}")]
    Config(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(sqlx::migrate::MigrateError),
    #[error("{context}: {error}")]
    Io {
        context: String,
        error: std::io::Error,
    },
}

// By hand rather than `#[from]`: the messages already carry the cause, and a source chain would
// print it twice.
impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(error)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A tenant as the catalog lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantInfo {
    pub id: TenantId,
    pub created_at: Timestamp,
}

/// Tenant `owner` lets tenant `consumer` read group `group` and the groups under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantShare {
    pub owner: TenantId,
    pub group: GroupPath,
    pub consumer: TenantId,
}

impl TenantShare {
    /// Whether this share lets `consumer` read `owner`'s group `group`.
    pub fn allows(&self, owner: &TenantId, consumer: &TenantId, group: &GroupPath) -> bool {
        &self.owner == owner && &self.consumer == consumer && self.group.contains(group)
    }
}

/// The tenants, the groups they share and the server-wide secrets.
#[async_trait]
pub trait Store: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations to the catalog and to every tenant; returns the tenants migrated.
    async fn migrate(&self) -> Result<Vec<TenantId>>;

    /// Creates an empty, migrated tenant database.
    async fn create_tenant(&self, id: &TenantId) -> Result<Arc<dyn TenantStore>>;

    async fn tenants(&self) -> Result<Vec<TenantInfo>>;

    /// Removes the tenant and all its data.
    async fn delete_tenant(&self, id: &TenantId) -> Result<()>;

    /// The tenant's data, or [`StoreError::TenantNotFound`].
    async fn tenant(&self, id: &TenantId) -> Result<Arc<dyn TenantStore>>;

    /// Records a share; sharing again what is already shared changes nothing.
    async fn share(&self, share: &TenantShare) -> Result<()>;

    /// Removes a share, or [`StoreError::InvalidRequest`] when there is no such share.
    async fn unshare(&self, share: &TenantShare) -> Result<()>;

    /// Every share, by owner, group and consumer.
    async fn shares(&self) -> Result<Vec<TenantShare>>;

    /// The secret stored under `name`, storing `candidate` first if there is none yet. Every
    /// process sharing the store ends up with the same value.
    async fn secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>>;
}

/// A group to create.
#[derive(Clone, Debug)]
pub struct NewGroup {
    pub id: GroupPath,
    pub name: String,
    pub description: Option<String>,
    pub tags: TagMap,
    /// The configuration the group asks for; the store keeps the part that differs from what
    /// its ancestors give it.
    pub configuration: GroupConfiguration,
    pub created_by: String,
}

/// A change to a group. `None` keeps the current value; `configuration` is deep-merged.
#[derive(Clone, Debug, Default)]
pub struct GroupPatch {
    pub description: Option<String>,
    pub state: Option<GroupState>,
    pub tags: Option<TagPatch>,
    pub configuration: Option<GroupConfiguration>,
    pub updated_by: String,
}

/// `POST /users`: give `email` the `role` in `group`, creating the user if unknown.
#[derive(Clone, Debug)]
pub struct UserGrant {
    pub email: Email,
    pub group: GroupPath,
    pub role: Role,
    /// Stored for a new user only.
    pub password_hash: Option<String>,
    pub tags: Option<TagPatch>,
    /// Kept when it lies within the user's groups.
    pub default_group: Option<GroupPath>,
    pub granted_by: String,
}

#[derive(Clone, Debug)]
pub struct GrantOutcome {
    pub user: User,
    pub created: bool,
}

/// A change to a user. `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub password_hash: Option<String>,
    pub state: Option<UserState>,
    pub tags: Option<TagPatch>,
    pub default_group: Option<GroupPath>,
    pub updated_by: String,
}

/// What a login checks.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub password_hash: Option<String>,
    pub state: UserState,
}

/// Which records' tags a tag-value summary covers.
#[derive(Clone, Copy, Debug)]
pub enum TagScope {
    /// Groups: the group in context and its descendants.
    Groups,
    /// Users granted the group in context or one of its descendants.
    Users,
    /// Resources of a kind visible in the group in context (in it or in an ancestor).
    Resources(ResourceKind),
}

/// All data of one tenant.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// The pipeline processor's data: executions, activities, audits, metric values.
    fn processor(&self) -> &dyn ProcessorStore;

    /// Creates the root group (if missing) and its first admin (if there is no user yet).
    async fn bootstrap(&self, admin: &Email, password_hash: &str) -> Result<bool>;

    async fn create_group(&self, group: NewGroup) -> Result<Group>;
    async fn group(&self, id: &GroupPath) -> Result<Option<Group>>;
    /// The root, every ancestor and the group itself, outermost first; empty if it does not exist.
    async fn group_lineage(&self, id: &GroupPath) -> Result<Vec<Group>>;
    async fn update_group(&self, id: &GroupPath, patch: GroupPatch) -> Result<Group>;
    /// Deletes a disabled group that has no sub-groups and no users.
    async fn delete_group(&self, id: &GroupPath) -> Result<()>;
    async fn list_groups(&self, request: &ListRequest) -> Result<Page<Group>>;

    async fn grant_user(&self, grant: UserGrant) -> Result<GrantOutcome>;
    async fn user(&self, email: &Email) -> Result<Option<User>>;
    async fn credentials(&self, email: &Email) -> Result<Option<Credentials>>;
    async fn update_user(&self, email: &Email, patch: UserPatch) -> Result<User>;
    /// Removes the user's membership of `group`; deletes the user with the last one. Returns the
    /// user as it remains, `None` once deleted.
    async fn revoke_user(&self, email: &Email, group: &GroupPath) -> Result<Option<User>>;
    async fn list_users(&self, request: &ListRequest) -> Result<Page<User>>;

    /// The distinct values (as first written) of tag `key` on the records of `scope` seen from
    /// `group`, limited to values below `parent` when given.
    async fn tag_values(
        &self,
        scope: TagScope,
        group: &GroupPath,
        key: &str,
        parent: Option<&str>,
    ) -> Result<Vec<String>>;

    async fn create_resource(&self, resource: NewResource) -> Result<Resource>;
    /// The latest version.
    async fn resource(&self, kind: ResourceKind, id: &ResourceId) -> Result<Option<Resource>>;
    async fn resource_version(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        version: u32,
    ) -> Result<Option<Resource>>;
    /// Versions newest first, those below `before` when given, at most `count`.
    async fn resource_versions(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        before: Option<u32>,
        count: Option<usize>,
    ) -> Result<Vec<Resource>>;
    /// The version active at `at`: the latest activation not after it.
    async fn resource_as_at(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        at: Timestamp,
    ) -> Result<Option<Resource>>;
    /// Writes the next version. With `expected`, fails with [`StoreError::InvalidState`] if the
    /// latest version is another one (a concurrent change).
    async fn update_resource(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        expected: Option<u32>,
        change: ResourceChange,
        by: &str,
    ) -> Result<Resource>;
    /// Rewrites the state and body of an existing version in place, writing no new version:
    /// for what a module records about a version rather than changes to it (a dataset's
    /// processing status, which SIF does not version).
    async fn amend_resource_version(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        version: u32,
        state: ResourceState,
        body: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Resource>;
    /// Makes the resource a member of `group` and all its current sub-groups; writes a version.
    async fn grant_resource(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        group: &GroupPath,
        by: &str,
    ) -> Result<Resource>;
    /// Removes the membership of `group` and its sub-groups; writes a version.
    async fn revoke_resource(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        group: &GroupPath,
        by: &str,
    ) -> Result<Resource>;
    async fn list_resources(
        &self,
        kind: ResourceKind,
        request: &ListRequest,
    ) -> Result<Page<Resource>>;
    /// Resources called `name` (ignoring case) owned by one of `groups`.
    async fn resources_named(
        &self,
        kind: ResourceKind,
        name: &str,
        groups: &[GroupPath],
    ) -> Result<Vec<Resource>>;
    async fn delete_resource(&self, kind: ResourceKind, id: &ResourceId) -> Result<()>;
}
