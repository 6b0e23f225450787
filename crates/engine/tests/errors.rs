//! Row-level and cell-level errors, in SIF's words, naming the row, line and column.

use serde_json::json;
use sifr_engine::{EngineError, ErrorKind, InputError, Plan, Stored};

use crate::common::*;
use crate::walkthrough::{FUELTYPE, GWP, IMPACTS};

fn plan() -> (tempfile::TempDir, sifr_engine::FileResources, Plan) {
    let (dir, resources) = resources(&[
        ("datasets/fueltype.csv", FUELTYPE),
        ("datasets/gwp.csv", GWP),
        ("impacts.csv", IMPACTS),
    ]);
    let definition = pipeline(json!({
        "transformer": {
            "parameters": [
                {"key": "date", "type": "string"},
                {"key": "group", "type": "string"},
                {"key": "fuel", "type": "string"},
                {"key": "therms", "type": "number"}
            ],
            "transforms": [
                {"index": 0, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy')",
                 "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": "ASSIGN_TO_GROUP(:group)",
                 "outputs": [{"index": 0, "key": "group", "type": "string"}]},
                {"index": 2, "formula": "LOOKUP(:fuel,'fueltype','fuel','activity')",
                 "outputs": [{"index": 0, "key": "activity", "type": "string"}]},
                {"index": 3, "formula": ":therms*IMPACT(REF('activity'),'ghg','co2')",
                 "outputs": [{"index": 0, "key": "co2", "type": "number"}]}
            ]
        }
    }));
    let plan = Plan::new(definition, resources.metrics()).unwrap();
    (dir, resources, plan)
}

const INPUT: &str = "date,group,fuel,therms
1/3/2022,/usa/a,natural gas,100
1/4/2022,/usa/a,natural gas,12 therms
1/5/2022,/usa/a,wood,5
13/45/2022,/usa/a,natural gas,5
1/6/2022,/usa/a
1/7/2022,/elsewhere,natural gas,5
\"1/8/2022\",\"/usa/b\",\"natural gas\",\"7\"
";

#[test]
fn failing_rows_are_left_out_and_failing_cells_are_stored_as_errors() {
    let (_dir, resources, plan) = plan();
    let (collected, outcome) = Run {
        group: "/usa",
        ..Run::default()
    }
    .execute(&plan, INPUT.as_bytes(), resources)
    .unwrap();

    let stored: Vec<u64> = collected.rows.iter().map(|(info, _)| info.row).collect();
    assert_eq!(stored, [1, 3, 7]);
    assert_eq!(outcome.rows_read, 7);
    assert_eq!(outcome.rows_stored, 3);
    assert_eq!(outcome.rows_failed, 4);
    assert!(!outcome.succeeded());

    let lines: Vec<String> = collected.errors.iter().map(ToString::to_string).collect();
    let expected = [
        "row 2 (line 3), column 'therms': Failed processing row {date=1/4/2022, group=/usa/a, fuel=natural gas, therms=12 therms}, err: parameter 'therms' (number): '12 therms' is not a number",
        "row 3 (line 4), column 'co2': Row '1/5/2022-/usa/a-wood-5' column 'co2' encountered error evaluating formula `:therms*IMPACT(REF('activity'),'ghg','co2')` - Activity with name '' not found.",
    ];
    assert_eq!(lines[..2], expected);
    // An unparseable date fails the date output, and without a date the row is not stored.
    assert_eq!(collected.errors[2].kind, ErrorKind::Cell);
    assert!(lines[2].starts_with("row 4 (line 5), column 'time': Row '13/45/2022-/usa/a-natural gas-5' column 'time' encountered error evaluating formula `AS_TIMESTAMP(:date,'M/d/yyyy')` - "), "{}", lines[2]);
    assert_eq!(collected.errors[3].kind, ErrorKind::Row);
    assert_eq!(
        lines[3],
        "row 4 (line 5), column 'time': Failed processing row {date=13/45/2022, group=/usa/a, fuel=natural gas, therms=5}, err: the activity date (output 'time') failed"
    );
    assert_eq!(
        lines[4],
        "row 5 (line 6): the row has 2 cells, but the header has 4 columns"
    );
    assert_eq!(
        lines[5],
        "row 6 (line 7), column 'group': Row '1/7/2022-/elsewhere-natural gas-5' column 'group' encountered error evaluating formula `ASSIGN_TO_GROUP(:group)` - The group passed to ASSIGN_TO_GROUP (/elsewhere) must be the same as or be a child of the group context of execution (/usa)"
    );
    assert_eq!(
        lines[6],
        "row 6 (line 7), column 'group': Failed processing row {date=1/7/2022, group=/elsewhere, fuel=natural gas, therms=5}, err: the group (output 'group') failed"
    );
    assert_eq!(lines.len(), 7);
    assert_eq!(outcome.cell_errors, 3);

    // The stored row with a failed cell keeps its other values.
    let (info, values) = &collected.rows[1];
    assert_eq!(&*info.group, "/usa/a");
    assert_eq!(values[2], Stored::Null, "no fuel type matches 'wood'");
    assert!(
        matches!(&values[3], Stored::Error(m) if m.contains("Activity with name '' not found."))
    );
    // Quoted cells lose their quotes.
    let (info, values) = &collected.rows[2];
    assert_eq!((&*info.group, text(&values[2])), ("/usa/b", "Natural Gas"));
    assert_eq!(number(&values[3]), dec("371.42"));
}

