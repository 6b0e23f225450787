//! Activity segments: the versions one execution wrote to the activities of one group, up to
//! [`SEGMENT_ROWS`] of them, as one compressed block.
//!
//! Writing a version then costs an append to a buffer, and a block per thousand rows in the
//! database, instead of a row and several index entries per version. A segment's row order is
//! version order; segments are numbered in the order they are written, so `(segment, row)`
//! orders all versions of a pipeline, and the latest version of an activity is the last one.
//!
//! Block layout (before compression): the number of outputs, their keys, then one record per
//! version: activity id, date, input row (little-endian i64), the five unique-key values, one
//! value per output and the errors object — each text a u32 length and UTF-8 bytes, with
//! `u32::MAX` for none.

use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// Versions per segment.
pub const SEGMENT_ROWS: usize = 1024;

/// Rows of a segment are numbered below this: a version's number is `segment << 20 | row`.
const ROW_BITS: u32 = 20;

/// The fastest zstd level: segments are written once per execution and read by scans, so
/// speed matters more than the last bytes.
const LEVEL: i32 = 1;

const NONE: u32 = u32::MAX;

/// An activity's number and a second, independent hash of its identity (pipeline, kind,
/// group, date, unique keys): the number is the hash itself, so writing a version needs no
/// look-up, and two identities with one number (about one chance in 10^11 among ten million
/// activities) are told apart by the check, so the store refuses them instead of merging them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub id: i64,
    pub check: i64,
}

pub fn activity_id(
    pipeline: &str,
    kind: i64,
    group: &str,
    date: i64,
    keys: &[&str; 5],
) -> Identity {
    let mut hash = Sha256::new();
    for part in [pipeline, group] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.update(kind.to_le_bytes());
    hash.update(date.to_le_bytes());
    for key in keys {
        hash.update((key.len() as u64).to_le_bytes());
        hash.update(key.as_bytes());
    }
    let digest = hash.finalize();
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    Identity {
        id: (word(0) >> 1) as i64,
        check: word(8) as i64,
    }
}

/// The number of row `row` of segment `segment` in version order.
pub(crate) fn version(segment: i64, row: usize) -> i64 {
    (segment << ROW_BITS) | row as i64
}

/// The segment and row of a version number.
pub(crate) fn locate(version: i64) -> (i64, usize) {
    (
        version >> ROW_BITS,
        (version & ((1 << ROW_BITS) - 1)) as usize,
    )
}

/// One version as a segment takes it.
pub struct SegmentRow<'a> {
    pub date: i64,
    /// The input row (0 for aggregates).
    pub row: i64,
    pub keys: [&'a str; 5],
    /// One per output of the segment, `None` when null.
    pub values: &'a [Option<&'a str>],
    /// Output key → error message (JSON object), when a formula failed.
    pub errors: Option<&'a str>,
}

/// Versions of one group's activities being gathered into a segment.
pub struct SegmentBuilder {
    pub group: String,
    ids: Vec<Identity>,
    /// Where the rows begin in `raw` (after the output keys).
    header: usize,
    min_date: i64,
    max_date: i64,
    raw: Vec<u8>,
}

/// A sealed segment, ready to store.
#[derive(Clone, Debug)]
pub struct Segment {
    pub group: String,
    /// The activity of each row, in row order.
    pub ids: Vec<Identity>,
    pub min_date: i64,
    pub max_date: i64,
    pub data: Vec<u8>,
}

fn put_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.extend_from_slice(&NONE.to_le_bytes()),
        Some(text) => {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
}

