//! `sifr execution`: runs of a pipeline. In job mode the CSV file goes to the upload URL the
//! server hands out and the command follows the execution until it is done, then prints what it
//! did to the rows and saves the error report; inline, the rows travel in the request and the
//! results come back in the answer. Also lists and shows a pipeline's executions.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::{Map, Value, json};
use sifr_domain::Timestamp;

use super::datasets::read_csv;
use super::output::{Format, cell, column, emit, emit_bytes};
use super::pipelines::sample_rows;
use super::resource::PIPELINES;
use super::{Body, Command, Connection, NOT_FOUND, Session, Settings, exit_code};

#[derive(Args, Debug)]
pub struct ExecutionArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ExecutionCommand,
}

#[derive(Subcommand, Debug)]
enum ExecutionCommand {
    /// Run a pipeline over a CSV file and wait for the result, or over rows given inline.
    Run(RunArgs),
    /// List a pipeline's executions, oldest first.
    List {
        /// The pipeline: its id, or its name in the group in context or a group above it.
        pipeline: String,
    },
    /// Show an execution: its status and what it did to the input's rows.
    Get {
        /// The pipeline: its id, or its name in the group in context or a group above it.
        pipeline: String,
        /// The execution's id.
        id: String,
    },
    /// Write an execution's error report to a file or standard output.
    Errors {
        /// The pipeline: its id, or its name in the group in context or a group above it.
        pipeline: String,
        /// The execution's id.
        id: String,
        /// Where to write it [default: standard output].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// The pipeline: its id, or its name in the group in context or a group above it.
    pipeline: String,
    /// The input: a CSV file whose header row names the pipeline's parameters.
    #[arg(required_unless_present = "inline", conflicts_with = "inline")]
    file: Option<PathBuf>,
    /// Run over rows given with --row or --rows instead (at most 100); the results come back at
    /// once and are stored only when every row succeeds.
    #[arg(long)]
    inline: bool,
    /// One inline row as comma-separated key=value pairs, quoted as in CSV when a value holds a
    /// comma (repeatable).
    #[arg(long = "row", value_name = "KEY=VALUE,...", requires = "inline")]
    row: Vec<String>,
    /// Inline rows from a file: a JSON or YAML list of objects, or a CSV file.
    #[arg(long = "rows", value_name = "FILE", requires = "inline")]
    rows_file: Option<PathBuf>,
    /// Delete the activities of the input's rows instead of creating them.
    #[arg(long)]
    delete: bool,
    /// A tag of the execution, key=value (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
    /// Return once the file is uploaded, without waiting for the result.
    #[arg(long, conflicts_with = "inline")]
    no_wait: bool,
    /// Where to save the error report [default: <execution id>-errors.txt].
    #[arg(long, value_name = "FILE", conflicts_with = "inline")]
    errors: Option<PathBuf>,
}

/// Lines of the error report shown after a run.
const SHOWN_ERRORS: usize = 10;

/// The path of pipeline `pipeline`'s executions, followed by `rest`.
fn segments<'a>(pipeline: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut segments = vec!["pipelineProcessor", "pipelines", pipeline, "executions"];
    segments.extend_from_slice(rest);
    segments
}

/// The body of a new execution: `actionType`, `tags`.
pub fn new_execution(delete: bool, tags: &[String]) -> anyhow::Result<Body> {
    let mut body = Body(Map::new());
    body.set("actionType", Some(if delete { "delete" } else { "create" }));
    body.tags(tags)?;
    Ok(body)
}

