//! `sifr activities`: the activities a pipeline stored in the group in context (latest values,
//! one execution's versions, every version of one activity, or the pipeline's aggregates), and
//! `sifr activities audit`, the audit trail of one activity.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value};

use super::output::{Format, cell, emit};
use super::resource::PIPELINES;
use super::{Command, Connection, Session, Settings};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ActivitiesArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: Option<ActivitiesCommand>,
    #[command(flatten)]
    query: ListQuery,
}

#[derive(Subcommand, Debug)]
enum ActivitiesCommand {
    /// Show the audit trail of an activity: for each version, its input row and each formula
    /// with its result.
    Audit {
        /// The activity's id (`activityId` in listings).
        activity_id: String,
        /// Only the version current at this instant (ISO 8601).
        #[arg(long, value_name = "TIME")]
        as_at: Option<String>,
    },
}

#[derive(Args, Debug)]
struct ListQuery {
    /// The pipeline: its id, or its name in the group in context or a group above it.
    #[arg(required = true)]
    pipeline: Option<String>,
    /// Only the versions this execution wrote.
    #[arg(long, value_name = "ID")]
    execution: Option<String>,
    /// Activities from this date on (2024-01-31, 2024-01-31T12:00:00Z or 1/31/2024).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Activities up to this date.
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Activities of exactly this date (required with --history).
    #[arg(long, value_name = "DATE", conflicts_with_all = ["from", "to"])]
    date: Option<String>,
    /// Only activities whose unique-key output `key` is `value` (repeatable).
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    attrs: Vec<String>,
    /// Every version of the activity named by --date and --attr, oldest first.
    #[arg(long, requires = "date")]
    history: bool,
    /// The pipeline's aggregated activities instead of the activities themselves.
    #[arg(long, conflicts_with = "history")]
    aggregate: bool,
    /// At most this many activities.
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: u64,
    /// Every activity, page after page.
    #[arg(long, conflicts_with = "limit")]
    all: bool,
}

/// Activities asked for in one request when reading them all.
const PAGE: u64 = 1000;

/// Fields that identify an activity version rather than hold its values: left out of tables.
const IDENTITY: [&str; 4] = ["pipelineId", "executionId", "auditId", "createdAt"];

