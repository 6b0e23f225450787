//! Reading input rows in chunks.
//!
//! A [`RowReader`] hands out [`InputChunk`]s: the text of each row's parameter cells in one
//! buffer, with the row's number and line in the input. The CSV reader follows SIF's CSV
//! connector: a header row naming the columns (trimmed; every parameter's label must be
//! present, other columns are dropped), one record per row with as many cells as the header.
//! [`RowsInput`] takes rows that are not in a file, one at a time from an iterator.

use std::io::Read;
use std::sync::Arc;

use crate::definition::{ConnectorConfig, Parameter};
use crate::error::InputError;

/// A batch of input rows, in input order.
#[derive(Debug)]
pub struct InputChunk {
    /// 0-based position of the chunk in the input.
    pub sequence: u64,
    /// For each stored cell of a row, in input column order: the index of its parameter.
    parameters: Arc<[usize]>,
    text: String,
    /// End offset of each cell in `text`, row after row.
    ends: Vec<u32>,
    rows: Vec<InputRow>,
    /// Bytes of input consumed before this chunk (CSV: where its first record starts).
    pub start_byte: u64,
    /// Bytes of input consumed up to the end of this chunk.
    pub end_byte: u64,
    /// Rows left out without an error (the CSV connector's `skipParsingErrors`).
    pub skipped_rows: u64,
    /// How the row identifier shows empty cells.
    pub empty_cells: EmptyCells,
}

/// Where a row came from, and why it cannot be read when it cannot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputRow {
    /// 1-based number of the row among the data rows (the header is not a row).
    pub row: u64,
    /// 1-based line of the input where the row starts.
    pub line: u64,
    /// The row could not be split into its cells.
    pub problem: Option<String>,
}

impl InputChunk {
    /// An empty chunk whose rows hold one cell per entry of `parameters` (parameter indexes,
    /// in the order the cells appear in the input).
    pub fn new(sequence: u64, parameters: Arc<[usize]>) -> Self {
        InputChunk {
            sequence,
            parameters,
            text: String::new(),
            ends: Vec::new(),
            rows: Vec::new(),
            start_byte: 0,
            end_byte: 0,
            skipped_rows: 0,
            empty_cells: EmptyCells::default(),
        }
    }

    /// Appends a row; `cells` must yield one text per parameter, in the chunk's cell order.
    /// Fails when the chunk's text would exceed 4 GiB.
    pub fn push_row<'a>(
        &mut self,
        row: u64,
        line: u64,
        cells: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), InputError> {
        let before = self.ends.len();
        for cell in cells {
            self.text.push_str(cell);
            let end = u32::try_from(self.text.len()).map_err(|_| InputError::ChunkTooLarge)?;
            self.ends.push(end);
        }
        debug_assert_eq!(self.ends.len() - before, self.parameters.len());
        self.rows.push(InputRow {
            row,
            line,
            problem: None,
        });
        Ok(())
    }

    /// Appends a row that cannot be read, with the reason.
    pub fn push_problem(&mut self, row: u64, line: u64, problem: String) -> Result<(), InputError> {
        let end = u32::try_from(self.text.len()).map_err(|_| InputError::ChunkTooLarge)?;
        self.ends
            .extend(std::iter::repeat_n(end, self.parameters.len()));
        self.rows.push(InputRow {
            row,
            line,
            problem: Some(problem),
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn row(&self, index: usize) -> &InputRow {
        &self.rows[index]
    }

    /// The parameter index of each cell position.
    pub fn cell_parameters(&self) -> &[usize] {
        &self.parameters
    }

    /// The cells of row `index`, in input column order.
    pub fn cells(&self, index: usize) -> impl Iterator<Item = &str> {
        let width = self.parameters.len();
        (index * width..(index + 1) * width).map(move |i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            &self.text[start..self.ends[i] as usize]
        })
    }

    /// Bytes of text held, for sizing chunks.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The chunk with only its row numbered `row`, if it has one.
    pub fn only_row(&self, row: u64) -> Result<InputChunk, InputError> {
        let mut only = InputChunk::new(self.sequence, self.parameters.clone());
        only.start_byte = self.start_byte;
        only.end_byte = self.end_byte;
        only.empty_cells = self.empty_cells;
        for (index, found) in self.rows.iter().enumerate() {
            if found.row != row {
                continue;
            }
            match &found.problem {
                None => only.push_row(found.row, found.line, self.cells(index))?,
                Some(problem) => only.push_problem(found.row, found.line, problem.clone())?,
            }
        }
        Ok(only)
    }
}

/// A source of input rows, read one chunk at a time.
pub trait RowReader: Send {
    /// The next chunk of at most `max_rows` rows, `None` at the end of the input.
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<InputChunk>, InputError>;
}

/// A reader chosen at run time.
impl<R: RowReader + ?Sized> RowReader for Box<R> {
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<InputChunk>, InputError> {
        (**self).next_chunk(max_rows)
    }
}

/// How empty cells reach formulas and row identifiers (the CSV connector's
/// `handleEmptyCells`). Formulas see null either way; the row identifier shows an empty cell
/// as nothing or as `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EmptyCells {
    #[default]
    EmptyString,
    Null,
}