#[test]
fn outputs_of_the_wrong_type_are_cell_errors() {
    let (_dir, resources) = resources(&[]);
    let definition = pipeline(json!({
        "transformer": {
            "parameters": [{"key": "a", "type": "string"}],
            "transforms": [
                {"index": 0, "formula": "1000", "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": ":a", "outputs": [{"index": 0, "key": "n", "type": "number"}]},
                {"index": 2, "formula": ":a", "outputs": [{"index": 0, "key": "b", "type": "boolean"}]},
                {"index": 3, "formula": "null", "outputs": [{"index": 0, "key": "x", "type": "string"}]}
            ]
        }
    }));
    let plan = Plan::new(definition, resources.metrics()).unwrap();
    let (collected, outcome) = Run::default()
        .execute(&plan, b"a\n12.50\nTRUE\n", resources)
        .unwrap();
    assert_eq!(outcome.rows_stored, 2);
    let first = &collected.rows[0].1;
    assert_eq!(first[0], Stored::Timestamp(1));
    assert_eq!(
        number(&first[1]),
        dec("12.5"),
        "text that reads as a number is stored as one"
    );
    assert!(
        matches!(&first[2], Stored::Error(m) if &**m == "the output is declared boolean but the formula gave the string '12.50'")
    );
    assert!(matches!(&first[3], Stored::Error(m) if m.contains("null literal")));
    let second = &collected.rows[1].1;
    assert_eq!(second[2], Stored::Bool(true));
    assert!(
        matches!(&second[1], Stored::Error(m) if &**m == "the output is declared number but the formula gave the string 'TRUE'")
    );
    assert_eq!(outcome.cell_errors, 4);
    assert_eq!(
        collected.errors[1].to_string(),
        "row 1 (line 2), column 'x': Row '12.50' column 'x' encountered error evaluating formula `null` - the formula's value is the null literal, which cannot be stored"
    );
}

#[test]
fn input_problems_name_the_columns_and_lines() {
    let (_dir, _resources, plan) = plan();
    let parameters = &plan.definition().transformer.parameters;
    let options = sifr_engine::CsvOptions::default();

    let missing = sifr_engine::CsvInput::new(&b"date,fuel,group\n"[..], parameters, &options)
        .err()
        .unwrap();
    assert!(matches!(missing, InputError::MissingColumns { .. }));
    assert_eq!(
        missing.to_string(),
        "the input has no column 'therms' (parameter 'therms'); its header has: date, fuel, group"
    );
    let empty = sifr_engine::CsvInput::new(&b""[..], parameters, &options)
        .err()
        .unwrap();
    assert_eq!(
        empty.to_string(),
        "the input is empty: its first line must be a header naming the columns"
    );

    // A byte-order mark and blanks around header cells are ignored; columns may come in any
    // order and extra columns are dropped; a quoted cell may span lines; invalid UTF-8 fails
    // only its row.
    let mut input = b"\xEF\xBB\xBFtherms,extra, fuel ,group,date\n".to_vec();
    input.extend_from_slice(b"1,x,natural gas,/a,1/3/2022\n");
    input.extend_from_slice(b"2,\"two\nlines\",natural gas,/a,1/4/2022\n");
    input.extend_from_slice(b"3,x,natural gas,/\xFFa,1/5/2022\n");
    input.extend_from_slice(b"4,x,wood,/a,1/6/2022\n");
    let (_dir, resources, plan) = self::plan();
    let (collected, outcome) = Run::default().execute(&plan, &input, resources).unwrap();
    let rows: Vec<(u64, u64)> = collected
        .rows
        .iter()
        .map(|(i, _)| (i.row, i.line))
        .collect();
    assert_eq!(rows, [(1, 2), (2, 3), (4, 6)]);
    assert_eq!(outcome.rows_failed, 1);
    assert_eq!(
        collected.errors[0].to_string(),
        "row 3 (line 5): column 'group' is not valid UTF-8 text"
    );
    // The row identifier lists the parameters' cells in the input's column order.
    assert!(
        collected.errors[1]
            .to_string()
            .starts_with("row 4 (line 6), column 'co2': Row '4-wood-/a-1/6/2022' column 'co2'"),
        "{}",
        collected.errors[1]
    );
    assert_eq!(number(&collected.rows[1].1[3]), dec("106.12"));
}

#[test]
fn a_failing_sink_or_reader_stops_the_execution() {
    struct Failing;
    impl sifr_engine::ActivitySink for Failing {
        type Encoder = CountingEncoder;
        fn encoder(&self) -> CountingEncoder {
            CountingEncoder
        }
        fn write(
            &mut self,
            chunk: &sifr_engine::ChunkOutput,
            _: usize,
        ) -> Result<(), sifr_engine::SinkError> {
            if chunk.sequence == 1 {
                return Err("disk full".into());
            }
            Ok(())
        }
        fn finish(&mut self, _: &sifr_engine::Outcome) -> Result<(), sifr_engine::SinkError> {
            panic!("finish after a failed write")
        }
    }
    let (_dir, resources, plan) = plan();
    let mut input = String::from("date,group,fuel,therms\n");
    for day in 1..=28 {
        input.push_str(&format!("2/{day}/2022,/a,natural gas,{day}\n"));
    }
    let options = sifr_engine::ExecutionOptions {
        chunk_rows: 2,
        ..sifr_engine::ExecutionOptions::new("p", "e", "/")
    };
    let reader = sifr_engine::CsvInput::new(
        input.as_bytes(),
        &plan.definition().transformer.parameters,
        &Default::default(),
    )
    .unwrap();
    let error = sifr_engine::execute(
        &plan,
        reader,
        std::sync::Arc::new(resources),
        &options,
        &mut Failing,
        &sifr_engine::NoProgress,
    )
    .err()
    .unwrap();
    assert!(matches!(error, EngineError::Sink(_)));
    assert_eq!(error.to_string(), "cannot write the results: disk full");
}
