//! `/pipelines/{id}/executions`: running a pipeline over an input, in job mode (the input is
//! uploaded to a signed URL, or read from another pipeline's activities, and processed in the
//! background) or inline (rows in the request, results in the response).

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::sync::Arc;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use sifr_domain::{TenantId, Timestamp};
use sifr_engine::{EngineError, NoProgress, Outcome, PipelineType, RowsInput, execute};
use sifr_store::{BlobKey, ExecutionRecord, ProcessorStore};
use utoipa::ToSchema;

use super::connectors::InputConnector;
use super::impacts_pipeline;
use super::runner::{self, StoreSink};
use crate::auth::Caller;
use crate::calculations::dry_run::input_record;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, Query};
use crate::pipelines::{self, Pipelines};
use crate::resolve::StoreResources;
use crate::resources::{Access, load};
use crate::state::AppState;
use crate::transfers::{Direction, PublicUrl, Ticket, Transfers};

/// Uploads of execution inputs.
pub(crate) const UPLOAD_PURPOSE: &str = "execution";

/// Largest number of rows an inline execution takes, as SIF deploys it.
pub(crate) const INLINE_ROWS_LIMIT: usize = 100;

/// Seconds a signed URL stays usable unless the request says otherwise.
const DEFAULT_EXPIRATION: u64 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Waiting,
    InProgress,
    CalculatingMetrics,
    Success,
    Failed,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::InProgress => "in_progress",
            Status::CalculatingMetrics => "calculating_metrics",
            Status::Success => "success",
            Status::Failed => "failed",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ActionType {
    #[default]
    Create,
    Delete,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Mode {
    #[default]
    Job,
    Inline,
}

/// What an execution did to its input's rows (sifr's addition to SIF's execution record).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RowCounts {
    pub rows_read: u64,
    pub rows_stored: u64,
    /// Rows not stored because of a row-level error.
    pub rows_failed: u64,
    /// Outputs of stored rows whose formula failed.
    pub cell_errors: u64,
}

/// A pipeline execution, as SIF returns it.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Execution {
    pub id: String,
    pub pipeline_id: String,
    pub pipeline_version: u32,
    pub audit_version: u32,
    pub action_type: ActionType,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub created_at: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    pub group_context_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub connector_overrides: Option<Map<String, JsonValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    pub trigger_metric_aggregations: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowCounts>,
    /// Job mode: where to `PUT` the input (only in the creation response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_upload_url: Option<String>,
    /// Inline mode: the outputs or the errors (only in the creation response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_execution_outputs: Option<InlineOutputs>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InlineOutputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub outputs: Option<Vec<Map<String, JsonValue>>>,
}

impl Execution {
    pub(crate) async fn load(processor: &dyn ProcessorStore, id: &str) -> ApiResult<Self> {
        let record = processor
            .execution(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("Pipeline execution '{id}' not found.")))?;
        serde_json::from_value(JsonValue::Object(record.body))
            .map_err(|e| ApiError::Internal(format!("stored execution '{id}': {e}")))
    }

    fn record(&self) -> ApiResult<ExecutionRecord> {
        let mut stored = self.clone();
        stored.input_upload_url = None;
        stored.inline_execution_outputs = None;
        let JsonValue::Object(body) = serde_json::to_value(&stored)
            .map_err(|e| ApiError::Internal(format!("execution: {e}")))?
        else {
            return Err(ApiError::Internal("an execution is not an object".into()));
        };
        Ok(ExecutionRecord {
            id: self.id.clone(),
            pipeline_id: self.pipeline_id.clone(),
            status: self.status.as_str().to_owned(),
            body,
        })
    }

    pub(crate) async fn save(&mut self, processor: &dyn ProcessorStore) -> ApiResult<()> {
        self.updated_at = Some(Timestamp::now().to_string());
        self.updated_by = Some(self.created_by.clone());
        processor.update_execution(&self.record()?).await?;
        Ok(())
    }

    pub(crate) fn is_deletion(&self) -> bool {
        self.action_type == ActionType::Delete
    }

    pub(crate) fn record_outcome(&mut self, outcome: &Outcome) {
        self.rows = Some(RowCounts {
            rows_read: outcome.rows_read,
            rows_stored: outcome.rows_stored,
            rows_failed: outcome.rows_failed,
            cell_errors: if self.is_deletion() {
                0
            } else {
                outcome.cell_errors
            },
        });
    }

    pub(crate) fn finish(&mut self, status: Status, message: Option<String>) {
        self.status = status;
        self.status_message = message;
    }

    /// Whether the caller may see it: from its group or one below.
    fn visible_to(&self, caller: &Caller) -> bool {
        sifr_domain::GroupPath::parse(&self.group_context_id)
            .is_ok_and(|group| group.contains(&caller.context.group))
    }
}

