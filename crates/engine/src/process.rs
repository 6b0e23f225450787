//! Evaluating one chunk of rows (calculator spec §13.3): typed parameters, outputs in
//! transform order (REF sees earlier outputs), the activity date, group and unique keys, stored
//! values, row-level and cell-level errors in SIF's words, audit records, and the chunk's
//! aggregation and metric accumulators.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use sifr_calc::{Audit, EvalError, InputType, Refs, Row, Session, Value};

use crate::aggregate::Aggregates;
use crate::audit::{self, AuditBatch, AuditFormat, AuditWriter, Fragment, Layout};
use crate::definition::ValueType;
use crate::error::{ErrorKind, RowError};
use crate::input::{EmptyCells, InputChunk};
use crate::memo::{CellCache, MemoCache};
use crate::metrics::MetricDays;
use crate::plan::Plan;
use crate::stored::{Fixed, Stored, seconds_from_millis, type_mismatch};

/// The result of evaluating one input chunk.
#[derive(Debug)]
pub struct ChunkOutput {
    /// 0-based position of the chunk in the input.
    pub sequence: u64,
    /// Input rows in the chunk, including rows that failed or were skipped.
    pub rows_read: u64,
    /// Rows left out without an error (`skipParsingErrors`).
    pub rows_skipped: u64,
    /// Rows not stored because of a row-level error.
    pub rows_failed: u64,
    /// Bytes of input consumed before the chunk.
    pub start_byte: u64,
    /// Bytes of input consumed up to the end of the chunk.
    pub end_byte: u64,
    /// The rows to store, in input order.
    pub rows: StoredRows,
    /// Row-level and cell-level errors, in input order.
    pub errors: Vec<RowError>,
    /// Audit records of the stored rows, when auditing.
    pub audit: Option<AuditBatch>,
    /// The earliest and latest activity date of the stored rows (epoch seconds).
    pub dates: Option<(i64, i64)>,
}

/// Stored rows: per row its origin, group and date, and one value per output.
#[derive(Debug, Default)]
pub struct StoredRows {
    width: usize,
    info: Vec<RowInfo>,
    values: Vec<Stored>,
    groups: Vec<Arc<str>>,
}

/// Where a stored row came from, and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowInfo {
    /// 1-based data row number in the input.
    pub row: u64,
    /// 1-based input line where the row starts.
    pub line: u64,
    /// The row's group (its ASSIGN_TO_GROUP output, else the execution's group), as its
    /// position in [`StoredRows::groups`].
    pub group: u32,
    /// Activity date in epoch seconds (activities pipelines).
    pub date: Option<i64>,
}

/// One stored row.
#[derive(Clone, Copy, Debug)]
pub struct StoredRow<'a> {
    pub info: &'a RowInfo,
    pub group: &'a Arc<str>,
    /// One value per output, in output order.
    pub values: &'a [Stored],
}

impl StoredRows {
    fn new(width: usize, capacity: usize) -> Self {
        StoredRows {
            width,
            info: Vec::with_capacity(capacity),
            values: Vec::with_capacity(capacity * width),
            groups: Vec::new(),
        }
    }

    /// The groups of the rows, each once, in order of first appearance; `RowInfo::group`
    /// indexes this table.
    pub fn groups(&self) -> &[Arc<str>] {
        &self.groups
    }

