//! A session resolves each resource once and pins its version for every row.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rust_decimal::Decimal;
use sifr_calc::{
    Activity, Calculation, Component, Dataset, DatasetBuilder, Impact, Program, ResourceError,
    ResourceQuery, ResourceSource, Row, Schema, Session, Value,
};

/// Publishes a new version of everything on every look-up, and counts look-ups.
#[derive(Default)]
struct Publishing {
    lookups: AtomicU64,
}

impl Publishing {
    fn next_version(&self) -> u64 {
        self.lookups.fetch_add(1, Ordering::SeqCst) + 1
    }
}

impl ResourceSource for Publishing {
    fn activity(&self, _: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError> {
        let version = self.next_version();
        Ok(Some(Arc::new(Activity {
            id: "a".into(),
            name: "natural gas".into(),
            version,
            impacts: vec![Impact {
                name: "co2e".into(),
                components: vec![Component {
                    key: "co2".into(),
                    value: Decimal::from(version * 10),
                }],
            }],
        })))
    }

    fn dataset(&self, query: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError> {
        let version = self.next_version();
        let mut builder = DatasetBuilder::new(
            "d",
            &query.name,
            version,
            vec!["fuel".into(), "factor".into()],
        );
        for (fuel, factor) in [
            ("Natural Gas", "53.06"),
            ("Propane", "62.87"),
            ("Coal coke", ""),
        ] {
            builder
                .push_row(&[fuel, factor])
                .map_err(|e| ResourceError(e.to_string()))?;
        }
        Ok(Some(Arc::new(builder.finish())))
    }

    fn calculation(&self, _: &ResourceQuery) -> Result<Option<Arc<Calculation>>, ResourceError> {
        Ok(None)
    }

    fn group_exists(&self, _: &str) -> Result<bool, ResourceError> {
        Ok(true)
    }
}

fn evaluate_rows(formula: &str, values: &[&str]) -> (Vec<Value>, u64) {
    let source = Arc::new(Publishing::default());
    let session = Session::new(source.clone(), "/acme");
    let program = Program::compile(formula, &Schema::new(["fuel"])).expect("compiles");
    let results = values
        .iter()
        .map(|fuel| {
            let row = [Value::str(*fuel)];
            program
                .evaluate(&session, Row::new(&row))
                .expect("evaluates")
        })
        .collect();
    (results, source.lookups.load(Ordering::SeqCst))
}

#[test]
fn lookups_resolve_the_dataset_once_and_answer_every_value() {
    let fuels = [
        "natural gas",
        "PROPANE",
        "diesel",
        "natural gas",
        "coal coke",
        "propane",
    ];
    let (results, lookups) = evaluate_rows("LOOKUP(:fuel,'factors','fuel','factor')", &fuels);
    let texts: Vec<String> = results.iter().map(Value::to_string).collect();
    assert_eq!(texts, ["53.06", "62.87", "", "53.06", "", "62.87"]);
    assert_eq!(results[2], Value::Null, "no match is null");
    assert_eq!(
        results[4],
        Value::str(""),
        "an empty cell is an empty string"
    );
    assert_eq!(lookups, 1);
}

#[test]
fn every_row_sees_the_version_first_resolved() {
    let (results, lookups) = evaluate_rows(
        "IMPACT('natural gas','co2e','co2') + IMPACT('natural gas','co2e','co2',group='/acme')",
        &["a", "b", "c"],
    );
    // Two call sites, two different queries (the second names its group): each resolved once,
    // each keeping the version it first saw, for every row.
    assert_eq!(lookups, 2);
    for value in results {
        assert_eq!(value, Value::Number(Decimal::from(30)));
    }
}

#[test]
fn row_dependent_resource_arguments_still_pin_versions() {
    let (results, lookups) = evaluate_rows("IMPACT(:fuel,'co2e','co2')", &["natural gas"; 4]);
    assert_eq!(lookups, 1);
    assert!(
        results
            .iter()
            .all(|v| *v == Value::Number(Decimal::from(10)))
    );
}
