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
//!
//! The server makes the records of rows read from a file again when they are read
//! ([`crate::replay`]); it stores the records of other rows (inline, another pipeline's
//! activities) in the [`AuditFormat::Compact`] form: each chunk's block begins
//! with what every record repeats (execution, parameter names, output names and formulas), a
//! reused evaluation is written once per block and named by number afterwards, and
//! [`AuditBatch::decompress`] expands the block into exactly the records above. Most of a
//! record is repetition, so this spares the compressor most of its work.

use std::collections::HashMap;
use std::fmt::Display;
use std::io::Write as _;
use std::sync::Arc;

use serde::Serialize;
use serde::ser::Serializer;
use sifr_calc::Audit;
use sifr_calc::audit::ResourceUse;

use crate::plan::Plan;
use crate::validate::ROW_IDENTIFIER;

/// zstd level: the fastest; audit records repeat so much that it still compresses them
/// about twentyfold.
const LEVEL: i32 = 1;

/// How audit records are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuditFormat {
    /// SIF's records, one JSON object per line: files people read.
    #[default]
    Lines,
    /// Compact lines that [`AuditBatch::decompress`] expands into the same records.
    Compact,
}

/// The first line of a compact block; the next holds the block's [`Layout`].
const COMPACT_MAGIC: &[u8] = b"\x1esifr-audit-compact 1";

/// The first byte of a compact line that brings in the next numbered evaluation fragment, as
/// is (fragments are JSON text, which never holds a raw line break).
const FRAGMENT_MARK: u8 = 0x1f;

/// The audit records of one chunk: JSON lines, compressed as one zstd frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditBatch {
    /// Records in the batch (one per stored row, in row order).
    pub records: u64,
    pub compressed: Vec<u8>,
}

impl AuditBatch {
    /// The JSON lines (compact blocks expanded).
    pub fn decompress(&self) -> std::io::Result<Vec<u8>> {
        expand(&zstd::decode_all(self.compressed.as_slice())?)
    }
}

