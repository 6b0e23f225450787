//! The datasets LOOKUP reads: parsed from their stored CSVs into [`Dataset`]s (flat cell
//! storage; a column's word index is built the first time a LOOKUP keys on it) and kept in
//! memory per (file, version) up to a byte budget, least recently used first out. A dataset
//! being built is built once, however many look-ups wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sifr_calc::{Dataset, ResourceQuery, VersionSelector};
use sifr_domain::{Resource, ResourceState};
use sifr_store::{BlobKey, BlobStore, TenantStore};
use tokio::sync::OnceCell;
use tokio_util::io::SyncIoBridge;

use super::table::{self, CsvError};
use super::{Datasets, Status, StoredBody};
use crate::error::{ApiError, ApiResult};
use crate::resources::{Kind, body_of};

type Key = (BlobKey, u32);

struct Entry {
    dataset: Arc<OnceCell<Arc<Dataset>>>,
    used: u64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Entry>,
    clock: u64,
}

/// Why a stored CSV could not be read into a dataset.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The file is not a valid dataset: the uploader's to fix.
    Csv(CsvError),
    /// Storage failed, or the file is gone.
    Storage(ApiError),
}

impl From<ReadFailure> for ApiError {
    fn from(failure: ReadFailure) -> Self {
        match failure {
            ReadFailure::Csv(e) => ApiError::BadRequest(e.to_string()),
            ReadFailure::Storage(e) => e,
        }
    }
}

pub(crate) struct DatasetLibrary {
    blobs: Arc<dyn BlobStore>,
    budget: usize,
    entries: Mutex<Entries>,
}

impl DatasetLibrary {
    pub fn new(blobs: Arc<dyn BlobStore>, budget: usize) -> Self {
        Self {
            blobs,
            budget,
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves the map consistent: entries are replaced whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `read` on a blocking thread over the blob at `file`.
    async fn with_file<T: Send + 'static>(
        &self,
        file: &BlobKey,
        read: impl FnOnce(SyncIoBridge<sifr_store::BlobReader>) -> Result<T, CsvError> + Send + 'static,
    ) -> Result<T, ReadFailure> {
        let reader = self
            .blobs
            .get(file)
            .await
            .map_err(|e| ReadFailure::Storage(e.into()))?
            .ok_or_else(|| {
                ReadFailure::Storage(ApiError::Internal(format!(
                    "dataset file {file} is missing"
                )))
            })?;
        let bridge = SyncIoBridge::new(reader);
        tokio::task::spawn_blocking(move || read(bridge))
            .await
            .map_err(|e| {
                ReadFailure::Storage(ApiError::Internal(format!("reading a dataset failed: {e}")))
            })?
            .map_err(ReadFailure::Csv)
    }

    /// The header row of the CSV at `file`.
    pub async fn headers(&self, file: &BlobKey) -> Result<Vec<String>, ReadFailure> {
        self.with_file(file, table::read_headers).await
    }

    /// Reads the CSV at `file` as version `resource` of the dataset, without caching it.
    pub async fn read(&self, file: &BlobKey, resource: &Resource) -> Result<Dataset, ReadFailure> {
        let id = resource.id.to_string();
        let name = resource.name.clone().unwrap_or_default();
        let version = resource.version;
        self.with_file(file, move |input| {
            table::read_dataset(input, &id, &name, version)
        })
        .await
    }

    fn slot(&self, key: &Key) -> Arc<OnceCell<Arc<Dataset>>> {
        let mut entries = self.entries();
        entries.clock += 1;
        let used = entries.clock;
        let entry = entries.map.entry(key.clone()).or_insert_with(|| Entry {
            dataset: Arc::default(),
            used,
        });
        entry.used = used;
        entry.dataset.clone()
    }

    /// Drops the least recently used datasets until the ones kept fit the budget; `keep` stays.
    fn evict(&self, keep: &Key) {
        let mut entries = self.entries();
        let size = |entry: &Entry| entry.dataset.get().map_or(0, |d| d.heap_size());
        let mut total: usize = entries.map.values().map(size).sum();
        while total > self.budget {
            let oldest = entries
                .map
                .iter()
                .filter(|(key, entry)| *key != keep && entry.dataset.initialized())
                .min_by_key(|(_, entry)| entry.used)
                .map(|(key, _)| key.clone());
            let Some(oldest) = oldest else { break };
            if let Some(entry) = entries.map.remove(&oldest) {
                total -= size(&entry);
            }
        }
    }

    /// Keeps a dataset just read, so the first look-up need not read it again.
    pub fn insert(&self, file: &BlobKey, version: u32, dataset: Dataset) {
        let key = (file.clone(), version);
        // Another look-up may have built it meanwhile; either copy serves.
        let _ = self.slot(&key).set(Arc::new(dataset));
        self.evict(&key);
    }

    /// Version `resource` of the dataset stored at `file`, read once per process while kept.
    pub async fn load(&self, file: &BlobKey, resource: &Resource) -> ApiResult<Arc<Dataset>> {
        let key = (file.clone(), resource.version);
        let dataset = self
            .slot(&key)
            .get_or_try_init(|| async {
                self.read(file, resource)
                    .await
                    .map(Arc::new)
                    .map_err(ApiError::from)
            })
            .await?
            .clone();
        self.evict(&key);
        Ok(dataset)
    }
}

/// The reference dataset called `query.name` in exactly `query.group`, at the version the
/// query selects, ready for LOOKUP. A dataset still processing, frozen or whose file failed is
/// an error rather than `None`, so the formula reports why it cannot use it.
pub(crate) async fn resolve_dataset(
    library: &DatasetLibrary,
    store: &dyn TenantStore,
    query: &ResourceQuery,
) -> ApiResult<Option<Arc<Dataset>>> {
    let Some(found) = crate::resolve::named_version(store, Datasets::KIND, query).await? else {
        return Ok(None);
    };
    let latest_state = match query.version {
        VersionSelector::Latest => found.state,
        _ => store
            .resource(Datasets::KIND, &found.id)
            .await?
            .map_or(found.state, |latest| latest.state),
    };
    let name = found.name.clone().unwrap_or_default();
    // A version read again for the audit of an earlier evaluation is read whatever the state.
    let recorded = matches!(query.version, VersionSelector::Recorded(_));
    if latest_state == ResourceState::Frozen && !recorded {
        return Err(ApiError::BadRequest(format!(
            "Reference dataset '{name}' is frozen: none of its versions may be used."
        )));
    }
    let body: StoredBody = body_of(&found)?;
    if body.status != Status::Success {
        return Err(ApiError::BadRequest(format!(
            "Reference dataset '{name}' version {} is not ready: its status is {}{}.",
            found.version,
            body.status.as_str(),
            body.status_message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )));
    }
    let file = body
        .file()?
        .ok_or_else(|| ApiError::Internal(format!("reference dataset {} has no file", found.id)))?;
    library.load(&file, &found).await.map(Some)
}
