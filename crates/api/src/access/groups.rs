//! `/accessManagement/groups`: the group hierarchy.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderName, StatusCode};
use serde::{Deserialize, Serialize};
use sifr_domain::{
    Action, Group, GroupConfiguration, GroupName, GroupPath, GroupState, TagMap, TagPatch,
    authorize,
};
use sifr_store::{GroupPatch, NewGroup};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, Query};
use crate::listing::Pagination;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewGroupRequest {
    /// Letters, digits and `-`; the group's id is the group in context + `/` + the lower-cased name.
    name: String,
    description: Option<String>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    configuration: Option<GroupConfiguration>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditGroupRequest {
    description: Option<String>,
    state: Option<GroupState>,
    /// Keys set to null or `""` are removed; others are set.
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    /// Deep-merged into the group's configuration.
    configuration: Option<GroupConfiguration>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupResource {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    state: GroupState,
    #[schema(value_type = HashMap<String, String>)]
    tags: TagMap,
    created_by: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    /// The effective configuration: the group's settings over its ancestors'.
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration: Option<GroupConfiguration>,
    /// With `showConfigurationSource=true`: what each group of the lineage sets itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration_source: Option<BTreeMap<String, GroupConfiguration>>,
}

impl GroupResource {
    fn summary(group: Group) -> Self {
        Self {
            id: group.id.to_string(),
            name: group.name,
            description: group.description,
            state: group.state,
            tags: group.tags,
            created_by: group.created_by,
            created_at: group.created_at.to_string(),
            updated_by: group.updated_by,
            updated_at: group.updated_at.map(|t| t.to_string()),
            configuration: None,
            configuration_source: None,
        }
    }

    /// The last group of `lineage` (root first), with its merged configuration.
    fn detailed(lineage: Vec<Group>, show_source: bool) -> Option<Self> {
        let configuration = GroupConfiguration::merge(lineage.iter().map(|g| &g.configuration));
        let source = show_source.then(|| {
            lineage
                .iter()
                .map(|g| (g.id.to_string(), g.configuration.clone()))
                .collect::<BTreeMap<_, _>>()
        });
        let group = lineage.into_iter().last()?;
        Some(Self {
            configuration: Some(configuration),
            configuration_source: source,
            ..Self::summary(group)
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    groups: Vec<GroupResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Pagination>,
}

fn group_id(raw: &str) -> ApiResult<GroupPath> {
    Ok(GroupPath::parse(raw)?)
}

async fn respond(caller: &Caller, id: &GroupPath, show_source: bool) -> ApiResult<GroupResource> {
    let lineage = caller.tenant.group_lineage(id).await?;
    GroupResource::detailed(lineage, show_source)
        .ok_or_else(|| ApiError::NotFound(format!("Group '{id}' not found.")))
}

/// Creates a sub-group of the group in context.
#[utoipa::path(
    post, path = "/groups", tag = "accessManagement", request_body = NewGroupRequest,
    responses(
        (status = 201, description = "Created; header x-groupId carries the new id", body = GroupResource),
        (status = 400, description = "Invalid name or body", body = ErrorBody),
        (status = 403, description = "Not an admin of the group in context", body = ErrorBody),
        (status = 404, description = "The group in context does not exist", body = ErrorBody),
        (status = 409, description = "The group exists", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    JsonBody(request): JsonBody<NewGroupRequest>,
) -> ApiResult<(StatusCode, [(HeaderName, String); 1], Json<GroupResource>)> {
    let name = GroupName::parse(&request.name)?;
    let id = caller.context.group.child(&name)?;
    authorize(&caller.context, Action::CreateGroup)?;
    let mut tags = TagMap::default();
    if let Some(patch) = &request.tags {
        tags.apply(patch);
    }
    let group = caller
        .tenant
        .create_group(NewGroup {
            id,
            name: request.name,
            description: request.description,
            tags,
            configuration: request.configuration.unwrap_or_default(),
            created_by: caller.email().to_owned(),
        })
        .await?;
    let body = respond(&caller, &group.id, false).await?;
    Ok((
        StatusCode::CREATED,
        [(HeaderName::from_static("x-groupid"), group.id.to_string())],
        Json(body),
    ))
}

/// Lists groups around the group in context.
#[utoipa::path(
    get, path = "/groups", tag = "accessManagement",
    params(
        ("count" = Option<usize>, Query, description = "Page size"),
        ("fromToken" = Option<String>, Query, description = "Token of the previous page"),
        ("tags" = Option<Vec<String>>, Query, description = "`key:value` filters, repeatable"),
        ("includeParentGroups" = Option<bool>, Query, description = "Also the ancestors"),
        ("includeChildGroups" = Option<bool>, Query, description = "All descendants rather than the immediate children"),
    ),
    responses((status = 200, body = GroupList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(caller: Caller, query: Query) -> ApiResult<Json<GroupList>> {
    let request = query.list_request(caller.context.group.clone())?;
    authorize(&caller.context, Action::ListGroups)?;
    let page = caller.tenant.list_groups(&request).await?;
    let pagination = Pagination::of(&page);
    Ok(Json(GroupList {
        groups: page.items.into_iter().map(GroupResource::summary).collect(),
        pagination,
    }))
}

/// Reads the group in context or one of its immediate children.
#[utoipa::path(
    get, path = "/groups/{groupId}", tag = "accessManagement",
    params(
        ("groupId" = String, Path, description = "URL-encoded group id, e.g. %2Fusa%2Fnorthwest"),
        ("showConfigurationSource" = Option<bool>, Query, description = "Also return each group's own configuration"),
    ),
    responses((status = 200, body = GroupResource), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get(
    caller: Caller,
    Path(raw): Path<String>,
    query: Query,
) -> ApiResult<Json<GroupResource>> {
    let id = group_id(&raw)?;
    let show_source = query.flag("showConfigurationSource")?;
    authorize(&caller.context, Action::ReadGroup(&id))?;
    Ok(Json(respond(&caller, &id, show_source).await?))
}

/// Changes the group in context or one of its immediate children.
#[utoipa::path(
    patch, path = "/groups/{groupId}", tag = "accessManagement", request_body = EditGroupRequest,
    params(("groupId" = String, Path, description = "URL-encoded group id")),
    responses(
        (status = 200, body = GroupResource), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(request): JsonBody<EditGroupRequest>,
) -> ApiResult<Json<GroupResource>> {
    let id = group_id(&raw)?;
    authorize(&caller.context, Action::UpdateGroup(&id))?;
    let patch = GroupPatch {
        description: request.description,
        state: request.state,
        tags: request.tags,
        configuration: request.configuration,
        updated_by: caller.email().to_owned(),
    };
    caller.tenant.update_group(&id, patch).await?;
    Ok(Json(respond(&caller, &id, false).await?))
}

/// Deletes a disabled group without sub-groups or users.
#[utoipa::path(
    delete, path = "/groups/{groupId}", tag = "accessManagement",
    params(("groupId" = String, Path, description = "URL-encoded group id")),
    responses(
        (status = 204, description = "Deleted"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Active, or has sub-groups or users", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(caller: Caller, Path(raw): Path<String>) -> ApiResult<StatusCode> {
    let id = group_id(&raw)?;
    authorize(&caller.context, Action::DeleteGroup(&id))?;
    caller.tenant.delete_group(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