/// Expands the compact blocks in decompressed `text` into SIF's records; other lines are kept.
fn expand(text: &[u8]) -> std::io::Result<Vec<u8>> {
    let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    let mut out = Vec::with_capacity(text.len() * 4);
    let mut layout: Option<Layout> = None;
    let mut fragments: Vec<Box<[u8]>> = Vec::new();
    let mut lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    while let Some(line) = lines.next() {
        if line == COMPACT_MAGIC {
            let header = lines
                .next()
                .ok_or_else(|| invalid("a compact audit block without its header".into()))?;
            let (start, inputs, outputs, echoes): Header = serde_json::from_slice(header)
                .map_err(|e| invalid(format!("compact audit header: {e}")))?;
            layout = Some(Layout {
                format: AuditFormat::Compact,
                start: start.into_bytes(),
                inputs: inputs.into_iter().map(String::into_bytes).collect(),
                outputs: outputs.into_iter().map(String::into_bytes).collect(),
                echoes: echoes.into_iter().map(|e| e.map(Arc::from)).collect(),
            });
            fragments.clear();
            continue;
        }
        let Some(layout) = &layout else {
            out.extend_from_slice(line);
            out.push(b'\n');
            continue;
        };
        if let Some((&FRAGMENT_MARK, fragment)) = line.split_first() {
            fragments.push(fragment.into());
        } else if line.first() == Some(&b'[') {
            let (row, inputs, row_identifier, outputs): CompactRow =
                serde_json::from_slice(line)
                    .map_err(|e| invalid(format!("compact audit record: {e}")))?;
            let inputs = inputs.iter().map(|(p, v)| (*p, v as &dyn Display));
            let mut records = Vec::with_capacity(outputs.len());
            for (i, output) in outputs.iter().enumerate() {
                let (fragment, failed, text, echoed) = match output {
                    CompactOutput::Evaluated(ECHOES_RESULT, failed, text) => {
                        (-1, *failed, text, Some(text))
                    }
                    CompactOutput::Evaluated(f, failed, text) => (*f, *failed, text, None),
                    CompactOutput::Echo(f, failed, text, value) => (*f, *failed, text, Some(value)),
                };
                let recorded = match usize::try_from(fragment) {
                    Ok(n) => Some(fragments.get(n).map(|f| &f[..]).ok_or_else(|| {
                        invalid(format!("compact audit record names fragment {n}"))
                    })?),
                    Err(_) => None,
                };
                let echo = match (echoed, layout.echoes.get(i).and_then(Option::as_deref)) {
                    (Some(value), Some(key)) => Some((key, value as &dyn Display)),
                    (Some(_), None) => {
                        return Err(invalid(format!("compact audit output {i} is no echo")));
                    }
                    (None, _) => None,
                };
                records.push(OutputText {
                    recorded,
                    echo,
                    outcome: match failed {
                        0 => Ok(text as &dyn Display),
                        _ => Err(text.as_str()),
                    },
                });
            }
            render(
                &mut out,
                layout,
                row,
                inputs,
                &row_identifier,
                records.into_iter(),
            );
        } else {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// A compact output whose echoed parameter value is its text.
const ECHOES_RESULT: i64 = -2;

/// `[row, [[parameter, value]...], row identifier, [output...]]`
type CompactRow = (u64, Vec<(usize, String)>, String, Vec<CompactOutput>);

/// The execution's record start, the parameters' and outputs' heads, and each output's echo key.
type Header = (String, Vec<String>, Vec<String>, Vec<Option<String>>);

/// One output of a compact record: `[fragment or -1, failed, text]`, or, for an output that
/// echoes a parameter, `[-1, failed, text, the parameter's value]` (`[-2, failed, text]` when
/// the value is the text).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum CompactOutput {
    Echo(i64, u8, String, String),
    Evaluated(i64, u8, String),
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
    format: AuditFormat,
    /// `{"pipelineId":"..","executionId":"..","auditId":"<executionId>-`
    start: Vec<u8>,
    /// Per parameter: `{"name":"<key>","value":`
    inputs: Vec<Vec<u8>>,
    /// Per output: `{"index":<i>,"name":"<key>","formula":"<formula>"`
    outputs: Vec<Vec<u8>>,
    /// Per output whose formula is one parameter: the key its evaluation records the
    /// parameter's value under, so the record is written without evaluating the formula.
    pub(crate) echoes: Vec<Option<Arc<str>>>,
}

impl Layout {
    pub(crate) fn new(
        plan: &Plan,
        pipeline_id: &str,
        execution_id: &str,
        format: AuditFormat,
    ) -> Layout {
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
            format,
            start,
            inputs,
            outputs,
            echoes: vec![None; plan.outputs().len()],
        }
    }

    /// The header line of a compact block.
    fn header(&self) -> Vec<u8> {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let header = (
            text(&self.start),
            self.inputs.iter().map(|b| text(b)).collect::<Vec<_>>(),
            self.outputs.iter().map(|b| text(b)).collect::<Vec<_>>(),
            self.echoes.iter().map(|e| e.as_deref()).collect::<Vec<_>>(),
        );
        // Serialising strings into a Vec cannot fail.
        serde_json::to_vec(&header).unwrap_or_default()
    }
}

/// One output of a record: what its evaluation recorded, and its result or error.
pub(crate) struct OutputRecord<'a> {
    pub recorded: Option<&'a Arc<Fragment>>,
    /// An output echoing a parameter: the parameter's value (its key is the layout's echo).
    pub echo: Option<&'a dyn Display>,
    pub outcome: Result<&'a dyn Display, &'a str>,
}

/// One output of a record as rendered: the fragment's text or the echoed parameter (key and
/// value), and the result or error.
struct OutputText<'a> {
    recorded: Option<&'a [u8]>,
    echo: Option<(&'a str, &'a dyn Display)>,
    outcome: Result<&'a dyn Display, &'a str>,
}

/// Appends SIF's record of one row.
fn render<'a>(
    out: &mut Vec<u8>,
    layout: &Layout,
    row: u64,
    inputs: impl Iterator<Item = (usize, &'a dyn Display)>,
    row_identifier: &str,
    outputs: impl Iterator<Item = OutputText<'a>>,
) {
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
            out.extend_from_slice(fragment);
        }
        if let Some((key, value)) = output.echo {
            out.extend_from_slice(br#","evaluated":{"#);
            json_string(out, &key);
            out.push(b':');
            json_string(out, value);
            out.push(b'}');
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
}

/// Collects the records of one chunk, compressing as it goes, so that a chunk holds its
/// records compressed rather than as text.
pub(crate) struct AuditWriter<'c> {
    encoder: zstd::Encoder<'c, Vec<u8>>,
    buffer: Vec<u8>,
    records: u64,
    /// Compact: the fragments this block has written, numbered by address (and held, so that
    /// no address is reused within the block).
    fragments: Option<FragmentNumbers>,
}

