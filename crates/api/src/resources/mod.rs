//! The endpoints every versioned SIF resource shares (activities, calculations, reference
//! datasets, pipelines, metrics): listing, get by id, versions, grant/revoke, delete and tag
//! values, written once and generic over the module's [`Kind`].
//!
//! A module describes its resource with a [`Kind`] and merges [`routes`] into its router:
//!
//! ```ignore
//! OpenApiRouter::new()
//!     .routes(routes!(create))
//!     .routes(routes!(update))
//!     .merge(resources::routes::<Activities>())
//! ```
//!
//! Its own handlers load resources with [`load`] (404 with the module's message, authorization
//! per spec §2.4) and render them with [`Common`] plus the module's fields.

mod docs;
mod handlers;

use std::slice;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sifr_domain::{
    Action, GroupPath, ListRequest, Resource, ResourceId, ResourceKind, ResourceState, Scope,
    TagMap, Timestamp, authorize,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(crate) use handlers::{Listing, tag_values};

/// A module's resource type.
pub(crate) trait Kind: Send + Sync + 'static {
    /// The storage kind.
    const KIND: ResourceKind;
    /// The path segment and the key of list responses: `activities`.
    const PLURAL: &'static str;
    /// The resource in messages: `Activity` (`Activity '<id>' not found.`).
    const NOUN: &'static str;
    /// The module's tag for the OpenAPI document.
    const TAG: &'static str;
    /// The resource as responses show it.
    type View: Serialize + ToSchema + Send + 'static;

    fn view(resource: Resource) -> ApiResult<Self::View>;

    /// The message of a missing resource.
    fn missing(id: &str) -> String {
        format!("{} '{id}' not found.", Self::NOUN)
    }
}

/// The fields every resource shows; modules flatten it into their view.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Common {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub version: u32,
    pub state: ResourceState,
    /// The owning group first, then the groups it was granted to.
    pub groups: Vec<String>,
    #[schema(value_type = HashMap<String, String>)]
    pub tags: TagMap,
    pub created_by: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// When this version takes effect, if set explicitly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_at: Option<String>,
}

impl Common {
    pub fn of(resource: &Resource) -> Self {
        Self {
            id: resource.id.to_string(),
            name: resource.name.clone(),
            version: resource.version,
            state: resource.state,
            groups: resource.groups.iter().map(ToString::to_string).collect(),
            tags: resource.tags.clone(),
            created_by: resource.created_by.clone(),
            created_at: resource.created_at.to_string(),
            updated_by: resource.updated_by.clone(),
            updated_at: resource.updated_at.map(|t| t.to_string()),
            active_at: resource.active_at.map(|t| t.to_string()),
        }
    }
}

/// The module's fields of a stored resource, read into its body type.
pub(crate) fn body_of<B: DeserializeOwned>(resource: &Resource) -> ApiResult<B> {
    serde_json::from_value(serde_json::Value::Object(resource.body.clone())).map_err(|e| {
        ApiError::Internal(format!(
            "stored body of resource '{}' version {} is unreadable: {e}",
            resource.id, resource.version
        ))
    })
}

/// A module's fields as stored: the JSON object of `body`.
pub(crate) fn stored_body<B: Serialize>(
    body: &B,
) -> ApiResult<serde_json::Map<String, serde_json::Value>> {
    match serde_json::to_value(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::Internal(format!(
            "a resource body must be a JSON object, not {other}"
        ))),
        Err(e) => Err(ApiError::Internal(format!(
            "cannot store a resource body: {e}"
        ))),
    }
}

/// What a caller is about to do with a resource, for [`load`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Update,
    Delete,
}

impl Access {
    fn action(self, groups: &[GroupPath]) -> Action<'_> {
        match self {
            Self::Read => Action::ReadResource(groups),
            Self::Update => Action::UpdateResource(groups),
            Self::Delete => Action::DeleteResource(groups),
        }
    }
}

/// SIF's resource modules first check that the group in context exists (404 otherwise).
pub(crate) async fn require_context(caller: &Caller) -> ApiResult<()> {
    let group = &caller.context.group;
    match caller.tenant.group(group).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("Group '{group}' not found."))),
    }
}

/// A missing resource: `Activity '<id>' not found.`
pub(crate) fn not_found<K: Kind>(id: &str) -> ApiError {
    ApiError::NotFound(K::missing(id))
}

