//! CSV downloads: activities (`/activities/download`) and metric values (`/metrics/download`)
//! as background jobs, and the export of an execution's audit records
//! (`generateAuditExportUrl`).
//!
//! A download job reads its rows from the store a page at a time and streams them into the blob
//! `tenants/<tenant>/downloads/<id>/result.csv`, so memory stays bounded however many rows
//! there are; its state is kept next to it in `status.json`, where every server process sharing
//! the blobs finds it. A download belongs to the group in context when it was asked for.
//!
//! The audit export pivots each audit record into one row (an `in_` column per input, six
//! `out_` columns per output), block by block, into
//! `tenants/<tenant>/executions/<id>/audit-export.csv`; it is built on the first request and
//! served from there afterwards.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use sifr_domain::{Action, ResourceId, TenantId, Timestamp, authorize};
use sifr_store::{ActivityQuery, AuditBlock, BlobKey, MetricScope, StoreError, TenantStore};
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;
use utoipa::ToSchema;

use super::audit_source::AuditSource;
use super::executions::{self, DownloadUrl, Status};
use super::runner;
use super::{activities, metrics};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;
use crate::state::AppState;
use crate::transfers::{Direction, PublicUrl, Transfers};

/// Activity versions read per query.
const PAGE: u64 = 10_000;

/// Days of metric values read per query and group.
const WINDOW_DAYS: i64 = 1_000;

/// Audit blocks read per query.
const AUDIT_BLOCKS: usize = 8;

/// Seconds a URL of a finished download stays usable, as SIF's.
const DOWNLOAD_URL_SECONDS: i64 = 3_600;

/// The columns `activities::row` starts every row with, in its order.
const ACTIVITY_COLUMNS: [&str; 6] = [
    "activityId",
    "date",
    "pipelineId",
    "executionId",
    "auditId",
    "createdAt",
];

/// The members of `metrics::MetricValue`, in its order.
const METRIC_COLUMNS: [&str; 13] = [
    "metricId",
    "name",
    "groupId",
    "date",
    "timeUnit",
    "version",
    "createdAt",
    "groupValue",
    "subGroupsValue",
    "hierarchyValue",
    "day",
    "month",
    "year",
];

/// The audit export's columns before the inputs.
const AUDIT_COLUMNS: [&str; 4] = ["pipeline_id", "execution_id", "auditId", "row"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Activities,
    Metrics,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum JobState {
    InProgress,
    Success,
    Failed,
}

/// `status.json`: what a download is of, whose it is and how far it got.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct DownloadStatus {
    kind: Kind,
    group: String,
    state: JobState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
}

/// A download job just started.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DownloadJob {
    id: String,
}

/// The files of a download: none while it runs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DownloadList {
    downloads: Vec<DownloadUrl>,
}

fn blob(tenant: &TenantId, id: &str, file: &str) -> ApiResult<BlobKey> {
    Ok(BlobKey::parse(&format!(
        "tenants/{tenant}/downloads/{id}/{file}"
    ))?)
}

/// The blob of an execution's audit export.
fn audit_export_key(tenant: &TenantId, execution: &str) -> ApiResult<BlobKey> {
    runner::execution_blob(tenant, execution, "audit-export.csv")
}

async fn write_status(
    state: &AppState,
    tenant: &TenantId,
    id: &str,
    status: &DownloadStatus,
) -> ApiResult<()> {
    let text = serde_json::to_vec(status)
        .map_err(|e| ApiError::Internal(format!("download '{id}': status: {e}")))?;
    state
        .blobs
        .put(&blob(tenant, id, "status.json")?, &mut text.as_slice())
        .await?;
    Ok(())
}

async fn read_status(
    state: &AppState,
    tenant: &TenantId,
    id: &str,
) -> ApiResult<Option<DownloadStatus>> {
    let Some(mut reader) = state.blobs.get(&blob(tenant, id, "status.json")?).await? else {
        return Ok(None);
    };
    let mut text = Vec::new();
    reader
        .read_to_end(&mut text)
        .await
        .map_err(|e| ApiError::Internal(format!("download '{id}': cannot read its status: {e}")))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| ApiError::Internal(format!("download '{id}': corrupt status: {e}")))
}

/// Why writing a streamed CSV failed: the stream's own error when it was the stream's.
fn failure(error: StoreError) -> String {
    match error {
        StoreError::Io { error, .. } => error.to_string(),
        other => other.to_string(),
    }
}

