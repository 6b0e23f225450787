//! Upload and download URLs on the server itself, standing in for SIF's pre-signed S3 URLs
//! (`compat-http.md`): a client `PUT`s a file to `/uploads/{ticket}` or `GET`s one from
//! `/downloads/{ticket}` with no Authorization header. The ticket is what authorizes: a
//! [`Ticket`] (what the transfer is for, which blob, until when) signed with HMAC-SHA256 under
//! a secret all server processes sharing the store share.
//!
//! A download streams the blob the ticket names. An upload is stored atomically at the blob the
//! ticket names, then handed to the [`UploadHandler`] registered for the ticket's purpose, which
//! checks that the upload is still expected before the body is read and takes the file over
//! once stored.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::TryStreamExt;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sifr_store::{BlobKey, StoreError};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::io::{ReaderStream, StreamReader};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The name of the signing secret in the store.
const SECRET_NAME: &str = "transfer-urls";

/// How long a URL handed out stays usable, as SIF's pre-signed URLs.
pub(crate) const URL_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Whether a ticket lets its holder send a file or fetch one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Direction {
    #[serde(rename = "u")]
    Upload,
    #[serde(rename = "d")]
    Download,
}

/// What a signed URL grants. Short field names keep the URLs short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ticket {
    #[serde(rename = "d")]
    pub direction: Direction,
    /// The upload handler that takes an uploaded file over (empty for downloads).
    #[serde(rename = "p")]
    pub purpose: String,
    #[serde(rename = "t")]
    pub tenant: String,
    /// The resource the transfer belongs to.
    #[serde(rename = "r")]
    pub resource: String,
    /// What the purpose needs besides: a dataset's change id, an execution id…
    #[serde(rename = "c")]
    pub detail: String,
    /// The blob written (upload) or read (download).
    #[serde(rename = "k")]
    pub key: String,
    /// Unix seconds after which the ticket is refused.
    #[serde(rename = "x")]
    pub expires: i64,
}

impl Ticket {
    pub fn blob(&self) -> ApiResult<BlobKey> {
        BlobKey::parse(&self.key).map_err(ApiError::from)
    }
}

/// Takes over the files uploaded for one purpose.
#[async_trait]
pub(crate) trait UploadHandler: Send + Sync {
    /// Refuses an upload that is no longer expected, before its body is read.
    async fn accept(&self, state: &AppState, ticket: &Ticket) -> ApiResult<()>;

    /// The file is stored at the ticket's blob: validate it and start what it is for. An error
    /// is the response to the upload.
    async fn received(&self, state: &AppState, ticket: &Ticket, size: u64) -> ApiResult<()>;
}

/// Signs and checks tickets, and knows the upload handler of each purpose.
pub(crate) struct Transfers {
    secret: Vec<u8>,
    uploads: HashMap<&'static str, Arc<dyn UploadHandler>>,
}

impl fmt::Debug for Transfers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transfers")
            .field("uploads", &self.uploads.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Transfers {
    /// Reads the signing secret shared by every process on the store, creating it on first use.
    pub async fn open(store: &dyn sifr_store::Store) -> Result<Self, StoreError> {
        let candidate: [u8; 32] = rand::random();
        let secret = store.secret(SECRET_NAME, &candidate).await?;
        Ok(Self {
            secret,
            uploads: HashMap::new(),
        })
    }

    /// Sends uploads whose ticket names `purpose` to `handler`.
    pub fn on_upload(mut self, purpose: &'static str, handler: Arc<dyn UploadHandler>) -> Self {
        self.uploads.insert(purpose, handler);
        self
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    /// The ticket as a URL path segment: base64url(JSON) `.` base64url(HMAC of the former).
    pub fn sign(&self, ticket: &Ticket) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(ticket).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The ticket a token carries, if its signature holds and it has not expired.
    pub fn verify(&self, token: &str, direction: Direction) -> ApiResult<Ticket> {
        let refused = || {
            ApiError::Forbidden(
                "The URL's signature does not match: use the URL exactly as it was handed out."
                    .into(),
            )
        };
        let (payload, signature) = token.split_once('.').ok_or_else(refused)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| refused())?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| refused())?;
        let ticket: Ticket = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(refused)?;
        if ticket.direction != direction {
            return Err(ApiError::Forbidden(match direction {
                Direction::Upload => "This URL is for downloading, not uploading.".into(),
                Direction::Download => "This URL is for uploading, not downloading.".into(),
            }));
        }
        if ticket.expires < now() {
            return Err(ApiError::Forbidden(
                "The URL has expired: ask for a new one.".into(),
            ));
        }
        Ok(ticket)
    }

    /// A ticket valid for [`URL_LIFETIME`] from now.
    pub fn ticket(
        direction: Direction,
        purpose: &str,
        tenant: &str,
        resource: &str,
        detail: &str,
        key: &BlobKey,
    ) -> Ticket {
        Ticket {
            direction,
            purpose: purpose.to_owned(),
            tenant: tenant.to_owned(),
            resource: resource.to_owned(),
            detail: detail.to_owned(),
            key: key.as_str().to_owned(),
            expires: now().saturating_add(i64::try_from(URL_LIFETIME.as_secs()).unwrap_or(0)),
        }
    }
}

/// The base of the URLs handed out in a request: the configured public URL, else `http://`
/// and the request's `Host`.
pub(crate) struct PublicUrl(String);

