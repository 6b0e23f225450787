//! Request parsing with SIF's manners: unknown fields are dropped, and every rejection names the
//! field and the rule it broke (`body/name: invalid type…`, `querystring/count must be integer`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sifr_domain::listing::Cursor;
use sifr_domain::{GroupPath, ListRequest, Scope, TagFilter};

use crate::error::ApiError;

/// A JSON request body parsed into `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(e)
                        if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
                    {
                        ApiError::PayloadTooLarge("Request body is too large.".into())
                    }
                    other => ApiError::BadRequest(format!("Cannot read the request body: {other}")),
                })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::Validation("body must be object".into()));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let parsed: T = serde_path_to_error::deserialize(&mut deserializer).map_err(describe)?;
        deserializer
            .end()
            .map_err(|e| ApiError::Validation(format!("Body is not valid JSON: {e}")))?;
        Ok(Self(parsed))
    }
}

pub(crate) fn describe(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = error.inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::Validation(format!("Body is not valid JSON: {inner}"));
    }
    let path = error.path().to_string();
    let text = inner.to_string();
    // serde appends the position, which means nothing to a client that sent a field.
    let text = text.split(" at line ").next().unwrap_or(&text);
    if let Some(field) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let at = if path == "." {
            "body".to_owned()
        } else {
            format!("body/{}", path.replace('.', "/"))
        };
        return ApiError::Validation(format!("{at} must have required property '{field}'"));
    }
    if path == "." {
        return ApiError::Validation(format!("body: {text}"));
    }
    ApiError::Validation(format!("body/{}: {text}", path.replace('.', "/")))
}

/// The query string as decoded `(name, value)` pairs; repeated names stay repeated.
pub struct Query(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        Ok(Self(
            form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

impl Query {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") | Some("") => Ok(true),
            Some(_) => Err(ApiError::Validation(format!(
                "querystring/{name} must be boolean"
            ))),
        }
    }

    pub fn count(&self, name: &str) -> Result<Option<usize>, ApiError> {
        self.get(name)
            .map(|raw| {
                raw.parse::<usize>().map_err(|_| {
                    ApiError::Validation(format!("querystring/{name} must be integer"))
                })
            })
            .transpose()
    }

    /// The listing rules of `GET /{resources}` for the group in context.
    pub fn list_request(&self, group: GroupPath) -> Result<ListRequest, ApiError> {
        let scope = Scope {
            parents: self.flag("includeParentGroups")?,
            children: self.flag("includeChildGroups")?,
        };
        let tags = self
            .all("tags")
            .map(TagFilter::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let after = self
            .get("fromToken")
            .filter(|t| !t.is_empty())
            .map(Cursor::from_token)
            .transpose()?;
        Ok(ListRequest {
            group,
            scope,
            tags,
            count: self.count("count")?,
            after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Inner {
        size: u8,
    }

    fn message(json: &str) -> String {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        match serde_path_to_error::deserialize::<_, Body>(&mut deserializer).map_err(describe) {
            Err(ApiError::Validation(message)) => message,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_dropped() {
        let body: Body = serde_json::from_str(
            r#"{"name": "n", "inner": {"size": 3, "x": 1}, "hello": "world"}"#,
        )
        .expect("unknown fields are ignored");
        assert_eq!(
            (body.name.as_str(), body.inner.map(|i| i.size)),
            ("n", Some(3))
        );
    }

    #[test]
    fn rejections_name_the_field() {
        assert_eq!(
            message(r#"{"name": 1}"#),
            "body/name: invalid type: integer `1`, expected a string"
        );
        assert_eq!(
            message(r#"{"inner": {"size": "x"}, "name": "n"}"#),
            "body/inner/size: invalid type: string \"x\", expected u8"
        );
        assert_eq!(message(r#"{}"#), "body must have required property 'name'");
        assert!(message(r#"{"name": "#).starts_with("Body is not valid JSON"));
    }

    #[test]
    fn queries() {
        let query = Query(vec![
            ("tags".into(), "a:b".into()),
            ("tags".into(), "c:d/e".into()),
            ("count".into(), "3".into()),
            ("includeChildGroups".into(), "true".into()),
        ]);
        let request = query.list_request(GroupPath::root()).expect("valid");
        assert_eq!(
            (request.tags.len(), request.count, request.scope.children),
            (2, Some(3), true)
        );
        assert!(
            Query(vec![("count".into(), "x".into())])
                .list_request(GroupPath::root())
                .is_err()
        );
        assert!(
            Query(vec![("includeParentGroups".into(), "maybe".into())])
                .flag("includeParentGroups")
                .is_err()
        );
    }
}
