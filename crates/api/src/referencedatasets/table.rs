//! Reading a dataset's CSV, streaming, with errors that name the line and column at fault: a
//! file must be UTF-8 (a UTF-8 byte-order mark is allowed), have a header row of distinct,
//! non-empty names, and as many values on every line as the header has columns.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use csv::ByteRecord;
use sifr_calc::resources::DatasetError;
use sifr_calc::{Dataset, DatasetBuilder};

/// Why a CSV cannot be a dataset.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CsvError {
    #[error("The CSV file is empty: it needs at least a header row.")]
    Empty,
    #[error(
        "The CSV file is encoded as UTF-16; save it as UTF-8 (CSV UTF-8 in spreadsheet programs)."
    )]
    Utf16,
    #[error(
        "The CSV file is not valid UTF-8: line {line}, column {column}{header} has the byte 0x{byte:02X} at position {position} of the value. Save the file as UTF-8."
    )]
    NotUtf8 {
        line: u64,
        column: usize,
        /// ` ('Name')` when the column's header is known.
        header: String,
        byte: u8,
        position: usize,
    },
    #[error(
        "The CSV file contains NUL characters at line {line}, column {column}; it is probably UTF-16: save it as UTF-8."
    )]
    Nul { line: u64, column: usize },
    #[error("Column {column} of the CSV header row has no name.")]
    EmptyHeader { column: usize },
    #[error("The CSV header '{name}' appears twice, in columns {first} and {second}.")]
    DuplicateHeader {
        name: String,
        first: usize,
        second: usize,
    },
    #[error(
        "Line {line} of the CSV file has {found} values, but the header row has {expected} columns."
    )]
    Ragged {
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("The CSV file's text exceeds 4 GiB, more than a dataset can hold.")]
    TooLarge,
    #[error("Cannot read the CSV file: {0}")]
    Read(String),
}

/// A CSV reader positioned after the header row, and the header's names (trimmed).
struct Table<R: Read> {
    reader: csv::Reader<BufReader<R>>,
    headers: Vec<String>,
}

fn read_error(error: csv::Error) -> CsvError {
    CsvError::Read(error.to_string())
}

/// The text of each field of `record`, or the first field that is not UTF-8 or holds a NUL.
fn fields<'r>(record: &'r ByteRecord, headers: &[String]) -> Result<Vec<&'r str>, CsvError> {
    let line = record.position().map_or(0, csv::Position::line);
    record
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let text = std::str::from_utf8(field).map_err(|e| {
                let position = e.valid_up_to();
                CsvError::NotUtf8 {
                    line,
                    column: index + 1,
                    header: headers
                        .get(index)
                        .map(|h| format!(" ('{h}')"))
                        .unwrap_or_default(),
                    byte: field.get(position).copied().unwrap_or_default(),
                    position: position + 1,
                }
            })?;
            if field.contains(&0) {
                return Err(CsvError::Nul {
                    line,
                    column: index + 1,
                });
            }
            Ok(text)
        })
        .collect()
}

impl<R: Read> Table<R> {
    fn open(input: R) -> Result<Self, CsvError> {
        let mut input = BufReader::with_capacity(256 * 1024, input);
        let start = input
            .fill_buf()
            .map_err(|e| CsvError::Read(e.to_string()))?;
        if start.starts_with(&[0xFF, 0xFE]) || start.starts_with(&[0xFE, 0xFF]) {
            return Err(CsvError::Utf16);
        }
        if start.starts_with(&[0xEF, 0xBB, 0xBF]) {
            input.consume(3);
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = ByteRecord::new();
        if !reader.read_byte_record(&mut record).map_err(read_error)? {
            return Err(CsvError::Empty);
        }
        let headers: Vec<String> = fields(&record, &[])?
            .into_iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, name) in headers.iter().enumerate() {
            if name.is_empty() {
                return Err(CsvError::EmptyHeader { column: index + 1 });
            }
            if let Some(first) = seen.insert(name, index + 1) {
                return Err(CsvError::DuplicateHeader {
                    name: name.clone(),
                    first,
                    second: index + 1,
                });
            }
        }
        Ok(Self { reader, headers })
    }
}

