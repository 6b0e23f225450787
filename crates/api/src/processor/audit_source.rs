//! An execution's audit records, as the audits endpoint and the audit export read them.
//!
//! Each stored audit block covers one chunk of input rows. A block is either the chunk's
//! records, written as the rows were evaluated (rows that are not an uploaded file: inline
//! rows, another pipeline's activities), or a [`ChunkSpan`]: where the chunk lies in the
//! execution's uploaded CSV file. The rows of a span are evaluated again when their records
//! are read ([`sifr_engine::replay`]), with the pipeline version the execution ran and the
//! resource versions its look-ups found (kept in a [`LookupLog`] beside its input), so they
//! give the records the execution would have written, and an execution spends no time on
//! records nobody reads.

use std::sync::Arc;

use sifr_calc::{LookupLog, ReplayedResources};
use sifr_domain::TenantId;
use sifr_engine::{AuditBatch, ChunkSpan, EngineError, ExecutionOptions, Plan, replay_audits};
use sifr_store::BlobKey;
use tokio::sync::OnceCell;

use super::executions::Execution;
use super::runner::{self, acting_caller};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pipelines;
use crate::resolve::StoreResources;
use crate::state::AppState;

/// The blob of what an execution's resource look-ups found.
fn lookups_key(tenant: &TenantId, execution: &str) -> ApiResult<BlobKey> {
    runner::execution_blob(tenant, execution, "lookups.json")
}

/// Keeps what an execution's resource look-ups found, for its records to be made again.
pub(crate) async fn save_lookups(
    state: &AppState,
    tenant: &TenantId,
    execution: &str,
    lookups: &LookupLog,
) -> ApiResult<()> {
    let json = serde_json::to_vec(lookups)
        .map_err(|e| ApiError::Internal(format!("resource look-ups: {e}")))?;
    state
        .blobs
        .put(&lookups_key(tenant, execution)?, &mut json.as_slice())
        .await?;
    Ok(())
}

/// Reads the audit blocks of one execution.
pub(crate) struct AuditSource {
    state: AppState,
    /// Who the execution ran as: its resources are read as they were.
    acting: Caller,
    execution: String,
    plan: Arc<Plan>,
    options: ExecutionOptions,
    /// The first bytes of the input, up to the end of its header.
    header: OnceCell<Vec<u8>>,
    resources: OnceCell<Arc<ReplayedResources>>,
}

impl AuditSource {
    pub(crate) async fn open(
        state: &AppState,
        caller: &Caller,
        execution: &Execution,
    ) -> ApiResult<Self> {
        let acting = acting_caller(state, &caller.tenant_id, caller.tenant.clone(), execution)?;
        let plan =
            pipelines::execution_plan(&acting, &execution.pipeline_id, execution.pipeline_version)
                .await?;
        Ok(Self {
            state: state.clone(),
            acting,
            execution: execution.id.clone(),
            plan: Arc::new(plan),
            options: runner::execution_options(execution, true),
            header: OnceCell::new(),
            resources: OnceCell::new(),
        })
    }

    /// The pipeline version the execution ran.
    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The records of a stored block: SIF's JSON lines, one per stored row, in row order. With
    /// `only_row`, a block of spans gives that row's record alone (a block of records gives
    /// them all).
    pub(crate) async fn records(&self, block: &[u8], only_row: Option<u64>) -> ApiResult<Vec<u8>> {
        let Some(span) = ChunkSpan::decode(block) else {
            return AuditBatch {
                records: 0,
                compressed: block.to_vec(),
            }
            .decompress()
            .map_err(|e| self.broken(e));
        };
        let span = span.map_err(|e| self.broken(e))?;
        let header = self
            .header
            .get_or_try_init(|| self.input(0, span.header_end))
            .await?
            .clone();
        let rows = self.input(span.start, span.end - span.start).await?;
        let resources = self
            .resources
            .get_or_try_init(|| self.replayed_resources())
            .await?
            .clone();
        let plan = self.plan.clone();
        let options = self.options.clone();
        tokio::task::spawn_blocking(move || {
            replay_audits(&plan, &header, &rows, &span, only_row, resources, &options)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("audit records stopped unexpectedly: {e}")))?
        .map_err(|e| {
            let message = format!(
                "the audit records of execution '{}' cannot be made again: {e}",
                self.execution
            );
            match e {
                // The resources changed since (a version deleted): the caller can act on it.
                EngineError::Replay(_) => ApiError::Conflict(message),
                _ => ApiError::Internal(message),
            }
        })
    }

    fn broken(&self, error: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(format!(
            "the audit records of execution '{}' are unreadable: {error}",
            self.execution
        ))
    }

    /// `len` bytes of the execution's input from `start`.
    async fn input(&self, start: u64, len: u64) -> ApiResult<Vec<u8>> {
        let key = runner::input_key(&self.acting.tenant_id, &self.execution)?;
        let bytes = self
            .state
            .blobs
            .read_range(&key, start, len)
            .await?
            .ok_or_else(|| self.broken("its input file is missing"))?;
        if bytes.len() as u64 != len {
            return Err(self.broken("its input file is shorter than it was"));
        }
        Ok(bytes)
    }

    /// The resources as the execution's look-ups found them.
    async fn replayed_resources(&self) -> ApiResult<Arc<ReplayedResources>> {
        let key = lookups_key(&self.acting.tenant_id, &self.execution)?;
        let mut json = Vec::new();
        let mut blob = self
            .state
            .blobs
            .get(&key)
            .await?
            .ok_or_else(|| self.broken("the record of its resource look-ups is missing"))?;
        tokio::io::AsyncReadExt::read_to_end(&mut blob, &mut json)
            .await
            .map_err(|e| self.broken(e))?;
        let log: LookupLog = serde_json::from_slice(&json).map_err(|e| self.broken(e))?;
        let live = Arc::new(StoreResources::new(&self.acting));
        Ok(Arc::new(ReplayedResources::new(live, log)))
    }
}