/// The latest version of resource `raw_id`, once the caller may `access` it: the role check
/// comes first (403), then existence (404), then whether the resource is visible from the group
/// in context (403).
pub(crate) async fn load<K: Kind>(
    caller: &Caller,
    raw_id: &str,
    access: Access,
) -> ApiResult<Resource> {
    require_context(caller).await?;
    let found = match ResourceId::parse(raw_id) {
        Ok(id) => caller.tenant.resource(K::KIND, &id).await?,
        // Not an id sifr could have issued, so no such resource.
        Err(_) => None,
    };
    let context = &caller.context;
    match found {
        Some(resource) => {
            authorize(context, access.action(&resource.groups))?;
            Ok(resource)
        }
        None => {
            authorize(context, access.action(slice::from_ref(&context.group)))?;
            Err(not_found::<K>(raw_id))
        }
    }
}

/// Version `raw_version` of resource `raw_id`, readable by the caller, under the latest
/// version's state when that withdraws the resource (spec §3.5).
pub(crate) async fn load_version<K: Kind>(
    caller: &Caller,
    raw_id: &str,
    raw_version: &str,
) -> ApiResult<Resource> {
    let number = raw_version
        .parse::<u32>()
        .map_err(|_| ApiError::Validation("params/version must be integer".into()))?;
    let latest = load::<K>(caller, raw_id, Access::Read).await?;
    let found = caller
        .tenant
        .resource_version(K::KIND, &latest.id, number)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("{} '{raw_id}' has no version {number}.", K::NOUN))
        })?;
    authorize(&caller.context, Action::ReadResource(&found.groups))?;
    Ok(found.seen_under(latest.state))
}

/// Whether a version of a resource may be seen from the group in context.
fn visible(caller: &Caller, resource: &Resource) -> bool {
    authorize(&caller.context, Action::ReadResource(&resource.groups)).is_ok()
}

/// The groups whose resources a `name` look-up searches: the group in context, its ancestors
/// within the visibility floor with `includeParentGroups`, every descendant with
/// `includeChildGroups`.
async fn name_scope(caller: &Caller, scope: Scope) -> ApiResult<Vec<GroupPath>> {
    let context = &caller.context.group;
    let mut groups = if scope.parents {
        caller.context.lineage_of(context)
    } else {
        vec![context.clone()]
    };
    if scope.children {
        let mut request = ListRequest::new(context.clone());
        request.scope.children = true;
        request.count = Some(500);
        loop {
            let page = caller.tenant.list_groups(&request).await?;
            groups.extend(page.items.into_iter().map(|group| group.id));
            match page.next {
                Some(next) => request.after = Some(next),
                None => break,
            }
        }
    }
    Ok(groups)
}

/// A group of shared endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `GET /{plural}`
    List,
    /// `GET /{plural}/{id}`
    Get,
    /// `GET /{plural}/{id}/versions`
    Versions,
    /// `GET /{plural}/{id}/versions/{version}`
    Version,
    /// `PUT` and `DELETE /{plural}/{id}/groups/{groupId}`
    Share,
    /// `DELETE /{plural}/{id}`
    Delete,
    /// `GET /tags/{key}` for a module with one resource kind.
    Tags,
}

/// Every shared endpoint of a versioned resource kind but the tags.
pub(crate) const VERSIONED: [Endpoint; 6] = [
    Endpoint::List,
    Endpoint::Get,
    Endpoint::Versions,
    Endpoint::Version,
    Endpoint::Share,
    Endpoint::Delete,
];

/// The chosen shared endpoints of kind `K`, at `/{plural}` (and `/tags/{key}`), documented in
/// the OpenAPI document under the kind's tag. Path parameters are `{id}` (and `{version}`,
/// `{groupId}`): a module's own routes below `/{plural}/{id}` must use the same names.
pub(crate) fn routes<K: Kind>(endpoints: &[Endpoint]) -> OpenApiRouter<AppState> {
    docs::routes::<K>(endpoints)
}

/// Parses an instant of a query string, naming the parameter when it is not a date-time.
fn instant(raw: &str, parameter: &str) -> ApiResult<Timestamp> {
    Timestamp::parse(raw).map_err(|_| {
        ApiError::Validation(format!(
            "querystring/{parameter} must match format \"date-time\""
        ))
    })
}
