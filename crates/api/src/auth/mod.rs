//! Identity: SIF-style ID tokens (claims `email`, `cognito:groups`, `groupContextId`, `tenantId`)
//! issued by `POST /auth/token` and verified on every request, with sifr's own key, an optional
//! shared HS256 secret, or an external OpenID Connect issuer's published keys.

mod oidc;
pub mod passwords;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Deserializer, Serialize};
use sifr_domain::{
    Email, GroupPath, Memberships, SecurityContext, TenantId, Timestamp, User, UserState,
};
use sifr_store::{Store, TenantStore};
use utoipa::ToSchema;

use crate::config::Config;
use crate::error::{ApiError, ApiResult, AuthErrorBody};
use crate::extract::JsonBody;
use crate::referencedatasets::DatasetLibrary;
use crate::state::AppState;
use oidc::OidcVerifier;

/// The catalog secret holding sifr's token signing key.
const SIGNING_KEY: &str = "token-signing-key";

/// The claims of a SIF ID token.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `"<groupId>|||<role>"` entries; SIF sent an array or one comma-separated string.
    #[serde(rename = "cognito:groups", default, deserialize_with = "groups_claim")]
    pub groups: Vec<String>,
    #[serde(
        rename = "groupContextId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub group_context_id: Option<String>,
    #[serde(rename = "tenantId", default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default)]
    pub iat: i64,
    pub exp: i64,
}

fn groups_claim<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Groups {
        List(Vec<String>),
        Joined(String),
    }
    Ok(match Option::<Groups>::deserialize(deserializer)? {
        Some(Groups::List(list)) => list,
        Some(Groups::Joined(joined)) => joined.split(',').map(str::to_owned).collect(),
        None => Vec::new(),
    })
}

/// Which key vouched for a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// Issued by this server (or another sharing its store).
    Own,
    /// Signed with the configured shared secret.
    Shared,
    /// Signed by the external issuer at this index of the configuration.
    External(usize),
}

pub struct Authenticator {
    issuer: String,
    ttl_seconds: u64,
    encoding: EncodingKey,
    own: DecodingKey,
    shared: Option<DecodingKey>,
    external: Vec<OidcVerifier>,
}

impl Authenticator {
    /// Loads sifr's signing key from the store, creating it on first start.
    pub async fn new(
        config: &Config,
        store: &dyn Store,
        client: reqwest::Client,
    ) -> Result<Self, String> {
        let candidate: [u8; 32] = rand::random();
        let secret = store
            .secret(SIGNING_KEY, &candidate)
            .await
            .map_err(|e| format!("cannot load the signing key: {e}"))?;
        let key_error = |e: jsonwebtoken::errors::Error| format!("unusable signing key: {e}");
        let shared = match config.jwt_secret.as_deref() {
            Some(secret) => Some(DecodingKey::from_secret(secret.as_bytes()).map_err(key_error)?),
            None => None,
        };
        Ok(Self {
            issuer: config.issuer.clone(),
            ttl_seconds: config.token_ttl_seconds,
            encoding: EncodingKey::from_secret(&secret).map_err(key_error)?,
            own: DecodingKey::from_secret(&secret).map_err(key_error)?,
            shared,
            external: config
                .oidc
                .iter()
                .cloned()
                .map(|issuer| OidcVerifier::new(issuer, client.clone()))
                .collect(),
        })
    }

    /// An ID token for `user` of `tenant`, and its lifetime in seconds.
    pub fn issue(&self, tenant: &TenantId, user: &User) -> ApiResult<(String, u64)> {
        let now = Timestamp::now().as_seconds();
        let claims = Claims {
            email: Some(user.email.to_string()),
            groups: Memberships::new(user.groups.iter().map(|(g, r)| (g.clone(), *r))).to_claims(),
            group_context_id: user.default_group.as_ref().map(ToString::to_string),
            tenant_id: Some(tenant.to_string()),
            sub: Some(user.email.to_string()),
            iss: Some(self.issuer.clone()),
            iat: now,
            exp: now.saturating_add(i64::try_from(self.ttl_seconds).unwrap_or(i64::MAX)),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("cannot sign a token: {e}")))?;
        Ok((token, self.ttl_seconds))
    }

    async fn verify(&self, token: &str) -> ApiResult<(Claims, Source)> {
        let invalid = |why: String| ApiError::Unauthenticated(format!("Invalid token: {why}."));
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        // Only to choose the key; nothing is trusted before the signature is checked.
        let unverified: Claims = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|e| invalid(e.to_string()))?;
        let issuer = unverified.iss.as_deref();
        let (key, source, mut validation) = if header.alg == Algorithm::HS256 {
            // sifr's own tokens and the harness's carry no audience, and expire to the second.
            let mut validation = Validation::new(Algorithm::HS256);
            validation.validate_aud = false;
            validation.leeway = 0;
            match (&self.shared, issuer == Some(self.issuer.as_str())) {
                (_, true) => (self.own.clone(), Source::Own, validation),
                (Some(shared), false) => (shared.clone(), Source::Shared, validation),
                (None, false) => return Err(invalid(format!("unknown issuer {issuer:?}"))),
            }
        } else {
            // Asymmetric tokens are only ever checked against a configured issuer's published
            // keys, never against a shared secret.
            let (index, verifier) = self
                .external
                .iter()
                .enumerate()
                .find(|(_, v)| Some(v.issuer.issuer.as_str()) == issuer)
                .ok_or_else(|| invalid(format!("unknown issuer {issuer:?}")))?;
            let key = verifier.key(header.kid.as_deref()).await.map_err(invalid)?;
            let mut validation = Validation::new(header.alg);
            validation.set_issuer(&[verifier.issuer.issuer.as_str()]);
            match &verifier.issuer.audience {
                Some(audience) => validation.set_audience(&[audience]),
                None => validation.validate_aud = false,
            }
            // Allow for clock skew between the identity provider and this server.
            validation.leeway = 30;
            (key, Source::External(index), validation)
        };
        validation.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                ApiError::Unauthenticated("The token has expired.".into())
            }
            _ => invalid(e.to_string()),
        })?;
        Ok((data.claims, source))
    }

    /// The tenant a token belongs to: its `tenantId` claim, else its issuer's configured tenant.
    fn tenant_of(&self, claims: &Claims, source: Source) -> Option<String> {
        claims.tenant_id.clone().or_else(|| match source {
            Source::External(index) => self
                .external
                .get(index)
                .and_then(|v| v.issuer.tenant.clone()),
            Source::Own | Source::Shared => None,
        })
    }
}

