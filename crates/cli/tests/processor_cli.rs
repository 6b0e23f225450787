//! `sifr execution`, `sifr activities` and `sifr metrics values`, as processes against a live
//! server: a small metering pipeline set up with `sifr apply`, a CSV file with one bad row run
//! through it, and what it stored read back and checked against figures worked out here.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::client::{Run, Server};

/// kg CO2e per kWh, the pipeline's only factor.
const FACTOR: &str = "0.4";

fn manifest() -> String {
    let pipeline = json!({
        "kind": "Pipeline",
        "group": "/usa",
        "name": "meters",
        "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
        "transformer": {
            "parameters": [
                {"index": 0, "key": "date", "type": "string"},
                {"index": 1, "key": "site", "type": "string"},
                {"index": 2, "key": "meter", "type": "string"},
                {"index": 3, "key": "kwh", "type": "number"}
            ],
            "transforms": [
                {"index": 0, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy')",
                 "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": "ASSIGN_TO_GROUP(:site)",
                 "outputs": [{"index": 0, "key": "site", "type": "string"}]},
                {"index": 2, "formula": ":meter",
                 "outputs": [{"index": 0, "key": "meter", "type": "string", "includeAsUnique": true}]},
                {"index": 3, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy',roundDownTo='month')",
                 "outputs": [{"index": 0, "key": "month", "type": "timestamp", "aggregate": "groupBy"}]},
                {"index": 4, "formula": format!(":kwh*{FACTOR}"),
                 "outputs": [{"index": 0, "key": "co2e", "type": "number", "aggregate": "sum", "metrics": ["elec"]}]}
            ]
        }
    });
    let groups = ["/usa", "/usa/a", "/usa/b"]
        .map(|path| json!({"kind": "Group", "path": path}).to_string())
        .join(",");
    format!(
        "[{groups},{},{pipeline}]",
        json!({"kind": "Metric", "group": "/usa", "name": "elec", "summary": "kg CO2e of electricity", "aggregationType": "sum"})
    )
}

/// A meter reading: date (M/D/YYYY), group, meter, kWh.
type Reading = (&'static str, &'static str, &'static str, &'static str);

const READINGS: [Reading; 5] = [
    ("1/5/2024", "/usa/a", "m1", "100"),
    ("1/20/2024", "/usa/a", "m2", "50.5"),
    ("2/3/2024", "/usa/b", "m3", "20"),
    ("2/9/2024", "/usa", "m4", "10"),
    ("3/1/2024", "/usa/b", "m5", "lots"),
];

fn csv(readings: &[Reading]) -> String {
    let mut text = String::from("date,site,meter,kwh\n");
    for (date, site, meter, kwh) in readings {
        text.push_str(&format!("{date},{site},{meter},{kwh}\n"));
    }
    text
}

fn decimal(value: &Value) -> Decimal {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.parse::<Decimal>()
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .normalize()
}

fn co2e(kwh: &str) -> Decimal {
    (kwh.parse::<Decimal>().unwrap() * FACTOR.parse::<Decimal>().unwrap()).normalize()
}

/// Expected metric values per (group, month): (own value, value of the groups below).
fn expected(readings: &[Reading]) -> BTreeMap<(String, u32), (Decimal, Decimal)> {
    let mut out: BTreeMap<(String, u32), (Decimal, Decimal)> = BTreeMap::new();
    for (date, site, _, kwh) in readings {
        let Ok(kwh_value) = kwh.parse::<Decimal>() else {
            continue;
        };
        let month: u32 = date.split('/').next().unwrap().parse().unwrap();
        let value = kwh_value * FACTOR.parse::<Decimal>().unwrap();
        let mut group = (*site).to_owned();
        let mut own = true;
        while group.starts_with("/usa") {
            let entry = out.entry((group.clone(), month)).or_default();
            if own {
                entry.0 += value;
            } else {
                entry.1 += value;
            }
            own = false;
            group = group[..group.rfind('/').unwrap()].to_owned();
        }
    }
    out
}

