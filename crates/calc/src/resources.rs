//! What formulas read from outside: emission factors (IMPACT), reference datasets (LOOKUP),
//! stored calculations (`#name(...)`) and groups (ASSIGN_TO_GROUP).
//!
//! The formula engine does no I/O. A [`ResourceSource`] answers look-ups (the store in the
//! server, files in `sifr run`, stubs in the conformance corpus); [`PinnedResources`] wraps one
//! for the length of an execution, so that every row sees the same version of each resource and
//! each resource is fetched once.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use rust_decimal::Decimal;

use crate::lookup::PhraseIndex;

/// Which version of a resource a formula asks for.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum VersionSelector {
    /// The newest version, pinned for the whole execution at its first use.
    Latest,
    Exact(u64),
    /// The newest version active at this instant (`activeAt`, else `createdAt` ≤ the text).
    AsAt(String),
    /// A version an earlier evaluation used, read again to make its audit records: usable
    /// whatever state the resource is in now (a dataset is frozen while it is indexed again).
    Recorded(u64),
}

impl VersionSelector {
    /// The version number asked for, if one is.
    pub fn number(&self) -> Option<u64> {
        match self {
            VersionSelector::Exact(v) | VersionSelector::Recorded(v) => Some(*v),
            VersionSelector::Latest | VersionSelector::AsAt(_) => None,
        }
    }
}

/// A look-up of a resource by name.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ResourceQuery {
    /// The name as written in the formula; names match case-insensitively.
    pub name: String,
    /// The group to search: the one named by `group=`, else the group in context.
    pub group: String,
    /// True when `group=` named the group: then only that group is searched. Otherwise the
    /// group in context is searched first, then its ancestors, nearest first.
    pub explicit_group: bool,
    /// Another tenant that shares the resource (`tenant=`).
    pub tenant: Option<String>,
    pub version: VersionSelector,
}

/// A failure of the resource source itself (storage unavailable, permission denied...), as
/// opposed to a resource that does not exist.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ResourceError(pub String);

/// An activity (emission factor set) at one version.
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub id: String,
    pub name: String,
    pub version: u64,
    pub impacts: Vec<Impact>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Impact {
    pub name: String,
    pub components: Vec<Component>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    pub key: String,
    pub value: Decimal,
}

/// A stored calculation at one version.
#[derive(Clone, Debug, PartialEq)]
pub struct Calculation {
    pub id: String,
    pub name: String,
    pub version: u64,
    pub formula: String,
    pub parameters: Vec<CalculationParameter>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CalculationParameter {
    pub key: String,
    /// `string`, `number`, `boolean` or another declared type.
    pub kind: String,
}

/// A reference dataset at one version: a header row and data rows of text cells, stored in one
/// buffer so that large datasets cost little more than their text.
#[derive(Debug)]
pub struct Dataset {
    pub id: String,
    pub name: String,
    pub version: u64,
    headers: Vec<String>,
    cells: String,
    /// End offset of each cell in `cells`, row after row.
    ends: Vec<u32>,
    /// One phrase index per column, built the first time a LOOKUP keys on that column.
    indexes: Vec<OnceLock<PhraseIndex>>,
}

/// A dataset that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    #[error("row {row} has {found} cells, but the header has {expected} columns")]
    Ragged {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("the dataset's text exceeds 4 GiB")]
    TooLarge,
}

/// Builds a [`Dataset`] row by row.
pub struct DatasetBuilder {
    dataset: Dataset,
    rows: usize,
}

impl DatasetBuilder {
    pub fn new(id: &str, name: &str, version: u64, headers: Vec<String>) -> Self {
        let columns = headers.len();
        DatasetBuilder {
            dataset: Dataset {
                id: id.to_owned(),
                name: name.to_owned(),
                version,
                headers,
                cells: String::new(),
                ends: Vec::new(),
                indexes: (0..columns).map(|_| OnceLock::new()).collect(),
            },
            rows: 0,
        }
    }