/// `POST /pipelines/{id}/executions`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewExecution {
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    action_type: ActionType,
    /// Seconds the upload URL stays usable (default 300).
    expiration: Option<u64>,
    trigger_metric_aggregations: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
    /// The input connector's parameters for this execution, over the pipeline's
    /// `connectorConfig` (only names the connector declares).
    #[schema(value_type = Option<Object>)]
    connector_overrides: Option<Map<String, JsonValue>>,
    inline_execution_options: Option<InlineOptions>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InlineOptions {
    /// Rows keyed by parameter label (or key).
    #[schema(value_type = Vec<Object>)]
    inputs: Vec<Map<String, JsonValue>>,
}

/// Creates an execution of the pipeline's current version: in job mode the response carries
/// the URL to upload the input to (a pipeline whose input connector reads another pipeline's
/// activities starts at once instead); inline, the rows are processed at once.
#[utoipa::path(
    post, path = "/pipelines/{id}/executions", tag = "executions", request_body = NewExecution,
    params(("id" = String, Path, description = "The pipeline id")),
    responses(
        (status = 201, body = Execution),
        (status = 400, description = "Invalid body, connector overrides the connector does not declare, a required connector parameter unset, or inline mode for a referenceDatasets pipeline", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    caller: Caller,
    state: axum::extract::State<AppState>,
    url: PublicUrl,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<NewExecution>,
) -> ApiResult<(StatusCode, Json<Execution>)> {
    let pipeline = load::<Pipelines>(&caller, &id, Access::Update).await?;
    let kind = pipelines::pipeline_type(&pipeline)?;
    if kind == PipelineType::ReferenceDatasets && request.mode == Mode::Inline {
        return Err(ApiError::BadRequest(
            "Inline executions are not available for referenceDatasets pipelines: create a job execution and upload the CSV to its inputUploadUrl.".into(),
        ));
    }
    let connector = InputConnector::resolve(
        &caller,
        pipelines::connector_config(&pipeline)?.as_ref(),
        request.connector_overrides.as_ref(),
    )
    .await?;
    // Inline rows need no connector.
    let reads_activities = match request.mode {
        Mode::Inline => false,
        Mode::Job => connector.check_job(&caller, kind).await?,
    };
    let trigger = request
        .trigger_metric_aggregations
        .or_else(|| {
            pipeline
                .body
                .get("processorOptions")
                .and_then(|o| o.get("triggerMetricAggregations"))
                .and_then(JsonValue::as_bool)
        })
        .unwrap_or(true);
    let mut execution = Execution {
        id: sifr_domain::ResourceId::generate().to_string(),
        pipeline_id: pipeline.id.to_string(),
        pipeline_version: pipeline.version,
        audit_version: 1,
        action_type: request.action_type,
        status: Status::Waiting,
        status_message: None,
        created_at: Timestamp::now().to_string(),
        created_by: caller.email().to_owned(),
        updated_at: None,
        updated_by: None,
        group_context_id: caller.context.group.to_string(),
        connector_overrides: request.connector_overrides,
        tags: request.tags,
        trigger_metric_aggregations: trigger,
        rows: None,
        input_upload_url: None,
        inline_execution_outputs: None,
    };
    let processor = caller.tenant.processor();
    processor.create_execution(&execution.record()?).await?;
    match request.mode {
        Mode::Job if reads_activities => {
            // Nothing to upload: the rows are the source pipeline's activities.
            execution.status = Status::InProgress;
            execution.save(processor).await?;
            runner::start(
                state.0.clone(),
                caller.tenant_id.clone(),
                execution.id.clone(),
            );
        }
        Mode::Job => {
            let key = runner::input_key(&caller.tenant_id, &execution.id)?;
            let mut ticket = Transfers::ticket(
                Direction::Upload,
                UPLOAD_PURPOSE,
                caller.tenant_id.as_str(),
                &execution.pipeline_id,
                &execution.id,
                &key,
            );
            let lifetime = request.expiration.unwrap_or(DEFAULT_EXPIRATION);
            ticket.expires = Timestamp::now()
                .as_seconds()
                .saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX));
            execution.input_upload_url = Some(url.upload(&state.transfers, &ticket));
        }
        Mode::Inline => {
            let rows = request
                .inline_execution_options
                .map(|o| o.inputs)
                .unwrap_or_default();
            inline(&state, &caller, &mut execution, rows).await?;
        }
    }
    Ok((StatusCode::CREATED, Json(execution)))
}

