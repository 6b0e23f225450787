//! `sifr metrics`: metric (KPI) definitions that pipeline outputs and other metrics feed, and
//! `sifr metrics values`, what they add up to per group and period.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::Value;

use super::output::{Format, cell, emit};
use super::resource::{DeleteCommand, GetCommand, ListCommand, METRICS, show};
use super::{Body, Command, Connection, Session, Settings};

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
    /// Show a metric's values per period in the group in context: the group's own, its
    /// sub-groups' and the sum of both.
    Values(ValuesArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimeUnit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl TimeUnit {
    fn name(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
        }
    }
}

#[derive(Args, Debug)]
struct ValuesArgs {
    /// The metric's name.
    name: String,
    /// The period values are summed over; weeks start on Monday.
    #[arg(long, value_enum, default_value = "month")]
    unit: TimeUnit,
    /// Periods that start on or after this date (2024-01-01 or 1/1/2024) [default: today when
    /// --to is given, else 1970-01-01].
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Periods that start on or before this date [default: today].
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// The values of each immediate sub-group instead of the group's.
    #[arg(long)]
    members: bool,
}

/// The first period asked for when no range is given.
const EARLIEST: &str = "1970-01-01";

/// Values the server answers at most per request.
const VALUES_LIMIT: usize = 100;

/// The values of metric `name` in `group` (the group in context when `None`), per `unit`, of
/// the periods that start from `from` to `to` (a missing bound is today; none at all is 1970
/// to today); with `members`, those of each immediate sub-group.
pub async fn values(
    session: &Session,
    group: Option<&str>,
    name: &str,
    unit: TimeUnit,
    (from, to): (Option<&str>, Option<&str>),
    members: bool,
) -> anyhow::Result<Vec<Value>> {
    let mut call = session
        .client
        .call(Method::GET, &["pipelineProcessor", "metrics"])
        .query("name", name)
        .query("timeUnit", unit.name())
        .query("members", if members { "true" } else { "false" });
    // The server takes a missing bound as today, and needs at least one.
    match (from, to) {
        (None, None) => call = call.query("dateFrom", EARLIEST),
        (from, to) => {
            if let Some(from) = from {
                call = call.query("dateFrom", from);
            }
            if let Some(to) = to {
                call = call.query("dateTo", to);
            }
        }
    }
    if let Some(group) = group {
        call = call.group(group);
    }
    let answer = call.value().await?;
    match answer.get("metrics") {
        Some(Value::Array(values)) => Ok(values.clone()),
        _ => bail!("the server's answer has no 'metrics' list"),
    }
}

/// The first day of a value's period, `YYYY-MM-DD`.
pub fn period(value: &Value) -> String {
    value["date"]
        .as_str()
        .map(|date| date.chars().take(10).collect())
        .unwrap_or_default()
}

fn print_values(format: Format, values: &[Value]) -> anyhow::Result<()> {
    if format == Format::Json {
        return emit(&format!("{}\n", Value::Array(values.to_vec())));
    }
    let mut rows = vec![
        [
            "GROUP",
            "PERIOD",
            "GROUP VALUE",
            "SUB-GROUPS VALUE",
            "HIERARCHY VALUE",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for value in values {
        rows.push(vec![
            cell(value.get("groupId")),
            period(value),
            cell(value.get("groupValue")),
            cell(value.get("subGroupsValue")),
            cell(value.get("hierarchyValue")),
        ]);
    }
    format.grid(&rows)
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
            MetricsCommand::Values(args) => {
                let range = (args.from.as_deref(), args.to.as_deref());
                let values =
                    values(&session, None, &args.name, args.unit, range, args.members).await?;
                if values.len() == VALUES_LIMIT {
                    eprintln!(
                        "The server answers at most {VALUES_LIMIT} values: narrow the range with --from and --to to see the others."
                    );
                }
                print_values(session.format, &values)
            }
        }
    }
}
