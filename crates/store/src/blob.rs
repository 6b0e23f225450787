//! Files the server keeps besides its records: dataset CSVs, execution inputs and outputs. A
//! [`BlobStore`] holds opaque byte streams under [`BlobKey`]s; [`LocalBlobs`] keeps them as
//! files under a folder, written atomically (a temporary file renamed into place) so a reader
//! sees either the previous object or the whole new one, never a partial write.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::{Result, StoreError};

/// Where a blob lives: a relative path of `/`-separated segments made of ASCII letters,
/// digits, `.`, `_` and `-` (no empty, `.` or `..` segment), so keys map safely onto files
/// and object-store keys alike.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(key: &str) -> Result<Self> {
        let valid_segment = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        if key.len() > 1024 || !key.split('/').all(valid_segment) {
            return Err(StoreError::InvalidRequest(format!(
                "'{key}' is not a valid blob key: use segments of letters, digits, '.', '_' and '-' separated by '/'"
            )));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A blob being read.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// Keeps byte streams under keys.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores everything `data` yields under `key`, replacing any blob there, and returns the
    /// number of bytes stored. Atomic: when `data` fails midway nothing is stored and an
    /// existing blob stays as it was. The error of a failing `data` is returned in
    /// [`StoreError::Io`] with its kind intact.
    async fn put(&self, key: &BlobKey, data: &mut (dyn AsyncRead + Send + Unpin)) -> Result<u64>;

    /// The blob under `key`, or `None` if there is none.
    async fn get(&self, key: &BlobKey) -> Result<Option<BlobReader>>;

    /// At most `len` bytes of the blob under `key`, from byte `start` on (fewer where the
    /// blob ends), or `None` if there is no blob.
    async fn read_range(&self, key: &BlobKey, start: u64, len: u64) -> Result<Option<Vec<u8>>>;

    /// Removes the blob under `key`; returns whether there was one.
    async fn delete(&self, key: &BlobKey) -> Result<bool>;
}

/// Bytes written to a blob file at a time.
const WRITE_BUFFER: usize = 1 << 20;

/// Blobs as files under a folder: `<root>/<key>`, with temporary files in `<root>/.partial`.
pub struct LocalBlobs {
    root: PathBuf,
}

/// Distinguishes the temporary files of concurrent writes within one process; the process id
/// separates processes sharing the folder.
static PARTIAL: AtomicU64 = AtomicU64::new(0);

impl LocalBlobs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        key.as_str()
            .split('/')
            .fold(self.root.clone(), |path, segment| path.join(segment))
    }

    async fn write(
        &self,
        partial: &Path,
        final_path: &Path,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<u64> {
        let file = tokio::fs::File::create(partial)
            .await
            .map_err(|error| io_error("cannot create a temporary blob file", partial, error))?;
        // Each write to a file is a trip to a blocking thread: write in large pieces.
        let mut file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let size = tokio::io::copy(data, &mut file)
            .await
            .map_err(|error| StoreError::Io {
                context: format!("cannot write blob file {}", final_path.display()),
                error,
            })?;
        file.flush()
            .await
            .map_err(|error| io_error("cannot flush blob file", partial, error))?;
        let file = file.into_inner();
        file.sync_all()
            .await
            .map_err(|error| io_error("cannot flush blob file", partial, error))?;
        drop(file);
        if let Some(parent) = final_path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|error| io_error("cannot create blob folder", parent, error))?;
        }
        tokio::fs::rename(partial, final_path)
            .await
            .map_err(|error| io_error("cannot move blob file into place", final_path, error))?;
        Ok(size)
    }
}

