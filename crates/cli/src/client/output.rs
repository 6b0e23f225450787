//! What the client commands print: the server's JSON (`--output json`), aligned columns
//! (`table`, the default) or comma-separated values (`csv`).

use std::io::Write as _;

use clap::ValueEnum;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// The server's JSON; a list is one JSON array.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// A column of list output: its header and the top-level field it shows.
pub struct Column {
    pub header: &'static str,
    pub field: &'static str,
}

pub const fn column(header: &'static str, field: &'static str) -> Column {
    Column { header, field }
}

/// Table cells longer than this are cut, so that one long formula keeps the table readable.
const MAX_TABLE_CELL: usize = 60;

/// A field as text: strings as they are, lists joined with `, `, objects of plain values as
/// `key=value` pairs, other objects by their keys.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| cell(Some(item)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::Object(map)) => {
            let plain = map.values().all(|v| !v.is_object() && !v.is_array());
            map.iter()
                .map(|(k, v)| {
                    if plain {
                        format!("{k}={}", cell(Some(v)))
                    } else {
                        k.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        Some(other) => other.to_string(),
    }
}

fn cut(text: String) -> String {
    let text = text.replace(['\n', '\r'], " ");
    if text.chars().count() <= MAX_TABLE_CELL {
        return text;
    }
    let mut short: String = text.chars().take(MAX_TABLE_CELL - 1).collect();
    short.push('…');
    short
}

/// Writes to standard output.
pub fn emit(text: &str) -> anyhow::Result<()> {
    emit_bytes(text.as_bytes())
}

/// Writes to standard output; a closed pipe (`sifr … | head`) is not an error.
pub fn emit_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Rows as aligned columns separated by two blanks.
fn table(rows: &[Vec<String>]) -> String {
    let mut widths = Vec::new();
    for row in rows {
        for (i, text) in row.iter().enumerate() {
            let width = text.chars().count();
            match widths.get_mut(i) {
                Some(w) if *w < width => *w = width,
                Some(_) => {}
                None => widths.push(width),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, text) in row.iter().enumerate() {
            if i + 1 < row.len() {
                let pad = widths[i] - text.chars().count();
                line.push_str(text);
                line.push_str(&" ".repeat(pad + 2));
            } else {
                line.push_str(text);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn csv_text(rows: &[Vec<String>]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row)?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

impl Format {
    /// A list of resources.
    pub fn list(self, items: &[Value], columns: &[Column]) -> anyhow::Result<()> {
        if self == Self::Json {
            return emit(&format!("{}\n", Value::Array(items.to_vec())));
        }
        let mut rows = vec![columns.iter().map(|c| c.header.to_owned()).collect()];
        for item in items {
            rows.push(
                columns
                    .iter()
                    .map(|c| {
                        let text = cell(item.get(c.field));
                        if self == Self::Table { cut(text) } else { text }
                    })
                    .collect(),
            );
        }
        self.grid(&rows)
    }

    /// Rows whose first is the header, as CSV or as a table.
    pub fn grid(self, rows: &[Vec<String>]) -> anyhow::Result<()> {
        match self {
            Self::Csv => emit(&csv_text(rows)?),
            _ => emit(&table(rows)),
        }
    }

    /// One resource: every field on its own line (`table`), the JSON, or one CSV row of the
    /// list columns.
    pub fn one(self, item: &Value, columns: &[Column]) -> anyhow::Result<()> {
        match self {
            Self::Json => emit(&format!("{item}\n")),
            Self::Csv => self.list(std::slice::from_ref(item), columns),
            Self::Table => {
                let Some(fields) = item.as_object() else {
                    return emit(&format!("{item}\n"));
                };
                let rows: Vec<Vec<String>> = fields
                    .iter()
                    .map(|(key, value)| {
                        let text = match value {
                            Value::Object(_) | Value::Array(_) => value.to_string(),
                            other => cell(Some(other)),
                        };
                        vec![format!("{key}:"), text]
                    })
                    .collect();
                emit(&table(&rows))
            }
        }
    }

    /// A confirmation for people; the machine formats print nothing.
    pub fn note(self, text: &str) -> anyhow::Result<()> {
        if self == Self::Table {
            emit(&format!("{text}\n"))
        } else {
            Ok(())
        }
    }
}
