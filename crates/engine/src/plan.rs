//! A pipeline ready to run: validated, every formula compiled once, and the role of each output
//! (activity date, group, unique key, aggregation, metrics) resolved.

use std::collections::HashMap;
use std::fmt;

use rustc_hash::FxHashMap;

use sifr_calc::{InputType, Program, Schema};

use crate::aggregate::AggregationPlan;
use crate::definition::{Aggregate, MetricDefinition, PipelineDefinition, PipelineType, ValueType};
use crate::memo::{self, Dependencies};
use crate::metrics::MetricPlan;
use crate::validate::{self, ROW_IDENTIFIER, ROW_NUMBER};

/// A compiled pipeline.
#[derive(Debug)]
pub struct Plan {
    definition: PipelineDefinition,
    schema: Schema,
    parameters: Vec<ParameterPlan>,
    row_identifier_slot: usize,
    needs_row_identifier: bool,
    row_number_slot: usize,
    /// Per schema slot: some formula may read the parameter.
    read: Vec<bool>,
    outputs: Vec<OutputPlan>,
    /// Output key → position, for REF.
    output_positions: FxHashMap<String, usize>,
    group_output: Option<usize>,
    unique_keys: Vec<usize>,
    aggregation: Option<AggregationPlan>,
    metrics: MetricPlan,
    warnings: Vec<String>,
}

/// An input parameter.
#[derive(Clone, Debug)]
pub struct ParameterPlan {
    pub key: String,
    /// The input column it is read from.
    pub column: String,
    pub kind: ValueType,
    pub(crate) input: InputType,
    /// Its slot in the formula schema.
    pub slot: usize,
}

/// One output, in transform order.
#[derive(Debug)]
pub struct OutputPlan {
    pub key: String,
    pub kind: ValueType,
    pub formula: String,
    /// The index of its transform.
    pub transform: u32,
    pub aggregate: Option<Aggregate>,
    /// `Some(n)`: the output is unique key `key{n}` (1..=5) of the activity.
    pub unique_key: Option<usize>,
    /// Indexes (in [`Plan::metrics`]) of the metrics this output feeds.
    pub metrics: Vec<usize>,
    /// The formula calls ASSIGN_TO_GROUP: its value is the row's group.
    pub assigns_group: bool,
    pub(crate) program: Program,
    pub(crate) memo: Option<Dependencies>,
    /// The formula is this parameter slot and nothing else.
    pub(crate) parameter: Option<usize>,
}