fn bar(bytes: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(bytes);
    bar.set_style(
        ProgressStyle::with_template("uploading {bar:30} {bytes}/{total_bytes}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Creates a job execution of `pipeline` (an id) and uploads `data` as its input; answers the
/// execution as created.
pub async fn start(
    session: &Session,
    pipeline: &str,
    body: Body,
    data: Vec<u8>,
) -> anyhow::Result<Value> {
    let created = session
        .client
        .call(Method::POST, &segments(pipeline, &[]))
        .json(&body.into_value())
        .value()
        .await?;
    let url = created["inputUploadUrl"]
        .as_str()
        .context("the server handed out no upload URL")?;
    let progress = bar(data.len() as u64);
    let sent = session
        .client
        .call_url(Method::PUT, url)?
        .csv(data)
        .progress(progress.clone())
        .send()
        .await;
    progress.finish_and_clear();
    sent.context("the upload of the input failed")?;
    Ok(created)
}

pub async fn get(session: &Session, pipeline: &str, id: &str) -> anyhow::Result<Value> {
    Ok(session
        .client
        .call(Method::GET, &segments(pipeline, &[id]))
        .value()
        .await?)
}

/// Whether an execution is done (`success` or `failed`).
pub fn finished(execution: &Value) -> bool {
    matches!(execution["status"].as_str(), Some("success" | "failed"))
}

fn spinner() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// Follows execution `id` until it is done; answers it then.
pub async fn wait(session: &Session, pipeline: &str, id: &str) -> anyhow::Result<Value> {
    let spinner = spinner();
    // Short executions finish within a few polls; long ones are asked about once a second.
    let mut pause = Duration::from_millis(50);
    let result = loop {
        let execution = match get(session, pipeline, id).await {
            Ok(execution) => execution,
            Err(e) => break Err(e),
        };
        if finished(&execution) {
            break Ok(execution);
        }
        spinner.set_message(
            execution["status"]
                .as_str()
                .unwrap_or("waiting")
                .replace('_', " "),
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    };
    spinner.finish_and_clear();
    result
}

/// The error report of execution `id`; `None` when it has none.
pub async fn error_report(
    session: &Session,
    pipeline: &str,
    id: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    let link = session
        .client
        .call(Method::POST, &segments(pipeline, &[id, "errorDownloadUrl"]))
        .json(&json!({}))
        .value()
        .await;
    let link = match link {
        Ok(link) => link,
        Err(e) => {
            let e = anyhow::Error::from(e);
            return if exit_code(&e) == NOT_FOUND {
                Ok(None)
            } else {
                Err(e)
            };
        }
    };
    let url = link["url"]
        .as_str()
        .context("the server's answer has no error report URL")?;
    let report = session.client.call_url(Method::GET, url)?.send().await?;
    Ok(Some(report.body))
}

/// Every execution of `pipeline`, oldest first.
pub async fn list(session: &Session, pipeline: &str) -> anyhow::Result<Vec<Value>> {
    let mut executions = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut call = session
            .client
            .call(Method::GET, &segments(pipeline, &[]))
            .query("count", "100");
        if let Some(token) = &token {
            call = call.query("fromToken", token);
        }
        let page = call.value().await?;
        let Some(list) = page["executions"].as_array() else {
            bail!("the server's answer has no 'executions' list");
        };
        executions.extend(list.iter().cloned());
        token = page
            .pointer("/pagination/lastEvaluatedToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if token.is_none() {
            return Ok(executions);
        }
    }
}

/// Time from an execution's creation to its last change, once it is done.
fn duration(execution: &Value) -> Option<String> {
    if !finished(execution) {
        return None;
    }
    let at = |field: &str| {
        Timestamp::parse(execution[field].as_str()?)
            .ok()
            .map(Timestamp::as_millis)
    };
    let millis = at("updatedAt")?.checked_sub(at("createdAt")?)?;
    let seconds = millis as f64 / 1000.0;
    Some(if seconds < 60.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{} min {} s", millis / 60_000, millis % 60_000 / 1000)
    })
}

/// An execution for people: status and message, what it did to the rows, how long it took.
fn summary_rows(execution: &Value) -> Vec<Vec<String>> {
    let text = |field: &str| cell(execution.get(field));
    let mut status = text("status").replace('_', " ");
    if let Some(message) = execution["statusMessage"].as_str() {
        status = format!("{status}: {message}");
    }
    let mut rows = vec![
        vec!["execution:".to_owned(), text("id")],
        vec![
            "pipeline:".to_owned(),
            format!(
                "{}, version {}",
                text("pipelineId"),
                text("pipelineVersion")
            ),
        ],
        vec!["action:".to_owned(), text("actionType")],
        vec!["status:".to_owned(), status],
    ];
    if let Some(counts) = execution.get("rows") {
        for (label, field) in [
            ("rows read:", "rowsRead"),
            ("rows stored:", "rowsStored"),
            ("rows failed:", "rowsFailed"),
            ("cell errors:", "cellErrors"),
        ] {
            rows.push(vec![label.to_owned(), cell(counts.get(field))]);
        }
    }
    if let Some(duration) = duration(execution) {
        rows.push(vec!["duration:".to_owned(), duration]);
    }
    rows
}

/// Whether an execution left errors to report: it failed, or rows or cells failed.
fn has_errors(execution: &Value) -> bool {
    let count = |field: &str| execution["rows"][field].as_u64().unwrap_or(0);
    execution["status"] == "failed" || count("rowsFailed") > 0 || count("cellErrors") > 0
}

/// Prints an execution: its JSON, one CSV row, or the summary.
fn show(format: Format, execution: &Value) -> anyhow::Result<()> {
    match format {
        Format::Table => format.grid(&summary_rows(execution)),
        _ => format.one(execution, EXECUTION_COLUMNS),
    }
}

const EXECUTION_COLUMNS: &[super::output::Column] = &[
    column("ID", "id"),
    column("STATUS", "status"),
    column("ACTION", "actionType"),
    column("PIPELINE VERSION", "pipelineVersion"),
    column("CREATED", "createdAt"),
    column("ROWS", "rows"),
    column("MESSAGE", "statusMessage"),
];

/// Saves the error report of a finished execution to `path` and shows its first lines: on
/// standard output for people, on standard error when the output is for machines.
async fn save_errors(
    session: &Session,
    pipeline: &str,
    execution: &Value,
    path: Option<&Path>,
) -> anyhow::Result<()> {
    let id = execution["id"].as_str().unwrap_or_default();
    let Some(report) = error_report(session, pipeline, id).await? else {
        return Ok(());
    };
    let path = path.map_or_else(|| PathBuf::from(format!("{id}-errors.txt")), Path::to_owned);
    std::fs::write(&path, &report)
        .with_context(|| format!("cannot write the error report to {}", path.display()))?;
    let text = String::from_utf8_lossy(&report);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = format!(
        "errors: {} line(s), saved to {}{}\n",
        lines.len(),
        path.display(),
        if lines.len() > SHOWN_ERRORS {
            format!("; the first {SHOWN_ERRORS}:")
        } else {
            ":".to_owned()
        }
    );
    for line in lines.iter().take(SHOWN_ERRORS) {
        out.push_str(&format!("  {line}\n"));
    }
    if session.format == Format::Table {
        emit(&out)
    } else {
        eprint!("{out}");
        Ok(())
    }
}

/// Fails when the execution failed, with the server's reason.
fn outcome(execution: &Value) -> anyhow::Result<()> {
    if execution["status"] == "failed" {
        bail!(
            "execution {} failed: {}",
            execution["id"].as_str().unwrap_or_default(),
            execution["statusMessage"]
                .as_str()
                .unwrap_or("the server gave no reason")
        );
    }
    Ok(())
}

/// One `--row`: comma-separated `key=value` pairs, read as a CSV record.
fn inline_row(spec: &str) -> anyhow::Result<Value> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(spec.as_bytes());
    let record = reader
        .records()
        .next()
        .transpose()
        .with_context(|| format!("--row {spec}"))?
        .with_context(|| format!("--row {spec}: expected key=value pairs"))?;
    let mut row = Map::new();
    for pair in &record {
        let (key, value) = pair
            .split_once('=')
            .filter(|(key, _)| !key.trim().is_empty())
            .with_context(|| format!("--row {spec}: '{pair}' is not key=value"))?;
        row.insert(key.trim().to_owned(), Value::String(value.to_owned()));
    }
    Ok(Value::Object(row))
}

/// Prints inline outputs as rows with a column per output; errors go to standard error.
fn print_inline(format: Format, answer: &Value) -> anyhow::Result<()> {
    if format == Format::Json {
        emit(&format!("{answer}\n"))?;
    }
    let results = &answer["inlineExecutionOutputs"];
    let errors: Vec<&str> = results["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !errors.is_empty() {
        for error in &errors {
            eprintln!("{error}");
        }
        bail!(
            "the inline execution failed: {} error(s); nothing was stored",
            errors.len()
        );
    }
    if format == Format::Json {
        return Ok(());
    }
    let outputs = results["outputs"].as_array().cloned().unwrap_or_default();
    let mut headers: Vec<String> = Vec::new();
    for output in &outputs {
        for key in output.as_object().into_iter().flat_map(Map::keys) {
            if !headers.contains(key) {
                headers.push(key.clone());
            }
        }
    }
    let mut rows = vec![headers.clone()];
    for output in &outputs {
        rows.push(headers.iter().map(|h| cell(output.get(h))).collect());
    }
    format.grid(&rows)
}

impl RunArgs {
    /// The rows of an inline execution, from --row and --rows.
    fn inline_rows(&self) -> anyhow::Result<Vec<Value>> {
        let mut inputs = self
            .row
            .iter()
            .map(|spec| inline_row(spec))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(path) = &self.rows_file {
            inputs.extend(sample_rows(path)?);
        }
        if inputs.is_empty() {
            bail!("an inline execution needs rows: give --row or --rows");
        }
        Ok(inputs)
    }

    async fn inline(
        &self,
        session: &Session,
        pipeline: &str,
        inputs: Vec<Value>,
    ) -> anyhow::Result<()> {
        let mut body = new_execution(self.delete, &self.tags)?;
        body.set("mode", Some("inline"));
        body.set("inlineExecutionOptions", Some(json!({"inputs": inputs})));
        let answer = session
            .client
            .call(Method::POST, &segments(pipeline, &[]))
            .json(&body.into_value())
            .value()
            .await?;
        print_inline(session.format, &answer)
    }

    async fn job(&self, session: &Session, pipeline: &str, file: &Path) -> anyhow::Result<()> {
        let data = read_csv(file)?;
        let body = new_execution(self.delete, &self.tags)?;
        let created = start(session, pipeline, body, data).await?;
        let id = created["id"]
            .as_str()
            .context("the execution has no id")?
            .to_owned();
        let execution = if self.no_wait {
            get(session, pipeline, &id).await?
        } else {
            wait(session, pipeline, &id).await?
        };
        show(session.format, &execution)?;
        if self.no_wait {
            return session.format.note(&format!(
                "Follow it with: sifr execution get {} {id}",
                self.pipeline
            ));
        }
        if has_errors(&execution) {
            save_errors(session, pipeline, &execution, self.errors.as_deref()).await?;
        }
        outcome(&execution)
    }
}

impl Command for ExecutionArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        match self.command {
            ExecutionCommand::Run(run) => match &run.file {
                Some(file) => {
                    let pipeline = PIPELINES.inherited_id(&session, &run.pipeline).await?;
                    run.job(&session, &pipeline, file).await
                }
                None => {
                    // Inline rows are checked before anything is sent.
                    let inputs = run.inline_rows()?;
                    let pipeline = PIPELINES.inherited_id(&session, &run.pipeline).await?;
                    run.inline(&session, &pipeline, inputs).await
                }
            },
            ExecutionCommand::List { pipeline } => {
                let pipeline = PIPELINES.inherited_id(&session, &pipeline).await?;
                let executions = list(&session, &pipeline).await?;
                session.format.list(&executions, EXECUTION_COLUMNS)
            }
            ExecutionCommand::Get { pipeline, id } => {
                let pipeline = PIPELINES.inherited_id(&session, &pipeline).await?;
                show(session.format, &get(&session, &pipeline, &id).await?)
            }
            ExecutionCommand::Errors { pipeline, id, out } => {
                let pipeline = PIPELINES.inherited_id(&session, &pipeline).await?;
                let Some(report) = error_report(&session, &pipeline, &id).await? else {
                    return session
                        .format
                        .note(&format!("Execution {id} has no errors."));
                };
                match out {
                    Some(path) => std::fs::write(&path, report)
                        .with_context(|| format!("cannot write {}", path.display())),
                    None => emit_bytes(&report),
                }
            }
        }
    }
}