    pub fn len(&self) -> usize {
        self.info.len()
    }

    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    pub fn get(&self, index: usize) -> StoredRow<'_> {
        let info = &self.info[index];
        StoredRow {
            info,
            group: &self.groups[info.group as usize],
            values: &self.values[index * self.width..(index + 1) * self.width],
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = StoredRow<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Per-thread evaluation state, reused from row to row and chunk to chunk.
pub(crate) struct Evaluator<'a> {
    plan: &'a Plan,
    session: &'a Session,
    context: Arc<str>,
    /// What every audit record shares, when auditing.
    layout: Option<Layout>,
    /// This thread's audit compression context, when auditing.
    compressor: Option<zstd::bulk::Compressor<'static>>,
    params: Vec<Value>,
    values: Vec<Value>,
    failures: Vec<Option<String>>,
    /// Shared with this thread's result cache, which hands the same record to many rows.
    audits: Vec<Option<Arc<Fragment>>>,
    memo: Vec<MemoCache>,
    /// One per parameter.
    cells: Vec<CellCache>,
    group_numbers: GroupNumbers,
    /// This thread's aggregation and metric accumulators.
    totals: Totals,
    /// The current chunk's group numbers → the numbers of `totals`.
    group_totals: Vec<u32>,
}

/// Aggregation accumulators and metric day sums with their group table: one per evaluation
/// thread, merged at the end of the execution.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) groups: Vec<Arc<str>>,
    numbers: FxHashMap<Arc<str>, u32>,
    pub(crate) aggregates: Aggregates,
    pub(crate) metric_days: MetricDays,
}

impl Totals {
    fn number(&mut self, group: &Arc<str>) -> u32 {
        *self.numbers.entry(group.clone()).or_insert_with(|| {
            self.groups.push(group.clone());
            (self.groups.len() - 1) as u32
        })
    }

    /// Adds another thread's totals.
    pub(crate) fn merge(&mut self, other: &Totals) {
        let numbers: Vec<u32> = other.groups.iter().map(|g| self.number(g)).collect();
        self.aggregates.merge(&other.aggregates, &numbers);
        self.metric_days.merge(&other.metric_days, &numbers);
    }
}

/// Numbers the groups of a chunk. Rows of one group mostly share one `Arc` (the context, or a
/// cached ASSIGN_TO_GROUP result), so groups are looked up by address first and by name only
/// for an address not seen yet. Every address in the map is held, so it cannot be reused by
/// another string while the chunk is numbered.
#[derive(Default)]
struct GroupNumbers {
    by_address: FxHashMap<usize, u32>,
    by_name: FxHashMap<Arc<str>, u32>,
    held: Vec<Arc<str>>,
}

impl GroupNumbers {
    fn number(&mut self, group: &Arc<str>, table: &mut Vec<Arc<str>>) -> u32 {
        let address = Arc::as_ptr(group).cast::<u8>() as usize;
        if let Some(&n) = self.by_address.get(&address) {
            return n;
        }
        let n = *self.by_name.entry(group.clone()).or_insert_with(|| {
            table.push(group.clone());
            (table.len() - 1) as u32
        });
        self.by_address.insert(address, n);
        self.held.push(group.clone());
        n
    }

    fn clear(&mut self) {
        self.by_address.clear();
        self.by_name.clear();
        self.held.clear();
    }
}

/// Earlier outputs of the row, for REF.
struct EarlierOutputs<'a> {
    plan: &'a Plan,
    values: &'a [Value],
}

impl Refs for EarlierOutputs<'_> {
    fn output(&self, name: &str) -> Option<Value> {
        self.plan
            .output_position(name)
            .and_then(|i| self.values.get(i))
            .cloned()
    }
}

type Evaluation = (Result<Value, EvalError>, Option<Arc<Fragment>>);

impl<'a> Evaluator<'a> {
    pub(crate) fn new(
        plan: &'a Plan,
        session: &'a Session,
        group_context: &str,
        audit_ids: Option<(&'a str, &'a str, AuditFormat)>,
    ) -> Self {
        let outputs = plan.outputs().len();
        Evaluator {
            plan,
            session,
            // Each thread holds its own copy, so rows do not contend on one reference count.
            context: Arc::from(group_context),
            layout: audit_ids.map(|(pipeline, execution, format)| {
                let mut layout = Layout::new(plan, pipeline, execution, format);
                layout.echoes = echo_keys(plan, session);
                layout
            }),
            compressor: None,
            params: vec![Value::Null; plan.schema().len()],
            values: vec![Value::Null; outputs],
            failures: vec![None; outputs],
            audits: vec![None; outputs],
            memo: (0..outputs).map(|_| MemoCache::default()).collect(),
            cells: (0..plan.parameters().len())
                .map(|_| CellCache::default())
                .collect(),
            group_numbers: GroupNumbers::default(),
            totals: Totals::default(),
            group_totals: Vec::new(),
        }
    }

