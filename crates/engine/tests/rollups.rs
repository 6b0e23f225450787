//! Pipeline aggregations (every function, non-integer means, null measures) and metric
//! roll-ups across group levels, metric links and time units. Expected values are worked out
//! by hand in the comments.

use serde_json::json;
use sifr_engine::{Outcome, Plan, TimeUnit};

use crate::common::*;

fn energy_pipeline() -> serde_json::Value {
    let output = |index: u32, formula: &str, key: &str, kind: &str, extra: serde_json::Value| {
        let mut output = json!({"index": 0, "key": key, "type": kind});
        output
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"index": index, "formula": formula, "outputs": [output]})
    };
    json!({
        "transformer": {
            "parameters": [
                {"key": "date", "type": "string"},
                {"key": "group", "type": "string"},
                {"key": "kind", "type": "string"},
                {"key": "kwh", "type": "number"},
                {"key": "note", "type": "string"}
            ],
            "transforms": [
                output(0, "AS_TIMESTAMP(:date,'yyyy-MM-dd')", "time", "timestamp", json!({"aggregate": "groupBy"})),
                output(1, "ASSIGN_TO_GROUP(:group)", "group", "string", json!({})),
                output(2, ":kind", "kind", "string", json!({"aggregate": "groupBy"})),
                output(3, ":kwh", "total", "number", json!({"aggregate": "sum", "metrics": ["electricity"]})),
                output(4, ":kwh", "average", "number", json!({"aggregate": "mean"})),
                output(5, ":kwh", "lowest", "number", json!({"aggregate": "min"})),
                output(6, ":kwh", "highest", "number", json!({"aggregate": "max"})),
                output(7, ":note", "notes", "string", json!({"aggregate": "count"})),
                output(8, "IF(:kwh==null,:kwh,:kwh*2)", "doubled", "number", json!({"metrics": ["scaled"]}))
            ]
        }
    })
}

fn energy_metrics() -> Vec<sifr_engine::MetricDefinition> {
    metrics(json!([
        {"name": "electricity", "outputMetrics": ["energy"]},
        {"name": "scaled", "outputMetrics": ["energy"]},
        {"name": "energy"}
    ]))
}

const INPUT: &str = "date,group,kind,kwh,note
2020-12-31,/a/x,power,1,n1
2021-01-03,/a/x,power,2,
2021-01-03,/a/x,power,2,n3
2021-01-03,/a/y,power,,n4
2021-01-03,/a,heat,4,n5
2021-02-10,/a/x/z,power,-1.25,n6
2021-01-03,/a/x,power,1,n7
";

fn run() -> Outcome {
    let plan = Plan::new(pipeline(energy_pipeline()), &energy_metrics()).unwrap();
    let (_dir, resources) = resources(&[]);
    let (collected, outcome) = Run::default()
        .execute(&plan, INPUT.as_bytes(), resources)
        .unwrap();
    assert!(collected.errors.is_empty(), "{:?}", collected.errors);
    outcome
}

#[test]
fn aggregates_apply_every_function_and_skip_rows_without_numbers() {
    let outcome = run();
    let rows: Vec<String> = outcome
        .aggregates
        .iter()
        .map(|a| {
            let values: Vec<String> = a
                .dimensions
                .iter()
                .chain(&a.values)
                .map(|v| match v {
                    sifr_engine::Stored::Number(n) => n.to_string(),
                    other => text(other).to_owned(),
                })
                .collect();
            format!("{} {} {}", a.group, a.date, values.join(" "))
        })
        .collect();
    // Columns: kind, sum, mean, min, max, count of notes. /a/x on 2021-01-03 has 2, 2 and 1:
    // sum 5, mean 5/3 = 1.66666667 (8 places, half-up), and one empty note, not counted.
    // /a/y's only row has no kwh: every measure is null, so SIF's rule drops the row.
    assert_eq!(
        rows,
        [
            format!("/a {} heat 4 4 4 4 1", epoch("2021-01-03")),
            format!("/a/x {} power 1 1 1 1 1", epoch("2020-12-31")),
            format!("/a/x {} power 5 1.66666667 1 2 2", epoch("2021-01-03")),
            format!(
                "/a/x/z {} power -1.25 -1.25 -1.25 -1.25 1",
                epoch("2021-02-10")
            ),
        ]
    );
}

fn metric(
    outcome: &Outcome,
    name: &str,
    group: &str,
    unit: TimeUnit,
    date: &str,
) -> Option<(String, String)> {
    outcome
        .metrics
        .iter()
        .find(|m| {
            &*m.metric == name
                && &*m.group == group
                && m.unit == unit
                && m.day * 86_400 == epoch(date)
        })
        .map(|m| {
            (
                m.group_value.value().unwrap().to_string(),
                m.sub_groups_value.value().unwrap().to_string(),
            )
        })
}

fn pair(group: &str, sub: &str) -> Option<(String, String)> {
    Some((group.to_owned(), sub.to_owned()))
}

