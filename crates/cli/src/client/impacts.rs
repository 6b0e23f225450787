//! `sifr impacts`: activities (emission factors) with their impacts and components, and
//! `import`, which creates many at once through SIF's activity tasks.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::{Map, Number, Value, json};

use super::output::{Format, emit};
use super::resource::{ACTIVITIES, DeleteCommand, GetCommand, ListCommand, show};
use super::{Body, Command, Connection, Session, Settings, has_extension, kind_of, read_value};

#[derive(Args, Debug)]
pub struct ImpactsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ImpactsCommand,
}

#[derive(Subcommand, Debug)]
enum ImpactsCommand {
    /// List the activities of the group in context.
    List(ListCommand),
    /// Show an activity with its impacts.
    Get(GetCommand),
    /// Create an activity in the group in context.
    Create {
        /// The activity's name, e.g. usepa:stationary_combustion:natural_gas [default: the
        /// file's `name`].
        name: Option<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Write a new version of an activity; impacts and components given are merged in.
    Update {
        /// The id, or the name in the group in context.
        target: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete an activity and all its versions.
    Delete(DeleteCommand),
    /// Create many activities from a CSV (activity,impact,component,value[,type][,description])
    /// or a JSON/YAML list of activities, as background tasks.
    Import {
        file: PathBuf,
        /// Activities per task.
        #[arg(long, default_value_t = 1000, value_name = "N")]
        batch: usize,
    },
}

#[derive(Args, Debug)]
struct Fields {
    /// JSON or YAML file with the body (name, description, attributes, impacts, tags); the
    /// flags below override its fields.
    #[arg(long, short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    /// What it is, for people.
    #[arg(long)]
    description: Option<String>,
    /// An attribute, key=value (repeatable).
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    attributes: Vec<String>,
    /// A tag, key=value (repeatable; key= removes it on update).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
}

impl Fields {
    fn body(&self) -> anyhow::Result<Body> {
        let mut body = Body::from_file(self.file.as_deref())?;
        body.set("description", self.description.clone());
        if !self.attributes.is_empty() {
            let mut attributes = match body.0.remove("attributes") {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            for attribute in &self.attributes {
                let (key, value) = attribute
                    .split_once('=')
                    .filter(|(key, _)| !key.is_empty())
                    .with_context(|| format!("--attribute {attribute}: expected key=value"))?;
                attributes.insert(key.to_owned(), Value::String(value.to_owned()));
            }
            body.set("attributes", Some(attributes));
        }
        body.tags(&self.tags)?;
        Ok(body)
    }
}

/// The activities of an import file, as create requests.
fn read_activities(path: &Path) -> anyhow::Result<Vec<Value>> {
    if has_extension(path, &["csv"]) {
        return activities_from_csv(path);
    }
    let list = match read_value(path)? {
        Value::Object(mut map) if map.contains_key("activities") => {
            map.remove("activities").unwrap_or_default()
        }
        other => other,
    };
    let Value::Array(items) = list else {
        bail!(
            "{}: expected a list of activities (or {{\"activities\": [...]}}), found {}",
            path.display(),
            kind_of(&list)
        );
    };
    for (i, item) in items.iter().enumerate() {
        if item.get("name").and_then(Value::as_str).is_none() {
            bail!("{}: activity {} has no name", path.display(), i + 1);
        }
    }
    Ok(items)
}

/// One activity per distinct `activity` (ignoring case), one impact per distinct `impact`
/// within it, one component per row.
fn activities_from_csv(path: &Path) -> anyhow::Result<Vec<Value>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}", path.display()))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let required = |name: &str| {
        find(name).with_context(|| {
            format!(
                "{}: the header needs the columns activity,impact,component,value; '{name}' is missing",
                path.display()
            )
        })
    };
    let (a, i, c, v) = (
        required("activity")?,
        required("impact")?,
        required("component")?,
        required("value")?,
    );
    let (t, d) = (find("type"), find("description"));
    let mut activities: Vec<Value> = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{}", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let at = |k: usize| record.get(k).unwrap_or_default().trim();
        let (name, impact, component) = (at(a), at(i), at(c));
        if name.is_empty() || impact.is_empty() || component.is_empty() {
            bail!(
                "{} line {line}: activity, impact and component must not be empty",
                path.display()
            );
        }
        let value: Number = serde_json::from_str(at(v)).map_err(|_| {
            anyhow::anyhow!(
                "{} line {line}: value '{}' is not a number",
                path.display(),
                at(v)
            )
        })?;
        let kind = t.map(at).filter(|s| !s.is_empty()).unwrap_or("pollutant");
        let position = activities.iter().position(|x| {
            x["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        let activity = match position {
            Some(position) => &mut activities[position],
            None => {
                activities.push(json!({"name": name, "impacts": {}}));
                let last = activities.len() - 1;
                &mut activities[last]
            }
        };
        if let Some(description) = d.map(at).filter(|s| !s.is_empty()) {
            activity["description"] = json!(description);
        }
        let impacts = &mut activity["impacts"];
        let key = impact.to_lowercase();
        if impacts.get(&key).is_none() {
            impacts[&key] = json!({"name": impact, "components": {}});
        }
        impacts[&key]["components"][component.to_lowercase()] =
            json!({"key": component, "value": value, "type": kind});
    }
    if activities.is_empty() {
        bail!("{}: no activities", path.display());
    }
    Ok(activities)
}

/// Task bodies stay under the server's 6 MiB limit for activity tasks.
const MAX_TASK_BYTES: usize = 5 * 1024 * 1024;

/// Splits the activities into tasks of at most `batch` items and [`MAX_TASK_BYTES`].
fn tasks(activities: Vec<Value>, batch: usize) -> Vec<Vec<Value>> {
    let mut tasks: Vec<Vec<Value>> = Vec::new();
    let mut bytes = 0;
    for activity in activities {
        let size = activity.to_string().len() + 1;
        match tasks.last_mut() {
            Some(task) if task.len() < batch && bytes + size <= MAX_TASK_BYTES => {
                bytes += size;
                task.push(activity);
            }
            _ => {
                bytes = size;
                tasks.push(vec![activity]);
            }
        }
    }
    tasks
}

/// A progress bar over the activities, drawn only on a terminal.
fn progress(total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} activities, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn count(task: &Value, field: &str) -> usize {
    task[field]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
}

/// Runs one task to its end; answers its final state.
async fn run_task(
    session: &Session,
    items: Vec<Value>,
    bar: &ProgressBar,
    done_before: usize,
) -> anyhow::Result<Value> {
    let task = session
        .client
        .call(Method::POST, &["impacts", "activityTasks"])
        .json(&json!({"type": "create", "activities": items}))
        .value()
        .await
        .context("cannot start an import task")?;
    let id = task["id"]
        .as_str()
        .context("the server's task has no id")?
        .to_owned();
    loop {
        let task = session
            .client
            .call(Method::GET, &["impacts", "activityTasks", &id])
            .value()
            .await?;
        let done = count(&task, "itemsSucceeded") + count(&task, "itemsFailed");
        bar.set_position((done_before + done) as u64);
        if matches!(task["taskStatus"].as_str(), Some("success" | "failure")) {
            return Ok(task);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The items of a task that failed.
async fn failures(session: &Session, task: &str) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let mut call = session
            .client
            .call(
                Method::GET,
                &["impacts", "activityTasks", task, "taskItems"],
            )
            .query("status", "failure")
            .query("count", "100");
        if let Some(from) = &from {
            call = call.query("fromName", from);
        }
        let page = call.value().await?;
        items.extend(page["taskItems"].as_array().into_iter().flatten().cloned());
        from = page
            .pointer("/pagination/lastEvaluatedId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if from.is_none() {
            return Ok(items);
        }
    }
}

async fn import(session: &Session, file: &Path, batch: usize) -> anyhow::Result<()> {
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let activities = read_activities(file)?;
    let total = activities.len();
    let bar = progress(total);
    let (mut succeeded, mut failed) = (0, 0);
    let mut ids = Vec::new();
    let mut failed_items = Vec::new();
    for items in tasks(activities, batch) {
        let task = run_task(session, items, &bar, succeeded + failed).await?;
        let id = task["id"].as_str().unwrap_or_default().to_owned();
        succeeded += count(&task, "itemsSucceeded");
        let task_failed = count(&task, "itemsFailed");
        failed += task_failed;
        if task_failed > 0 {
            failed_items.extend(failures(session, &id).await?);
        }
        ids.push(id);
    }
    bar.finish_and_clear();
    for item in &failed_items {
        eprintln!(
            "activity '{}': {}",
            item["name"].as_str().unwrap_or_default(),
            item["statusMessage"].as_str().unwrap_or("failed")
        );
    }
    if session.format == Format::Json {
        emit(&format!(
            "{}\n",
            json!({
                "itemsTotal": total, "itemsSucceeded": succeeded, "itemsFailed": failed,
                "tasks": ids, "failures": failed_items,
            })
        ))?;
    } else {
        session.format.note(&format!(
            "Imported {} from {}: {succeeded} created, {failed} failed ({} task(s)).",
            plural(total, "activity", "activities"),
            file.display(),
            ids.len()
        ))?;
    }
    if failed > 0 {
        bail!("{failed} of {total} activities were not created");
    }
    Ok(())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Command for ImpactsArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        let kind = &ACTIVITIES;
        match self.command {
            ImpactsCommand::List(list) => list.run(kind, &session).await,
            ImpactsCommand::Get(get) => get.run(kind, &session).await,
            ImpactsCommand::Create { name, fields } => {
                let mut body = fields.body()?;
                body.set("name", name);
                body.require("name", "NAME")?;
                let created = kind.create(&session, None, &body.into_value()).await?;
                show(kind, &session, &created)
            }
            ImpactsCommand::Update { target, fields } => {
                let id = kind.id(&session, &target).await?;
                let updated = kind
                    .update(&session, None, &id, &fields.body()?.into_value())
                    .await?;
                show(kind, &session, &updated)
            }
            ImpactsCommand::Delete(delete) => delete.run(kind, &session).await,
            ImpactsCommand::Import { file, batch } => import(&session, &file, batch).await,
        }
    }
}