    /// This thread's accumulators, once every chunk is processed.
    pub(crate) fn into_totals(self) -> Totals {
        self.totals
    }

    pub(crate) fn process(&mut self, chunk: &InputChunk) -> std::io::Result<ChunkOutput> {
        let plan = self.plan;
        let mut out = ChunkOutput {
            sequence: chunk.sequence,
            rows_read: chunk.len() as u64 + chunk.skipped_rows,
            rows_skipped: chunk.skipped_rows,
            rows_failed: 0,
            start_byte: chunk.start_byte,
            end_byte: chunk.end_byte,
            rows: StoredRows::new(plan.outputs().len(), chunk.len()),
            errors: Vec::new(),
            audit: None,
            dates: None,
        };
        self.group_numbers.clear();
        self.group_totals.clear();
        if self.layout.is_some() && self.compressor.is_none() {
            self.compressor = Some(audit::compressor()?);
        }
        let mut compressor = self.compressor.take();
        let mut audits = match (&self.layout, compressor.as_mut()) {
            (Some(layout), Some(c)) => Some(AuditWriter::new(layout, c.context_mut())?),
            _ => None,
        };
        for r in 0..chunk.len() {
            if !self.row(chunk, r, &mut out, audits.as_mut())? {
                out.rows_failed += 1;
            }
        }
        out.audit = audits.map(AuditWriter::finish).transpose()?;
        self.compressor = compressor;
        self.group_numbers.clear();
        self.group_totals.clear();
        out.dates = out
            .rows
            .info
            .iter()
            .filter_map(|i| i.date)
            .fold(None, |range, d| {
                Some(range.map_or((d, d), |(lo, hi): (i64, i64)| (lo.min(d), hi.max(d))))
            });
        Ok(out)
    }

