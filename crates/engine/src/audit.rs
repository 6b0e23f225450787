//! Audit records: for every stored row, its inputs and, per output, the formula, the value of
//! every construct it evaluated, the result and the resources (impact, dataset and calculation
//! versions) it used — the shape SIF's calculator produced (calculator spec §12.2):
//!
//! ```json
//! {"pipelineId": "...", "executionId": "...", "auditId": "<executionId>-<row>", "row": 1,
//!  "inputs": [{"name": "fuel", "value": "natural gas"}, ..., {"name": "___row_identifier___", ...}],
//!  "outputs": [{"index": 0, "name": "co2e", "formula": "...", "evaluated": {"expr": "value"},
//!               "resources": {"activities": [...], "referenceDatasets": [...]},
//!               "result": "12.5" | "errorMessage": "..."}]}
//! ```
//!
//! `evaluated` and `resources` (and each of its lists) are left out when empty.
//!
//! Records are written as JSON lines into one buffer per chunk, and each chunk's buffer is
//! compressed as one zstd frame on the evaluation thread. Frames concatenate into a valid zstd
//! stream, so a sink appends them to a file or stores them as one blob per chunk; nothing is
//! ever written row by row. What does not change from row to row is rendered once: the keys of
//! each input and output, and the evaluated values and resources of results the evaluation
//! threads reuse from their caches.

use std::fmt::Display;
use std::io::Write as _;

use serde::Serialize;
use serde::ser::Serializer;
use sifr_calc::Audit;
use sifr_calc::audit::ResourceUse;

use crate::plan::Plan;
use crate::validate::ROW_IDENTIFIER;

/// zstd level: the fastest; audit records repeat so much that it still compresses them
/// about twentyfold.
const LEVEL: i32 = 1;

/// The audit records of one chunk: JSON lines, compressed as one zstd frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditBatch {
    /// Records in the batch (one per stored row, in row order).
    pub records: u64,
    pub compressed: Vec<u8>,
}

impl AuditBatch {
    /// The JSON lines.
    pub fn decompress(&self) -> std::io::Result<Vec<u8>> {
        zstd::decode_all(self.compressed.as_slice())
    }
}

/// A value serialised as its text, without an intermediate string.
struct Shown<'a>(&'a dyn Display);

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// Appends `text` as a JSON string.
fn json_string(out: &mut Vec<u8>, text: &dyn Display) {
    // Serialising text into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &Shown(text));
}

/// What one output's evaluation recorded, rendered as the JSON members
/// `,"evaluated":{...},"resources":{...}` (each left out when empty).
#[derive(Debug)]
pub(crate) struct Fragment(Box<[u8]>);

struct Evaluated<'a>(&'a Audit);

impl Serialize for Evaluated<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.evaluated.iter().map(|(k, v)| (k.as_ref(), v)))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resources<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    activities: &'a [ResourceUse],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    calculations: &'a [ResourceUse],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    reference_datasets: &'a [ResourceUse],
}

