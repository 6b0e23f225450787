//! `sifr run`: run a pipeline over a CSV file with no server and no database, writing
//! activities, aggregates, metrics, errors and audits as files.

use std::fs::File;
use std::io::{BufRead as _, BufReader, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sifr_engine::{
    CsvInput, CsvOptions, DEFAULT_CHUNK_ROWS, ExecutionOptions, FileResources, FileSink, Outcome,
    PipelineDefinition, PipelineType, Plan, Progress, execute,
};

/// Exit code when the run completed but some rows or outputs had errors.
const ROWS_FAILED: u8 = 2;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  sifr run --pipeline pipeline.json --input bills.csv --out results/
  sifr run --pipeline p.json --input data.csv --resources resources/ --out out/ --group /acme --audit

Writes into --out: activities.csv (or result.csv for data and impacts pipelines), aggregates.csv,
metrics.csv, errors.txt, summary.json and, with --audit, audits.jsonl.zst. The exit code is 0
when every row succeeded, 2 when some rows or outputs failed (see errors.txt), 1 when the run
could not complete. docs/run.md describes the files and the resources folder.")]
pub struct RunArgs {
    /// The pipeline definition (SIF's pipeline JSON).
    #[arg(long, value_name = "FILE")]
    pipeline: PathBuf,

    /// The input rows: CSV with a header row naming the parameters' columns.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,

    /// A folder of reference datasets, impacts, calculations and metric definitions.
    #[arg(long, value_name = "DIR")]
    resources: Option<PathBuf>,

    /// Where to write the results (created if needed; existing files are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,

    /// The group the execution runs in: the group of every row not placed by ASSIGN_TO_GROUP.
    #[arg(long, default_value = "/", value_name = "GROUP")]
    group: String,

    /// Write an audit record per stored row to audits.jsonl.zst.
    #[arg(long)]
    audit: bool,

    /// Evaluation threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// Rows per chunk of work.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHUNK_ROWS, hide = true)]
    chunk_rows: usize,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.pipeline)
        .with_context(|| format!("cannot read the pipeline {}", args.pipeline.display()))?;
    let definition = PipelineDefinition::from_json(&text)
        .with_context(|| format!("{} is not a pipeline definition", args.pipeline.display()))?;
    if definition.kind == PipelineType::ReferenceDatasets {
        bail!(
            "{}: a referenceDatasets pipeline creates a reference dataset from its input file; sifr run does not create resources (put the file in the resources folder's datasets/ instead)",
            args.pipeline.display()
        );
    }
    let resources = match &args.resources {
        Some(dir) => FileResources::open(dir)?,
        None => FileResources::empty(),
    };
    let plan = Plan::new(definition, resources.metrics())
        .with_context(|| format!("{}", args.pipeline.display()))?;
    for warning in plan.warnings() {
        eprintln!("warning: {warning}");
    }
    let group = args.group.trim().to_lowercase();
    if !group.starts_with('/') {
        bail!(
            "--group {}: a group id starts with '/' (e.g. /acme)",
            args.group
        );
    }

    let pipeline_id = plan.definition().id.clone().unwrap_or_else(|| {
        args.pipeline.file_stem().map_or_else(
            || "pipeline".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        )
    });
    let execution_id = sifr_domain::ResourceId::generate().as_str().to_owned();
    let mut options = ExecutionOptions::new(&pipeline_id, &execution_id, &group);
    options.audit = args.audit;
    options.chunk_rows = args.chunk_rows;
    if let Some(threads) = args.threads {
        options.threads = threads;
    }

    let file = File::open(&args.input)
        .with_context(|| format!("cannot open the input {}", args.input.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let csv = CsvOptions::from_connector(plan.definition().connector_config.as_ref())?;
    let input = CsvInput::new(file, &plan.definition().transformer.parameters, &csv)
        .with_context(|| format!("{}", args.input.display()))?;
    let mut sink = FileSink::create(&args.out, &plan, args.audit)
        .with_context(|| format!("cannot write into {}", args.out.display()))?;

    let progress = Bar::new(size);
    let outcome = execute(
        &plan,
        input,
        Arc::new(resources),
        &options,
        &mut sink,
        &progress,
    )
    .with_context(|| format!("{}", args.input.display()))?;
    progress.0.finish_and_clear();

    print_summary(&plan, &pipeline_id, &execution_id, &outcome, &args.out);
    if outcome.succeeded() {
        Ok(ExitCode::SUCCESS)
    } else {
        print_first_errors(&args.out.join("errors.txt"));
        Ok(ExitCode::from(ROWS_FAILED))
    }
}

/// A progress bar over the input's bytes, drawn only on a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new(bytes: u64) -> Self {
        if !std::io::stderr().is_terminal() {
            return Bar(ProgressBar::hidden());
        }
        let bar = ProgressBar::new(bytes);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}, {eta} left")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar(bar)
    }
}

impl Progress for Bar {
    fn advance(&self, rows: u64, bytes: u64) {
        self.0.set_position(bytes);
        self.0.set_message(format!("{} rows", grouped(rows)));
    }
}

fn print_summary(
    plan: &Plan,
    pipeline_id: &str,
    execution_id: &str,
    outcome: &Outcome,
    out: &Path,
) {
    let seconds = outcome.elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        outcome.rows_read as f64 / seconds
    } else {
        0.0
    };
    let name = plan.definition().name.as_deref().unwrap_or(pipeline_id);
    println!("pipeline     {name} ({pipeline_id}), execution {execution_id}");
    println!("rows read    {}", grouped(outcome.rows_read));
    println!("rows stored  {}", grouped(outcome.rows_stored));
    if outcome.rows_skipped > 0 {
        println!("rows skipped {}", grouped(outcome.rows_skipped));
    }
    println!(
        "errors       {} ({} rows failed, {} cell errors)",
        grouped(outcome.errors()),
        grouped(outcome.rows_failed),
        grouped(outcome.cell_errors)
    );
    println!("aggregates   {}", grouped(outcome.aggregates.len() as u64));
    println!("metrics      {}", grouped(outcome.metrics.len() as u64));
    println!(
        "time         {seconds:.2} s ({} rows/s)",
        grouped(rate as u64)
    );
    println!("output       {}", out.display());
    if outcome.succeeded() {
        println!("status       success");
    } else {
        println!(
            "status       failed: {} rows failed, {} cell errors; see {}",
            grouped(outcome.rows_failed),
            grouped(outcome.cell_errors),
            out.join("errors.txt").display()
        );
    }
}

fn print_first_errors(path: &Path) {
    const SHOWN: usize = 5;
    let Ok(file) = File::open(path) else { return };
    for line in BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .take(SHOWN)
    {
        eprintln!("error: {line}");
    }
}

/// `1234567` → `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
