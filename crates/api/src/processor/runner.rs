//! Running executions: the engine reads the input on blocking threads and evaluates it on every
//! core, encoding each chunk's rows into segment rows per group on the same threads; the sink
//! gathers them into segments, which a writer thread compresses and writes in batches; the
//! execution then commits its versions (all visible at once), the pipeline's aggregations and
//! the tenant's metrics are brought up to date, and the execution gets its final status.
//!
//! A tenant runs one execution at a time, so executions never interleave their writes, and the
//! "latest version" of an activity is always the one the most recent execution wrote. An
//! execution interrupted by a stop of the server is started again when the server starts:
//! before its commit, from its input (what it had written is discarded first, so it ends with
//! exactly the activities its input defines); after it, from its aggregations and metrics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sifr_domain::{GroupPath, Memberships, Role, SecurityContext, TenantId, Timestamp};
use sifr_engine::definition::Aggregate;
use sifr_engine::{
    ActivitySink, AggregateRow, Aggregates, AuditFormat, ChunkEncoder, ChunkOutput, ChunkSpan,
    CsvOptions, EngineError, ExecutionOptions, FileSink, Fixed, MetricDays, MetricPlan, NoProgress,
    Outcome, PipelineType, Plan, SinkError, Stored, TimeUnit, ValueType, execute,
};
use sifr_store::segment::{
    SEGMENT_ROWS, Segment, SegmentBuilder, SegmentRow, SegmentSealer, activity_id,
};
use sifr_store::{
    ActivityChunk, ActivityKind, AuditBlock, BlobKey, MetricScope, MetricValueRecord,
    PendingEntries, ProcessorStore, TenantStore,
};
use tokio::runtime::Handle;

use super::connectors::{Input, InputConnector};
use super::executions::{Execution, Status};
use super::values::{from_stored_text, json_of, stored_text, write_stored_text};
use super::{audit_source, dataset_pipeline, impacts_pipeline};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pipelines;
use crate::resolve::StoreResources;
use crate::state::AppState;

/// Aggregated activities per write.
const AGGREGATES_PER_CHUNK: usize = 5000;

/// The message of an execution whose rows had errors, in SIF's words.
pub(crate) const CALCULATION_ERRORS: &str =
    "error when performing calculation, review the pipeline execution error log for further info";

/// One lock per tenant: executions (and metric aggregation jobs) of a tenant run one after the
/// other.
#[derive(Default)]
pub(crate) struct Runner {
    tenants: Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>,
}

impl Runner {
    pub(crate) fn lock_of(&self, tenant: &TenantId) -> Arc<tokio::sync::Mutex<()>> {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tenants.entry(tenant.clone()).or_default().clone()
    }
}

/// The blob `name` of an execution; each kept in the execution's folder.
pub(crate) fn execution_blob(tenant: &TenantId, execution: &str, name: &str) -> ApiResult<BlobKey> {
    Ok(BlobKey::parse(&format!(
        "tenants/{tenant}/executions/{execution}/{name}"
    ))?)
}

/// The blob an execution's input is uploaded to.
pub(crate) fn input_key(tenant: &TenantId, execution: &str) -> ApiResult<BlobKey> {
    execution_blob(tenant, execution, "input.csv")
}

/// The blob of a data pipeline execution's results.
pub(crate) fn output_key(tenant: &TenantId, execution: &str) -> ApiResult<BlobKey> {
    execution_blob(tenant, execution, "result.csv")
}

/// The blob of an execution's error report.
pub(crate) fn errors_key(tenant: &TenantId, execution: &str) -> ApiResult<BlobKey> {
    execution_blob(tenant, execution, "errors.txt")
}

/// Who background work acts as: the execution's creator, as a contributor of its group.
pub(crate) fn acting_caller(
    state: &AppState,
    tenant_id: &TenantId,
    tenant: Arc<dyn TenantStore>,
    execution: &Execution,
) -> ApiResult<Caller> {
    acting_as(
        state,
        tenant_id,
        tenant,
        &execution.created_by,
        &execution.group_context_id,
    )
}

/// Who background work acts as: whoever asked for it, as a contributor of `group`.
pub(crate) fn acting_as(
    state: &AppState,
    tenant_id: &TenantId,
    tenant: Arc<dyn TenantStore>,
    created_by: &str,
    group: &str,
) -> ApiResult<Caller> {
    let group = GroupPath::parse(group)
        .map_err(|e| ApiError::Internal(format!("group of background work: {e}")))?;
    Ok(Caller {
        tenant_id: tenant_id.clone(),
        tenant,
        context: SecurityContext {
            caller: created_by.to_owned(),
            memberships: Memberships::new([(group.clone(), Role::Contributor)]),
            group,
            floor: None,
        },
        datasets: state.datasets.clone(),
        store: state.store.clone(),
    })
}

/// Processes an execution's uploaded input in the background.
pub(crate) fn start(state: AppState, tenant_id: TenantId, execution_id: String) {
    tokio::spawn(async move {
        let lock = state.runner.lock_of(&tenant_id);
        let _turn = lock.lock().await;
        if let Err(e) = run(&state, &tenant_id, &execution_id).await {
            tracing::error!(execution = %execution_id, error = %e, "execution failed");
            let failed = async {
                let tenant = state.store.tenant(&tenant_id).await?;
                let mut execution = Execution::load(tenant.processor(), &execution_id).await?;
                execution.finish(Status::Failed, Some(e.to_string()));
                execution.save(tenant.processor()).await
            };
            if let Err(e) = failed.await {
                tracing::error!(execution = %execution_id, error = %e, "cannot record the failure");
            }
        }
    });
}