impl SegmentBuilder {
    /// An empty segment of `group` whose rows hold the values of `outputs`.
    pub fn new(group: &str, outputs: &[String]) -> Self {
        let mut raw = Vec::new();
        raw.extend_from_slice(&(outputs.len() as u32).to_le_bytes());
        for output in outputs {
            put_text(&mut raw, Some(output));
        }
        SegmentBuilder {
            group: group.to_owned(),
            ids: Vec::new(),
            header: raw.len(),
            min_date: i64::MAX,
            max_date: i64::MIN,
            raw,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Bytes gathered so far.
    pub fn bytes(&self) -> usize {
        self.raw.len()
    }

    pub fn push(&mut self, identity: Identity, row: &SegmentRow) {
        self.ids.push(identity);
        self.min_date = self.min_date.min(row.date);
        self.max_date = self.max_date.max(row.date);
        let raw = &mut self.raw;
        raw.extend_from_slice(&identity.id.to_le_bytes());
        raw.extend_from_slice(&row.date.to_le_bytes());
        raw.extend_from_slice(&row.row.to_le_bytes());
        for key in row.keys {
            put_text(raw, Some(key));
        }
        for value in row.values {
            put_text(raw, *value);
        }
        put_text(raw, row.errors);
    }

    /// Moves the rows of `other` (a builder of the same group and outputs) to the end of this one.
    pub fn append(&mut self, other: SegmentBuilder) {
        self.ids.extend(other.ids);
        self.min_date = self.min_date.min(other.min_date);
        self.max_date = self.max_date.max(other.max_date);
        self.raw.extend_from_slice(&other.raw[other.header..]);
    }
}

/// Seals segments: compresses their rows with one reused context.
pub struct SegmentSealer {
    compressor: zstd::bulk::Compressor<'static>,
}

impl SegmentSealer {
    pub fn new() -> Result<Self> {
        Ok(SegmentSealer {
            compressor: zstd::bulk::Compressor::new(LEVEL)
                .map_err(|e| StoreError::Corrupt(format!("a compression context: {e}")))?,
        })
    }

    /// Compresses the rows gathered in `builder`.
    pub fn seal(&mut self, builder: SegmentBuilder) -> Result<Segment> {
        let mut data = self
            .compressor
            .compress(&builder.raw)
            .map_err(|e| StoreError::Corrupt(format!("compressing a segment: {e}")))?;
        data.shrink_to_fit();
        Ok(Segment {
            group: builder.group,
            ids: builder.ids,
            min_date: builder.min_date,
            max_date: builder.max_date,
            data,
        })
    }
}

/// One version read from a segment.
#[derive(Debug)]
pub(crate) struct DecodedRow<'a> {
    pub id: i64,
    pub date: i64,
    pub row: i64,
    pub keys: [&'a str; 5],
    pub values: Vec<Option<&'a str>>,
    pub errors: Option<&'a str>,
}

/// A segment's rows, decompressed.
pub(crate) struct Decoded {
    raw: Vec<u8>,
    outputs: Vec<String>,
    /// Where the rows begin.
    start: usize,
}

fn corrupt(why: &str) -> StoreError {
    StoreError::Corrupt(format!("activity segment: {why}"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| corrupt("truncated"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn i64(&mut self) -> Result<i64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(b))
    }

    fn text(&mut self) -> Result<Option<&'a str>> {
        match self.u32()? {
            NONE => Ok(None),
            n => std::str::from_utf8(self.take(n as usize)?)
                .map(Some)
                .map_err(|_| corrupt("text is not UTF-8")),
        }
    }
}

impl Decoded {
    pub(crate) fn new(data: &[u8]) -> Result<Decoded> {
        let raw = zstd::decode_all(data).map_err(|e| corrupt(&e.to_string()))?;
        let mut reader = Reader { bytes: &raw, at: 0 };
        let count = reader.u32()? as usize;
        let mut outputs = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            outputs.push(
                reader
                    .text()?
                    .ok_or_else(|| corrupt("an output without a key"))?
                    .to_owned(),
            );
        }
        let start = reader.at;
        Ok(Decoded {
            raw,
            outputs,
            start,
        })
    }

    /// The keys of the outputs each row holds a value of.
    pub(crate) fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// Calls `visit` with each row, in order; stops at the first error.
    pub(crate) fn rows(
        &self,
        mut visit: impl FnMut(usize, DecodedRow<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut reader = Reader {
            bytes: &self.raw,
            at: self.start,
        };
        let mut n = 0;
        while reader.at < self.raw.len() {
            let id = reader.i64()?;
            let date = reader.i64()?;
            let row = reader.i64()?;
            let mut keys = [""; 5];
            for key in &mut keys {
                *key = reader.text()?.unwrap_or_default();
            }
            let mut values = Vec::with_capacity(self.outputs.len());
            for _ in 0..self.outputs.len() {
                values.push(reader.text()?);
            }
            let errors = reader.text()?;
            visit(
                n,
                DecodedRow {
                    id,
                    date,
                    row,
                    keys,
                    values,
                    errors,
                },
            )?;
            n += 1;
        }
        Ok(())
    }
}

/// Which rows of a segment are no longer their activity's latest version: one bit per row.
pub(crate) fn is_set(bits: Option<&[u8]>, row: usize) -> bool {
    bits.and_then(|b| b.get(row / 8))
        .is_some_and(|byte| byte & (1 << (row % 8)) != 0)
}

pub(crate) fn set(bits: &mut Vec<u8>, rows: usize, row: usize) {
    if bits.len() < rows.div_ceil(8) {
        bits.resize(rows.div_ceil(8), 0);
    }
    bits[row / 8] |= 1 << (row % 8);
}

/// An activity's entry in the identity index: its number, its latest version, and the check
/// hash of its identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub id: i64,
    pub version: i64,
    pub check: i64,
}

/// Entries as stored in a blob: three little-endian i64 each.
pub(crate) fn entries_of(blob: &[u8], into: &mut Vec<Entry>) {
    let word = |c: &[u8]| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(c);
        i64::from_le_bytes(bytes)
    };
    into.extend(blob.chunks_exact(24).map(|c| Entry {
        id: word(&c[..8]),
        version: word(&c[8..16]),
        check: word(&c[16..]),
    }));
}

