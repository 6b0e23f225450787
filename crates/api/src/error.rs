//! Errors as SIF clients expect them: `{"statusCode": 404, "error": "Not Found", "message": "…"}`,
//! and `{"name": "NotAuthorizedException", "message": "…"}` for failed logins.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sifr_domain::{Forbidden, ParseError};
use sifr_store::StoreError;
use utoipa::ToSchema;

/// The error body of every endpoint but login.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status_code: u16,
    pub error: String,
    pub message: String,
    /// `FST_ERR_VALIDATION` when the request did not match the schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

/// The error body of a failed login, as Cognito words it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthErrorBody {
    pub name: String,
    pub message: String,
}

#[derive(Debug)]
pub enum ApiError {
    /// The request does not match the endpoint's schema (wrong type, missing field, bad JSON).
    Validation(String),
    /// Well-formed but not acceptable (bad group name, last root admin…).
    BadRequest(String),
    /// No or an unusable token.
    Unauthenticated(String),
    /// A failed login.
    NotAuthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    PayloadTooLarge(String),
    /// A feature SIF declared but never implemented (metrics other than sums).
    NotImplemented(String),
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) | Self::NotAuthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> &str {
        match self {
            Self::Validation(m)
            | Self::BadRequest(m)
            | Self::Unauthenticated(m)
            | Self::NotAuthorized(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::PayloadTooLarge(m)
            | Self::NotImplemented(m)
            | Self::Internal(m) => m,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::NotAuthorized(message) = self {
            let body = AuthErrorBody {
                name: "NotAuthorizedException".into(),
                message,
            };
            return (status, Json(body)).into_response();
        }
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let message = match &self {
            Self::Internal(_) => {
                "An internal error occurred; the server log has the details.".to_owned()
            }
            other => other.message().to_owned(),
        };
        let body = ErrorBody {
            status_code: status.as_u16(),
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
            message,
            code: matches!(self, Self::Validation(_)).then_some("FST_ERR_VALIDATION"),
        };
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        match error {
            StoreError::TenantNotFound(_)
            | StoreError::GroupNotFound(_)
            | StoreError::UserNotFound(_)
            | StoreError::ResourceNotFound(_) => Self::NotFound(message),
            StoreError::TenantExists(_)
            | StoreError::NameInUse(_)
            | StoreError::InvalidState(_) => Self::Conflict(message),
            StoreError::InvalidRequest(_) => Self::BadRequest(message),
            StoreError::Config(_)
            | StoreError::Corrupt(_)
            | StoreError::Database(_)
            | StoreError::Migration(_)
            | StoreError::Io { .. } => Self::Internal(message),
        }
    }
}

impl From<Forbidden> for ApiError {
    fn from(error: Forbidden) -> Self {
        Self::Forbidden(error.0)
    }
}

impl From<ParseError> for ApiError {
    fn from(error: ParseError) -> Self {
        Self::BadRequest(error.0)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
