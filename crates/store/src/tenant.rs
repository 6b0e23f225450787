//! One tenant's data, written once for both backends: the SQL here is portable between SQLite
//! and PostgreSQL (`$n` parameters, `ON CONFLICT`, text keys compared bytewise), and the code is
//! generic over the sqlx database. What differs — connections, pools, migrations, how writers are
//! serialised — lives in `sqlite.rs` and `postgres.rs`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sifr_domain::{
    Email, Group, GroupConfiguration, GroupPath, GroupState, ListRequest, NewResource, Page,
    Resource, ResourceChange, ResourceId, ResourceKind, ResourceState, Role, TagFilter, TagMap,
    Timestamp, User, UserState, listing::Cursor,
};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder,
    Type,
};

use crate::rows::{CredentialsRow, GroupRow, ResourceRow, UserRow, to_json};
use crate::{
    Credentials, GrantOutcome, GroupPatch, NewGroup, ProcessorStore, Result, StoreError, TagScope,
    TenantStore, UserGrant, UserPatch,
};

macro_rules! group_columns {
    () => {
        "id, name, description, state, tags, configuration, created_by, created_at, updated_by, updated_at"
    };
}

macro_rules! user_columns {
    () => {
        "u.email, u.state, u.groups, u.default_group, u.tags, u.created_by, u.created_at, u.updated_by, u.updated_at"
    };
}

macro_rules! version_columns {
    () => {
        "v.id, v.version, v.name, v.state, v.groups, v.tags, v.body, v.active_at, v.created_by, v.created_at, \
         v.updated_by, v.updated_at"
    };
}

/// The tag-index scopes of access management; resources use their kind.
const GROUP_SCOPE: &str = "group";
const USER_SCOPE: &str = "user";

/// Who the store names as creator of what it seeds itself.
const SYSTEM: &str = "sifr";

#[derive(sqlx::FromRow)]
pub(crate) struct ListedUser {
    #[sqlx(flatten)]
    row: UserRow,
    listed_group: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ListedResource {
    #[sqlx(flatten)]
    row: ResourceRow,
    listed_group: String,
}

/// A tenant's database. Reads go to `read`; writes go to `write` in transactions that first run
/// `write_lock` once per [`Lock`] they name, so that the checks a write makes (a group has no
/// sub-groups, another admin remains) still hold when it commits, while writes that cannot
/// interfere run side by side. SQLite serialises writers with a one-connection pool instead.
pub(crate) struct SqlTenant<DB: Database> {
    pub read: Pool<DB>,
    pub write: Pool<DB>,
    /// A statement taking a transaction-scoped lock on the key bound as `$1`.
    pub write_lock: Option<&'static str>,
}

/// What a write must have to itself while it runs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Lock {
    /// A group: its own changes and the creation or deletion of its sub-groups.
    Group(String),
    /// Who the enabled admins of the root group are.
    RootAdmins,
    /// A user's record and memberships.
    User(String),
    /// A resource's versions and memberships.
    Resource(String),
}

impl Lock {
    fn group(id: &GroupPath) -> Self {
        Self::Group(id.to_string())
    }

    /// A user's lock, with the root admins' when the change may take away a root admin.
    fn user_change(email: &Email, root_admins: bool) -> Vec<Self> {
        let mut locks = vec![Self::User(email.to_string())];
        if root_admins {
            locks.push(Self::RootAdmins);
        }
        locks
    }

    fn resource(kind: ResourceKind, id: &ResourceId) -> Self {
        Self::Resource(format!("{}/{id}", kind.as_str()))
    }

    fn key(&self) -> String {
        match self {
            Self::Group(id) => format!("group {id}"),
            Self::RootAdmins => "root admins".to_owned(),
            Self::User(email) => format!("user {email}"),
            Self::Resource(id) => format!("resource {id}"),
        }
    }
}

/// Maps the constraint violations a concurrent writer can cause to what they mean.
fn violations<T>(
    result: std::result::Result<T, sqlx::Error>,
    unique: impl FnOnce() -> StoreError,
    foreign: impl FnOnce() -> StoreError,
) -> Result<T> {
    match result {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(unique()),
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => Err(foreign()),
        other => Ok(other?),
    }
}

type Tx<DB> = sqlx::Transaction<'static, DB>;

fn clamp_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn clamp_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn within(groups: &BTreeMap<GroupPath, Role>, group: &GroupPath) -> bool {
    groups.keys().any(|granted| granted.contains(group))
}

