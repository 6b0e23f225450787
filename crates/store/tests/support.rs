//! Backends for the stories: a fresh SQLite data directory, and a PostgreSQL schema prefix of
//! its own (so stories running in parallel never meet), dropped when the story ends.

use std::sync::Arc;

use sifr_domain::{Email, GroupConfiguration, GroupName, GroupPath, TagMap, TenantId};
use sifr_store::{NewGroup, Store, StoreSettings, TenantStore};

pub const ADMIN: &str = "admin@example.com";

pub struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl Backend {
    /// Drops the schemas a PostgreSQL story created.
    pub async fn finish(self) {
        if let Some((url, prefix)) = self.postgres {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .expect("connect to the test database");
            let schemas: Vec<String> = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE nspname = $1 OR nspname LIKE $2",
            )
            .bind(&prefix)
            .bind(format!("{prefix}\\_t\\_%"))
            .fetch_all(&mut conn)
            .await
            .expect("list schemas");
            for schema in schemas {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA \"{schema}\" CASCADE"
                )))
                .execute(&mut conn)
                .await
                .expect("drop schema");
            }
        }
    }
}

pub fn random_name(len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
        .collect()
}

/// SQLite always; PostgreSQL when `SIFR_TEST_DATABASE_URL` is set.
pub async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let settings = StoreSettings::Sqlite {
        data_dir: dir.path().to_owned(),
    };
    let store = sifr_store::open(&settings)
        .await
        .expect("open SQLite store");
    store.migrate().await.expect("migrate SQLite store");
    let mut all = vec![Backend {
        name: "sqlite",
        store,
        _dir: Some(dir),
        postgres: None,
    }];
    if let Ok(url) = std::env::var("SIFR_TEST_DATABASE_URL") {
        let prefix = format!("st_{}", random_name(10));
        let settings =
            StoreSettings::postgres(&url, &prefix, 5).expect("valid PostgreSQL settings");
        let store = sifr_store::open(&settings)
            .await
            .expect("open PostgreSQL store");
        store.migrate().await.expect("migrate PostgreSQL store");
        all.push(Backend {
            name: "postgres",
            store,
            _dir: None,
            postgres: Some((url, prefix)),
        });
    }
    all
}

/// A new tenant with its root group and admin.
pub async fn tenant(backend: &Backend) -> Arc<dyn TenantStore> {
    let id = TenantId::parse(&random_name(8)).expect("valid tenant id");
    let tenant = backend
        .store
        .create_tenant(&id)
        .await
        .expect("create tenant");
    assert!(
        tenant
            .bootstrap(&email(ADMIN), "hash")
            .await
            .expect("bootstrap"),
        "{}: first bootstrap creates the admin",
        backend.name
    );
    tenant
}

pub fn path(s: &str) -> GroupPath {
    GroupPath::parse(s).expect("valid group path")
}

pub fn email(s: &str) -> Email {
    Email::parse(s).expect("valid email")
}

/// Creates `id` (its parent must exist) with the given tags.
pub async fn group(tenant: &dyn TenantStore, id: &str, tags: TagMap) {
    let id = path(id);
    let leaf = id
        .as_str()
        .rsplit('/')
        .next()
        .expect("a path has a last segment");
    let name = GroupName::parse(leaf).expect("valid name");
    tenant
        .create_group(NewGroup {
            id,
            name: name.as_str().to_owned(),
            description: None,
            tags,
            configuration: GroupConfiguration::default(),
            created_by: ADMIN.into(),
        })
        .await
        .expect("create group");
}

pub fn tags(json: &str) -> TagMap {
    serde_json::from_str(json).expect("valid tags")
}
