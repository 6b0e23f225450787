//! The embedded store: `catalog.db` plus one SQLite database per tenant in `tenants/`, all in
//! WAL mode. Each tenant has a pool of readers and a single writer connection, which serialises
//! writes in the process (SQLite allows one writer at a time anyway) without busy-retry loops.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use sifr_domain::TenantId;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::catalog::Catalog;
use crate::migrations;
use crate::tenant::SqlTenant;
use crate::{Result, Store, StoreError, TenantInfo, TenantShare, TenantStore};

const READERS_PER_TENANT: u32 = 4;

pub struct SqliteStore {
    data_dir: PathBuf,
    catalog: Catalog<Sqlite>,
    open_tenants: RwLock<HashMap<TenantId, Arc<SqlTenant<Sqlite>>>>,
    /// Held while a tenant's pools are opened, so two requests do not open them twice.
    opening: tokio::sync::Mutex<()>,
}

/// The writer connection's page cache: 32 MiB (a negative `cache_size` is KiB).
const WRITER_CACHE: &str = "-32768";

/// Pages (4 KiB) the write-ahead log grows to before it is checkpointed.
const WRITER_CHECKPOINT_PAGES: &str = "16384";

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |error| StoreError::Io { context, error }
}

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
}

impl SqliteStore {
    pub async fn open(data_dir: &Path) -> Result<Self> {
        let tenants_dir = data_dir.join("tenants");
        tokio::fs::create_dir_all(&tenants_dir)
            .await
            .map_err(io_error(format!(
                "cannot create the data directory {}",
                tenants_dir.display()
            )))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(connect_options(&data_dir.join("catalog.db")))
            .await?;
        Ok(Self {
            data_dir: data_dir.to_owned(),
            catalog: Catalog { pool },
            open_tenants: RwLock::new(HashMap::new()),
            opening: tokio::sync::Mutex::new(()),
        })
    }

    fn tenant_file(&self, id: &TenantId) -> PathBuf {
        self.data_dir.join("tenants").join(format!("{id}.db"))
    }

    fn cached(&self, id: &TenantId) -> Option<Arc<SqlTenant<Sqlite>>> {
        self.open_tenants
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(id)
            .cloned()
    }

    /// Opens (and migrates) the tenant's database, or returns the already open one.
    async fn open_tenant(&self, id: &TenantId) -> Result<Arc<SqlTenant<Sqlite>>> {
        let _opening = self.opening.lock().await;
        if let Some(open) = self.cached(id) {
            return Ok(open);
        }
        let options = connect_options(&self.tenant_file(id));
        // The writer keeps a larger page cache: bulk activity writes touch the identity index
        // all over, and re-reading its pages from the file dominated their cost. Its log is
        // copied into the file every 64 MiB rather than every 4 MiB: bulk writes then pay for
        // a sixteenth of the checkpoints (and their flushes to disk).
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", WRITER_CACHE)
                    .pragma("temp_store", "memory")
                    .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES),
            )
            .await?;
        migrations::sqlite_tenant().run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(READERS_PER_TENANT)
            .connect_with(options)
            .await?;
        let tenant = Arc::new(SqlTenant {
            read,
            write,
            write_lock: None,
        });
        self.open_tenants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id.clone(), tenant.clone());
        Ok(tenant)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<Vec<TenantId>> {
        migrations::sqlite_catalog().run(&self.catalog.pool).await?;
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
            tenant.read.close().await;
        }
        let file = self.tenant_file(id);
        for suffix in ["", "-wal", "-shm"] {
            let path = PathBuf::from(format!("{}{suffix}", file.display()));
            match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StoreError::Io {
                        context: format!("cannot remove {}", path.display()),
                        error: e,
                    });
                }
                _ => {}
            }
        }
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
