//! `/aggregations`: metric aggregation jobs, which bring a pipeline's metric (KPI) values up to
//! date. An execution with `triggerMetricAggregations: false` leaves its metrics to a *pending*
//! job (merged into one already pending for the same pipeline and a related group), which a
//! client starts with `PATCH`; `POST` creates a job and starts it at once.
//!
//! sifr keeps metric values computed from the latest version of every activity, so a run
//! computes every metric of the tenant again over the whole history: that covers whatever
//! range the job names. The job's time range and queues say what it was asked for, as SIF's did.
//! A job runs in its tenant's execution turn, so it never interleaves with an execution's
//! writes. Finished jobs are kept (SIF removed succeeded jobs an hour later).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use sifr_domain::{Action, GroupPath, ResourceId, TenantId, Timestamp, authorize};
use sifr_engine::{Outcome, Plan};
use sifr_store::{AggregationJobQuery, AggregationJobRecord, ProcessorStore};
use utoipa::ToSchema;

use super::executions::Execution;
use super::runner;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, Query};
use crate::pipelines::{self, Pipelines};
use crate::resources::{Access, load};
use crate::state::AppState;

/// SIF's refusal of a `PATCH` of a job that is missing or no longer pending.
const NOT_PENDING: &str =
    "Metric aggregation job cannot be found or status is not in pending state";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub(crate) struct QueuedMetric {
    order: usize,
    metric: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub(crate) struct QueuedGroup {
    order: usize,
    group: String,
}

/// An inclusive range of activity dates, `from` not after `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub(crate) struct TimeRange {
    #[schema(value_type = String)]
    from: Timestamp,
    #[schema(value_type = String)]
    to: Timestamp,
}

impl TimeRange {
    fn new(from: Timestamp, to: Timestamp) -> ApiResult<Self> {
        if from > to {
            return Err(ApiError::BadRequest("time range is invalid".into()));
        }
        Ok(Self { from, to })
    }

    fn union(self, other: Self) -> Self {
        Self {
            from: self.from.min(other.from),
            to: self.to.max(other.to),
        }
    }
}

