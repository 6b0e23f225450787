//! Results as files, for `sifr run`:
//!
//! - `activities.csv` (activities pipelines): `row,groupId,date,` then every output after the
//!   first (the first is the date); `result.csv` (data and impacts pipelines): every output;
//! - `errors.txt`: one line per error, naming the row, the input line and the column;
//! - `audits.jsonl.zst` (when auditing): one JSON audit record per stored row, zstd-compressed;
//! - `aggregates.csv`: `groupId,date,` then the groupBy dimensions and the aggregated outputs;
//! - `metrics.csv`: `metric,groupId,timeUnit,date,groupValue,subGroupsValue,hierarchyValue`;
//! - `summary.json`: the counts, the status and the resource versions used.
//!
//! Numbers are written in plain notation as stored (at most 8 decimal places), timestamps in
//! RFC 3339 UTC, dates of aggregates and metrics as `YYYY-MM-DD`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde_json::json;

use crate::definition::PipelineType;
use crate::error::SinkError;
use crate::execute::{ActivitySink, ChunkEncoder, Outcome};
use crate::metrics::civil_date;
use crate::plan::Plan;
use crate::process::ChunkOutput;
use crate::stored::{Fixed, Stored, write_timestamp};

/// Writes an execution's results into a folder.
pub struct FileSink {
    dir: PathBuf,
    values: BufWriter<File>,
    errors: BufWriter<File>,
    audits: Option<BufWriter<File>>,
    /// Column names of the aggregates file, and whether the pipeline feeds metrics.
    aggregate_header: Option<Vec<String>>,
    has_metrics: bool,
    kind: PipelineType,
}

/// The files' text for one chunk, prepared on an evaluation thread.
pub struct EncodedChunk {
    values: Vec<u8>,
    errors: Vec<u8>,
}

/// Formats chunks as CSV and error lines.
pub struct FileEncoder {
    activities: bool,
    /// Timestamps repeat (dates of activities, periods), so their text is kept.
    timestamps: FxHashMap<i64, Box<str>>,
}

/// Timestamps whose text an encoder keeps before it starts over.
const TIMESTAMP_TEXTS: usize = 4096;

impl FileEncoder {
    fn timestamp(&mut self, seconds: i64) -> &str {
        if self.timestamps.len() >= TIMESTAMP_TEXTS && !self.timestamps.contains_key(&seconds) {
            self.timestamps.clear();
        }
        self.timestamps.entry(seconds).or_insert_with(|| {
            let mut text = String::new();
            let _ = write_timestamp(&mut text, seconds);
            text.into_boxed_str()
        })
    }
}

impl FileSink {
    /// Creates the folder (if needed) and the files written while rows stream.
    pub fn create(dir: &Path, plan: &Plan, audit: bool) -> std::io::Result<FileSink> {
        std::fs::create_dir_all(dir)?;
        let create =
            |name: &str| File::create(dir.join(name)).map(|f| BufWriter::with_capacity(1 << 20, f));
        let activities = plan.kind() == PipelineType::Activities;
        let mut values = create(if activities {
            "activities.csv"
        } else {
            "result.csv"
        })?;
        let outputs = plan.outputs().iter().map(|o| o.key.as_str());
        let header: Vec<&str> = if activities {
            ["row", "groupId", "date"]
                .into_iter()
                .chain(outputs.skip(1))
                .collect()
        } else {
            outputs.collect()
        };
        write_csv_line(&mut values, &header)?;
        let aggregate_header = plan.aggregation().map(|a| {
            ["groupId", "date"]
                .into_iter()
                .map(str::to_owned)
                .chain(a.dimensions.iter().map(|&d| plan.outputs()[d].key.clone()))
                .chain(
                    a.measures
                        .iter()
                        .map(|&(m, _)| plan.outputs()[m].key.clone()),
                )
                .collect()
        });
        Ok(FileSink {
            dir: dir.to_owned(),
            values,
            errors: create("errors.txt")?,
            audits: audit.then(|| create("audits.jsonl.zst")).transpose()?,
            aggregate_header,
            has_metrics: !plan.metrics().is_empty(),
            kind: plan.kind(),
        })
    }
}

fn write_csv_line<W: Write>(out: &mut W, fields: &[impl AsRef<[u8]>]) -> std::io::Result<()> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(fields)?;
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    out.write_all(&bytes)
}

impl ChunkEncoder for FileEncoder {
    type Encoded = EncodedChunk;