/// The names of the header row, trimmed.
pub(crate) fn read_headers(input: impl Read) -> Result<Vec<String>, CsvError> {
    Table::open(input).map(|table| table.headers)
}

/// The whole CSV as a dataset.
pub(crate) fn read_dataset(
    input: impl Read,
    id: &str,
    name: &str,
    version: u32,
) -> Result<Dataset, CsvError> {
    let Table {
        mut reader,
        headers,
    } = Table::open(input)?;
    let expected = headers.len();
    let mut builder = DatasetBuilder::new(id, name, u64::from(version), headers.clone());
    let mut record = ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(read_error)? {
        if record.len() != expected {
            return Err(CsvError::Ragged {
                line: record.position().map_or(0, csv::Position::line),
                expected,
                found: record.len(),
            });
        }
        let cells = fields(&record, &headers)?;
        builder.push_row(&cells).map_err(|e| match e {
            DatasetError::TooLarge => CsvError::TooLarge,
            // The width was checked above.
            DatasetError::Ragged { found, .. } => CsvError::Ragged {
                line: record.position().map_or(0, csv::Position::line),
                expected,
                found,
            },
        })?;
    }
    Ok(builder.finish())
}

/// SIF's header rule: the file's header names, trimmed, are the declared ones in any order.
pub(crate) fn headers_match(file: &[String], declared: &[String]) -> bool {
    file.len() == declared.len() && file.iter().all(|h| declared.iter().any(|d| d == h.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(text: &[u8]) -> Result<Dataset, CsvError> {
        read_dataset(text, "id", "name", 1)
    }

    #[test]
    fn reads_quoted_values_and_a_byte_order_mark() {
        let read = dataset(b"\xEF\xBB\xBFType, Multiplier\nType1,1\r\nType2,\"Multiplier,2\"\n")
            .expect("valid");
        assert_eq!(read.headers(), ["Type", "Multiplier"]);
        assert_eq!(read.row_count(), 2);
        assert_eq!(read.cell(1, 1), "Multiplier,2");
        let headers_only = dataset(b"Type,Multiplier").expect("a header row is enough");
        assert_eq!(headers_only.row_count(), 0);
    }

    #[test]
    fn problems_name_line_and_column() {
        assert_eq!(dataset(b"").err(), Some(CsvError::Empty));
        assert_eq!(dataset(b"\xFF\xFEa\0,\0").err(), Some(CsvError::Utf16));
        assert_eq!(
            dataset(b"a,b\n1,2\n3\n").err(),
            Some(CsvError::Ragged {
                line: 3,
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            dataset(b"a,b,a\n").err(),
            Some(CsvError::DuplicateHeader {
                name: "a".into(),
                first: 1,
                second: 3
            })
        );
        assert_eq!(
            dataset(b"a, ,c\n").err(),
            Some(CsvError::EmptyHeader { column: 2 })
        );
        let latin1 = dataset(b"city,zip\nK\xF6ln,50667\n").expect_err("Latin-1");
        assert_eq!(
            latin1.to_string(),
            "The CSV file is not valid UTF-8: line 2, column 1 ('city') has the byte 0xF6 at position 2 of the value. Save the file as UTF-8."
        );
        assert_eq!(
            dataset(b"a\0b\0\n").err(),
            Some(CsvError::Nul { line: 1, column: 1 })
        );
    }

    #[test]
    fn headers_match_as_sets_of_trimmed_names() {
        let declared = ["ZIP".to_owned(), "STATE".to_owned()];
        let file = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert!(headers_match(&file(&["STATE", "ZIP"]), &declared));
        assert!(!headers_match(&file(&["COUNTRY_CODE", "ZIP"]), &declared));
        assert!(!headers_match(&file(&["ZIP"]), &declared));
        assert_eq!(
            read_headers(&b" ZIP ,STATE\n1,2\n"[..]).expect("valid"),
            file(&["ZIP", "STATE"])
        );
    }
}
