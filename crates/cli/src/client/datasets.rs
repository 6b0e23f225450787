//! `sifr datasets`: reference datasets, the CSV tables LOOKUP reads. A dataset's file goes to
//! the upload URL the server hands out (so files beyond the request body limit work), then the
//! command waits until the server has read it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;

use super::output::emit_bytes;
use super::resource::{DATASETS, DeleteCommand, GetCommand, ListCommand, show};
use super::{Body, Command, Connection, Session, Settings};

#[derive(Args, Debug)]
pub struct DatasetsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: DatasetsCommand,
}

#[derive(Subcommand, Debug)]
enum DatasetsCommand {
    /// List the reference datasets of the group in context.
    List(ListCommand),
    /// Show a reference dataset.
    Get(GetCommand),
    /// Create a reference dataset in the group in context from a CSV file.
    Create {
        /// The name LOOKUP refers to it by [default: the file's `name`].
        name: Option<String>,
        /// The CSV file: a header row, then the data rows.
        #[arg(long, value_name = "FILE.csv")]
        data: PathBuf,
        #[command(flatten)]
        fields: Fields,
    },
    /// Write a new version of a reference dataset, with a new CSV file or new details.
    Update {
        /// The id, or the name in the group in context.
        target: String,
        /// A new CSV file.
        #[arg(long, value_name = "FILE.csv")]
        data: Option<PathBuf>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete a reference dataset and all its versions.
    Delete(DeleteCommand),
    /// Write a reference dataset's CSV to a file or standard output.
    Download {
        /// The id, or the name in the group in context.
        target: String,
        /// Where to write it [default: standard output].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// That version's file rather than the latest.
        #[arg(long)]
        version: Option<u32>,
    },
}

#[derive(Args, Debug)]
struct Fields {
    /// JSON or YAML file with the body (name, description, datasetHeaders, tags); the flags
    /// below override its fields.
    #[arg(long, short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    /// What it is, for people.
    #[arg(long)]
    description: Option<String>,
    /// The CSV's header names, in any order (repeatable) [default: the file's header row].
    #[arg(long = "header", value_name = "NAME")]
    headers: Vec<String>,
    /// A tag, key=value (repeatable; key= removes it on update).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
    /// Return once the file is uploaded, without waiting for the server to read it.
    #[arg(long)]
    no_wait: bool,
}

impl Fields {
    fn body(&self) -> anyhow::Result<Body> {
        let mut body = Body::from_file(self.file.as_deref())?;
        body.set("description", self.description.clone());
        if !self.headers.is_empty() {
            body.set("datasetHeaders", Some(self.headers.clone()));
        }
        body.tags(&self.tags)?;
        Ok(body)
    }
}

pub fn read_csv(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Puts `data` on the upload URL of a create or update answer.
async fn upload(session: &Session, answer: &Value, data: Vec<u8>) -> anyhow::Result<()> {
    let url = answer["uploadUrl"]
        .as_str()
        .context("the server handed out no upload URL")?;
    session
        .client
        .call_url(Method::PUT, url)?
        .csv(data)
        .send()
        .await
        .context("the upload of the CSV file failed")?;
    Ok(())
}

/// Creates a dataset in `group` (the group in context when `None`) whose file is `data`.
pub async fn create(
    session: &Session,
    group: Option<&str>,
    mut body: Body,
    data: Vec<u8>,
) -> anyhow::Result<Value> {
    body.set("datasetSource", Some("s3"));
    let created = DATASETS.create(session, group, &body.into_value()).await?;
    upload(session, &created, data).await?;
    Ok(created)
}

/// Writes a new version of dataset `id`, with a new file when `data` is given.
pub async fn update(
    session: &Session,
    group: Option<&str>,
    id: &str,
    mut body: Body,
    data: Option<Vec<u8>>,
) -> anyhow::Result<Value> {
    if data.is_some() {
        body.set("datasetSource", Some("s3"));
    }
    let updated = DATASETS
        .update(session, group, id, &body.into_value())
        .await?;
    if let Some(data) = data {
        upload(session, &updated, data).await?;
    }
    Ok(updated)
}

/// How long the server may take to read a file before the command gives up waiting.
const PROCESSING_LIMIT: Duration = Duration::from_secs(300);

/// Waits until the server has read the dataset's file; a file it refused is an error.
pub async fn wait(session: &Session, group: Option<&str>, id: &str) -> anyhow::Result<Value> {
    let started = Instant::now();
    loop {
        let mut call = session
            .client
            .call(Method::GET, &DATASETS.segments(id, &[]));
        if let Some(group) = group {
            call = call.group(group);
        }
        let dataset = call.value().await?;
        match dataset["status"].as_str() {
            Some("success") => return Ok(dataset),
            Some("failed") => bail!(
                "reference dataset '{}' was not accepted: {}",
                dataset["name"].as_str().unwrap_or(id),
                dataset["statusMessage"]
                    .as_str()
                    .unwrap_or("no reason given")
            ),
            _ if started.elapsed() > PROCESSING_LIMIT => bail!(
                "reference dataset '{id}' is still being processed after {} s",
                PROCESSING_LIMIT.as_secs()
            ),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The CSV of dataset `id` (of `version`, else the latest).
pub async fn download(
    session: &Session,
    group: Option<&str>,
    id: &str,
    version: Option<u32>,
) -> anyhow::Result<Vec<u8>> {
    let version = version.map(|v| v.to_string());
    let rest: Vec<&str> = match &version {
        Some(version) => vec!["versions", version, "data"],
        None => vec!["data"],
    };
    let mut call = session
        .client
        .call(Method::GET, &DATASETS.segments(id, &rest))
        .accept("text/csv");
    if let Some(group) = group {
        call = call.group(group);
    }
    Ok(call.send().await?.body)
}

impl Command for DatasetsArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        let kind = &DATASETS;
        match self.command {
            DatasetsCommand::List(list) => list.run(kind, &session).await,
            DatasetsCommand::Get(get) => get.run(kind, &session).await,
            DatasetsCommand::Create { name, data, fields } => {
                let mut body = fields.body()?;
                body.set("name", name);
                body.require("name", "NAME")?;
                let created = create(&session, None, body, read_csv(&data)?).await?;
                let id = created["id"].as_str().context("the dataset has no id")?;
                let dataset = if fields.no_wait {
                    kind.get(&session, id).await?
                } else {
                    wait(&session, None, id).await?
                };
                show(kind, &session, &dataset)
            }
            DatasetsCommand::Update {
                target,
                data,
                fields,
            } => {
                let id = kind.id(&session, &target).await?;
                let data = data.as_deref().map(read_csv).transpose()?;
                update(&session, None, &id, fields.body()?, data).await?;
                let dataset = if fields.no_wait {
                    kind.get(&session, &id).await?
                } else {
                    wait(&session, None, &id).await?
                };
                show(kind, &session, &dataset)
            }
            DatasetsCommand::Delete(delete) => delete.run(kind, &session).await,
            DatasetsCommand::Download {
                target,
                out,
                version,
            } => {
                let id = kind.id(&session, &target).await?;
                let data = download(&session, None, &id, version).await?;
                match out {
                    Some(path) => std::fs::write(&path, data)
                        .with_context(|| format!("cannot write {}", path.display())),
                    None => emit_bytes(&data),
                }
            }
        }
    }
}