/// Starts again the executions a stop of the server interrupted.
pub(crate) async fn resume(state: &AppState) -> ApiResult<()> {
    for tenant in state.store.tenants().await? {
        let store = state.store.tenant(&tenant.id).await?;
        let running = [
            Status::InProgress.as_str(),
            Status::CalculatingMetrics.as_str(),
        ];
        for record in store.processor().executions_with_status(&running).await? {
            tracing::info!(execution = %record.id, "resuming an interrupted execution");
            start(state.clone(), tenant.id.clone(), record.id);
        }
        super::aggregations::resume(state, &tenant.id, store.processor()).await?;
    }
    Ok(())
}

async fn run(state: &AppState, tenant_id: &TenantId, execution_id: &str) -> ApiResult<()> {
    let tenant = state.store.tenant(tenant_id).await?;
    let processor = tenant.processor();
    let mut execution = Execution::load(processor, execution_id).await?;
    // What an interrupted run wrote and did not commit goes, so the run starts from a clean
    // slate; a run interrupted after its commit only has its aggregations and metrics to do.
    let committed = processor.discard_uncommitted(execution_id).await?;
    let caller = acting_caller(state, tenant_id, tenant.clone(), &execution)?;
    let plan =
        pipelines::execution_plan(&caller, &execution.pipeline_id, execution.pipeline_version)
            .await?;
    if committed {
        let work_dir = state.config.data_dir.as_path();
        return complete_committed(&caller, &plan, &mut execution, work_dir).await;
    }
    execution.status = Status::InProgress;
    execution.save(processor).await?;
    if plan.kind() == PipelineType::ReferenceDatasets {
        return dataset_pipeline::run(state, &caller, plan, &mut execution).await;
    }
    let connector = InputConnector::resolve(
        &caller,
        plan.definition().connector_config.as_ref(),
        execution.connector_overrides.as_ref(),
    )
    .await?;
    let plan = Arc::new(plan);
    let input = Input::open(state, &caller, &plan, &execution, connector.source()?).await?;
    if plan.kind() != PipelineType::Activities {
        return run_data(state, &caller, plan, &mut execution, input).await;
    }
    let errors = tempfile::tempfile_in(state.config.data_dir.as_path()).map_err(|e| {
        ApiError::Internal(format!("cannot create the execution's error file: {e}"))
    })?;
    // Rows read from the uploaded file have their audit records made again from it when they
    // are asked for; other rows have them written as they are evaluated.
    let csv = input.csv_options().cloned();
    let audit = csv.is_none();
    let work_dir = state.config.data_dir.as_path();
    let sink = StoreSink::new(tenant.clone(), &execution, errors, work_dir)?.spans(csv);
    let (outcome, mut sink) =
        evaluate(&caller, &execution, plan.clone(), input, sink, audit).await?;
    let pending = sink.take_pending()?;
    if !audit {
        // What the records are made again with.
        audit_source::save_lookups(state, tenant_id, execution_id, &outcome.lookups).await?;
    }

    tracing::info!(
        execution = %execution_id,
        rows = outcome.rows_read,
        seconds = outcome.elapsed.as_secs_f64(),
        "rows evaluated and stored"
    );
    if sink.error_lines > 0 {
        let mut file = sink.into_errors()?;
        file.rewind()
            .map_err(|e| ApiError::Internal(format!("error file: {e}")))?;
        let mut file = tokio::fs::File::from_std(file);
        state
            .blobs
            .put(&errors_key(tenant_id, execution_id)?, &mut file)
            .await?;
    }
    finish(&caller, &plan, &mut execution, &outcome, pending, work_dir).await
}

