//! The PostgreSQL store: the catalog in schema `<prefix>`, each tenant in schema
//! `<prefix>_t_<tenant>` (with `-` written `_`). A tenant's pool sets `search_path` to its schema
//! when connecting, so the SQL never names a schema and a tenant cannot reach another's tables.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use sifr_domain::TenantId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgPool, Postgres};

use crate::catalog::Catalog;
use crate::migrations;
use crate::tenant::SqlTenant;
use crate::{Result, Store, StoreError, TenantInfo, TenantShare, TenantStore, redact};

/// A transaction-scoped lock on a key (`$1`) within the tenant's schema: writers that could
/// break each other's checks take turns, across every server sharing the database.
const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ' ' || $1))";

pub struct PostgresStore {
    options: PgConnectOptions,
    prefix: String,
    max_connections: u32,
    catalog: Catalog<Postgres>,
    open_tenants: RwLock<HashMap<TenantId, Arc<SqlTenant<Postgres>>>>,
    opening: tokio::sync::Mutex<()>,
}

/// `"name"`: the schema names are built from validated prefixes and tenant ids (`[a-z0-9_]`),
/// so quoting is only a second line of defence.
fn quoted(schema: &str) -> String {
    format!("\"{}\"", schema.replace('"', "\"\""))
}

impl PostgresStore {
    pub async fn open(url: &str, prefix: &str, max_connections: u32) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::Config(format!("invalid database URL '{}': {e}", redact(url)))
        })?;
        let mut setup = sqlx::PgConnection::connect_with(&options).await?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quoted(prefix)
        )))
        .execute(&mut setup)
        .await?;
        setup.close().await?;
        let pool = Self::pool(&options, prefix, 2).await?;
        Ok(Self {
            options,
            prefix: prefix.to_owned(),
            max_connections,
            catalog: Catalog { pool },
            open_tenants: RwLock::new(HashMap::new()),
            opening: tokio::sync::Mutex::new(()),
        })
    }

    async fn pool(
        options: &PgConnectOptions,
        schema: &str,
        max_connections: u32,
    ) -> Result<PgPool> {
        let options = options.clone().options([("search_path", schema)]);
        Ok(PgPoolOptions::new()
            .max_connections(max_connections)
            .idle_timeout(Duration::from_secs(60))
            .connect_with(options)
            .await?)
    }

    fn schema(&self, id: &TenantId) -> String {
        format!("{}_t_{}", self.prefix, id.as_str().replace('-', "_"))
    }

    fn cached(&self, id: &TenantId) -> Option<Arc<SqlTenant<Postgres>>> {
        self.open_tenants
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(id)
            .cloned()
    }

    async fn open_tenant(&self, id: &TenantId) -> Result<Arc<SqlTenant<Postgres>>> {
        let _opening = self.opening.lock().await;
        if let Some(open) = self.cached(id) {
            return Ok(open);
        }
        let schema = self.schema(id);
        sqlx::query(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quoted(&schema)
        )))
        .execute(&self.catalog.pool)
        .await?;
        let pool = Self::pool(&self.options, &schema, self.max_connections).await?;
        migrations::postgres_tenant().run(&pool).await?;
        let tenant = Arc::new(SqlTenant {
            read: pool.clone(),
            write: pool,
            write_lock: Some(WRITE_LOCK),
        });
        self.open_tenants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id.clone(), tenant.clone());
        Ok(tenant)
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<Vec<TenantId>> {
        migrations::postgres_catalog()
            .run(&self.catalog.pool)
            .await?;
        let mut migrated = Vec::new();
        for tenant in self.catalog.list().await? {
            self.open_tenant(&tenant.id).await?;
            migrated.push(tenant.id);
        }
        Ok(migrated)
    }

    async fn create_tenant(&self, id: &TenantId) -> Result<Arc<dyn TenantStore>> {
        self.catalog.add(id).await?;
        Ok(self.open_tenant(id).await?)
    }

    async fn tenants(&self) -> Result<Vec<TenantInfo>> {
        self.catalog.list().await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<()> {
        self.catalog.remove(id).await?;
        let open = self
            .open_tenants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(id);
        if let Some(tenant) = open {
            tenant.write.close().await;
        }
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            quoted(&self.schema(id))
        )))
        .execute(&self.catalog.pool)
        .await?;
        Ok(())
    }

    async fn tenant(&self, id: &TenantId) -> Result<Arc<dyn TenantStore>> {
        if let Some(open) = self.cached(id) {
            return Ok(open);
        }
        if !self.catalog.contains(id).await? {
            return Err(StoreError::TenantNotFound(id.clone()));
        }
        Ok(self.open_tenant(id).await?)
    }

    async fn share(&self, share: &TenantShare) -> Result<()> {
        self.catalog.share(share).await
    }

    async fn unshare(&self, share: &TenantShare) -> Result<()> {
        self.catalog.unshare(share).await
    }

    async fn shares(&self) -> Result<Vec<TenantShare>> {
        self.catalog.shares().await
    }

    async fn secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
        self.catalog.secret(name, candidate).await
    }
}
