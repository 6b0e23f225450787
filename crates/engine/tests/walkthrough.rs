//! SIF's natural-gas walkthrough on a small file: groups under /usa, emission factors and GWP
//! look-ups, one pipeline, an aggregation and two metrics. Expected numbers are computed here
//! with plain decimal arithmetic from the same factors, and expected periods are written out by
//! hand.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::json;
use sifr_engine::{FileSink, Plan, Stored, TimeUnit};

use crate::common::*;

pub const FUELTYPE: &str = "fuel,activity\nnatural gas,Natural Gas\npropane,Propane\n";
pub const GWP: &str = "gas,gwp\nco2,1\nch4,28\nn2o,265\n";
pub const IMPACTS: &str = "activity,impact,component,value
Natural Gas,ghg,co2,53.06
Natural Gas,ghg,ch4,0.001
Natural Gas,ghg,n2o,0.0001
Propane,ghg,co2,62.87
Propane,ghg,ch4,0.003
Propane,ghg,n2o,0.0006
";

/// kg CO2e per mmBtu: co2·1 + ch4·28 + n2o·265.
fn factor(fuel: &str) -> Decimal {
    let (co2, ch4, n2o) = match fuel {
        "natural gas" => ("53.06", "0.001", "0.0001"),
        "propane" => ("62.87", "0.003", "0.0006"),
        other => panic!("no factor for {other}"),
    };
    dec(co2) + dec(ch4) * dec("28") + dec(n2o) * dec("265")
}

/// date, group, fuel, therms, and the row's day, ISO week (Monday), month, quarter and year.
const ROWS: &[[&str; 9]] = &[
    [
        "1/3/2022",
        "/usa/co1/sub1",
        "natural gas",
        "100",
        "2022-01-03",
        "2022-01-03",
        "2022-01-01",
        "2022-01-01",
        "2022-01-01",
    ],
    [
        "1/9/2022",
        "/usa/co1/sub1",
        "natural gas",
        "20.25",
        "2022-01-09",
        "2022-01-03",
        "2022-01-01",
        "2022-01-01",
        "2022-01-01",
    ],
    [
        "1/10/2022",
        "/usa/co1/sub2",
        "propane",
        "3.5",
        "2022-01-10",
        "2022-01-10",
        "2022-01-01",
        "2022-01-01",
        "2022-01-01",
    ],
    [
        "2/14/2022",
        "/usa/co2/sub1",
        "natural gas",
        "12",
        "2022-02-14",
        "2022-02-14",
        "2022-02-01",
        "2022-01-01",
        "2022-01-01",
    ],
    [
        "4/1/2022",
        "/usa/co1/sub1",
        "propane",
        "7.75",
        "2022-04-01",
        "2022-03-28",
        "2022-04-01",
        "2022-04-01",
        "2022-01-01",
    ],
    [
        "12/31/2021",
        "/usa/co1/sub2",
        "natural gas",
        "1",
        "2021-12-31",
        "2021-12-27",
        "2021-12-01",
        "2021-10-01",
        "2021-01-01",
    ],
    [
        "1/3/2022",
        "/USA/co2",
        "natural gas",
        "40",
        "2022-01-03",
        "2022-01-03",
        "2022-01-01",
        "2022-01-01",
        "2022-01-01",
    ],
    [
        "1/4/2022",
        "/usa/co1/sub1",
        "propane",
        "0.5",
        "2022-01-04",
        "2022-01-03",
        "2022-01-01",
        "2022-01-01",
        "2022-01-01",
    ],
    [
        "1/20/2022",
        "/usa/co1/sub1",
        "natural gas",
        "0.3",
        "2022-01-20",
        "2022-01-17",
        "2022-01-01",
        "2022-01-01",
        "2022-01-01",
    ],
];

