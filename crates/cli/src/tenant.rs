//! `sifr tenant create|list|delete`: tenants are isolated databases (a SQLite file or a
//! PostgreSQL schema each). Deleting a tenant while a server uses it is not safe with SQLite:
//! stop the server first, or use the server's tenant API.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sifr_domain::{Email, Password, TenantId};

use crate::serve::StoreArgs;

#[derive(Args, Debug)]
pub struct TenantArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: TenantCommand,
}

#[derive(Subcommand, Debug)]
enum TenantCommand {
    /// Create a tenant with its root group and root admin.
    Create {
        /// Tenant id: lower-case letters, digits and '-'.
        id: String,
        /// The root admin's email [default: the configured admin email].
        #[arg(long, env = "SIFR_ADMIN_EMAIL", value_name = "EMAIL")]
        admin_email: Option<String>,
        /// The root admin's password; without it a random one is printed once.
        #[arg(
            long,
            env = "SIFR_ADMIN_PASSWORD",
            value_name = "PASSWORD",
            hide_env_values = true
        )]
        admin_password: Option<String>,
    },
    /// List the tenants.
    List,
    /// Delete a tenant and all its data.
    Delete {
        id: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(args: TenantArgs) -> anyhow::Result<ExitCode> {
    let config = args.store.config()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = sifr_store::open(&sifr_api::store_settings(&config)?).await?;
        store.migrate().await?;
        match args.command {
            TenantCommand::Create {
                id,
                admin_email,
                admin_password,
            } => {
                let id = TenantId::parse(&id)?;
                let admin = Email::parse(admin_email.as_deref().unwrap_or(&config.admin_email))?;
                let password = admin_password.as_deref().map(Password::parse).transpose()?;
                let created = sifr_api::provision(store.as_ref(), &id, &admin, password).await?;
                println!(
                    "Created tenant '{}' with root admin {}.",
                    created.tenant, created.admin
                );
                if let Some(password) = created.generated_password {
                    println!("Generated password, shown only this once: {password}");
                }
            }
            TenantCommand::List => {
                for tenant in store.tenants().await? {
                    println!("{}\t{}", tenant.id, tenant.created_at);
                }
            }
            TenantCommand::Delete { id, yes } => {
                let id = TenantId::parse(&id)?;
                if !yes {
                    anyhow::bail!(
                        "deleting tenant '{id}' removes all its data; repeat with --yes to confirm"
                    );
                }
                store.delete_tenant(&id).await?;
                println!("Deleted tenant '{id}'.");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
