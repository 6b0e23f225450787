//! `sifr tenant create|list|delete|share|unshare`: tenants are isolated databases (a SQLite file
//! or a PostgreSQL schema each); a share lets one tenant read another's group. Deleting a tenant while a server uses it is not safe with SQLite:
//! stop the server first, or use the server's tenant API.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sifr_domain::{Email, GroupPath, Password, TenantId};
use sifr_store::TenantShare;

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
    /// Let another tenant read a group (and the groups under it) of this tenant, read-only.
    Share(ShareArgs),
    /// Stop sharing a group with another tenant.
    Unshare(ShareArgs),
    /// List the shares.
    Shares,
}

#[derive(Args, Debug)]
struct ShareArgs {
    /// The tenant that owns the group.
    owner: String,
    /// The shared group, e.g. /shared.
    #[arg(long, value_name = "GROUP")]
    group: String,
    /// The tenant that may read it.
    #[arg(long, value_name = "TENANT")]
    with: String,
}

impl ShareArgs {
    fn share(&self) -> anyhow::Result<TenantShare> {
        Ok(TenantShare {
            owner: TenantId::parse(&self.owner)?,
            group: GroupPath::parse(&self.group)?,
            consumer: TenantId::parse(&self.with)?,
        })
    }
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
            TenantCommand::Share(args) => {
                let share = args.share()?;
                sifr_api::share(store.as_ref(), &share).await?;
                println!(
                    "Tenant '{}' shares group '{}' with tenant '{}', read-only.",
                    share.owner, share.group, share.consumer
                );
            }
            TenantCommand::Unshare(args) => {
                let share = args.share()?;
                store.unshare(&share).await?;
                println!(
                    "Tenant '{}' no longer shares group '{}' with tenant '{}'.",
                    share.owner, share.group, share.consumer
                );
            }
            TenantCommand::Shares => {
                for share in store.shares().await? {
                    println!("{}\t{}\t{}", share.owner, share.group, share.consumer);
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
