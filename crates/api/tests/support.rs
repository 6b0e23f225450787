//! Test servers on real sockets: SQLite always, PostgreSQL too when `SIFR_TEST_DATABASE_URL` is
//! set (each server then gets schemas of its own, dropped when the test ends).

use std::net::SocketAddr;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sifr_api::{Config, OidcIssuer, Server};

pub const ADMIN: &str = "root@example.com";
pub const ADMIN_PASSWORD: &str = "root-secret1";
pub const JWT_SECRET: &str = "harness-secret";
pub const OPERATOR_TOKEN: &str = "operator-token-1";

/// What a test may change in a server's configuration.
#[derive(Clone)]
pub struct Options {
    pub token_ttl_seconds: u64,
    pub body_limit: usize,
    pub oidc: Vec<OidcIssuer>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            token_ttl_seconds: 3600,
            body_limit: 64 * 1024,
            oidc: Vec::new(),
        }
    }
}

/// A started server, and whether its store was created by this start.
struct Started {
    first: bool,
    running: TestServer,
}

pub struct TestServer {
    pub backend: &'static str,
    pub address: SocketAddr,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), sifr_api::ServerError>>>,
    dir: tempfile::TempDir,
    options: Options,
    postgres: Option<(String, String)>,
}

/// A response: status and JSON body (`Null` when there is none).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The body's `message`, for assertions on error texts.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

pub fn random_name(len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
        .collect()
}

/// One server per backend under test.
pub async fn servers(options: Options) -> Vec<TestServer> {
    let mut all = vec![TestServer::start("sqlite", None, options.clone()).await];
    if let Ok(url) = std::env::var("SIFR_TEST_DATABASE_URL") {
        all.push(TestServer::start("postgres", Some(url), options).await);
    }
    all
}

impl TestServer {
    async fn start(backend: &'static str, database_url: Option<String>, options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let prefix = format!("ht_{}", random_name(10));
        let server = Self::serve(backend, dir, database_url.map(|u| (u, prefix)), options).await;
        assert!(
            server.first,
            "a fresh store gets its default tenant, with the configured password"
        );
        server.running
    }

    /// Stops the server (if it runs) and starts another on the same data, as after a stop of
    /// the process.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let postgres = self.postgres.take();
        let server = Self::serve(self.backend, self.dir, postgres, self.options).await;
        server.running
    }

    async fn serve(
        backend: &'static str,
        dir: tempfile::TempDir,
        postgres: Option<(String, String)>,
        options: Options,
    ) -> Started {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (database_url, prefix) = match &postgres {
            Some((url, prefix)) => (Some(url.clone()), prefix.clone()),
            None => (None, format!("ht_{}", random_name(10))),
        };
        let config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().to_owned(),
            database_url: database_url.clone(),
            schema_prefix: prefix.clone(),
            max_connections: 5,
            admin_email: ADMIN.into(),
            admin_password: Some(ADMIN_PASSWORD.into()),
            body_limit: options.body_limit,
            token_ttl_seconds: options.token_ttl_seconds,
            jwt_secret: Some(JWT_SECRET.into()),
            oidc: options.oidc.clone(),
            operator_token: Some(OPERATOR_TOKEN.into()),
            shutdown_grace_seconds: 5,
            ..Config::default()
        };
        let server = Server::build(config).await.expect("build server");
        let first = server
            .first_start()
            .is_some_and(|created| created.generated_password.is_none());
        let address = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Started {
            first,
            running: TestServer {
                backend,
                address,
                client: reqwest::Client::new(),
                stop: Some(stop),
                task: Some(task),
                dir,
                options,
                postgres,
            },
        }
    }

    /// The data directory (the SQLite databases).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The PostgreSQL URL and schema prefix, on PostgreSQL.
    pub fn postgres(&self) -> Option<&(String, String)> {
        self.postgres.as_ref()
    }

    /// Stops the server gracefully (its data stays, for [`restart`](Self::restart)).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }

    /// Stops the server gracefully and drops its PostgreSQL schemas.
    pub async fn finish(mut self) {
        self.stop().await;
        if let Some((url, prefix)) = self.postgres.take() {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .expect("connect to the test database");
            let schemas: Vec<String> = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE nspname = $1 OR nspname LIKE $2",
            )
            .bind(&prefix)
            .bind(format!("{prefix}\\_t\\_%"))
            .fetch_all(&mut conn)
            .await
            .expect("list schemas");
            for schema in schemas {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA \"{schema}\" CASCADE"
                )))
                .execute(&mut conn)
                .await
                .expect("drop schema");
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A request as SIF clients send it: `Accept-Version: 1.0.0`, a bearer token, and the group
    /// in context when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        group: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("accept-version", "1.0.0")
            .bearer_auth(token);
        if let Some(group) = group {
            request = request.header("x-groupcontextid", group);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.expect("request reaches the server")).await
    }

    pub async fn raw(&self, request: reqwest::RequestBuilder) -> Reply {
        reply(request.send().await.expect("request reaches the server")).await
    }

    pub async fn login_reply(&self, username: &str, password: &str, tenant: Option<&str>) -> Reply {
        let mut body = json!({"username": username, "password": password});
        if let Some(tenant) = tenant {
            body["tenantId"] = json!(tenant);
        }
        reply(
            self.client
                .post(self.url("/auth/token"))
                .json(&body)
                .send()
                .await
                .expect("login request"),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let reply = self.login_reply(username, password, None).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: login of {username}: {}",
            self.backend,
            reply.body
        );
        reply.body["idToken"].as_str().expect("idToken").to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN, ADMIN_PASSWORD).await
    }

    /// Creates group `id` as the root admin (from its parent's context), optionally disabled.
    pub async fn group(&self, admin: &str, id: &str) {
        let (parent, name) = id.rsplit_once('/').expect("a group path");
        let parent = if parent.is_empty() { "/" } else { parent };
        let reply = self
            .call(
                Method::POST,
                "/accessManagement/groups",
                admin,
                Some(parent),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{}: create {id}: {}",
            self.backend,
            reply.body
        );
    }

    /// Grants `email` the `role` in `group` as the root admin, with a password when given.
    pub async fn user(
        &self,
        admin: &str,
        email: &str,
        group: &str,
        role: &str,
        password: Option<&str>,
    ) {
        let mut body = json!({"email": email, "role": role});
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        let reply = self
            .call(
                Method::POST,
                "/accessManagement/users",
                admin,
                Some(group),
                Some(body),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{}: grant {email}: {}",
            self.backend,
            reply.body
        );
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Signs `claims` with the configured shared secret, as a test harness would.
pub fn mint(claims: &Value, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).expect("valid secret");
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).expect("sign token")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The claims of a token, read without checking the signature.
pub fn claims(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode_claims(token).expect("decodable token")
}
