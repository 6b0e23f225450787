//! `/activities/{id}/impacts` and their components: sub-documents of the latest version of an
//! activity. Every change writes a new version of the activity.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::Value;
use sifr_domain::{Resource, ResourceChange};

use super::activities::{Activities, save};
use super::model::{
    ActivityBody, Component, ComponentRequest, Impact, ImpactRequest, complete, merge,
};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::resources::{Access, body_of, load};

fn missing_impact(id: &str, impact: &str) -> ApiError {
    ApiError::NotFound(format!("Impact '{impact}' of activity '{id}' not found."))
}

fn missing_component(id: &str, impact: &str, component: &str) -> ApiError {
    ApiError::NotFound(format!(
        "Component '{component}' of impact '{impact}' of activity '{id}' not found."
    ))
}

/// The latest version of the activity and its body.
async fn activity(
    caller: &Caller,
    id: &str,
    access: Access,
) -> ApiResult<(Resource, ActivityBody)> {
    let resource = load::<Activities>(caller, id, access).await?;
    let body = body_of(&resource)?;
    Ok((resource, body))
}

/// The body of `current` with `patch` merged in at `impacts/<impact>`, checked complete.
fn merged(current: &Resource, impact: &str, patch: Value) -> ApiResult<ActivityBody> {
    let mut document = Value::Object(current.body.clone());
    let mut impacts = serde_json::Map::new();
    impacts.insert(impact.to_owned(), patch);
    let mut wrapper = serde_json::Map::new();
    wrapper.insert("impacts".into(), Value::Object(impacts));
    merge(&mut document, Value::Object(wrapper));
    complete(document, "body")
}

async fn write(caller: &Caller, current: &Resource, body: ActivityBody) -> ApiResult<ActivityBody> {
    let saved = save(caller, current, body, ResourceChange::default()).await?;
    body_of(&saved)
}

fn impact_of(body: ActivityBody, id: &str, key: &str) -> ApiResult<Impact> {
    body.impacts
        .get(key)
        .cloned()
        .ok_or_else(|| missing_impact(id, key))
}