/// Runs the engine over the execution's input on a blocking thread, writing to `sink`, which
/// comes back with the outcome.
async fn evaluate<S>(
    caller: &Caller,
    execution: &Execution,
    plan: Arc<Plan>,
    input: Input,
    mut sink: S,
    audit: bool,
) -> ApiResult<(Outcome, S)>
where
    S: ActivitySink + Send + 'static,
{
    let resources = Arc::new(StoreResources::new(caller));
    let options = execution_options(execution, audit);
    tokio::task::spawn_blocking(move || {
        let input = input.reader(&plan)?;
        let outcome = execute(&plan, input, resources, &options, &mut sink, &NoProgress)?;
        Ok::<_, EngineError>((outcome, sink))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the execution stopped unexpectedly: {e}")))?
    .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// A data or impacts pipeline: its outputs become a CSV file (`outputDownloadUrl`), nothing
/// is stored as activities; the rows of an impacts pipeline then define impacts.
async fn run_data(
    state: &AppState,
    caller: &Caller,
    plan: Arc<Plan>,
    execution: &mut Execution,
    input: Input,
) -> ApiResult<()> {
    let folder = tempfile::tempdir_in(state.config.data_dir.as_path())
        .map_err(|e| ApiError::Internal(format!("cannot create a working folder: {e}")))?;
    let sink = FileSink::create(folder.path(), &plan, false)
        .map_err(|e| ApiError::Internal(format!("cannot create the result file: {e}")))?;
    let kind = plan.kind();
    let (outcome, _) = evaluate(caller, execution, plan, input, sink, false).await?;
    let store = |name: &'static str, key: BlobKey| {
        let path = folder.path().join(name);
        async move {
            let mut file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| ApiError::Internal(format!("{name}: {e}")))?;
            state.blobs.put(&key, &mut file).await?;
            Ok::<_, ApiError>(())
        }
    };
    store("result.csv", output_key(&caller.tenant_id, &execution.id)?).await?;
    if outcome.errors() > 0 {
        store("errors.txt", errors_key(&caller.tenant_id, &execution.id)?).await?;
    }
    execution.record_outcome(&outcome);
    let mut message = (!outcome.succeeded()).then(|| CALCULATION_ERRORS.to_owned());
    if message.is_none() && kind == PipelineType::Impacts {
        let result = folder.path().join("result.csv");
        message = impacts_pipeline::publish_file(caller, &result)
            .await
            .err()
            .map(|e| impacts_failure(&e));
    }
    let status = match message {
        None => Status::Success,
        Some(_) => Status::Failed,
    };
    execution.finish(status, message);
    execution.save(caller.tenant.processor()).await
}

/// The status message of an impacts execution whose impacts could not all be written.
pub(crate) fn impacts_failure(error: &ApiError) -> String {
    format!("error when creating or updating impacts: {error}")
}

/// After the rows are written: the commit (of the index entries the writes left in
/// `pending`), aggregations, metrics, and the final status. When the execution only added
/// activities, the aggregates and metric values it computed while reading are added to the
/// stored ones; otherwise (versions replaced, deletions) they are computed again from the
/// latest values of all activities. Temporary files go under `work_dir`.
pub(crate) async fn finish(
    caller: &Caller,
    plan: &Plan,
    execution: &mut Execution,
    outcome: &Outcome,
    pending: PendingEntries,
    work_dir: &Path,
) -> ApiResult<()> {
    let processor = caller.tenant.processor();
    execution.record_outcome(outcome);
    execution.status = Status::CalculatingMetrics;
    execution.save(processor).await?;
    let committed = match processor
        .commit_activities(
            &execution.pipeline_id,
            ActivityKind::Raw,
            &execution.id,
            pending,
        )
        .await
    {
        Ok(committed) => committed,
        Err(e) => {
            // Nothing was committed: the written versions would only take room.
            processor.discard_uncommitted(&execution.id).await?;
            return Err(e.into());
        }
    };
    let only_new = committed.created == committed.versions;
    update_aggregates_and_metrics(caller, plan, execution, outcome, only_new, work_dir).await?;
    conclude(processor, execution).await
}

/// Finishes an execution whose versions were committed before a stop of the server: its
/// aggregations and metrics are computed again from the latest values.
async fn complete_committed(
    caller: &Caller,
    plan: &Plan,
    execution: &mut Execution,
    work_dir: &Path,
) -> ApiResult<()> {
    let processor = caller.tenant.processor();
    let extent = processor.execution_extent(&execution.id).await?;
    // What deferring the metrics needs to know of the execution: where its activities are.
    let outcome = Outcome {
        groups: extent
            .groups
            .iter()
            .map(|g| Arc::from(g.as_str()))
            .collect(),
        dates: extent.dates,
        ..Outcome::default()
    };
    execution.status = Status::CalculatingMetrics;
    execution.save(processor).await?;
    update_aggregates_and_metrics(caller, plan, execution, &outcome, false, work_dir).await?;
    conclude(processor, execution).await
}

async fn update_aggregates_and_metrics(
    caller: &Caller,
    plan: &Plan,
    execution: &Execution,
    outcome: &Outcome,
    only_new: bool,
    work_dir: &Path,
) -> ApiResult<()> {
    let processor = caller.tenant.processor();
    let started = std::time::Instant::now();
    let merged =
        only_new && merge_aggregates(processor, plan, execution, outcome, work_dir).await?;
    if !merged {
        aggregate(processor, plan, execution, work_dir).await?;
    }
    if execution.trigger_metric_aggregations {
        if only_new {
            add_metric_values(processor, outcome).await?;
        } else {
            roll_up_metrics(caller).await?;
        }
    } else {
        // The metrics are left to a metric aggregation job, started later by a client.
        super::aggregations::defer(caller, plan, execution, outcome).await?;
    }
    tracing::info!(
        execution = %execution.id,
        incremental = only_new,
        seconds = started.elapsed().as_secs_f64(),
        "aggregates and metrics updated"
    );
    Ok(())
}

/// The final status, from the recorded row counts.
async fn conclude(processor: &dyn ProcessorStore, execution: &mut Execution) -> ApiResult<()> {
    let errors = execution
        .rows
        .as_ref()
        .map_or(0, |rows| rows.rows_failed + rows.cell_errors);
    if errors == 0 {
        execution.finish(Status::Success, None);
    } else {
        execution.finish(Status::Failed, Some(CALCULATION_ERRORS.to_owned()));
    }
    execution.save(processor).await
}

/// The engine's options for `execution`; with `audit`, the engine writes the audit record of
/// each stored row.
pub(crate) fn execution_options(execution: &Execution, audit: bool) -> ExecutionOptions {
    let mut options = ExecutionOptions::new(
        &execution.pipeline_id,
        &execution.id,
        &execution.group_context_id,
    );
    options.audit = audit;
    options.audit_format = AuditFormat::Compact;
    options
}

/// Gathers the engine's rows into segments (one group's rows each), which a [`BatchWriter`]
/// writes to the activity store in batches, and the row errors to a file. Inline executions
/// hold their rows back and store them only when no row failed.
pub(crate) struct StoreSink {
    tombstones: bool,
    pipeline_id: String,
    errors: BufWriter<File>,
    pub(crate) error_lines: u64,
    /// Segments being filled, by group.
    open: HashMap<String, SegmentBuilder>,
    /// Full segments, and audit blocks, for the next batch.
    batch: Batch,
    writer: BatchWriter,
    /// The index entries of what was written, once everything is.
    pending: Option<PendingEntries>,
    /// Where each chunk lies in the CSV input, for audit records made again on demand.
    spans: Option<Spans>,
    /// Inline: the rows are stored only once every row succeeded, and shown in the response.
    held: Option<Held>,
}

/// How the CSV input was read, and how far.
struct Spans {
    csv: CsvOptions,
    header_end: Option<u64>,
    rows_before: u64,
}

/// Rows per write transaction.
const WRITE_BATCH_ROWS: usize = 16_384;

/// Bytes of open segments at most: beyond, the fullest are sealed early (many groups).
const OPEN_BYTES: usize = 16 << 20;

struct Held {
    /// Whether the rows become activities (not for data pipelines).
    store: bool,
    outputs: Vec<(String, ValueType)>,
    rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

impl StoreSink {
    /// Must be created on the server's runtime.
    /// Temporary files go under `work_dir`.
    pub(crate) fn new(
        tenant: Arc<dyn TenantStore>,
        execution: &Execution,
        errors: File,
        work_dir: &Path,
    ) -> ApiResult<Self> {
        Ok(Self {
            tombstones: execution.is_deletion(),
            pipeline_id: execution.pipeline_id.clone(),
            errors: BufWriter::new(errors),
            error_lines: 0,
            open: HashMap::new(),
            batch: Batch::default(),
            writer: BatchWriter::start(tenant, execution, PendingEntries::new(work_dir))?,
            pending: None,
            spans: None,
            held: None,
        })
    }

    /// Keeps, instead of audit records, where each chunk lies in a CSV input read with `csv`.
    pub(crate) fn spans(mut self, csv: Option<CsvOptions>) -> Self {
        self.spans = csv.map(|csv| Spans {
            csv,
            header_end: None,
            rows_before: 0,
        });
        self
    }

    /// Holds the rows back until every row succeeded (then stores them when `store`), and keeps
    /// them for the response.
    pub(crate) fn inline(mut self, outputs: Vec<(String, ValueType)>, store: bool) -> Self {
        self.held = Some(Held {
            store,
            outputs,
            rows: Vec::new(),
        });
        self
    }

    /// The inline rows' outputs: numbers as numbers, timestamps in RFC 3339.
    pub(crate) fn take_outputs(&mut self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.held
            .as_mut()
            .map(|held| std::mem::take(&mut held.rows))
            .unwrap_or_default()
    }

    /// The index entries of the written versions, for the commit.
    pub(crate) fn take_pending(&mut self) -> ApiResult<PendingEntries> {
        self.pending
            .take()
            .ok_or_else(|| ApiError::Internal("the execution's writes did not finish".into()))
    }

    pub(crate) fn into_errors(self) -> ApiResult<File> {
        self.errors
            .into_inner()
            .map_err(|e| ApiError::Internal(format!("error file: {e}")))
    }

    /// Moves a group's segment into the next batch.
    fn close(&mut self, group: &str) {
        if let Some(builder) = self.open.remove(group) {
            self.batch.rows += builder.len();
            self.batch.segments.push(builder);
        }
    }

    /// Hands the batch to the writer.
    fn flush(&mut self) -> Result<(), SinkError> {
        if self.batch.segments.is_empty() && self.batch.audits.is_empty() {
            return Ok(());
        }
        self.writer.send(std::mem::take(&mut self.batch))
    }
}

/// Segments to seal and write in one transaction, with audit blocks.
#[derive(Default)]
struct Batch {
    segments: Vec<SegmentBuilder>,
    rows: usize,
    audits: Vec<AuditBlock>,
}

/// Seals (compresses) segments and writes batches of them to the activity store on a thread
/// of its own, so that storing one batch overlaps gathering the next.
struct BatchWriter {
    batches: Option<SyncSender<Batch>>,
    thread: Option<JoinHandle<Result<PendingEntries, SinkError>>>,
}

impl BatchWriter {
    /// Must be called on the server's runtime.
    fn start(
        tenant: Arc<dyn TenantStore>,
        execution: &Execution,
        mut pending: PendingEntries,
    ) -> ApiResult<Self> {
        let runtime = Handle::current();
        let (pipeline_id, execution_id) = (execution.pipeline_id.clone(), execution.id.clone());
        // One batch waiting while another is written.
        let (batches, received) = sync_channel::<Batch>(1);
        let write = move || -> Result<PendingEntries, SinkError> {
            let mut sealer = SegmentSealer::new()?;
            for batch in received {
                let segments = batch
                    .segments
                    .into_iter()
                    .map(|builder| sealer.seal(builder))
                    .collect::<Result<Vec<Segment>, _>>()?;
                let chunk = ActivityChunk {
                    pipeline_id: pipeline_id.clone(),
                    execution_id: execution_id.clone(),
                    kind: ActivityKind::Raw,
                    created_at: Timestamp::now().as_millis(),
                    segments,
                    audits: batch.audits,
                };
                let written = tenant.processor().write_activities(&chunk, &mut pending);
                runtime.block_on(written)?;
            }
            Ok(pending)
        };
        let thread = std::thread::Builder::new()
            .name("sifr-writer".into())
            .spawn(write)
            .map_err(|e| ApiError::Internal(format!("cannot start a writer thread: {e}")))?;
        Ok(Self {
            batches: Some(batches),
            thread: Some(thread),
        })
    }

    fn send(&mut self, batch: Batch) -> Result<(), SinkError> {
        let sent = self.batches.as_ref().map(|batches| batches.send(batch));
        match sent {
            Some(Ok(())) => Ok(()),
            // The writer stopped: its error says why.
            _ => self.finish().map(drop),
        }
    }

    /// Waits for every batch to be written; returns the index entries of what was.
    fn finish(&mut self) -> Result<PendingEntries, SinkError> {
        self.batches = None;
        match self.thread.take().map(JoinHandle::join) {
            None => Err("the activity writer has already stopped".into()),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err("the activity writer stopped unexpectedly".into()),
        }
    }
}

/// A chunk's rows as segment rows, one builder per group, and its audit block.
pub(crate) struct Staged {
    parts: Vec<SegmentBuilder>,
    audit: Option<AuditBlock>,
}

/// Encodes chunks on the evaluation threads.
pub(crate) struct Stager {
    tombstones: bool,
    pipeline_id: String,
}

impl ChunkEncoder for Stager {
    type Encoded = Staged;

    fn encode(&mut self, plan: &Plan, chunk: &ChunkOutput) -> Result<Staged, SinkError> {
        let outputs = plan.outputs();
        let keys: Vec<String> = outputs.iter().map(|o| o.key.clone()).collect();
        let unique = plan.unique_keys();
        let mut parts: Vec<Option<SegmentBuilder>> = Vec::new();
        // One row's texts, reused: every value's text in `text`, each a range of it.
        let mut text = String::new();
        let mut ranges: Vec<Option<(usize, usize)>> = Vec::with_capacity(outputs.len());
        let mut errors = String::new();
        for row in chunk.rows.iter() {
            text.clear();
            ranges.clear();
            errors.clear();
            for (output, value) in outputs.iter().zip(row.values) {
                let start = text.len();
                let written = write_stored_text(&mut text, value);
                ranges.push(written.then_some((start, text.len())));
                if let (false, Stored::Error(message)) = (self.tombstones, value) {
                    errors.push(if errors.is_empty() { '{' } else { ',' });
                    push_json_str(&mut errors, &output.key);
                    errors.push(':');
                    push_json_str(&mut errors, message);
                }
            }
            if !errors.is_empty() {
                errors.push('}');
            }
            let text_of = |i: usize| ranges[i].map(|(a, b)| &text[a..b]);
            // A deletion keeps no values; its unique keys still identify its activities.
            let values: Vec<Option<&str>> = (0..outputs.len())
                .map(|i| if self.tombstones { None } else { text_of(i) })
                .collect();
            let mut keys5 = [""; 5];
            for (slot, &i) in unique.iter().enumerate().take(5) {
                keys5[slot] = text_of(i).unwrap_or_default();
            }
            let date = row.info.date.unwrap_or_default();
            let group = row.group.as_ref();
            let number = row.info.group as usize;
            if parts.len() <= number {
                parts.resize_with(number + 1, || None);
            }
            let builder = parts[number].get_or_insert_with(|| SegmentBuilder::new(group, &keys));
            builder.push(
                activity_id(
                    &self.pipeline_id,
                    ActivityKind::Raw as i64,
                    group,
                    date,
                    &keys5,
                ),
                &SegmentRow {
                    date,
                    row: row.info.row as i64,
                    keys: keys5,
                    values: &values,
                    errors: (!errors.is_empty()).then_some(errors.as_str()),
                },
            );
        }
        // The engine makes audit records when the execution options ask for them.
        let audit = match &chunk.audit {
            Some(batch) if !chunk.rows.is_empty() => Some(AuditBlock {
                sequence: chunk.sequence as i64,
                first_row: chunk.rows.get(0).info.row as i64,
                last_row: chunk.rows.get(chunk.rows.len() - 1).info.row as i64,
                records: batch.compressed.clone(),
            }),
            _ => None,
        };
        Ok(Staged {
            parts: parts.into_iter().flatten().collect(),
            audit,
        })
    }
}

/// Appends `text` as a JSON string.
fn push_json_str(out: &mut String, text: &str) {
    // Serialising a string into a String cannot fail.
    if let Ok(quoted) = serde_json::to_string(text) {
        out.push_str(&quoted);
    }
}

impl ActivitySink for StoreSink {
    type Encoder = Stager;

    fn encoder(&self) -> Stager {
        Stager {
            tombstones: self.tombstones,
            pipeline_id: self.pipeline_id.clone(),
        }
    }

    fn write(&mut self, chunk: &ChunkOutput, staged: Staged) -> Result<(), SinkError> {
        for error in &chunk.errors {
            // Cell errors of a deletion are ignored, as its values are not stored.
            if self.tombstones && error.kind == sifr_engine::ErrorKind::Cell {
                continue;
            }
            self.errors.write_all(error.message.as_bytes())?;
            self.errors.write_all(b"\r\n")?;
            self.error_lines += 1;
        }
        let span = self.spans.as_mut().map(|spans| {
            // Chunks come in input order: the first starts where the header ends.
            let header_end = *spans.header_end.get_or_insert(chunk.start_byte);
            let span = ChunkSpan::of(chunk, header_end, spans.rows_before, &spans.csv);
            spans.rows_before += chunk.rows_read;
            span
        });
        if chunk.rows.is_empty() {
            return Ok(());
        }
        self.batch.audits.extend(staged.audit);
        if let Some(span) = span {
            self.batch.audits.push(AuditBlock {
                sequence: chunk.sequence as i64,
                first_row: chunk.rows.get(0).info.row as i64,
                last_row: chunk.rows.get(chunk.rows.len() - 1).info.row as i64,
                records: span.encode(),
            });
        }
        for part in staged.parts {
            let group = part.group.clone();
            let full = match self.open.get_mut(&group) {
                Some(open) => {
                    open.append(part);
                    open.len() >= SEGMENT_ROWS
                }
                None => {
                    let full = part.len() >= SEGMENT_ROWS;
                    self.open.insert(group.clone(), part);
                    full
                }
            };
            if full {
                self.close(&group);
            }
        }
        if self.open.values().map(SegmentBuilder::bytes).sum::<usize>() > OPEN_BYTES {
            let mut fullest: Vec<(usize, String)> = self
                .open
                .iter()
                .map(|(group, b)| (b.bytes(), group.clone()))
                .collect();
            fullest.sort_unstable_by(|a, b| b.cmp(a));
            for (_, group) in fullest.into_iter().take(self.open.len().div_ceil(2)) {
                self.close(&group);
            }
        }
        match &mut self.held {
            Some(held) => {
                for row in chunk.rows.iter() {
                    let shown = held
                        .outputs
                        .iter()
                        .zip(row.values)
                        .map(|((key, kind), value)| {
                            let json = stored_text(value)
                                .map_or(serde_json::Value::Null, |t| json_of(Some(*kind), &t));
                            (key.clone(), json)
                        })
                        .collect();
                    held.rows.push(shown);
                }
            }
            None if self.batch.rows >= WRITE_BATCH_ROWS => self.flush()?,
            None => {}
        }
        Ok(())
    }

    fn finish(&mut self, outcome: &Outcome) -> Result<(), SinkError> {
        self.errors.flush()?;
        let store = match &self.held {
            None => true,
            Some(held) => held.store && outcome.succeeded(),
        };
        if store {
            let groups: Vec<String> = self.open.keys().cloned().collect();
            for group in groups {
                self.close(&group);
            }
            self.flush()?;
        }
        self.pending = Some(self.writer.finish()?);
        Ok(())
    }
}

/// Numbers group names in order of first appearance, as the engine's accumulators expect.
#[derive(Default)]
struct GroupTable {
    names: Vec<Arc<str>>,
    numbers: HashMap<Arc<str>, u32>,
}

impl GroupTable {
    fn number(&mut self, group: &str) -> u32 {
        if let Some(&n) = self.numbers.get(group) {
            return n;
        }
        let name: Arc<str> = Arc::from(group);
        let n = self.names.len() as u32;
        self.names.push(name.clone());
        self.numbers.insert(name, n);
        n
    }
}

/// Computes the pipeline's aggregations again from the latest values of all its activities and
/// replaces its aggregated activities with them.
async fn aggregate(
    processor: &dyn ProcessorStore,
    plan: &Plan,
    execution: &Execution,
    work_dir: &Path,
) -> ApiResult<()> {
    let Some(aggregation) = plan.aggregation() else {
        return Ok(());
    };
    let mut read: Vec<usize> = vec![aggregation.period];
    read.extend(&aggregation.dimensions);
    read.extend(aggregation.measures.iter().map(|&(i, _)| i));
    let mut groups = GroupTable::default();
    let mut totals = Aggregates::default();
    let mut values = vec![Stored::Null; plan.outputs().len()];
    scan_values(
        processor,
        plan,
        &execution.pipeline_id,
        ActivityKind::Raw,
        &read,
        &mut |group, _, decoded| {
            for (&i, value) in read.iter().zip(decoded) {
                values[i] = value.clone();
            }
            let group = groups.number(group);
            totals.add_row(aggregation, group, &values);
        },
    )
    .await?;
    let rows = totals.results(aggregation, &groups.names);
    replace_aggregates(processor, plan, execution, &rows, work_dir).await
}

/// Calls `visit` with the group, the date and the values of the outputs `read` (as their
/// outputs' types; null when absent) of the latest version of each of the pipeline's
/// activities of `kind`.
async fn scan_values(
    processor: &dyn ProcessorStore,
    plan: &Plan,
    pipeline_id: &str,
    kind: ActivityKind,
    read: &[usize],
    visit: &mut (dyn FnMut(&str, i64, &[Stored]) + Send),
) -> ApiResult<()> {
    let outputs = plan.outputs();
    let keys: Vec<String> = read.iter().map(|&i| outputs[i].key.clone()).collect();
    let mut decoded = Vec::with_capacity(read.len());
    processor
        .scan_latest(pipeline_id, kind, &keys, &mut |activity| {
            decoded.clear();
            decoded.extend(read.iter().zip(activity.values).map(|(&i, text)| {
                text.map_or(Stored::Null, |t| from_stored_text(outputs[i].kind, t))
            }));
            visit(activity.group, activity.date, &decoded);
        })
        .await?;
    Ok(())
}

/// Adds the execution's aggregates to the stored ones, when every function can be merged
/// (sums, counts, minima, maxima; a mean cannot without its count). Returns whether it did.
async fn merge_aggregates(
    processor: &dyn ProcessorStore,
    plan: &Plan,
    execution: &Execution,
    outcome: &Outcome,
    work_dir: &Path,
) -> ApiResult<bool> {
    let Some(aggregation) = plan.aggregation() else {
        return Ok(true);
    };
    if aggregation
        .measures
        .iter()
        .any(|&(_, f)| f == Aggregate::Mean)
    {
        return Ok(false);
    }
    let mut read: Vec<usize> = aggregation.dimensions.clone();
    read.extend(aggregation.measures.iter().map(|&(i, _)| i));
    let dimensions = aggregation.dimensions.len();
    let mut rows: BTreeMap<(Arc<str>, i64, Vec<Stored>), Vec<Stored>> = BTreeMap::new();
    scan_values(
        processor,
        plan,
        &execution.pipeline_id,
        ActivityKind::Aggregated,
        &read,
        &mut |group, date, decoded| {
            let (dims, measures) = decoded.split_at(dimensions);
            rows.insert((Arc::from(group), date, dims.to_vec()), measures.to_vec());
        },
    )
    .await?;
    for row in &outcome.aggregates {
        let key = (row.group.clone(), row.date, row.dimensions.clone());
        match rows.get_mut(&key) {
            None => {
                rows.insert(key, row.values.clone());
            }
            Some(stored) => {
                for ((value, &(_, function)), new) in stored
                    .iter_mut()
                    .zip(&aggregation.measures)
                    .zip(&row.values)
                {
                    *value = merged(function, value, new);
                }
            }
        }
    }
    let rows: Vec<AggregateRow> = rows
        .into_iter()
        .map(|((group, date, dimensions), values)| AggregateRow {
            group,
            date,
            dimensions,
            values,
        })
        .collect();
    replace_aggregates(processor, plan, execution, &rows, work_dir).await?;
    Ok(true)
}

/// Two results of an aggregate function over disjoint sets of values, as one.
fn merged(function: Aggregate, a: &Stored, b: &Stored) -> Stored {
    match (a, b) {
        (Stored::Number(x), Stored::Number(y)) => match function {
            Aggregate::Min => Stored::Number(*x.min(y)),
            Aggregate::Max => Stored::Number(*x.max(y)),
            _ => x.checked_add(*y).map_or_else(
                || Stored::Error("the total exceeds the range of stored numbers".into()),
                Stored::Number,
            ),
        },
        (Stored::Null, other) | (other, Stored::Null) => other.clone(),
        (error @ Stored::Error(_), _) | (_, error @ Stored::Error(_)) => error.clone(),
        (other, _) => other.clone(),
    }
}

/// Replaces the pipeline's aggregated activities with `rows`.
async fn replace_aggregates(
    processor: &dyn ProcessorStore,
    plan: &Plan,
    execution: &Execution,
    rows: &[AggregateRow],
    work_dir: &Path,
) -> ApiResult<()> {
    let Some(aggregation) = plan.aggregation() else {
        return Ok(());
    };
    let outputs = plan.outputs();
    processor.delete_aggregates(&execution.pipeline_id).await?;
    // An aggregated activity holds the period, the dimensions and the measures.
    let keys: Vec<String> = std::iter::once(aggregation.period)
        .chain(aggregation.dimensions.iter().copied())
        .chain(aggregation.measures.iter().map(|&(i, _)| i))
        .map(|i| outputs[i].key.clone())
        .collect();
    let mut open: HashMap<&str, SegmentBuilder> = HashMap::new();
    let mut sealer = SegmentSealer::new()?;
    let mut sealed = Vec::new();
    for row in rows {
        let texts: Vec<Option<String>> = std::iter::once(Some(row.date.to_string()))
            .chain(row.dimensions.iter().chain(&row.values).map(stored_text))
            .collect();
        let values: Vec<Option<&str>> = texts.iter().map(Option::as_deref).collect();
        let mut key_texts: [String; 5] = Default::default();
        for (slot, value) in row.dimensions.iter().enumerate().take(5) {
            key_texts[slot] = stored_text(value).unwrap_or_default();
        }
        let keys5: [&str; 5] = std::array::from_fn(|i| key_texts[i].as_str());
        let group: &str = &row.group;
        let builder = open
            .entry(group)
            .or_insert_with(|| SegmentBuilder::new(group, &keys));
        let kind = ActivityKind::Aggregated as i64;
        builder.push(
            activity_id(&execution.pipeline_id, kind, group, row.date, &keys5),
            &SegmentRow {
                date: row.date,
                row: 0,
                keys: keys5,
                values: &values,
                errors: None,
            },
        );
        if builder.len() >= SEGMENT_ROWS
            && let Some(full) = open.remove(group)
        {
            sealed.push(sealer.seal(full)?);
        }
    }
    for (_, builder) in open {
        sealed.push(sealer.seal(builder)?);
    }
    let created_at = Timestamp::now().as_millis();
    let mut pending = PendingEntries::new(work_dir);
    let mut segments = sealed.into_iter().peekable();
    while segments.peek().is_some() {
        let mut batch = Vec::new();
        let mut rows = 0;
        while let Some(segment) = segments.next_if(|_| rows < AGGREGATES_PER_CHUNK) {
            rows += segment.ids.len();
            batch.push(segment);
        }
        processor
            .write_activities(
                &ActivityChunk {
                    pipeline_id: execution.pipeline_id.clone(),
                    execution_id: execution.id.clone(),
                    kind: ActivityKind::Aggregated,
                    created_at,
                    segments: batch,
                    audits: Vec::new(),
                },
                &mut pending,
            )
            .await?;
    }
    processor
        .commit_activities(
            &execution.pipeline_id,
            ActivityKind::Aggregated,
            &execution.id,
            pending,
        )
        .await?;
    Ok(())
}

/// Adds the execution's metric values to the stored ones (metric values are sums, so the
/// values of disjoint sets of activities add up).
async fn add_metric_values(processor: &dyn ProcessorStore, outcome: &Outcome) -> ApiResult<()> {
    if outcome.metrics.is_empty() {
        return Ok(());
    }
    let names: BTreeSet<String> = outcome
        .metrics
        .iter()
        .map(|m| m.metric.to_string())
        .collect();
    let names: Vec<String> = names.into_iter().collect();
    type Key = (String, &'static str, String, i64);
    let mut values: BTreeMap<Key, (Fixed, Fixed, String)> = BTreeMap::new();
    let parse = |text: &str| Fixed::parse(text).unwrap_or_default();
    for name in &names {
        for unit in TimeUnit::ALL {
            let code = unit_code(unit);
            for r in processor
                .metric_values(name, code, &MetricScope::All, i64::MIN, i64::MAX)
                .await?
            {
                values.insert(
                    (r.name, code, r.group_id, r.date),
                    (
                        parse(&r.group_value),
                        parse(&r.sub_groups_value),
                        r.created_at,
                    ),
                );
            }
        }
    }
    let now = Timestamp::now().to_string();
    let overflow =
        || ApiError::BadRequest("a metric value exceeds the range of stored numbers".into());
    for row in &outcome.metrics {
        let key = (
            row.metric.to_string(),
            unit_code(row.unit),
            row.group.to_string(),
            row.day,
        );
        let entry = values
            .entry(key)
            .or_insert((Fixed::ZERO, Fixed::ZERO, now.clone()));
        let own = row.group_value.value().ok_or_else(overflow)?;
        let below = row.sub_groups_value.value().ok_or_else(overflow)?;
        entry.0 = entry.0.checked_add(own).ok_or_else(overflow)?;
        entry.1 = entry.1.checked_add(below).ok_or_else(overflow)?;
        entry.2.clone_from(&now);
    }
    let records: Vec<MetricValueRecord> = values
        .into_iter()
        .map(
            |((name, unit, group_id, date), (own, below, created_at))| MetricValueRecord {
                name,
                time_unit: unit.to_owned(),
                group_id,
                date,
                group_value: own.to_string(),
                sub_groups_value: below.to_string(),
                created_at,
            },
        )
        .collect();
    processor.replace_metric_values(&names, &records).await?;
    Ok(())
}

/// The metrics' one-letter time unit codes, as stored.
pub(crate) fn unit_code(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Day => "d",
        TimeUnit::Week => "w",
        TimeUnit::Month => "m",
        TimeUnit::Quarter => "q",
        TimeUnit::Year => "y",
    }
}

/// Computes every metric of the tenant fed by pipeline outputs (and the metrics they feed)
/// again from the latest values of the activities, and replaces the stored values.
pub(crate) async fn roll_up_metrics(caller: &Caller) -> ApiResult<()> {
    let processor = caller.tenant.processor();
    let definitions = pipelines::metric_definitions(caller).await?;
    let feeds = pipelines::metric_feeds(caller).await?;
    let fed: Vec<&str> = feeds.keys().map(String::as_str).collect();
    let plan = MetricPlan::new(&definitions, &fed).map_err(|problems| {
        ApiError::BadRequest(format!(
            "metrics cannot be computed: {}",
            problems.join("; ")
        ))
    })?;
    let mut groups = GroupTable::default();
    let mut days = MetricDays::default();
    for (name, inputs) in &feeds {
        let Some(metric) = plan.index(name) else {
            continue;
        };
        for input in inputs {
            processor
                .scan_latest(
                    &input.pipeline_id,
                    ActivityKind::Raw,
                    std::slice::from_ref(&input.output),
                    &mut |activity| {
                        if let Some(value) = activity.values[0].and_then(sifr_engine::Fixed::parse)
                        {
                            let group = groups.number(activity.group);
                            days.add(metric, group, activity.date, value);
                        }
                    },
                )
                .await?;
        }
    }
    let now = Timestamp::now().to_string();
    let text =
        |sum: sifr_engine::aggregate::Sum| sum.value().map(|v| v.to_string()).unwrap_or_default();
    let records: Vec<MetricValueRecord> = plan
        .roll_up(&days, &groups.names)
        .into_iter()
        .map(|row| MetricValueRecord {
            name: row.metric.to_string(),
            time_unit: unit_code(row.unit).to_owned(),
            group_id: row.group.to_string(),
            date: row.day,
            group_value: text(row.group_value),
            sub_groups_value: text(row.sub_groups_value),
            created_at: now.clone(),
        })
        .collect();
    let names: Vec<String> = plan.metrics().iter().map(|m| m.name.to_string()).collect();
    processor.replace_metric_values(&names, &records).await?;
    Ok(())
}
