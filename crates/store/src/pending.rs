//! The identity-index entries of an execution's versions, until its commit.
//!
//! Only the commit that merges them into the index reads them, and an execution that stops
//! before its commit is started over and writes them again. So they are kept in memory and,
//! beyond a few kilobytes per range of the index, in anonymous temporary files, rather than
//! written into the database and read back from it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc::Receiver;

use crate::segment::{Entry, blob_of, entries_of};
use crate::{Result, StoreError};

/// Bytes of a range held in memory before they go to its file.
const BUFFER: usize = 64 << 10;

/// An execution's index entries, by range, in the order they were written.
pub struct PendingEntries {
    dir: PathBuf,
    ranges: Vec<Range>,
}

#[derive(Default)]
struct Range {
    buffered: Vec<u8>,
    file: Option<File>,
}

impl PendingEntries {
    /// Entries that spill into temporary files under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        PendingEntries {
            dir: dir.into(),
            ranges: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, range: usize, entries: &[Entry]) -> Result<()> {
        if self.ranges.len() <= range {
            self.ranges.resize_with(range + 1, Range::default);
        }
        let held = &mut self.ranges[range];
        held.buffered.extend_from_slice(&blob_of(entries));
        if held.buffered.len() < BUFFER {
            return Ok(());
        }
        let file = match &mut held.file {
            Some(file) => file,
            none => none.insert(tempfile::tempfile_in(&self.dir).map_err(|e| io(&self.dir, e))?),
        };
        file.write_all(&held.buffered)
            .map_err(|e| io(&self.dir, e))?;
        held.buffered.clear();
        Ok(())
    }

    /// The entries of ranges `0..ranges`, one range after the other, each sorted by activity
    /// and then version (an activity's last entry is its latest version); read and sorted on
    /// a blocking thread, a range ahead of the receiver.
    pub(crate) fn sorted_ranges(mut self, ranges: usize) -> Receiver<Result<Vec<Entry>>> {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        tokio::task::spawn_blocking(move || {
            for range in 0..ranges {
                let mut entries = Vec::new();
                let read = self.read(range, &mut entries).map(|()| {
                    entries.sort_unstable_by_key(|e| (e.id, e.version));
                    entries
                });
                if sender.blocking_send(read).is_err() {
                    break;
                }
            }
        });
        receiver
    }

    /// Appends the entries of `range` to `into`.
    pub(crate) fn read(&mut self, range: usize, into: &mut Vec<Entry>) -> Result<()> {
        let Some(held) = self.ranges.get_mut(range) else {
            return Ok(());
        };
        if let Some(file) = &mut held.file {
            let mut bytes = Vec::new();
            let read = file.seek(SeekFrom::Start(0)).and_then(|_| {
                file.read_to_end(&mut bytes)?;
                file.seek(SeekFrom::End(0))
            });
            read.map_err(|e| io(&self.dir, e))?;
            entries_of(&bytes, into);
        }
        entries_of(&held.buffered, into);
        Ok(())
    }
}

fn io(dir: &Path, error: std::io::Error) -> StoreError {
    StoreError::Io {
        context: format!("pending index entries under {}", dir.display()),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_in_order_from_memory_and_from_files() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut pending = PendingEntries::new(dir.path());
        let entry = |n: i64| Entry {
            id: n,
            version: n * 2,
            check: -n,
        };
        // Range 3 spills to its file (24 bytes an entry) and keeps a buffered tail.
        let many: Vec<Entry> = (0..10_000).map(entry).collect();
        for part in many.chunks(777) {
            pending.push(3, part).expect("push");
        }
        pending.push(5, &[entry(-1)]).expect("push");
        let mut read = Vec::new();
        pending.read(3, &mut read).expect("read");
        assert_eq!(read, many);
        read.clear();
        pending.read(5, &mut read).expect("read");
        assert_eq!(read, [entry(-1)]);
        read.clear();
        pending.read(4, &mut read).expect("read");
        assert!(read.is_empty());
        // Reading does not lose the place where later entries go.
        pending.push(3, &[entry(7)]).expect("push");
        pending.read(3, &mut read).expect("read");
        assert_eq!(read.len(), 10_001);
        assert_eq!(read[10_000], entry(7));
    }
}