impl FromRequestParts<AppState> for PublicUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        if let Some(configured) = &state.config.public_url {
            return Ok(Self(configured.trim_end_matches('/').to_owned()));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(ToString::to_string))
            .unwrap_or_else(|| state.config.listen.to_string());
        Ok(Self(format!("http://{host}")))
    }
}

impl PublicUrl {
    /// The URL that uploads a file under `ticket`.
    pub fn upload(&self, transfers: &Transfers, ticket: &Ticket) -> String {
        format!("{}/uploads/{}", self.0, transfers.sign(ticket))
    }

    /// The URL that downloads the blob of `ticket`.
    pub fn download(&self, transfers: &Transfers, ticket: &Ticket) -> String {
        format!("{}/downloads/{}", self.0, transfers.sign(ticket))
    }
}

/// The routes of the URLs: no Authorization, no `Accept-Version`.
pub(crate) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/uploads/{ticket}", put(upload))
        .route("/downloads/{ticket}", get(download))
}

/// Fails the read once more than `left` bytes arrive, so an oversized upload stops early.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: AsyncRead + Unpin> AsyncRead for Limited<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &polled {
            let read = (buf.filled().len() - before) as u64;
            if read > self.left {
                return std::task::Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    "upload limit exceeded",
                )));
            }
            self.left -= read;
        }
        polled
    }
}

/// `PUT /uploads/{ticket}`: stores the body at the ticket's blob, then hands it to the
/// purpose's handler. 200 with no body, as S3 answers.
async fn upload(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> ApiResult<StatusCode> {
    let ticket = state.transfers.verify(&token, Direction::Upload)?;
    let handler = state
        .transfers
        .uploads
        .get(ticket.purpose.as_str())
        .cloned()
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Uploads for '{}' are not accepted by this server.",
                ticket.purpose
            ))
        })?;
    handler.accept(&state, &ticket).await?;
    let limit = state.config.upload_limit;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "The file is larger than the upload limit of {limit} bytes."
        ))
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let stream = request
        .into_body()
        .into_data_stream()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::ConnectionAborted, e));
    let mut body = Limited {
        inner: StreamReader::new(stream),
        left: limit,
    };
    let key = ticket.blob()?;
    let size = match state.blobs.put(&key, &mut body).await {
        Ok(size) => size,
        Err(StoreError::Io { error, .. }) if error.kind() == std::io::ErrorKind::FileTooLarge => {
            return Err(too_large());
        }
        Err(StoreError::Io { error, .. })
            if error.kind() == std::io::ErrorKind::ConnectionAborted =>
        {
            return Err(ApiError::BadRequest(format!(
                "The upload was interrupted: {error}."
            )));
        }
        Err(e) => return Err(e.into()),
    };
    handler.received(&state, &ticket, size).await?;
    Ok(StatusCode::OK)
}

/// `GET /downloads/{ticket}`: the ticket's blob as CSV.
async fn download(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    let ticket = state.transfers.verify(&token, Direction::Download)?;
    csv_file(&state, &ticket.blob()?, "The file no longer exists.").await
}

/// A stored CSV as a response body, streamed: `text/csv`, as an attachment named after the
/// blob's last segment.
pub(crate) async fn csv_file(
    state: &AppState,
    key: &BlobKey,
    missing: &str,
) -> ApiResult<Response> {
    let reader = state
        .blobs
        .get(key)
        .await?
        .ok_or_else(|| ApiError::NotFound(missing.to_owned()))?;
    let name = key.as_str().rsplit('/').next().unwrap_or("data.csv");
    let disposition = HeaderValue::from_str(&format!("attachment; filename={name}"))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(ReaderStream::new(reader)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfers() -> Transfers {
        Transfers {
            secret: b"test-secret".to_vec(),
            uploads: HashMap::new(),
        }
    }

    fn ticket(direction: Direction) -> Ticket {
        Transfers::ticket(
            direction,
            "referenceDataset",
            "default",
            "01h",
            "change",
            &BlobKey::parse("a/b.csv").expect("valid key"),
        )
    }

    #[test]
    fn tickets_round_trip_and_resist_tampering() {
        let transfers = transfers();
        let upload = ticket(Direction::Upload);
        let token = transfers.sign(&upload);
        assert_eq!(
            transfers.verify(&token, Direction::Upload).ok(),
            Some(upload.clone())
        );
        assert!(
            transfers.verify(&token, Direction::Download).is_err(),
            "an upload ticket does not download"
        );

        let mut forged = upload.clone();
        forged.key = "other/tenant.csv".into();
        let (_, signature) = token.split_once('.').expect("two parts");
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        assert!(
            transfers
                .verify(&format!("{payload}.{signature}"), Direction::Upload)
                .is_err(),
            "a changed payload fails the signature"
        );
        let other = Transfers {
            secret: b"another-secret".to_vec(),
            uploads: HashMap::new(),
        };
        assert!(other.verify(&token, Direction::Upload).is_err());
        assert!(transfers.verify("garbage", Direction::Upload).is_err());

        let mut expired = upload;
        expired.expires = now() - 1;
        let message = transfers
            .verify(&transfers.sign(&expired), Direction::Upload)
            .expect_err("expired")
            .to_string();
        assert!(message.contains("expired"), "{message}");
    }
}
