//! Conformance corpora: formulas with their inputs, stubbed resources and expected results, in
//! the JSON format of the language's reference corpus. Each vector is compiled and evaluated
//! with an audit, and its result, error and audit compared with the expectation.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::audit::{Audit, ResourceUse};
use crate::compile::{Program, Schema};
use crate::eval::{Row, Session};
use crate::number;
use crate::resources::{
    Activity, Calculation, CalculationParameter, Component, Dataset, DatasetBuilder, Impact,
    ResourceError, ResourceQuery, ResourceSource, VersionSelector,
};
use crate::value::{InputType, Value};

/// One vector of a corpus.
#[derive(Clone, Debug, Deserialize)]
pub struct Vector {
    pub id: String,
    pub expression: String,
    #[serde(default)]
    pub parameters: Map<String, serde_json::Value>,
    /// Declared types for parameters given as raw input text.
    #[serde(default)]
    pub parameter_types: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub context: Context,
    pub expected_error: Option<String>,
    #[serde(default)]
    pub expected: serde_json::Value,
    pub expected_type: Option<String>,
    pub expected_string: Option<String>,
    pub expected_output_type: Option<String>,
    pub expected_audit: Option<ExpectedAudit>,
    /// The expectation records an accident of the original implementation.
    #[serde(default)]
    pub quirk: bool,
    #[serde(default)]
    pub notes: String,
}

/// Stub resources and row context of a vector.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    pub group_context_id: Option<String>,
    #[serde(default)]
    pub refs: Map<String, serde_json::Value>,
    #[serde(default)]
    pub impacts: Vec<StubActivity>,
    #[serde(default)]
    pub datasets: Vec<StubDataset>,
    #[serde(default)]
    pub calculations: Vec<StubCalculation>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Where a stub applies: without `group` in every group, without `tenant` only to calls that
