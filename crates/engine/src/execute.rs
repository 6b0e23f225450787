//! Running a pipeline over an input: one thread reads chunks of rows, every core evaluates
//! chunks, and the calling thread hands the results to a sink in input order.
//!
//! Memory stays flat however long the input: at most a fixed number of chunks is in flight
//! (read, being evaluated, or waiting for an earlier chunk to be written), and what outlives a
//! chunk is only the aggregation and metric accumulators, whose size depends on groups, days
//! and dimensions, not on rows.
//!
//! The writing thread does as little as it can, since it is the one part that does not run in
//! parallel: each evaluation thread adds its chunks' accumulators to totals of its own (merged
//! at the end), and written chunks go back to the evaluation threads to be freed.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sifr_calc::LookupLog;
use sifr_calc::resources::PinnedVersion;
use sifr_calc::{ResourceSource, Session};

use crate::aggregate::AggregateRow;
use crate::audit::AuditFormat;
use crate::error::{EngineError, ErrorKind, SinkError};
use crate::input::RowReader;
use crate::metrics::MetricRow;
use crate::plan::Plan;
use crate::process::{ChunkOutput, Evaluator, Totals};

/// Rows per chunk unless told otherwise: small enough to keep memory low and spread work
/// evenly, large enough that per-chunk costs vanish.
pub const DEFAULT_CHUNK_ROWS: usize = 8192;

/// How to run one execution.
#[derive(Clone, Debug)]
pub struct ExecutionOptions {
    pub pipeline_id: String,
    pub execution_id: String,
    /// The group the execution runs in: the group of rows without ASSIGN_TO_GROUP, and the
    /// group ASSIGN_TO_GROUP targets must be in.
    pub group_context: String,
    /// Produce audit records.
    pub audit: bool,
    /// How audit records are written.
    pub audit_format: AuditFormat,
    /// Evaluation threads.
    pub threads: usize,
    pub chunk_rows: usize,
    /// Set to stop the execution at the next chunk.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl ExecutionOptions {
    /// Options with one evaluation thread per core, no audit, default chunks.
    pub fn new(pipeline_id: &str, execution_id: &str, group_context: &str) -> Self {
        ExecutionOptions {
            pipeline_id: pipeline_id.to_owned(),
            execution_id: execution_id.to_owned(),
            group_context: group_context.to_lowercase(),
            audit: false,
            audit_format: AuditFormat::Lines,
            threads: thread::available_parallelism().map_or(1, |n| n.get()),
            chunk_rows: DEFAULT_CHUNK_ROWS,
            cancel: None,
        }
    }
}

/// Receives progress as chunks are written.
pub trait Progress: Sync {
    /// `rows` input rows and `bytes` input bytes have been processed and written.
    fn advance(&self, rows: u64, bytes: u64);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _: u64, _: u64) {}
}

/// Prepares chunks for a sink on the evaluation threads (formatting, encoding), so the
/// in-order writer only copies bytes. Each thread owns one encoder.
pub trait ChunkEncoder: Send {
    type Encoded: Send;
    fn encode(&mut self, plan: &Plan, chunk: &ChunkOutput) -> Result<Self::Encoded, SinkError>;
}

/// Sinks with nothing to prepare in parallel use `()`.
impl ChunkEncoder for () {
    type Encoded = ();

