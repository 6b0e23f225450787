//! Inputs that are not CSV files: rows handed over by an iterator give the same results as the
//! same rows in a file; rows that cannot be read become row errors; an iterator error stops
//! the execution. And the CSV connector's options read from merged connector parameters.

use serde_json::json;
use sifr_engine::{
    CsvOptions, EmptyCells, EngineError, InputError, InputRecord, Plan, RowReader, RowsInput,
};

use crate::common::*;

fn plan() -> Plan {
    Plan::new(
        pipeline(json!({
            "type": "data",
            "transformer": {
                "parameters": [
                    {"key": "name", "type": "string"},
                    {"key": "kwh", "label": "energy", "type": "number"}
                ],
                "transforms": [
                    {"index": 0, "formula": "UPPERCASE(:name)", "outputs": [{"index": 0, "key": "upper", "type": "string"}]},
                    {"index": 1, "formula": ":kwh*2", "outputs": [{"index": 0, "key": "double", "type": "number"}]}
                ]
            }
        })),
        &[],
    )
    .unwrap()
}

fn cells(row: &[&str]) -> Result<InputRecord, InputError> {
    Ok(InputRecord::Cells(
        row.iter().map(|c| (*c).to_owned()).collect(),
    ))
}

/// Runs `input` through the plan with small chunks and two threads.
fn run(
    plan: &Plan,
    input: impl RowReader,
) -> Result<(Collected, sifr_engine::Outcome), EngineError> {
    let (_dir, resources) = resources(&[]);
    Run {
        chunk_rows: 2,
        ..Run::default()
    }
    .execute_input(plan, input, resources)
}

#[test]
fn rows_from_an_iterator_match_the_same_rows_in_a_file() {
    let plan = plan();
    let rows = [
        ["gas", "1.5"],
        ["oil", "x"],
        ["coal", ""],
        ["wind", "-4"],
        ["sun", "10"],
    ];
    let mut csv = String::from("name,energy\n");
    for [name, kwh] in rows {
        csv.push_str(&format!("{name},{kwh}\n"));
    }
    let (_dir, resources) = resources(&[]);
    let (from_file, file_outcome) = Run {
        chunk_rows: 2,
        ..Run::default()
    }
    .execute(&plan, csv.as_bytes(), resources)
    .unwrap();
    let (from_rows, rows_outcome) =
        run(&plan, RowsInput::new(2, rows.iter().map(|row| cells(row)))).unwrap();

    let values = |c: &Collected| -> Vec<(u64, Vec<sifr_engine::Stored>)> {
        c.rows.iter().map(|(r, v)| (r.row, v.clone())).collect()
    };
    assert_eq!(values(&from_rows), values(&from_file));
    assert_eq!(from_rows.rows.len(), 4);
    assert_eq!(text(&from_rows.rows[0].1[0]), "GAS");
    assert_eq!(number(&from_rows.rows[0].1[1]), dec("3"));
    assert_eq!(number(&from_rows.rows[2].1[1]), dec("-8"));
    // The row that is not a number fails alike, named by its number, and so does the formula
    // over an empty cell.
    let errors = |c: &Collected| -> Vec<(u64, sifr_engine::ErrorKind, String)> {
        c.errors
            .iter()
            .map(|e| (e.row, e.kind, e.message.clone()))
            .collect()
    };
    assert_eq!(errors(&from_rows), errors(&from_file));
    assert_eq!(
        errors(&from_rows)
            .iter()
            .map(|(row, kind, _)| (*row, *kind))
            .collect::<Vec<_>>(),
        vec![
            (2, sifr_engine::ErrorKind::Row),
            (3, sifr_engine::ErrorKind::Cell)
        ]
    );
    assert_eq!(
        (
            rows_outcome.rows_read,
            rows_outcome.rows_stored,
            rows_outcome.rows_failed
        ),
        (
            file_outcome.rows_read,
            file_outcome.rows_stored,
            file_outcome.rows_failed
        )
    );
    // Chunks of at most two rows, in order.
    assert_eq!(from_rows.chunks, vec![0, 1, 2]);
}

#[test]
fn unreadable_rows_are_row_errors_and_iterator_errors_stop_the_run() {
    let plan = plan();
    let rows = vec![
        cells(&["gas", "1"]),
        Ok(InputRecord::Problem("the source row is gone".into())),
        cells(&["only one cell"]),
        cells(&["oil", "2"]),
    ];
    let (collected, outcome) = run(&plan, RowsInput::new(2, rows.into_iter())).unwrap();
    assert_eq!((outcome.rows_read, outcome.rows_stored), (4, 2));
    let errors: Vec<(u64, &str)> = collected
        .errors
        .iter()
        .map(|e| (e.row, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (2, "the source row is gone"),
            (3, "the row has 1 cells for 2 parameters")
        ]
    );

    let failing = vec![
        cells(&["gas", "1"]),
        Err(InputError::Read {
            line: None,
            message: "the store is unreachable".into(),
        }),
    ];
    let stopped = run(&plan, RowsInput::new(2, failing.into_iter()));
    match stopped {
        Err(EngineError::Input(InputError::Read { message, .. })) => {
            assert_eq!(message, "the store is unreachable");
        }
        other => panic!("expected the input error, got {:?}", other.map(|(_, o)| o)),
    }
}

#[test]
fn csv_options_come_from_connector_parameters() {
    let parameters = json!({
        "delimiter": ";",
        "handleEmptyCells": "setToNull",
        "skipParsingErrors": "true",
        "pipelineId": "not the CSV connector's"
    });
    let options = CsvOptions::from_parameters(parameters.as_object().unwrap()).unwrap();
    assert_eq!(
        options,
        CsvOptions {
            delimiter: b';',
            empty_cells: EmptyCells::Null,
            skip_parsing_errors: true,
        }
    );
    let bad = json!({"delimiter": ";;"});
    let error = CsvOptions::from_parameters(bad.as_object().unwrap()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "input connector parameter delimiter: the delimiter is a single ASCII character"
    );
}