pub fn walkthrough_pipeline() -> serde_json::Value {
    let co2e = "IMPACT(REF('activity'),'ghg','co2')*LOOKUP('co2','gwp','gas','gwp')\
        +IMPACT(REF('activity'),'ghg','ch4')*LOOKUP('ch4','gwp','gas','gwp')\
        +IMPACT(REF('activity'),'ghg','n2o')*LOOKUP('n2o','gwp','gas','gwp')";
    json!({
        "id": "natural-gas",
        "name": "natural gas walkthrough",
        "type": "activities",
        "transformer": {
            "parameters": [
                {"index": 0, "key": "date", "type": "string"},
                {"index": 1, "key": "group", "type": "string"},
                {"index": 2, "key": "fuel", "type": "string"},
                {"index": 3, "key": "therms", "label": "Therms", "type": "number"}
            ],
            "transforms": [
                {"index": 0, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy')",
                 "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy',roundDownTo='month')",
                 "outputs": [{"index": 0, "key": "month", "type": "timestamp", "aggregate": "groupBy"}]},
                {"index": 2, "formula": "ASSIGN_TO_GROUP(:group)",
                 "outputs": [{"index": 0, "key": "group", "type": "string"}]},
                {"index": 3, "formula": "LOOKUP(:fuel,'fueltype','fuel','activity')",
                 "outputs": [{"index": 0, "key": "activity", "type": "string", "aggregate": "groupBy"}]},
                {"index": 4, "formula": ":therms*0.1",
                 "outputs": [{"index": 0, "key": "mmbtu", "type": "number", "aggregate": "mean"}]},
                {"index": 5, "formula": format!(":therms*0.1*({co2e})"),
                 "outputs": [{"index": 0, "key": "co2e", "type": "number", "aggregate": "sum", "metrics": ["co2e"]}]}
            ]
        }
    })
}

pub fn walkthrough_resources() -> (tempfile::TempDir, sifr_engine::FileResources) {
    resources(&[
        ("datasets/fueltype.csv", FUELTYPE),
        ("datasets/gwp.csv", GWP),
        ("impacts.csv", IMPACTS),
        (
            "metrics.json",
            r#"[{"name": "co2e", "outputMetrics": ["ghg"]}, {"name": "ghg", "summary": "all greenhouse gases"}]"#,
        ),
        (
            "groups.txt",
            "/usa/co1/sub1\n/usa/co1/sub2\n/usa/co2/sub1\n",
        ),
    ])
}

fn input() -> String {
    let mut csv = String::from("date,group,fuel,Therms\n");
    for row in ROWS {
        csv.push_str(&format!("{},{},{},{}\n", row[0], row[1], row[2], row[3]));
    }
    csv
}

fn co2e(row: &[&str; 9]) -> Decimal {
    dec(row[3]) * dec("0.1") * factor(row[2])
}

fn ancestors(group: &str) -> Vec<String> {
    let mut out = vec![group.to_owned()];
    let mut current = group.to_owned();
    while let Some(i) = current.rfind('/') {
        current = if i == 0 {
            "/".into()
        } else {
            current[..i].to_owned()
        };
        out.push(current.clone());
        if current == "/" {
            break;
        }
    }
    out
}

#[test]
fn rows_are_stored_with_their_group_date_and_emissions() {
    let (_dir, resources) = walkthrough_resources();
    let plan = Plan::new(pipeline(walkthrough_pipeline()), resources.metrics()).unwrap();
    let (collected, outcome) = Run::default()
        .execute(&plan, input().as_bytes(), resources)
        .unwrap();

    assert_eq!(outcome.rows_read, ROWS.len() as u64);
    assert_eq!(outcome.rows_stored, ROWS.len() as u64);
    assert!(outcome.succeeded(), "{:?}", collected.errors);
    assert_eq!(
        collected.chunks,
        [0, 1, 2],
        "chunks of 3 rows, written in order"
    );
    for (expected, (info, values)) in ROWS.iter().zip(&collected.rows) {
        assert_eq!(&*info.group, expected[1].to_lowercase());
        assert_eq!(info.date, Some(epoch(expected[4])));
        assert_eq!(values[0], Stored::Timestamp(epoch(expected[4])));
        assert_eq!(values[1], Stored::Timestamp(epoch(expected[6])));
        assert_eq!(text(&values[2]), expected[1].to_lowercase());
        assert_eq!(number(&values[4]), dec(expected[3]) * dec("0.1"));
        assert_eq!(number(&values[5]), co2e(expected), "row {:?}", expected);
    }
    // Row numbers and lines name the input rows.
    let numbers: Vec<(u64, u64)> = collected
        .rows
        .iter()
        .map(|(i, _)| (i.row, i.line))
        .collect();
    assert_eq!(numbers, (1..=9).map(|r| (r, r + 1)).collect::<Vec<_>>());

    let groups: BTreeSet<&str> = outcome.groups.iter().map(|g| g.as_ref()).collect();
    assert_eq!(
        groups,
        BTreeSet::from([
            "/usa/co1/sub1",
            "/usa/co1/sub2",
            "/usa/co2",
            "/usa/co2/sub1"
        ])
    );
    assert_eq!(
        outcome.dates,
        Some((epoch("2021-12-31"), epoch("2022-04-01")))
    );
    let pinned: BTreeSet<(&str, &str)> = outcome
        .resources
        .iter()
        .map(|p| (p.kind, p.name.as_str()))
        .collect();
    assert_eq!(
        pinned,
        BTreeSet::from([
            ("activity", "Natural Gas"),
            ("activity", "Propane"),
            ("referenceDataset", "fueltype"),
            ("referenceDataset", "gwp")
        ])
    );
}

