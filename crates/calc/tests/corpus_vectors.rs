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

/// Where docs/compatibility.md says sifr differs from a quirk, it does so as described.
#[test]
fn documented_divergences_hold() {
    let vectors = corpus::parse(CORPUS).expect("the corpus parses");
    let result = |id: &str| {
        let vector = vectors
            .iter()
            .find(|v| v.id == id)
            .expect("the vector exists");
        let outcome = corpus::run_vector(vector);
        assert!(!outcome.passed, "{id} is documented as differing from SIF");
        outcome
            .actual
            .or(outcome.error)
            .expect("a result or an error")
    };
    // Rounding uses the zone's offset at the rounded date: March 1, 2022 00:00 in Denver (MST).
    assert_eq!(result("ts-d-04"), "1646118000000");
    // Line breaks separate statements; empty lines and a final line break change nothing.
    assert_eq!(result("var-d-err-07"), "3");
    assert_eq!(result("var-d-err-06"), "1");
    // Whole-token substitution in calculation calls.
    assert_eq!(result("custom-d-08"), "3");
    // JSON text without HTML escapes.
    assert_eq!(result("split-d-14"), r#"["a=b","c<d"]"#);
    // Single blanks are separators.
    assert_eq!(result("lex-d-err-01"), "1");
    // The documented option spelling is accepted.
    assert_eq!(result("convert-d-err-01"), "100");
    // CAML is not provided.
    assert!(result("caml-01").contains("CaML feature is not enabled"));
}