/// `key=value` flags as the API's `key:value,key2:value2`.
fn attributes(pairs: &[String]) -> anyhow::Result<Option<String>> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let pairs = pairs
        .iter()
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .filter(|(key, _)| !key.is_empty())
                .with_context(|| format!("--attr {pair}: expected key=value"))?;
            if key.contains([',', ':']) || value.contains(',') {
                bail!("--attr {pair}: a key holds no ',' or ':', a value no ','");
            }
            Ok(format!("{key}:{value}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(pairs.join(",")))
}

/// A pagination token: SIF's are strings, the activity listing's numbers.
fn token(page: &Value) -> Option<String> {
    match page.pointer("/pagination/lastEvaluatedToken")? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

impl ListQuery {
    /// Reads the activities page after page, up to the limit; answers them and whether more
    /// were left.
    async fn fetch(&self, session: &Session, pipeline: &str) -> anyhow::Result<(Vec<Value>, bool)> {
        let attributes = attributes(&self.attrs)?;
        // One more than the limit tells whether more are left.
        let target = if self.all {
            u64::MAX
        } else {
            self.limit.saturating_add(1)
        };
        let mut activities = Vec::new();
        let mut from_token: Option<String> = None;
        loop {
            let wanted = (target - activities.len() as u64).min(PAGE);
            if wanted == 0 {
                break;
            }
            let mut call = session
                .client
                .call(Method::GET, &["pipelineProcessor", "activities"])
                .query("pipelineId", pipeline)
                .query("count", &wanted.to_string());
            let dates = [
                ("executionId", &self.execution),
                ("dateFrom", &self.from),
                ("dateTo", &self.to),
                ("date", &self.date),
            ];
            for (key, value) in dates {
                if let Some(value) = value {
                    call = call.query(key, value);
                }
            }
            if let Some(attributes) = &attributes {
                // A history names its activity by `uniqueKeyAttributes`, a listing filters by
                // `attributes`.
                let key = if self.history {
                    "uniqueKeyAttributes"
                } else {
                    "attributes"
                };
                call = call.query(key, attributes);
            }
            if self.history {
                call = call.query("showHistory", "true");
            }
            if self.aggregate {
                call = call.query("showAggregate", "true");
            }
            if let Some(from_token) = &from_token {
                call = call.query("fromToken", from_token);
            }
            let page = call.value().await?;
            let Some(list) = page["activities"].as_array() else {
                bail!("the server's answer has no 'activities' list");
            };
            activities.extend(list.iter().cloned());
            from_token = token(&page);
            if list.is_empty() || from_token.is_none() {
                break;
            }
        }
        let more = !self.all && activities.len() as u64 > self.limit;
        if more {
            activities.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
        }
        Ok((activities, more))
    }

    /// The columns to print: every field in order of appearance; a table leaves out the
    /// identity fields (but a history keeps when each version was made) and the error flags.
    fn columns(&self, format: Format, activities: &[Value]) -> Vec<String> {
        let mut columns: Vec<String> = Vec::new();
        for key in activities
            .iter()
            .filter_map(Value::as_object)
            .flat_map(Map::keys)
        {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
        if format == Format::Table {
            columns.retain(|key| {
                let kept_by_history =
                    self.history && matches!(key.as_str(), "createdAt" | "executionId");
                (kept_by_history || !IDENTITY.contains(&key.as_str())) && !key.contains("__error")
            });
        }
        columns
    }

    async fn run(&self, session: &Session) -> anyhow::Result<()> {
        let pipeline = self
            .pipeline
            .as_deref()
            .context("name the pipeline whose activities to list")?;
        let pipeline = PIPELINES.inherited_id(session, pipeline).await?;
        let (activities, more) = self.fetch(session, &pipeline).await?;
        if more {
            eprintln!(
                "Only the first {} activities are shown: give --all, or a larger --limit.",
                activities.len()
            );
        }
        let format = session.format;
        if format == Format::Json {
            return emit(&format!("{}\n", Value::Array(activities)));
        }
        let columns = self.columns(format, &activities);
        let mut rows = vec![columns.clone()];
        for activity in &activities {
            rows.push(columns.iter().map(|c| cell(activity.get(c))).collect());
        }
        format.grid(&rows)
    }
}

/// An audit trail for people: per version its status, input row and each output's formula and
/// result.
fn print_audits(versions: &[Value]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (number, version) in versions.iter().enumerate() {
        let status = version["status"].as_str().unwrap_or("unknown");
        let records = version["audits"].as_array().cloned().unwrap_or_default();
        let Some(record) = records.first() else {
            text.push_str(&format!(
                "version {}: {status}, no audit record\n",
                number + 1
            ));
            continue;
        };
        text.push_str(&format!(
            "version {}: {status} (execution {}, row {})\n",
            number + 1,
            cell(record.get("executionId")),
            cell(record.get("row"))
        ));
        let inputs: Vec<String> = record["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|input| {
                !input["name"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("___")
            })
            .map(|input| format!("{}={}", cell(input.get("name")), cell(input.get("value"))))
            .collect();
        text.push_str(&format!("  inputs: {}\n", inputs.join(", ")));
        for output in record["outputs"].as_array().into_iter().flatten() {
            let result = match output.get("errorMessage") {
                Some(message) => format!("error: {}", cell(Some(message))),
                None => cell(output.get("result")),
            };
            text.push_str(&format!(
                "  {} = {}  ->  {result}\n",
                cell(output.get("name")),
                cell(output.get("formula"))
            ));
        }
    }
    emit(&text)
}

impl Command for ActivitiesArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        match &self.command {
            None => self.query.run(&session).await,
            Some(ActivitiesCommand::Audit { activity_id, as_at }) => {
                let mut call = session.client.call(
                    Method::GET,
                    &["pipelineProcessor", "activities", activity_id, "audits"],
                );
                if let Some(as_at) = as_at {
                    call = call.query("versionAsAt", as_at);
                }
                let audits = call.value().await?;
                match session.format {
                    Format::Json => emit(&format!("{audits}\n")),
                    _ => print_audits(audits.as_array().map_or(&[], Vec::as_slice)),
                }
            }
        }
    }
}