/// CSV text, a page of rows at a time.
struct Lines(csv::Writer<Vec<u8>>);

impl Lines {
    fn new() -> Self {
        Self(csv::Writer::from_writer(Vec::new()))
    }

    fn push<T: AsRef<[u8]>>(&mut self, cells: impl IntoIterator<Item = T>) -> ApiResult<()> {
        self.0
            .write_record(cells)
            .map_err(|e| ApiError::Internal(format!("CSV: {e}")))
    }

    fn finish(self) -> ApiResult<Bytes> {
        self.0
            .into_inner()
            .map(Bytes::from)
            .map_err(|e| ApiError::Internal(format!("CSV: {}", e.error())))
    }
}

/// One line of CSV.
fn line<T: AsRef<[u8]>>(cells: impl IntoIterator<Item = T>) -> ApiResult<Bytes> {
    let mut lines = Lines::new();
    lines.push(cells)?;
    lines.finish()
}

/// A JSON value as a CSV cell: null empty, text as is, numbers exactly as the API shows them.
fn cell(value: Option<&JsonValue>) -> String {
    match value {
        None | Some(JsonValue::Null) => String::new(),
        Some(JsonValue::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// Cells of `row` in the order of `columns`.
fn cells<'a>(
    row: &'a Map<String, JsonValue>,
    columns: &'a [String],
) -> impl Iterator<Item = String> + 'a {
    columns.iter().map(|c| cell(row.get(c)))
}

/// A header line, then the pages, as the bytes of one file; an error ends the file as failed.
fn file(
    header: ApiResult<Bytes>,
    pages: impl Stream<Item = ApiResult<Bytes>> + Send + 'static,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    stream::once(async move { header })
        .chain(pages)
        .map_err(io::Error::other)
}

/// Records a new download of the group in context, and fills it in the background.
async fn start(
    state: AppState,
    caller: &Caller,
    kind: Kind,
    rows: impl Stream<Item = io::Result<Bytes>> + Send + 'static,
) -> ApiResult<(StatusCode, Json<DownloadJob>)> {
    let id = ResourceId::generate().to_string();
    let tenant = caller.tenant_id.clone();
    let mut status = DownloadStatus {
        kind,
        group: caller.context.group.to_string(),
        state: JobState::InProgress,
        error_message: None,
    };
    write_status(&state, &tenant, &id, &status).await?;
    let job = id.clone();
    tokio::spawn(async move {
        let written = match blob(&tenant, &job, "result.csv") {
            Ok(key) => {
                let mut reader = StreamReader::new(Box::pin(rows));
                state.blobs.put(&key, &mut reader).await.map_err(failure)
            }
            Err(e) => Err(e.to_string()),
        };
        match written {
            Ok(_) => status.state = JobState::Success,
            Err(message) => {
                tracing::warn!(download = %job, error = %message, "download failed");
                status.state = JobState::Failed;
                status.error_message = Some(message);
            }
        }
        if let Err(e) = write_status(&state, &tenant, &job, &status).await {
            tracing::error!(download = %job, error = %e, "cannot record the end of a download");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(DownloadJob { id })))
}

/// The URL of a finished download of the group in context.
async fn links(
    state: &AppState,
    caller: &Caller,
    url: &PublicUrl,
    kind: Kind,
    id: &str,
) -> ApiResult<Json<DownloadList>> {
    let not_found = || ApiError::NotFound(format!("Download '{id}' not found."));
    let id = ResourceId::parse(id).map_err(|_| not_found())?;
    let id = id.as_str();
    let status = read_status(state, &caller.tenant_id, id)
        .await?
        .filter(|s| s.kind == kind && s.group == caller.context.group.as_str())
        .ok_or_else(not_found)?;
    let downloads = match status.state {
        JobState::InProgress => Vec::new(),
        JobState::Failed => {
            return Err(ApiError::BadRequest(format!(
                "Download '{id}' failed: {}",
                status
                    .error_message
                    .as_deref()
                    .unwrap_or("no reason recorded")
            )));
        }
        JobState::Success => {
            let key = blob(&caller.tenant_id, id, "result.csv")?;
            let mut ticket = Transfers::ticket(
                Direction::Download,
                "",
                caller.tenant_id.as_str(),
                id,
                "",
                &key,
            );
            ticket.expires = Timestamp::now()
                .as_seconds()
                .saturating_add(DOWNLOAD_URL_SECONDS);
            vec![DownloadUrl {
                url: url.download(&state.transfers, &ticket),
            }]
        }
    };
    Ok(Json(DownloadList { downloads }))
}

/// The columns of the activities a selection shows, as `activities::row` orders them.
fn activity_columns(selection: &activities::Selection) -> Vec<String> {
    let mut columns: Vec<String> = ACTIVITY_COLUMNS.iter().map(|&c| c.to_owned()).collect();
    for key in selection.types.keys() {
        columns.push(key.clone());
        if selection.history {
            columns.push(format!("{key}__error"));
            columns.push(format!("{key}__errorMessage"));
        }
    }
    columns
}

/// Every activity a selection matches, as CSV, [`PAGE`] rows per query.
fn activity_rows(
    tenant: Arc<dyn TenantStore>,
    selection: activities::Selection,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let columns = activity_columns(&selection);
    let header = line(&columns);
    let pages = stream::try_unfold(Some(0), move |offset| {
        let tenant = tenant.clone();
        let request = ActivityQuery {
            offset: offset.unwrap_or_default(),
            limit: Some(PAGE),
            ..selection.request.clone()
        };
        let types = selection.types.clone();
        let history = selection.history;
        let columns = columns.clone();
        async move {
            let Some(offset) = offset else {
                return Ok(None);
            };
            let records = tenant.processor().activities(&request).await?;
            let mut lines = Lines::new();
            for record in &records {
                let row = activities::row(record, &types, history)?;
                lines.push(cells(&row, &columns))?;
            }
            let next = (records.len() as u64 == PAGE).then(|| offset + PAGE);
            Ok(Some((lines.finish()?, next)))
        }
    });
    file(header, pages)
}

/// Where the metric pages are: the groups to read, one after the other, and the windows of
/// days read of each.
struct MetricPager {
    tenant: Arc<dyn TenantStore>,
    selection: metrics::Selection,
    windows: Vec<(i64, i64)>,
    /// One group each; known once the first page is asked for.
    scopes: Option<Vec<MetricScope>>,
    /// The next (scope, window).
    next: (usize, usize),
}

impl MetricPager {
    fn new(tenant: Arc<dyn TenantStore>, selection: metrics::Selection) -> Self {
        let windows = (selection.from..=selection.to)
            .step_by(WINDOW_DAYS as usize)
            .map(|first| {
                (
                    first,
                    first.saturating_add(WINDOW_DAYS - 1).min(selection.to),
                )
            })
            .collect();
        Self {
            tenant,
            selection,
            windows,
            scopes: None,
            next: (0, 0),
        }
    }

    /// The groups to read, in the order `/metrics` lists them: the group in context, or each
    /// sub-group that has values in the range.
    async fn scopes(&self) -> ApiResult<Vec<MetricScope>> {
        let s = &self.selection;
        if !matches!(s.scope, MetricScope::ChildrenOf(_)) {
            return Ok(vec![s.scope.clone()]);
        }
        let mut groups = BTreeSet::new();
        for &(first, last) in &self.windows {
            let records = self
                .tenant
                .processor()
                .metric_values(&s.name, s.unit, &s.scope, first, last)
                .await?;
            groups.extend(records.into_iter().map(|r| r.group_id));
        }
        Ok(groups.into_iter().map(MetricScope::Group).collect())
    }

    /// The next page of rows, or `None` when all were read.
    async fn page(mut self) -> ApiResult<Option<(Bytes, Self)>> {
        let scopes = match self.scopes.take() {
            Some(scopes) => scopes,
            None => self.scopes().await?,
        };
        let (scope, window) = self.next;
        let (Some(group), Some(&(first, last))) = (scopes.get(scope), self.windows.get(window))
        else {
            return Ok(None);
        };
        let s = &self.selection;
        let records = self
            .tenant
            .processor()
            .metric_values(&s.name, s.unit, group, first, last)
            .await?;
        let mut lines = Lines::new();
        for record in records {
            let Some(value) = metrics::value(record, &s.metric_id, &s.version) else {
                continue;
            };
            let JsonValue::Object(row) = serde_json::to_value(value)
                .map_err(|e| ApiError::Internal(format!("metric value: {e}")))?
            else {
                return Err(ApiError::Internal("a metric value is not an object".into()));
            };
            lines.push(METRIC_COLUMNS.iter().map(|&c| cell(row.get(c))))?;
        }
        self.next = if window + 1 < self.windows.len() {
            (scope, window + 1)
        } else {
            (scope + 1, 0)
        };
        self.scopes = Some(scopes);
        Ok(Some((lines.finish()?, self)))
    }
}

/// Starts a download of every activity the query selects (as `GET /activities`, without
/// paging): answers with its id, to ask `GET /activities/download/{id}` for its URL.
#[utoipa::path(
    post, path = "/activities/download", tag = "activities",
    params(
        ("pipelineId" = Option<String>, Query, description = "The pipeline (this or executionId is required)"),
        ("executionId" = Option<String>, Query, description = "Only the versions this execution wrote"),
        ("date" = Option<String>, Query, description = "Activities of exactly this date"),
        ("dateFrom" = Option<String>, Query, description = "Activities from this date on"),
        ("dateTo" = Option<String>, Query, description = "Activities up to this date"),
        ("attributes" = Option<String>, Query, description = "Unique-key values, `key:value,key2:value2`"),
        ("showHistory" = Option<bool>, Query, description = "Every version (needs `date`)"),
        ("uniqueKeyAttributes" = Option<String>, Query, description = "With showHistory: the unique-key values"),
        ("showAggregate" = Option<bool>, Query, description = "The pipeline's aggregated activities"),
    ),
    responses((status = 202, body = DownloadJob), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn activities_start(
    caller: Caller,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<(StatusCode, Json<DownloadJob>)> {
    authorize(&caller.context, Action::ReadActivities)?;
    let selection = activities::selection(&caller, &query).await?;
    let rows = activity_rows(caller.tenant.clone(), selection);
    start(state, &caller, Kind::Activities, rows).await
}

/// The file of an activity download of the group in context: an empty list while it is
/// being written, 400 with the reason if it failed.
#[utoipa::path(
    get, path = "/activities/download/{id}", tag = "activities",
    params(("id" = String, Path, description = "The download id")),
    responses((status = 200, body = DownloadList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn activities_get(
    caller: Caller,
    State(state): State<AppState>,
    url: PublicUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<DownloadList>> {
    authorize(&caller.context, Action::ReadActivities)?;
    links(&state, &caller, &url, Kind::Activities, &id).await
}

/// Starts a download of a metric's values (as `GET /metrics`, without its limit of 100 rows):
/// answers with its id, to ask `GET /metrics/download/{id}` for its URL.
#[utoipa::path(
    post, path = "/metrics/download", tag = "metrics",
    params(
        ("name" = String, Query, description = "The metric"),
        ("timeUnit" = String, Query, description = "day, week, month, quarter or year"),
        ("dateFrom" = Option<String>, Query, description = "First period (a missing bound is now)"),
        ("dateTo" = Option<String>, Query, description = "Last period"),
        ("members" = Option<bool>, Query, description = "The immediate sub-groups' values instead of the group's"),
        ("version" = Option<String>, Query, description = "Echoed"),
    ),
    responses((status = 202, body = DownloadJob), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn metrics_start(
    caller: Caller,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<(StatusCode, Json<DownloadJob>)> {
    authorize(&caller.context, Action::ReadActivities)?;
    let selection = metrics::selection(&caller, &query).await?;
    let header = line(METRIC_COLUMNS);
    let pages = stream::try_unfold(
        MetricPager::new(caller.tenant.clone(), selection),
        MetricPager::page,
    );
    start(state, &caller, Kind::Metrics, file(header, pages)).await
}

/// The file of a metric download of the group in context: an empty list while it is being
/// written, 400 with the reason if it failed.
#[utoipa::path(
    get, path = "/metrics/download/{id}", tag = "metrics",
    params(("id" = String, Path, description = "The download id")),
    responses((status = 200, body = DownloadList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn metrics_get(
    caller: Caller,
    State(state): State<AppState>,
    url: PublicUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<DownloadList>> {
    authorize(&caller.context, Action::ReadActivities)?;
    links(&state, &caller, &url, Kind::Metrics, &id).await
}

/// An audit record, as the engine writes it (`sifr_engine::audit`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditRecord {
    pipeline_id: String,
    execution_id: String,
    audit_id: String,
    row: u64,
    inputs: Vec<AuditInput>,
    outputs: Vec<AuditOutput>,
}

#[derive(Debug, Deserialize)]
struct AuditInput {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditOutput {
    name: String,
    formula: String,
    result: Option<String>,
    error_message: Option<String>,
    #[serde(default)]
    resources: AuditResources,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditResources {
    activities: Option<JsonValue>,
    calculations: Option<JsonValue>,
    reference_datasets: Option<JsonValue>,
}

/// The inputs and outputs of an execution's plan, which every record of it has.
#[derive(Clone, Debug)]
struct AuditLayout {
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl AuditLayout {
    fn header(&self) -> Vec<String> {
        let mut columns: Vec<String> = AUDIT_COLUMNS.iter().map(|&c| c.to_owned()).collect();
        columns.extend(self.inputs.iter().map(|i| format!("in_{i}")));
        for key in &self.outputs {
            for part in [
                "formula",
                "result",
                "errorMessage",
                "impacts",
                "calculations",
                "referenceDatasets",
            ] {
                columns.push(format!("out_{key}_{part}"));
            }
        }
        columns
    }

    /// One record as a row of the export.
    fn push(&self, lines: &mut Lines, record: &AuditRecord) -> ApiResult<()> {
        let json = |v: &Option<JsonValue>| v.as_ref().map(JsonValue::to_string).unwrap_or_default();
        let mut row = vec![
            record.pipeline_id.clone(),
            record.execution_id.clone(),
            record.audit_id.clone(),
            record.row.to_string(),
        ];
        row.extend(self.inputs.iter().map(|name| {
            record
                .inputs
                .iter()
                .find(|i| &i.name == name)
                .map(|i| i.value.clone())
                .unwrap_or_default()
        }));
        for key in &self.outputs {
            match record.outputs.iter().find(|o| &o.name == key) {
                Some(output) => row.extend([
                    output.formula.clone(),
                    output.result.clone().unwrap_or_default(),
                    output.error_message.clone().unwrap_or_default(),
                    json(&output.resources.activities),
                    json(&output.resources.calculations),
                    json(&output.resources.reference_datasets),
                ]),
                None => row.extend(std::iter::repeat_n(String::new(), 6)),
            }
        }
        lines.push(row)
    }
}

/// The CSV of an execution's audit records: [`AUDIT_BLOCKS`] blocks per query, each block's
/// rows made (records made again, then CSV) on a blocking thread, one block per core at a time,
/// in order.
fn audit_rows(
    tenant: Arc<dyn TenantStore>,
    source: Arc<AuditSource>,
    execution: String,
    layout: AuditLayout,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let header = line(layout.header());
    let query = execution.clone();
    let blocks = stream::try_unfold(Some(0), move |sequence| {
        let tenant = tenant.clone();
        let execution = query.clone();
        async move {
            let Some(sequence) = sequence else {
                return Ok::<_, ApiError>(None);
            };
            let blocks = tenant
                .processor()
                .audit_blocks(&execution, sequence, AUDIT_BLOCKS)
                .await?;
            let next = (blocks.len() == AUDIT_BLOCKS)
                .then(|| blocks.last().map(|b| b.sequence + 1))
                .flatten();
            Ok(Some((stream::iter(blocks.into_iter().map(Ok)), next)))
        }
    })
    .try_flatten();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows = blocks
        .map_ok(move |block| block_rows(source.clone(), layout.clone(), execution.clone(), block))
        .try_buffered(cores);
    file(header, rows)
}

/// The CSV rows of one audit block.
async fn block_rows(
    source: Arc<AuditSource>,
    layout: AuditLayout,
    execution: String,
    block: AuditBlock,
) -> ApiResult<Bytes> {
    let text = source.records(&block.records, None).await?;
    tokio::task::spawn_blocking(move || {
        let mut lines = Lines::new();
        for record in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let record: AuditRecord = serde_json::from_slice(record).map_err(|e| {
                ApiError::Internal(format!(
                    "an audit record in block {} of execution '{execution}': {e}",
                    block.sequence
                ))
            })?;
            layout.push(&mut lines, &record)?;
        }
        lines.finish()
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the audit export stopped unexpectedly: {e}")))?
}

/// The URL of a CSV of every audit record of the execution, one row per stored input row:
/// the identifiers, `in_<parameter>` per input and, per output, its formula, result, error
/// message and the impacts, calculations and reference datasets it used (as JSON). Built on
/// the first request once the execution has ended; later requests reuse it.
#[utoipa::path(
    post, path = "/pipelines/{id}/executions/{executionId}/generateAuditExportUrl", tag = "executions",
    params(
        ("id" = String, Path, description = "The pipeline id"),
        ("executionId" = String, Path, description = "The execution id"),
    ),
    responses(
        (status = 201, body = DownloadUrl),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The execution has not ended yet", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn audit_export(
    caller: Caller,
    State(state): State<AppState>,
    url: PublicUrl,
    Path((pipeline, id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<DownloadUrl>)> {
    authorize(&caller.context, Action::ReadActivities)?;
    let execution = executions::visible(&caller, &pipeline, &id).await?;
    if !matches!(execution.status, Status::Success | Status::Failed) {
        return Err(ApiError::Conflict(format!(
            "audit processing is still in progress for execution '{id}' (status {}): ask again once it is success or failed.",
            execution.status.as_str()
        )));
    }
    let key = audit_export_key(&caller.tenant_id, &execution.id)?;
    if state.blobs.get(&key).await?.is_none() {
        let source = Arc::new(AuditSource::open(&state, &caller, &execution).await?);
        let plan = source.plan();
        let layout = AuditLayout {
            inputs: plan
                .parameters()
                .iter()
                .map(|p| p.key.clone())
                .chain([sifr_engine::ROW_IDENTIFIER.to_owned()])
                .collect(),
            outputs: plan.outputs().iter().map(|o| o.key.clone()).collect(),
        };
        let rows = audit_rows(caller.tenant.clone(), source, execution.id.clone(), layout);
        let mut reader = StreamReader::new(Box::pin(rows));
        state.blobs.put(&key, &mut reader).await.map_err(|e| {
            ApiError::Internal(format!(
                "cannot export the audit records of execution '{id}': {}",
                failure(e)
            ))
        })?;
    }
    let ticket = Transfers::ticket(
        Direction::Download,
        "",
        caller.tenant_id.as_str(),
        &execution.pipeline_id,
        &execution.id,
        &key,
    );
    Ok((
        StatusCode::CREATED,
        Json(DownloadUrl {
            url: url.download(&state.transfers, &ticket),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_show_values_as_the_api_does() {
        let row: Map<String, JsonValue> = serde_json::from_str(
            r#"{"a": 12.3400000000000000001, "b": null, "c": "x,\"y\"", "d": true}"#,
        )
        .expect("JSON");
        let columns: Vec<String> = ["a", "b", "c", "d", "missing"]
            .iter()
            .map(|&c| c.to_owned())
            .collect();
        let shown: Vec<String> = cells(&row, &columns).collect();
        assert_eq!(shown, ["12.3400000000000000001", "", "x,\"y\"", "true", ""]);
        let text = line(shown).expect("CSV");
        assert_eq!(
            &text[..],
            b"12.3400000000000000001,,\"x,\"\"y\"\"\",true,\n"
        );
    }

    #[test]
    fn audit_records_pivot_into_one_row() {
        let layout = AuditLayout {
            inputs: vec!["mmbtu".into(), "fuel".into()],
            outputs: vec!["co2e".into(), "missing".into()],
        };
        let record: AuditRecord = serde_json::from_str(
            r#"{"pipelineId":"p","executionId":"e","auditId":"e-3","row":3,
                "inputs":[{"name":"fuel","value":"gas"},{"name":"mmbtu","value":"2"}],
                "outputs":[{"index":0,"name":"co2e","formula":":mmbtu*2",
                            "evaluated":{":mmbtu":"2"},
                            "resources":{"activities":[{"id":"a","version":1}]},
                            "result":"4"}]}"#,
        )
        .expect("a record");
        let mut lines = Lines::new();
        layout.push(&mut lines, &record).expect("a row");
        let text = lines.finish().expect("CSV");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&text[..]);
        let row: Vec<String> = reader
            .records()
            .next()
            .expect("a row")
            .expect("CSV")
            .iter()
            .map(str::to_owned)
            .collect();
        let header = layout.header();
        assert_eq!(row.len(), header.len());
        let by_column: std::collections::BTreeMap<&str, &str> = header
            .iter()
            .map(String::as_str)
            .zip(row.iter().map(String::as_str))
            .collect();
        assert_eq!(by_column["auditId"], "e-3");
        assert_eq!(by_column["in_mmbtu"], "2");
        assert_eq!(by_column["in_fuel"], "gas");
        assert_eq!(by_column["out_co2e_formula"], ":mmbtu*2");
        assert_eq!(by_column["out_co2e_result"], "4");
        assert_eq!(by_column["out_co2e_errorMessage"], "");
        assert_eq!(by_column["out_co2e_impacts"], r#"[{"id":"a","version":1}]"#);
        assert_eq!(by_column["out_missing_result"], "");
    }
}
