//! Errors of an execution: those that stop it, and those reported per row.

use std::fmt;

/// An error of a result sink (files, a store); the execution stops.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// The input cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("the input is empty: its first line must be a header naming the columns")]
    Empty,
    #[error("the input has no column {missing}; its header has: {found}")]
    MissingColumns { missing: String, found: String },
    #[error("cannot read the input{}: {message}", at_line(*line))]
    Read { line: Option<u64>, message: String },
    #[error("a chunk of input rows holds more than 4 GiB of text")]
    ChunkTooLarge,
    #[error("input connector parameter {0}")]
    Options(String),
}

fn at_line(line: Option<u64>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

/// An execution that could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot write the results: {0}")]
    Sink(SinkError),
    #[error("the execution was cancelled")]
    Cancelled,
    #[error("an evaluation thread stopped unexpectedly: {0}")]
    Worker(String),
    /// A look-up could not be answered as the execution's was: the evaluation is not its.
    #[error("the rows cannot be evaluated again as the execution evaluated them: {0}")]
    Replay(sifr_calc::ResourceError),
}

/// Whether an error cost the whole row or one of its outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The row is not stored (unreadable cells, a wrong type, a missing date or unique key).
    Row,
    /// The row is stored; this output holds an error instead of a value.
    Cell,
}

/// One error of one input row. `message` is worded as SIF worded it (`Failed processing row
/// {...}, err: ...` or `Row '...' column '...' encountered error evaluating formula ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based data row number (the header is not counted).
    pub row: u64,
    /// 1-based input line where the row starts.
    pub line: u64,
    pub kind: ErrorKind,
    /// The input column or output key at fault, when there is one.
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {} (line {})", self.row, self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", column '{column}'")?;
        }
        write!(f, ": {}", self.message)
    }
}
