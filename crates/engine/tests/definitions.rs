//! Pipeline definitions: SIF's JSON shape, the rules of SIF §2.3, and compile errors, each
//! naming the transform, output or parameter at fault.

use serde_json::json;
use sifr_engine::{PipelineDefinition, Plan};

use crate::common::*;

fn problems(definition: serde_json::Value, metric_definitions: serde_json::Value) -> Vec<String> {
    Plan::new(pipeline(definition), &metrics(metric_definitions))
        .err()
        .map(|e| e.problems)
        .unwrap_or_default()
}

fn transform(index: u32, formula: &str, output: serde_json::Value) -> serde_json::Value {
    json!({"index": index, "formula": formula, "outputs": [output]})
}

#[test]
fn json_shape_errors_name_the_field() {
    let error = PipelineDefinition::from_json(
        r#"{"transformer": {"parameters": [], "transforms": [{"index": 0, "formula": "1", "outputs": [{"key": "a", "type": "text"}]}]}}"#,
    )
    .unwrap_err();
    assert!(
        error
            .message
            .starts_with("transformer.transforms[0].outputs[0].type: unknown variant `text`"),
        "{}",
        error.message
    );
    let error = PipelineDefinition::from_json(r#"{"type": "activities"}"#).unwrap_err();
    assert!(
        error.message.contains("missing field `transformer`"),
        "{}",
        error.message
    );
}

#[test]
fn activities_rules_name_the_transform_and_output() {
    let definition = json!({
        "transformer": {
            "parameters": [{"key": "a", "type": "number"}, {"key": "a", "label": "A2", "type": "string"}],
            "transforms": [
                transform(0, ":a", json!({"key": "when", "type": "number", "metrics": ["m"]})),
                transform(1, ":a", json!({"key": "x", "type": "string", "aggregate": "sum"})),
                transform(3, ":a", json!({"key": "x", "type": "number"})),
                transform(4, "ASSIGN_TO_GROUP('/a')", json!({"key": "g1", "type": "string"})),
                transform(5, "ASSIGN_TO_GROUP('/b')", json!({"key": "g2", "type": "string"})),
                transform(6, "1 +* 2", json!({"key": "broken", "type": "number"})),
                {"index": 7, "formula": "1", "outputs": []}
            ]
        }
    });
    let found = problems(definition, json!([{"name": "m"}]));
    let expected = [
        "parameter 'a': the key is declared more than once",
        "transformer.transforms: transform indexes must run 0, 1, 2, ... without gaps or repeats; found 0, 1, 3, 4, 5, 6, 7",
        "transform 3: output key 'x' is already the output of transform 1; output keys must be unique",
        "transform 7: has 0 outputs; each transform has exactly one output",
        "transform 0 (output 'when'): the first output of an activities pipeline is the activity date and must be of type timestamp, not number",
        "transform 0 (output 'when'): the activity date cannot feed a metric",
        "an aggregating pipeline needs exactly one timestamp output with aggregate 'groupBy' (the period of each aggregated row); found 0",
        "transform 1 (output 'x'): aggregate 'sum' applies to number outputs only, and this output is string",
        "an aggregating pipeline needs at least one number output aggregated with sum, mean, min or max",
    ];
    for problem in expected {
        assert!(
            found.iter().any(|p| p == problem),
            "missing {problem:?} in {found:#?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("transform 6 (output 'broken'): Line 1:")),
        "{found:#?}"
    );
    assert!(found.contains(
        &"Only one transform may contain a formula with an ASSIGN_TO_GROUP function; transforms 4, 5 do".to_owned()
    ));
}

#[test]
fn unique_keys_are_limited() {
    let mut transforms = vec![transform(
        0,
        "0",
        json!({"key": "time", "type": "timestamp"}),
    )];
    for i in 1..=6 {
        transforms.push(transform(
            i,
            "'k'",
            json!({"key": format!("k{i}"), "type": "string", "includeAsUnique": true}),
        ));
    }
    let definition = json!({"transformer": {"parameters": [{"key": "a", "type": "string"}], "transforms": transforms}});
    assert_eq!(
        problems(definition, json!([])),
        [
            "6 outputs have includeAsUnique; at most 5 outputs (after the first transform) may",
            "every output after the first transform has includeAsUnique; at least one must be a plain value",
        ]
    );
}

#[test]
fn other_pipeline_types_have_their_own_rules() {
    let data = json!({
        "type": "data",
        "transformer": {
            "parameters": [],
            "transforms": [transform(0, "1", json!({"key": "a", "type": "number", "aggregate": "sum", "metrics": ["m"]}))]
        }
    });
    assert_eq!(
        problems(data, json!([{"name": "m"}])),
        [
            "transformer.parameters: a data pipeline needs at least one parameter",
            "transform 0 (output 'a'): a data pipeline does not aggregate; remove `aggregate`",
            "transform 0 (output 'a'): a data pipeline does not feed metrics; remove `metrics`",
        ]
    );
    let impacts = json!({
        "type": "impacts",
        "transformer": {
            "parameters": [{"key": "a", "type": "string"}],
            "transforms": [
                transform(0, ":a", json!({"key": "activity:name", "type": "string"})),
                transform(1, "'x'", json!({"key": "impact:co2e:component:co2:key", "type": "string"})),
                transform(2, "1", json!({"key": "impact:co2e:component:co2:value", "type": "number"})),
                transform(3, "1", json!({"key": "factor", "type": "number"}))
            ]
        }
    });
    assert_eq!(
        problems(impacts, json!([])),
        [
            "transform 3 (output 'factor'): an impacts pipeline names outputs activity:name, activity:description, activity:attribute:<key>, activity:tag:<key>, impact:<impact>:name, impact:<impact>:attribute:<key> or impact:<impact>:component:<component>:key|type|value",
            "impact 'co2e' needs an output with key 'impact:co2e:name'",
            "impact 'co2e' component 'co2' needs an output with key 'impact:co2e:component:co2:type'",
        ]
    );
    let reference = json!({
        "type": "referenceDatasets",
        "transformer": {
            "parameters": [{"key": "a", "type": "string"}],
            "transforms": [transform(0, "'fuels'", json!({"key": "name", "type": "string"}))]
        }
    });
    assert_eq!(
        problems(reference, json!([])),
        [
            "transformer.parameters: a referenceDatasets pipeline takes the uploaded file as it is and has no parameters",
            "a referenceDatasets pipeline needs an output with key 'description'",
        ]
    );
}

#[test]
fn a_valid_plan_resolves_roles_and_reports_warnings() {
    let definition = json!({
        "transformer": {
            "parameters": [{"key": "d", "type": "number"}, {"key": "v", "type": "number"}],
            "transforms": [
                transform(0, ":d", json!({"key": "time", "type": "timestamp", "aggregate": "groupBy"})),
                transform(1, ":v+1)*2", json!({"key": "v1", "type": "number", "aggregate": "max"}))
            ]
        }
    });
    let plan = Plan::new(pipeline(definition), &[]).unwrap();
    assert_eq!(plan.date_output(), Some(0));
    assert_eq!(plan.group_output(), None);
    let aggregation = plan.aggregation().unwrap();
    assert_eq!((aggregation.period, aggregation.measures.len()), (0, 1));
    assert_eq!(plan.warnings().len(), 1);
    assert!(
        plan.warnings()[0].starts_with("transform 1 (output 'v1'): Line 1:"),
        "{:?}",
        plan.warnings()
    );
}