/// name no tenant.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StubScope {
    pub version: u64,
    pub group: Option<String>,
    pub tenant: Option<String>,
    pub active_at: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StubActivity {
    pub activity: String,
    #[serde(flatten)]
    pub scope: StubScope,
    /// Impact name → component key → decimal text.
    pub impacts: Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StubDataset {
    pub name: String,
    #[serde(flatten)]
    pub scope: StubScope,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StubCalculation {
    pub name: String,
    #[serde(flatten)]
    pub scope: StubScope,
    pub formula: String,
    #[serde(default)]
    pub parameters: Vec<StubParameter>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StubParameter {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedAudit {
    pub evaluated: Option<BTreeMap<String, String>>,
    pub activities: Option<Vec<ResourceUse>>,
    pub calculations: Option<Vec<ResourceUse>>,
    pub reference_datasets: Option<Vec<ResourceUse>>,
}

/// The result of running one vector.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub id: String,
    pub quirk: bool,
    pub passed: bool,
    /// The canonical text of the result, when evaluation succeeded.
    pub actual: Option<String>,
    /// The error, when compiling or evaluating failed.
    pub error: Option<String>,
    /// What differed from the expectation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
}

/// Parses a corpus file's text.
pub fn parse(text: &str) -> Result<Vec<Vector>, serde_json::Error> {
    serde_json::from_str(text)
}

/// Runs every vector of a corpus.
pub fn run(vectors: &[Vector]) -> Vec<Outcome> {
    vectors.iter().map(run_vector).collect()
}

/// Vectors whose expectation records an upstream bug that the corpus flags as a quirk in
/// another vector, without flagging this one: vector id → the flagged vector. They are run and
/// reported like quirks; docs/compatibility.md explains each.
pub const UNFLAGGED_QUIRKS: &[(&str, &str)] = &[("feat-ver-03", "lookup-03")];

pub fn run_vector(vector: &Vector) -> Outcome {
    let result = evaluate_vector(vector);
    let (actual, error) = match &result {
        Ok(evaluation) => (evaluation.value.text(), None),
        Err(e) => (None, Some(e.clone())),
    };
    let mismatch = check(vector, &result).err();
    Outcome {
        id: vector.id.clone(),
        quirk: vector.quirk || UNFLAGGED_QUIRKS.iter().any(|(id, _)| *id == vector.id),
        passed: mismatch.is_none(),
        actual,
        error,
        mismatch,
    }
}

/// The result of evaluating a formula with stubbed resources.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub value: Value,
    pub audit: Audit,
    /// The formula calls ASSIGN_TO_GROUP.
    pub assigns_group: bool,
    pub warnings: Vec<String>,
}

fn evaluate_vector(vector: &Vector) -> Result<Evaluation, String> {
    let params = vector
        .parameters
        .iter()
        .map(|(name, value)| {
            let declared = vector
                .parameter_types
                .as_ref()
                .and_then(|types| types.get(name));
            parameter(value, declared.map(String::as_str))
                .map(|value| (name.clone(), value))
                .map_err(|e| format!("parameter '{name}': {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    evaluate(&vector.expression, &params, &vector.context)
}

/// Compiles and evaluates a formula with named parameter values and the stub resources of a
/// context, recording an audit.
pub fn evaluate(
    expression: &str,
    params: &[(String, Value)],
    context: &Context,
) -> Result<Evaluation, String> {
    let schema = Schema::new(params.iter().map(|(name, _)| name.as_str()));
    let values: Vec<Value> = params.iter().map(|(_, value)| value.clone()).collect();
    let refs: HashMap<String, Value> = context
        .refs
        .iter()
        .map(|(k, v)| parameter(v, None).map(|v| (k.clone(), v)))
        .collect::<Result<_, _>>()?;
    let program = Program::compile(expression, &schema).map_err(|e| e.to_string())?;
    let group = context
        .group_context_id
        .clone()
        .unwrap_or_else(|| "/test".to_owned());
    let session = Session::new(Arc::new(StubSource::new(context)?), group);
    let mut audit = Audit::default();
    let row = Row {
        params: &values,
        refs: &refs,
    };
    let value = program
        .evaluate_audited(&session, row, &mut audit)
        .map_err(|e| e.to_string())?;
    Ok(Evaluation {
        value,
        audit,
        assigns_group: program.assigns_group(),
        warnings: program.warnings().to_vec(),
    })
}

/// A JSON value as a parameter: numbers from their literal text, or raw input text read as the
/// declared type.
pub fn parameter(value: &serde_json::Value, declared: Option<&str>) -> Result<Value, String> {
    if let Some(kind) = declared {
        let text = match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        return Value::from_input(text.as_deref(), InputType::from_declared(kind))
            .map_err(|e| e.to_string());
    }
    Ok(match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Number(n) => match number::parse_input(&n.to_string()) {
            Some(Ok(n)) => Value::Number(n),
            _ => return Err(format!("{n} is out of range")),
        },
        other => Value::str(other.to_string()),
    })
}

fn check(vector: &Vector, result: &Result<Evaluation, String>) -> Result<(), String> {
    let evaluation = match (result, &vector.expected_error) {
        (Err(error), Some(expected)) if error.contains(expected.as_str()) => return Ok(()),
        (Err(error), Some(expected)) => {
            return Err(format!(
                "expected an error containing {expected:?}, got {error:?}"
            ));
        }
        (Err(error), None) => return Err(format!("expected a result, got the error {error:?}")),
        (Ok(found), Some(expected)) => {
            return Err(format!(
                "expected an error containing {expected:?}, got the {} {:?}",
                found.value.kind().name(),
                found.value.to_string()
            ));
        }
        (Ok(found), None) => found,
    };
    check_value(vector, &evaluation.value)?;
    if vector.expected_output_type.as_deref() == Some("groupId") && !evaluation.assigns_group {
        return Err("expected a group-id output".to_owned());
    }
    if let Some(expected) = &vector.expected_audit {
        check_audit(expected, &evaluation.audit)?;
    }
    Ok(())
}

fn check_value(vector: &Vector, value: &Value) -> Result<(), String> {
    let expected_kind = vector.expected_type.as_deref().unwrap_or("");
    let kind_matches = matches!(
        (expected_kind, value),
        ("number", Value::Number(_))
            | ("string", Value::Str(_))
            | ("boolean", Value::Bool(_))
            | ("null", Value::Null)
            | ("absent", Value::Absent)
            | ("list", Value::List(_))
            | ("json", Value::Json(_))
    );
    if !kind_matches {
        return Err(format!(
            "expected a {expected_kind}, got the {} {:?}",
            value.kind().name(),
            value.to_string()
        ));
    }
    let expected_text = match &vector.expected_string {
        Some(text) => text.clone(),
        None => match &vector.expected {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        },
    };
    let actual = value.to_string();
    if actual != expected_text {
        return Err(format!("expected {expected_text:?}, got {actual:?}"));
    }
    Ok(())
}

fn check_audit(expected: &ExpectedAudit, audit: &Audit) -> Result<(), String> {
    if let Some(evaluated) = &expected.evaluated {
        let actual: BTreeMap<String, String> = audit
            .evaluated
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        if &actual != evaluated {
            return Err(format!(
                "audit 'evaluated' differs: expected {evaluated:?}, got {actual:?}"
            ));
        }
    }
    let uses = [
        ("activities", &expected.activities, &audit.activities),
        ("calculations", &expected.calculations, &audit.calculations),
        (
            "referenceDatasets",
            &expected.reference_datasets,
            &audit.reference_datasets,
        ),
    ];
    for (name, expected, actual) in uses {
        let Some(expected) = expected else { continue };
        let mut expected = expected.clone();
        let mut actual = actual.clone();
        expected.sort();
        actual.sort();
        if expected != actual {
            return Err(format!(
                "audit '{name}' differs: expected {expected:?}, got {actual:?}"
            ));
        }
    }
    Ok(())
}

/// Resources from a vector's context.
struct StubSource {
    activities: Vec<(StubScope, Arc<Activity>)>,
    datasets: Vec<(StubScope, Arc<Dataset>)>,
    calculations: Vec<(StubScope, Arc<Calculation>)>,
    groups: Vec<String>,
}

impl StubSource {
    fn new(context: &Context) -> Result<Self, String> {
        let activities = context
            .impacts
            .iter()
            .map(|stub| Ok((stub.scope.clone(), Arc::new(stub_activity(stub)?))))
            .collect::<Result<_, String>>()?;
        let datasets = context
            .datasets
            .iter()
            .map(|stub| {
                let mut builder = DatasetBuilder::new(
                    &format!("id-{}", stub.name),
                    &stub.name,
                    stub.scope.version,
                    stub.headers.clone(),
                );
                for row in &stub.rows {
                    builder.push_row(row).map_err(|e| e.to_string())?;
                }
                Ok((stub.scope.clone(), Arc::new(builder.finish())))
            })
            .collect::<Result<_, String>>()?;
        let calculations = context
            .calculations
            .iter()
            .map(|stub| {
                let calculation = Calculation {
                    id: format!("id-{}", stub.name),
                    name: stub.name.clone(),
                    version: stub.scope.version,
                    formula: stub.formula.clone(),
                    parameters: stub
                        .parameters
                        .iter()
                        .map(|p| CalculationParameter {
                            key: p.key.clone(),
                            kind: p.kind.clone(),
                        })
                        .collect(),
                };
                (stub.scope.clone(), Arc::new(calculation))
            })
            .collect();
        Ok(StubSource {
            activities,
            datasets,
            calculations,
            groups: context.groups.clone(),
        })
    }
}

fn stub_activity(stub: &StubActivity) -> Result<Activity, String> {
    let mut impacts = Vec::new();
    for (name, components) in &stub.impacts {
        let components = components
            .as_object()
            .ok_or_else(|| format!("impact '{name}' of '{}' is not an object", stub.activity))?
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let value = number::parse_literal(&text).map_err(|e| e.to_string())?;
                Ok(Component {
                    key: key.clone(),
                    value,
                })
            })
            .collect::<Result<_, String>>()?;
        impacts.push(Impact {
            name: name.clone(),
            components,
        });
    }
    Ok(Activity {
        id: format!("id-{}", stub.activity),
        name: stub.activity.clone(),
        version: stub.scope.version,
        impacts,
    })
}

/// Picks the stub for a query: matching name and scope, then the requested version — an exact
/// one, the newest active at the `versionAsAt` instant (compared as text), or the newest.
fn select<T>(
    entries: &[(StubScope, Arc<T>)],
    query: &ResourceQuery,
    name_of: impl Fn(&T) -> &str,
) -> Option<Arc<T>> {
    let candidates = entries.iter().filter(|(scope, entry)| {
        name_of(entry).eq_ignore_ascii_case(&query.name)
            && scope.tenant == query.tenant
            && scope.group.as_ref().is_none_or(|g| *g == query.group)
    });
    let chosen = match &query.version {
        VersionSelector::Exact(version) | VersionSelector::Recorded(version) => candidates
            .filter(|(scope, _)| scope.version == *version)
            .max_by_key(|(scope, _)| scope.version),
        VersionSelector::AsAt(at) => candidates
            .filter(|(scope, _)| scope.active_at.as_ref().is_some_and(|a| a <= at))
            .max_by_key(|(scope, _)| scope.version),
        VersionSelector::Latest => candidates.max_by_key(|(scope, _)| scope.version),
    };
    chosen.map(|(_, entry)| entry.clone())
}

impl ResourceSource for StubSource {
    fn activity(&self, query: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError> {
        Ok(select(&self.activities, query, |a| &a.name))
    }

    fn dataset(&self, query: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError> {
        Ok(select(&self.datasets, query, |d| &d.name))
    }

    fn calculation(
        &self,
        query: &ResourceQuery,
    ) -> Result<Option<Arc<Calculation>>, ResourceError> {
        Ok(select(&self.calculations, query, |c| &c.name))
    }

    fn group_exists(&self, group: &str) -> Result<bool, ResourceError> {
        Ok(self.groups.iter().any(|g| g == group))
    }
}
