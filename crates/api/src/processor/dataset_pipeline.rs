//! `referenceDatasets` pipelines: the uploaded CSV becomes a reference dataset. The pipeline's
//! transforms are constants, evaluated once on an empty row: `name` names the dataset,
//! `description` describes it, and each `tag_<k>` output sets tag `<k>`. The dataset of that
//! name in the execution's group gets a new version with the file as its data (headers from
//! its first line); without one, it is created. Its tags are the pipeline's, the execution's,
//! `pipelineId`, `executionId` and the `tag_` outputs. The execution succeeds once the file is
//! indexed for LOOKUP.

use std::collections::BTreeMap;

use serde_json::{Map, Value as JsonValue};
use sifr_domain::{TagMap, TagPatch};
use sifr_engine::Plan;

use super::executions::{Execution, Status};
use super::runner;
use crate::auth::Caller;
use crate::calculations::dry_run::cell_text;
use crate::error::{ApiError, ApiResult};
use crate::pipelines;
use crate::referencedatasets;
use crate::state::AppState;

/// Publishes the execution's input as the dataset and records the outcome.
pub(super) async fn run(
    state: &AppState,
    caller: &Caller,
    plan: Plan,
    execution: &mut Execution,
) -> ApiResult<()> {
    let (status, message) = match publish(state, caller, plan, execution).await {
        Ok(Ok(())) => (Status::Success, None),
        Ok(Err(reason)) => (
            Status::Failed,
            Some(format!("failed when creating reference dataset: {reason}")),
        ),
        Err(e) => (
            Status::Failed,
            Some(format!("Unable create reference dataset: {e}")),
        ),
    };
    execution.finish(status, message);
    execution.save(caller.tenant.processor()).await
}

/// Creates or updates the dataset; the inner error is why its file could not be used.
async fn publish(
    state: &AppState,
    caller: &Caller,
    plan: Plan,
    execution: &Execution,
) -> ApiResult<Result<(), String>> {
    let outputs = constants(caller, plan).await?;
    let text = |key: &str| {
        outputs
            .get(key)
            .map(cell_text)
            .filter(|t| !t.trim().is_empty())
    };
    let name = text("name").ok_or_else(|| {
        ApiError::BadRequest(
            "the pipeline's output 'name' is empty: it names the reference dataset".into(),
        )
    })?;
    let pipeline =
        pipelines::pinned(caller, &execution.pipeline_id, execution.pipeline_version).await?;
    let mut tags = pipeline.tags.clone();
    for (key, value) in execution.tags.iter().flatten() {
        set(&mut tags, key, value)?;
    }
    set(&mut tags, "pipelineId", &execution.pipeline_id)?;
    set(&mut tags, "executionId", &execution.id)?;
    for (key, value) in &outputs {
        if let Some(tag) = key.strip_prefix("tag_") {
            set(&mut tags, tag, &cell_text(value))?;
        }
    }
    let tags = TagPatch::parse(
        tags.iter()
            .map(|(k, v)| (k.to_owned(), Some(v.to_owned())))
            .collect(),
    )?;
    let file = runner::input_key(&caller.tenant_id, &execution.id)?;
    let published =
        referencedatasets::publish(state, caller, &name, text("description"), tags, &file).await?;
    Ok(published.map(|_| ()))
}

/// Sets one tag, replacing a key that differs only in case.
fn set(tags: &mut TagMap, key: &str, value: &str) -> ApiResult<()> {
    let patch = TagPatch::parse(BTreeMap::from([(key.to_owned(), Some(value.to_owned()))]))?;
    tags.apply(&patch);
    Ok(())
}

/// The pipeline's outputs on one empty row.
async fn constants(caller: &Caller, plan: Plan) -> ApiResult<Map<String, JsonValue>> {
    let result = pipelines::dry_run_rows(caller, plan, vec![Map::new()]).await?;
    if !result.errors.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "the pipeline's transforms failed: {}",
            result.errors.join("; ")
        )));
    }
    let line = result
        .data
        .first()
        .ok_or_else(|| ApiError::BadRequest("the pipeline's transforms gave no row".into()))?;
    serde_json::from_str(line)
        .map_err(|e| ApiError::Internal(format!("the pipeline's outputs: {e}")))
}