/// Runs `sifr` in `dir` (for files it writes to the current folder) against `server`.
fn sifr_in(server: &Server, dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_sifr"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SIFR_URL", &server.url)
        .env("SIFR_CONFIG_DIR", server.config_dir())
        .output()
        .expect("the sifr binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A server with the metering pipeline applied, logged in as the root admin.
fn metering() -> Server {
    let server = Server::start();
    server.login();
    let manifest = server.write("org/metering.json", &manifest());
    server.sifr(&["apply", "-f", &manifest]).ok();
    server
}

const USA: [&str; 2] = ["--group", "/usa"];

fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    [args, extra].concat()
}

#[test]
fn a_job_with_a_bad_row_fails_and_saves_its_error_report() {
    let server = metering();
    let bills = server.write("readings.csv", &csv(&READINGS));
    let work = server.path("work");
    std::fs::create_dir_all(&work).unwrap();

    let run = sifr_in(
        &server,
        &work,
        &with(&["execution", "run", "meters", &bills, "-o", "json"], &USA),
    );
    let run = run.fails(1, "failed: error when performing calculation");
    let execution = run.json();
    assert_eq!(execution["status"], "failed");
    assert_eq!(
        execution["rows"],
        json!({"rowsRead": 5, "rowsStored": 4, "rowsFailed": 1, "cellErrors": 0})
    );
    let id = execution["id"].as_str().unwrap().to_owned();
    // The report lands in the current folder under the execution's id, and its first lines are
    // shown on standard error when the output is JSON.
    let report = std::fs::read_to_string(work.join(format!("{id}-errors.txt"))).unwrap();
    assert_eq!(report.lines().count(), 1, "{report}");
    assert!(
        report.contains("lots") && report.contains("kwh"),
        "{report}"
    );
    assert!(
        run.stderr.contains(&format!("saved to {id}-errors.txt")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("lots"), "{}", run.stderr);

    // The same, read again: listed, shown, its report downloaded.
    let listed = server
        .sifr(&with(&["execution", "list", "meters", "-o", "json"], &USA))
        .ok()
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["id"], id.as_str());
    let shown = server
        .sifr(&with(&["execution", "get", "meters", &id], &USA))
        .ok()
        .stdout;
    assert!(shown.contains("rows failed:  1"), "{shown}");
    assert!(shown.contains("status:       failed: error"), "{shown}");
    let again = server.path("again.txt");
    server
        .sifr(&with(
            &[
                "execution",
                "errors",
                "meters",
                &id,
                "--out",
                again.to_str().unwrap(),
            ],
            &USA,
        ))
        .ok();
    assert_eq!(std::fs::read_to_string(&again).unwrap(), report);

    // A table run of good rows succeeds, names where the report would go only when there is
    // one, and --errors chooses the file.
    let good = server.write("good.csv", &csv(&[("4/2/2024", "/usa/b", "m6", "7")]));
    let table = server
        .sifr(&with(&["execution", "run", "meters", &good], &USA))
        .ok()
        .stdout;
    assert!(table.contains("status:       success"), "{table}");
    assert!(table.contains("rows stored:  1"), "{table}");
    assert!(!table.contains("saved to"), "{table}");
    let chosen = server.path("chosen-errors.txt");
    let bad = server.write("bad.csv", &csv(&READINGS[4..]));
    let failed = server
        .sifr(&with(
            &[
                "execution",
                "run",
                "meters",
                &bad,
                "--errors",
                chosen.to_str().unwrap(),
            ],
            &USA,
        ))
        .fails(1, "failed");
    assert!(
        failed
            .stdout
            .contains(&format!("saved to {}", chosen.display())),
        "{}",
        failed.stdout
    );
    assert!(std::fs::read_to_string(&chosen).unwrap().contains("lots"));
}