impl Fragment {
    pub(crate) fn render(audit: &Audit) -> Fragment {
        let mut out = Vec::new();
        if !audit.evaluated.is_empty() {
            out.extend_from_slice(br#","evaluated":"#);
            let _ = serde_json::to_writer(&mut out, &Evaluated(audit));
        }
        let resources = Resources {
            activities: &audit.activities,
            calculations: &audit.calculations,
            reference_datasets: &audit.reference_datasets,
        };
        if !(resources.activities.is_empty()
            && resources.calculations.is_empty()
            && resources.reference_datasets.is_empty())
        {
            out.extend_from_slice(br#","resources":"#);
            let _ = serde_json::to_writer(&mut out, &resources);
        }
        Fragment(out.into_boxed_slice())
    }
}

/// The parts of every record of an execution that do not depend on the row.
pub(crate) struct Layout {
    /// `{"pipelineId":"..","executionId":"..","auditId":"<executionId>-`
    start: Vec<u8>,
    /// Per parameter: `{"name":"<key>","value":`
    inputs: Vec<Vec<u8>>,
    /// Per output: `{"index":<i>,"name":"<key>","formula":"<formula>"`
    outputs: Vec<Vec<u8>>,
}

impl Layout {
    pub(crate) fn new(plan: &Plan, pipeline_id: &str, execution_id: &str) -> Layout {
        let mut start = br#"{"pipelineId":"#.to_vec();
        json_string(&mut start, &pipeline_id);
        start.extend_from_slice(br#","executionId":"#);
        json_string(&mut start, &execution_id);
        start.extend_from_slice(br#","auditId":"#);
        json_string(&mut start, &format!("{execution_id}-"));
        start.pop(); // the closing quote: the row number follows
        let input = |name: &str| {
            let mut head = br#"{"name":"#.to_vec();
            json_string(&mut head, &name);
            head.extend_from_slice(br#","value":"#);
            head
        };
        let mut inputs: Vec<Vec<u8>> = plan.parameters().iter().map(|p| input(&p.key)).collect();
        inputs.push(input(ROW_IDENTIFIER));
        let outputs = plan
            .outputs()
            .iter()
            .enumerate()
            .map(|(i, output)| {
                let mut head = format!(r#"{{"index":{i},"name":"#).into_bytes();
                json_string(&mut head, &output.key);
                head.extend_from_slice(br#","formula":"#);
                json_string(&mut head, &output.formula);
                head
            })
            .collect();
        Layout {
            start,
            inputs,
            outputs,
        }
    }
}

/// One output of a record: what its evaluation recorded, and its result or error.
pub(crate) struct OutputRecord<'a> {
    pub recorded: Option<&'a Fragment>,
    pub outcome: Result<&'a dyn Display, &'a str>,
}

/// Collects the records of one chunk, compressing as it goes, so that a chunk holds its
/// records compressed rather than as text.
pub(crate) struct AuditWriter {
    encoder: zstd::Encoder<'static, Vec<u8>>,
    buffer: Vec<u8>,
    records: u64,
}

/// Text gathered before it is handed to the compressor.
const STAGE: usize = 1 << 16;

impl AuditWriter {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(AuditWriter {
            encoder: zstd::Encoder::new(Vec::new(), LEVEL)?,
            buffer: Vec::with_capacity(STAGE * 2),
            records: 0,
        })
    }

    /// Appends the record of row `row`: `inputs` are (parameter index, value) in input order.
    pub(crate) fn push<'a>(
        &mut self,
        layout: &Layout,
        row: u64,
        inputs: impl Iterator<Item = (usize, &'a dyn Display)>,
        row_identifier: &str,
        outputs: impl Iterator<Item = OutputRecord<'a>>,
    ) -> std::io::Result<()> {
        let out = &mut self.buffer;
        out.extend_from_slice(&layout.start);
        // Writing into a Vec cannot fail.
        let _ = write!(out, r#"{row}","row":{row},"inputs":["#);
        for (parameter, value) in inputs {
            out.extend_from_slice(&layout.inputs[parameter]);
            json_string(out, value);
            out.extend_from_slice(b"},");
        }
        // The row identifier comes last, its key after the parameters'.
        out.extend_from_slice(&layout.inputs[layout.inputs.len() - 1]);
        json_string(out, &row_identifier);
        out.extend_from_slice(br#"}],"outputs":["#);
        for (i, output) in outputs.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&layout.outputs[i]);
            if let Some(fragment) = output.recorded {
                out.extend_from_slice(&fragment.0);
            }
            match output.outcome {
                Ok(result) => {
                    out.extend_from_slice(br#","result":"#);
                    json_string(out, result);
                }
                Err(message) => {
                    out.extend_from_slice(br#","errorMessage":"#);
                    json_string(out, &message);
                }
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"]}\n");
        self.records += 1;
        if self.buffer.len() >= STAGE {
            self.encoder.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> std::io::Result<AuditBatch> {
        self.encoder.write_all(&self.buffer)?;
        Ok(AuditBatch {
            records: self.records,
            compressed: self.encoder.finish()?,
        })
    }
}