/// A metric aggregation job, as SIF returns it (with sifr's `statusMessage` when it failed).
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Job {
    id: String,
    pipeline_id: String,
    status: JobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    group_context_id: String,
    /// The metrics the pipeline feeds, in evaluation order.
    metric_queue: Vec<QueuedMetric>,
    /// The deepest groups the job covers.
    groups_queue: Vec<QueuedGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_range: Option<TimeRange>,
    created_at: String,
    created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

impl Job {
    fn new(
        status: JobStatus,
        pipeline_id: &str,
        group: &str,
        created_by: &str,
        plan: &Plan,
        groups: impl IntoIterator<Item = String>,
        time_range: TimeRange,
    ) -> Self {
        Self {
            id: ResourceId::generate().to_string(),
            pipeline_id: pipeline_id.to_owned(),
            status,
            status_message: None,
            group_context_id: group.to_owned(),
            metric_queue: numbered(plan.metrics().metrics().iter().map(|m| m.name.to_string()))
                .map(|(order, metric)| QueuedMetric { order, metric })
                .collect(),
            groups_queue: leaves(groups),
            time_range: Some(time_range),
            created_at: Timestamp::now().to_string(),
            created_by: created_by.to_owned(),
            updated_at: None,
        }
    }

    async fn find(processor: &dyn ProcessorStore, id: &str) -> ApiResult<Option<Self>> {
        processor
            .aggregation_job(id)
            .await?
            .map(Self::of)
            .transpose()
    }

    fn of(record: AggregationJobRecord) -> ApiResult<Self> {
        serde_json::from_value(JsonValue::Object(record.body)).map_err(|e| {
            ApiError::Internal(format!(
                "stored metric aggregation job '{}': {e}",
                record.id
            ))
        })
    }

    fn record(&self) -> ApiResult<AggregationJobRecord> {
        let JsonValue::Object(body) = serde_json::to_value(self)
            .map_err(|e| ApiError::Internal(format!("metric aggregation job: {e}")))?
        else {
            return Err(ApiError::Internal(
                "a metric aggregation job is not an object".into(),
            ));
        };
        Ok(AggregationJobRecord {
            id: self.id.clone(),
            pipeline_id: self.pipeline_id.clone(),
            status: self.status.as_str().to_owned(),
            group_context_id: self.group_context_id.clone(),
            body,
        })
    }

    /// Writes the job if it still has status `from`; returns whether it did.
    async fn save(&mut self, processor: &dyn ProcessorStore, from: JobStatus) -> ApiResult<bool> {
        self.updated_at = Some(Timestamp::now().to_string());
        Ok(processor
            .update_aggregation_job(&self.record()?, from.as_str())
            .await?)
    }

    fn group(&self) -> Option<GroupPath> {
        GroupPath::parse(&self.group_context_id).ok()
    }

    /// Whether the caller may see it: from its group or one above.
    fn visible_to(&self, caller: &Caller) -> bool {
        self.group()
            .is_some_and(|group| caller.context.group.contains(&group))
    }

    /// Whether `other` may be merged into this job: same pipeline, and one's group is the
    /// other's or lies below it.
    fn overlaps(&self, other: &Job) -> bool {
        self.pipeline_id == other.pipeline_id
            && match (self.group(), other.group()) {
                (Some(a), Some(b)) => a.contains(&b) || b.contains(&a),
                _ => false,
            }
    }

    /// Takes in `other`: the upper of the two groups, every metric and leaf group of both,
    /// and the union of the time ranges.
    fn merge(&mut self, other: Job) {
        if let (Some(mine), Some(theirs)) = (self.group(), other.group())
            && theirs.contains(&mine)
        {
            self.group_context_id = other.group_context_id;
        }
        let mut metrics: Vec<String> = self.metric_queue.drain(..).map(|m| m.metric).collect();
        for queued in other.metric_queue {
            if !metrics.contains(&queued.metric) {
                metrics.push(queued.metric);
            }
        }
        self.metric_queue = numbered(metrics)
            .map(|(order, metric)| QueuedMetric { order, metric })
            .collect();
        self.groups_queue = leaves(
            self.groups_queue
                .drain(..)
                .chain(other.groups_queue)
                .map(|g| g.group),
        );
        self.time_range = match (self.time_range, other.time_range) {
            (Some(a), Some(b)) => Some(a.union(b)),
            (a, b) => a.or(b),
        };
        self.status = other.status;
    }
}

/// Items numbered from 1, as SIF's queues are.
fn numbered<T>(items: impl IntoIterator<Item = T>) -> impl Iterator<Item = (usize, T)> {
    items.into_iter().enumerate().map(|(i, item)| (i + 1, item))
}

/// The groups among `groups` with none of the others below them, in path order.
fn leaves(groups: impl IntoIterator<Item = String>) -> Vec<QueuedGroup> {
    let all: BTreeSet<String> = groups.into_iter().collect();
    let paths: Vec<GroupPath> = all
        .iter()
        .filter_map(|g| GroupPath::parse(g).ok())
        .collect();
    let leaves = paths.iter().filter(|group| {
        !paths
            .iter()
            .any(|other| other != *group && group.contains(other))
    });
    numbered(leaves.map(GroupPath::to_string))
        .map(|(order, group)| QueuedGroup { order, group })
        .collect()
}

/// Stores `job`, or merges it into a pending job it overlaps. Returns the job stored and
/// whether it was merged. A pending job that moves on (is started) between reading and
/// writing is left alone, and `job` stored on its own.
async fn save_or_merge(processor: &dyn ProcessorStore, job: Job) -> ApiResult<(Job, bool)> {
    let pending = processor
        .aggregation_jobs(&AggregationJobQuery {
            within: None,
            pipeline_id: Some(job.pipeline_id.clone()),
            status: Some(JobStatus::Pending.as_str().to_owned()),
            after: None,
            count: usize::MAX,
        })
        .await?;
    for record in pending {
        let mut existing = Job::of(record)?;
        if !existing.overlaps(&job) {
            continue;
        }
        existing.merge(job.clone());
        if existing.save(processor, JobStatus::Pending).await? {
            return Ok((existing, true));
        }
        break;
    }
    processor.create_aggregation_job(&job.record()?).await?;
    Ok((job, false))
}

/// Leaves the metrics of an execution with `triggerMetricAggregations: false` to a pending
/// job: its pipeline, its group, the groups it stored rows in and its activities' dates.
pub(crate) async fn defer(
    caller: &Caller,
    plan: &Plan,
    execution: &Execution,
    outcome: &Outcome,
) -> ApiResult<()> {
    // Nothing stored, nothing to aggregate.
    let Some((first, last)) = outcome.dates else {
        return Ok(());
    };
    let instant = |seconds: i64| {
        Timestamp::from_millis(seconds.saturating_mul(1000))
            .map_err(|e| ApiError::Internal(format!("activity date: {e}")))
    };
    let job = Job::new(
        JobStatus::Pending,
        &execution.pipeline_id,
        &execution.group_context_id,
        &execution.created_by,
        plan,
        outcome.groups.iter().map(|g| g.to_string()),
        TimeRange::new(instant(first)?, instant(last)?)?,
    );
    let (job, merged) = save_or_merge(caller.tenant.processor(), job).await?;
    tracing::info!(execution = %execution.id, job = %job.id, merged, "metrics deferred to a job");
    Ok(())
}

/// Runs a started job in the background, in its tenant's execution turn.
fn start(state: AppState, tenant_id: TenantId, id: String) {
    tokio::spawn(async move {
        let lock = state.runner.lock_of(&tenant_id);
        let _turn = lock.lock().await;
        if let Err(e) = run(&state, &tenant_id, &id).await {
            tracing::error!(job = %id, error = %e, "cannot run the metric aggregation job");
        }
    });
}

/// Computes the metrics again and records the job's outcome: `succeeded`, or `failed` with the
/// reason.
async fn run(state: &AppState, tenant_id: &TenantId, id: &str) -> ApiResult<()> {
    let tenant = state.store.tenant(tenant_id).await?;
    let processor = tenant.processor();
    let Some(mut job) = Job::find(processor, id).await? else {
        // Deleted before its turn came.
        return Ok(());
    };
    if job.status != JobStatus::Running {
        return Ok(());
    }
    let computed = async {
        let caller = runner::acting_as(
            state,
            tenant_id,
            tenant.clone(),
            &job.created_by,
            &job.group_context_id,
        )?;
        runner::roll_up_metrics(&caller).await
    }
    .await;
    match computed {
        Ok(()) => job.status = JobStatus::Succeeded,
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "metric aggregation job failed");
            job.status = JobStatus::Failed;
            job.status_message = Some(e.to_string());
        }
    }
    if !job.save(processor, JobStatus::Running).await? {
        tracing::info!(job = %id, "the metric aggregation job was deleted while it ran");
    }
    Ok(())
}