    fn encode(&mut self, _: &Plan, _: &ChunkOutput) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Where an execution's results go: files for `sifr run`, the activity store for the server.
///
/// [`write`](ActivitySink::write) receives every chunk exactly once, in input order, on one
/// thread, with what the sink's encoder prepared for it. A chunk holds its stored rows, its
/// errors and its compressed audit records, so a transactional sink can commit each chunk as a
/// unit; a sink that also commits per-chunk aggregation or metric accumulators builds them in
/// its encoder, in parallel, with [`Aggregates::add_row`](crate::Aggregates::add_row) and
/// [`MetricDays::add`](crate::MetricDays::add). [`finish`](ActivitySink::finish) receives the
/// execution's outcome, with the final aggregates and metric values.
pub trait ActivitySink {
    type Encoder: ChunkEncoder;
    fn encoder(&self) -> Self::Encoder;
    fn write(
        &mut self,
        chunk: &ChunkOutput,
        encoded: <Self::Encoder as ChunkEncoder>::Encoded,
    ) -> Result<(), SinkError>;
    fn finish(&mut self, outcome: &Outcome) -> Result<(), SinkError>;
}

/// What an execution did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub rows_read: u64,
    pub rows_stored: u64,
    /// Rows not stored because of a row-level error.
    pub rows_failed: u64,
    /// Rows left out without an error (`skipParsingErrors`).
    pub rows_skipped: u64,
    /// Outputs of stored rows that hold an error instead of a value.
    pub cell_errors: u64,
    pub bytes_read: u64,
    /// The groups rows were stored in.
    pub groups: BTreeSet<Arc<str>>,
    /// Earliest and latest activity date (epoch seconds).
    pub dates: Option<(i64, i64)>,
    /// Pipeline aggregation results, ordered by group, date and dimensions.
    pub aggregates: Vec<AggregateRow>,
    /// Metric values: each metric × group and ancestor × time unit × period.
    pub metrics: Vec<MetricRow>,
    /// The resource versions the formulas used.
    pub resources: Vec<PinnedVersion>,
    /// What each resource look-up answered.
    pub lookups: LookupLog,
    pub elapsed: Duration,
}

impl Outcome {
    /// Errors reported, row-level and cell-level.
    pub fn errors(&self) -> u64 {
        self.rows_failed + self.cell_errors
    }

    /// True when no row had an error (SIF's `success`; otherwise `failed`).
    pub fn succeeded(&self) -> bool {
        self.errors() == 0
    }
}

/// An evaluated chunk, the number of the thread that evaluated it, and its encoding.
type ChunkResult<E> = Result<(usize, ChunkOutput, E), EngineError>;

