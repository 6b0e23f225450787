//! The resources formulas read (IMPACT, LOOKUP, `#calculation(...)`, ASSIGN_TO_GROUP), found
//! in a tenant's store on behalf of a caller.
//!
//! A name is looked up in the group in context, then in each of its ancestors, nearest first
//! (none above the caller's visibility floor, nor above the group another tenant shares);
//! `group=` in a formula names the one group to search instead, which the caller must be able
//! to read. `tenant=` reads from another tenant that shares the group (`group=`, else the
//! group in context) with the caller's tenant. Names match without regard to case. The version is the latest, an exact one
//! (`version=`), or the one active at an instant (`versionAsAt=`).
//!
//! The formula engine is synchronous and evaluates on blocking threads; each look-up blocks on
//! the server's runtime for its store queries. The engine pins what it finds for the length of
//! an evaluation, so every row sees the same version and each resource is read once.

use std::future::Future;
use std::sync::Arc;

use sifr_calc::{
    Activity, Calculation, Dataset, ResourceError, ResourceQuery, ResourceSource, VersionSelector,
};
use sifr_domain::{GroupPath, Resource, ResourceKind, SecurityContext, TenantId, Timestamp};
use sifr_store::{Store, TenantStore};
use tokio::runtime::Handle;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::referencedatasets::{DatasetLibrary, resolve_dataset};

/// A caller's view of the tenant's resources, for formula evaluation.
pub(crate) struct StoreResources {
    tenant_id: TenantId,
    tenant: Arc<dyn TenantStore>,
    store: Arc<dyn Store>,
    context: SecurityContext,
    datasets: Arc<DatasetLibrary>,
    runtime: Handle,
}

impl StoreResources {
    /// Must be created on the server's runtime; used from blocking threads only.
    pub(crate) fn new(caller: &Caller) -> Self {
        Self {
            tenant_id: caller.tenant_id.clone(),
            tenant: caller.tenant.clone(),
            store: caller.store.clone(),
            context: caller.context.clone(),
            datasets: caller.datasets.clone(),
            runtime: Handle::current(),
        }
    }

    /// The groups to search for `query`, nearest first.
    fn search_order(&self, query: &ResourceQuery) -> Result<Vec<GroupPath>, ResourceError> {
        let group = GroupPath::parse(&query.group)
            .map_err(|e| ResourceError(format!("group '{}': {e}", query.group)))?;
        if query.explicit_group {
            // Readable: a group the caller holds a role in (or under), or an ancestor of one
            // within the visibility floor, whose resources its descendants see.
            let readable = self.context.within_floor(&group)
                && self
                    .context
                    .memberships
                    .groups()
                    .any(|member| member.contains(&group) || group.contains(member));
            if !readable {
                return Err(ResourceError(format!(
                    "Not authorized to read resources of group '{group}'."
                )));
            }
            return Ok(vec![group]);
        }
        let mut line = self.context.lineage_of(&group);
        line.reverse();
        Ok(line)
    }

    /// The store to read for `query` and the groups to search there, nearest first: the
    /// caller's tenant, or with `tenant=`, the other tenant's groups that it shares.
    fn target(
        &self,
        query: &ResourceQuery,
    ) -> Result<(Arc<dyn TenantStore>, Vec<GroupPath>), ResourceError> {
        let Some(other) = query
            .tenant
            .as_deref()
            .filter(|t| *t != self.tenant_id.as_str())
        else {
            return Ok((self.tenant.clone(), self.search_order(query)?));
        };
        let group = GroupPath::parse(&query.group)
            .map_err(|e| ResourceError(format!("group '{}': {e}", query.group)))?;
        let not_shared = || {
            ResourceError(format!(
                "Not found: tenant path '{other}:{group}' is not shared with tenant '{}'.",
                self.tenant_id
            ))
        };
        let owner = TenantId::parse(other).map_err(|_| not_shared())?;
        self.runtime.block_on(async {
            let shares = self
                .store
                .shares()
                .await
                .map_err(|e| ResourceError(e.to_string()))?;
            let shared = |g: &GroupPath| {
                shares
                    .iter()
                    .any(|share| share.allows(&owner, &self.tenant_id, g))
            };
            if !shared(&group) {
                return Err(not_shared());
            }
            let groups = if query.explicit_group {
                vec![group.clone()]
            } else {
                let mut line: Vec<GroupPath> = group.lineage().into_iter().filter(shared).collect();
                line.reverse();
                line
            };
            let store = self
                .store
                .tenant(&owner)
                .await
                .map_err(|e| ResourceError(e.to_string()))?;
            Ok((store, groups))
        })
    }

