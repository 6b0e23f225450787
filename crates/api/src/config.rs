//! Server configuration. Defaults suit a local run; a TOML file can set any field, and the
//! command line (flags and `SIFR_*` variables) overrides the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything `Server::build` needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where the embedded store keeps its databases (SQLite).
    pub data_dir: PathBuf,
    /// `postgres://…` to keep everything in PostgreSQL instead of the data directory.
    pub database_url: Option<String>,
    /// Prefix of the PostgreSQL schemas: the catalog is `<prefix>`, tenants `<prefix>_t_<id>`.
    pub schema_prefix: String,
    /// Connections per tenant pool (PostgreSQL).
    pub max_connections: u32,
    /// The tenant created on first start, and the one used when a login or token names none.
    pub default_tenant: String,
    /// The root admin created with a new tenant.
    pub admin_email: String,
    /// The root admin's password; when absent, a random one is generated and shown once.
    pub admin_password: Option<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Lifetime of the tokens `POST /auth/token` issues, in seconds.
    pub token_ttl_seconds: u64,
    /// The `iss` of the tokens sifr issues.
    pub issuer: String,
    /// An HS256 secret whose tokens are accepted as well (lets a test harness mint tokens).
    pub jwt_secret: Option<String>,
    /// External OpenID Connect issuers whose ID tokens are accepted.
    pub oidc: Vec<OidcIssuer>,
    /// Bearer token for the tenant management API (`/tenants`); the API is off without it.
    pub operator_token: Option<String>,
    /// How long a graceful shutdown waits for requests in flight, in seconds.
    pub shutdown_grace_seconds: u64,
    /// The base of the upload and download URLs the server hands out (`https://sifr.example.com`);
    /// by default `http://` and the `Host` header of the request that asked for the URL.
    pub public_url: Option<String>,
    /// Largest file accepted on an upload URL, in bytes.
    pub upload_limit: u64,
    /// Memory the indexed reference datasets kept for LOOKUP may take, in bytes.
    pub dataset_cache_bytes: usize,
}

/// An external identity provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcIssuer {
    /// The `iss` claim of its tokens.
    pub issuer: String,
    /// Where its signing keys are; default: discovered from `<issuer>/.well-known/openid-configuration`.
    pub jwks_uri: Option<String>,
    /// The expected `aud` claim, if it is to be checked.
    pub audience: Option<String>,
    /// The tenant its users belong to when the token carries no `tenantId` claim.
    pub tenant: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("sifr-data"),
            database_url: None,
            schema_prefix: "sifr".to_owned(),
            max_connections: 10,
            default_tenant: "default".to_owned(),
            admin_email: "admin@sifr.example.com".to_owned(),
            admin_password: None,
            body_limit: 1024 * 1024,
            token_ttl_seconds: 3600,
            issuer: "sifr".to_owned(),
            jwt_secret: None,
            oidc: Vec::new(),
            operator_token: None,
            shutdown_grace_seconds: 30,
            public_url: None,
            upload_limit: 1024 * 1024 * 1024,
            dataset_cache_bytes: 512 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("invalid configuration file {path}: {error}")]
    Parse {
        path: PathBuf,
        error: toml::de::Error,
    },
}

impl Config {
    /// Reads a TOML file; fields it leaves out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_override_defaults() {
        let config: Config = toml::from_str(
            r#"
            listen = "0.0.0.0:9000"
            jwt_secret = "s3cret"
            [[oidc]]
            issuer = "https://idp.example.com"
            tenant = "acme"
            "#,
        )
        .expect("valid configuration");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.jwt_secret.as_deref(), Some("s3cret"));
        assert_eq!(config.oidc[0].tenant.as_deref(), Some("acme"));
        assert_eq!(
            config.data_dir,
            PathBuf::from("sifr-data"),
            "unset fields keep their defaults"
        );
        assert!(
            toml::from_str::<Config>("listn = \"x\"").is_err(),
            "typos are reported"
        );
    }
}
