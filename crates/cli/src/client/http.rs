//! Requests to a sifr server as SIF clients send them (`Accept-Version: 1.0.0`, a bearer token,
//! the group in context as `x-groupcontextid`), with retries of transient failures and the
//! server's error message carried into the error.

use std::time::Duration;

use indicatif::ProgressBar;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

/// Attempts of a request that meets a transient failure, the first included.
const ATTEMPTS: u32 = 4;
/// The wait before the first retry; it doubles before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Bytes handed to the connection at a time when an upload reports its progress.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status.
    #[error("{message} (HTTP {})", status.as_u16())]
    Api { status: StatusCode, message: String },
    /// The server refused the token (401): expired, revoked, or for another server.
    #[error("the server refused the token: {0} (HTTP 401); log in again with `sifr login`")]
    TokenRefused(String),
    /// No answer came back.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// Nothing of that name or id.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be made as asked.
    #[error("{0}")]
    Invalid(String),
    /// No token to send.
    #[error(
        "not logged in: run `sifr login` (or set SIFR_TOKEN, or SIFR_USERNAME and SIFR_PASSWORD)"
    )]
    NotLoggedIn,
}

impl ClientError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::Unreachable { .. } | Self::Invalid(_) => None,
            Self::NotFound(_) => Some(StatusCode::NOT_FOUND),
            Self::NotLoggedIn | Self::TokenRefused(_) => Some(StatusCode::UNAUTHORIZED),
        }
    }
}

/// A connection to one server.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    /// The group in context when a request names none.
    group: Option<String>,
    /// Another tenant to read from (`x-tenant`), for shared groups.
    shared_tenant: Option<String>,
}

