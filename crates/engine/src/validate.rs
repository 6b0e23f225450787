//! The rules a pipeline definition must satisfy before it runs (SIF §2.3). Every problem is
//! collected, each naming the transform, output or parameter at fault.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::definition::{
    Aggregate, MetricDefinition, Output, PipelineDefinition, PipelineType, ValueType,
};

/// The synthetic parameter holding a row's identifier.
pub const ROW_IDENTIFIER: &str = "___row_identifier___";

/// The synthetic parameter holding a row's 1-based number in the input (a sifr addition): a
/// unique key for inputs whose rows have no identity of their own, such as utility bills.
pub const ROW_NUMBER: &str = "___row_number___";

/// At most this many outputs may be part of an activity's identity.
pub const MAX_UNIQUE_OUTPUTS: usize = 5;

/// Checks a definition; `metrics` are the metric definitions that output `metrics` may name.
pub fn validate(definition: &PipelineDefinition, metrics: &[MetricDefinition]) -> Vec<String> {
    let mut problems = Vec::new();
    let kind = definition.kind;
    let transformer = &definition.transformer;

    check_parameters(definition, &mut problems);

    if transformer.transforms.is_empty() {
        problems.push("transformer.transforms: a pipeline needs at least one transform".into());
        return problems;
    }
    let mut indexes: Vec<u32> = transformer.transforms.iter().map(|t| t.index).collect();
    indexes.sort_unstable();
    if indexes
        .iter()
        .enumerate()
        .any(|(i, &index)| index as usize != i)
    {
        problems.push(format!(
            "transformer.transforms: transform indexes must run 0, 1, 2, ... without gaps or repeats; found {}",
            indexes
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let mut seen_keys: HashMap<&str, u32> = HashMap::new();
    for transform in &transformer.transforms {
        let at = format!("transform {}", transform.index);
        if transform.formula.trim().is_empty() {
            problems.push(format!("{at}: the formula is empty"));
        }
        if transform.outputs.len() != 1 {
            problems.push(format!(
                "{at}: has {} outputs; each transform has exactly one output",
                transform.outputs.len()
            ));
        }
        for output in &transform.outputs {
            if output.key.trim().is_empty() {
                problems.push(format!("{at}: the output key is empty"));
                continue;
            }
            if let Some(first) = seen_keys.insert(&output.key, transform.index) {
                problems.push(format!(
                    "{at}: output key '{}' is already the output of transform {first}; output keys must be unique",
                    output.key
                ));
            }
        }
    }

    let first_index = indexes.first().copied().unwrap_or(0);
    let later: Vec<(u32, &Output)> = outputs(definition)
        .filter(|(index, _)| *index != first_index)
        .collect();
    let unique = later.iter().filter(|(_, o)| o.is_unique()).count();
    if unique > MAX_UNIQUE_OUTPUTS {
        problems.push(format!(
            "{unique} outputs have includeAsUnique; at most {MAX_UNIQUE_OUTPUTS} outputs (after the first transform) may"
        ));
    }
    if !later.is_empty() && unique == later.len() && kind != PipelineType::ReferenceDatasets {
        problems.push(
            "every output after the first transform has includeAsUnique; at least one must be a plain value".into(),
        );
    }

    match kind {
        PipelineType::Activities => check_activities(definition, metrics, &mut problems),
        PipelineType::Data | PipelineType::Impacts | PipelineType::ReferenceDatasets => {
            for (index, output) in outputs(definition) {
                if output.aggregate.is_some() {
                    problems.push(format!(
                        "transform {index} (output '{}'): a {} pipeline does not aggregate; remove `aggregate`",
                        output.key,
                        kind.name()
                    ));
                }
                if !output.metric_names().is_empty() {
                    problems.push(format!(
                        "transform {index} (output '{}'): a {} pipeline does not feed metrics; remove `metrics`",
                        output.key,
                        kind.name()
                    ));
                }
            }
            if kind == PipelineType::Impacts {
                check_impact_keys(definition, &mut problems);
            }
            if kind == PipelineType::ReferenceDatasets {
                for required in ["name", "description"] {
                    if !outputs(definition).any(|(_, o)| o.key == required) {
                        problems.push(format!(
                            "a referenceDatasets pipeline needs an output with key '{required}'"
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// Every output with its transform's index, in definition order.
fn outputs(definition: &PipelineDefinition) -> impl Iterator<Item = (u32, &Output)> {
    definition
        .transformer
        .transforms
        .iter()
        .flat_map(|t| t.outputs.iter().map(move |o| (t.index, o)))
}

fn check_parameters(definition: &PipelineDefinition, problems: &mut Vec<String>) {
    let parameters = &definition.transformer.parameters;
    if definition.kind == PipelineType::ReferenceDatasets {
        if !parameters.is_empty() {
            problems.push(
                "transformer.parameters: a referenceDatasets pipeline takes the uploaded file as it is and has no parameters".into(),
            );
        }
        return;
    }
    if parameters.is_empty() {
        problems.push(format!(
            "transformer.parameters: a {} pipeline needs at least one parameter",
            definition.kind.name()
        ));
    }
    let mut keys = HashSet::new();
    let mut columns = HashSet::new();
    for (i, parameter) in parameters.iter().enumerate() {
        if parameter.key.trim().is_empty() {
            problems.push(format!("parameter {i}: the key is empty"));
            continue;
        }
        if parameter.key == ROW_IDENTIFIER || parameter.key == ROW_NUMBER {
            problems.push(format!(
                "parameter {i}: the key '{}' is reserved for the row's identity",
                parameter.key
            ));
        }
        if !keys.insert(parameter.key.as_str()) {
            problems.push(format!(
                "parameter '{}': the key is declared more than once",
                parameter.key
            ));
        }
        if !columns.insert(parameter.column().trim()) {
            problems.push(format!(
                "parameter '{}': another parameter already reads the column '{}'",
                parameter.key,
                parameter.column()
            ));
        }
    }
}

fn check_activities(
    definition: &PipelineDefinition,
    metrics: &[MetricDefinition],
    problems: &mut Vec<String>,
) {
    let first = definition
        .transformer
        .transforms
        .iter()
        .min_by_key(|t| t.index);
    if let Some(output) = first.and_then(|t| t.outputs.first()) {
        if output.kind != ValueType::Timestamp {
            problems.push(format!(
                "transform 0 (output '{}'): the first output of an activities pipeline is the activity date and must be of type timestamp, not {}",
                output.key,
                output.kind.name()
            ));
        }
        if !output.metric_names().is_empty() {
            problems.push(format!(
                "transform 0 (output '{}'): the activity date cannot feed a metric",
                output.key
            ));
        }
    }

    let aggregated: Vec<(u32, &Output)> = outputs(definition)
        .filter(|(_, o)| o.aggregate.is_some())
        .collect();
    if !aggregated.is_empty() {
        let periods = aggregated
            .iter()
            .filter(|(_, o)| {
                o.aggregate == Some(Aggregate::GroupBy) && o.kind == ValueType::Timestamp
            })
            .count();
        if periods != 1 {
            problems.push(format!(
                "an aggregating pipeline needs exactly one timestamp output with aggregate 'groupBy' (the period of each aggregated row); found {periods}"
            ));
        }
        for (index, output) in &aggregated {
            let function = output.aggregate.unwrap_or(Aggregate::GroupBy);
            if !matches!(function, Aggregate::GroupBy | Aggregate::Count)
                && output.kind != ValueType::Number
            {
                problems.push(format!(
                    "transform {index} (output '{}'): aggregate '{}' applies to number outputs only, and this output is {}",
                    output.key,
                    function.name(),
                    output.kind.name()
                ));
            }
        }
        let measured = aggregated.iter().any(|(_, o)| {
            o.kind == ValueType::Number
                && matches!(
                    o.aggregate,
                    Some(Aggregate::Sum | Aggregate::Mean | Aggregate::Min | Aggregate::Max)
                )
        });
        if !measured {
            problems.push(
                "an aggregating pipeline needs at least one number output aggregated with sum, mean, min or max".into(),
            );
        }
    }

    let by_name: HashMap<&str, &MetricDefinition> =
        metrics.iter().map(|m| (m.name.as_str(), m)).collect();
    let fed_by_metrics: HashSet<&str> = metrics
        .iter()
        .flat_map(|m| m.output_metrics.iter().map(String::as_str))
        .collect();
    for (index, output) in outputs(definition) {
        for name in output.metric_names() {
            let at = format!("transform {index} (output '{}')", output.key);
            if !by_name.contains_key(name.as_str()) {
                problems.push(format!("{at}: feeds metric '{name}', which is not defined"));
            } else if fed_by_metrics.contains(name.as_str()) {
                problems.push(format!(
                    "{at}: metric '{name}' is fed by other metrics (their outputMetrics name it), so a pipeline cannot feed it"
                ));
            }
            if output.kind != ValueType::Number {
                problems.push(format!(
                    "{at}: feeds metric '{name}', but a metric sums numbers and this output is {}",
                    output.kind.name()
                ));
            }
        }
    }
}

/// Impacts pipelines name their outputs after the impact they define:
/// `activity:name`, `activity:description`, `activity:attribute:<k>`, `activity:tag:<k>`,
/// `impact:<i>:name`, `impact:<i>:attribute:<k>`, `impact:<i>:component:<c>:key|type|value`.
fn check_impact_keys(definition: &PipelineDefinition, problems: &mut Vec<String>) {
    let mut has_activity_name = false;
    // impact key → (has name, component key → parts seen)
    let mut impacts: BTreeMap<&str, (bool, BTreeMap<&str, HashSet<&str>>)> = BTreeMap::new();
    for (index, output) in outputs(definition) {
        let parts: Vec<&str> = output.key.split(':').collect();
        let known = match parts.as_slice() {
            ["activity", "name"] => {
                has_activity_name = true;
                true
            }
            ["activity", "description"] => true,
            ["activity", "attribute" | "tag", k] => !k.is_empty(),
            ["impact", i, "name"] if !i.is_empty() => {
                impacts.entry(i).or_default().0 = true;
                true
            }
            ["impact", i, "attribute", k] => {
                impacts.entry(i).or_default();
                !i.is_empty() && !k.is_empty()
            }
            [
                "impact",
                i,
                "component",
                c,
                part @ ("key" | "type" | "value"),
            ] if !i.is_empty() && !c.is_empty() => {
                impacts
                    .entry(i)
                    .or_default()
                    .1
                    .entry(c)
                    .or_default()
                    .insert(part);
                true
            }
            _ => false,
        };
        if !known {
            problems.push(format!(
                "transform {index} (output '{}'): an impacts pipeline names outputs activity:name, activity:description, activity:attribute:<key>, activity:tag:<key>, impact:<impact>:name, impact:<impact>:attribute:<key> or impact:<impact>:component:<component>:key|type|value",
                output.key
            ));
        }
    }
    if !has_activity_name {
        problems.push("an impacts pipeline needs an output with key 'activity:name'".into());
    }
    for (impact, (has_name, components)) in &impacts {
        if !has_name {
            problems.push(format!(
                "impact '{impact}' needs an output with key 'impact:{impact}:name'"
            ));
        }
        if components.is_empty() {
            problems.push(format!(
                "impact '{impact}' needs at least one component (outputs impact:{impact}:component:<component>:key, :type and :value)"
            ));
        }
        for (component, parts) in components {
            for part in ["key", "type", "value"] {
                if !parts.contains(part) {
                    problems.push(format!(
                        "impact '{impact}' component '{component}' needs an output with key 'impact:{impact}:component:{component}:{part}'"
                    ));
                }
            }
        }
    }
}
