//! `sifr eval`: one formula, and conformance corpora.

use std::path::PathBuf;
use std::process::{Command, Output};

fn sifr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sifr"))
        .args(args)
        .output()
        .expect("sifr runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../calc/tests/data/calculator-vectors.json")
}

#[test]
fn evaluates_a_formula_with_parameters() {
    let output = sifr(&[
        "eval",
        "IF(:therms > 0, :therms * 0.1 * 53.06, 0)",
        "--param",
        "therms=1250",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "6632.5\n");
}

#[test]
fn string_parameters_and_json_output_with_the_audit() {
    let output = sifr(&[
        "eval",
        "concat(:site, '-', 1/4)",
        "--string",
        "site=007",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(json["result"], "007-0.25");
    assert_eq!(json["type"], "string");
    assert_eq!(json["audit"]["evaluated"][":site"], "007");
    assert_eq!(
        json["audit"]["evaluated"]["concat(:site, '-', 1/4)"],
        "007-0.25"
    );
}

#[test]
fn resources_come_from_a_context_file() {
    let dir = std::env::temp_dir().join(format!("sifr-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let context = dir.join("context.json");
    std::fs::write(
        &context,
        r#"{"impacts":[{"activity":"natural gas","version":3,
             "impacts":{"co2e":{"co2":"53.06","ch4":"0.001"}}}],
           "datasets":[{"name":"fuels","version":1,"headers":["fuel","activity"],
             "rows":[["Natural Gas","natural gas"]]}]}"#,
    )
    .expect("context written");
    let output = sifr(&[
        "eval",
        "IMPACT(LOOKUP(:fuel,'fuels','fuel','activity'),'co2e','co2') * :mmbtu",
        "--string",
        "fuel=natural gas",
        "--param",
        "mmbtu=2.5",
        "--context",
        context.to_str().expect("utf-8 path"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "132.65\n");
}

#[test]
fn errors_exit_non_zero_with_the_position() {
    let output = sifr(&["eval", "1 + (2 * 3"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("Line 1:10 unexpected end of formula, expected ')'"),
        "{}",
        stderr(&output)
    );
    let output = sifr(&["eval", ":x * 2", "--string", "x=abc"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("Left side of ':x * 2'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn ignored_trailing_text_is_a_warning() {
    let output = sifr(&["eval", "1+2)*3"]);
    assert!(output.status.success());
    assert_eq!(stdout(&output), "3\n");
    assert!(
        stderr(&output).contains("warning: Line 1:3"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn runs_the_conformance_corpus_and_writes_a_report() {
    let report = std::env::temp_dir().join(format!("sifr-report-{}.json", std::process::id()));
    let output = sifr(&[
        "eval",
        "--vectors",
        corpus().to_str().expect("utf-8 path"),
        "--report",
        report.to_str().expect("utf-8 path"),
    ]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    let last = text.lines().last().unwrap_or_default();
    let (passed, failed) = last
        .split_once(" passed, ")
        .map(|(p, f)| {
            (
                p.parse::<usize>(),
                f.trim_end_matches(" failed").parse::<usize>(),
            )
        })
        .expect("the summary line ends the output");
    assert_eq!(failed, Ok(0), "{text}");
    assert!(passed.is_ok_and(|p| p > 290), "{text}");
    let outcomes: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report written"))
            .expect("report is JSON");
    assert_eq!(outcomes.len(), 349);
    assert!(
        outcomes
            .iter()
            .all(|o| o["id"].is_string() && o["passed"].is_boolean())
    );
    let _ = std::fs::remove_file(report);
}

#[test]
fn a_failing_vector_is_reported_and_fails_the_run() {
    let dir = std::env::temp_dir().join(format!("sifr-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let vectors = dir.join("vectors.json");
    std::fs::write(
        &vectors,
        r#"[{"id":"good","expression":"1+1","expected_error":null,"expected":2,
             "expected_type":"number","expected_string":"2"},
            {"id":"wrong","expression":"2/3","expected_error":null,"expected":1,
             "expected_type":"number","expected_string":"0.67"}]"#,
    )
    .expect("vectors written");
    let output = sifr(&["eval", "--vectors", vectors.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains(r#"FAIL wrong: expected "0.67", got "0.6666666667""#),
        "{text}"
    );
    assert!(text.ends_with("1 passed, 1 failed\n"), "{text}");
}