    pub fn push_row<S: AsRef<str>>(&mut self, row: &[S]) -> Result<(), DatasetError> {
        let expected = self.dataset.headers.len();
        if row.len() != expected {
            return Err(DatasetError::Ragged {
                row: self.rows + 1,
                expected,
                found: row.len(),
            });
        }
        for cell in row {
            self.dataset.cells.push_str(cell.as_ref());
            let end =
                u32::try_from(self.dataset.cells.len()).map_err(|_| DatasetError::TooLarge)?;
            self.dataset.ends.push(end);
        }
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Dataset {
        self.dataset.cells.shrink_to_fit();
        self.dataset.ends.shrink_to_fit();
        self.dataset
    }
}

impl Dataset {
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    pub fn row_count(&self) -> usize {
        self.ends.len().checked_div(self.headers.len()).unwrap_or(0)
    }

    pub fn cell(&self, row: usize, column: usize) -> &str {
        let columns = self.headers.len();
        let i = row * columns + column;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.cells[start..self.ends[i] as usize]
    }

    /// The index of one column, built on first use.
    pub fn column_index(&self, column: usize) -> &PhraseIndex {
        self.indexes[column].get_or_init(|| {
            PhraseIndex::build((0..self.row_count()).map(|row| self.cell(row, column)))
        })
    }

    /// The first row (in file order) whose `column` cell contains the words of `value` as
    /// consecutive words, ignoring case and punctuation.
    pub fn find(&self, column: usize, value: &str) -> Option<usize> {
        self.column_index(column)
            .find(value, |row| self.cell(row, column))
    }