impl<DB> SqlTenant<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'r> GroupRow: FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> ListedUser: FromRow<'r, DB::Row>,
    for<'r> CredentialsRow: FromRow<'r, DB::Row>,
    for<'r> ResourceRow: FromRow<'r, DB::Row>,
    for<'r> ListedResource: FromRow<'r, DB::Row>,
{
    /// A write transaction holding `locks`, taken in one global order so writers never wait
    /// on each other in a circle.
    async fn begin_write(&self, mut locks: Vec<Lock>) -> Result<Tx<DB>> {
        let mut tx = self.write.begin().await?;
        if let Some(statement) = self.write_lock {
            locks.sort();
            locks.dedup();
            for lock in locks {
                sqlx::query(statement)
                    .bind(lock.key())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Ok(tx)
    }

    async fn count(conn: &mut DB::Connection, sql: &'static str, args: &[&str]) -> Result<i64> {
        let mut query = sqlx::query_scalar::<DB, i64>(sql);
        for arg in args {
            query = query.bind((*arg).to_owned());
        }
        Ok(query.fetch_one(conn).await?)
    }

    async fn group_in(conn: &mut DB::Connection, id: &GroupPath) -> Result<Option<Group>> {
        let row: Option<GroupRow> = sqlx::query_as(concat!(
            "SELECT ",
            group_columns!(),
            " FROM groups WHERE id = $1"
        ))
        .bind(id.as_str().to_owned())
        .fetch_optional(conn)
        .await?;
        row.map(Group::try_from).transpose()
    }

    async fn require_group(conn: &mut DB::Connection, id: &GroupPath) -> Result<()> {
        match Self::count(
            conn,
            "SELECT COUNT(*) FROM groups WHERE id = $1",
            &[id.as_str()],
        )
        .await?
        {
            0 => Err(StoreError::GroupNotFound(id.clone())),
            _ => Ok(()),
        }
    }

    async fn lineage_in(conn: &mut DB::Connection, id: &GroupPath) -> Result<Vec<Group>> {
        let mut query = QueryBuilder::<DB>::new(concat!(
            "SELECT ",
            group_columns!(),
            " FROM groups WHERE id IN ("
        ));
        let mut ids = query.separated(", ");
        for group in id.lineage() {
            ids.push_bind(group.as_str().to_owned());
        }
        query.push(") ORDER BY id");
        let rows: Vec<GroupRow> = query.build_query_as().fetch_all(conn).await?;
        let groups = rows
            .into_iter()
            .map(Group::try_from)
            .collect::<Result<Vec<_>>>()?;
        // A gap in the chain means the group itself does not exist (ancestors always do).
        Ok(if groups.last().map(|g| &g.id) == Some(id) {
            groups
        } else {
            Vec::new()
        })
    }

    async fn set_tags(
        conn: &mut DB::Connection,
        scope: &str,
        id: &str,
        tags: &TagMap,
    ) -> Result<()> {
        sqlx::query("DELETE FROM tag_index WHERE scope = $1 AND id = $2")
            .bind(scope.to_owned())
            .bind(id.to_owned())
            .execute(&mut *conn)
            .await?;
        for entry in tags.index_entries() {
            sqlx::query("INSERT INTO tag_index (scope, id, key, value, value_lower) VALUES ($1, $2, $3, $4, $5)")
                .bind(scope.to_owned())
                .bind(id.to_owned())
                .bind(entry.key)
                .bind(entry.value)
                .bind(entry.value_lower)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn user_in(conn: &mut DB::Connection, email: &Email) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.email = $1"
        ))
        .bind(email.as_str().to_owned())
        .fetch_optional(conn)
        .await?;
        row.map(User::try_from).transpose()
    }

    /// Refuses a change that would leave the tenant without an enabled admin of the root group.
    async fn keep_a_root_admin(conn: &mut DB::Connection, user: &User) -> Result<()> {
        let is_root_admin = user.groups.get(&GroupPath::root()) == Some(&Role::Admin);
        if !is_root_admin || user.state == UserState::Disabled {
            return Ok(());
        }
        let others = Self::count(
            conn,
            "SELECT COUNT(*) FROM user_groups g JOIN users u ON u.email = g.email \
             WHERE g.group_id = '/' AND g.role = 'admin' AND u.state <> 'disabled' AND u.email <> $1",
            &[user.email.as_str()],
        )
        .await?;
        if others == 0 {
            return Err(StoreError::InvalidRequest(format!(
                "User '{}' is the last enabled admin of the root group; make another user admin of '/' first.",
                user.email
            )));
        }
        Ok(())
    }

    async fn save_user(
        conn: &mut DB::Connection,
        user: &User,
        password_hash: Option<String>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE users SET state = $2, groups = $3, default_group = $4, tags = $5, \
             password_hash = COALESCE($6, password_hash), updated_by = $7, updated_at = $8 WHERE email = $1",
        )
        .bind(user.email.as_str().to_owned())
        .bind(user.state.as_str().to_owned())
        .bind(to_json(&user.groups))
        .bind(user.default_group.as_ref().map(|g| g.as_str().to_owned()))
        .bind(to_json(&user.tags))
        .bind(password_hash)
        .bind(user.updated_by.clone())
        .bind(user.updated_at.map(|t| t.to_string()))
        .execute(&mut *conn)
        .await?;
        Self::set_tags(conn, USER_SCOPE, user.email.as_str(), &user.tags).await
    }

    async fn latest_in(
        conn: &mut DB::Connection,
        kind: ResourceKind,
        id: &ResourceId,
    ) -> Result<Option<Resource>> {
        let row: Option<ResourceRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM resources r JOIN resource_versions v ON v.kind = r.kind AND v.id = r.id AND v.version = r.version \
             WHERE r.kind = $1 AND r.id = $2"
        ))
        .bind(kind.as_str().to_owned())
        .bind(id.as_str().to_owned())
        .fetch_optional(conn)
        .await?;
        row.map(Resource::try_from).transpose()
    }

    async fn require_latest(
        conn: &mut DB::Connection,
        kind: ResourceKind,
        id: &ResourceId,
    ) -> Result<Resource> {
        Self::latest_in(conn, kind, id)
            .await?
            .ok_or_else(|| StoreError::ResourceNotFound(id.to_string()))
    }

    async fn insert_version(
        conn: &mut DB::Connection,
        kind: ResourceKind,
        resource: &Resource,
    ) -> Result<()> {
        let inserted = sqlx::query(
            "INSERT INTO resource_versions (kind, id, version, name, state, groups, tags, body, active_at, activation, \
             created_by, created_at, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(kind.as_str().to_owned())
        .bind(resource.id.as_str().to_owned())
        .bind(i64::from(resource.version))
        .bind(resource.name.clone())
        .bind(resource.state.as_str().to_owned())
        .bind(to_json(&resource.groups))
        .bind(to_json(&resource.tags))
        .bind(to_json(&resource.body))
        .bind(resource.active_at.map(|t| t.to_string()))
        .bind(resource.activation().to_string())
        .bind(resource.created_by.clone())
        .bind(resource.created_at.to_string())
        .bind(resource.updated_by.clone())
        .bind(resource.updated_at.map(|t| t.to_string()))
        .execute(&mut *conn)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::InvalidState(format!(
                    "Resource '{}' was changed concurrently; reload it and retry.",
                    resource.id
                )));
            }
            other => other?,
        };
        Self::set_tags(conn, kind.as_str(), resource.id.as_str(), &resource.tags).await
    }

    /// Writes `next` as the new latest version.
    async fn write_version(
        conn: &mut DB::Connection,
        kind: ResourceKind,
        next: &Resource,
    ) -> Result<()> {
        Self::insert_version(conn, kind, next).await?;
        sqlx::query("UPDATE resources SET version = $3 WHERE kind = $1 AND id = $2")
            .bind(kind.as_str().to_owned())
            .bind(next.id.as_str().to_owned())
            .bind(i64::from(next.version))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Rewrites the membership rows of a resource from its `groups`: the owner's own group, and
    /// every granted group with all its current sub-groups.
    async fn rebuild_memberships(
        conn: &mut DB::Connection,
        kind: ResourceKind,
        resource: &Resource,
    ) -> Result<()> {
        sqlx::query("DELETE FROM resource_groups WHERE kind = $1 AND id = $2")
            .bind(kind.as_str().to_owned())
            .bind(resource.id.as_str().to_owned())
            .execute(&mut *conn)
            .await?;
        let mut members: Vec<String> = Vec::new();
        for (position, group) in resource.groups.iter().enumerate() {
            members.push(group.as_str().to_owned());
            if position > 0 {
                let (low, high) = group.descendant_bounds();
                let below: Vec<String> =
                    sqlx::query_scalar("SELECT id FROM groups WHERE id > $1 AND id < $2")
                        .bind(low)
                        .bind(high)
                        .fetch_all(&mut *conn)
                        .await?;
                members.extend(below);
            }
        }
        members.sort();
        members.dedup();
        for group in members {
            sqlx::query("INSERT INTO resource_groups (kind, group_id, id) VALUES ($1, $2, $3)")
                .bind(kind.as_str().to_owned())
                .bind(group)
                .bind(resource.id.as_str().to_owned())
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

/// Appends the condition that `column` is one of the groups `request` covers.
fn push_scope<DB: Database>(query: &mut QueryBuilder<DB>, column: &str, request: &ListRequest)
where
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let (low, high) = request.group.descendant_bounds();
    query.push("(");
    if request.scope.parents {
        query.push(format_args!("{column} IN ("));
        let mut ids = query.separated(", ");
        for group in request.group.lineage() {
            ids.push_bind(group.as_str().to_owned());
        }
        query.push(")");
    } else {
        query
            .push(format_args!("{column} = "))
            .push_bind(request.group.as_str().to_owned());
    }
    if request.scope.children {
        query.push(format_args!(" OR ({column} > ")).push_bind(low);
        query
            .push(format_args!(" AND {column} < "))
            .push_bind(high)
            .push(")");
    }
    query.push(")");
}

/// Appends one condition per tag filter on the record whose id is `id_column`.
fn push_tag_filters<DB: Database>(
    query: &mut QueryBuilder<DB>,
    scope: &str,
    id_column: &str,
    tags: &[TagFilter],
) where
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
{
    for tag in tags {
        let prefix = tag.child_prefix();
        query
            .push(" AND EXISTS (SELECT 1 FROM tag_index t WHERE t.scope = ")
            .push_bind(scope.to_owned());
        query
            .push(format_args!(" AND t.id = {id_column} AND t.key = "))
            .push_bind(tag.key.clone());
        query
            .push(" AND (t.value_lower = ")
            .push_bind(tag.value.clone());
        query
            .push(" OR substr(t.value_lower, 1, ")
            .push_bind(clamp_i32(prefix.chars().count()));
        query.push(") = ").push_bind(prefix).push("))");
    }
}

/// Resumes after the request's cursor, orders by (listed group, id) and applies the page size,
/// for listings whose rows carry the group they are listed under as `m.listed_group`.
fn push_page<DB: Database>(query: &mut QueryBuilder<DB>, id_column: &str, request: &ListRequest)
where
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    if let Some(after) = &request.after {
        query
            .push(" AND (m.listed_group > ")
            .push_bind(after.group.clone());
        query
            .push(" OR (m.listed_group = ")
            .push_bind(after.group.clone());
        query
            .push(format_args!(" AND {id_column} > "))
            .push_bind(after.id.clone())
            .push("))");
    }
    query.push(format_args!(" ORDER BY m.listed_group, {id_column}"));
    push_limit(query, request.limit());
}

fn push_limit<DB: Database>(query: &mut QueryBuilder<DB>, limit: Option<usize>)
where
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    if let Some(limit) = limit {
        query.push(" LIMIT ").push_bind(clamp_i64(limit));
    }
}