    fn encode(&mut self, _plan: &Plan, chunk: &ChunkOutput) -> Result<EncodedChunk, SinkError> {
        let mut writer =
            csv::WriterBuilder::new().from_writer(Vec::with_capacity(chunk.rows.len() * 128));
        for row in chunk.rows.iter() {
            let mut values = row.values;
            if self.activities {
                writer.write_field(Fixed::from_count(row.info.row).text().as_bytes())?;
                writer.write_field(row.group.as_bytes())?;
                match row.info.date {
                    Some(date) => writer.write_field(self.timestamp(date))?,
                    None => writer.write_field(b"")?,
                }
                values = &values[1..];
            }
            for value in values {
                match value {
                    Stored::Null | Stored::Error(_) => writer.write_field(b"")?,
                    Stored::Text(text) => writer.write_field(text.as_bytes())?,
                    Stored::Number(n) => writer.write_field(n.text().as_bytes())?,
                    Stored::Bool(b) => writer.write_field(if *b { "true" } else { "false" })?,
                    Stored::Timestamp(seconds) => writer.write_field(self.timestamp(*seconds))?,
                }
            }
            writer.write_record(None::<&[u8]>)?;
        }
        let values = writer.into_inner().map_err(|e| e.into_error())?;
        let mut errors = Vec::new();
        for error in &chunk.errors {
            writeln!(errors, "{error}")?;
        }
        Ok(EncodedChunk { values, errors })
    }
}

impl ActivitySink for FileSink {
    type Encoder = FileEncoder;

    fn encoder(&self) -> FileEncoder {
        FileEncoder {
            activities: self.kind == PipelineType::Activities,
            timestamps: FxHashMap::default(),
        }
    }

    fn write(&mut self, chunk: &ChunkOutput, encoded: EncodedChunk) -> Result<(), SinkError> {
        self.values.write_all(&encoded.values)?;
        self.errors.write_all(&encoded.errors)?;
        if let (Some(file), Some(batch)) = (self.audits.as_mut(), chunk.audit.as_ref()) {
            file.write_all(&batch.compressed)?;
        }
        Ok(())
    }

    fn finish(&mut self, outcome: &Outcome) -> Result<(), SinkError> {
        self.values.flush()?;
        self.errors.flush()?;
        if let Some(audits) = self.audits.as_mut() {
            audits.flush()?;
        }
        if let Some(header) = &self.aggregate_header {
            let mut writer = csv::Writer::from_path(self.dir.join("aggregates.csv"))?;
            writer.write_record(header)?;
            let mut text = String::new();
            for row in &outcome.aggregates {
                let mut fields = vec![
                    row.group.to_string(),
                    day_text(row.date / crate::aggregate::DAY),
                ];
                for value in row.dimensions.iter().chain(&row.values) {
                    text.clear();
                    value.write_text(&mut text);
                    fields.push(text.clone());
                }
                writer.write_record(&fields)?;
            }
            writer.flush()?;
        }
        if self.has_metrics {
            let mut writer = csv::Writer::from_path(self.dir.join("metrics.csv"))?;
            writer.write_record([
                "metric",
                "groupId",
                "timeUnit",
                "date",
                "groupValue",
                "subGroupsValue",
                "hierarchyValue",
            ])?;
            let number = |n: Option<Fixed>| n.map(|n| n.to_string()).unwrap_or_default();
            for row in &outcome.metrics {
                writer.write_record([
                    row.metric.to_string(),
                    row.group.to_string(),
                    row.unit.name().to_owned(),
                    day_text(row.day),
                    number(row.group_value.value()),
                    number(row.sub_groups_value.value()),
                    number(row.hierarchy_value().value()),
                ])?;
            }
            writer.flush()?;
        }
        let summary = json!({
            "status": if outcome.succeeded() { "success" } else { "failed" },
            "rowsRead": outcome.rows_read,
            "rowsStored": outcome.rows_stored,
            "rowsFailed": outcome.rows_failed,
            "rowsSkipped": outcome.rows_skipped,
            "cellErrors": outcome.cell_errors,
            "groups": outcome.groups.iter().map(|g| g.as_ref()).collect::<Vec<_>>(),
            "dateFrom": outcome.dates.map(|(lo, _)| timestamp_text(lo)),
            "dateTo": outcome.dates.map(|(_, hi)| timestamp_text(hi)),
            "aggregates": outcome.aggregates.len(),
            "metricValues": outcome.metrics.len(),
            "resources": outcome.resources,
            "elapsedSeconds": outcome.elapsed.as_secs_f64(),
        });
        let mut file = File::create(self.dir.join("summary.json"))?;
        serde_json::to_writer_pretty(&mut file, &summary)?;
        writeln!(file)?;
        Ok(())
    }
}

fn day_text(day: i64) -> String {
    civil_date(day).map_or_else(|| day.to_string(), |d| d.to_string())
}

fn timestamp_text(seconds: i64) -> String {
    let mut text = String::new();
    let _ = write_timestamp(&mut text, seconds);
    text
}
