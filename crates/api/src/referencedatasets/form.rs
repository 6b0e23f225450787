//! Request bodies of `POST` and `PATCH /referenceDatasets`: JSON, or `multipart/form-data` as
//! SIF's clients send it (text fields, the CSV as a part `data`, and JSON parts `tags` and
//! `datasetHeaders` that must say `application/json`). Both end up as the same request type,
//! with the same messages for what does not fit it.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::table;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, describe};
use crate::state::AppState;

/// A dataset request body, JSON or multipart.
pub(crate) struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> ApiResult<Self> {
        let boundary = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            })
            .map(|v| {
                multer::parse_boundary(v).map_err(|e| {
                    ApiError::Validation(format!("Invalid multipart/form-data content type: {e}"))
                })
            })
            .transpose()?;
        let Some(boundary) = boundary else {
            let JsonBody(parsed) = JsonBody::<T>::from_request(request, state).await?;
            return Ok(Self(parsed));
        };
        let object = fields(request, boundary, state.config.body_limit).await?;
        let parsed = serde_path_to_error::deserialize(Value::Object(object)).map_err(describe)?;
        Ok(Self(parsed))
    }
}

fn multipart_error(error: multer::Error) -> ApiError {
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::PayloadTooLarge("Request body is too large.".into())
        }
        other => ApiError::Validation(format!("Invalid multipart/form-data body: {other}")),
    }
}

/// SIF's refusal of a JSON part sent as plain text (its wording, spacing included).
fn json_part_refused(name: &str, text: &str) -> ApiError {
    ApiError::BadRequest(match name {
        "tags" => format!(
            "Incorrect tags defined {text}. form-data attributes of json type should  have the individual \"tags\" attribute content-type set to \"application/json\" "
        ),
        _ => format!(
            "Incorrect reference datasetsHeaders defined {text}. form-data attributes of json type should have the individual \"datasetHeaders\" attribute content-type set to \"application/json\" "
        ),
    })
}

/// The parts of a multipart body as the fields of one JSON object.
async fn fields(request: Request, boundary: String, limit: usize) -> ApiResult<Map<String, Value>> {
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit as u64));
    let mut multipart = multer::Multipart::with_constraints(
        request.into_body().into_data_stream(),
        boundary,
        constraints,
    );
    let mut object = Map::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        let is_json = field
            .content_type()
            .is_some_and(|m| m.essence_str() == "application/json");
        let bytes = field.bytes().await.map_err(multipart_error)?;
        let text = match String::from_utf8(bytes.to_vec()) {
            Ok(text) => text,
            // The CSV reader names the line and column of the first byte that is not UTF-8.
            Err(_) if name == "data" => {
                let problem = table::read_dataset(&bytes[..], "", "", 0)
                    .err()
                    .map_or_else(
                        || "The CSV file is not valid UTF-8.".to_owned(),
                        |e| e.to_string(),
                    );
                return Err(ApiError::BadRequest(problem));
            }
            Err(_) => {
                return Err(ApiError::Validation(format!(
                    "body/{name} must be UTF-8 text"
                )));
            }
        };
        let value = match name.as_str() {
            "tags" | "datasetHeaders" if is_json => serde_json::from_str(&text)
                .map_err(|e| ApiError::Validation(format!("body/{name} is not valid JSON: {e}")))?,
            "tags" | "datasetHeaders" => return Err(json_part_refused(&name, &text)),
            _ => Value::String(text),
        };
        // SIF drops an empty tags object.
        if name == "tags" && value.as_object().is_some_and(Map::is_empty) {
            continue;
        }
        object.insert(name, value);
    }
    Ok(object)
}
