//! The client commands: `sifr login` and one command family per kind of resource, talking to a
//! running `sifr serve` (or any server of SIF's REST API) over HTTP.
//!
//! Settings come from a profile of the configuration file, then the environment, then flags,
//! each overriding the one before. Failures print the server's message on standard error and
//! exit with a code that says what kind of failure it was (see [`exit_code`]).

pub mod activities;
pub mod calculations;
pub mod config;
pub mod datasets;
pub mod executions;
pub mod groups;
pub mod http;
pub mod impacts;
pub mod login;
pub mod metrics;
pub mod output;
pub mod pipelines;
pub mod resource;
pub mod users;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::Args;
use reqwest::{StatusCode, Url};
use serde_json::{Map, Value, json};
use sifr_domain::GroupPath;

use self::config::{ConfigFile, Profile};
use self::http::{Client, ClientError};
use self::output::Format;

/// Where the server is and how to talk to it; shared by every client command.
#[derive(Args, Debug)]
#[command(next_help_heading = "Connection and output")]
pub struct Connection {
    /// Base URL of the server [default: the profile's, else http://127.0.0.1:8080].
    #[arg(long, global = true, env = "SIFR_URL", value_name = "URL")]
    url: Option<String>,
    /// Profile of the configuration file to use.
    #[arg(
        long,
        global = true,
        env = "SIFR_PROFILE",
        value_name = "NAME",
        default_value = "default"
    )]
    profile: String,
    /// Tenant to log in to [default: the server's default tenant].
    #[arg(long, global = true, env = "SIFR_TENANT", value_name = "TENANT")]
    tenant: Option<String>,
    /// Group in context (`x-groupcontextid`) [default: the profile's, else the token's].
    #[arg(long, global = true, env = "SIFR_GROUP", value_name = "GROUP")]
    group: Option<String>,
    /// Read another tenant's shared group (`x-tenant`; read commands only).
    #[arg(long, global = true, value_name = "TENANT")]
    shared_tenant: Option<String>,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value = "table",
        value_name = "FORMAT"
    )]
    output: Format,
    /// Confirm destructive commands (required when not on a terminal).
    #[arg(long, global = true)]
    yes: bool,
}

/// The connection settings once profile, environment and flags are merged.
pub struct Settings {
    pub profile_name: String,
    pub config_path: PathBuf,
    pub profile: Profile,
    pub url: Url,
    pub tenant: Option<String>,
    pub group: Option<GroupPath>,
    shared_tenant: Option<String>,
    pub format: Format,
    yes: bool,
}

impl Connection {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let config_path = config::path()?;
        let profile = ConfigFile::load(&config_path)?
            .profiles
            .remove(&self.profile)
            .unwrap_or_default();
        let url = self
            .url
            .clone()
            .or_else(|| profile.url.clone())
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        let group = self
            .group
            .clone()
            .or_else(|| profile.group.clone())
            .map(|g| GroupPath::parse(&g).context("--group"))
            .transpose()?;
        Ok(Settings {
            profile_name: self.profile.clone(),
            config_path,
            url: parse_url(&url)?,
            tenant: self.tenant.clone().or_else(|| profile.tenant.clone()),
            group,
            shared_tenant: self.shared_tenant.clone(),
            format: self.output,
            yes: self.yes,
            profile,
        })
    }
}

