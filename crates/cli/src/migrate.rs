//! `sifr migrate`: applies pending migrations to the catalog and every tenant.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::serve::StoreArgs;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let config = args.store.config()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = sifr_store::open(&sifr_api::store_settings(&config)?).await?;
        let tenants = store.migrate().await?;
        println!(
            "Migrated the {} catalog and {} tenant(s).",
            store.backend(),
            tenants.len()
        );
        Ok(ExitCode::SUCCESS)
    })
}
