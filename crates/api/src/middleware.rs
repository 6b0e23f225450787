//! Request plumbing shared by every route: path clean-up, SIF's `Accept-Version`, metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Folds every run of slashes in the path into one: clients join base URL and path naively and
/// send `/accessManagement//groups`.
pub fn fold_slashes(mut request: Request) -> Request {
    let path = request.uri().path();
    if !path.contains("//") {
        return request;
    }
    let mut folded = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && folded.ends_with('/')) {
            folded.push(c);
        }
    }
    if let Some(query) = request.uri().query() {
        folded = format!("{folded}?{query}");
    }
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = folded.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The API version sifr implements.
const VERSION: (u64, u64, u64) = (1, 0, 0);

/// Whether an `Accept-Version` value (a semver range: `1.0.0`, `1.x`, `1.0.x`, `^1.0.0`, `~1.0`)
/// admits version 1.0.0.
pub fn admits_version(range: &str) -> bool {
    let range = range.trim();
    let (operator, version) = match range.chars().next() {
        Some(op @ ('^' | '~')) => (Some(op), &range[1..]),
        _ => (None, range.trim_start_matches('=')),
    };
    let version = version.trim_start_matches('v');
    let wanted: [u64; 3] = [VERSION.0, VERSION.1, VERSION.2];
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    let mut numbers = [None; 3];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if !matches!(*part, "x" | "X" | "*") {
            match part.parse::<u64>() {
                Ok(n) => *slot = Some(n),
                Err(_) => return false,
            }
        }
    }
    // How many leading components must equal ours; the rest must not exceed ours.
    let fixed = match operator {
        Some('^') => 1,
        Some(_) => 2,
        None => 3,
    };
    numbers
        .iter()
        .zip(wanted)
        .enumerate()
        .all(|(i, (given, ours))| match given {
            None => true,
            Some(n) if i < fixed => *n == ours,
            Some(n) => *n <= ours,
        })
}

/// Answers 404 when a request asks for a version other than 1.0.0, as SIF's router did.
pub async fn accept_version(request: Request, next: Next) -> Response {
    let Some(value) = request.headers().get("accept-version") else {
        return next.run(request).await;
    };
    let value = value.to_str().unwrap_or_default().to_owned();
    if admits_version(&value) {
        return next.run(request).await;
    }
    ApiError::NotFound(format!(
        "Route {} {} not found for Accept-Version '{value}': this server implements version 1.0.0.",
        request.method(),
        request.uri().path()
    ))
    .into_response()
}

/// Counts requests and their latency per route and status.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.clone())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ranges() {
        for ok in [
            "1.0.0", "1.x", "1.0.x", "1", "1.0", "*", "x", "^1.0.0", "~1.0.0", "^1", "v1.0.0",
            "=1.0.0",
        ] {
            assert!(admits_version(ok), "{ok} admits 1.0.0");
        }
        for no in [
            "1.0.1", "2.0.0", "2.x", "0.9", "^1.1.0", "~1.0.1", "", "abc", "1..0", "1.0.0.0",
        ] {
            assert!(!admits_version(no), "{no} does not admit 1.0.0");
        }
    }

    #[test]
    fn slashes_fold() {
        let request = Request::builder()
            .uri("http://h//accessManagement///groups?a=1//2")
            .body(axum::body::Body::empty());
        let folded = fold_slashes(request.expect("valid request"));
        assert_eq!(folded.uri().path(), "/accessManagement/groups");
        assert_eq!(
            folded.uri().query(),
            Some("a=1//2"),
            "the query is left alone"
        );
    }
}