    /// Approximate heap bytes held, indexes included.
    pub fn heap_size(&self) -> usize {
        self.cells.capacity()
            + self.ends.capacity() * 4
            + self
                .indexes
                .iter()
                .filter_map(OnceLock::get)
                .map(PhraseIndex::heap_size)
                .sum::<usize>()
    }
}

/// Answers resource look-ups. Implementations search by name as [`ResourceQuery`] describes and
/// return `Ok(None)` when nothing matches.
pub trait ResourceSource: Send + Sync {
    fn activity(&self, query: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError>;
    fn dataset(&self, query: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError>;
    fn calculation(&self, query: &ResourceQuery)
    -> Result<Option<Arc<Calculation>>, ResourceError>;
    fn group_exists(&self, group: &str) -> Result<bool, ResourceError>;
}

/// A source with nothing in it: formulas that use no resources need no more.
pub struct NoResources;

impl ResourceSource for NoResources {
    fn activity(&self, _: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError> {
        Ok(None)
    }
    fn dataset(&self, _: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError> {
        Ok(None)
    }
    fn calculation(&self, _: &ResourceQuery) -> Result<Option<Arc<Calculation>>, ResourceError> {
        Ok(None)
    }
    fn group_exists(&self, _: &str) -> Result<bool, ResourceError> {
        Ok(false)
    }
}

/// One resource version an execution resolved, for its record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct PinnedVersion {
    /// `activity`, `referenceDataset` or `calculation`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub version: u64,
}

type Cache<T> = RwLock<HashMap<ResourceQuery, Option<Arc<T>>>>;

/// Caches look-ups for one execution: the first look-up of a name fixes the version every later
/// row uses, even if a newer version is published while the execution runs.
pub struct PinnedResources {
    source: Arc<dyn ResourceSource>,
    activities: Cache<Activity>,
    datasets: Cache<Dataset>,
    calculations: Cache<Calculation>,
    groups: RwLock<HashMap<String, bool>>,
    /// The last error of each look-up that failed, by kind.
    failures: RwLock<HashMap<(&'static str, ResourceQuery), String>>,
}

impl PinnedResources {
    pub fn new(source: Arc<dyn ResourceSource>) -> Self {
        PinnedResources {
            source,
            activities: RwLock::default(),
            datasets: RwLock::default(),
            calculations: RwLock::default(),
            groups: RwLock::default(),
            failures: RwLock::default(),
        }
    }

    /// Fetches what `cache` does not hold yet; remembers a failure.
    fn cached<T>(
        &self,
        kind: &'static str,
        cache: &Cache<T>,
        query: &ResourceQuery,
        fetch: impl FnOnce() -> Result<Option<Arc<T>>, ResourceError>,
    ) -> Result<Option<Arc<T>>, ResourceError> {
        if let Some(found) = read(cache).get(query) {
            return Ok(found.clone());
        }
        let found = fetch().inspect_err(|e| {
            write(&self.failures).insert((kind, query.clone()), e.0.clone());
        })?;
        // Another thread may have fetched the same query meanwhile: the first answer wins, so
        // that all rows agree on one version.
        Ok(write(cache).entry(query.clone()).or_insert(found).clone())
    }

    pub fn activity(&self, query: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError> {
        self.cached(ACTIVITY, &self.activities, query, || {
            self.source.activity(query)
        })
    }

    pub fn dataset(&self, query: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError> {
        self.cached(DATASET, &self.datasets, query, || {
            self.source.dataset(query)
        })
    }

    pub fn calculation(
        &self,
        query: &ResourceQuery,
    ) -> Result<Option<Arc<Calculation>>, ResourceError> {
        self.cached(CALCULATION, &self.calculations, query, || {
            self.source.calculation(query)
        })
    }

    pub fn group_exists(&self, group: &str) -> Result<bool, ResourceError> {
        if let Some(&known) = read(&self.groups).get(group) {
            return Ok(known);
        }
        let exists = self.source.group_exists(group)?;
        write(&self.groups).insert(group.to_owned(), exists);
        Ok(exists)
    }

    /// What every look-up so far answered, for [`ReplayedResources`].
    pub fn log(&self) -> LookupLog {
        fn answers<T: Identified>(cache: &Cache<T>) -> Vec<(ResourceQuery, Option<Found>)> {
            let mut all: Vec<_> = read(cache)
                .iter()
                .map(|(query, found)| {
                    let found = found.as_ref().map(|f| Found {
                        id: f.id().to_owned(),
                        version: f.version(),
                    });
                    (query.clone(), found)
                })
                .collect();
            all.sort_by(|a, b| a.0.cmp(&b.0));
            all
        }
        let mut groups: Vec<(String, bool)> = read(&self.groups)
            .iter()
            .map(|(g, &exists)| (g.clone(), exists))
            .collect();
        groups.sort();
        let mut failed: Vec<(String, ResourceQuery, String)> = read(&self.failures)
            .iter()
            .map(|((kind, query), message)| ((*kind).to_owned(), query.clone(), message.clone()))
            .collect();
        failed.sort();
        LookupLog {
            activities: answers(&self.activities),
            datasets: answers(&self.datasets),
            calculations: answers(&self.calculations),
            groups,
            failed,
        }
    }

    /// Every resource version resolved so far, sorted and without repeats.
    pub fn pinned(&self) -> Vec<PinnedVersion> {
        let mut all = Vec::new();
        for found in read(&self.activities).values().flatten() {
            all.push(PinnedVersion {
                kind: ACTIVITY,
                id: found.id.clone(),
                name: found.name.clone(),
                version: found.version,
            });
        }
        for found in read(&self.datasets).values().flatten() {
            all.push(PinnedVersion {
                kind: DATASET,
                id: found.id.clone(),
                name: found.name.clone(),
                version: found.version,
            });
        }
        for found in read(&self.calculations).values().flatten() {
            all.push(PinnedVersion {
                kind: CALCULATION,
                id: found.id.clone(),
                name: found.name.clone(),
                version: found.version,
            });
        }
        all.sort();
        all.dedup();
        all
    }
}

/// A resource a look-up found: which one, at which version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Found {
    pub id: String,
    pub version: u64,
}

/// What each look-up of an execution answered (a resource version, or nothing), so that its
/// evaluations can be made again against the very same versions.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LookupLog {
    pub activities: Vec<(ResourceQuery, Option<Found>)>,
    pub datasets: Vec<(ResourceQuery, Option<Found>)>,
    pub calculations: Vec<(ResourceQuery, Option<Found>)>,
    /// ASSIGN_TO_GROUP's checks: whether each group existed.
    pub groups: Vec<(String, bool)>,
    /// Look-ups that failed, by kind (`activity`, `referenceDataset`, `calculation`), with
    /// their error: made again, they fail the same way.
    #[serde(default)]
    pub failed: Vec<(String, ResourceQuery, String)>,
}

const ACTIVITY: &str = "activity";
const DATASET: &str = "referenceDataset";
const CALCULATION: &str = "calculation";

/// A versioned resource.
trait Identified {
    fn id(&self) -> &str;
    fn version(&self) -> u64;
}

macro_rules! identified {
    ($($kind:ty),*) => {$(
        impl Identified for $kind {
            fn id(&self) -> &str {
                &self.id
            }
            fn version(&self) -> u64 {
                self.version
            }
        }
    )*};
}
identified!(Activity, Dataset, Calculation);

type Answers = HashMap<ResourceQuery, Option<Found>>;

/// Answers look-ups as an earlier execution's [`LookupLog`] says they were answered: a query
/// that found nothing finds nothing again, a query that failed fails with the same error, and
/// a query that found a resource reads that resource at that version from `source`, whatever
/// its state now. When that cannot be done (the version is gone, the name finds another
/// resource, the log has no such query), the look-up fails and [`failure`](Self::failure)
/// says why: the evaluation is then not the execution's, and its records must not be used.
pub struct ReplayedResources {
    source: Arc<dyn ResourceSource>,
    activities: Answers,
    datasets: Answers,
    calculations: Answers,
    groups: HashMap<String, bool>,
    failed: HashMap<(String, ResourceQuery), String>,
    failure: std::sync::Mutex<Option<ResourceError>>,
}

impl ReplayedResources {
    pub fn new(source: Arc<dyn ResourceSource>, log: LookupLog) -> Self {
        ReplayedResources {
            source,
            activities: log.activities.into_iter().collect(),
            datasets: log.datasets.into_iter().collect(),
            calculations: log.calculations.into_iter().collect(),
            groups: log.groups.into_iter().collect(),
            failed: log
                .failed
                .into_iter()
                .map(|(kind, query, message)| ((kind, query), message))
                .collect(),
            failure: std::sync::Mutex::new(None),
        }
    }

    /// The first look-up that could not be answered as the execution's was.
    pub fn failure(&self) -> Option<ResourceError> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn fail(&self, message: String) -> ResourceError {
        let error = ResourceError(message);
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| error.clone());
        error
    }

    fn replay<T: Identified>(
        &self,
        (kind, what): (&str, &str),
        answers: &Answers,
        query: &ResourceQuery,
        fetch: impl FnOnce(&ResourceQuery) -> Result<Option<Arc<T>>, ResourceError>,
    ) -> Result<Option<Arc<T>>, ResourceError> {
        let Some(found) = answers.get(query) else {
            return Err(match self.failed.get(&(kind.to_owned(), query.clone())) {
                Some(message) => ResourceError(message.clone()),
                None => self.fail(format!(
                    "the execution has no record of a look-up of {what} '{}'",
                    query.name
                )),
            });
        };
        let Some(found) = found else {
            return Ok(None);
        };
        let recorded = ResourceQuery {
            version: VersionSelector::Recorded(found.version),
            ..query.clone()
        };
        let gone = |why: String| {
            self.fail(format!(
                "{what} '{}' version {} ({}), which the execution used, can no longer be read{why}",
                query.name, found.version, found.id
            ))
        };
        match fetch(&recorded) {
            Ok(Some(resource)) if resource.id() == found.id => Ok(Some(resource)),
            Ok(_) => Err(gone(String::new())),
            Err(e) => Err(gone(format!(": {e}"))),
        }
    }
}

impl ResourceSource for ReplayedResources {
    fn activity(&self, query: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError> {
        self.replay((ACTIVITY, "impact"), &self.activities, query, |q| {
            self.source.activity(q)
        })
    }

    fn dataset(&self, query: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError> {
        self.replay((DATASET, "reference dataset"), &self.datasets, query, |q| {
            self.source.dataset(q)
        })
    }

    fn calculation(
        &self,
        query: &ResourceQuery,
    ) -> Result<Option<Arc<Calculation>>, ResourceError> {
        self.replay(
            (CALCULATION, "calculation"),
            &self.calculations,
            query,
            |q| self.source.calculation(q),
        )
    }

    fn group_exists(&self, group: &str) -> Result<bool, ResourceError> {
        match self.groups.get(group) {
            Some(&exists) => Ok(exists),
            None => Err(self.fail(format!(
                "the execution has no record of whether group '{group}' exists"
            ))),
        }
    }
}

// A poisoned lock only means another thread panicked while holding it; the maps stay valid.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
