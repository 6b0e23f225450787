//! Audit records: one per stored row, in row order, compressed per chunk.

use std::sync::Arc;

use serde_json::Value as Json;
use sifr_calc::ReplayedResources;
use sifr_engine::{AuditFormat, ChunkSpan, CsvOptions, ExecutionOptions, Plan, replay_audits};

use crate::common::*;
use crate::walkthrough::{walkthrough_pipeline, walkthrough_resources};

#[test]
fn every_stored_row_has_an_audit_record_with_formulas_values_and_resources() {
    let (_dir, resources) = walkthrough_resources();
    let plan = Plan::new(pipeline(walkthrough_pipeline()), resources.metrics()).unwrap();
    let input = "date,group,fuel,Therms\n1/3/2022,/usa/co1/sub1,natural gas,100\n1/4/2022,/usa/co1/sub1,natural gas,x\n1/5/2022,/usa/co1/sub1,natural gas,3\n";
    let (collected, outcome) = Run {
        audit: true,
        ..Run::default()
    }
    .execute(&plan, input.as_bytes(), resources)
    .unwrap();
    assert_eq!(outcome.rows_stored, 2);

    let text = zstd_lines(&collected.audits);
    let records: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "no record for the row that failed");
    let first = &records[0];
    assert_eq!(first["pipelineId"], "pipeline1");
    assert_eq!(first["executionId"], "execution1");
    assert_eq!(first["auditId"], "execution1-1");
    assert_eq!(records[1]["row"], 3);
    let inputs: Vec<(&str, &str)> = first["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        inputs,
        [
            ("date", "1/3/2022"),
            ("group", "/usa/co1/sub1"),
            ("fuel", "natural gas"),
            ("therms", "100"),
            (
                "___row_identifier___",
                "1/3/2022-/usa/co1/sub1-natural gas-100"
            ),
        ]
    );
    let co2e = &first["outputs"][5];
    assert_eq!(co2e["index"], 5);
    assert_eq!(co2e["name"], "co2e");
    assert_eq!(co2e["formula"], plan.outputs()[5].formula);
    assert_eq!(co2e["result"], "531.145");
    assert_eq!(co2e["evaluated"][":therms"], "100");
    assert_eq!(co2e["evaluated"]["REF('activity')"], "Natural Gas");
    assert_eq!(co2e["evaluated"]["LOOKUP('ch4','gwp','gas','gwp')"], "28");
    let activities = co2e["resources"]["activities"].as_array().unwrap();
    assert_eq!(activities.len(), 3);
    assert_eq!(activities[1]["activity"], "Natural Gas");
    assert_eq!(activities[1]["component"], "ch4");
    assert_eq!(activities[1]["version"], "1");
    assert_eq!(
        co2e["resources"]["referenceDatasets"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Outputs that used no resources carry no resources entry.
    assert!(first["outputs"][4].get("resources").is_none());
    assert_eq!(first["outputs"][4]["evaluated"][":therms"], "100");
    // The second row reuses cached look-ups; its audit is as complete as the first's.
    assert_eq!(records[1]["outputs"][5]["resources"], co2e["resources"]);
    assert_eq!(records[1]["outputs"][5]["result"], "15.93435");
    assert_eq!(
        records[1]["outputs"][3]["evaluated"],
        first["outputs"][3]["evaluated"]
    );
}

#[test]
fn compact_audit_blocks_expand_into_the_same_records() {
    let (_dir, resources) = walkthrough_resources();
    let plan = Plan::new(pipeline(walkthrough_pipeline()), resources.metrics()).unwrap();
    let mut input = String::from("date,group,fuel,Therms\n");
    for day in 1..=28 {
        // A bad number every seventh row: a failed row, and rows before and after it.
        let therms = if day % 7 == 0 {
            "x".to_owned()
        } else {
            format!("{day}.5")
        };
        input.push_str(&format!(
            "1/{day}/2022,/usa/co1/sub{},natural gas,{therms}\n",
            day % 2 + 1
        ));
    }
    let run = |audit_format| {
        let (_dir, resources) = walkthrough_resources();
        Run {
            audit: true,
            audit_format,
            chunk_rows: 10,
            ..Run::default()
        }
        .execute(&plan, input.as_bytes(), resources)
        .unwrap()
        .0
        .audits
    };
    let lines = run(AuditFormat::Lines);
    let compact = run(AuditFormat::Compact);
    let expanded = zstd_lines(&compact);
    assert_eq!(expanded, zstd_lines(&lines));
    assert_eq!(expanded.lines().count(), 24);
    // What the compressor is given: what every record repeats is written once per block.
    let compact_text = zstd::decode_all(compact.as_slice()).unwrap().len();
    assert!(
        compact_text < expanded.len(),
        "compact {compact_text} bytes, expanded {} bytes",
        expanded.len()
    );
}

/// The records of a chunk evaluated again from its bytes of the input, with the resource
/// versions the execution's look-ups found, are the records the execution made.
#[test]
fn replayed_chunks_give_the_records_the_execution_made() {
    let (_dir, resources) = walkthrough_resources();
    let plan = Plan::new(pipeline(walkthrough_pipeline()), resources.metrics()).unwrap();
    // A quoted cell over two lines, a failed row and rows in two groups.
    let mut input = String::from("date,group,fuel,Therms\n");
    for day in 1..=25 {
        let therms = match day % 9 {
            0 => "x".to_owned(),
            4 => format!("\"{day}\n\""),
            _ => format!("{day}.25"),
        };
        input.push_str(&format!(
            "1/{day}/2022,/usa/co1/sub{},natural gas,{therms}\n",
            day % 2 + 1
        ));
    }
    let (collected, outcome) = Run {
        audit: true,
        chunk_rows: 7,
        ..Run::default()
    }
    .execute(&plan, input.as_bytes(), resources)
    .unwrap();
    assert_eq!(collected.spans.len(), 4);
    let (_dir, files) = walkthrough_resources();
    let replayed = Arc::new(ReplayedResources::new(
        Arc::new(files),
        outcome.lookups.clone(),
    ));
    let options = ExecutionOptions::new("pipeline1", "execution1", "/");
    let header_end = collected.spans[0].0 as usize;
    assert_eq!(&input[..header_end], "date,group,fuel,Therms\n");
    let mut records = Vec::new();
    let mut row_12 = String::new();
    let mut rows_before = 0;
    for &(start, end, rows_read) in &collected.spans {
        let span = ChunkSpan {
            header_end: header_end as u64,
            start,
            end,
            rows_before,
            csv: CsvOptions::default(),
        };
        assert_eq!(ChunkSpan::decode(&span.encode()).unwrap().unwrap(), span);
        let rows = &input.as_bytes()[start as usize..end as usize];
        records.extend(
            replay_audits(
                &plan,
                &input.as_bytes()[..header_end],
                rows,
                &span,
                None,
                replayed.clone(),
                &options,
            )
            .unwrap(),
        );
        // One row alone: row 12, in the second chunk.
        if rows_before < 12 && 12 <= rows_before + rows_read {
            let alone = replay_audits(
                &plan,
                &input.as_bytes()[..header_end],
                rows,
                &span,
                Some(12),
                replayed.clone(),
                &options,
            )
            .unwrap();
            row_12 = String::from_utf8(alone).unwrap();
        }
        rows_before += rows_read;
    }
    let original = zstd_lines(&collected.audits);
    // 25 rows, less two bad numbers and three numbers with a line break in them.
    assert_eq!(original.lines().count(), 20);
    assert_eq!(String::from_utf8(records).unwrap(), original);
    let expected: Vec<&str> = original
        .lines()
        .filter(|l| l.contains("\"row\":12,"))
        .collect();
    assert_eq!(expected.len(), 1);
    assert_eq!(row_12, format!("{}\n", expected[0]));

    // A resource version the execution used that cannot be read any more fails the replay:
    // neither another version's evaluation nor a record with an error the execution did not
    // have.
    let mut stale = outcome.lookups.clone();
    for (_, found) in &mut stale.activities {
        if let Some(found) = found {
            found.version += 1;
        }
    }
    let (_dir, files) = walkthrough_resources();
    let span = ChunkSpan {
        header_end: header_end as u64,
        start: collected.spans[0].0,
        end: collected.spans[0].1,
        rows_before: 0,
        csv: CsvOptions::default(),
    };
    let error = replay_audits(
        &plan,
        &input.as_bytes()[..header_end],
        &input.as_bytes()[span.start as usize..span.end as usize],
        &span,
        None,
        Arc::new(ReplayedResources::new(Arc::new(files), stale)),
        &options,
    );
    let error = error.expect_err("records the execution did not make");
    assert!(
        error.to_string().contains("can no longer be read"),
        "{error}"
    );
}

/// A look-up that failed when the execution ran fails the same way when its rows are evaluated
/// again: the record shows the execution's error, and the replay is the execution's.
#[test]
fn failed_look_ups_fail_again_when_made_again() {
    let (_dir, resources) = walkthrough_resources();
    let mut definition = walkthrough_pipeline();
    let transforms = definition["transformer"]["transforms"]
        .as_array_mut()
        .unwrap();
    let index = transforms.len();
    // `sifr run` reads no other tenant's resources: every row's look-up fails.
    transforms.push(serde_json::json!({"index": index,
        "formula": "IMPACT('natural gas','ghg','co2',tenant='other')",
        "outputs": [{"index": 0, "key": "shared", "type": "number"}]}));
    let plan = Plan::new(pipeline(definition), resources.metrics()).unwrap();
    let input = "date,group,fuel,Therms\n1/3/2022,/usa/co1/sub1,natural gas,100.50\n";
    let (collected, outcome) = Run {
        audit: true,
        ..Run::default()
    }
    .execute(&plan, input.as_bytes(), resources)
    .unwrap();
    assert_eq!(outcome.lookups.failed.len(), 1, "{:?}", outcome.lookups);
    let original = zstd_lines(&collected.audits);
    assert!(original.contains("not available to sifr run"), "{original}");
    let (start, end, _) = collected.spans[0];
    let span = ChunkSpan {
        header_end: start,
        start,
        end,
        rows_before: 0,
        csv: CsvOptions::default(),
    };
    let (_dir, files) = walkthrough_resources();
    let replayed = replay_audits(
        &plan,
        &input.as_bytes()[..start as usize],
        &input.as_bytes()[start as usize..end as usize],
        &span,
        None,
        Arc::new(ReplayedResources::new(Arc::new(files), outcome.lookups)),
        &ExecutionOptions::new("pipeline1", "execution1", "/"),
    )
    .unwrap();
    assert_eq!(String::from_utf8(replayed).unwrap(), original);
}

/// An output whose formula only names a parameter is not evaluated when auditing; its record
/// still shows the evaluation SIF recorded: the parameter's value under its reference.
#[test]
fn outputs_naming_a_parameter_record_its_value() {
    let (_dir, resources) = walkthrough_resources();
    let mut definition = walkthrough_pipeline();
    let transforms = definition["transformer"]["transforms"]
        .as_array_mut()
        .unwrap();
    for (key, formula, kind) in [
        ("fuel_name", " :fuel ", "string"),
        ("therms_read", ":therms", "number"),
        ("row", ":___row_number___", "number"),
        // Not a number: the stored cell is an error, the record still shows the parameter.
        ("fuel_number", ":fuel", "number"),
    ] {
        let index = transforms.len();
        transforms.push(serde_json::json!({"index": index, "formula": formula,
            "outputs": [{"index": 0, "key": key, "type": kind}]}));
    }
    let plan = Plan::new(pipeline(definition), resources.metrics()).unwrap();
    let input = "date,group,fuel,Therms\n1/3/2022,/usa/co1/sub1,natural gas,100.50\n";
    let run = |audit_format| {
        let (_dir, resources) = walkthrough_resources();
        let audits = Run {
            audit: true,
            audit_format,
            ..Run::default()
        }
        .execute(&plan, input.as_bytes(), resources)
        .unwrap()
        .0
        .audits;
        zstd_lines(&audits)
    };
    let lines = run(AuditFormat::Lines);
    assert_eq!(run(AuditFormat::Compact), lines);
    let record: Json = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    let outputs = record["outputs"].as_array().unwrap();
    let evaluated = |key: &str| {
        outputs
            .iter()
            .find(|o| o["name"] == key)
            .map(|o| (o["evaluated"].clone(), o["result"].clone()))
            .unwrap()
    };
    assert_eq!(
        evaluated("fuel_name"),
        (
            serde_json::json!({":fuel": "natural gas"}),
            Json::from("natural gas")
        )
    );
    assert_eq!(
        evaluated("therms_read"),
        (serde_json::json!({":therms": "100.5"}), Json::from("100.5"))
    );
    assert_eq!(
        evaluated("row"),
        (
            serde_json::json!({":___row_number___": "1"}),
            Json::from("1")
        )
    );
    let failed = outputs.iter().find(|o| o["name"] == "fuel_number").unwrap();
    assert_eq!(
        failed["evaluated"],
        serde_json::json!({":fuel": "natural gas"})
    );
    assert!(failed["errorMessage"].is_string(), "{failed}");
}

fn zstd_lines(frames: &[u8]) -> String {
    let batch = sifr_engine::AuditBatch {
        records: 0,
        compressed: frames.to_vec(),
    };
    String::from_utf8(batch.decompress().unwrap()).unwrap()
}
