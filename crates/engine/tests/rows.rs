//! Groups, unique keys, the row identifier, REF, and results that do not depend on how the
//! input is chunked or how many threads evaluate it.

use rust_decimal::Decimal;
use serde_json::json;
use sifr_engine::{EmptyCells, Plan, Stored};

use crate::common::*;

fn keyed() -> Plan {
    let definition = pipeline(json!({
        "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector",
                                       "parameters": {"handleEmptyCells": "setToNull"}}]},
        "transformer": {
            "parameters": [
                {"key": "day", "type": "number"},
                {"key": "site", "type": "string"},
                {"key": "meter", "type": "string"},
                {"key": "team", "label": "Team", "type": "string"},
                {"key": "kwh", "type": "number"}
            ],
            "transforms": [
                {"index": 0, "formula": ":day*86400000", "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": "CONCAT('/acme/',:team)", "outputs": [{"index": 0, "key": "path", "type": "string"}]},
                {"index": 2, "formula": "IF(:team==null,:team,ASSIGN_TO_GROUP(REF('path')))", "outputs": [{"index": 0, "key": "group", "type": "string"}]},
                {"index": 3, "formula": ":site", "outputs": [{"index": 0, "key": "site", "type": "string", "includeAsUnique": true}]},
                {"index": 4, "formula": ":meter", "outputs": [{"index": 0, "key": "meter", "type": "string", "includeAsUnique": true}]},
                {"index": 5, "formula": ":kwh", "outputs": [{"index": 0, "key": "kwh", "type": "number"}]},
                {"index": 6, "formula": ":___row_identifier___", "outputs": [{"index": 0, "key": "id", "type": "string"}]}
            ]
        }
    }));
    Plan::new(definition, &[]).unwrap()
}

#[test]
fn rows_go_to_their_assigned_group_and_keep_their_unique_keys() {
    let plan = keyed();
    assert_eq!(plan.unique_keys(), [3, 4]);
    assert_eq!(plan.outputs()[3].unique_key, Some(1));
    assert_eq!(plan.outputs()[4].unique_key, Some(2));
    assert_eq!(plan.group_output(), Some(2));
    let input = "day,site,meter,Team,kwh
1,s1,m1,North,10
2,s1,,South,20
3,,m3,north,30
4,s2,m4,,40
5,s3,m5,east,50
";
    let (_dir, resources) = resources(&[("groups.txt", "/acme/north\n/acme/south\n")]);
    let (collected, outcome) = Run {
        group: "/acme",
        ..Run::default()
    }
    .execute(&plan, input.as_bytes(), resources)
    .unwrap();
    let stored: Vec<(u64, &str, Option<i64>)> = collected
        .rows
        .iter()
        .map(|(i, _)| (i.row, &*i.group, i.date))
        .collect();
    assert_eq!(
        stored,
        [
            (1, "/acme/north", Some(86_400)),
            (4, "/acme", Some(4 * 86_400))
        ]
    );
    // Empty cells are null (handleEmptyCells=setToNull), shown as `null` in row identifiers.
    let first = &collected.rows[0].1;
    assert_eq!(text(&first[6]), "1-s1-m1-North-10");
    assert_eq!(text(&collected.rows[1].1[6]), "4-s2-m4-null-40");
    let errors: Vec<String> = collected.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "row 2 (line 3), column 'meter': Row '2-s1-null-South-20' column 'meter' encountered error uniqueKey value cannot be null",
            "row 3 (line 4), column 'site': Row '3-null-m3-north-30' column 'site' encountered error uniqueKey value cannot be null",
            "row 5 (line 6), column 'group': Row '5-s3-m5-east-50' column 'group' encountered error evaluating formula `IF(:team==null,:team,ASSIGN_TO_GROUP(REF('path')))` - Group passed to ASSIGN_TO_GROUP /acme/east does not exist.",
            "row 5 (line 6), column 'group': Failed processing row {day=5, site=s3, meter=m5, team=east, kwh=50}, err: the group (output 'group') failed",
        ]
    );
    // A null group output leaves the row in the execution's group (row 4).
    assert_eq!(outcome.rows_failed, 3);
    assert_eq!(outcome.rows_stored, 2);
}