fn parse_url(url: &str) -> anyhow::Result<Url> {
    let parsed = Url::parse(url).with_context(|| format!("'{url}' is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        bail!("'{url}' is not an http:// or https:// URL of a server");
    }
    Ok(parsed)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// What a client command works with: the connection, the output format and the confirmation.
pub struct Session {
    pub client: Client,
    pub format: Format,
    yes: bool,
    group: GroupPath,
}

impl Settings {
    /// Logs in with a username and password; answers the ID token.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        login(&self.url, self.tenant.as_deref(), username, password).await
    }

    /// Opens a session. The token is `SIFR_TOKEN`, else a fresh login when `SIFR_PASSWORD` is
    /// set (for scripts), else the profile's.
    pub async fn session(self) -> anyhow::Result<Session> {
        let token = match (env("SIFR_TOKEN"), env("SIFR_PASSWORD")) {
            (Some(token), _) => Some(token),
            (None, Some(password)) => {
                let username = env("SIFR_USERNAME")
                    .or_else(|| self.profile.username.clone())
                    .context("SIFR_PASSWORD is set but no username is: set SIFR_USERNAME")?;
                Some(self.login(&username, &password).await?)
            }
            (None, None) => self.profile.token.clone(),
        };
        // Without an explicit group, the server works in the token's default group; knowing it
        // lets commands name the group they work in.
        let group = match &self.group {
            Some(group) => group.clone(),
            None => token
                .as_deref()
                .and_then(token_group)
                .unwrap_or_else(GroupPath::root),
        };
        let client = Client::new(
            self.url,
            token,
            self.group.map(|g| g.to_string()),
            self.shared_tenant,
        )?;
        Ok(Session {
            client,
            format: self.format,
            yes: self.yes,
            group,
        })
    }
}

/// Logs in to the server at `url` (in `tenant`, else its default one); answers the ID token.
pub async fn login(
    url: &Url,
    tenant: Option<&str>,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let mut body = json!({"username": username, "password": password});
    if let Some(tenant) = tenant {
        body["tenantId"] = json!(tenant);
    }
    let reply = Client::new(url.clone(), None, None, None)?
        .call(reqwest::Method::POST, &["auth", "token"])
        .anonymous()
        .json(&body)
        .value()
        .await
        .with_context(|| format!("cannot log in to {url} as {username}"))?;
    reply["idToken"]
        .as_str()
        .map(str::to_owned)
        .context("the server's login answer has no idToken")
}

/// The `groupContextId` claim of a token (read, not verified: the server verifies it).
fn token_group(token: &str) -> Option<GroupPath> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    GroupPath::parse(claims.get("groupContextId")?.as_str()?).ok()
}

impl Session {
    /// A session of `token` at `url` working in `group`, for a program that logged in itself
    /// (`sifr demo`).
    pub fn with_token(
        url: Url,
        token: String,
        group: GroupPath,
        format: Format,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            client: Client::new(url, Some(token), Some(group.to_string()), None)?,
            format,
            yes: false,
            group,
        })
    }

    /// The group commands work in.
    pub fn group(&self) -> &GroupPath {
        &self.group
    }

    /// Asks before destroying something: `--yes` confirms; on a terminal the user is asked;
    /// otherwise the command is refused.
    pub fn confirm(&self, what: &str) -> anyhow::Result<()> {
        if self.yes {
            return Ok(());
        }
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            eprint!("{what}? [y/N] ");
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if matches!(answer.trim(), "y" | "Y" | "yes" | "YES") {
                return Ok(());
            }
            bail!("not confirmed; nothing was changed");
        }
        bail!("refusing to {what} without confirmation: repeat with --yes")
    }
}

/// A client command.
pub(crate) trait Command {
    fn connection(&self) -> &Connection;
    async fn run(self, settings: Settings) -> anyhow::Result<()>;
}

/// Exit code of a failure that fits no other.
pub const FAILURE: u8 = 1;
/// Exit code when not logged in, or the token was refused (401).
pub const UNAUTHENTICATED: u8 = 3;
/// Exit code of a request the caller may not make (403).
pub const FORBIDDEN: u8 = 4;
/// Exit code when what was named does not exist (404).
pub const NOT_FOUND: u8 = 5;

/// The exit code of a failure (2 is clap's, for a command line it cannot parse).
pub fn exit_code(error: &anyhow::Error) -> u8 {
    match error
        .downcast_ref::<ClientError>()
        .and_then(ClientError::status)
    {
        Some(StatusCode::UNAUTHORIZED) => UNAUTHENTICATED,
        Some(StatusCode::FORBIDDEN) => FORBIDDEN,
        Some(StatusCode::NOT_FOUND) => NOT_FOUND,
        _ => FAILURE,
    }
}