/// Starts again the jobs a stop of the server interrupted.
pub(crate) async fn resume(
    state: &AppState,
    tenant_id: &TenantId,
    processor: &dyn ProcessorStore,
) -> ApiResult<()> {
    let running = processor
        .aggregation_jobs(&AggregationJobQuery {
            within: None,
            pipeline_id: None,
            status: Some(JobStatus::Running.as_str().to_owned()),
            after: None,
            count: usize::MAX,
        })
        .await?;
    for record in running {
        tracing::info!(job = %record.id, "resuming an interrupted metric aggregation job");
        start(state.clone(), tenant_id.clone(), record.id);
    }
    Ok(())
}

/// Parses an ISO 8601 instant (`2023-01-15T00:00:00Z`) or date (`2023-01-15`, midnight UTC).
fn instant(field: &str, text: &str) -> ApiResult<Timestamp> {
    let bad = || {
        ApiError::Validation(format!(
            "body/{field} '{text}' is not a date: use ISO 8601 (2023-01-15 or 2023-01-15T00:00:00Z)"
        ))
    };
    if let Ok(instant) = Timestamp::parse(text) {
        return Ok(instant);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| bad())?;
    let midnight = jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .map_err(|_| bad())?;
    Timestamp::from_millis(midnight.as_millisecond()).map_err(|_| bad())
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RequestedRange {
    /// ISO 8601 date or date-time.
    from: String,
    to: String,
}

/// `POST /aggregations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewJob {
    pipeline_id: String,
    time_range: RequestedRange,
}

/// Creates a job for the pipeline's metrics over the time range and starts it; a pending job
/// of the pipeline in the same group, one above or one below is started instead, its range
/// widened to take this one in (200).
#[utoipa::path(
    post, path = "/aggregations", tag = "metrics", request_body = NewJob,
    responses(
        (status = 201, description = "A new job, running", body = Job),
        (status = 200, description = "Merged into a pending job, now running", body = Job),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewJob>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    authorize(&caller.context, Action::CreateResource)?;
    let range = TimeRange::new(
        instant("timeRange/from", &request.time_range.from)?,
        instant("timeRange/to", &request.time_range.to)?,
    )?;
    let pipeline = load::<Pipelines>(&caller, &request.pipeline_id, Access::Update).await?;
    let plan = pipelines::execution_plan(&caller, pipeline.id.as_str(), pipeline.version).await?;
    let group = caller.context.group.to_string();
    let job = Job::new(
        JobStatus::Running,
        pipeline.id.as_str(),
        &group,
        caller.email(),
        &plan,
        [group.clone()],
        range,
    );
    let (job, merged) = save_or_merge(caller.tenant.processor(), job).await?;
    start(state, caller.tenant_id.clone(), job.id.clone());
    let status = if merged {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(job)))
}

