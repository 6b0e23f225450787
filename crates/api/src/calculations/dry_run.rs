//! Dry runs: sample rows evaluated as SIF's calculator did in dry-run mode, nothing stored.
//! The answer is `{headers, data, errors?}`; a dry run with errors is a 400 whose message is
//! that answer as JSON, as in SIF.

use std::sync::Arc;

use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use sifr_calc::{InputType, Program, Row, Session, Value};
use sifr_engine::{InputRecord, ParameterPlan};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::resolve::StoreResources;

/// Whether the request asks for a dry run only (`?dryRun=true`), which needs sample rows.
pub(crate) fn requested(query: &Query, has_options: bool) -> ApiResult<bool> {
    let asked = query.flag("dryRun")?;
    if asked && !has_options {
        return Err(ApiError::Validation(
            "body must have required property 'dryRunOptions' for a dry run (dryRun=true)".into(),
        ));
    }
    Ok(asked)
}

/// Sample rows: each maps parameter keys to their text.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub(crate) struct DryRunOptions {
    #[schema(value_type = Vec<HashMap<String, String>>)]
    pub data: Vec<Map<String, JsonValue>>,
}

/// What a dry run computed: the output keys, one line per row that could be evaluated, and
/// the errors of the rows and cells that could not.
#[derive(Debug, Default, Serialize, ToSchema)]
pub(crate) struct DryRunResult {
    pub headers: Vec<String>,
    pub data: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl DryRunResult {
    /// The response: the result, or a 400 carrying it when any row or cell failed.
    pub fn respond(self) -> ApiResult<Json<DryRunResult>> {
        if self.errors.is_empty() {
            return Ok(Json(self));
        }
        let text = serde_json::to_string(&self).unwrap_or_else(|_| self.errors.join("\n"));
        Err(ApiError::BadRequest(text))
    }
}

/// A cell of a sample row as text: strings as they are, other JSON values as written; null is
/// an empty cell.
pub(crate) fn cell_text(value: &JsonValue) -> String {
    match value {
        JsonValue::Null => String::new(),
        JsonValue::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// SIF's row identifier: the row's values joined with `-`, in input order.
pub(crate) fn row_identifier(row: &Map<String, JsonValue>) -> String {
    row.values()
        .map(|v| match v {
            JsonValue::Null => "null".to_owned(),
            other => cell_text(other),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// SIF's message for a sample row without a value for a parameter.
pub(crate) fn missing_parameter(row_id: &str, key: &str) -> String {
    format!("Failed processing row: {row_id} - row does not contain value for parameter: {key}")
}

/// A row of JSON values as an engine input row: each parameter's cell, found by its key (or,
/// with `labels`, by its label first), or SIF's error for the first parameter the row lacks.
pub(crate) fn input_record(
    parameters: &[ParameterPlan],
    row: &Map<String, JsonValue>,
    labels: bool,
) -> InputRecord {
    let cell = |p: &ParameterPlan| {
        labels
            .then(|| row.get(&p.column))
            .flatten()
            .or_else(|| row.get(&p.key))
    };
    match parameters.iter().find(|p| cell(p).is_none()) {
        Some(missing) => {
            InputRecord::Problem(missing_parameter(&row_identifier(row), &missing.key))
        }
        None => InputRecord::Cells(
            parameters
                .iter()
                .map(|p| cell(p).map(cell_text).unwrap_or_default())
                .collect(),
        ),
    }
}

/// A calculation to dry-run: its compiled formula, its parameters (key, declared type) and its
/// output's name.
pub(crate) struct CalculationRun {
    pub program: Program,
    pub parameters: Vec<(String, String)>,
    pub output: String,
}

/// Evaluates a calculation's formula for each sample row. Each data line is the output's text.
pub(crate) async fn calculation(
    caller: &Caller,
    run: CalculationRun,
    rows: Vec<Map<String, JsonValue>>,
) -> ApiResult<DryRunResult> {
    let resources = Arc::new(StoreResources::new(caller));
    let group = caller.context.group.to_string();
    tokio::task::spawn_blocking(move || {
        let session = Session::new(resources, group);
        let mut result = DryRunResult {
            headers: vec![run.output.clone()],
            ..DryRunResult::default()
        };
        let width = run.program.schema().len();
        for row in &rows {
            let row_id = row_identifier(row);
            let mut values = vec![Value::Null; width];
            let mut failure = None;
            for (slot, (key, kind)) in run.parameters.iter().enumerate() {
                let Some(cell) = row.get(key) else {
                    failure = Some(missing_parameter(&row_id, key));
                    break;
                };
                let text = cell_text(cell);
                match Value::from_input(Some(&text), InputType::from_declared(kind)) {
                    Ok(value) => values[slot] = value,
                    Err(e) => {
                        failure = Some(format!(
                            "Failed processing row {row_id}, err: parameter '{key}' ({kind}): {e}"
                        ));
                        break;
                    }
                }
            }
            if let Some(message) = failure {
                result.errors.push(message);
                continue;
            }
            // The row identifier is the last slot of the schema.
            if let Some(last) = values.last_mut() {
                *last = Value::str(row_id.as_str());
            }
            match run.program.evaluate(&session, Row::new(&values)) {
                Ok(Value::Null | Value::Absent) => result.data.push("null".into()),
                Ok(value) => result.data.push(value.to_string()),
                Err(e) => result.errors.push(format!(
                    "Row '{row_id}' column '{}' encountered error evaluating formula `{}` - {}",
                    run.output,
                    run.program.source(),
                    e.message
                )),
            }
        }
        result
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the dry run stopped unexpectedly: {e}")))
}