#[test]
fn activities_and_metric_values_match_the_readings() {
    let server = metering();
    let bills = server.write("readings.csv", &csv(&READINGS));
    server
        .sifr(&with(
            &[
                "execution",
                "run",
                "meters",
                &bills,
                "--errors",
                "/dev/null",
            ],
            &USA,
        ))
        .fails(1, "failed");

    // Activities of one group, as JSON and CSV; a pipeline of a parent group is found by name.
    let a = ["--group", "/usa/a"];
    let listed = server
        .sifr(&with(&["activities", "meters", "-o", "json"], &a))
        .ok()
        .json();
    let listed = listed.as_array().unwrap();
    let by_meter: BTreeMap<&str, Decimal> = listed
        .iter()
        .map(|a| (a["meter"].as_str().unwrap(), decimal(&a["co2e"])))
        .collect();
    assert_eq!(
        by_meter,
        BTreeMap::from([("m1", co2e("100")), ("m2", co2e("50.5"))])
    );
    let text = server
        .sifr(&with(&["activities", "meters", "-o", "csv"], &a))
        .ok()
        .stdout;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    for column in ["activityId", "date", "executionId", "co2e", "meter"] {
        assert!(headers.iter().any(|h| h == column), "{column}: {text}");
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let co2e_column = headers.iter().position(|h| h == "co2e").unwrap();
    let total: Decimal = rows
        .iter()
        .map(|r| r[co2e_column].parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(total.normalize(), co2e("150.5"));

    // Filters: a unique key, a date range, a limit.
    let m2 = server
        .sifr(&with(
            &["activities", "meters", "--attr", "meter=m2", "-o", "json"],
            &a,
        ))
        .ok()
        .json();
    assert_eq!(m2.as_array().map(Vec::len), Some(1));
    assert_eq!(m2[0]["time"], "2024-01-20T00:00:00Z");
    let early = server
        .sifr(&with(
            &["activities", "meters", "--to", "2024-01-10", "-o", "json"],
            &a,
        ))
        .ok()
        .json();
    assert_eq!(early.as_array().map(Vec::len), Some(1));
    let one = server
        .sifr(&with(
            &["activities", "meters", "--limit", "1", "-o", "json"],
            &a,
        ))
        .ok();
    assert_eq!(one.json().as_array().map(Vec::len), Some(1));
    assert!(one.stderr.contains("--all"), "{}", one.stderr);
    let all = server
        .sifr(&with(&["activities", "meters", "--all", "-o", "json"], &a))
        .ok();
    assert_eq!(all.json().as_array().map(Vec::len), Some(2));
    assert!(all.stderr.is_empty(), "{}", all.stderr);
    let aggregated = server
        .sifr(&with(
            &["activities", "meters", "--aggregate", "-o", "json"],
            &a,
        ))
        .ok()
        .json();
    assert_eq!(aggregated.as_array().map(Vec::len), Some(1), "{aggregated}");
    assert_eq!(decimal(&aggregated[0]["co2e"]), co2e("150.5"));

    // A corrected reading is a new version of the same activity; its audit names its input.
    let fix = server.write("fix.csv", &csv(&[("1/5/2024", "/usa/a", "m1", "120")]));
    server
        .sifr(&with(&["execution", "run", "meters", &fix], &USA))
        .ok();
    let history = server
        .sifr(&with(
            &[
                "activities",
                "meters",
                "--date",
                "2024-01-05",
                "--attr",
                "meter=m1",
                "--history",
                "-o",
                "json",
            ],
            &a,
        ))
        .ok()
        .json();
    let versions: Vec<Decimal> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| decimal(&v["co2e"]))
        .collect();
    assert_eq!(versions, [co2e("100"), co2e("120")]);
    let activity = history[1]["activityId"].to_string();
    let audits = server
        .sifr(&with(&["activities", "audit", &activity, "-o", "json"], &a))
        .ok()
        .json();
    assert_eq!(audits.as_array().map(Vec::len), Some(2));
    assert_eq!(audits[1]["status"], "SUCCEEDED");
    let shown = server
        .sifr(&with(&["activities", "audit", &activity], &a))
        .ok()
        .stdout;
    assert!(shown.contains("version 2: SUCCEEDED"), "{shown}");
    assert!(shown.contains("kwh=120"), "{shown}");
    assert!(shown.contains(&format!(":kwh*{FACTOR}")), "{shown}");

    // Metric values per month at every level, as JSON, CSV and a table.
    let mut readings = READINGS.to_vec();
    readings[0].3 = "120";
    let want = expected(&readings);
    for group in ["/usa", "/usa/a", "/usa/b"] {
        let values = server
            .sifr(&[
                "metrics",
                "values",
                "elec",
                "--unit",
                "month",
                "--from",
                "2024-01-01",
                "--to",
                "2024-12-31",
                "--group",
                group,
                "-o",
                "json",
            ])
            .ok()
            .json();
        let seen: BTreeMap<(String, u32), (Decimal, Decimal)> = values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                assert_eq!(
                    decimal(&v["hierarchyValue"]),
                    (decimal(&v["groupValue"]) + decimal(&v["subGroupsValue"])).normalize()
                );
                (
                    (
                        v["groupId"].as_str().unwrap().to_owned(),
                        v["month"].as_u64().unwrap() as u32,
                    ),
                    (decimal(&v["groupValue"]), decimal(&v["subGroupsValue"])),
                )
            })
            .collect();
        let want: BTreeMap<(String, u32), (Decimal, Decimal)> = want
            .iter()
            .filter(|((g, _), _)| g == group)
            .map(|(k, (own, sub))| (k.clone(), (own.normalize(), sub.normalize())))
            .collect();
        assert_eq!(seen, want, "{group}");
    }
    let text = server
        .sifr(&with(
            &[
                "metrics",
                "values",
                "elec",
                "--unit",
                "year",
                "--from",
                "2024-01-01",
                "--members",
                "-o",
                "csv",
            ],
            &USA,
        ))
        .ok()
        .stdout;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "GROUP",
            "PERIOD",
            "GROUP VALUE",
            "SUB-GROUPS VALUE",
            "HIERARCHY VALUE"
        ]
    );
    let members: BTreeMap<String, (String, Decimal)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_owned(),
                (
                    r[1].to_owned(),
                    r[4].parse::<Decimal>().unwrap().normalize(),
                ),
            )
        })
        .collect();
    let year = |site: &str| -> Decimal {
        readings
            .iter()
            .filter(|r| r.1 == site)
            .filter_map(|r| r.3.parse::<Decimal>().ok())
            .map(|kwh| kwh * FACTOR.parse::<Decimal>().unwrap())
            .sum::<Decimal>()
            .normalize()
    };
    assert_eq!(
        members,
        BTreeMap::from([
            (
                "/usa/a".to_owned(),
                ("2024-01-01".to_owned(), year("/usa/a"))
            ),
            (
                "/usa/b".to_owned(),
                ("2024-01-01".to_owned(), year("/usa/b"))
            ),
        ])
    );
    let table = server
        .sifr(&with(
            &[
                "metrics",
                "values",
                "elec",
                "--unit",
                "quarter",
                "--from",
                "2024-01-01",
                "--to",
                "2024-03-31",
            ],
            &USA,
        ))
        .ok()
        .stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with("GROUP  PERIOD      GROUP VALUE"),
        "{table}"
    );
    let q1 = |pick: fn(&(Decimal, Decimal)) -> Decimal| -> Decimal {
        want.iter()
            .filter(|((g, m), _)| g == "/usa" && *m <= 3)
            .map(|(_, v)| pick(v))
            .sum::<Decimal>()
            .normalize()
    };
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cells[..2], ["/usa", "2024-01-01"], "{table}");
    let numbers: Vec<Decimal> = cells[2..]
        .iter()
        .map(|c| c.parse::<Decimal>().unwrap().normalize())
        .collect();
    assert_eq!(
        numbers,
        [q1(|v| v.0), q1(|v| v.1), q1(|v| (v.0 + v.1).normalize())]
    );
    // The metrics family keeps its definitions.
    let defined = server
        .sifr(&with(&["metrics", "get", "elec", "-o", "json"], &USA))
        .ok()
        .json();
    assert_eq!(defined["name"], "elec");
}