pub(crate) fn blob_of(entries: &[Entry]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(entries.len() * 24);
    for entry in entries {
        for word in [entry.id, entry.version, entry.check] {
            blob.extend_from_slice(&word.to_le_bytes());
        }
    }
    blob
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_written() {
        let outputs = ["a".to_owned(), "b".to_owned()];
        let mut builder = SegmentBuilder::new("/g", &outputs);
        let keys = ["k1", "", "", "", ""];
        let identity = activity_id("p", 0, "/g", 86400, &keys);
        let id = identity.id;
        builder.push(
            identity,
            &SegmentRow {
                date: 86400,
                row: 7,
                keys,
                values: &[Some("1.5"), None],
                errors: Some(r#"{"b":"bad"}"#),
            },
        );
        let mut more = SegmentBuilder::new("/g", &outputs);
        more.push(
            identity,
            &SegmentRow {
                date: 172800,
                row: 8,
                keys,
                values: &[None, Some("x")],
                errors: None,
            },
        );
        builder.append(more);
        let mut sealer = SegmentSealer::new().unwrap();
        let segment = sealer.seal(builder).unwrap();
        assert_eq!(segment.ids, [identity, identity]);
        assert_eq!((segment.min_date, segment.max_date), (86400, 172800));
        let decoded = Decoded::new(&segment.data).unwrap();
        assert_eq!(decoded.outputs(), outputs);
        let mut seen = 0;
        decoded
            .rows(|n, row| {
                assert_eq!(row.id, id);
                assert_eq!(row.keys, keys);
                if n == 0 {
                    assert_eq!((row.date, row.row), (86400, 7));
                    assert_eq!(row.values, [Some("1.5"), None]);
                    assert_eq!(row.errors, Some(r#"{"b":"bad"}"#));
                } else {
                    assert_eq!((row.date, row.row), (172800, 8));
                    assert_eq!(row.values, [None, Some("x")]);
                    assert_eq!(row.errors, None);
                }
                seen += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, 2);
        assert!(Decoded::new(&segment.data[..segment.data.len() / 2]).is_err());
    }

    #[test]
    fn identities_differ_in_every_part() {
        let keys = ["a", "", "", "", ""];
        let base = activity_id("p", 0, "/g", 1, &keys);
        assert!(base.id >= 0);
        assert_ne!(base.id, base.check);
        assert_ne!(base, activity_id("q", 0, "/g", 1, &keys));
        assert_ne!(base, activity_id("p", 1, "/g", 1, &keys));
        assert_ne!(base, activity_id("p", 0, "/h", 1, &keys));
        assert_ne!(base, activity_id("p", 0, "/g", 2, &keys));
        assert_ne!(base, activity_id("p", 0, "/g", 1, &["", "a", "", "", ""]));
        // Lengths are part of the hash: moving a character between parts changes it.
        assert_ne!(
            activity_id("p", 0, "/g", 1, &["ab", "", "", "", ""]),
            activity_id("p", 0, "/g", 1, &["a", "b", "", "", ""])
        );
    }

    #[test]
    fn versions_and_bits() {
        assert_eq!(locate(version(5, 1023)), (5, 1023));
        let mut bits = Vec::new();
        set(&mut bits, 20, 9);
        assert!(is_set(Some(&bits), 9));
        assert!(!is_set(Some(&bits), 8));
        assert!(!is_set(None, 9));
        let entries = vec![
            Entry {
                id: 1,
                version: 2,
                check: 3,
            },
            Entry {
                id: 4,
                version: -5,
                check: 6,
            },
        ];
        let mut read = Vec::new();
        entries_of(&blob_of(&entries), &mut read);
        assert_eq!(read, entries);
    }
}
