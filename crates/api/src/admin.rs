//! `/tenants`: tenant management for operators, guarded by the configured operator token (and
//! switched off without one). Tenant users never reach it: their tokens are not the operator's.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sifr_domain::{Email, GroupPath, Password, TenantId};
use sifr_store::TenantShare;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, Query};
use crate::state::AppState;
use crate::{sharing, tenancy};

/// A request that presented the operator token.
pub struct Operator;

/// Compares without an early exit, so the time taken does not tell how much of a guess was right.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = state.config.operator_token.as_deref() else {
            return Err(ApiError::NotFound(
                "The tenant API is off: configure an operator token to use it.".into(),
            ));
        };
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "Missing Authorization header with the operator token.".into(),
                )
            })?;
        if same_secret(given.trim().as_bytes(), expected.as_bytes()) {
            Ok(Operator)
        } else {
            Err(ApiError::Forbidden(
                "That is not the operator token.".into(),
            ))
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantResource {
    id: String,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    tenants: Vec<TenantResource>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewTenantRequest {
    id: String,
    /// The root admin; default: the server's configured admin email.
    admin_email: Option<String>,
    /// Default: a random password, returned once in the response.
    admin_password: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewTenantResponse {
    id: String,
    admin_email: String,
    /// Present only when generated: it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_password: Option<String>,
}

/// Lists the tenants.
#[utoipa::path(
    get, path = "/tenants", tag = "tenants",
    responses((status = 200, body = TenantList), (status = 403, body = ErrorBody), (status = 404, description = "The tenant API is off", body = ErrorBody)),
    security(("operator" = []))
)]
pub async fn list(_: Operator, State(state): State<AppState>) -> ApiResult<Json<TenantList>> {
    let tenants = state.store.tenants().await?;
    Ok(Json(TenantList {
        tenants: tenants
            .into_iter()
            .map(|t| TenantResource {
                id: t.id.to_string(),
                created_at: t.created_at.to_string(),
            })
            .collect(),
    }))
}

/// Creates a tenant with its root group and admin.
#[utoipa::path(
    post, path = "/tenants", tag = "tenants", request_body = NewTenantRequest,
    responses((status = 201, body = NewTenantResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("operator" = []))
)]
pub async fn create(
    _: Operator,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewTenantRequest>,
) -> ApiResult<(StatusCode, Json<NewTenantResponse>)> {
    let id = TenantId::parse(&request.id)?;
    let admin = Email::parse(
        request
            .admin_email
            .as_deref()
            .unwrap_or(&state.config.admin_email),
    )?;
    let password = request
        .admin_password
        .as_deref()
        .map(Password::parse)
        .transpose()?;
    let created = tenancy::provision(state.store.as_ref(), &id, &admin, password).await?;
    let body = NewTenantResponse {
        id: created.tenant.to_string(),
        admin_email: created.admin.to_string(),
        admin_password: created.generated_password,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Deletes a tenant and all its data.
#[utoipa::path(
    delete, path = "/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)),
    security(("operator" = []))
)]
pub async fn delete(
    _: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = TenantId::parse(&id)?;
    state.store.delete_tenant(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The share a `/tenants/{id}/shares/{consumer}?group=` request names.
fn named_share(id: &str, consumer: &str, query: &Query) -> ApiResult<TenantShare> {
    let group = query.get("group").ok_or_else(|| {
        ApiError::Validation("querystring must have required property 'group'".into())
    })?;
    Ok(TenantShare {
        owner: TenantId::parse(id)?,
        group: GroupPath::parse(group)?,
        consumer: TenantId::parse(consumer)?,
    })
}

/// Lets tenant `consumer` read group `group` (and the groups under it) of tenant `id`.
#[utoipa::path(
    put, path = "/tenants/{id}/shares/{consumer}", tag = "tenants",
    params(("id" = String, Path, description = "Owner tenant"), ("consumer" = String, Path, description = "Reading tenant"), ("group" = String, Query, description = "Shared group")),
    responses((status = 204, description = "Shared"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("operator" = []))
)]
pub async fn share(
    _: Operator,
    State(state): State<AppState>,
    Path((id, consumer)): Path<(String, String)>,
    query: Query,
) -> ApiResult<StatusCode> {
    let share = named_share(&id, &consumer, &query)?;
    sharing::share(state.store.as_ref(), &share).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops sharing group `group` of tenant `id` with tenant `consumer`.
#[utoipa::path(
    delete, path = "/tenants/{id}/shares/{consumer}", tag = "tenants",
    params(("id" = String, Path, description = "Owner tenant"), ("consumer" = String, Path, description = "Reading tenant"), ("group" = String, Query, description = "Shared group")),
    responses((status = 204, description = "No longer shared"), (status = 400, body = ErrorBody)),
    security(("operator" = []))
)]
pub async fn unshare(
    _: Operator,
    State(state): State<AppState>,
    Path((id, consumer)): Path<(String, String)>,
    query: Query,
) -> ApiResult<StatusCode> {
    let share = named_share(&id, &consumer, &query)?;
    state.store.unshare(&share).await?;
    Ok(StatusCode::NO_CONTENT)
}
