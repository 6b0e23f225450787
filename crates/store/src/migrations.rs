//! The migrations of each backend, embedded in the binary. Every file under `migrations/` is
//! listed here once, in order; sqlx records what ran in `_sqlx_migrations` of each database
//! (or schema) and applies the rest.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

macro_rules! migration {
    ($version:literal, $description:literal, $path:literal) => {
        (
            $version,
            $description,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $path)),
        )
    };
}

type Source = (i64, &'static str, &'static str);

const SQLITE_CATALOG: &[Source] = &[
    migration!(
        20261201000000,
        "catalog",
        "sqlite/catalog/20261201000000_catalog.sql"
    ),
    migration!(
        20261215000000,
        "tenant shares",
        "sqlite/catalog/20261215000000_tenant_shares.sql"
    ),
];
const SQLITE_TENANT: &[Source] = &[
    migration!(
        20261201000000,
        "access management",
        "sqlite/tenant/20261201000000_access_management.sql"
    ),
    migration!(
        20261220000000,
        "pipeline processor",
        "sqlite/tenant/20261220000000_pipeline_processor.sql"
    ),
    migration!(
        20261222000000,
        "metric aggregation jobs",
        "sqlite/tenant/20261222000000_metric_aggregation_jobs.sql"
    ),
    migration!(
        20261229000000,
        "activity segments",
        "sqlite/tenant/20261229000000_activity_segments.sql"
    ),
    migration!(
        20261230000000,
        "pending entries",
        "sqlite/tenant/20261230000000_pending_entries.sql"
    ),
];
const POSTGRES_CATALOG: &[Source] = &[
    migration!(
        20261201000000,
        "catalog",
        "postgres/catalog/20261201000000_catalog.sql"
    ),
    migration!(
        20261215000000,
        "tenant shares",
        "postgres/catalog/20261215000000_tenant_shares.sql"
    ),
];
const POSTGRES_TENANT: &[Source] = &[
    migration!(
        20261201000000,
        "access management",
        "postgres/tenant/20261201000000_access_management.sql"
    ),
    migration!(
        20261220000000,
        "pipeline processor",
        "postgres/tenant/20261220000000_pipeline_processor.sql"
    ),
    migration!(
        20261222000000,
        "metric aggregation jobs",
        "postgres/tenant/20261222000000_metric_aggregation_jobs.sql"
    ),
    migration!(
        20261229000000,
        "activity segments",
        "postgres/tenant/20261229000000_activity_segments.sql"
    ),
    migration!(
        20261230000000,
        "pending entries",
        "postgres/tenant/20261230000000_pending_entries.sql"
    ),
];

fn migrator(sources: &[Source]) -> Migrator {
    Migrator::with_migrations(
        sources
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) fn sqlite_catalog() -> Migrator {
    migrator(SQLITE_CATALOG)
}

pub(crate) fn sqlite_tenant() -> Migrator {
    migrator(SQLITE_TENANT)
}

pub(crate) fn postgres_catalog() -> Migrator {
    migrator(POSTGRES_CATALOG)
}

pub(crate) fn postgres_tenant() -> Migrator {
    migrator(POSTGRES_TENANT)
}