/// Runs `plan` over `input`, writing results to `sink`.
pub fn execute<S: ActivitySink>(
    plan: &Plan,
    input: impl RowReader,
    resources: Arc<dyn ResourceSource>,
    options: &ExecutionOptions,
    sink: &mut S,
    progress: &dyn Progress,
) -> Result<Outcome, EngineError> {
    let started = Instant::now();
    let session = Session::new(resources, options.group_context.clone());
    let threads = options.threads.max(1);
    let in_flight = threads * 2 + 2;
    let cancelled = || {
        options
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    };
    let audit_ids = options.audit.then_some((
        options.pipeline_id.as_str(),
        options.execution_id.as_str(),
        options.audit_format,
    ));

    let (work_tx, work_rx) = sync_channel(threads);
    // Shared by the workers only: when the last one stops, the reader's sends fail.
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (result_tx, result_rx) =
        sync_channel::<ChunkResult<<S::Encoder as ChunkEncoder>::Encoded>>(in_flight);
    // A chunk may be read only when one of these slots is free; the writer frees a slot after
    // writing a chunk, which bounds chunks in flight, reordering included.
    let (slot_tx, slot_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = slot_tx.send(());
    }

    // Written chunks go back to the thread that evaluated them, to be freed where their values
    // were made (freeing and reference counts then stay on one core).
    let (spent_tx, spent_rx): (Vec<_>, Vec<_>) = (0..threads)
        .map(|_| sync_channel::<ChunkOutput>(in_flight))
        .unzip();

    let mut outcome = Outcome::default();
    let mut written = 0u64;

    let result = thread::scope(|scope| {
        let reader_tx = result_tx.clone();
        let mut input = input;
        scope.spawn(move || {
            let read = catch_unwind(AssertUnwindSafe(|| {
                while slot_rx.recv().is_ok() {
                    if cancelled() {
                        return Err(EngineError::Cancelled);
                    }
                    match input.next_chunk(options.chunk_rows.max(1)) {
                        Ok(Some(chunk)) => {
                            if work_tx.send(chunk).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return Err(EngineError::Input(e)),
                    }
                }
                Ok(())
            }));
            let failure = match read {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e,
                Err(panic) => EngineError::Worker(panic_message(&panic)),
            };
            let _ = reader_tx.send(Err(failure));
        });

        let mut workers = Vec::with_capacity(threads);
        for (worker, spent_rx) in spent_rx.into_iter().enumerate() {
            let tx = result_tx.clone();
            let work_rx = work_rx.clone();
            let mut encoder = sink.encoder();
            let session = &session;
            workers.push(scope.spawn(move || {
                let mut evaluator =
                    Evaluator::new(plan, session, &options.group_context, audit_ids);
                loop {
                    while spent_rx.try_recv().is_ok() {}
                    let next = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok(chunk) = next else { break };
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        let output = evaluator.process(&chunk).map_err(|e| {
                            EngineError::Sink(format!("compressing audit records: {e}").into())
                        })?;
                        let encoded = encoder.encode(plan, &output).map_err(EngineError::Sink)?;
                        Ok((worker, output, encoded))
                    }))
                    .unwrap_or_else(|panic| Err(EngineError::Worker(panic_message(&panic))));
                    let failed = result.is_err();
                    if tx.send(result).is_err() || failed {
                        break;
                    }
                }
                evaluator.into_totals()
            }));
        }
        drop(work_rx);
        drop(result_tx);

        let mut pending = BTreeMap::new();
        let collected = loop {
            let Ok(result) = result_rx.recv() else {
                break Ok(());
            };
            let (worker, chunk, encoded) = match result {
                Ok(done) => done,
                Err(e) => break Err(e),
            };
            pending.insert(chunk.sequence, (worker, chunk, encoded));
            let mut failed = None;
            while let Some((worker, chunk, encoded)) = pending.remove(&written) {
                if let Err(e) = sink.write(&chunk, encoded) {
                    failed = Some(EngineError::Sink(e));
                    break;
                }
                count(&mut outcome, &chunk);
                written += 1;
                progress.advance(outcome.rows_read, outcome.bytes_read);
                let _ = slot_tx.send(());
                // When the evaluation thread is behind on freeing, this thread frees.
                let _ = spent_tx[worker].try_send(chunk);
            }
            if let Some(e) = failed {
                break Err(e);
            }
            if cancelled() {
                break Err(EngineError::Cancelled);
            }
        };
        // Unblock every thread before the scope joins them.
        drop(result_rx);
        drop(slot_tx);
        let mut totals = Totals::default();
        for worker in workers {
            match worker.join() {
                Ok(theirs) => totals.merge(&theirs),
                Err(panic) => return Err(EngineError::Worker(panic_message(&panic))),
            }
        }
        collected.and_then(|()| match pending.is_empty() {
            true => Ok(totals),
            false => Err(EngineError::Worker(
                "chunks were evaluated but an earlier chunk never arrived".into(),
            )),
        })
    });
    let totals = result?;

    if let Some(aggregation) = plan.aggregation() {
        outcome.aggregates = totals.aggregates.results(aggregation, &totals.groups);
    }
    outcome.metrics = plan.metrics().roll_up(&totals.metric_days, &totals.groups);
    outcome.groups = totals.groups.iter().cloned().collect();
    outcome.resources = session.resources().pinned();
    outcome.lookups = session.resources().log();
    outcome.elapsed = started.elapsed();
    sink.finish(&outcome).map_err(EngineError::Sink)?;
    Ok(outcome)
}

/// Adds a written chunk's counts to the outcome.
fn count(outcome: &mut Outcome, chunk: &ChunkOutput) {
    outcome.rows_read += chunk.rows_read;
    outcome.rows_stored += chunk.rows.len() as u64;
    outcome.rows_failed += chunk.rows_failed;
    outcome.rows_skipped += chunk.rows_skipped;
    outcome.cell_errors += chunk
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::Cell)
        .count() as u64;
    outcome.bytes_read = chunk.end_byte;
    if let Some((lo, hi)) = chunk.dates {
        outcome.dates = Some(
            outcome
                .dates
                .map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))),
        );
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
