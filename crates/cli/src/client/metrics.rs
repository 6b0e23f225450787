//! `sifr metrics`: metric (KPI) definitions that pipeline outputs and other metrics feed.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::resource::{DeleteCommand, GetCommand, ListCommand, METRICS, show};
use super::{Body, Command, Connection, Settings};

#[derive(Args, Debug)]
pub struct MetricsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: MetricsCommand,
}

#[derive(Subcommand, Debug)]
enum MetricsCommand {
    /// List the metrics of the group in context.
    List(ListCommand),
    /// Show a metric.
    Get(GetCommand),
    /// Create a metric in the group in context.
    Create {
        /// The name pipeline outputs refer to it by [default: the file's `name`].
        name: Option<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Write a new version of a metric.
    Update {
        /// The id, or the name in the group in context.
        target: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete a metric that nothing feeds.
    Delete(DeleteCommand),
}

#[derive(Args, Debug)]
struct Fields {
    /// JSON or YAML file with the body; the flags below override its fields.
    #[arg(long, short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    /// A one-line summary.
    #[arg(long)]
    summary: Option<String>,
    /// What it is, for people.
    #[arg(long)]
    description: Option<String>,
    /// How values roll up (only `sum` is supported) [default on create: sum].
    #[arg(long, value_name = "TYPE")]
    aggregation: Option<String>,
    /// A metric this one rolls up into (repeatable).
    #[arg(long = "output-metric", value_name = "NAME")]
    output_metrics: Vec<String>,
    /// A tag, key=value (repeatable; key= removes it on update).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
}

impl Fields {
    fn body(&self) -> anyhow::Result<Body> {
        let mut body = Body::from_file(self.file.as_deref())?;
        body.set("summary", self.summary.clone());
        body.set("description", self.description.clone());
        body.set("aggregationType", self.aggregation.clone());
        if !self.output_metrics.is_empty() {
            body.set("outputMetrics", Some(self.output_metrics.clone()));
        }
        body.tags(&self.tags)?;
        Ok(body)
    }
}

impl Command for MetricsArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        let kind = &METRICS;
        match self.command {
            MetricsCommand::List(list) => list.run(kind, &session).await,
            MetricsCommand::Get(get) => get.run(kind, &session).await,
            MetricsCommand::Create { name, fields } => {
                let mut body = fields.body()?;
                body.set("name", name);
                if !body.0.contains_key("aggregationType") {
                    body.set("aggregationType", Some("sum"));
                }
                body.require("name", "NAME")?;
                body.require("summary", "--summary")?;
                let created = kind.create(&session, None, &body.into_value()).await?;
                show(kind, &session, &created)
            }
            MetricsCommand::Update { target, fields } => {
                let id = kind.id(&session, &target).await?;
                let updated = kind
                    .update(&session, None, &id, &fields.body()?.into_value())
                    .await?;
                show(kind, &session, &updated)
            }
            MetricsCommand::Delete(delete) => delete.run(kind, &session).await,
        }
    }
}