#[async_trait]
impl<DB> TenantStore for SqlTenant<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'r> GroupRow: FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> ListedUser: FromRow<'r, DB::Row>,
    for<'r> CredentialsRow: FromRow<'r, DB::Row>,
    for<'r> ResourceRow: FromRow<'r, DB::Row>,
    for<'r> ListedResource: FromRow<'r, DB::Row>,
    SqlTenant<DB>: ProcessorStore,
{
    fn processor(&self) -> &dyn ProcessorStore {
        self
    }

    async fn bootstrap(&self, admin: &Email, password_hash: &str) -> Result<bool> {
        let mut tx = self
            .begin_write(vec![Lock::group(&GroupPath::root()), Lock::RootAdmins])
            .await?;
        let now = Timestamp::now().to_string();
        sqlx::query(
            "INSERT INTO groups (id, parent_id, name, description, state, tags, configuration, created_by, created_at) \
             VALUES ('/', NULL, 'Root', NULL, 'active', '{}', $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(to_json(&GroupConfiguration::root_defaults()))
        .bind(SYSTEM.to_owned())
        .bind(now.clone())
        .execute(&mut *tx)
        .await?;
        if Self::count(&mut tx, "SELECT COUNT(*) FROM users", &[]).await? > 0 {
            tx.commit().await?;
            return Ok(false);
        }
        let groups = BTreeMap::from([(GroupPath::root(), Role::Admin)]);
        sqlx::query(
            "INSERT INTO users (email, state, groups, default_group, password_hash, tags, created_by, created_at) \
             VALUES ($1, 'active', $2, '/', $3, '{}', $4, $5)",
        )
        .bind(admin.as_str().to_owned())
        .bind(to_json(&groups))
        .bind(password_hash.to_owned())
        .bind(SYSTEM.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO user_groups (email, group_id, role) VALUES ($1, '/', 'admin')")
            .bind(admin.as_str().to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_group(&self, group: NewGroup) -> Result<Group> {
        let Some(parent) = group.id.parent() else {
            return Err(StoreError::NameInUse(group.name));
        };
        let mut tx = self.begin_write(vec![Lock::group(&group.id)]).await?;
        let lineage = Self::lineage_in(&mut tx, &parent).await?;
        if lineage.is_empty() {
            return Err(StoreError::GroupNotFound(parent));
        }
        if Self::group_in(&mut tx, &group.id).await?.is_some() {
            return Err(StoreError::NameInUse(group.name));
        }
        let inherited = GroupConfiguration::merge(lineage.iter().map(|g| &g.configuration));
        let created = Group {
            id: group.id,
            name: group.name,
            description: group.description,
            state: GroupState::Active,
            tags: group.tags,
            configuration: GroupConfiguration::delta_over(&inherited, &group.configuration),
            created_by: group.created_by,
            created_at: Timestamp::now(),
            updated_by: None,
            updated_at: None,
        };
        let inserted = sqlx::query(
            "INSERT INTO groups (id, parent_id, name, description, state, tags, configuration, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(created.id.as_str().to_owned())
        .bind(parent.as_str().to_owned())
        .bind(created.name.clone())
        .bind(created.description.clone())
        .bind(created.state.as_str().to_owned())
        .bind(to_json(&created.tags))
        .bind(to_json(&created.configuration))
        .bind(created.created_by.clone())
        .bind(created.created_at.to_string())
        .execute(&mut *tx)
        .await;
        violations(
            inserted,
            || StoreError::NameInUse(created.name.clone()),
            || StoreError::GroupNotFound(parent.clone()),
        )?;
        Self::set_tags(&mut tx, GROUP_SCOPE, created.id.as_str(), &created.tags).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn group(&self, id: &GroupPath) -> Result<Option<Group>> {
        let mut conn = self.read.acquire().await?;
        Self::group_in(&mut conn, id).await
    }

    async fn group_lineage(&self, id: &GroupPath) -> Result<Vec<Group>> {
        let mut conn = self.read.acquire().await?;
        Self::lineage_in(&mut conn, id).await
    }

    async fn update_group(&self, id: &GroupPath, patch: GroupPatch) -> Result<Group> {
        let mut tx = self.begin_write(vec![Lock::group(id)]).await?;
        let mut lineage = Self::lineage_in(&mut tx, id).await?;
        let Some(mut group) = lineage.pop() else {
            return Err(StoreError::GroupNotFound(id.clone()));
        };
        if let Some(wanted) = &patch.configuration {
            let inherited = GroupConfiguration::merge(lineage.iter().map(|g| &g.configuration));
            let effective = inherited
                .merged_with(&group.configuration)
                .merged_with(wanted);
            group.configuration = GroupConfiguration::delta_over(&inherited, &effective);
        }
        if let Some(tags) = &patch.tags {
            group.tags.apply(tags);
        }
        group.description = patch.description.or(group.description);
        group.state = patch.state.unwrap_or(group.state);
        group.updated_by = Some(patch.updated_by);
        group.updated_at = Some(Timestamp::now());
        sqlx::query(
            "UPDATE groups SET description = $2, state = $3, tags = $4, configuration = $5, updated_by = $6, \
             updated_at = $7 WHERE id = $1",
        )
        .bind(group.id.as_str().to_owned())
        .bind(group.description.clone())
        .bind(group.state.as_str().to_owned())
        .bind(to_json(&group.tags))
        .bind(to_json(&group.configuration))
        .bind(group.updated_by.clone())
        .bind(group.updated_at.map(|t| t.to_string()))
        .execute(&mut *tx)
        .await?;
        Self::set_tags(&mut tx, GROUP_SCOPE, group.id.as_str(), &group.tags).await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn delete_group(&self, id: &GroupPath) -> Result<()> {
        if id.is_root() {
            return Err(StoreError::InvalidRequest(
                "The root group cannot be deleted.".into(),
            ));
        }
        let mut tx = self.begin_write(vec![Lock::group(id)]).await?;
        let group = Self::group_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::GroupNotFound(id.clone()))?;
        if group.state != GroupState::Disabled {
            return Err(StoreError::InvalidState(format!(
                "Group '{id}' is {}; disable it before deleting it.",
                group.state.as_str()
            )));
        }
        if Self::count(
            &mut tx,
            "SELECT COUNT(*) FROM groups WHERE parent_id = $1",
            &[id.as_str()],
        )
        .await?
            > 0
        {
            return Err(StoreError::InvalidState(format!(
                "Group '{id}' has sub-groups; delete them first."
            )));
        }
        if Self::count(
            &mut tx,
            "SELECT COUNT(*) FROM user_groups WHERE group_id = $1",
            &[id.as_str()],
        )
        .await?
            > 0
        {
            return Err(StoreError::InvalidState(format!(
                "Group '{id}' still has users; revoke them first."
            )));
        }
        for sql in [
            "UPDATE users SET default_group = NULL WHERE default_group = $1",
            "DELETE FROM resource_groups WHERE group_id = $1",
            "DELETE FROM tag_index WHERE scope = 'group' AND id = $1",
            "DELETE FROM groups WHERE id = $1",
        ] {
            let deleted = sqlx::query(sql)
                .bind(id.as_str().to_owned())
                .execute(&mut *tx)
                .await;
            match deleted {
                // A sub-group or a user added since the checks above still holds the group.
                Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                    return Err(StoreError::InvalidState(format!(
                        "Group '{id}' gained sub-groups or users meanwhile; it stays."
                    )));
                }
                other => other?,
            };
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_groups(&self, request: &ListRequest) -> Result<Page<Group>> {
        let ctx = &request.group;
        let (low, high) = ctx.descendant_bounds();
        let mut query =
            QueryBuilder::<DB>::new(concat!("SELECT ", group_columns!(), " FROM groups WHERE ("));
        // A group's own membership is its link to its parent.
        if request.scope.parents {
            query.push("id IN (");
            let mut ids = query.separated(", ");
            for group in ctx.lineage() {
                ids.push_bind(group.as_str().to_owned());
            }
            query.push(")");
        }
        match (request.scope.parents, request.scope.children) {
            (_, true) => {
                if request.scope.parents {
                    query.push(" OR ");
                }
                query
                    .push("(id > ")
                    .push_bind(low)
                    .push(" AND id < ")
                    .push_bind(high)
                    .push(")");
            }
            (parents, false) => {
                if parents {
                    query.push(" OR ");
                }
                query
                    .push("parent_id = ")
                    .push_bind(ctx.as_str().to_owned());
            }
        }
        query.push(")");
        push_tag_filters(&mut query, GROUP_SCOPE, "groups.id", &request.tags);
        if let Some(after) = &request.after {
            query.push(" AND id > ").push_bind(after.id.clone());
        }
        query.push(" ORDER BY id");
        push_limit(&mut query, request.limit());
        let rows: Vec<GroupRow> = query.build_query_as().fetch_all(&self.read).await?;
        let groups = rows
            .into_iter()
            .map(Group::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(request.page(groups, |g| Cursor {
            id: g.id.to_string(),
            group: g.id.parent().unwrap_or_else(GroupPath::root).to_string(),
        }))
    }

    async fn grant_user(&self, grant: UserGrant) -> Result<GrantOutcome> {
        let mut tx = self
            .begin_write(Lock::user_change(&grant.email, grant.group.is_root()))
            .await?;
        Self::require_group(&mut tx, &grant.group).await?;
        let now = Timestamp::now();
        let existing = Self::user_in(&mut tx, &grant.email).await?;
        let created = existing.is_none();
        let user = match existing {
            None => {
                let groups = BTreeMap::from([(grant.group.clone(), grant.role)]);
                let mut tags = TagMap::default();
                if let Some(patch) = &grant.tags {
                    tags.apply(patch);
                }
                let default_group = grant
                    .default_group
                    .filter(|g| within(&groups, g))
                    .unwrap_or_else(|| grant.group.clone());
                let user = User {
                    email: grant.email,
                    state: UserState::Invited,
                    groups,
                    default_group: Some(default_group),
                    tags,
                    created_by: grant.granted_by,
                    created_at: now,
                    updated_by: None,
                    updated_at: None,
                };
                sqlx::query(
                    "INSERT INTO users (email, state, groups, default_group, password_hash, tags, created_by, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(user.email.as_str().to_owned())
                .bind(user.state.as_str().to_owned())
                .bind(to_json(&user.groups))
                .bind(user.default_group.as_ref().map(|g| g.as_str().to_owned()))
                .bind(grant.password_hash)
                .bind(to_json(&user.tags))
                .bind(user.created_by.clone())
                .bind(user.created_at.to_string())
                .execute(&mut *tx)
                .await?;
                Self::set_tags(&mut tx, USER_SCOPE, user.email.as_str(), &user.tags).await?;
                user
            }
            Some(mut user) => {
                if grant.group.is_root() && grant.role != Role::Admin {
                    Self::keep_a_root_admin(&mut tx, &user).await?;
                }
                user.groups.insert(grant.group.clone(), grant.role);
                if let Some(patch) = &grant.tags {
                    user.tags.apply(patch);
                }
                user.default_group = grant
                    .default_group
                    .filter(|g| within(&user.groups, g))
                    .or(user.default_group)
                    .or_else(|| Some(grant.group.clone()));
                user.updated_by = Some(grant.granted_by);
                user.updated_at = Some(now);
                Self::save_user(&mut tx, &user, None).await?;
                user
            }
        };
        let granted = sqlx::query(
            "INSERT INTO user_groups (email, group_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (email, group_id) DO UPDATE SET role = excluded.role",
        )
        .bind(user.email.as_str().to_owned())
        .bind(grant.group.as_str().to_owned())
        .bind(grant.role.as_str().to_owned())
        .execute(&mut *tx)
        .await;
        // The group may have been deleted since it was checked.
        violations(
            granted,
            || StoreError::GroupNotFound(grant.group.clone()),
            || StoreError::GroupNotFound(grant.group.clone()),
        )?;
        tx.commit().await?;
        Ok(GrantOutcome { user, created })
    }

    async fn user(&self, email: &Email) -> Result<Option<User>> {
        let mut conn = self.read.acquire().await?;
        Self::user_in(&mut conn, email).await
    }

    async fn credentials(&self, email: &Email) -> Result<Option<Credentials>> {
        let row: Option<CredentialsRow> =
            sqlx::query_as("SELECT password_hash, state FROM users WHERE email = $1")
                .bind(email.as_str().to_owned())
                .fetch_optional(&self.read)
                .await?;
        row.map(Credentials::try_from).transpose()
    }

    async fn update_user(&self, email: &Email, patch: UserPatch) -> Result<User> {
        let mut tx = self
            .begin_write(Lock::user_change(
                email,
                patch.state == Some(UserState::Disabled),
            ))
            .await?;
        let mut user = Self::user_in(&mut tx, email)
            .await?
            .ok_or_else(|| StoreError::UserNotFound(email.clone()))?;
        if patch.state == Some(UserState::Disabled) {
            Self::keep_a_root_admin(&mut tx, &user).await?;
        }
        if let Some(group) = &patch.default_group {
            Self::require_group(&mut tx, group).await?;
            if !user.is_within(group) {
                return Err(StoreError::InvalidRequest(format!(
                    "Default group '{group}' is not within the groups of user '{email}'."
                )));
            }
            user.default_group = Some(group.clone());
        }
        if let Some(tags) = &patch.tags {
            user.tags.apply(tags);
        }
        user.state = patch.state.unwrap_or(user.state);
        user.updated_by = Some(patch.updated_by);
        user.updated_at = Some(Timestamp::now());
        Self::save_user(&mut tx, &user, patch.password_hash).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn revoke_user(&self, email: &Email, group: &GroupPath) -> Result<Option<User>> {
        let mut tx = self
            .begin_write(Lock::user_change(email, group.is_root()))
            .await?;
        let mut user = Self::user_in(&mut tx, email)
            .await?
            .ok_or_else(|| StoreError::UserNotFound(email.clone()))?;
        if !user.groups.contains_key(group) {
            return Err(StoreError::InvalidState(format!(
                "User '{email}' was not granted group '{group}'."
            )));
        }
        if group.is_root() {
            Self::keep_a_root_admin(&mut tx, &user).await?;
        }
        sqlx::query("DELETE FROM user_groups WHERE email = $1 AND group_id = $2")
            .bind(email.as_str().to_owned())
            .bind(group.as_str().to_owned())
            .execute(&mut *tx)
            .await?;
        user.groups.remove(group);
        let remaining = if user.groups.is_empty() {
            for sql in [
                "DELETE FROM tag_index WHERE scope = 'user' AND id = $1",
                "DELETE FROM users WHERE email = $1",
            ] {
                sqlx::query(sql)
                    .bind(email.as_str().to_owned())
                    .execute(&mut *tx)
                    .await?;
            }
            None
        } else {
            if !user
                .default_group
                .as_ref()
                .is_some_and(|g| user.is_within(g))
            {
                user.default_group = user.groups.keys().next().cloned();
            }
            user.updated_at = Some(Timestamp::now());
            Self::save_user(&mut tx, &user, None).await?;
            Some(user)
        };
        tx.commit().await?;
        Ok(remaining)
    }

    async fn list_users(&self, request: &ListRequest) -> Result<Page<User>> {
        let mut query = QueryBuilder::<DB>::new(
            "SELECT m.listed_group, ".to_owned() + user_columns!() + " FROM (SELECT email, ",
        );
        query.push("MIN(group_id) AS listed_group FROM user_groups WHERE ");
        push_scope(&mut query, "group_id", request);
        query.push(" GROUP BY email) m JOIN users u ON u.email = m.email WHERE 1 = 1");
        push_tag_filters(&mut query, USER_SCOPE, "m.email", &request.tags);
        push_page(&mut query, "m.email", request);
        let rows: Vec<ListedUser> = query.build_query_as().fetch_all(&self.read).await?;
        let users = rows
            .into_iter()
            .map(|listed| Ok((User::try_from(listed.row)?, listed.listed_group)))
            .collect::<Result<Vec<_>>>()?;
        Ok(request
            .page(users, |(user, group)| Cursor {
                id: user.email.to_string(),
                group: group.clone(),
            })
            .map(|(user, _)| user))
    }

    async fn tag_values(
        &self,
        scope: TagScope,
        group: &GroupPath,
        key: &str,
        parent: Option<&str>,
    ) -> Result<Vec<String>> {
        let (low, high) = group.descendant_bounds();
        let scope_name = match scope {
            TagScope::Groups => GROUP_SCOPE,
            TagScope::Users => USER_SCOPE,
            TagScope::Resources(kind) => kind.as_str(),
        };
        let mut query =
            QueryBuilder::<DB>::new("SELECT DISTINCT t.value FROM tag_index t WHERE t.scope = ");
        query
            .push_bind(scope_name.to_owned())
            .push(" AND t.key = ")
            .push_bind(key.to_lowercase());
        match scope {
            TagScope::Groups => {
                query
                    .push(" AND (t.id = ")
                    .push_bind(group.as_str().to_owned());
                query
                    .push(" OR (t.id > ")
                    .push_bind(low)
                    .push(" AND t.id < ")
                    .push_bind(high)
                    .push("))");
            }
            TagScope::Users => {
                query.push(" AND t.id IN (SELECT email FROM user_groups WHERE group_id = ");
                query.push_bind(group.as_str().to_owned());
                query
                    .push(" OR (group_id > ")
                    .push_bind(low)
                    .push(" AND group_id < ")
                    .push_bind(high)
                    .push("))");
            }
            TagScope::Resources(kind) => {
                query
                    .push(" AND t.id IN (SELECT id FROM resource_groups WHERE kind = ")
                    .push_bind(kind.as_str().to_owned());
                query.push(" AND group_id IN (");
                let mut ids = query.separated(", ");
                for member in group.lineage() {
                    ids.push_bind(member.as_str().to_owned());
                }
                query.push("))");
            }
        }
        if let Some(parent) = parent {
            let prefix = format!("{}/", parent.trim_end_matches('/').to_lowercase());
            query
                .push(" AND substr(t.value_lower, 1, ")
                .push_bind(clamp_i32(prefix.chars().count()));
            query.push(") = ").push_bind(prefix);
        }
        query.push(" ORDER BY t.value");
        Ok(query
            .build_query_scalar::<String>()
            .fetch_all(&self.read)
            .await?)
    }

    async fn create_resource(&self, new: NewResource) -> Result<Resource> {
        let mut tx = self.begin_write(Vec::new()).await?;
        Self::require_group(&mut tx, &new.group).await?;
        if let Some(name) = &new.name {
            let taken = Self::count(
                &mut tx,
                "SELECT COUNT(*) FROM resources WHERE kind = $1 AND owner_group = $2 AND name_key = $3",
                &[new.kind.as_str(), new.group.as_str(), &name.to_lowercase()],
            )
            .await?;
            if taken > 0 {
                return Err(StoreError::NameInUse(name.clone()));
            }
        }
        let resource = Resource {
            id: ResourceId::generate(),
            version: 1,
            name: new.name,
            state: new.state,
            groups: vec![new.group.clone()],
            tags: new.tags,
            body: new.body,
            active_at: new.active_at,
            created_by: new.created_by,
            created_at: Timestamp::now(),
            updated_by: None,
            updated_at: None,
        };
        let inserted = sqlx::query(
            "INSERT INTO resources (kind, id, version, owner_group, name_key) VALUES ($1, $2, 1, $3, $4)",
        )
        .bind(new.kind.as_str().to_owned())
        .bind(resource.id.as_str().to_owned())
        .bind(new.group.as_str().to_owned())
        .bind(resource.name.as_ref().map(|n| n.to_lowercase()))
        .execute(&mut *tx)
        .await;
        // Without a lock, two writers may both have found the name free; the index decides.
        violations(
            inserted,
            || StoreError::NameInUse(resource.name.clone().unwrap_or_default()),
            || StoreError::GroupNotFound(new.group.clone()),
        )?;
        Self::insert_version(&mut tx, new.kind, &resource).await?;
        Self::rebuild_memberships(&mut tx, new.kind, &resource).await?;
        tx.commit().await?;
        Ok(resource)
    }

    async fn resource(&self, kind: ResourceKind, id: &ResourceId) -> Result<Option<Resource>> {
        let mut conn = self.read.acquire().await?;
        Self::latest_in(&mut conn, kind, id).await
    }

    async fn resource_version(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        version: u32,
    ) -> Result<Option<Resource>> {
        let row: Option<ResourceRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM resource_versions v WHERE v.kind = $1 AND v.id = $2 AND v.version = $3"
        ))
        .bind(kind.as_str().to_owned())
        .bind(id.as_str().to_owned())
        .bind(i64::from(version))
        .fetch_optional(&self.read)
        .await?;
        row.map(Resource::try_from).transpose()
    }

    async fn resource_versions(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        before: Option<u32>,
        count: Option<usize>,
    ) -> Result<Vec<Resource>> {
        let rows: Vec<ResourceRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM resource_versions v WHERE v.kind = $1 AND v.id = $2 AND v.version < $3 ORDER BY v.version DESC LIMIT $4"
        ))
        .bind(kind.as_str().to_owned())
        .bind(id.as_str().to_owned())
        .bind(before.map_or(i64::MAX, i64::from))
        .bind(count.map_or(i64::MAX, clamp_i64))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Resource::try_from).collect()
    }

    async fn resource_as_at(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        at: Timestamp,
    ) -> Result<Option<Resource>> {
        let row: Option<ResourceRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM resource_versions v WHERE v.kind = $1 AND v.id = $2 AND v.activation <= $3 \
             ORDER BY v.activation DESC, v.version DESC LIMIT 1"
        ))
        .bind(kind.as_str().to_owned())
        .bind(id.as_str().to_owned())
        .bind(at.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(Resource::try_from).transpose()
    }

    async fn update_resource(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        expected: Option<u32>,
        change: ResourceChange,
        by: &str,
    ) -> Result<Resource> {
        let mut tx = self.begin_write(vec![Lock::resource(kind, id)]).await?;
        let current = Self::require_latest(&mut tx, kind, id).await?;
        if let Some(expected) = expected.filter(|v| *v != current.version) {
            return Err(StoreError::InvalidState(format!(
                "Resource '{id}' is at version {} rather than {expected}: it was changed concurrently; reload it and retry.",
                current.version
            )));
        }
        let next = change.apply(&current, by, Timestamp::now());
        Self::write_version(&mut tx, kind, &next).await?;
        tx.commit().await?;
        Ok(next)
    }

    async fn amend_resource_version(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        version: u32,
        state: ResourceState,
        body: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Resource> {
        let mut tx = self.begin_write(vec![Lock::resource(kind, id)]).await?;
        let row: Option<ResourceRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM resource_versions v WHERE v.kind = $1 AND v.id = $2 AND v.version = $3"
        ))
        .bind(kind.as_str().to_owned())
        .bind(id.as_str().to_owned())
        .bind(i64::from(version))
        .fetch_optional(&mut *tx)
        .await?;
        let mut resource = row
            .map(Resource::try_from)
            .transpose()?
            .ok_or_else(|| StoreError::ResourceNotFound(format!("{id} version {version}")))?;
        sqlx::query(
            "UPDATE resource_versions SET state = $4, body = $5 WHERE kind = $1 AND id = $2 AND version = $3",
        )
        .bind(kind.as_str().to_owned())
        .bind(id.as_str().to_owned())
        .bind(i64::from(version))
        .bind(state.as_str().to_owned())
        .bind(to_json(&body))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        resource.state = state;
        resource.body = body;
        Ok(resource)
    }

    async fn grant_resource(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        group: &GroupPath,
        by: &str,
    ) -> Result<Resource> {
        let mut tx = self.begin_write(vec![Lock::resource(kind, id)]).await?;
        let current = Self::require_latest(&mut tx, kind, id).await?;
        Self::require_group(&mut tx, group).await?;
        let mut next = ResourceChange::default().apply(&current, by, Timestamp::now());
        if !next.groups.contains(group) {
            next.groups.push(group.clone());
        }
        Self::write_version(&mut tx, kind, &next).await?;
        Self::rebuild_memberships(&mut tx, kind, &next).await?;
        tx.commit().await?;
        Ok(next)
    }

    async fn revoke_resource(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        group: &GroupPath,
        by: &str,
    ) -> Result<Resource> {
        let mut tx = self.begin_write(vec![Lock::resource(kind, id)]).await?;
        let current = Self::require_latest(&mut tx, kind, id).await?;
        if current.owner() == Some(group) {
            return Err(StoreError::InvalidRequest(format!(
                "Group '{group}' owns resource '{id}'; the owning group cannot be revoked."
            )));
        }
        if !current.groups.contains(group) {
            return Err(StoreError::InvalidState(format!(
                "Resource '{id}' was not granted to group '{group}'."
            )));
        }
        let mut next = ResourceChange::default().apply(&current, by, Timestamp::now());
        next.groups.retain(|g| g != group);
        Self::write_version(&mut tx, kind, &next).await?;
        Self::rebuild_memberships(&mut tx, kind, &next).await?;
        tx.commit().await?;
        Ok(next)
    }

    async fn list_resources(
        &self,
        kind: ResourceKind,
        request: &ListRequest,
    ) -> Result<Page<Resource>> {
        let mut query = QueryBuilder::<DB>::new(
            "SELECT m.listed_group, ".to_owned()
                + version_columns!()
                + " FROM (SELECT id, MIN(group_id) AS listed_group FROM resource_groups WHERE kind = ",
        );
        query.push_bind(kind.as_str().to_owned()).push(" AND ");
        push_scope(&mut query, "group_id", request);
        query
            .push(" GROUP BY id) m JOIN resources r ON r.kind = ")
            .push_bind(kind.as_str().to_owned());
        query.push(" AND r.id = m.id JOIN resource_versions v ON v.kind = r.kind AND v.id = r.id AND v.version = r.version");
        query.push(" WHERE 1 = 1");
        push_tag_filters(&mut query, kind.as_str(), "m.id", &request.tags);
        push_page(&mut query, "m.id", request);
        let rows: Vec<ListedResource> = query.build_query_as().fetch_all(&self.read).await?;
        let resources = rows
            .into_iter()
            .map(|listed| Ok((Resource::try_from(listed.row)?, listed.listed_group)))
            .collect::<Result<Vec<_>>>()?;
        Ok(request
            .page(resources, |(resource, group)| Cursor {
                id: resource.id.to_string(),
                group: group.clone(),
            })
            .map(|(resource, _)| resource))
    }

    async fn resources_named(
        &self,
        kind: ResourceKind,
        name: &str,
        groups: &[GroupPath],
    ) -> Result<Vec<Resource>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<DB>::new(
            "SELECT ".to_owned()
                + version_columns!()
                + " FROM resources r JOIN resource_versions v ON v.kind = r.kind AND v.id = r.id AND v.version = r.version \
                   WHERE r.kind = ",
        );
        query
            .push_bind(kind.as_str().to_owned())
            .push(" AND r.name_key = ")
            .push_bind(name.to_lowercase());
        query.push(" AND r.owner_group IN (");
        let mut ids = query.separated(", ");
        for group in groups {
            ids.push_bind(group.as_str().to_owned());
        }
        query.push(") ORDER BY r.owner_group, r.id");
        let rows: Vec<ResourceRow> = query.build_query_as().fetch_all(&self.read).await?;
        rows.into_iter().map(Resource::try_from).collect()
    }

    async fn delete_resource(&self, kind: ResourceKind, id: &ResourceId) -> Result<()> {
        let mut tx = self.begin_write(vec![Lock::resource(kind, id)]).await?;
        Self::require_latest(&mut tx, kind, id).await?;
        for sql in [
            "DELETE FROM tag_index WHERE scope = $1 AND id = $2",
            "DELETE FROM resource_groups WHERE kind = $1 AND id = $2",
            "DELETE FROM resource_versions WHERE kind = $1 AND id = $2",
            "DELETE FROM resources WHERE kind = $1 AND id = $2",
        ] {
            sqlx::query(sql)
                .bind(kind.as_str().to_owned())
                .bind(id.as_str().to_owned())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
