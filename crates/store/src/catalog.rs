//! The catalog: which tenants exist, which groups they share with each other, and the
//! server-wide secrets. Same SQL on both backends.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sifr_domain::{GroupPath, TenantId, Timestamp};
use sqlx::{Database, Decode, Encode, Executor, IntoArguments, Pool, Type};

use crate::{Result, StoreError, TenantInfo, TenantShare};

pub(crate) struct Catalog<DB: Database> {
    pub pool: Pool<DB>,
}

impl<DB> Catalog<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'r> (String, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    pub async fn contains(&self, id: &TenantId) -> Result<bool> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE id = $1")
            .bind(id.as_str().to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(count > 0)
    }

    pub async fn add(&self, id: &TenantId) -> Result<()> {
        let inserted = sqlx::query("INSERT INTO tenants (id, created_at) VALUES ($1, $2)")
            .bind(id.as_str().to_owned())
            .bind(Timestamp::now().to_string())
            .execute(&self.pool)
            .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::TenantExists(id.clone()))
            }
            other => Ok(other.map(drop)?),
        }
    }

    pub async fn remove(&self, id: &TenantId) -> Result<()> {
        if !self.contains(id).await? {
            return Err(StoreError::TenantNotFound(id.clone()));
        }
        sqlx::query("DELETE FROM tenant_shares WHERE owner = $1 OR consumer = $1")
            .bind(id.as_str().to_owned())
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id.as_str().to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn share(&self, share: &TenantShare) -> Result<()> {
        for tenant in [&share.owner, &share.consumer] {
            if !self.contains(tenant).await? {
                return Err(StoreError::TenantNotFound(tenant.clone()));
            }
        }
        if share.owner == share.consumer {
            return Err(StoreError::InvalidRequest(format!(
                "Tenant '{}' cannot share with itself.",
                share.owner
            )));
        }
        sqlx::query(
            "INSERT INTO tenant_shares (owner, group_id, consumer, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (owner, group_id, consumer) DO NOTHING",
        )
        .bind(share.owner.as_str().to_owned())
        .bind(share.group.to_string())
        .bind(share.consumer.as_str().to_owned())
        .bind(Timestamp::now().to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn unshare(&self, share: &TenantShare) -> Result<()> {
        let shared: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tenant_shares WHERE owner = $1 AND group_id = $2 AND consumer = $3",
        )
        .bind(share.owner.as_str().to_owned())
        .bind(share.group.to_string())
        .bind(share.consumer.as_str().to_owned())
        .fetch_one(&self.pool)
        .await?;
        if shared == 0 {
            return Err(StoreError::InvalidRequest(format!(
                "Tenant '{}' does not share group '{}' with tenant '{}'.",
                share.owner, share.group, share.consumer
            )));
        }
        sqlx::query(
            "DELETE FROM tenant_shares WHERE owner = $1 AND group_id = $2 AND consumer = $3",
        )
        .bind(share.owner.as_str().to_owned())
        .bind(share.group.to_string())
        .bind(share.consumer.as_str().to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn shares(&self) -> Result<Vec<TenantShare>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT owner, group_id, consumer FROM tenant_shares ORDER BY owner, group_id, consumer",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(owner, group, consumer)| {
                let tenant = |id: &str| {
                    TenantId::parse(id)
                        .map_err(|e| StoreError::Corrupt(format!("share tenant: {e}")))
                };
                Ok(TenantShare {
                    owner: tenant(&owner)?,
                    group: GroupPath::parse(&group)
                        .map_err(|e| StoreError::Corrupt(format!("shared group: {e}")))?,
                    consumer: tenant(&consumer)?,
                })
            })
            .collect()
    }

    pub async fn list(&self) -> Result<Vec<TenantInfo>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, created_at FROM tenants ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, created_at)| {
                Ok(TenantInfo {
                    id: TenantId::parse(&id)
                        .map_err(|e| StoreError::Corrupt(format!("tenant id: {e}")))?,
                    created_at: Timestamp::parse(&created_at)
                        .map_err(|e| StoreError::Corrupt(format!("tenant createdAt: {e}")))?,
                })
            })
            .collect()
    }

    pub async fn secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.to_owned())
        .bind(STANDARD.encode(candidate))
        .execute(&self.pool)
        .await?;
        let (stored,): (String,) = sqlx::query_as("SELECT value FROM secrets WHERE name = $1")
            .bind(name.to_owned())
            .fetch_one(&self.pool)
            .await?;
        STANDARD
            .decode(stored)
            .map_err(|e| StoreError::Corrupt(format!("secret '{name}': {e}")))
    }
}