    /// Evaluates and stores one row; false when the row fails as a whole. Fails only when
    /// its audit record cannot be compressed.
    fn row(
        &mut self,
        chunk: &InputChunk,
        r: usize,
        out: &mut ChunkOutput,
        audits: Option<&mut AuditWriter<'_>>,
    ) -> std::io::Result<bool> {
        let plan = self.plan;
        let input = chunk.row(r);
        let row_error = |column: Option<&str>, message: String| RowError {
            row: input.row,
            line: input.line,
            kind: ErrorKind::Row,
            column: column.map(str::to_owned),
            message,
        };
        if let Some(problem) = &input.problem {
            out.errors.push(row_error(None, problem.clone()));
            return Ok(false);
        }

        let auditing = self.layout.is_some();
        for (cell, &p) in chunk.cells(r).zip(chunk.cell_parameters()) {
            let parameter = &plan.parameters()[p];
            // Text cannot fail to read: text no formula reads is left unread.
            if parameter.input == InputType::Text && !auditing && !plan.reads(parameter.slot) {
                continue;
            }
            match self.cells[p].read(cell, parameter.input) {
                Ok(value) => self.params[parameter.slot] = value,
                Err(e) => {
                    let message = format!(
                        "Failed processing row {}, err: parameter '{}' ({}): {e}",
                        row_map(plan, chunk, r),
                        parameter.key,
                        parameter.kind.name()
                    );
                    out.errors.push(row_error(Some(&parameter.column), message));
                    return Ok(false);
                }
            }
        }
        let row_id = (plan.needs_row_identifier() || auditing).then(|| row_identifier(chunk, r));
        self.params[plan.row_identifier_slot()] = row_id.as_deref().map_or(Value::Null, Value::str);
        if plan.reads(plan.row_number_slot()) {
            self.params[plan.row_number_slot()] =
                Value::Number(rust_decimal::Decimal::from(chunk.row(r).row));
        }

        for i in 0..plan.outputs().len() {
            let (result, audit) = self.evaluate(i);
            self.audits[i] = audit;
            (self.values[i], self.failures[i]) = match result {
                Ok(Value::Absent) => (
                    Value::Null,
                    Some("the formula's value is the null literal, which cannot be stored".into()),
                ),
                Ok(value) => (value, None),
                Err(e) => (Value::Null, Some(e.message)),
            };
        }

        // The row's place: date, unique keys and group. A failure is (column, SIF's message).
        let mut failure: Option<(Option<&str>, String)> = None;
        let failed = |message: String| {
            format!(
                "Failed processing row {}, err: {message}",
                row_map(plan, chunk, r)
            )
        };
        let date = plan.date_output().and_then(|d| {
            let key = &plan.outputs()[d].key;
            let seconds = match (&self.failures[d], &self.values[d]) {
                (Some(_), _) => Err(format!("the activity date (output '{key}') failed")),
                (None, Value::Number(ms)) => seconds_from_millis(*ms).ok_or_else(|| {
                    format!("the activity date (output '{key}') is outside the years -9999 to 9999")
                }),
                (None, Value::Null) => Err(format!("the activity date (output '{key}') is empty")),
                (None, other) => Err(format!(
                    "the activity date (output '{key}'): {}",
                    type_mismatch(ValueType::Timestamp, other)
                )),
            };
            seconds
                .map_err(|message| failure = Some((Some(key.as_str()), failed(message))))
                .ok()
        });
        for &k in plan.unique_keys() {
            let empty = self.failures[k].is_some()
                || match &self.values[k] {
                    Value::Null => true,
                    Value::Str(s) => s.is_empty(),
                    _ => false,
                };
            if empty && failure.is_none() {
                let key = plan.outputs()[k].key.as_str();
                let row_id = row_id.clone().unwrap_or_else(|| row_identifier(chunk, r));
                failure = Some((
                    Some(key),
                    format!(
                        "Row '{row_id}' column '{key}' encountered error uniqueKey value cannot be null"
                    ),
                ));
            }
        }
        let group = match plan.group_output() {
            None => self.context.clone(),
            Some(g) => match (&self.failures[g], &self.values[g]) {
                (None, Value::Str(s)) => s.clone(),
                (None, Value::Null) => self.context.clone(),
                (None, other) => Arc::from(other.to_string().to_lowercase()),
                (Some(_), _) => {
                    let key = plan.outputs()[g].key.as_str();
                    if failure.is_none() {
                        let message = failed(format!("the group (output '{key}') failed"));
                        failure = Some((Some(key), message));
                    }
                    self.context.clone()
                }
            },
        };

        // Stored values; a value that does not fit its declared type is a cell error.
        let first_value = out.rows.values.len();
        for (i, output) in plan.outputs().iter().enumerate() {
            // Audit records still need the values; otherwise they move into the stored row.
            let value = if auditing {
                self.values[i].clone()
            } else {
                std::mem::take(&mut self.values[i])
            };
            let stored = match &self.failures[i] {
                Some(message) => Stored::Error(Arc::from(message.as_str())),
                None => match store(output.kind, value) {
                    Ok(stored) => stored,
                    Err(message) => {
                        let stored = Stored::Error(Arc::from(message.as_str()));
                        self.failures[i] = Some(message);
                        stored
                    }
                },
            };
            out.rows.values.push(stored);
        }
        let row_id = match (&row_id, self.failures.iter().any(Option::is_some)) {
            (Some(id), _) => Some(id.clone()),
            (None, true) => Some(row_identifier(chunk, r)),
            (None, false) => None,
        };
        for (output, message) in plan.outputs().iter().zip(&self.failures) {
            if let Some(message) = message {
                out.errors.push(RowError {
                    row: input.row,
                    line: input.line,
                    kind: ErrorKind::Cell,
                    column: Some(output.key.clone()),
                    message: format!(
                        "Row '{}' column '{}' encountered error evaluating formula `{}` - {message}",
                        row_id.as_deref().unwrap_or_default(),
                        output.key,
                        output.formula
                    ),
                });
            }
        }
        if let Some((column, message)) = failure {
            out.rows.values.truncate(first_value);
            out.errors.push(row_error(column, message));
            return Ok(false);
        }

        let number = self.group_numbers.number(&group, &mut out.rows.groups);
        if number as usize == self.group_totals.len() {
            self.group_totals.push(self.totals.number(&group));
        }
        let total_group = self.group_totals[number as usize];
        let values = &out.rows.values[first_value..];
        if let Some(aggregation) = plan.aggregation() {
            self.totals
                .aggregates
                .add_row(aggregation, total_group, values);
        }
        if let Some(seconds) = date {
            for (output, value) in plan.outputs().iter().zip(values) {
                if let (false, Stored::Number(n)) = (output.metrics.is_empty(), value) {
                    for &metric in &output.metrics {
                        self.totals
                            .metric_days
                            .add(metric, total_group, seconds, *n);
                    }
                }
            }
        }
        if let (Some(writer), Some(layout)) = (audits, &self.layout) {
            let params = &self.params;
            let parameters = plan.parameters();
            writer.push(
                layout,
                input.row,
                chunk
                    .cell_parameters()
                    .iter()
                    .map(|&p| (p, &params[parameters[p].slot] as &dyn std::fmt::Display)),
                row_id.as_deref().unwrap_or_default(),
                (0..plan.outputs().len()).map(|i| audit::OutputRecord {
                    recorded: self.audits[i].as_ref(),
                    echo: layout.echoes[i].as_ref().and_then(|_| {
                        let slot = plan.outputs()[i].parameter?;
                        Some(&params[slot] as &dyn std::fmt::Display)
                    }),
                    outcome: match &self.failures[i] {
                        None => Ok(&self.values[i]),
                        Some(message) => Err(message),
                    },
                }),
            )?;
        }
        out.rows.info.push(RowInfo {
            row: input.row,
            line: input.line,
            group: number,
            date,
        });
        Ok(true)
    }