/// Runs a client command on a single-threaded runtime; failures are printed here, with their
/// exit code.
pub fn run<C: Command>(command: C) -> anyhow::Result<ExitCode> {
    let result = command.connection().settings().and_then(|settings| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(command.run(settings))
    });
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) => {
            eprintln!("error: {error:#}");
            Ok(ExitCode::from(exit_code(&error)))
        }
    }
}

/// Reads a JSON or YAML file (by its extension: `.yaml`/`.yml` are YAML).
pub fn read_value(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if has_extension(path, &["yaml", "yml"]) {
        serde_norway::from_str(&text).with_context(|| format!("{}", path.display()))
    } else {
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))
    }
}

/// Reads a JSON or YAML file holding one object.
pub fn read_object(path: &Path) -> anyhow::Result<Map<String, Value>> {
    match read_value(path)? {
        Value::Object(map) => Ok(map),
        other => bail!(
            "{}: expected one object, found {}",
            path.display(),
            kind_of(&other)
        ),
    }
}

/// Whether the file's extension is one of `extensions` (ignoring case).
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The body of a create or update: the `--file` object, with the fields given as flags set
/// over it.
pub struct Body(pub Map<String, Value>);

impl Body {
    pub fn from_file(file: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self(match file {
            Some(path) => read_object(path)?,
            None => Map::new(),
        }))
    }

    pub fn set(&mut self, key: &str, value: Option<impl Into<Value>>) {
        if let Some(value) = value {
            self.0.insert(key.to_owned(), value.into());
        }
    }

    /// `--tag key=value` flags; `key=` removes the tag on update.
    pub fn tags(&mut self, tags: &[String]) -> anyhow::Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let mut map = match self.0.remove("tags") {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for tag in tags {
            let (key, value) = tag
                .split_once('=')
                .filter(|(key, _)| !key.is_empty())
                .with_context(|| format!("--tag {tag}: expected key=value"))?;
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
        self.0.insert("tags".into(), Value::Object(map));
        Ok(())
    }

    pub fn require(&self, key: &str, flag: &str) -> anyhow::Result<()> {
        if self.0.contains_key(key) {
            Ok(())
        } else {
            bail!("'{key}' is required: give {flag} or set it in --file")
        }
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// The `?key=value` list filters every listing takes.
#[derive(Args, Debug, Default)]
pub struct ListArgs {
    /// Also list what the ancestors of the group hold.
    #[arg(long)]
    parents: bool,
    /// Also list what the descendants of the group hold.
    #[arg(long)]
    children: bool,
    /// Only items tagged `key:value` (repeatable; all must match).
    #[arg(long = "tag", value_name = "KEY:VALUE")]
    tags: Vec<String>,
}

/// Reads every page of a listing of `group` (the group in context when `None`): `key` is the
/// list's field in the answer.
pub async fn list_all(
    session: &Session,
    segments: &[&str],
    key: &str,
    filters: &ListArgs,
    name: Option<&str>,
    group: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut call = session.client.call(reqwest::Method::GET, segments);
        if let Some(group) = group {
            call = call.group(group);
        }
        if filters.parents {
            call = call.query("includeParentGroups", "true");
        }
        if filters.children {
            call = call.query("includeChildGroups", "true");
        }
        for tag in &filters.tags {
            call = call.query("tags", tag);
        }
        match name {
            Some(name) => call = call.query("name", name),
            None => call = call.query("count", "100"),
        }
        if let Some(token) = &token {
            call = call.query("fromToken", token);
        }
        let page = call.value().await?;
        match page.get(key) {
            Some(Value::Array(list)) => items.extend(list.iter().cloned()),
            _ => bail!("the server's answer has no '{key}' list"),
        }
        token = page
            .pointer("/pagination/lastEvaluatedToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if token.is_none() || name.is_some() {
            return Ok(items);
        }
    }
}
