//! `sifr run`, as a process: files written, summary printed, exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn sifr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sifr"))
        .args(args)
        .output()
        .expect("the sifr binary runs")
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A small natural-gas pipeline: a monthly date, the row's group, emissions from a factor, a
/// monthly aggregate and a metric.
fn fixture(dir: &Path) {
    write(
        dir,
        "pipeline.json",
        r#"{
          "id": "gas",
          "name": "natural gas",
          "transformer": {
            "parameters": [
              {"key": "date", "type": "string"},
              {"key": "group", "type": "string"},
              {"key": "therms", "type": "number"}
            ],
            "transforms": [
              {"index": 0, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy',roundDownTo='month')",
               "outputs": [{"index": 0, "key": "month", "type": "timestamp", "aggregate": "groupBy"}]},
              {"index": 1, "formula": "ASSIGN_TO_GROUP(:group)",
               "outputs": [{"index": 0, "key": "group", "type": "string"}]},
              {"index": 2, "formula": ":therms*0.1*IMPACT('Natural Gas','ghg','co2e')",
               "outputs": [{"index": 0, "key": "co2e", "type": "number", "aggregate": "sum", "metrics": ["co2e"]}]}
            ]
          }
        }"#,
    );
    write(
        dir,
        "resources/impacts.csv",
        "activity,impact,component,value\nNatural Gas,ghg,co2e,53.1145\n",
    );
    write(dir, "resources/metrics.json", r#"[{"name": "co2e"}]"#);
}

#[test]
fn a_clean_run_writes_every_file_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fixture(d);
    write(
        d,
        "data.csv",
        "date,group,therms\n1/5/2022,/acme/a,100\n1/20/2022,/acme/b,10\n2/1/2022,/acme/a,1\n",
    );
    let out = d.join("out");
    let output = sifr(&[
        "run",
        "--pipeline",
        d.join("pipeline.json").to_str().unwrap(),
        "--input",
        d.join("data.csv").to_str().unwrap(),
        "--resources",
        d.join("resources").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--group",
        "/ACME",
        "--audit",
        "--threads",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("rows read    3\n"), "{stdout}");
    assert!(stdout.contains("rows stored  3\n"), "{stdout}");
    assert!(
        stdout.contains("errors       0 (0 rows failed, 0 cell errors)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("rows/s"), "{stdout}");
    assert!(stdout.contains("status       success"), "{stdout}");
    assert!(
        output.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );

    assert_eq!(
        read(&out, "activities.csv"),
        "row,groupId,date,group,co2e\n\
         1,/acme/a,2022-01-01T00:00:00Z,/acme/a,531.145\n\
         2,/acme/b,2022-01-01T00:00:00Z,/acme/b,53.1145\n\
         3,/acme/a,2022-02-01T00:00:00Z,/acme/a,5.31145\n"
    );
    assert_eq!(
        read(&out, "aggregates.csv"),
        "groupId,date,co2e\n/acme/a,2022-01-01,531.145\n/acme/a,2022-02-01,5.31145\n/acme/b,2022-01-01,53.1145\n"
    );
    let metrics = read(&out, "metrics.csv");
    assert!(
        metrics.contains("co2e,/acme,month,2022-01-01,0,584.2595,584.2595\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("co2e,/,year,2022-01-01,0,589.57095,589.57095\n"),
        "{metrics}"
    );
    assert_eq!(read(&out, "errors.txt"), "");
    let audits = std::fs::read(out.join("audits.jsonl.zst")).unwrap();
    assert_eq!(&audits[..4], &[0x28, 0xB5, 0x2F, 0xFD], "a zstd frame");
    let summary: serde_json::Value = serde_json::from_str(&read(&out, "summary.json")).unwrap();
    assert_eq!(summary["status"], "success");
    assert_eq!(summary["resources"][0]["name"], "Natural Gas");
}

#[test]
fn failed_rows_are_reported_and_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fixture(d);
    write(
        d,
        "data.csv",
        "date,group,therms\n1/5/2022,/acme/a,100\n1/6/2022,/acme/a,lots\n1/7/2022,/other,5\n",
    );
    let out = d.join("out");
    let output = sifr(&[
        "run",
        "--pipeline",
        d.join("pipeline.json").to_str().unwrap(),
        "--input",
        d.join("data.csv").to_str().unwrap(),
        "--resources",
        d.join("resources").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--group",
        "/acme",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("rows stored  1\n"), "{stdout}");
    assert!(
        stdout.contains("status       failed: 2 rows failed, 1 cell errors"),
        "{stdout}"
    );
    let errors = read(&out, "errors.txt");
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 3, "{errors}");
    assert_eq!(
        lines[0],
        "row 2 (line 3), column 'therms': Failed processing row {date=1/6/2022, group=/acme/a, therms=lots}, err: parameter 'therms' (number): 'lots' is not a number"
    );
    assert!(lines[1].starts_with("row 3 (line 4), column 'group': Row '1/7/2022-/other-5' column 'group' encountered error"), "{}", lines[1]);
    assert!(stderr.contains(&format!("error: {}", lines[0])), "{stderr}");
}

#[test]
fn bad_definitions_and_inputs_stop_with_a_message_and_exit_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fixture(d);
    let run = |pipeline: &str, input: &str| {
        sifr(&[
            "run",
            "--pipeline",
            d.join(pipeline).to_str().unwrap(),
            "--input",
            d.join(input).to_str().unwrap(),
            "--resources",
            d.join("resources").to_str().unwrap(),
            "--out",
            d.join("out").to_str().unwrap(),
        ])
    };
    write(d, "no-therms.csv", "date,group\n1/5/2022,/a\n");
    let output = run("pipeline.json", "no-therms.csv");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "the input has no column 'therms' (parameter 'therms'); its header has: date, group"
        ),
        "{stderr}"
    );

    let broken = read(d, "pipeline.json").replace(":therms*0.1*", ":therms*/0.1*");
    write(d, "broken.json", &broken);
    write(d, "data.csv", "date,group,therms\n1/5/2022,/a,1\n");
    let output = run("broken.json", "data.csv");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("transform 2 (output 'co2e'): Line 1:"),
        "{stderr}"
    );

    let output = run("missing.json", "data.csv");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read the pipeline"));
}
