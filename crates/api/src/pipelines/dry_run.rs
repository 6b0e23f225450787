//! Pipeline dry runs: the sample rows of `dryRunOptions` go through the engine's row
//! processing (typed parameters, outputs in transform order, activity date, unique keys, group)
//! exactly as an execution's rows would, and nothing is stored.

use std::sync::Arc;

use serde_json::{Map, Number, Value as JsonValue};
use sifr_engine::{
    ActivitySink, ChunkOutput, ExecutionOptions, NoProgress, Outcome, Plan, RowsInput, SinkError,
    Stored, execute,
};

use crate::auth::Caller;
use crate::calculations::dry_run::{DryRunResult, input_record};
use crate::error::{ApiError, ApiResult};
use crate::resolve::StoreResources;

/// Runs `rows` through `plan`. Each data line is a JSON object of the row's outputs, as SIF's
/// calculator wrote them: timestamps in epoch milliseconds, failed cells as `___ERROR___`.
pub(crate) async fn pipeline(
    caller: &Caller,
    plan: Plan,
    rows: Vec<Map<String, JsonValue>>,
) -> ApiResult<DryRunResult> {
    let resources = Arc::new(StoreResources::new(caller));
    let group = caller.context.group.to_string();
    tokio::task::spawn_blocking(move || {
        // A row without a value for some parameter is a row error, as in SIF.
        let records = rows
            .iter()
            .map(|row| Ok(input_record(plan.parameters(), row, false)));
        let input = RowsInput::new(plan.parameters().len(), records);
        let mut options = ExecutionOptions::new("dry-run", "dry-run", &group);
        options.threads = 1;
        let mut sink = Collect {
            keys: plan.outputs().iter().map(|o| o.key.clone()).collect(),
            result: DryRunResult::default(),
        };
        execute(&plan, input, resources, &options, &mut sink, &NoProgress)
            .map_err(|e| ApiError::BadRequest(format!("The dry run failed: {e}")))?;
        sink.result.headers = sink.keys;
        Ok(sink.result)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the dry run stopped unexpectedly: {e}")))?
}

struct Collect {
    keys: Vec<String>,
    result: DryRunResult,
}

impl ActivitySink for Collect {
    // Lines are built when written; there is nothing to prepare in parallel.
    type Encoder = ();

    fn encoder(&self) {}

    fn write(&mut self, chunk: &ChunkOutput, (): ()) -> Result<(), SinkError> {
        for row in chunk.rows.iter() {
            let line: Map<String, JsonValue> = self
                .keys
                .iter()
                .cloned()
                .zip(row.values.iter().map(json))
                .collect();
            self.result
                .data
                .push(serde_json::to_string(&line).map_err(|e| Box::new(e) as SinkError)?);
        }
        self.result
            .errors
            .extend(chunk.errors.iter().map(|e| e.message.clone()));
        Ok(())
    }

    fn finish(&mut self, _: &Outcome) -> Result<(), SinkError> {
        Ok(())
    }
}

fn json(value: &Stored) -> JsonValue {
    match value {
        Stored::Null => JsonValue::Null,
        Stored::Number(n) => n
            .to_string()
            .parse::<Number>()
            .map_or_else(|_| JsonValue::String(n.to_string()), JsonValue::Number),
        Stored::Bool(b) => JsonValue::Bool(*b),
        Stored::Text(t) => JsonValue::String(t.to_string()),
        Stored::Timestamp(seconds) => JsonValue::Number(Number::from(seconds.saturating_mul(1000))),
        Stored::Error(_) => JsonValue::String("___ERROR___".into()),
    }
}
