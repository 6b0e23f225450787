//! Read-only sharing between tenants. Tenants are isolated databases; the operator lets tenant
//! U read tenant T's group G (and the groups under it) with a share kept in the catalog. A
//! request of U then reads T's impacts, calculations and reference datasets with header
//! `x-tenant: T` and a group in context at or under G, as a reader of that group; formulas
//! reach T's resources with `tenant='T'`. Nothing of T above G is visible this way: G is the
//! floor of the caller's view (see [`SecurityContext::floor`]).

use axum::extract::MatchedPath;
use axum::http::Method;
use axum::http::request::Parts;
use sifr_domain::{GroupPath, Memberships, Role, SecurityContext, TenantId};
use sifr_store::{Store, StoreError, TenantShare};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The modules whose reads may be served from another tenant.
const SHARED_MODULES: [&str; 3] = ["/impacts/", "/calculations/", "/referenceDatasets/"];

/// Records a share after checking the owner has the group.
pub async fn share(store: &dyn Store, share: &TenantShare) -> ApiResult<()> {
    let owner = store.tenant(&share.owner).await?;
    if owner.group(&share.group).await?.is_none() {
        return Err(StoreError::GroupNotFound(share.group.clone()).into());
    }
    Ok(store.share(share).await?)
}

/// The group `owner` shared with `consumer` that holds `group` (the outermost, when shares
/// nest), if any.
async fn shared_group(
    store: &dyn Store,
    owner: &TenantId,
    consumer: &TenantId,
    group: &GroupPath,
) -> ApiResult<Option<GroupPath>> {
    Ok(store
        .shares()
        .await?
        .into_iter()
        .filter(|share| share.allows(owner, consumer, group))
        .map(|share| share.group)
        .min())
}

fn refused(tenant: &str, group: &GroupPath) -> ApiError {
    ApiError::Forbidden(format!(
        "Not authorized to access tenant path {tenant}:{group}"
    ))
}

/// The caller a request acts as: `caller` itself, or, with `x-tenant` naming another tenant, a
/// reader of the shared group in context in that tenant.
pub(crate) async fn acting_caller(
    parts: &Parts,
    state: &AppState,
    caller: Caller,
) -> ApiResult<Caller> {
    let Some(header) = parts.headers.get("x-tenant") else {
        return Ok(caller);
    };
    let raw = header.to_str().unwrap_or_default().trim();
    if raw == caller.tenant_id.as_str() {
        return Ok(caller);
    }
    let group = caller.context.group.clone();
    let path = parts
        .extensions
        .get::<MatchedPath>()
        .map_or(parts.uri.path(), MatchedPath::as_str);
    if !SHARED_MODULES.iter().any(|module| path.starts_with(module)) {
        return Err(ApiError::Forbidden(format!(
            "x-tenant is accepted only by the impacts, calculations and reference datasets modules, not by {path}."
        )));
    }
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        return Err(ApiError::Forbidden(format!(
            "Resources of tenant '{raw}' are shared read-only: {} is not allowed with x-tenant.",
            parts.method
        )));
    }
    let owner = TenantId::parse(raw).map_err(|_| refused(raw, &group))?;
    let Some(shared) =
        shared_group(state.store.as_ref(), &owner, &caller.tenant_id, &group).await?
    else {
        return Err(refused(raw, &group));
    };
    let tenant = state.store.tenant(&owner).await?;
    Ok(Caller {
        tenant_id: owner,
        tenant,
        datasets: caller.datasets,
        store: caller.store,
        context: SecurityContext {
            caller: caller.context.caller,
            memberships: Memberships::new([(group.clone(), Role::Reader)]),
            group,
            floor: Some(shared),
        },
    })
}
