//! The shared handlers, generic over the resource kind.

use std::marker::PhantomData;
use std::slice;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use sifr_domain::{Action, GroupPath, ResourceId, authorize};
use sifr_store::TagScope;

use super::{
    Access, Kind, instant, load, load_version, name_scope, not_found, require_context, visible,
};
use crate::access::tags::{self, TagValueList};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::listing::Pagination;

/// A list response: `{"<plural>": [...], "pagination"?: {...}}`.
pub(crate) struct Listing<K: Kind, P> {
    items: Vec<K::View>,
    pagination: Option<P>,
    kind: PhantomData<K>,
}

impl<K: Kind, P> Listing<K, P> {
    pub fn new(items: Vec<K::View>, pagination: Option<P>) -> Self {
        Self {
            items,
            pagination,
            kind: PhantomData,
        }
    }
}

impl<K: Kind, P: Serialize> Serialize for Listing<K, P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(K::PLURAL, &self.items)?;
        if let Some(pagination) = &self.pagination {
            map.serialize_entry("pagination", pagination)?;
        }
        map.end()
    }
}

/// The `pagination` of a versions list: the last version of a full page.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionPagination {
    /// Pass as `fromVersion` for the next page.
    last_evaluated_version: u32,
}

fn views<K: Kind>(resources: Vec<sifr_domain::Resource>) -> ApiResult<Vec<K::View>> {
    resources.into_iter().map(K::view).collect()
}

/// `GET /{plural}`: the resources of the group in context (and around it), or those called `name`.
pub(crate) async fn list<K: Kind>(
    caller: Caller,
    query: Query,
) -> ApiResult<Json<Listing<K, Pagination>>> {
    let request = query.list_request(caller.context.group.clone())?;
    require_context(&caller).await?;
    let context = &caller.context;
    // Listing reads the resources of the group in context.
    authorize(
        context,
        Action::ReadResource(slice::from_ref(&context.group)),
    )?;
    if let Some(name) = query.get("name").filter(|n| !n.is_empty()) {
        let groups = name_scope(&caller, request.scope).await?;
        let found = caller
            .tenant
            .resources_named(K::KIND, name, &groups)
            .await?;
        return Ok(Json(Listing::new(views::<K>(found)?, None)));
    }
    let mut page = caller.tenant.list_resources(K::KIND, &request).await?;
    // The store lists by group alone; what only the ancestors above the floor hold goes here.
    page.items
        .retain(|resource| context.may_see(&resource.groups));
    let pagination = Pagination::of(&page);
    Ok(Json(Listing::new(views::<K>(page.items)?, pagination)))
}

/// `GET /{plural}/{id}`: the latest version.
pub(crate) async fn get<K: Kind>(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<K::View>> {
    let resource = load::<K>(&caller, &id, Access::Read).await?;
    Ok(Json(K::view(resource)?))
}

/// `GET /{plural}/{id}/versions`: versions newest first (`count`, `fromVersion`), or the one
/// active at `versionAsAt`.
pub(crate) async fn versions<K: Kind>(
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Json<Listing<K, VersionPagination>>> {
    let count = query.count("count")?;
    let from = query
        .get("fromVersion")
        .map(|raw| {
            raw.parse::<u32>()
                .map_err(|_| ApiError::Validation("querystring/fromVersion must be integer".into()))
        })
        .transpose()?;
    let as_at = query
        .get("versionAsAt")
        .map(|raw| instant(raw, "versionAsAt"))
        .transpose()?;
    if as_at.is_some() && (count.is_some() || from.is_some()) {
        return Err(ApiError::BadRequest(
            "request can only contain versionAsAt or count/fromVersion query parameter, but not both"
                .into(),
        ));
    }
    let latest = load::<K>(&caller, &id, Access::Read).await?;
    let store = &caller.tenant;
    let found = match as_at {
        Some(at) => store
            .resource_as_at(K::KIND, &latest.id, at)
            .await?
            .into_iter()
            .collect(),
        None => {
            store
                .resource_versions(K::KIND, &latest.id, from, count)
                .await?
        }
    };
    let pagination = match (count, found.last()) {
        (Some(count), Some(last)) if count > 0 && found.len() >= count => Some(VersionPagination {
            last_evaluated_version: last.version,
        }),
        _ => None,
    };
    let shown = found.into_iter().filter(|v| visible(&caller, v)).collect();
    Ok(Json(Listing::new(views::<K>(shown)?, pagination)))
}

/// `GET /{plural}/{id}/versions/{version}`: one version (see [`load_version`]).
pub(crate) async fn version<K: Kind>(
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<K::View>> {
    Ok(Json(K::view(
        load_version::<K>(&caller, &id, &version).await?,
    )?))
}

/// The resource and target group of a grant or revoke, once the caller may share it.
async fn share<K: Kind>(
    caller: &Caller,
    id: &str,
    target: &str,
) -> ApiResult<(ResourceId, GroupPath)> {
    let target = GroupPath::parse(target)?;
    require_context(caller).await?;
    let found = match ResourceId::parse(id) {
        Ok(id) => caller.tenant.resource(K::KIND, &id).await?,
        Err(_) => None,
    };
    let context = &caller.context;
    let groups = found
        .as_ref()
        .map_or(slice::from_ref(&context.group), |r| r.groups.as_slice());
    authorize(
        context,
        Action::ShareResource {
            groups,
            target: &target,
        },
    )?;
    let resource = found.ok_or_else(|| not_found::<K>(id))?;
    Ok((resource.id, target))
}

/// `PUT /{plural}/{id}/groups/{groupId}`: grants the resource to another group (a new version).
pub(crate) async fn grant<K: Kind>(
    caller: Caller,
    Path((id, group)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (id, target) = share::<K>(&caller, &id, &group).await?;
    caller
        .tenant
        .grant_resource(K::KIND, &id, &target, caller.email())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /{plural}/{id}/groups/{groupId}`: revokes a grant (a new version).
pub(crate) async fn revoke<K: Kind>(
    caller: Caller,
    Path((id, group)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (id, target) = share::<K>(&caller, &id, &group).await?;
    caller
        .tenant
        .revoke_resource(K::KIND, &id, &target, caller.email())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /{plural}/{id}`: removes the resource with all its versions.
pub(crate) async fn delete<K: Kind>(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let resource = load::<K>(&caller, &id, Access::Delete).await?;
    caller.tenant.delete_resource(K::KIND, &resource.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /tags/{key}`: the values of a tag key on the module's resources visible in the group
/// in context.
pub(crate) async fn tags<K: Kind>(
    caller: Caller,
    Path(key): Path<String>,
    query: Query,
) -> ApiResult<Json<TagValueList>> {
    tag_values(&caller, K::KIND, &key, &query).await
}

/// The tag values of one resource kind; modules with several kinds behind one `GET /tags/{key}`
/// pick the kind and call this.
pub(crate) async fn tag_values(
    caller: &Caller,
    kind: sifr_domain::ResourceKind,
    key: &str,
    query: &Query,
) -> ApiResult<Json<TagValueList>> {
    require_context(caller).await?;
    tags::summary(caller, TagScope::Resources(kind), key, query).await
}
