//! Building and running the HTTP server.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, ServiceExt};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use sifr_domain::{Email, Password, TenantId};
use sifr_store::{Store, StoreSettings};
use tower::Layer;
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::error::ApiError;
use crate::middleware::{accept_version, fold_slashes, record_metrics};
use crate::openapi::ApiDoc;
use crate::state::{AppState, Shared};
use crate::tenancy::{self, Provisioned};
use crate::transfers::{self, Transfers};
use crate::{access, admin, auth, calculations, impacts, pipelines, processor, referencedatasets};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] sifr_store::StoreError),
    #[error("cannot create the default tenant: {0}")]
    Tenant(ApiError),
    #[error("cannot listen on {address}: {error}")]
    Bind {
        address: SocketAddr,
        error: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// A server bound to its address, ready to run.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Router,
    state: AppState,
    first_start: Option<Provisioned>,
}

/// The store settings a configuration names.
pub fn store_settings(config: &Config) -> Result<StoreSettings, sifr_store::StoreError> {
    match &config.database_url {
        Some(url) => StoreSettings::postgres(url, &config.schema_prefix, config.max_connections),
        None => Ok(StoreSettings::Sqlite {
            data_dir: config.data_dir.clone(),
        }),
    }
}

/// The process-wide metrics recorder: installed once, shared by every server in the process.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding program); ours then only
            // renders what it records, which is nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

impl Server {
    /// Opens and migrates the store, creates the default tenant on first start, and binds the
    /// listening socket (port 0 picks a free one).
    pub async fn build(config: Config) -> Result<Server, ServerError> {
        let default_tenant =
            TenantId::parse(&config.default_tenant).map_err(|e| ServerError::Config(e.0))?;
        let store = sifr_store::open(&store_settings(&config)?).await?;
        store.migrate().await?;
        let first_start = if store.tenants().await?.is_empty() {
            let admin = Email::parse(&config.admin_email)
                .map_err(|e| ServerError::Config(format!("admin email: {e}")))?;
            let password = config
                .admin_password
                .as_deref()
                .map(Password::parse)
                .transpose()
                .map_err(|e| ServerError::Config(format!("admin password: {e}")))?;
            match tenancy::provision(store.as_ref(), &default_tenant, &admin, password).await {
                Ok(created) => {
                    tracing::info!(tenant = %created.tenant, admin = %created.admin, "created the default tenant");
                    Some(created)
                }
                // Another server sharing the database got there first.
                Err(ApiError::Conflict(_)) => None,
                Err(e) => return Err(ServerError::Tenant(e)),
            }
        } else {
            None
        };
        // Tenants created before the built-in connectors existed get them too.
        for tenant in store.tenants().await? {
            let data = store.tenant(&tenant.id).await?;
            crate::pipelines::connectors::seed(data.as_ref())
                .await
                .map_err(ServerError::Tenant)?;
        }
        let client = http_client().map_err(ServerError::Config)?;
        let auth = Authenticator::new(&config, store.as_ref(), client)
            .await
            .map_err(ServerError::Config)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|error| ServerError::Bind {
                address: config.listen,
                error,
            })?;
        let blobs: Arc<dyn sifr_store::BlobStore> =
            Arc::new(sifr_store::LocalBlobs::new(config.data_dir.join("blobs")));
        let transfers = Transfers::open(store.as_ref())
            .await?
            .on_upload(
                referencedatasets::UPLOAD_PURPOSE,
                Arc::new(referencedatasets::DatasetUploads),
            )
            .on_upload(
                processor::UPLOAD_PURPOSE,
                Arc::new(processor::ExecutionUploads),
            );
        let datasets = Arc::new(referencedatasets::DatasetLibrary::new(
            blobs.clone(),
            config.dataset_cache_bytes,
        ));
        let state = AppState::new(Shared {
            store,
            auth,
            config,
            default_tenant,
            metrics: metrics_handle(),
            blobs,
            transfers,
            datasets,
            runner: processor::Runner::default(),
        });
        if let Err(e) = referencedatasets::resume(&state).await {
            tracing::error!(error = %e, "cannot resume processing reference dataset files");
        }
        if let Err(e) = processor::resume(&state).await {
            tracing::error!(error = %e, "cannot resume interrupted executions");
        }
        Ok(Server {
            listener,
            app: router(state.clone()),
            state,
            first_start,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.config.listen)
    }