#[test]
fn inline_rows_come_back_at_once_and_no_wait_returns_early() {
    let server = metering();
    let run = server
        .sifr(&with(
            &[
                "execution",
                "run",
                "meters",
                "--inline",
                "--row",
                "date=5/1/2024,site=/usa/a,meter=m7,kwh=5",
                "--row",
                "date=5/2/2024,site=/usa/b,meter=m8,kwh=2.5",
                "-o",
                "json",
            ],
            &USA,
        ))
        .ok()
        .json();
    assert_eq!(run["status"], "success", "{run}");
    let outputs = run["inlineExecutionOutputs"]["outputs"].as_array().unwrap();
    let values: Vec<Decimal> = outputs.iter().map(|o| decimal(&o["co2e"])).collect();
    assert_eq!(values, [co2e("5"), co2e("2.5")]);
    let table = server
        .sifr(&with(
            &[
                "execution",
                "run",
                "meters",
                "--inline",
                "--row",
                "date=5/3/2024,site=/usa/a,meter=m9,kwh=1",
            ],
            &USA,
        ))
        .ok()
        .stdout;
    assert!(table.lines().next().unwrap().contains("co2e"), "{table}");
    assert!(table.contains(&co2e("1").to_string()), "{table}");

    // A file of rows with a bad one: the errors, and nothing stored.
    let rows = server.write(
        "rows.json",
        &json!([
            {"date": "6/1/2024", "site": "/usa/a", "meter": "m10", "kwh": 3},
            {"date": "6/2/2024", "site": "/usa/a", "meter": "m11", "kwh": "x"}
        ])
        .to_string(),
    );
    server
        .sifr(&with(
            &["execution", "run", "meters", "--inline", "--rows", &rows],
            &USA,
        ))
        .fails(1, "nothing was stored");
    let june = server
        .sifr(&with(
            &[
                "activities",
                "meters",
                "--from",
                "2024-06-01",
                "--to",
                "2024-06-30",
                "-o",
                "json",
            ],
            &["--group", "/usa/a"],
        ))
        .ok()
        .json();
    assert_eq!(june, json!([]));
    server
        .sifr(&with(
            &["execution", "run", "meters", "--inline", "--row", "kwh"],
            &USA,
        ))
        .fails(1, "'kwh' is not key=value");
    server
        .sifr(&with(&["execution", "run", "meters", "--inline"], &USA))
        .fails(1, "an inline execution needs rows");
    server
        .sifr(&with(
            &["execution", "run", "meters", &rows, "--inline"],
            &USA,
        ))
        .fails(2, "cannot be used with");
    server
        .sifr(&with(&["execution", "run", "nothing", &rows], &USA))
        .fails(5, "no pipeline named 'nothing'");

    // --no-wait returns the execution before it is done; get follows it to the end.
    let bills = server.write("good.csv", &csv(&READINGS[..4]));
    let started = server
        .sifr(&with(
            &[
                "execution",
                "run",
                "meters",
                &bills,
                "--no-wait",
                "-o",
                "json",
            ],
            &USA,
        ))
        .ok()
        .json();
    assert!(
        ["in_progress", "calculating_metrics", "success"]
            .contains(&started["status"].as_str().unwrap()),
        "{started}"
    );
    let id = started["id"].as_str().unwrap();
    let mut status = started["status"].clone();
    for _ in 0..200 {
        if status == "success" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        status = server
            .sifr(&with(
                &["execution", "get", "meters", id, "-o", "json"],
                &USA,
            ))
            .ok()
            .json()["status"]
            .clone();
    }
    assert_eq!(status, "success");
}
