//! `/accessManagement/users`: users and their roles per group.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sifr_domain::{
    Action, Email, GroupPath, Password, Role, TagPatch, User, UserChange, UserState, authorize,
};
use sifr_store::{UserGrant, UserPatch};
use utoipa::ToSchema;

use crate::auth::{Caller, passwords};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, Query};
use crate::listing::Pagination;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUserRequest {
    email: String,
    role: Role,
    /// Lets a new user log in at once; ignored for an existing user.
    password: Option<String>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    /// The group the user's tokens start in: the group in context or one of its immediate children.
    default_group: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditUserRequest {
    /// Only the user may change their own password.
    password: Option<String>,
    /// Only admins of all the user's groups may change it, never the user.
    state: Option<UserState>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    default_group: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    users: Vec<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Pagination>,
}

fn email(raw: &str, field: &str) -> ApiResult<Email> {
    Email::parse(raw)
        .map_err(|_| ApiError::Validation(format!("{field} must match format \"email\"")))
}

fn password(raw: Option<&str>) -> ApiResult<Option<Password>> {
    raw.map(Password::parse)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.0))
}

fn not_found(email: &Email) -> ApiError {
    ApiError::NotFound(format!("User '{email}' not found."))
}

/// Grants a user a role in the group in context, inviting the user if unknown.
#[utoipa::path(
    post, path = "/users", tag = "accessManagement", request_body = NewUserRequest,
    responses(
        (status = 201, body = User), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "Unknown default group or group in context", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    JsonBody(request): JsonBody<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let email = email(&request.email, "body/email")?;
    let password = password(request.password.as_deref())?;
    let default_group = request
        .default_group
        .as_deref()
        .map(GroupPath::parse)
        .transpose()?;
    let existing = caller.tenant.user(&email).await?;
    authorize(
        &caller.context,
        Action::GrantUser {
            existing: existing.as_ref(),
        },
    )?;
    if let Some(group) = default_group
        .as_ref()
        .filter(|g| **g != caller.context.group)
    {
        authorize(&caller.context, Action::ReadGroup(group))?;
        if caller.tenant.group(group).await?.is_none() {
            return Err(ApiError::NotFound(format!("Group '{group}' not found.")));
        }
    }
    let password_hash = match password.filter(|_| existing.is_none()) {
        Some(password) => Some(passwords::hash(&password).await?),
        None => None,
    };
    let outcome = caller
        .tenant
        .grant_user(UserGrant {
            email,
            group: caller.context.group.clone(),
            role: request.role,
            password_hash,
            tags: request.tags,
            default_group,
            granted_by: caller.email().to_owned(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(outcome.user)))
}

/// Lists the users granted the group in context (or the groups around it).
#[utoipa::path(
    get, path = "/users", tag = "accessManagement",
    params(
        ("count" = Option<usize>, Query, description = "Page size"),
        ("fromToken" = Option<String>, Query, description = "Token of the previous page"),
        ("tags" = Option<Vec<String>>, Query, description = "`key:value` filters, repeatable"),
        ("includeParentGroups" = Option<bool>, Query, description = "Also users of the ancestors"),
        ("includeChildGroups" = Option<bool>, Query, description = "Also users of the descendants"),
    ),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(caller: Caller, query: Query) -> ApiResult<Json<UserList>> {
    let request = query.list_request(caller.context.group.clone())?;
    authorize(&caller.context, Action::ListUsers)?;
    let page = caller.tenant.list_users(&request).await?;
    let pagination = Pagination::of(&page);
    Ok(Json(UserList {
        users: page.items,
        pagination,
    }))
}

/// Reads a user who belongs to the group in context or one of its ancestors.
#[utoipa::path(
    get, path = "/users/{email}", tag = "accessManagement",
    params(("email" = String, Path, description = "URL-encoded email")),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get(caller: Caller, Path(raw): Path<String>) -> ApiResult<Json<User>> {
    let email = email(&raw, "params/email")?;
    let user = caller.tenant.user(&email).await?;
    authorize(&caller.context, Action::ReadUser(user.as_ref()))?;
    user.map(Json).ok_or_else(|| not_found(&email))
}

/// Changes a user's password, state, tags or default group.
#[utoipa::path(
    patch, path = "/users/{email}", tag = "accessManagement", request_body = EditUserRequest,
    params(("email" = String, Path, description = "URL-encoded email")),
    responses(
        (status = 204, description = "Changed"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(request): JsonBody<EditUserRequest>,
) -> ApiResult<StatusCode> {
    let email = email(&raw, "params/email")?;
    if request.password.is_none()
        && request.state.is_none()
        && request.tags.is_none()
        && request.default_group.is_none()
    {
        return Err(ApiError::BadRequest(
            "Request body should contains one or more of these parameters: password, defaultGroup, state, tags".into(),
        ));
    }
    let password = password(request.password.as_deref())?;
    let default_group = request
        .default_group
        .as_deref()
        .map(GroupPath::parse)
        .transpose()?;
    let Some(user) = caller.tenant.user(&email).await? else {
        authorize(&caller.context, Action::ReadUser(None))?;
        return Err(not_found(&email));
    };
    let change = UserChange {
        password: password.is_some(),
        state: request.state.is_some(),
    };
    authorize(
        &caller.context,
        Action::UpdateUser {
            user: &user,
            change,
        },
    )?;
    let password_hash = match &password {
        Some(password) => Some(passwords::hash(password).await?),
        None => None,
    };
    let patch = UserPatch {
        password_hash,
        state: request.state,
        tags: request.tags,
        default_group,
        updated_by: caller.email().to_owned(),
    };
    caller.tenant.update_user(&email, patch).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes the user's membership of the group in context; the user goes with their last group.
#[utoipa::path(
    delete, path = "/users/{email}", tag = "accessManagement",
    params(("email" = String, Path, description = "URL-encoded email")),
    responses(
        (status = 204, description = "Revoked"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The user was not granted the group in context", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(caller: Caller, Path(raw): Path<String>) -> ApiResult<StatusCode> {
    let email = email(&raw, "params/email")?;
    authorize(&caller.context, Action::RevokeUser)?;
    caller
        .tenant
        .revoke_user(&email, &caller.context.group)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
