//! `sifr pipelines`: pipeline definitions, and `validate`, a dry run of a definition over
//! sample rows that stores nothing.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::http::ClientError;
use super::output::{Format, cell, emit};
use super::resource::{DeleteCommand, GetCommand, ListCommand, PIPELINES, show};
use super::{Body, Command, Connection, Session, Settings, has_extension, kind_of, read_value};

#[derive(Args, Debug)]
pub struct PipelinesArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: PipelinesCommand,
}

#[derive(Subcommand, Debug)]
enum PipelinesCommand {
    /// List the pipelines of the group in context.
    List(ListCommand),
    /// Show a pipeline.
    Get(GetCommand),
    /// Create a pipeline in the group in context from a definition file.
    Create {
        /// The pipeline's name [default: the file's `name`].
        name: Option<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Write a new version of a pipeline.
    Update {
        /// The id, or the name in the group in context.
        target: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete a pipeline and all its versions.
    Delete(DeleteCommand),
    /// Dry-run a definition over sample rows; nothing is stored.
    Validate {
        /// The pipeline definition (JSON or YAML).
        file: PathBuf,
        /// Sample rows: a CSV file with a header row, or a JSON list of objects [default: the
        /// definition's dryRunOptions].
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct Fields {
    /// JSON or YAML file with the definition; the flags below override its fields.
    #[arg(long, short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    /// What it is, for people.
    #[arg(long)]
    description: Option<String>,
    /// A tag, key=value (repeatable; key= removes it on update).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
}

impl Fields {
    fn body(&self) -> anyhow::Result<Body> {
        let mut body = Body::from_file(self.file.as_deref())?;
        body.set("description", self.description.clone());
        body.tags(&self.tags)?;
        Ok(body)
    }
}

/// Sample rows from a CSV file (each row an object of its cells) or a JSON/YAML list.
pub fn sample_rows(path: &Path) -> anyhow::Result<Vec<Value>> {
    if has_extension(path, &["csv"]) {
        let mut reader = csv::Reader::from_path(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let headers = reader
            .headers()
            .with_context(|| format!("{}", path.display()))?
            .clone();
        return reader
            .records()
            .map(|record| {
                let record = record.with_context(|| format!("{}", path.display()))?;
                let row: Map<String, Value> = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.to_owned(), Value::String(v.to_owned())))
                    .collect();
                Ok(Value::Object(row))
            })
            .collect();
    }
    match read_value(path)? {
        Value::Array(rows) => Ok(rows),
        other => bail!(
            "{}: expected a list of rows, found {}",
            path.display(),
            kind_of(&other)
        ),
    }
}

/// Prints a dry run's `{headers, data, errors?}`: its rows as a table, its errors on standard
/// error.
fn print_dry_run(format: Format, result: &Value) -> anyhow::Result<()> {
    if format == Format::Json {
        return emit(&format!("{result}\n"));
    }
    let headers: Vec<String> = result["headers"]
        .as_array()
        .map(|h| h.iter().map(|v| cell(Some(v))).collect())
        .unwrap_or_default();
    let mut rows = vec![headers.clone()];
    for line in result["data"].as_array().into_iter().flatten() {
        let row: Value = line
            .as_str()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or(Value::Null);
        rows.push(headers.iter().map(|h| cell(row.get(h))).collect());
    }
    format.grid(&rows)
}

async fn validate(session: &Session, file: &Path, data: Option<&Path>) -> anyhow::Result<()> {
    let mut body = Body::from_file(Some(file))?;
    if let Some(data) = data {
        body.set("dryRunOptions", Some(json!({"data": sample_rows(data)?})));
    }
    if !body.0.contains_key("dryRunOptions") {
        bail!(
            "a dry run needs sample rows: give --data FILE, or set dryRunOptions in {}",
            file.display()
        );
    }
    let answer = session
        .client
        .call(Method::POST, &PIPELINES.path)
        .query("dryRun", "true")
        .json(&body.into_value())
        .value()
        .await;
    match answer {
        Ok(result) => print_dry_run(session.format, &result),
        // A dry run whose rows fail answers 400 with the result as its message.
        Err(ClientError::Api { status, message }) if status == StatusCode::BAD_REQUEST => {
            let Ok(result) = serde_json::from_str::<Value>(&message) else {
                return Err(ClientError::Api { status, message }.into());
            };
            print_dry_run(session.format, &result)?;
            let errors: Vec<&str> = result["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for error in &errors {
                eprintln!("{error}");
            }
            bail!("the dry run failed: {} error(s)", errors.len())
        }
        Err(other) => Err(other.into()),
    }
}

impl Command for PipelinesArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        let kind = &PIPELINES;
        match self.command {
            PipelinesCommand::List(list) => list.run(kind, &session).await,
            PipelinesCommand::Get(get) => get.run(kind, &session).await,
            PipelinesCommand::Create { name, fields } => {
                let mut body = fields.body()?;
                body.set("name", name);
                body.require("name", "NAME")?;
                body.require("transformer", "--file")?;
                let created = kind.create(&session, None, &body.into_value()).await?;
                show(kind, &session, &created)
            }
            PipelinesCommand::Update { target, fields } => {
                let id = kind.id(&session, &target).await?;
                let updated = kind
                    .update(&session, None, &id, &fields.body()?.into_value())
                    .await?;
                show(kind, &session, &updated)
            }
            PipelinesCommand::Delete(delete) => delete.run(kind, &session).await,
            PipelinesCommand::Validate { file, data } => {
                validate(&session, &file, data.as_deref()).await
            }
        }
    }
}