/// A compact block's fragments: their numbers by address, and the fragments themselves.
type FragmentNumbers = (HashMap<*const Fragment, i64>, Vec<Arc<Fragment>>);

/// Text gathered before it is handed to the compressor.
const STAGE: usize = 1 << 16;

/// A compression context for audit blocks: one per evaluation thread, reused chunk after chunk
/// (a context is megabytes of tables; making one per chunk costs time and memory).
pub(crate) fn compressor() -> std::io::Result<zstd::bulk::Compressor<'static>> {
    zstd::bulk::Compressor::new(LEVEL)
}

impl<'c> AuditWriter<'c> {
    /// A writer for one chunk's records, compressing with `context` (see [`compressor`]).
    pub(crate) fn new(
        layout: &Layout,
        context: &'c mut zstd::zstd_safe::CCtx<'static>,
    ) -> std::io::Result<Self> {
        let mut buffer = Vec::with_capacity(STAGE * 2);
        let fragments = (layout.format == AuditFormat::Compact).then(|| {
            buffer.extend_from_slice(COMPACT_MAGIC);
            buffer.push(b'\n');
            buffer.extend_from_slice(&layout.header());
            buffer.push(b'\n');
            Default::default()
        });
        Ok(AuditWriter {
            encoder: zstd::Encoder::with_context(Vec::new(), context),
            buffer,
            records: 0,
            fragments,
        })
    }

    /// Appends the record of row `row`: `inputs` are (parameter index, value) in input order.
    pub(crate) fn push<'a>(
        &mut self,
        layout: &'a Layout,
        row: u64,
        inputs: impl Iterator<Item = (usize, &'a dyn Display)>,
        row_identifier: &str,
        outputs: impl Iterator<Item = OutputRecord<'a>>,
    ) -> std::io::Result<()> {
        match &mut self.fragments {
            None => render(
                &mut self.buffer,
                layout,
                row,
                inputs,
                row_identifier,
                outputs.enumerate().map(|(i, o)| OutputText {
                    recorded: o.recorded.map(|f| &f.0[..]),
                    echo: o.echo.zip(layout.echoes[i].as_deref()).map(|(v, k)| (k, v)),
                    outcome: o.outcome,
                }),
            ),
            Some((numbers, held)) => {
                let out = &mut self.buffer;
                let mut line = Vec::with_capacity(256);
                let _ = write!(line, "[{row},[");
                for (n, (parameter, value)) in inputs.enumerate() {
                    if n > 0 {
                        line.push(b',');
                    }
                    let _ = write!(line, "[{parameter},");
                    json_string(&mut line, value);
                    line.push(b']');
                }
                line.extend_from_slice(b"],");
                json_string(&mut line, &row_identifier);
                line.extend_from_slice(b",[");
                for (n, output) in outputs.enumerate() {
                    if n > 0 {
                        line.push(b',');
                    }
                    let fragment = match output.recorded {
                        None => -1,
                        Some(fragment) => {
                            let next = held.len() as i64;
                            *numbers.entry(Arc::as_ptr(fragment)).or_insert_with(|| {
                                held.push(fragment.clone());
                                out.push(FRAGMENT_MARK);
                                out.extend_from_slice(&fragment.0);
                                out.push(b'\n');
                                next
                            })
                        }
                    };
                    let marker = line.len() + 1;
                    let _ = write!(line, "[{fragment},{},", u8::from(output.outcome.is_err()));
                    let result = line.len();
                    match output.outcome {
                        Ok(result) => json_string(&mut line, result),
                        Err(message) => json_string(&mut line, &message),
                    }
                    if let Some(value) = output.echo {
                        let echo = line.len() + 1;
                        line.push(b',');
                        json_string(&mut line, value);
                        // Usually the parameter's value is the result: `-2` says so.
                        if fragment == -1 && line[echo..] == line[result..echo - 1] {
                            line.truncate(echo - 1);
                            line[marker..marker + 2].copy_from_slice(b"-2");
                        }
                    }
                    line.push(b']');
                }
                line.extend_from_slice(b"]]\n");
                out.extend_from_slice(&line);
            }
        }
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