    /// The tenant created because the store had none, with its generated password if any.
    pub fn first_start(&self) -> Option<&Provisioned> {
        self.first_start.as_ref()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish for up to the
    /// configured grace period.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let grace = Duration::from_secs(self.state.config.shutdown_grace_seconds);
        let upkeep = tokio::spawn({
            let metrics = self.state.metrics.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    metrics.run_upkeep();
                }
            }
        });
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            let _ = stopping.send(());
        };
        let app = MapRequestLayer::new(fold_slashes).layer(self.app);
        let serve = axum::serve(self.listener, ServiceExt::<Request>::into_make_service(app))
            .with_graceful_shutdown(signal)
            .into_future();
        let deadline = async move {
            if stopped.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let result = tokio::select! {
            served = serve => served.map_err(ServerError::Serve),
            () = deadline => {
                tracing::warn!(seconds = grace.as_secs(), "requests still running after the grace period; stopping anyway");
                Ok(())
            }
        };
        upkeep.abort();
        result
    }
}

/// The client for fetching external issuers' keys.
fn http_client() -> Result<reqwest::Client, String> {
    // reqwest is built without a bundled crypto provider; ring serves TLS. Installing twice
    // (several servers in one process) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("sifr/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
    backend: &'static str,
}

/// Liveness and store reachability.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "The store is unreachable", body = crate::error::ErrorBody))
)]
async fn health(State(state): State<AppState>) -> Response {
    match state.store.tenants().await {
        Ok(_) => Json(Health {
            status: "ok",
            backend: state.store.backend(),
        })
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            let body = crate::error::ErrorBody {
                status_code: 503,
                error: "Service Unavailable".into(),
                message: "The store is unreachable.".into(),
                code: None,
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "Route {} {} not found.",
        request.method(),
        request.uri().path()
    ))
}

async fn method_not_allowed(request: Request) -> Response {
    let message = format!(
        "Method {} is not allowed on {}.",
        request.method(),
        request.uri().path()
    );
    let body = crate::error::ErrorBody {
        status_code: 405,
        error: "Method Not Allowed".into(),
        message,
        code: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// The OpenAPI document and the router, built from the same route declarations.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(health))
        .routes(routes!(admin::list, admin::create))
        .routes(routes!(admin::delete))
        .routes(routes!(admin::share, admin::unshare))
        .nest(
            "/accessManagement",
            access::router().layer(axum::middleware::from_fn(accept_version)),
        )
        .nest(
            "/impacts",
            impacts::router().layer(axum::middleware::from_fn(accept_version)),
        )
        .nest(
            "/calculations",
            calculations::router().layer(axum::middleware::from_fn(accept_version)),
        )
        .nest(
            "/pipelines",
            pipelines::router().layer(axum::middleware::from_fn(accept_version)),
        )
        .nest(
            "/pipelineProcessor",
            processor::router().layer(axum::middleware::from_fn(accept_version)),
        )
        .nest(
            "/referenceDatasets",
            referencedatasets::router().layer(axum::middleware::from_fn(accept_version)),
        )
        .split_for_parts()
}

fn router(state: AppState) -> Router {
    let (routes, document) = api();
    let document = Arc::new(document);
    let body_limit = state.config.body_limit;
    routes
        .route("/openapi.json", get(move || async move { Json(document.as_ref().clone()) }))
        .route("/metrics", get(metrics))
        .merge(transfers::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
                    ApiError::Internal("a request handler panicked".into()).into_response()
                })),
        )
        .with_state(state)
}