fn io_error(context: &str, path: &Path, error: io::Error) -> StoreError {
    StoreError::Io {
        context: format!("{context} {}", path.display()),
        error,
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, key: &BlobKey, data: &mut (dyn AsyncRead + Send + Unpin)) -> Result<u64> {
        let partials = self.root.join(".partial");
        tokio::fs::create_dir_all(&partials)
            .await
            .map_err(|error| io_error("cannot create blob folder", &partials, error))?;
        let partial = partials.join(format!(
            "{}-{}",
            std::process::id(),
            PARTIAL.fetch_add(1, Ordering::Relaxed)
        ));
        let written = self.write(&partial, &self.path(key), data).await;
        if written.is_err() {
            // Best effort: a leftover partial file is harmless, only wasted space.
            let _ = tokio::fs::remove_file(&partial).await;
        }
        written
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<BlobReader>> {
        let path = self.path(key);
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Some(Box::pin(file))),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error("cannot open blob file", &path, error)),
        }
    }

    async fn read_range(&self, key: &BlobKey, start: u64, len: u64) -> Result<Option<Vec<u8>>> {
        let path = self.path(key);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error("cannot open blob file", &path, error)),
        };
        let mut bytes = Vec::new();
        file.seek(io::SeekFrom::Start(start))
            .await
            .map_err(|error| io_error("cannot read blob file", &path, error))?;
        file.take(len)
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| io_error("cannot read blob file", &path, error))?;
        Ok(Some(bytes))
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(io_error("cannot delete blob file", &path, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Poll};

    use tokio::io::{AsyncReadExt, ReadBuf};

    use super::*;

    fn key(text: &str) -> BlobKey {
        BlobKey::parse(text).expect("valid key")
    }

    async fn read(blobs: &LocalBlobs, key: &BlobKey) -> Option<Vec<u8>> {
        let mut reader = blobs.get(key).await.expect("readable")?;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await.expect("read blob");
        Some(bytes)
    }

    /// Yields some bytes, then fails.
    struct Failing(bool);

    impl AsyncRead for Failing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.0 {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::FileTooLarge, "too big")));
            }
            self.0 = true;
            buf.put_slice(b"partial");
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn keys_stay_inside_the_folder() {
        for bad in [
            "", "/abs", "a//b", "a/../b", "..", "a/./b", "a b", "a\\b", "ü",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} is refused");
        }
        assert_eq!(key("t/ref-1/x_2/data.csv").as_str(), "t/ref-1/x_2/data.csv");
    }

    #[tokio::test]
    async fn put_get_replace_delete() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let blobs = LocalBlobs::new(dir.path());
        let k = key("tenants/a/data.csv");
        assert!(read(&blobs, &k).await.is_none());
        let stored = blobs.put(&k, &mut &b"a,b\n1,2\n"[..]).await.expect("put");
        assert_eq!(stored, 8);
        assert_eq!(read(&blobs, &k).await.as_deref(), Some(&b"a,b\n1,2\n"[..]));
        let range = |start, len| blobs.read_range(&k, start, len);
        assert_eq!(
            range(4, 2).await.expect("range").as_deref(),
            Some(&b"1,"[..])
        );
        assert_eq!(
            range(6, 9).await.expect("range").as_deref(),
            Some(&b"2\n"[..])
        );
        assert_eq!(
            range(20, 1).await.expect("range").as_deref(),
            Some(&b""[..])
        );
        blobs.put(&k, &mut &b"new"[..]).await.expect("replace");
        assert_eq!(read(&blobs, &k).await.as_deref(), Some(&b"new"[..]));
        assert!(blobs.delete(&k).await.expect("delete"));
        assert!(!blobs.delete(&k).await.expect("delete again"));
        assert!(read(&blobs, &k).await.is_none());
        assert!(blobs.read_range(&k, 0, 1).await.expect("range").is_none());
    }

    #[tokio::test]
    async fn a_failed_write_leaves_the_previous_blob() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let blobs = LocalBlobs::new(dir.path());
        let k = key("x/data.csv");
        blobs.put(&k, &mut &b"old"[..]).await.expect("put");
        let error = blobs
            .put(&k, &mut Failing(false))
            .await
            .expect_err("the source fails");
        assert!(
            matches!(&error, StoreError::Io { error, .. } if error.kind() == io::ErrorKind::FileTooLarge),
            "the source's error kind is kept: {error}"
        );
        assert_eq!(read(&blobs, &k).await.as_deref(), Some(&b"old"[..]));
        let partials = std::fs::read_dir(dir.path().join(".partial"))
            .expect("partial folder")
            .count();
        assert_eq!(partials, 0, "the temporary file is removed");
    }
}