#[test]
fn aggregates_sum_and_average_per_group_month_and_activity() {
    let (_dir, resources) = walkthrough_resources();
    let plan = Plan::new(pipeline(walkthrough_pipeline()), resources.metrics()).unwrap();
    let (_, outcome) = Run::default()
        .execute(&plan, input().as_bytes(), resources)
        .unwrap();

    let mut sums = BTreeMap::new();
    let mut mmbtu = BTreeMap::new();
    let mut counts: BTreeMap<_, u32> = BTreeMap::new();
    for row in ROWS {
        let key = (row[1].to_lowercase(), epoch(row[6]), factor_name(row[2]));
        add(&mut sums, key.clone(), co2e(row));
        add(&mut mmbtu, key.clone(), dec(row[3]) * dec("0.1"));
        *counts.entry(key).or_default() += 1;
    }
    let actual: Vec<_> = outcome
        .aggregates
        .iter()
        .map(|a| {
            (
                (
                    a.group.to_string(),
                    a.date,
                    text(&a.dimensions[0]).to_owned(),
                ),
                (number(&a.values[0]), number(&a.values[1])),
            )
        })
        .collect();
    let expected: Vec<_> = sums
        .iter()
        .map(|(key, sum)| {
            let mean = (mmbtu[key] / Decimal::from(counts[key]))
                .round_dp_with_strategy(8, RoundingStrategy::MidpointAwayFromZero);
            (key.clone(), (mean.normalize(), sum.normalize()))
        })
        .collect();
    assert_eq!(actual, expected);
    // Natural gas in /usa/co1/sub1 in January: (10 + 2.025 + 0.03) / 3 = 4.018333…, stored
    // with 8 places.
    let january = &outcome.aggregates[0];
    assert_eq!(&*january.group, "/usa/co1/sub1");
    assert_eq!(text(&january.dimensions[0]), "Natural Gas");
    assert_eq!(number(&january.values[0]), dec("4.01833333"));
}

fn factor_name(fuel: &str) -> String {
    match fuel {
        "natural gas" => "Natural Gas".into(),
        _ => "Propane".into(),
    }
}