/// The body of a response with a success status.
pub struct Reply {
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` when empty).
    pub fn json(&self) -> Result<Value, ClientError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ClientError::Invalid(format!("the server's answer is not JSON: {e}")))
    }
}

impl Client {
    pub fn new(
        base: Url,
        token: Option<String>,
        group: Option<String>,
        shared_tenant: Option<String>,
    ) -> anyhow::Result<Self> {
        // https needs a crypto provider; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .user_agent(concat!("sifr/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base,
            token,
            group,
            shared_tenant,
        })
    }

    /// A request to the server's path made of `segments`, each percent-encoded (so a group id
    /// `/usa/east` is one segment).
    pub fn call(&self, method: Method, segments: &[&str]) -> Call<'_> {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        Call {
            client: self,
            method,
            url,
            authenticated: true,
            group: self.group.clone(),
            body: None,
            accept: "application/json",
            progress: None,
        }
    }

    /// A request to a URL the server handed out (upload and download URLs): no token, no
    /// group; the URL is its own authorization.
    pub fn call_url(&self, method: Method, url: &str) -> Result<Call<'_>, ClientError> {
        let url = Url::parse(url).map_err(|e| {
            ClientError::Invalid(format!("the server handed out an invalid URL '{url}': {e}"))
        })?;
        Ok(Call {
            client: self,
            method,
            url,
            authenticated: false,
            group: None,
            body: None,
            accept: "*/*",
            progress: None,
        })
    }
}

/// A request being built.
pub struct Call<'a> {
    client: &'a Client,
    method: Method,
    url: Url,
    authenticated: bool,
    group: Option<String>,
    body: Option<(Vec<u8>, &'static str)>,
    accept: &'static str,
    /// Advanced by the bytes of the body as the connection takes them.
    progress: Option<ProgressBar>,
}

impl Call<'_> {
    /// Sends `x-groupcontextid: group`.
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.to_owned());
        self
    }

    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(key, value);
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some((body.to_string().into_bytes(), "application/json"));
        self
    }

    pub fn csv(mut self, body: Vec<u8>) -> Self {
        self.body = Some((body, "text/csv"));
        self
    }

    /// Sends no token (logging in).
    pub fn anonymous(mut self) -> Self {
        self.authenticated = false;
        self
    }

    pub fn accept(mut self, accept: &'static str) -> Self {
        self.accept = accept;
        self
    }

    /// Shows the body's bytes going out on `bar` (from zero again on a retry).
    pub fn progress(mut self, bar: ProgressBar) -> Self {
        self.progress = Some(bar);
        self
    }

    /// Whether sending the request twice does no more than sending it once.
    fn idempotent(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE
        )
    }

    fn build(&self) -> Result<reqwest::RequestBuilder, ClientError> {
        let client = self.client;
        let mut request = client
            .http
            .request(self.method.clone(), self.url.clone())
            .header(reqwest::header::ACCEPT, self.accept);
        if self.authenticated {
            let token = client.token.as_deref().ok_or(ClientError::NotLoggedIn)?;
            request = request.header("accept-version", "1.0.0").bearer_auth(token);
            if let Some(group) = &self.group {
                request = request.header("x-groupcontextid", group);
            }
            if let Some(tenant) = &client.shared_tenant {
                if self.method != Method::GET {
                    return Err(ClientError::Invalid(format!(
                        "--shared-tenant {tenant} reads another tenant's shared group; it cannot change anything"
                    )));
                }
                request = request.header("x-tenant", tenant);
            }
        }
        if let Some((body, content_type)) = &self.body {
            request = request.header(reqwest::header::CONTENT_TYPE, *content_type);
            request = match &self.progress {
                Some(bar) => request
                    .header(reqwest::header::CONTENT_LENGTH, body.len())
                    .body(counted(body, bar)),
                None => request.body(body.clone()),
            };
        }
        Ok(request)
    }

    /// Sends the request, retrying what is safe to retry: a request that never reached the
    /// server (connection refused), and an idempotent one that met a gateway error (502, 503,
    /// 504) or a timeout. Waits 250 ms, 500 ms, then 1 s between attempts.
    pub async fn send(self) -> Result<Reply, ClientError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let last = attempt == ATTEMPTS;
            match self.build()?.send().await {
                Ok(response) => {
                    let status = response.status();
                    let transient = matches!(
                        status,
                        StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    );
                    if !(transient && self.idempotent() && !last) {
                        return self.finish(response).await;
                    }
                }
                Err(error) => {
                    let retry = error.is_connect() || (error.is_timeout() && self.idempotent());
                    if !retry || last {
                        return Err(self.unreachable(&error));
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    /// Sends the request and reads the answer as JSON.
    pub async fn value(self) -> Result<Value, ClientError> {
        self.send().await?.json()
    }

    async fn finish(&self, response: reqwest::Response) -> Result<Reply, ClientError> {
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.unreachable(&e))?
            .to_vec();
        if status.is_success() {
            return Ok(Reply { body });
        }
        let message = message(status, &body);
        if status == StatusCode::UNAUTHORIZED && self.authenticated {
            return Err(ClientError::TokenRefused(message));
        }
        Err(ClientError::Api { status, message })
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        // reqwest's own message is generic; the innermost cause says what happened.
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        let mut url = self.url.clone();
        url.set_query(None);
        ClientError::Unreachable {
            url: url.to_string(),
            reason,
        }
    }
}

/// `body` as a stream of chunks that advance `bar` as the connection asks for them.
fn counted(body: &[u8], bar: &ProgressBar) -> reqwest::Body {
    bar.set_length(body.len() as u64);
    bar.set_position(0);
    let bar = bar.clone();
    let chunks: Vec<Vec<u8>> = body.chunks(UPLOAD_CHUNK).map(<[u8]>::to_vec).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks.into_iter().map(
        move |chunk| {
            bar.inc(chunk.len() as u64);
            Ok::<_, std::io::Error>(chunk)
        },
    )))
}

/// The message of an error answer: SIF's `message`, else the text of the body.
fn message(status: StatusCode, body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(message) = value.get("message").and_then(Value::as_str)
    {
        return message.to_owned();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the server gave no reason")
            .to_owned()
    } else {
        text.chars().take(500).collect()
    }
}