/// The CSV connector's parameters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CsvOptions {
    pub delimiter: u8,
    pub empty_cells: EmptyCells,
    /// Rows that cannot be split into cells are skipped without being reported as errors.
    pub skip_parsing_errors: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            empty_cells: EmptyCells::EmptyString,
            skip_parsing_errors: false,
        }
    }
}

impl CsvOptions {
    /// The options set by a pipeline's input connector parameters (`delimiter`,
    /// `handleEmptyCells`, `skipParsingErrors`), defaults for the rest.
    pub fn from_connector(config: Option<&ConnectorConfig>) -> Result<Self, InputError> {
        match config
            .and_then(|c| c.input.first())
            .and_then(|c| c.parameters.as_ref())
        {
            Some(parameters) => Self::from_parameters(parameters),
            None => Ok(CsvOptions::default()),
        }
    }

    /// The options set by connector parameters, by name; other names are not the CSV
    /// connector's and are left alone.
    pub fn from_parameters(
        parameters: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, InputError> {
        let mut options = CsvOptions::default();
        let bad = |name: &str, why: &str| InputError::Options(format!("{name}: {why}"));
        for (name, value) in parameters {
            match name.as_str() {
                "delimiter" => {
                    let text = value.as_str().unwrap_or_default();
                    options.delimiter = match text.as_bytes() {
                        [byte] if byte.is_ascii() => *byte,
                        _ => return Err(bad(name, "the delimiter is a single ASCII character")),
                    };
                }
                "handleEmptyCells" => {
                    options.empty_cells = match value.as_str() {
                        Some("setToEmptyString") => EmptyCells::EmptyString,
                        Some("setToNull") => EmptyCells::Null,
                        _ => return Err(bad(name, "use 'setToEmptyString' or 'setToNull'")),
                    }
                }
                "skipParsingErrors" => {
                    options.skip_parsing_errors = match value {
                        serde_json::Value::Bool(b) => *b,
                        serde_json::Value::String(s) if s == "true" || s == "false" => s == "true",
                        _ => return Err(bad(name, "use true or false")),
                    }
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

/// Reads CSV with a header row.
pub struct CsvInput<R> {
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    header: Vec<String>,
    /// The input columns read, ascending, and the parameter each feeds.
    columns: Vec<usize>,
    parameters: Arc<[usize]>,
    skip_parsing_errors: bool,
    empty_cells: EmptyCells,
    rows: u64,
    sequence: u64,
}

impl<R: Read + Send> CsvInput<R> {
    /// Reads the header and maps every parameter to its column; fails naming the columns the
    /// input lacks.
    pub fn new(
        input: R,
        parameters: &[Parameter],
        options: &CsvOptions,
    ) -> Result<Self, InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .buffer_capacity(READ_BUFFER)
            .delimiter(options.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::ByteRecord::new();
        if !reader.read_byte_record(&mut record).map_err(io_error)? {
            return Err(InputError::Empty);
        }
        let header: Vec<String> = record
            .iter()
            .map(|cell| String::from_utf8_lossy(cell).trim().to_owned())
            .collect();
        let mut mapped: Vec<(usize, usize)> = Vec::with_capacity(parameters.len());
        let mut missing = Vec::new();
        for (index, parameter) in parameters.iter().enumerate() {
            let label = parameter.column().trim();
            match header.iter().position(|h| h == label) {
                Some(column) => mapped.push((column, index)),
                None => missing.push(format!("'{label}' (parameter '{}')", parameter.key)),
            }
        }
        if !missing.is_empty() {
            return Err(InputError::MissingColumns {
                missing: missing.join(", "),
                found: header.join(", "),
            });
        }
        mapped.sort_unstable();
        Ok(CsvInput {
            reader,
            record: csv::StringRecord::new(),
            columns: mapped.iter().map(|&(column, _)| column).collect(),
            parameters: mapped.iter().map(|&(_, index)| index).collect(),
            header,
            skip_parsing_errors: options.skip_parsing_errors,
            empty_cells: options.empty_cells,
            rows: 0,
            sequence: 0,
        })
    }

    /// Numbers the rows read next as if `rows` data rows came before them: for reading a part
    /// of an input whose header was put in front of it.
    pub fn continuing_after(mut self, rows: u64) -> Self {
        self.rows = rows;
        self
    }
}

/// Bytes read from the input at a time.
const READ_BUFFER: usize = 1 << 20;

/// Most text a chunk holds before it is handed on, whatever its row count.
const MAX_CHUNK_TEXT: usize = 16 << 20;

impl<R: Read + Send> RowReader for CsvInput<R> {
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<InputChunk>, InputError> {
        let mut chunk = InputChunk::new(self.sequence, self.parameters.clone());
        chunk.empty_cells = self.empty_cells;
        chunk.start_byte = self.reader.position().byte();
        while chunk.len() < max_rows && chunk.text_len() < MAX_CHUNK_TEXT {
            // Whole records are checked for UTF-8 at once, so cells need no checks of their own.
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    let csv::ErrorKind::Utf8 { pos, err } = error.kind() else {
                        return Err(io_error(error));
                    };
                    self.rows += 1;
                    let line = pos.as_ref().map_or(0, |p| p.line());
                    let column = self.header.get(err.field()).map_or("", String::as_str);
                    let problem = format!("column '{column}' is not valid UTF-8 text");
                    chunk.push_problem(self.rows, line, problem)?;
                    continue;
                }
            }
            self.rows += 1;
            let line = self.record.position().map_or(0, |p| p.line());
            if self.record.len() != self.header.len() {
                if self.skip_parsing_errors {
                    chunk.skipped_rows += 1;
                } else {
                    let problem = format!(
                        "the row has {} cells, but the header has {} columns",
                        self.record.len(),
                        self.header.len()
                    );
                    chunk.push_problem(self.rows, line, problem)?;
                }
                continue;
            }
            let record = &self.record;
            chunk.push_row(
                self.rows,
                line,
                self.columns
                    .iter()
                    .map(|&c| record.get(c).unwrap_or_default()),
            )?;
        }
        chunk.end_byte = self.reader.position().byte();
        if chunk.is_empty() && chunk.skipped_rows == 0 {
            return Ok(None);
        }
        self.sequence += 1;
        Ok(Some(chunk))
    }
}

fn io_error(error: csv::Error) -> InputError {
    let line = error.position().map(|p| p.line());
    InputError::Read {
        line,
        message: error.to_string(),
    }
}

/// A row handed to [`RowsInput`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputRecord {
    /// The text of each parameter's cell, in parameter order.
    Cells(Vec<String>),
    /// Why the row cannot be read: it becomes a row error.
    Problem(String),
}

/// Rows handed over one at a time rather than parsed from a file (another pipeline's
/// activities, rows of a request). Rows are numbered from 1 in the order they come, and that
/// number is also their "line". An error of the iterator stops the execution.
pub struct RowsInput<I> {
    rows: I,
    parameters: Arc<[usize]>,
    number: u64,
    sequence: u64,
}

impl<I> RowsInput<I>
where
    I: Iterator<Item = Result<InputRecord, InputError>> + Send,
{
    /// Rows of `parameters` cells each.
    pub fn new(parameters: usize, rows: I) -> Self {
        RowsInput {
            rows,
            parameters: (0..parameters).collect(),
            number: 0,
            sequence: 0,
        }
    }
}

impl<I> RowReader for RowsInput<I>
where
    I: Iterator<Item = Result<InputRecord, InputError>> + Send,
{
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<InputChunk>, InputError> {
        let mut chunk = InputChunk::new(self.sequence, self.parameters.clone());
        while chunk.len() < max_rows && chunk.text_len() < MAX_CHUNK_TEXT {
            let Some(record) = self.rows.next() else {
                break;
            };
            self.number += 1;
            let n = self.number;
            match record? {
                InputRecord::Cells(cells) if cells.len() == self.parameters.len() => {
                    chunk.push_row(n, n, cells.iter().map(String::as_str))?;
                }
                InputRecord::Cells(cells) => {
                    let problem = format!(
                        "the row has {} cells for {} parameters",
                        cells.len(),
                        self.parameters.len()
                    );
                    chunk.push_problem(n, n, problem)?;
                }
                InputRecord::Problem(problem) => chunk.push_problem(n, n, problem)?,
            }
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        self.sequence += 1;
        Ok(Some(chunk))
    }
}
