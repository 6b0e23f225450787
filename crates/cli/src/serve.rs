//! `sifr serve`: the HTTP server. Configuration comes from flags, `SIFR_*` environment
//! variables and an optional TOML file, in that order of precedence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use sifr_api::{Config, Server, ServerError};

use crate::client::output::Format;
use crate::demo;

/// Where the data is: shared by `serve`, `migrate` and `tenant`.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long, global = true, env = "SIFR_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the embedded SQLite store [default: ./sifr-data].
    #[arg(long, global = true, env = "SIFR_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep everything in PostgreSQL instead: postgres://user:password@host/database.
    #[arg(
        long,
        global = true,
        env = "SIFR_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Prefix of sifr's PostgreSQL schemas [default: sifr].
    #[arg(long, global = true, env = "SIFR_SCHEMA_PREFIX", value_name = "PREFIX")]
    schema_prefix: Option<String>,
}

impl StoreArgs {
    /// The configuration file's settings (or the defaults) with these flags applied.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        set(&mut config.data_dir, self.data_dir.clone());
        if self.database_url.is_some() {
            config.database_url.clone_from(&self.database_url);
        }
        set(&mut config.schema_prefix, self.schema_prefix.clone());
        Ok(config)
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SIFR_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Tenant created on first start and used when a token names none [default: default].
    #[arg(long, env = "SIFR_DEFAULT_TENANT", value_name = "ID")]
    default_tenant: Option<String>,
    /// Root admin of a tenant created on first start.
    #[arg(long, env = "SIFR_ADMIN_EMAIL", value_name = "EMAIL")]
    admin_email: Option<String>,
    /// That admin's password; without it a random one is printed once.
    #[arg(
        long,
        env = "SIFR_ADMIN_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    admin_password: Option<String>,
    /// Also accept HS256 tokens signed with this shared secret.
    #[arg(
        long,
        env = "SIFR_JWT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    jwt_secret: Option<String>,
    /// Lifetime of issued tokens in seconds [default: 3600].
    #[arg(long, env = "SIFR_TOKEN_TTL", value_name = "SECONDS")]
    token_ttl: Option<u64>,
    /// Bearer token that unlocks the tenant API (/tenants).
    #[arg(
        long,
        env = "SIFR_OPERATOR_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    operator_token: Option<String>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "SIFR_BODY_LIMIT", value_name = "BYTES")]
    body_limit: Option<usize>,
    /// Log line format.
    #[arg(long, env = "SIFR_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Also set up the demo organisation with a year of sample bills, as `sifr demo` does.
    #[arg(long)]
    demo: bool,
}

impl ServeArgs {
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = self.store.config()?;
        set(&mut config.listen, self.listen);
        set(&mut config.default_tenant, self.default_tenant.clone());
        set(&mut config.admin_email, self.admin_email.clone());
        if self.admin_password.is_some() {
            config.admin_password.clone_from(&self.admin_password);
        }
        if self.jwt_secret.is_some() {
            config.jwt_secret.clone_from(&self.jwt_secret);
        }
        set(&mut config.token_ttl_seconds, self.token_ttl);
        if self.operator_token.is_some() {
            config.operator_token.clone_from(&self.operator_token);
        }
        set(&mut config.body_limit, self.body_limit);
        Ok(config)
    }
}

/// Logs to standard error what `RUST_LOG` asks for, else what `default` does.
pub fn init_logging(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves once the process is asked to stop (Ctrl-C or SIGTERM).
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// A server running on the async runtime until the process is asked to stop or
/// [`Background::stop`] stops it.
pub struct Background {
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Background {
    pub fn start(server: Server) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            tokio::select! {
                () = shutdown_signal() => {}
                _ = stopped => {}
            }
        };
        Self {
            task: tokio::spawn(server.run_until_stopped(signal)),
            stop,
        }
    }

    /// Serves until the process is asked to stop.
    pub async fn wait(self) -> anyhow::Result<()> {
        let Self { task, stop } = self;
        let served = task.await;
        drop(stop);
        Ok(served.context("the server stopped unexpectedly")??)
    }

    /// Stops serving, letting requests in flight finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        Ok(self
            .task
            .await
            .context("the server stopped unexpectedly")??)
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format, "info,sqlx=warn");
    let mut config = args.config()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let demo = args
            .demo
            .then(|| demo::Demo::prepare(&mut config))
            .transpose()?;
        let server = Server::build(config).await?;
        tracing::info!(address = %server.local_addr(), backend = server.store().backend(), "listening");
        if let Some(demo) = demo {
            demo::serve_seeded(server, demo, Format::Table, true).await?;
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(created) = server.first_start() {
            eprintln!("Created tenant '{}' with root admin {}.", created.tenant, created.admin);
            if let Some(password) = &created.generated_password {
                eprintln!("Its generated password, shown only this once: {password}");
            }
        }
        server.run_until_stopped(shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    })
}