/// `PATCH /aggregations/{id}`: a new time range, or either bound of it.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct RangeChange {
    from: Option<String>,
    to: Option<String>,
}

/// Starts a pending job, with the range changed as asked.
#[utoipa::path(
    patch, path = "/aggregations/{id}", tag = "metrics", request_body = RangeChange,
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 200, description = "The job, running", body = Job),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<RangeChange>,
) -> ApiResult<Json<Job>> {
    authorize(&caller.context, Action::CreateResource)?;
    let processor = caller.tenant.processor();
    let mut job = Job::find(processor, &id)
        .await?
        .filter(|job| job.status == JobStatus::Pending && job.visible_to(&caller))
        .ok_or_else(|| ApiError::BadRequest(NOT_PENDING.into()))?;
    let from = change
        .from
        .map(|t| instant("from", &t))
        .transpose()?
        .or(job.time_range.map(|r| r.from));
    let to = change
        .to
        .map(|t| instant("to", &t))
        .transpose()?
        .or(job.time_range.map(|r| r.to));
    job.time_range = match (from, to) {
        (Some(from), Some(to)) => Some(TimeRange::new(from, to)?),
        (None, None) => None,
        _ => {
            return Err(ApiError::Validation(
                "body must have both 'from' and 'to': the job has no time range to complete".into(),
            ));
        }
    };
    job.status = JobStatus::Running;
    if !job.save(processor, JobStatus::Pending).await? {
        return Err(ApiError::BadRequest(NOT_PENDING.into()));
    }
    start(state, caller.tenant_id.clone(), job.id.clone());
    Ok(Json(job))
}

/// `GET /aggregations`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobList {
    jobs: Vec<Job>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pagination: Option<JsonValue>,
}

/// The jobs of the group in context and of every group below it, oldest first.
#[utoipa::path(
    get, path = "/aggregations", tag = "metrics",
    params(
        ("count" = Option<usize>, Query, description = "Page size"),
        ("pipelineId" = Option<String>, Query, description = "Only this pipeline's jobs"),
        ("fromToken" = Option<String>, Query, description = "Start after this job id"),
    ),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(caller: Caller, query: Query) -> ApiResult<Json<JobList>> {
    authorize(&caller.context, Action::ReadActivities)?;
    let count = query.count("count")?;
    let records = caller
        .tenant
        .processor()
        .aggregation_jobs(&AggregationJobQuery {
            within: Some(caller.context.group.clone()),
            pipeline_id: query.get("pipelineId").map(str::to_owned),
            status: None,
            after: query.get("fromToken").map(str::to_owned),
            // One more than a page tells whether there is another.
            count: count.map_or(usize::MAX, |c| c.saturating_add(1)),
        })
        .await?;
    let more = count.is_some_and(|c| records.len() > c);
    let jobs = records
        .into_iter()
        .take(count.unwrap_or(usize::MAX))
        .map(Job::of)
        .collect::<ApiResult<Vec<Job>>>()?;
    let pagination = count.is_some().then(|| {
        let mut p = Map::new();
        if more && let Some(last) = jobs.last() {
            p.insert(
                "lastEvaluatedToken".into(),
                JsonValue::String(last.id.clone()),
            );
        }
        JsonValue::Object(p)
    });
    Ok(Json(JobList { jobs, pagination }))
}

/// Removes a job (a running one still completes its computation).
#[utoipa::path(
    delete, path = "/aggregations/{id}", tag = "metrics",
    params(("id" = String, Path, description = "The job id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn delete(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    authorize(
        &caller.context,
        Action::DeleteResource(std::slice::from_ref(&caller.context.group)),
    )?;
    let processor = caller.tenant.processor();
    let not_found = || ApiError::NotFound(format!("Metric aggregation job '{id}' not found."));
    let job = Job::find(processor, &id).await?.ok_or_else(not_found)?;
    if !job.visible_to(&caller) || !processor.delete_aggregation_job(&job.id).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