    /// The first of `groups` where `find` (which searches exactly the group of the query it is
    /// given) finds something.
    fn first_found<T, F, Fut>(
        &self,
        groups: Vec<GroupPath>,
        query: &ResourceQuery,
        find: F,
    ) -> Result<Option<T>, ResourceError>
    where
        F: Fn(ResourceQuery) -> Fut,
        Fut: Future<Output = ApiResult<Option<T>>>,
    {
        self.runtime.block_on(async {
            for group in groups {
                let exact = ResourceQuery {
                    group: group.to_string(),
                    explicit_group: true,
                    ..query.clone()
                };
                if let Some(found) = find(exact)
                    .await
                    .map_err(|e| ResourceError(e.to_string()))?
                {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        })
    }
}

impl ResourceSource for StoreResources {
    fn activity(&self, query: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError> {
        let (store, groups) = self.target(query)?;
        let store = store.as_ref();
        self.first_found(groups, query, |exact| async move {
            crate::impacts::resolve_activity(store, &exact).await
        })
        .map(|found| found.map(Arc::new))
    }

    fn dataset(&self, query: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError> {
        let (store, groups) = self.target(query)?;
        let store = store.as_ref();
        let datasets = self.datasets.as_ref();
        self.first_found(groups, query, |exact| async move {
            resolve_dataset(datasets, store, &exact).await
        })
    }

    fn calculation(
        &self,
        query: &ResourceQuery,
    ) -> Result<Option<Arc<Calculation>>, ResourceError> {
        let (store, groups) = self.target(query)?;
        let store = store.as_ref();
        self.first_found(groups, query, |exact| async move {
            crate::calculations::resolve_calculation(store, &exact).await
        })
        .map(|found| found.map(Arc::new))
    }

    fn group_exists(&self, group: &str) -> Result<bool, ResourceError> {
        let Ok(path) = GroupPath::parse(group) else {
            return Ok(false);
        };
        self.runtime
            .block_on(self.tenant.group(&path))
            .map(|found| found.is_some())
            .map_err(|e| ResourceError(e.to_string()))
    }
}

/// The one resource of `kind` called `query.name` owned by exactly `query.group`, at the
/// version the query selects.
pub(crate) async fn named_version(
    store: &dyn TenantStore,
    kind: ResourceKind,
    query: &ResourceQuery,
) -> ApiResult<Option<Resource>> {
    let group = GroupPath::parse(&query.group)?;
    let Some(latest) = store
        .resources_named(kind, &query.name, std::slice::from_ref(&group))
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    Ok(match &query.version {
        VersionSelector::Latest => Some(latest),
        VersionSelector::Exact(version) | VersionSelector::Recorded(version) => {
            match u32::try_from(*version) {
                Ok(version) => store.resource_version(kind, &latest.id, version).await?,
                Err(_) => None,
            }
        }
        VersionSelector::AsAt(text) => {
            let at = Timestamp::parse(text).map_err(|_| {
                ApiError::BadRequest(format!(
                    "versionAsAt '{text}' is not an ISO-8601 date-time with an offset, e.g. 2023-01-31T00:00:00Z"
                ))
            })?;
            store.resource_as_at(kind, &latest.id, at).await?
        }
    })
}