/// Runs the rows of an inline execution; stores them only when every row succeeds.
async fn inline(
    state: &AppState,
    caller: &Caller,
    execution: &mut Execution,
    rows: Vec<Map<String, JsonValue>>,
) -> ApiResult<()> {
    if rows.len() > INLINE_ROWS_LIMIT {
        return Err(ApiError::Validation(format!(
            "body/inlineExecutionOptions/inputs must NOT have more than {INLINE_ROWS_LIMIT} items"
        )));
    }
    let plan = Arc::new(
        pipelines::execution_plan(caller, &execution.pipeline_id, execution.pipeline_version)
            .await?,
    );
    let errors = tempfile::tempfile_in(state.config.data_dir.as_path())
        .map_err(|e| ApiError::Internal(format!("cannot create an error file: {e}")))?;
    // Only an activities pipeline stores its rows as activities; the others' are shown.
    let activities = plan.kind() == PipelineType::Activities;
    let work_dir = state.config.data_dir.as_path();
    let mut sink = StoreSink::new(caller.tenant.clone(), execution, errors, work_dir)?.inline(
        plan.outputs()
            .iter()
            .map(|o| (o.key.clone(), o.kind))
            .collect(),
        activities,
    );
    let resources = Arc::new(StoreResources::new(caller));
    let options = runner::execution_options(execution, true);
    let task_plan = plan.clone();
    let (outcome, mut sink) = tokio::task::spawn_blocking(move || {
        // Rows are keyed by label or key; a row without some parameter is a row error.
        let records = rows
            .iter()
            .map(|row| Ok(input_record(task_plan.parameters(), row, true)));
        let input = RowsInput::new(task_plan.parameters().len(), records);
        let outcome = execute(
            &task_plan,
            input,
            resources,
            &options,
            &mut sink,
            &NoProgress,
        )?;
        Ok::<_, EngineError>((outcome, sink))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the execution stopped unexpectedly: {e}")))?
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let outputs = sink.take_outputs();
    let pending = sink.take_pending()?;
    let mut file = sink.into_errors()?;
    let mut text = String::new();
    file.rewind()
        .and_then(|()| file.read_to_string(&mut text).map(|_| ()))
        .map_err(|e| ApiError::Internal(format!("error file: {e}")))?;
    let errors: Vec<String> = text.lines().map(str::to_owned).collect();
    if !errors.is_empty() {
        state
            .blobs
            .put(
                &runner::errors_key(&caller.tenant_id, &execution.id)?,
                &mut text.as_bytes(),
            )
            .await?;
    }
    if outcome.succeeded() {
        if activities {
            // Commits and metrics of a tenant happen one at a time.
            let lock = state.runner.lock_of(&caller.tenant_id);
            let _turn = lock.lock().await;
            runner::finish(caller, &plan, execution, &outcome, pending, work_dir).await?;
        } else {
            execution.record_outcome(&outcome);
            let message = match plan.kind() {
                PipelineType::Impacts => impacts_pipeline::publish_rows(caller, &outputs)
                    .await
                    .err()
                    .map(|e| runner::impacts_failure(&e)),
                _ => None,
            };
            let status = match message {
                None => Status::Success,
                Some(_) => Status::Failed,
            };
            execution.finish(status, message);
            execution.save(caller.tenant.processor()).await?;
        }
        execution.inline_execution_outputs = Some(InlineOutputs {
            errors: None,
            outputs: Some(outputs),
        });
    } else {
        execution.record_outcome(&outcome);
        execution.finish(
            Status::Failed,
            Some("error when calculating the input, review the pipeline execution error log for further info".into()),
        );
        execution.save(caller.tenant.processor()).await?;
        execution.inline_execution_outputs = Some(InlineOutputs {
            errors: Some(errors),
            outputs: None,
        });
    }
    Ok(())
}

/// `GET /pipelines/{id}/executions`: the pipeline's executions, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionList {
    executions: Vec<Execution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pagination: Option<JsonValue>,
}

#[utoipa::path(
    get, path = "/pipelines/{id}/executions", tag = "executions",
    params(
        ("id" = String, Path, description = "The pipeline id"),
        ("count" = Option<usize>, Query, description = "Page size"),
        ("fromToken" = Option<String>, Query, description = "Start after this execution id"),
    ),
    responses((status = 200, body = ExecutionList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Json<ExecutionList>> {
    let pipeline = load::<Pipelines>(&caller, &id, Access::Read).await?;
    let count = query.count("count")?;
    let page = count.unwrap_or(usize::MAX);
    let tags: Vec<(String, String)> = query
        .all("tags")
        .filter_map(|t| t.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut after = query.get("fromToken").map(str::to_owned);
    let mut executions = Vec::new();
    let mut more = false;
    // Reads in batches until the page is full, since tags and visibility filter afterwards.
    'pages: loop {
        let batch = caller
            .tenant
            .processor()
            .executions(pipeline.id.as_str(), after.as_deref(), 500)
            .await?;
        let exhausted = batch.len() < 500;
        for record in batch {
            after = Some(record.id.clone());
            let execution: Execution = serde_json::from_value(JsonValue::Object(record.body))
                .map_err(|e| ApiError::Internal(format!("stored execution: {e}")))?;
            let tagged = tags
                .iter()
                .all(|(k, v)| execution.tags.as_ref().is_some_and(|t| t.get(k) == Some(v)));
            if !tagged || !execution.visible_to(&caller) {
                continue;
            }
            if executions.len() == page {
                more = true;
                break 'pages;
            }
            executions.push(execution);
        }
        if exhausted {
            break;
        }
    }
    let pagination = (count.is_some() || more).then(|| {
        let mut p = Map::new();
        if more && let Some(last) = executions.last() {
            p.insert(
                "lastEvaluatedToken".into(),
                JsonValue::String(last.id.clone()),
            );
        }
        JsonValue::Object(p)
    });
    Ok(Json(ExecutionList {
        executions,
        pagination,
    }))
}

/// An execution the caller may see.
pub(crate) async fn visible(caller: &Caller, pipeline: &str, id: &str) -> ApiResult<Execution> {
    load::<Pipelines>(caller, pipeline, Access::Read).await?;
    let execution = Execution::load(caller.tenant.processor(), id).await?;
    if execution.pipeline_id != pipeline || !execution.visible_to(caller) {
        return Err(ApiError::NotFound(format!(
            "Pipeline execution '{id}' not found."
        )));
    }
    Ok(execution)
}

#[utoipa::path(
    get, path = "/pipelines/{id}/executions/{executionId}", tag = "executions",
    params(
        ("id" = String, Path, description = "The pipeline id"),
        ("executionId" = String, Path, description = "The execution id"),
    ),
    responses((status = 200, body = Execution), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get(
    caller: Caller,
    Path((pipeline, id)): Path<(String, String)>,
) -> ApiResult<Json<Execution>> {
    Ok(Json(visible(&caller, &pipeline, &id).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct DownloadRequest {
    /// Seconds the URL stays usable (default 300).
    expiration: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DownloadUrl {
    pub(crate) url: String,
}

/// The URL of the execution's error report (`errors.txt`), one error per line naming the row
/// and, for formula errors, the output.
#[utoipa::path(
    post, path = "/pipelines/{id}/executions/{executionId}/errorDownloadUrl", tag = "executions",
    request_body = DownloadRequest,
    params(
        ("id" = String, Path, description = "The pipeline id"),
        ("executionId" = String, Path, description = "The execution id"),
    ),
    responses((status = 201, body = DownloadUrl), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn error_download_url(
    caller: Caller,
    state: axum::extract::State<AppState>,
    url: PublicUrl,
    Path((pipeline, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<DownloadUrl>)> {
    let request = download_request(&body)?;
    sifr_domain::authorize(&caller.context, sifr_domain::Action::CreateResource)?;
    let execution = visible(&caller, &pipeline, &id).await?;
    let key = runner::errors_key(&caller.tenant_id, &execution.id)?;
    if state.blobs.get(&key).await?.is_none() {
        return Err(ApiError::NotFound(format!(
            "Pipeline execution '{id}' has no errors."
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(signed_download(
            &state, &url, &caller, &execution, &key, &request,
        )),
    ))
}

/// The URL of a data pipeline execution's results (`result.csv`: one column per output);
/// activities pipelines are read through `/activities` instead (409).
#[utoipa::path(
    post, path = "/pipelines/{id}/executions/{executionId}/outputDownloadUrl", tag = "executions",
    request_body = DownloadRequest,
    params(
        ("id" = String, Path, description = "The pipeline id"),
        ("executionId" = String, Path, description = "The execution id"),
    ),
    responses((status = 201, body = DownloadUrl), (status = 409, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn output_download_url(
    caller: Caller,
    state: axum::extract::State<AppState>,
    url: PublicUrl,
    Path((pipeline, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<DownloadUrl>)> {
    let request = download_request(&body)?;
    sifr_domain::authorize(&caller.context, sifr_domain::Action::CreateResource)?;
    let execution = visible(&caller, &pipeline, &id).await?;
    let found = load::<Pipelines>(&caller, &pipeline, Access::Read).await?;
    if pipelines::pipeline_type(&found)? == PipelineType::Activities {
        return Err(ApiError::Conflict(
            "Output download is not available for activities pipelines; query /activities instead."
                .into(),
        ));
    }
    let key = runner::output_key(&caller.tenant_id, &execution.id)?;
    if state.blobs.get(&key).await?.is_none() {
        return Err(ApiError::NotFound(format!(
            "Pipeline execution '{id}' has no output (yet)."
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(signed_download(
            &state, &url, &caller, &execution, &key, &request,
        )),
    ))
}

/// The optional body of the download URL requests.
fn download_request(body: &[u8]) -> ApiResult<DownloadRequest> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DownloadRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::Validation(format!("body: {e}")))
}

/// A signed URL of one of an execution's files.
fn signed_download(
    state: &AppState,
    url: &PublicUrl,
    caller: &Caller,
    execution: &Execution,
    key: &BlobKey,
    request: &DownloadRequest,
) -> DownloadUrl {
    let mut ticket = Transfers::ticket(
        Direction::Download,
        "",
        caller.tenant_id.as_str(),
        &execution.pipeline_id,
        &execution.id,
        key,
    );
    let lifetime = request.expiration.unwrap_or(DEFAULT_EXPIRATION);
    ticket.expires = Timestamp::now()
        .as_seconds()
        .saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX));
    DownloadUrl {
        url: url.download(&state.transfers, &ticket),
    }
}

/// Accepts the input of a waiting execution and starts processing it.
pub(crate) struct ExecutionUploads;

/// The execution a ticket uploads to, with its tenant, while it waits for its input.
async fn waiting(
    state: &AppState,
    ticket: &Ticket,
) -> ApiResult<(TenantId, Arc<dyn sifr_store::TenantStore>, Execution)> {
    let tenant_id = TenantId::parse(&ticket.tenant)
        .map_err(|e| ApiError::BadRequest(format!("upload ticket: {e}")))?;
    let tenant = state.store.tenant(&tenant_id).await?;
    let execution = Execution::load(tenant.processor(), &ticket.detail).await?;
    if execution.status != Status::Waiting {
        return Err(ApiError::Conflict(format!(
            "Pipeline execution '{}' is {}, not waiting for its input: upload to a new execution.",
            execution.id,
            execution.status.as_str()
        )));
    }
    Ok((tenant_id, tenant, execution))
}

#[async_trait::async_trait]
impl crate::transfers::UploadHandler for ExecutionUploads {
    async fn accept(&self, state: &AppState, ticket: &Ticket) -> ApiResult<()> {
        waiting(state, ticket).await.map(|_| ())
    }

    async fn received(&self, state: &AppState, ticket: &Ticket, _size: u64) -> ApiResult<()> {
        let (tenant_id, tenant, mut execution) = waiting(state, ticket).await?;
        // Set before the run starts, so that a second upload is refused at once.
        execution.status = Status::InProgress;
        execution.save(tenant.processor()).await?;
        runner::start(state.clone(), tenant_id, execution.id);
        Ok(())
    }
}
