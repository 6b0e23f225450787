//! Helpers: pipelines from JSON, resources in a temporary folder, and a sink that keeps
//! everything in memory.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use sifr_engine::{
    ActivitySink, AuditFormat, ChunkEncoder, ChunkOutput, CsvInput, CsvOptions, EngineError,
    ExecutionOptions, FileResources, MetricDefinition, NoProgress, Outcome, PipelineDefinition,
    Plan, RowError, RowReader, SinkError, Stored, execute,
};

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn pipeline(json: serde_json::Value) -> PipelineDefinition {
    PipelineDefinition::from_json(&json.to_string()).unwrap()
}

pub fn metrics(json: serde_json::Value) -> Vec<MetricDefinition> {
    MetricDefinition::list_from_json(&json.to_string()).unwrap()
}

/// Writes `files` (relative path → text) into a fresh folder and opens it as resources.
pub fn resources(files: &[(&str, &str)]) -> (tempfile::TempDir, FileResources) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let resources = FileResources::open(dir.path()).unwrap();
    (dir, resources)
}

/// A stored row as the sink saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub row: u64,
    pub line: u64,
    pub group: String,
    pub date: Option<i64>,
}

/// Everything an execution handed to its sink.
#[derive(Default)]
pub struct Collected {
    pub rows: Vec<(Row, Vec<Stored>)>,
    pub errors: Vec<RowError>,
    /// Concatenated zstd frames of audit records.
    pub audits: Vec<u8>,
    pub chunks: Vec<u64>,
    /// Per chunk: the input bytes before it, at its end, and the rows it read.
    pub spans: Vec<(u64, u64, u64)>,
    pub finished: bool,
}

pub struct MemorySink(pub Collected);

pub struct CountingEncoder;

impl ChunkEncoder for CountingEncoder {
    type Encoded = usize;
    fn encode(&mut self, _: &Plan, chunk: &ChunkOutput) -> Result<usize, SinkError> {
        Ok(chunk.rows.len())
    }
}

impl ActivitySink for MemorySink {
    type Encoder = CountingEncoder;

    fn encoder(&self) -> CountingEncoder {
        CountingEncoder
    }

    fn write(&mut self, chunk: &ChunkOutput, encoded: usize) -> Result<(), SinkError> {
        assert_eq!(encoded, chunk.rows.len(), "encoded by the engine's threads");
        self.0.chunks.push(chunk.sequence);
        self.0
            .spans
            .push((chunk.start_byte, chunk.end_byte, chunk.rows_read));
        for row in chunk.rows.iter() {
            let copy = Row {
                row: row.info.row,
                line: row.info.line,
                group: row.group.to_string(),
                date: row.info.date,
            };
            self.0.rows.push((copy, row.values.to_vec()));
        }
        self.0.errors.extend(chunk.errors.iter().cloned());
        if let Some(batch) = &chunk.audit {
            self.0.audits.extend_from_slice(&batch.compressed);
        }
        Ok(())
    }

    fn finish(&mut self, _: &Outcome) -> Result<(), SinkError> {
        self.0.finished = true;
        Ok(())
    }
}

/// How to run a test execution.
pub struct Run<'a> {
    pub group: &'a str,
    pub threads: usize,
    pub chunk_rows: usize,
    pub audit: bool,
    pub audit_format: AuditFormat,
}

impl Default for Run<'_> {
    fn default() -> Self {
        Run {
            group: "/",
            threads: 2,
            chunk_rows: 3,
            audit: false,
            audit_format: AuditFormat::Lines,
        }
    }
}

impl Run<'_> {
    pub fn execute(
        &self,
        plan: &Plan,
        csv: &[u8],
        resources: FileResources,
    ) -> Result<(Collected, Outcome), EngineError> {
        let csv_options = CsvOptions::from_connector(plan.definition().connector_config.as_ref())?;
        let input = CsvInput::new(csv, &plan.definition().transformer.parameters, &csv_options)?;
        self.execute_input(plan, input, resources)
    }

    /// Runs rows that are not a CSV file.
    pub fn execute_input(
        &self,
        plan: &Plan,
        input: impl RowReader,
        resources: FileResources,
    ) -> Result<(Collected, Outcome), EngineError> {
        let options = ExecutionOptions {
            audit: self.audit,
            audit_format: self.audit_format,
            threads: self.threads,
            chunk_rows: self.chunk_rows,
            ..ExecutionOptions::new("pipeline1", "execution1", self.group)
        };
        let mut sink = MemorySink(Collected::default());
        let outcome = execute(
            plan,
            input,
            Arc::new(resources),
            &options,
            &mut sink,
            &NoProgress,
        )?;
        assert!(sink.0.finished);
        Ok((sink.0, outcome))
    }
}

/// The number a stored value holds.
pub fn number(value: &Stored) -> Decimal {
    match value {
        Stored::Number(n) => n.to_decimal().unwrap(),
        other => panic!("not a number: {other:?}"),
    }
}

pub fn text(value: &Stored) -> &str {
    match value {
        Stored::Text(t) => t,
        other => panic!("not text: {other:?}"),
    }
}

/// `YYYY-MM-DD` → epoch seconds at midnight UTC, by the civil-from-days formula, so tests
/// check the engine's dates against arithmetic of their own.
pub fn epoch(date: &str) -> i64 {
    let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (y, m, d) = (parts[0], parts[1], parts[2]);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

/// Sums per key.
pub fn add<K: Ord>(map: &mut BTreeMap<K, Decimal>, key: K, value: Decimal) {
    *map.entry(key).or_default() += value;
}

pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}
