//! Verification keys of external OpenID Connect issuers, fetched from their JWKS and cached.

use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::OidcIssuer;

/// Keys are refetched after this long, and at most this often when a token names an unknown key.
const MAX_AGE: Duration = Duration::from_secs(3600);
const MIN_REFRESH: Duration = Duration::from_secs(30);

pub struct OidcVerifier {
    pub issuer: OidcIssuer,
    client: reqwest::Client,
    keys: Mutex<Option<(JwkSet, Instant)>>,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

impl OidcVerifier {
    pub fn new(issuer: OidcIssuer, client: reqwest::Client) -> Self {
        Self {
            issuer,
            client,
            keys: Mutex::new(None),
        }
    }

    /// The key that signed a token, by its `kid` (or the only key, when the token names none).
    pub async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, String> {
        let mut cached = self.keys.lock().await;
        let age = cached.as_ref().map(|(_, fetched)| fetched.elapsed());
        let known = cached
            .as_ref()
            .and_then(|(set, _)| pick(set, kid))
            .is_some();
        let stale = age.is_none_or(|age| age > MAX_AGE);
        if stale || (!known && age.is_some_and(|age| age > MIN_REFRESH)) {
            *cached = Some((self.fetch().await?, Instant::now()));
        }
        let set = cached
            .as_ref()
            .map(|(set, _)| set)
            .ok_or("no signing keys")?;
        let jwk = pick(set, kid)
            .ok_or_else(|| format!("issuer '{}' has no signing key {kid:?}", self.issuer.issuer))?;
        DecodingKey::from_jwk(jwk)
            .map_err(|e| format!("unusable signing key of '{}': {e}", self.issuer.issuer))
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        let jwks_uri = match &self.issuer.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.issuer.issuer.trim_end_matches('/')
                );
                self.get::<Discovery>(&url).await?.jwks_uri
            }
        };
        self.get(&jwks_uri).await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .client
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("cannot fetch {url}: {e}"))?;
        response
            .json()
            .await
            .map_err(|e| format!("unexpected answer from {url}: {e}"))
    }
}

fn pick<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a jsonwebtoken::jwk::Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}