#[test]
fn metrics_roll_up_to_every_ancestor_and_time_unit() {
    let (_dir, resources) = walkthrough_resources();
    let plan = Plan::new(pipeline(walkthrough_pipeline()), resources.metrics()).unwrap();
    let (_, outcome) = Run {
        threads: 3,
        chunk_rows: 2,
        ..Run::default()
    }
    .execute(&plan, input().as_bytes(), resources)
    .unwrap();

    // (metric, group, unit, period) → (group value, hierarchy value)
    let mut own = BTreeMap::new();
    let mut hierarchy = BTreeMap::new();
    for metric in ["co2e", "ghg"] {
        for row in ROWS {
            let group = row[1].to_lowercase();
            for (unit, period) in ["day", "week", "month", "quarter", "year"]
                .iter()
                .zip(&row[4..])
            {
                let key = |g: &str| {
                    (
                        metric.to_owned(),
                        g.to_owned(),
                        unit.to_string(),
                        epoch(period),
                    )
                };
                add(&mut own, key(&group), co2e(row));
                for ancestor in ancestors(&group) {
                    add(&mut hierarchy, key(&ancestor), co2e(row));
                    own.entry(key(&ancestor)).or_default();
                }
            }
        }
    }
    let actual: BTreeMap<_, _> = outcome
        .metrics
        .iter()
        .map(|m| {
            let key = (
                m.metric.to_string(),
                m.group.to_string(),
                m.unit.name().to_owned(),
                m.day * 86_400,
            );
            let group_value = m.group_value.value().unwrap().to_decimal().unwrap();
            let sub = m.sub_groups_value.value().unwrap().to_decimal().unwrap();
            let total = m.hierarchy_value().value().unwrap().to_decimal().unwrap();
            assert_eq!(group_value + sub, total);
            (key, (group_value, total))
        })
        .collect();
    let expected: BTreeMap<_, _> = hierarchy
        .iter()
        .map(|(key, total)| (key.clone(), (own[key].normalize(), total.normalize())))
        .collect();
    assert_eq!(actual, expected);

    // Spot checks written out: /usa/co2 has its own January row and a sub-group in February.
    let find = |group: &str, unit: TimeUnit, date: &str| {
        outcome
            .metrics
            .iter()
            .find(|m| {
                &*m.metric == "co2e"
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
    };
    // 40 therms × 0.1 × 53.1145 = 212.458; 12 × 0.1 × 53.1145 = 63.7374.
    assert_eq!(
        find("/usa/co2", TimeUnit::Year, "2022-01-01"),
        Some(("212.458".into(), "63.7374".into()))
    );
    assert_eq!(
        find("/usa/co2", TimeUnit::Month, "2022-02-01"),
        Some(("0".into(), "63.7374".into()))
    );
    assert_eq!(
        find("/usa/co2", TimeUnit::Week, "2022-02-14"),
        Some(("0".into(), "63.7374".into()))
    );
    assert_eq!(
        find("/usa/co1/sub2", TimeUnit::Quarter, "2021-10-01"),
        Some(("5.31145".into(), "0".into()))
    );
}

#[test]
fn files_hold_activities_aggregates_metrics_and_a_summary() {
    let (_dir, resources) = walkthrough_resources();
    let plan = Plan::new(pipeline(walkthrough_pipeline()), resources.metrics()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = sifr_engine::ExecutionOptions::new("p", "e", "/");
    let csv = sifr_engine::CsvOptions::default();
    let data = input();
    let reader = sifr_engine::CsvInput::new(
        data.as_bytes(),
        &plan.definition().transformer.parameters,
        &csv,
    )
    .unwrap();
    let mut sink = FileSink::create(out.path(), &plan, false).unwrap();
    sifr_engine::execute(
        &plan,
        reader,
        std::sync::Arc::new(resources),
        &options,
        &mut sink,
        &sifr_engine::NoProgress,
    )
    .unwrap();

    let activities = read(out.path(), "activities.csv");
    let mut lines = activities.lines();
    assert_eq!(
        lines.next(),
        Some("row,groupId,date,month,group,activity,mmbtu,co2e")
    );
    // 20.25 therms × 0.1 × 53.1145 = 107.5568625
    assert_eq!(
        lines.nth(1),
        Some(
            "2,/usa/co1/sub1,2022-01-09T00:00:00Z,2022-01-01T00:00:00Z,/usa/co1/sub1,Natural Gas,2.025,107.5568625"
        )
    );
    assert_eq!(activities.lines().count(), ROWS.len() + 1);
    assert_eq!(read(out.path(), "errors.txt"), "");

    let aggregates = read(out.path(), "aggregates.csv");
    assert_eq!(
        aggregates.lines().next(),
        Some("groupId,date,activity,mmbtu,co2e")
    );
    assert!(
        aggregates.contains("/usa/co1/sub2,2022-01-01,Propane,0.35,22.08955\n"),
        "{aggregates}"
    );

    let metrics = read(out.path(), "metrics.csv");
    assert_eq!(
        metrics.lines().next(),
        Some("metric,groupId,timeUnit,date,groupValue,subGroupsValue,hierarchyValue")
    );
    assert!(
        metrics.contains("co2e,/usa/co2,year,2022-01-01,212.458,63.7374,276.1954\n"),
        "{metrics}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&read(out.path(), "summary.json")).unwrap();
    assert_eq!(summary["status"], "success");
    assert_eq!(summary["rowsStored"], 9);
    assert_eq!(summary["dateFrom"], "2021-12-31T00:00:00Z");
}