/// A definition that cannot run; one line per problem, naming the transform, output or
/// parameter at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    pub problems: Vec<String>,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the pipeline definition is not valid:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl Plan {
    /// Validates and compiles a definition. `metrics` are the metric definitions visible to
    /// the pipeline (outputs' `metrics` must name them).
    pub fn new(
        definition: PipelineDefinition,
        metrics: &[MetricDefinition],
    ) -> Result<Plan, PlanError> {
        let mut problems = validate::validate(&definition, metrics);

        let parameter_keys = definition
            .transformer
            .parameters
            .iter()
            .map(|p| p.key.clone())
            .chain([ROW_IDENTIFIER.to_owned(), ROW_NUMBER.to_owned()]);
        let schema = Schema::new(parameter_keys);
        let row_identifier_slot = schema.slot(ROW_IDENTIFIER).unwrap_or(schema.len());
        let row_number_slot = schema.slot(ROW_NUMBER).unwrap_or(schema.len());
        let parameters = definition
            .transformer
            .parameters
            .iter()
            .map(|p| ParameterPlan {
                key: p.key.clone(),
                column: p.column().trim().to_owned(),
                kind: p.kind,
                input: InputType::from_declared(p.kind.name()),
                slot: schema.slot(&p.key).unwrap_or(0),
            })
            .collect();

        let mut transforms: Vec<_> = definition.transformer.transforms.iter().collect();
        transforms.sort_by_key(|t| t.index);
        let declared: Vec<_> = transforms
            .iter()
            .filter_map(|t| t.outputs.first().map(|o| (t, o)))
            .collect();
        let output_index: HashMap<&str, usize> = declared
            .iter()
            .enumerate()
            .map(|(i, (_, o))| (o.key.as_str(), i))
            .collect();

        let mut outputs = Vec::with_capacity(declared.len());
        let mut warnings = Vec::new();
        let mut needs_row_identifier = false;
        let mut read = vec![false; schema.len()];
        let mut unique_keys = Vec::new();
        let activities = definition.kind == PipelineType::Activities;
        for (i, (transform, output)) in declared.iter().enumerate() {
            let at = format!("transform {} (output '{}')", transform.index, output.key);
            let program = match Program::compile(&transform.formula, &schema) {
                Ok(program) => program,
                Err(error) => {
                    problems.push(format!("{at}: {error}"));
                    continue;
                }
            };
            warnings.extend(program.warnings().iter().map(|w| format!("{at}: {w}")));
            let analysis = memo::analyse(&transform.formula, &schema, i, &output_index);
            needs_row_identifier |= analysis.uses_row_identifier;
            if analysis.reads_any_parameter {
                read.fill(true);
            }
            for &slot in &analysis.params {
                read[slot] = true;
            }
            // The activity date is part of every activity's identity already.
            let unique_key = (output.is_unique() && !(activities && i == 0)).then(|| {
                unique_keys.push(i);
                unique_keys.len()
            });
            outputs.push(OutputPlan {
                key: output.key.clone(),
                kind: output.kind,
                formula: transform.formula.clone(),
                transform: transform.index,
                aggregate: output.aggregate,
                unique_key,
                metrics: Vec::new(),
                assigns_group: program.assigns_group(),
                program,
                memo: analysis.memo,
                parameter: analysis.parameter,
            });
        }

        let assigning: Vec<String> = outputs
            .iter()
            .filter(|o| o.assigns_group)
            .map(|o| o.transform.to_string())
            .collect();
        if assigning.len() > 1 {
            problems.push(format!(
                "Only one transform may contain a formula with an ASSIGN_TO_GROUP function; transforms {} do",
                assigning.join(", ")
            ));
        }
        let group_output = outputs.iter().position(|o| o.assigns_group);

        let fed: Vec<&str> = declared
            .iter()
            .flat_map(|(_, o)| o.metric_names().iter().map(String::as_str))
            .collect();
        let metric_plan = match MetricPlan::new(metrics, &fed) {
            Ok(plan) => plan,
            Err(more) => {
                problems.extend(more);
                MetricPlan::default()
            }
        };
        for (output, (_, declared)) in outputs.iter_mut().zip(&declared) {
            output.metrics = declared
                .metric_names()
                .iter()
                .filter_map(|name| metric_plan.index(name))
                .collect();
            output.metrics.sort_unstable();
            output.metrics.dedup();
        }

        let aggregation = activities.then(|| aggregation_plan(&outputs)).flatten();

        if !problems.is_empty() {
            return Err(PlanError { problems });
        }
        let output_positions = outputs
            .iter()
            .enumerate()
            .map(|(i, o)| (o.key.clone(), i))
            .collect();
        Ok(Plan {
            output_positions,
            read,
            definition,
            schema,
            parameters,
            row_identifier_slot,
            needs_row_identifier,
            row_number_slot,
            outputs,
            group_output,
            unique_keys,
            aggregation,
            metrics: metric_plan,
            warnings,
        })
    }

    pub fn definition(&self) -> &PipelineDefinition {
        &self.definition
    }

    pub fn kind(&self) -> PipelineType {
        self.definition.kind
    }

    pub fn parameters(&self) -> &[ParameterPlan] {
        &self.parameters
    }

    pub fn outputs(&self) -> &[OutputPlan] {
        &self.outputs
    }

    /// The output holding the activity date (activities pipelines): the first.
    pub fn date_output(&self) -> Option<usize> {
        (self.kind() == PipelineType::Activities && !self.outputs.is_empty()).then_some(0)
    }

    /// The output whose value is the row's group (it calls ASSIGN_TO_GROUP).
    pub fn group_output(&self) -> Option<usize> {
        self.group_output
    }

    /// The outputs that are unique keys, in key order (`key1` first).
    pub fn unique_keys(&self) -> &[usize] {
        &self.unique_keys
    }

    pub fn aggregation(&self) -> Option<&AggregationPlan> {
        self.aggregation.as_ref()
    }

    pub fn metrics(&self) -> &MetricPlan {
        &self.metrics
    }

    /// Formulas that compile but probably do not mean what they say (ignored trailing text).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The position of the output named `key`.
    pub fn output_position(&self, key: &str) -> Option<usize> {
        self.output_positions.get(key).copied()
    }

    pub(crate) fn row_identifier_slot(&self) -> usize {
        self.row_identifier_slot
    }

    pub(crate) fn row_number_slot(&self) -> usize {
        self.row_number_slot
    }

    /// Some formula may read the parameter in `slot`.
    pub(crate) fn reads(&self, slot: usize) -> bool {
        self.read.get(slot).copied().unwrap_or(true)
    }

    /// Some formula reads the row identifier, so every row must build it.
    pub(crate) fn needs_row_identifier(&self) -> bool {
        self.needs_row_identifier
    }
}

fn aggregation_plan(outputs: &[OutputPlan]) -> Option<AggregationPlan> {
    let period = outputs
        .iter()
        .position(|o| o.aggregate == Some(Aggregate::GroupBy) && o.kind == ValueType::Timestamp)?;
    let dimensions = outputs
        .iter()
        .enumerate()
        .filter(|&(i, o)| i != period && o.aggregate == Some(Aggregate::GroupBy))
        .map(|(i, _)| i)
        .collect();
    let measures = outputs
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o.aggregate {
            Some(Aggregate::GroupBy) | None => None,
            Some(function) => Some((i, function)),
        })
        .collect();
    Some(AggregationPlan {
        period,
        dimensions,
        measures,
    })
}
