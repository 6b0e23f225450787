//! `sifr eval`: evaluate one formula, or run a conformance corpus of formulas.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use sifr_calc::corpus::{self, Context};
use sifr_calc::{InputType, Value};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  sifr eval '1 + 2 * 3'
  sifr eval ':kwh * 0.233' --param kwh=1200
  sifr eval \"impact('natural gas','co2e','co2') * :therms\" --param therms=10 --context stubs.json
  sifr eval --vectors calculator-vectors.json --report report.json")]
pub struct EvalArgs {
    /// The formula to evaluate.
    #[arg(required_unless_present = "vectors", conflicts_with = "vectors")]
    formula: Option<String>,

    /// A parameter value, NAME=VALUE. The value is read as a number when it is one, as a
    /// boolean when it is `true` or `false`, as null when empty, and as text otherwise.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,

    /// A parameter value that is always text, NAME=VALUE.
    #[arg(long = "string", value_name = "NAME=VALUE")]
    strings: Vec<String>,

    /// A JSON file with the resources the formula reads (impacts, datasets, calculations,
    /// groups, refs, groupContextId), in the format of a corpus vector's `context`.
    #[arg(long, value_name = "FILE")]
    context: Option<PathBuf>,

    /// Print the result, its type and its audit as JSON.
    #[arg(long)]
    json: bool,

    /// Run every vector of a conformance corpus file and report the failures.
    #[arg(long, value_name = "FILE")]
    vectors: Option<PathBuf>,

    /// With --vectors: write each vector's outcome (id, passed, actual, error) to this file.
    #[arg(long, value_name = "FILE", requires = "vectors")]
    report: Option<PathBuf>,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    match (&args.vectors, &args.formula) {
        (Some(path), _) => run_vectors(path, args.report.as_deref()),
        (None, Some(formula)) => evaluate(formula, &args),
        (None, None) => bail!("give a formula to evaluate, or --vectors FILE"),
    }
}

fn evaluate(formula: &str, args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let mut params = Vec::new();
    for param in &args.params {
        let (name, text) = split_param(param)?;
        params.push((name.to_owned(), infer(text)));
    }
    for param in &args.strings {
        let (name, text) = split_param(param)?;
        params.push((name.to_owned(), Value::str(text)));
    }
    let context: Context = match &args.context {
        Some(path) => {
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid context", path.display()))?
        }
        None => Context::default(),
    };
    let result = corpus::evaluate(formula, &params, &context);
    if let Ok(evaluation) = &result {
        for warning in &evaluation.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let mut out = std::io::stdout().lock();
    match (result, args.json) {
        (Ok(evaluation), true) => {
            let json = serde_json::json!({
                "result": evaluation.value.text(),
                "type": evaluation.value.kind().name(),
                "groupId": evaluation.assigns_group,
                "audit": evaluation.audit,
                "warnings": evaluation.warnings,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
            Ok(ExitCode::SUCCESS)
        }
        (Ok(evaluation), false) => {
            writeln!(out, "{}", display(&evaluation.value))?;
            Ok(ExitCode::SUCCESS)
        }
        (Err(error), true) => {
            writeln!(out, "{}", serde_json::json!({ "error": error }))?;
            Ok(ExitCode::FAILURE)
        }
        (Err(error), false) => {
            eprintln!("error: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The result as a person reads it: the canonical text, with null shown as such.
fn display(value: &Value) -> String {
    match value {
        Value::Absent => "null (the null literal)".to_owned(),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

fn split_param(param: &str) -> anyhow::Result<(&str, &str)> {
    param
        .split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .with_context(|| format!("parameter '{param}' is not NAME=VALUE"))
}

fn infer(text: &str) -> Value {
    match text {
        "true" | "false" => Value::Bool(text == "true"),
        _ => Value::from_input(Some(text), InputType::Number).unwrap_or_else(|_| Value::str(text)),
    }
}

fn run_vectors(
    path: &std::path::Path,
    report: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let vectors = corpus::parse(&text)
        .with_context(|| format!("{} is not a corpus of vectors", path.display()))?;
    let outcomes = corpus::run(&vectors);
    let mut out = std::io::stdout().lock();
    for outcome in outcomes.iter().filter(|o| !o.passed && !o.quirk) {
        writeln!(
            out,
            "FAIL {}: {}",
            outcome.id,
            outcome.mismatch.as_deref().unwrap_or("")
        )?;
    }
    let quirks: Vec<_> = outcomes.iter().filter(|o| o.quirk).collect();
    let quirks_differing = quirks.iter().filter(|o| !o.passed).count();
    writeln!(
        out,
        "quirks: {} reproduced, {quirks_differing} differ by design (see docs/compatibility.md)",
        quirks.len() - quirks_differing
    )?;
    let passed = outcomes.iter().filter(|o| !o.quirk && o.passed).count();
    let failed = outcomes.iter().filter(|o| !o.quirk && !o.passed).count();
    writeln!(out, "{passed} passed, {failed} failed")?;
    if let Some(report) = report {
        let json = serde_json::to_string_pretty(&outcomes)?;
        fs::write(report, json).with_context(|| format!("cannot write {}", report.display()))?;
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