    /// Evaluates output `i` of the current row, from this thread's cache when it can.
    fn evaluate(&mut self, i: usize) -> Evaluation {
        let Evaluator {
            plan,
            session,
            layout,
            params,
            values,
            memo,
            ..
        } = self;
        let auditing = layout.is_some();
        // A formula that only names a parameter has the parameter's value; its audit record
        // echoes the parameter under the key its evaluation would record.
        if let Some(slot) = plan.outputs()[i].parameter
            && layout.as_ref().is_none_or(|l| l.echoes[i].is_some())
        {
            return (Ok(params[slot].clone()), None);
        }
        let cache = &mut memo[i];
        let Some(deps) = plan.outputs()[i]
            .memo
            .as_ref()
            .filter(|_| cache.is_enabled())
        else {
            return run(plan, session, params, &values[..i], i, auditing);
        };
        let key = deps
            .params
            .iter()
            .map(|&s| &params[s])
            .chain(deps.refs.iter().map(|&r| &values[r]));
        let hash = MemoCache::hash(key.clone());
        if let Some((result, audit)) = cache.find(hash, key.clone()) {
            return (result.clone(), audit.cloned());
        }
        let (result, audit) = run(plan, session, params, &values[..i], i, auditing);
        cache.insert(hash, key, result.clone(), audit.clone());
        (result, audit)
    }
}

