//! Audit records made again from an execution's input.
//!
//! Evaluation is deterministic: the same pipeline version, the same input row (with its row
//! number) and the same resource versions give the same values and the same record of every
//! formula's evaluation. So an execution over a stored CSV file need not write each row's
//! audit record as it runs: for each chunk it keeps a [`ChunkSpan`] (where the chunk's rows
//! lie in the file and how the file was read), and the execution keeps what each resource
//! look-up answered ([`sifr_calc::LookupLog`]). Reading an audit evaluates the chunk's rows
//! again with [`replay_audits`], against those exact resource versions
//! ([`sifr_calc::ReplayedResources`]).

use std::io::Read;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sifr_calc::ReplayedResources;

use crate::audit::AuditFormat;
use crate::error::{EngineError, InputError, SinkError};
use crate::execute::{ActivitySink, ExecutionOptions, NoProgress, Outcome, execute};
use crate::input::{CsvInput, CsvOptions, InputChunk, RowReader};
use crate::plan::Plan;
use crate::process::ChunkOutput;

/// The first line of a stored block that holds a [`ChunkSpan`] instead of records (a block
/// of records is a zstd frame, which starts otherwise).
const SPAN_MAGIC: &[u8] = b"\x1esifr-audit-span 1\n";

/// Where one chunk of an execution's CSV input lies, and how the input was read: what it
/// takes to evaluate the chunk's rows again, with their row numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkSpan {
    /// Where the header record ends.
    pub header_end: u64,
    /// Where the chunk's first record starts.
    pub start: u64,
    /// Where its last record ends.
    pub end: u64,
    /// Data rows before the chunk.
    pub rows_before: u64,
    pub csv: CsvOptions,
}

impl ChunkSpan {
    /// The span of an evaluated chunk of a CSV input read with `csv`, whose header ends at
    /// `header_end`, after `rows_before` data rows.
    pub fn of(chunk: &ChunkOutput, header_end: u64, rows_before: u64, csv: &CsvOptions) -> Self {
        ChunkSpan {
            header_end,
            start: chunk.start_byte,
            end: chunk.end_byte,
            rows_before,
            csv: csv.clone(),
        }
    }

    /// The span as a stored audit block.
    pub fn encode(&self) -> Vec<u8> {
        let mut block = SPAN_MAGIC.to_vec();
        // Serialising plain numbers and options cannot fail.
        let _ = serde_json::to_writer(&mut block, self);
        block
    }

    /// The span a stored audit block holds; `None` for a block of records.
    pub fn decode(block: &[u8]) -> Option<Result<Self, serde_json::Error>> {
        block.strip_prefix(SPAN_MAGIC).map(serde_json::from_slice)
    }
}

/// The audit records (SIF's JSON lines, in row order) of the stored rows of one chunk,
/// evaluated again; with `only_row`, of that row alone (rows are evaluated independently, so
/// its record is the same). `header` holds the input's first `span.header_end` bytes and `rows`
/// the bytes from `span.start` to `span.end`; `resources` answer from the execution's
/// look-ups, and `options` are the execution's. Fails, rather than give records the execution
/// did not make, when a look-up cannot be answered as it was.
pub fn replay_audits(
    plan: &Plan,
    header: &[u8],
    rows: &[u8],
    span: &ChunkSpan,
    only_row: Option<u64>,
    resources: Arc<ReplayedResources>,
    options: &ExecutionOptions,
) -> Result<Vec<u8>, EngineError> {
    let input = CsvInput::new(
        header.chain(rows),
        &plan.definition().transformer.parameters,
        &span.csv,
    )?
    .continuing_after(span.rows_before);
    let input = OnlyRow {
        input,
        row: only_row,
    };
    let options = ExecutionOptions {
        audit: true,
        audit_format: AuditFormat::Lines,
        threads: 1,
        cancel: None,
        ..options.clone()
    };
    let mut records = Records::default();
    execute(
        plan,
        input,
        resources.clone(),
        &options,
        &mut records,
        &NoProgress,
    )?;
    match resources.failure() {
        Some(failure) => Err(EngineError::Replay(failure)),
        None => Ok(records.lines),
    }
}

/// Hands on the chunks of `input`, or, with `row`, only that row of them.
struct OnlyRow<R> {
    input: R,
    row: Option<u64>,
}

impl<R: RowReader> RowReader for OnlyRow<R> {
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<InputChunk>, InputError> {
        let chunk = self.input.next_chunk(max_rows)?;
        match (chunk, self.row) {
            (Some(chunk), Some(row)) => chunk.only_row(row).map(Some),
            (chunk, _) => Ok(chunk),
        }
    }
}

/// Keeps the audit records of every chunk, and nothing else.
#[derive(Default)]
struct Records {
    lines: Vec<u8>,
}

impl ActivitySink for Records {
    type Encoder = ();

    fn encoder(&self) {}

    fn write(&mut self, chunk: &ChunkOutput, _: ()) -> Result<(), SinkError> {
        if let Some(batch) = &chunk.audit {
            self.lines.extend(batch.decompress()?);
        }
        Ok(())
    }

    fn finish(&mut self, _: &Outcome) -> Result<(), SinkError> {
        Ok(())
    }
}