/// Lists the impacts of an activity: the whole map of its latest version.
#[utoipa::path(
    get, path = "/activities/{id}/impacts", tag = "impacts",
    params(("id" = String, Path, description = "The activity id")),
    responses((status = 200, body = HashMap<String, Impact>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BTreeMap<String, Impact>>> {
    let (_, body) = activity(&caller, &id, Access::Read).await?;
    Ok(Json(body.impacts))
}

/// Reads one impact.
#[utoipa::path(
    get, path = "/activities/{id}/impacts/{impactName}", tag = "impacts",
    params(("id" = String, Path, description = "The activity id"), ("impactName" = String, Path, description = "The impact key; case does not matter")),
    responses((status = 200, body = Impact), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get(
    caller: Caller,
    Path((id, impact)): Path<(String, String)>,
) -> ApiResult<Json<Impact>> {
    let (_, body) = activity(&caller, &id, Access::Read).await?;
    Ok(Json(impact_of(body, &id, &impact.to_lowercase())?))
}

/// Adds or replaces an impact (a new version of the activity).
#[utoipa::path(
    put, path = "/activities/{id}/impacts/{impactName}", tag = "impacts", request_body = ImpactRequest,
    params(("id" = String, Path, description = "The activity id"), ("impactName" = String, Path, description = "The impact key, stored lower-cased")),
    responses((status = 201, body = Impact), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn put(
    caller: Caller,
    Path((id, impact)): Path<(String, String)>,
    JsonBody(request): JsonBody<ImpactRequest>,
) -> ApiResult<(StatusCode, Json<Impact>)> {
    let key = impact.to_lowercase();
    let (current, mut body) = activity(&caller, &id, Access::Update).await?;
    // A PUT replaces the impact: check it alone, then place it.
    let mut document = Value::Object(Default::default());
    merge(&mut document, request.patch());
    let replacement: Impact = complete_impact(document, &key)?;
    body.impacts.insert(key.clone(), replacement);
    let saved = write(&caller, &current, body).await?;
    Ok((StatusCode::CREATED, Json(impact_of(saved, &id, &key)?)))
}

/// An impact document, checked complete; errors name the field under `body`.
fn complete_impact(document: Value, key: &str) -> ApiResult<Impact> {
    let mut impacts = serde_json::Map::new();
    impacts.insert(key.to_owned(), document);
    let mut wrapper = serde_json::Map::new();
    wrapper.insert("impacts".into(), Value::Object(impacts));
    let body = complete(Value::Object(wrapper), "body").map_err(|e| match e {
        ApiError::Validation(message) => {
            ApiError::Validation(message.replacen(&format!("body/impacts/{key}"), "body", 1))
        }
        other => other,
    })?;
    body.impacts
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::Internal("a checked impact went missing".into()))
}

/// Changes an impact: attributes and components are merged in.
#[utoipa::path(
    patch, path = "/activities/{id}/impacts/{impactName}", tag = "impacts", request_body = ImpactRequest,
    params(("id" = String, Path, description = "The activity id"), ("impactName" = String, Path, description = "The impact key; case does not matter")),
    responses((status = 200, body = Impact), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    Path((id, impact)): Path<(String, String)>,
    JsonBody(mut request): JsonBody<ImpactRequest>,
) -> ApiResult<Json<Impact>> {
    let key = impact.to_lowercase();
    let (current, body) = activity(&caller, &id, Access::Update).await?;
    if !body.impacts.contains_key(&key) {
        return Err(missing_impact(&id, &key));
    }
    request.name = None;
    let body = merged(&current, &key, request.patch())?;
    let saved = write(&caller, &current, body).await?;
    Ok(Json(impact_of(saved, &id, &key)?))
}

/// Removes an impact (a new version of the activity).
#[utoipa::path(
    delete, path = "/activities/{id}/impacts/{impactName}", tag = "impacts",
    params(("id" = String, Path, description = "The activity id"), ("impactName" = String, Path, description = "The impact key; case does not matter")),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn delete(
    caller: Caller,
    Path((id, impact)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let key = impact.to_lowercase();
    let (current, mut body) = activity(&caller, &id, Access::Delete).await?;
    body.impacts
        .remove(&key)
        .ok_or_else(|| missing_impact(&id, &key))?;
    write(&caller, &current, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the components of an impact: the whole map.
#[utoipa::path(
    get, path = "/activities/{id}/impacts/{impactName}/components", tag = "impacts",
    params(("id" = String, Path, description = "The activity id"), ("impactName" = String, Path, description = "The impact key; case does not matter")),
    responses((status = 200, body = HashMap<String, Component>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn components(
    caller: Caller,
    Path((id, impact)): Path<(String, String)>,
) -> ApiResult<Json<BTreeMap<String, Component>>> {
    let key = impact.to_lowercase();
    let (_, body) = activity(&caller, &id, Access::Read).await?;
    Ok(Json(impact_of(body, &id, &key)?.components))
}

fn component_of(body: ActivityBody, id: &str, impact: &str, key: &str) -> ApiResult<Component> {
    impact_of(body, id, impact)?
        .components
        .get(key)
        .cloned()
        .ok_or_else(|| missing_component(id, impact, key))
}

/// Reads one component.
#[utoipa::path(
    get, path = "/activities/{id}/impacts/{impactName}/components/{componentKey}", tag = "impacts",
    params(
        ("id" = String, Path, description = "The activity id"),
        ("impactName" = String, Path, description = "The impact key; case does not matter"),
        ("componentKey" = String, Path, description = "The component key; case does not matter"),
    ),
    responses((status = 200, body = Component), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn component(
    caller: Caller,
    Path((id, impact, component)): Path<(String, String, String)>,
) -> ApiResult<Json<Component>> {
    let (_, body) = activity(&caller, &id, Access::Read).await?;
    Ok(Json(component_of(
        body,
        &id,
        &impact.to_lowercase(),
        &component.to_lowercase(),
    )?))
}

/// The body of `current` with `patch` merged in at `impacts/<impact>/components/<key>`.
fn with_component(
    current: &Resource,
    impact: &str,
    key: &str,
    patch: Value,
) -> ApiResult<ActivityBody> {
    let mut components = serde_json::Map::new();
    components.insert(key.to_owned(), patch);
    let mut wrapper = serde_json::Map::new();
    wrapper.insert("components".into(), Value::Object(components));
    merged(current, impact, Value::Object(wrapper))
}

/// Adds or replaces a component of an existing impact (a new version of the activity).
#[utoipa::path(
    put, path = "/activities/{id}/impacts/{impactName}/components/{componentKey}", tag = "impacts",
    request_body = ComponentRequest,
    params(
        ("id" = String, Path, description = "The activity id"),
        ("impactName" = String, Path, description = "The impact key; case does not matter"),
        ("componentKey" = String, Path, description = "The component key, stored lower-cased; overrides the body's key"),
    ),
    responses((status = 201, body = Component), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn put_component(
    caller: Caller,
    Path((id, impact, component)): Path<(String, String, String)>,
    JsonBody(mut request): JsonBody<ComponentRequest>,
) -> ApiResult<(StatusCode, Json<Component>)> {
    let impact = impact.to_lowercase();
    let key = component.to_lowercase();
    let (current, mut body) = activity(&caller, &id, Access::Update).await?;
    let Some(stored) = body.impacts.get_mut(&impact) else {
        return Err(missing_impact(&id, &impact));
    };
    request.key = Some(component);
    let replacement: Component =
        serde_path_to_error::deserialize(request.patch()).map_err(crate::extract::describe)?;
    stored.components.insert(key.clone(), replacement);
    let saved = write(&caller, &current, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(component_of(saved, &id, &impact, &key)?),
    ))
}

/// Changes a component.
#[utoipa::path(
    patch, path = "/activities/{id}/impacts/{impactName}/components/{componentKey}", tag = "impacts",
    request_body = ComponentRequest,
    params(
        ("id" = String, Path, description = "The activity id"),
        ("impactName" = String, Path, description = "The impact key; case does not matter"),
        ("componentKey" = String, Path, description = "The component key; case does not matter"),
    ),
    responses((status = 200, body = Component), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn update_component(
    caller: Caller,
    Path((id, impact, component)): Path<(String, String, String)>,
    JsonBody(mut request): JsonBody<ComponentRequest>,
) -> ApiResult<Json<Component>> {
    let impact = impact.to_lowercase();
    let key = component.to_lowercase();
    let (current, body) = activity(&caller, &id, Access::Update).await?;
    component_of(body, &id, &impact, &key)?;
    request.key = None;
    let body = with_component(&current, &impact, &key, request.patch())?;
    let saved = write(&caller, &current, body).await?;
    Ok(Json(component_of(saved, &id, &impact, &key)?))
}

/// Removes a component (a new version of the activity).
#[utoipa::path(
    delete, path = "/activities/{id}/impacts/{impactName}/components/{componentKey}", tag = "impacts",
    params(
        ("id" = String, Path, description = "The activity id"),
        ("impactName" = String, Path, description = "The impact key; case does not matter"),
        ("componentKey" = String, Path, description = "The component key; case does not matter"),
    ),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn delete_component(
    caller: Caller,
    Path((id, impact, component)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let impact = impact.to_lowercase();
    let key = component.to_lowercase();
    let (current, mut body) = activity(&caller, &id, Access::Delete).await?;
    let stored = body
        .impacts
        .get_mut(&impact)
        .ok_or_else(|| missing_impact(&id, &impact))?;
    stored
        .components
        .remove(&key)
        .ok_or_else(|| missing_component(&id, &impact, &key))?;
    write(&caller, &current, body).await?;
    Ok(StatusCode::NO_CONTENT)
}
