//! The conformance corpus: every vector that documents intended behaviour must pass; vectors
//! that record accidents of the original implementation (quirks) must each be explained in
//! docs/compatibility.md, whether sifr reproduces them or not.

use sifr_calc::corpus;

const CORPUS: &str = include_str!("data/calculator-vectors.json");
const COMPATIBILITY: &str = include_str!("../../../docs/compatibility.md");

#[test]
fn every_non_quirk_vector_passes() {
    let vectors = corpus::parse(CORPUS).expect("the corpus parses");
    assert!(vectors.len() > 300, "the whole corpus is loaded");
    let outcomes = corpus::run(&vectors);
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.quirk && !o.passed)
        .map(|o| format!("{}: {}", o.id, o.mismatch.as_deref().unwrap_or("")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        outcomes.iter().filter(|o| !o.quirk).count(),
        failures.join("\n")
    );
}

#[test]
fn every_quirk_vector_is_documented() {
    let vectors = corpus::parse(CORPUS).expect("the corpus parses");
    let outcomes = corpus::run(&vectors);
    let undocumented: Vec<String> = outcomes
        .iter()
        .filter(|o| o.quirk)
        .filter(|o| !COMPATIBILITY.contains(&format!("`{}`", o.id)))
        .map(|o| {
            let behaviour = if o.passed { "reproduced" } else { "differs" };
            format!("{} ({behaviour})", o.id)
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "quirk vectors missing from docs/compatibility.md: {}",
        undocumented.join(", ")
    );
}

#[test]
fn unflagged_quirks_differ_only_where_the_flagged_quirk_does() {
    let vectors = corpus::parse(CORPUS).expect("the corpus parses");
    for (id, flagged) in corpus::UNFLAGGED_QUIRKS {
        let vector = vectors
            .iter()
            .find(|v| v.id == *id)
            .expect("listed vectors exist");
        let outcome = corpus::run_vector(vector);
        // lookup-03: the audit of a versionAsAt LOOKUP names the version actually used.
        let mismatch = outcome.mismatch.unwrap_or_default();
        assert!(
            mismatch.starts_with("audit 'referenceDatasets' differs"),
            "{id} (like {flagged}) should differ only in the LOOKUP audit version: {mismatch}"
        );
        assert!(COMPATIBILITY.contains(&format!("`{id}`")));
    }
}