#[test]
fn metrics_roll_up_groups_weeks_months_quarters_and_years() {
    let outcome = run();
    let e = |group, unit, date| metric(&outcome, "electricity", group, unit, date);
    // Day values: /a/x 1 on 2020-12-31 and 2+2+1 = 5 on 2021-01-03; /a 4 on 2021-01-03;
    // /a/x/z -1.25 on 2021-02-10. /a/y has no number, so no row at all.
    assert_eq!(e("/a/x", TimeUnit::Day, "2021-01-03"), pair("5", "0"));
    assert_eq!(e("/a", TimeUnit::Day, "2021-01-03"), pair("4", "5"));
    assert_eq!(e("/", TimeUnit::Day, "2021-01-03"), pair("0", "9"));
    assert_eq!(e("/a/x", TimeUnit::Day, "2021-02-10"), pair("0", "-1.25"));
    assert!(!outcome.metrics.iter().any(|m| &*m.group == "/a/y"));
    let days = outcome
        .metrics
        .iter()
        .filter(|m| &*m.metric == "electricity" && m.unit == TimeUnit::Day)
        .count();
    assert_eq!(
        days,
        3 + 3 + 3 + 1,
        "/ , /a and /a/x on three days, /a/x/z on one"
    );
    // Thursday 2020-12-31 and Sunday 2021-01-03 share the ISO week of Monday 2020-12-28.
    assert_eq!(e("/a", TimeUnit::Week, "2020-12-28"), pair("4", "6"));
    assert_eq!(
        e("/a/x/z", TimeUnit::Week, "2021-02-08"),
        pair("-1.25", "0")
    );
    assert_eq!(e("/a/x", TimeUnit::Month, "2020-12-01"), pair("1", "0"));
    assert_eq!(e("/a/x", TimeUnit::Month, "2021-01-01"), pair("5", "0"));
    assert_eq!(e("/", TimeUnit::Quarter, "2020-10-01"), pair("0", "1"));
    assert_eq!(e("/", TimeUnit::Quarter, "2021-01-01"), pair("0", "7.75"));
    assert_eq!(e("/a", TimeUnit::Year, "2021-01-01"), pair("4", "3.75"));
    assert_eq!(e("/", TimeUnit::Year, "2020-01-01"), pair("0", "1"));

    // energy = electricity + scaled (kwh × 2), as group values at every level.
    let energy = |group, unit, date| metric(&outcome, "energy", group, unit, date);
    assert_eq!(
        energy("/a", TimeUnit::Year, "2021-01-01"),
        pair("12", "11.25")
    );
    assert_eq!(energy("/a/x", TimeUnit::Day, "2021-01-03"), pair("15", "0"));
    assert_eq!(
        metric(&outcome, "scaled", "/", TimeUnit::Year, "2021-01-01"),
        pair("0", "15.5")
    );
    // Every metric has a row per group and ancestor, time unit and period.
    let per_metric = outcome.metrics.len() / 3;
    assert_eq!(outcome.metrics.len() % 3, 0);
    // Days 10 (above); weeks, quarters and years 2 each at /, /a and /a/x and 1 at /a/x/z;
    // months 3 each at /, /a and /a/x and 1 at /a/x/z.
    assert_eq!(per_metric, 10 + 7 + 10 + 7 + 7);
}

#[test]
fn metric_definitions_are_checked() {
    let check = |definitions: serde_json::Value| {
        Plan::new(pipeline(energy_pipeline()), &metrics(definitions))
            .err()
            .map(|e| e.problems)
            .unwrap_or_default()
    };
    assert_eq!(
        check(json!([{"name": "electricity", "aggregationType": "mean"}, {"name": "scaled"}])),
        [
            "metric 'electricity': aggregationType 'mean' is not implemented; metrics sum their inputs"
        ]
    );
    assert_eq!(
        check(json!([{"name": "electricity", "outputMetrics": ["nowhere"]}, {"name": "scaled"}])),
        ["metric 'electricity': outputMetrics names 'nowhere', which is not defined"]
    );
    assert_eq!(
        check(
            json!([{"name": "electricity", "outputMetrics": ["a"]}, {"name": "a", "outputMetrics": ["electricity"]}, {"name": "scaled"}])
        ),
        [
            "transform 3 (output 'total'): metric 'electricity' is fed by other metrics (their outputMetrics name it), so a pipeline cannot feed it",
            "metrics a → electricity → a form a loop through outputMetrics",
            "metrics electricity → a → electricity form a loop through outputMetrics",
        ]
    );
    assert_eq!(
        check(json!([
            {"name": "electricity", "outputMetrics": ["b", "c"]},
            {"name": "b", "outputMetrics": ["d"]},
            {"name": "c", "outputMetrics": ["d"]},
            {"name": "d"},
            {"name": "scaled"}
        ])),
        [
            "metric 'd' is reached from 'electricity' by more than one path of outputMetrics, so it would count 'electricity' more than once"
        ]
    );
    assert_eq!(
        check(json!([{"name": "electricity"}])),
        ["transform 8 (output 'doubled'): feeds metric 'scaled', which is not defined"]
    );
}
