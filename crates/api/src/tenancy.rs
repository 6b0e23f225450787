//! Creating a tenant: its database, its root group and its first admin. The CLI, the first start
//! of the server and the tenant API all go through [`provision`].

use sifr_domain::{Email, Password, TenantId};
use sifr_store::Store;

use crate::auth::passwords;
use crate::error::ApiError;

/// A new tenant and how its admin logs in.
#[derive(Debug)]
pub struct Provisioned {
    pub tenant: TenantId,
    pub admin: Email,
    /// The admin's password when it was generated rather than chosen; shown once, never stored.
    pub generated_password: Option<String>,
}

/// Creates tenant `id` with `admin` as admin of its root group. Without `password`, a random
/// one is generated and returned.
pub async fn provision(
    store: &dyn Store,
    id: &TenantId,
    admin: &Email,
    password: Option<Password>,
) -> Result<Provisioned, ApiError> {
    let generated = password.is_none();
    let password = password.unwrap_or_else(passwords::generate);
    let hash = passwords::hash(&password).await?;
    let tenant = store.create_tenant(id).await?;
    tenant.bootstrap(admin, &hash).await?;
    crate::pipelines::connectors::seed(tenant.as_ref()).await?;
    Ok(Provisioned {
        tenant: id.clone(),
        admin: admin.clone(),
        generated_password: generated.then(|| password.expose().to_owned()),
    })
}