#[test]
fn empty_cells_read_as_empty_strings_by_default() {
    let definition = pipeline(json!({
        "type": "data",
        "transformer": {
            "parameters": [{"key": "a", "type": "string"}, {"key": "b", "type": "number"}],
            "transforms": [
                {"index": 0, "formula": ":___row_identifier___", "outputs": [{"index": 0, "key": "id", "type": "string"}]},
                {"index": 1, "formula": "COALESCE(:b, -1)", "outputs": [{"index": 0, "key": "b", "type": "number"}]}
            ]
        }
    }));
    let plan = Plan::new(definition, &[]).unwrap();
    assert_eq!(plan.date_output(), None);
    let (collected, _) = Run::default()
        .execute(&plan, b"a,b\n,\nx,2\n", resources(&[]).1)
        .unwrap();
    assert_eq!(text(&collected.rows[0].1[0]), "-");
    assert_eq!(number(&collected.rows[0].1[1]), dec("-1"));
    assert_eq!(collected.rows[0].0.date, None);
    assert_eq!(text(&collected.rows[1].1[0]), "x-2");
    assert_eq!(
        sifr_engine::CsvOptions::default().empty_cells,
        EmptyCells::EmptyString
    );
}

/// A file of `n` rows whose values vary, with a bad row every 97 rows.
fn generated(n: usize) -> String {
    let mut csv = String::from("day,site,meter,Team,kwh\n");
    for i in 0..n {
        let team = ["north", "south"][i % 2];
        let kwh = if i % 97 == 5 {
            "n/a".to_owned()
        } else {
            format!("{}.{:02}", i % 1000, i % 100)
        };
        csv.push_str(&format!("{},s{},m{i},{team},{kwh}\n", i % 400, i % 7));
    }
    csv
}

#[test]
fn results_do_not_depend_on_chunks_or_threads() {
    let plan = keyed();
    let input = generated(20_000);
    let groups = "/acme/north\n/acme/south\n";
    let run = |threads, chunk_rows| {
        let (_dir, resources) = resources(&[("groups.txt", groups)]);
        Run {
            group: "/acme",
            threads,
            chunk_rows,
            ..Run::default()
        }
        .execute(&plan, input.as_bytes(), resources)
        .unwrap()
    };
    let (serial, serial_outcome) = run(1, 100_000);
    let (parallel, parallel_outcome) = run(4, 97);
    assert_eq!(serial.chunks, [0]);
    assert_eq!(parallel.chunks, (0..=206).collect::<Vec<u64>>());
    assert_eq!(serial.rows, parallel.rows);
    assert_eq!(serial.errors, parallel.errors);
    assert_eq!(serial_outcome.rows_stored, 20_000 - 207);
    assert_eq!(parallel_outcome.rows_failed, 207);
    assert_eq!(serial_outcome.groups, parallel_outcome.groups);
    // Every stored value matches its input row.
    for (info, values) in &parallel.rows {
        let i = (info.row - 1) as usize;
        assert_eq!(
            values[5],
            Stored::Number(sifr_engine::Fixed::from_decimal(dec(&format!(
                "{}.{:02}",
                i % 1000,
                i % 100
            ))))
        );
        assert_eq!(text(&values[4]), format!("m{i}"));
    }
}

#[test]
fn the_row_number_keys_identical_rows_apart() {
    let definition = pipeline(json!({
        "transformer": {
            "parameters": [{"key": "kwh", "type": "number"}],
            "transforms": [
                {"index": 0, "formula": "AS_TIMESTAMP('1/1/2024','M/d/yyyy')", "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": ":___row_number___", "outputs": [{"index": 0, "key": "bill", "type": "number", "includeAsUnique": true}]},
                {"index": 2, "formula": ":kwh*:___row_number___", "outputs": [{"index": 0, "key": "weighted", "type": "number"}]}
            ]
        }
    }));
    let plan = Plan::new(definition, &[]).unwrap();
    // Identical rows, chunked across threads: each keeps its own number.
    let input = "kwh\n5\n5\n5\n5\n5\nx\n5\n";
    let (_dir, resources) = resources(&[]);
    let (collected, outcome) = Run::default()
        .execute(&plan, input.as_bytes(), resources)
        .unwrap();
    assert_eq!(outcome.rows_failed, 1);
    let stored: Vec<(u64, Decimal, Decimal)> = collected
        .rows
        .iter()
        .map(|(info, values)| (info.row, number(&values[1]), number(&values[2])))
        .collect();
    let expected: Vec<(u64, Decimal, Decimal)> = [1u64, 2, 3, 4, 5, 7]
        .iter()
        .map(|&n| (n, Decimal::from(n), Decimal::from(5 * n)))
        .collect();
    assert_eq!(stored, expected);
    // A parameter may not take the name.
    let reserved = pipeline(json!({
        "transformer": {
            "parameters": [{"key": "___row_number___", "type": "number"}],
            "transforms": [{"index": 0, "formula": "AS_TIMESTAMP('1/1/2024','M/d/yyyy')", "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]}]
        }
    }));
    let problem = Plan::new(reserved, &[]).unwrap_err().to_string();
    assert!(problem.contains("reserved"), "{problem}");
}