/// The authenticated caller of a request: their tenant's data and their security context.
pub struct Caller {
    pub tenant_id: TenantId,
    pub tenant: Arc<dyn TenantStore>,
    pub context: SecurityContext,
    /// The tenant's reference datasets as LOOKUP reads them.
    pub datasets: Arc<DatasetLibrary>,
    /// Every tenant, for the resources other tenants share.
    pub store: Arc<dyn Store>,
}

impl Caller {
    pub fn email(&self) -> &str {
        &self.context.caller
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "Missing Authorization header with a bearer token.".into(),
                )
            })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthenticated("Unreadable Authorization header.".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim();
        let (claims, source) = state.auth.verify(token).await?;

        let tenant_id = match state.auth.tenant_of(&claims, source) {
            Some(id) => TenantId::parse(&id).map_err(|e| ApiError::Unauthenticated(e.0))?,
            None => state.default_tenant.clone(),
        };
        let tenant = state.store.tenant(&tenant_id).await.map_err(|e| match e {
            sifr_store::StoreError::TenantNotFound(_) => ApiError::Unauthenticated(e.to_string()),
            other => other.into(),
        })?;
        let caller = claims
            .email
            .clone()
            .ok_or_else(|| ApiError::Unauthenticated("The token has no email claim.".into()))?;

        // A known user's current state and roles decide, so disabling or revoking takes effect
        // at once; the claims only speak for callers the tenant does not know (machine tokens,
        // external identities).
        let user = match Email::parse(&caller) {
            Ok(email) => tenant.user(&email).await?,
            Err(_) => None,
        };
        let memberships = match &user {
            Some(user) if user.state == UserState::Disabled => {
                return Err(ApiError::Unauthenticated("User is disabled.".into()));
            }
            Some(user) => Memberships::new(user.groups.iter().map(|(g, r)| (g.clone(), *r))),
            None if source == Source::Own => {
                return Err(ApiError::Unauthenticated(format!(
                    "User '{caller}' no longer exists."
                )));
            }
            None => Memberships::from_claims(claims.groups.iter().map(String::as_str)),
        };

        let header_group = parts
            .headers
            .get("x-groupcontextid")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let group = match header_group.or(claims.group_context_id.clone()) {
            Some(raw) => GroupPath::parse(&raw)?,
            None => memberships.groups().next().cloned().ok_or_else(|| {
                ApiError::Forbidden("groupContextId is not being set on claims or headers".into())
            })?,
        };
        let caller = Caller {
            tenant_id,
            tenant,
            datasets: state.datasets.clone(),
            store: state.store.clone(),
            context: SecurityContext {
                caller: caller.to_lowercase(),
                group,
                memberships,
                floor: None,
            },
        };
        crate::sharing::acting_caller(parts, state, caller).await
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// The user's email.
    username: String,
    password: String,
    /// The tenant to log in to; default: the server's default tenant.
    tenant_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// The ID token to send as `Authorization: Bearer <idToken>`.
    id_token: String,
    /// The same token, for clients that read `accessToken`.
    access_token: String,
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: u64,
}

const BAD_CREDENTIALS: &str = "Incorrect username or password.";

/// Logs a user in and returns an ID token.
#[utoipa::path(
    post,
    path = "/auth/token",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong credentials, disabled user or unknown tenant", body = AuthErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let tenant_id = match &request.tenant_id {
        Some(id) => TenantId::parse(id).map_err(|e| ApiError::NotAuthorized(e.0))?,
        None => state.default_tenant.clone(),
    };
    let tenant = state.store.tenant(&tenant_id).await.map_err(|e| match e {
        sifr_store::StoreError::TenantNotFound(_) => ApiError::NotAuthorized(e.to_string()),
        other => other.into(),
    })?;
    let email = Email::parse(&request.username).ok();
    let credentials = match &email {
        Some(email) => tenant.credentials(email).await?,
        None => None,
    };
    let hash = credentials.as_ref().and_then(|c| c.password_hash.clone());
    if !passwords::verify(&request.password, hash).await {
        return Err(ApiError::NotAuthorized(BAD_CREDENTIALS.into()));
    }
    if credentials.is_some_and(|c| c.state == UserState::Disabled) {
        return Err(ApiError::NotAuthorized("User is disabled.".into()));
    }
    let user = match &email {
        Some(email) => tenant.user(email).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::NotAuthorized(BAD_CREDENTIALS.into()))?;
    let (token, expires_in) = state.auth.issue(&tenant_id, &user)?;
    Ok(Json(TokenResponse {
        id_token: token.clone(),
        access_token: token,
        token_type: "Bearer",
        expires_in,
    }))
}