/// Per output whose formula only names a parameter: the key under which evaluating it records
/// the parameter's value, found by evaluating it once (`None` when the evaluation records
/// anything else, which then takes the general path).
fn echo_keys(plan: &Plan, session: &Session) -> Vec<Option<Arc<str>>> {
    plan.outputs()
        .iter()
        .enumerate()
        .map(|(i, output)| {
            let slot = output.parameter?;
            let mut params = vec![Value::Null; plan.schema().len()];
            params[slot] = Value::str("probe");
            let values = vec![Value::Null; i];
            let refs = EarlierOutputs {
                plan,
                values: &values,
            };
            let mut audit = Audit::default();
            let audited = output.program.evaluate_audited(
                session,
                Row {
                    params: &params,
                    refs: &refs,
                },
                &mut audit,
            );
            let plain = audit.activities.is_empty()
                && audit.calculations.is_empty()
                && audit.reference_datasets.is_empty();
            match (audited, audit.evaluated.as_slice()) {
                (Ok(Value::Str(value)), [(key, text)])
                    if plain && &*value == "probe" && text == "probe" =>
                {
                    Some(key.clone())
                }
                _ => None,
            }
        })
        .collect()
}

fn run(
    plan: &Plan,
    session: &Session,
    params: &[Value],
    earlier: &[Value],
    i: usize,
    auditing: bool,
) -> Evaluation {
    let refs = EarlierOutputs {
        plan,
        values: earlier,
    };
    let row = Row {
        params,
        refs: &refs,
    };
    let program = &plan.outputs()[i].program;
    if auditing {
        let mut audit = Audit::default();
        let result = program.evaluate_audited(session, row, &mut audit);
        (result, Some(Arc::new(Fragment::render(&audit))))
    } else {
        (program.evaluate(session, row), None)
    }
}

/// The stored form of a value of a declared type; text that reads as the declared type is
/// accepted (`'12.5'` for a number, `'TRUE'` for a boolean).
fn store(kind: ValueType, value: Value) -> Result<Stored, String> {
    if let Value::Str(text) = &value
        && let Some(read) = read_text(kind, text)
    {
        return store(kind, read);
    }
    match (kind, value) {
        (_, Value::Null) => Ok(Stored::Null),
        (ValueType::Number, Value::Number(n)) => Ok(Stored::Number(Fixed::from_decimal(n))),
        (ValueType::Boolean, Value::Bool(b)) => Ok(Stored::Bool(b)),
        (ValueType::Timestamp, Value::Number(ms)) => seconds_from_millis(ms)
            .map(Stored::Timestamp)
            .ok_or_else(|| {
                format!(
                    "the timestamp {ms} (epoch milliseconds) is outside the years -9999 to 9999"
                )
            }),
        (ValueType::String, Value::Str(s)) => Ok(Stored::Text(s)),
        (ValueType::String, other) => Ok(Stored::Text(Arc::from(other.to_string()))),
        (kind, other) => Err(type_mismatch(kind, &other)),
    }
}

/// Text as a value of a non-text type, when it reads as one.
fn read_text(kind: ValueType, text: &str) -> Option<Value> {
    match kind {
        ValueType::String => None,
        ValueType::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        ValueType::Number | ValueType::Timestamp => match Value::retype(text) {
            Ok(number @ Value::Number(_)) => Some(number),
            _ => None,
        },
    }
}

/// SIF's row identifier: the row's cells in input order, joined with `-`.
fn row_identifier(chunk: &InputChunk, r: usize) -> String {
    let mut id = String::new();
    for (i, cell) in chunk.cells(r).enumerate() {
        if i > 0 {
            id.push('-');
        }
        if cell.is_empty() && chunk.empty_cells == EmptyCells::Null {
            id.push_str("null");
        } else {
            id.push_str(cell);
        }
    }
    id
}

/// The row as SIF printed it in row errors: `{key=value, key=value}`, in input order.
fn row_map(plan: &Plan, chunk: &InputChunk, r: usize) -> String {
    let pairs: Vec<String> = chunk
        .cells(r)
        .zip(chunk.cell_parameters())
        .map(|(cell, &p)| {
            let value = if cell.is_empty() && chunk.empty_cells == EmptyCells::Null {
                "null"
            } else {
                cell
            };
            format!("{}={value}", plan.parameters()[p].key)
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}
