//! `/activities`: create and change activities. Listing, reading, versions, grants and delete
//! are the shared resource endpoints.

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderName, StatusCode};
use serde_json::Value;
use sifr_domain::{
    Action, NewResource, Resource, ResourceChange, ResourceKind, ResourceState, TagMap, authorize,
};

use super::model::{ActivityBody, ActivityRequest, ActivityView, complete, merge};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::resources::{self, Access, Common, Kind, body_of, load, stored_body};

pub struct Activities;

impl Kind for Activities {
    const KIND: ResourceKind = ResourceKind::new("activity");
    const PLURAL: &'static str = "activities";
    const NOUN: &'static str = "Activity";
    const TAG: &'static str = "impacts";
    type View = ActivityView;

    fn view(resource: Resource) -> ApiResult<ActivityView> {
        Ok(ActivityView {
            common: Common::of(&resource),
            body: body_of(&resource)?,
        })
    }
}

/// SIF's activity names need one of these characters; anything else may accompany them.
fn check_name(name: &str, at: &str) -> ApiResult<()> {
    if name
        .chars()
        .any(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '/'))
    {
        Ok(())
    } else {
        Err(ApiError::Validation(format!(
            "{at}/name must match pattern \"[A-Za-z0-9-_:/]\""
        )))
    }
}

/// The complete body a create request describes, checked; `at` roots the field names.
pub(super) fn new_body(request: &ActivityRequest, at: &str) -> ApiResult<ActivityBody> {
    let name = request
        .name
        .as_deref()
        .ok_or_else(|| ApiError::Validation(format!("{at} must have required property 'name'")))?;
    check_name(name, at)?;
    request.active_at(at)?;
    let mut document = Value::Object(Default::default());
    merge(&mut document, request.patch());
    complete(document, at)
}

/// Creates an activity in the group in context; `at` roots the field names of errors.
pub(super) async fn create_activity(
    caller: &Caller,
    request: ActivityRequest,
    at: &str,
) -> ApiResult<Resource> {
    let body = new_body(&request, at)?;
    let active_at = request.active_at(at)?;
    resources::require_context(caller).await?;
    authorize(&caller.context, Action::CreateResource)?;
    let mut tags = TagMap::default();
    if let Some(patch) = &request.tags {
        tags.apply(patch);
    }
    Ok(caller
        .tenant
        .create_resource(NewResource {
            kind: Activities::KIND,
            name: request.name,
            group: caller.context.group.clone(),
            state: ResourceState::Enabled,
            tags,
            body: stored_body(&body)?,
            active_at,
            created_by: caller.email().to_owned(),
        })
        .await?)
}

/// Writes the next version of `current` with `change` applied to its body; the result must
/// still be a complete activity.
pub(super) async fn save(
    caller: &Caller,
    current: &Resource,
    body: ActivityBody,
    change: ResourceChange,
) -> ApiResult<Resource> {
    let change = ResourceChange {
        body: Some(stored_body(&body)?),
        ..change
    };
    Ok(caller
        .tenant
        .update_resource(
            Activities::KIND,
            &current.id,
            Some(current.version),
            change,
            caller.email(),
        )
        .await?)
}

/// Deep-merges `request` into activity `id` as a new version.
pub(super) async fn update_activity(
    caller: &Caller,
    id: &str,
    request: ActivityRequest,
    at: &str,
) -> ApiResult<Resource> {
    let active_at = request.active_at(at)?;
    let current = load::<Activities>(caller, id, Access::Update).await?;
    let mut document = Value::Object(current.body.clone());
    merge(&mut document, request.patch());
    let body = complete(document, at)?;
    let change = ResourceChange {
        state: request.state,
        tags: request.tags,
        active_at: Some(active_at),
        body: None,
    };
    save(caller, &current, body, change).await
}

/// Checks that `request` describes a complete activity, as creating it would; `at` roots the
/// field names of errors.
pub(crate) fn check(request: &ActivityRequest, at: &str) -> ApiResult<()> {
    new_body(request, at).map(|_| ())
}

/// Creates the activity `request` names in the group in context or, when that group already
/// has an activity of that name, deep-merges `request` into it as a new version. `at` roots the
/// field names of errors.
pub(crate) async fn create_or_update(
    caller: &Caller,
    request: ActivityRequest,
    at: &str,
) -> ApiResult<Resource> {
    let name = request
        .name
        .as_deref()
        .ok_or_else(|| ApiError::Validation(format!("{at} must have required property 'name'")))?;
    let existing = caller
        .tenant
        .resources_named(
            Activities::KIND,
            name,
            std::slice::from_ref(&caller.context.group),
        )
        .await?;
    match existing.first() {
        Some(found) => update_activity(caller, found.id.as_str(), request, at).await,
        None => create_activity(caller, request, at).await,
    }
}

/// Creates an activity: a name unique in the group in context, impacts and their components.
#[utoipa::path(
    post, path = "/activities", tag = "impacts", request_body = ActivityRequest,
    responses(
        (status = 201, description = "Created; header x-activityId carries the id", body = ActivityView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "The group in context does not exist", body = ErrorBody),
        (status = 409, description = "The name is in use in the group in context", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    JsonBody(request): JsonBody<ActivityRequest>,
) -> ApiResult<(StatusCode, [(HeaderName, String); 1], Json<ActivityView>)> {
    let created = create_activity(&caller, request, "body").await?;
    let id = created.id.to_string();
    Ok((
        StatusCode::CREATED,
        [(HeaderName::from_static("x-activityid"), id)],
        Json(Activities::view(created)?),
    ))
}

/// Changes an activity: impacts and components are added or overwritten, never removed.
#[utoipa::path(
    patch, path = "/activities/{id}", tag = "impacts", request_body = ActivityRequest,
    params(("id" = String, Path, description = "The activity id")),
    responses(
        (status = 200, description = "The new version", body = ActivityView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<ActivityRequest>,
) -> ApiResult<Json<ActivityView>> {
    let updated = update_activity(&caller, &id, request, "body").await?;
    Ok(Json(Activities::view(updated)?))
}
