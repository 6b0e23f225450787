//! The pipeline processor's data: executions, activities with every version written to them,
//! audit records and metric values.
//!
//! An activity is identified as SIF identifies it (pipeline, group, date, raw or aggregated,
//! up to five unique-key values); its number is a hash of that identity. Versions are stored
//! in segments (see [`crate::segment`]): compressed blocks of up to a thousand versions of one
//! group's activities, written by one execution. An execution's segments stay invisible until
//! it commits them: the commit merges the numbers of the activities it wrote into the identity
//! index (hash-partitioned sorted blocks: activity → latest version), marks the versions that
//! stopped being latest, and shows the segments, all in one transaction. So an execution is
//! seen whole or not at all, writing costs a block per thousand versions, and an interrupted
//! execution leaves nothing a restart must undo.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type,
};

use sifr_domain::GroupPath;

use crate::Result;
use crate::pending::PendingEntries;
use crate::segment::{self, Decoded, Entry, Segment};
use crate::tenant::SqlTenant;

/// An execution as stored: the JSON body is the API's record, the columns what queries need.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionRecord {
    pub id: String,
    pub pipeline_id: String,
    pub status: String,
    pub body: serde_json::Map<String, serde_json::Value>,
}

/// A metric aggregation job as stored: the JSON body is the API's record, the columns what
/// queries need.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregationJobRecord {
    pub id: String,
    pub pipeline_id: String,
    pub status: String,
    pub group_context_id: String,
    pub body: serde_json::Map<String, serde_json::Value>,
}

/// Which metric aggregation jobs to list (by id).
#[derive(Clone, Debug)]
pub struct AggregationJobQuery {
    /// Jobs of this group and of every group below it; every job when `None`.
    pub within: Option<GroupPath>,
    pub pipeline_id: Option<String>,
    pub status: Option<String>,
    /// Jobs after this id.
    pub after: Option<String>,
    pub count: usize,
}

/// Raw activities come from input rows; aggregated ones from a pipeline's aggregation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivityKind {
    Raw = 0,
    Aggregated = 1,
}

/// Segments of activity versions to store, with the audit records of their rows.
#[derive(Clone, Debug)]
pub struct ActivityChunk {
    pub pipeline_id: String,
    pub execution_id: String,
    pub kind: ActivityKind,
    /// When the versions were written (epoch milliseconds).
    pub created_at: i64,
    pub segments: Vec<Segment>,
    pub audits: Vec<AuditBlock>,
}

/// What committing an execution's versions did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    pub versions: u64,
    /// Activities that did not exist before.
    pub created: u64,
}

/// The groups an execution stored activities in, and their range of dates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionExtent {
    pub groups: Vec<String>,
    /// Earliest and latest activity date (epoch seconds).
    pub dates: Option<(i64, i64)>,
}

/// The compressed audit records of consecutive input rows.
#[derive(Clone, Debug)]
pub struct AuditBlock {
    pub sequence: i64,
    pub first_row: i64,
    pub last_row: i64,
    pub records: Vec<u8>,
}

/// Which activities to read.
#[derive(Clone, Debug, Default)]
pub struct ActivityQuery {
    /// One activity.
    pub activity_id: Option<i64>,
    pub pipeline_id: Option<String>,
    /// Versions written by this execution instead of the latest ones.
    pub execution_id: Option<String>,
    /// The activities' group (exactly).
    pub group: String,
    pub aggregated: bool,
    /// Inclusive range of activity dates (epoch seconds).
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Required values of unique keys 1..5.
    pub keys: [Option<String>; 5],
    /// Every version, oldest first, instead of the latest.
    pub history: bool,
    pub offset: u64,
    pub limit: Option<u64>,
}

/// One version of an activity, as queries return it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityRecord {
    pub activity_id: i64,
    pub pipeline_id: String,
    pub group_id: String,
    pub date: i64,
    pub key1: String,
    pub key2: String,
    pub key3: String,
    pub key4: String,
    pub key5: String,
    /// Orders all versions of a pipeline's activities.
    pub version_id: i64,
    pub execution_id: String,
    pub created_at: i64,
    pub row_number: i64,
    /// The outputs (JSON object).
    pub vals: String,
    /// Failed outputs' messages (JSON object), if any.
    pub errors: Option<String>,
}

/// Selected outputs of an activity's latest version, for aggregations and metrics.
#[derive(Debug)]
pub struct ScannedActivity<'a> {
    pub group: &'a str,
    pub date: i64,
    /// One per requested output: its value's text, or `None` when null or absent.
    pub values: &'a [Option<&'a str>],
}

/// A metric value of one group and period.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MetricValueRecord {
    pub name: String,
    /// `d`, `w`, `m`, `q` or `y`.
    pub time_unit: String,
    pub group_id: String,
    /// First day of the period, days since 1970-01-01.
    pub date: i64,
    pub group_value: String,
    pub sub_groups_value: String,
    pub created_at: String,
}

/// Which groups' metric values to read.
#[derive(Clone, Debug)]
pub enum MetricScope {
    /// Every group.
    All,
    Group(String),
    /// The immediate sub-groups of a group.
    ChildrenOf(String),
}

/// The pipeline processor's part of a tenant's store.
#[async_trait]
pub trait ProcessorStore: Send + Sync {
    async fn create_execution(&self, execution: &ExecutionRecord) -> Result<()>;
    async fn execution(&self, id: &str) -> Result<Option<ExecutionRecord>>;
    async fn update_execution(&self, execution: &ExecutionRecord) -> Result<()>;
    /// A pipeline's executions by id, those after `after`, at most `count`.
    async fn executions(
        &self,
        pipeline_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<ExecutionRecord>>;
    async fn executions_with_status(&self, statuses: &[&str]) -> Result<Vec<ExecutionRecord>>;

    /// Stores a chunk in one transaction, invisible until the execution commits it; the
    /// index entries of its versions go to `pending`, for the commit.
    async fn write_activities(
        &self,
        chunk: &ActivityChunk,
        pending: &mut PendingEntries,
    ) -> Result<()>;
    /// Makes every version the execution wrote to the pipeline's activities of `kind` visible
    /// at once, each the latest of its activity. Fails, changing nothing, when two different
    /// identities have one activity number.
    async fn commit_activities(
        &self,
        pipeline_id: &str,
        kind: ActivityKind,
        execution_id: &str,
        pending: PendingEntries,
    ) -> Result<Committed>;
    /// Removes what an execution wrote and did not commit; returns whether it had committed
    /// activities. An execution without any also loses its audit records.
    async fn discard_uncommitted(&self, execution_id: &str) -> Result<bool>;
    /// Where the activities an execution committed are.
    async fn execution_extent(&self, execution_id: &str) -> Result<ExecutionExtent>;
    /// Removes a pipeline's aggregated activities before they are computed again.
    async fn delete_aggregates(&self, pipeline_id: &str) -> Result<()>;
    async fn activities(&self, query: &ActivityQuery) -> Result<Vec<ActivityRecord>>;
    /// Calls `visit` with `outputs` of the latest version of every activity of the pipeline.
    async fn scan_latest(
        &self,
        pipeline_id: &str,
        kind: ActivityKind,
        outputs: &[String],
        visit: &mut (dyn for<'a> FnMut(ScannedActivity<'a>) + Send),
    ) -> Result<()>;
    /// The compressed audit block holding `row` of an execution.
    async fn audit_block(&self, execution_id: &str, row: i64) -> Result<Option<Vec<u8>>>;
    /// An execution's audit blocks in row order, from `sequence` on, at most `count`.
    async fn audit_blocks(
        &self,
        execution_id: &str,
        sequence: i64,
        count: usize,
    ) -> Result<Vec<AuditBlock>>;

    /// Replaces all values of the metrics `names` with `rows`, in one transaction.
    async fn replace_metric_values(
        &self,
        names: &[String],
        rows: &[MetricValueRecord],
    ) -> Result<()>;
    /// A metric's values in a time unit and date range (days, inclusive), by group and date.
    async fn metric_values(
        &self,
        name: &str,
        time_unit: &str,
        scope: &MetricScope,
        from: i64,
        to: i64,
    ) -> Result<Vec<MetricValueRecord>>;

    async fn create_aggregation_job(&self, job: &AggregationJobRecord) -> Result<()>;
    async fn aggregation_job(&self, id: &str) -> Result<Option<AggregationJobRecord>>;
    /// Replaces a job's columns and body if its stored status is still `status`, so that two
    /// writers cannot both move a job on (say, start it twice). Returns whether it did: false
    /// when the job is gone or its status changed.
    async fn update_aggregation_job(
        &self,
        job: &AggregationJobRecord,
        status: &str,
    ) -> Result<bool>;
    /// The jobs `query` selects, by id (the pending jobs of a pipeline, a group's jobs...).
    async fn aggregation_jobs(
        &self,
        query: &AggregationJobQuery,
    ) -> Result<Vec<AggregationJobRecord>>;
    /// Removes a job; returns whether there was one.
    async fn delete_aggregation_job(&self, id: &str) -> Result<bool>;
}

/// What the two backends report differently.
pub(crate) trait Staging: Database {
    /// Rows a statement changed.
    fn affected(result: &Self::QueryResult) -> u64;
}

impl Staging for sqlx::Sqlite {
    fn affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

impl Staging for sqlx::Postgres {
    fn affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// The identity index is split into this many blocks by the top bits of the activity number,
/// so a commit rewrites only the blocks its activities fall in (a few kilobytes each at ten
/// million activities).
const BUCKET_BITS: u32 = 12;
/// Uncommitted index entries are written in this many ranges of blocks, so a commit merges
/// one range at a time in bounded memory.
const RANGE_BITS: u32 = 6;

/// Activity numbers have 63 bits.
fn bucket_of(id: i64) -> i64 {
    id >> (63 - BUCKET_BITS)
}

fn range_of(id: i64) -> i64 {
    id >> (63 - RANGE_BITS)
}

#[derive(sqlx::FromRow)]
pub(crate) struct ExecutionRow {
    id: String,
    pipeline_id: String,
    status: String,
    body: String,
}

impl ExecutionRow {
    fn record(self) -> Result<ExecutionRecord> {
        let body = serde_json::from_str(&self.body)
            .map_err(|e| crate::StoreError::Corrupt(format!("execution '{}': {e}", self.id)))?;
        Ok(ExecutionRecord {
            id: self.id,
            pipeline_id: self.pipeline_id,
            status: self.status,
            body,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AggregationJobRow {
    id: String,
    pipeline_id: String,
    status: String,
    group_context_id: String,
    body: String,
}

impl AggregationJobRow {
    fn record(self) -> Result<AggregationJobRecord> {
        let body = serde_json::from_str(&self.body).map_err(|e| {
            crate::StoreError::Corrupt(format!("metric aggregation job '{}': {e}", self.id))
        })?;
        Ok(AggregationJobRecord {
            id: self.id,
            pipeline_id: self.pipeline_id,
            status: self.status,
            group_context_id: self.group_context_id,
            body,
        })
    }
}

const AGGREGATION_JOB_COLUMNS: &str =
    "SELECT id, pipeline_id, status, group_context_id, body FROM metric_aggregation_jobs";

/// Marks a version as no longer its activity's latest.
fn supersede(superseded: &mut std::collections::BTreeMap<i64, Vec<usize>>, version: i64) {
    let (segment, row) = segment::locate(version);
    superseded.entry(segment).or_default().push(row);
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    sequence: i64,
    first_row: i64,
    last_row: i64,
    records: Vec<u8>,
}

/// A stored segment's description, as listings read it (its rows are read apart, only when
/// needed).
#[derive(sqlx::FromRow)]
pub(crate) struct SegmentRow {
    id: i64,
    pipeline_id: String,
    group_id: String,
    execution_id: String,
    created_at: i64,
    row_count: i64,
    min_date: i64,
    max_date: i64,
    superseded: Option<Vec<u8>>,
}

/// The columns of [`SegmentRow`].
const SEGMENT_COLUMNS: &str = "SELECT id, pipeline_id, group_id, execution_id, created_at, \
     row_count, min_date, max_date, superseded FROM activity_segments";

/// A segment as scans read it: its group, rows and superseded rows.
#[derive(sqlx::FromRow)]
pub(crate) struct ScannedSegment {
    group_id: String,
    superseded: Option<Vec<u8>>,
    data: Vec<u8>,
}

/// The output values of a row as a JSON object (non-null values only).
fn values_object(outputs: &[String], values: &[Option<&str>]) -> String {
    let mut map = serde_json::Map::new();
    for (key, value) in outputs.iter().zip(values) {
        if let Some(value) = value {
            map.insert(key.clone(), serde_json::Value::String((*value).to_owned()));
        }
    }
    serde_json::Value::Object(map).to_string()
}

/// Whether a row passes a query's row-level filters.
fn selected(q: &ActivityQuery, row: &segment::DecodedRow<'_>) -> bool {
    q.activity_id.is_none_or(|id| id == row.id)
        && q.from.is_none_or(|from| row.date >= from)
        && q.to.is_none_or(|to| row.date <= to)
        && q.keys
            .iter()
            .zip(row.keys)
            .all(|(wanted, key)| wanted.as_deref().is_none_or(|w| w == key))
}

/// Segments per multi-row insert of their data (tens of kilobytes each).
const SEGMENTS_PER_STATEMENT: usize = 64;

/// Rows per multi-row insert: at most 7 parameters each, well within what SQLite and
/// PostgreSQL take in one statement.
const ROWS_PER_STATEMENT: usize = 1000;

#[async_trait]
impl<DB> ProcessorStore for SqlTenant<DB>
where
    DB: Database + Staging,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Decode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Decode<'q, DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'r> ExecutionRow: FromRow<'r, DB::Row>,
    for<'r> SegmentRow: FromRow<'r, DB::Row>,
    for<'r> ScannedSegment: FromRow<'r, DB::Row>,
    for<'q> Option<Vec<u8>>: Decode<'q, DB>,
    for<'r> MetricValueRecord: FromRow<'r, DB::Row>,
    for<'r> AuditRow: FromRow<'r, DB::Row>,
    for<'r> AggregationJobRow: FromRow<'r, DB::Row>,
{
    async fn create_execution(&self, execution: &ExecutionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO executions (id, pipeline_id, status, body) VALUES ($1, $2, $3, $4)",
        )
        .bind(execution.id.clone())
        .bind(execution.pipeline_id.clone())
        .bind(execution.status.clone())
        .bind(crate::rows::to_json(&execution.body))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn execution(&self, id: &str) -> Result<Option<ExecutionRecord>> {
        sqlx::query_as::<DB, ExecutionRow>(
            "SELECT id, pipeline_id, status, body FROM executions WHERE id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(&self.read)
        .await?
        .map(ExecutionRow::record)
        .transpose()
    }

    async fn update_execution(&self, execution: &ExecutionRecord) -> Result<()> {
        let updated = sqlx::query("UPDATE executions SET status = $2, body = $3 WHERE id = $1")
            .bind(execution.id.clone())
            .bind(execution.status.clone())
            .bind(crate::rows::to_json(&execution.body))
            .execute(&self.write)
            .await?;
        if DB::affected(&updated) == 0 {
            return Err(crate::StoreError::ResourceNotFound(execution.id.clone()));
        }
        Ok(())
    }

    async fn executions(
        &self,
        pipeline_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        let mut query = QueryBuilder::<DB>::new(
            "SELECT id, pipeline_id, status, body FROM executions WHERE pipeline_id = ",
        );
        query.push_bind(pipeline_id.to_owned());
        if let Some(after) = after {
            query.push(" AND id > ").push_bind(after.to_owned());
        }
        query
            .push(" ORDER BY id LIMIT ")
            .push_bind(i64::try_from(count).unwrap_or(i64::MAX));
        query
            .build_query_as::<ExecutionRow>()
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(ExecutionRow::record)
            .collect()
    }

    async fn executions_with_status(&self, statuses: &[&str]) -> Result<Vec<ExecutionRecord>> {
        let mut query = QueryBuilder::<DB>::new(
            "SELECT id, pipeline_id, status, body FROM executions WHERE status IN (",
        );
        let mut list = query.separated(", ");
        for status in statuses {
            list.push_bind((*status).to_owned());
        }
        query.push(") ORDER BY id");
        query
            .build_query_as::<ExecutionRow>()
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(ExecutionRow::record)
            .collect()
    }

    async fn write_activities(
        &self,
        chunk: &ActivityChunk,
        pending_entries: &mut PendingEntries,
    ) -> Result<()> {
        let kind = chunk.kind as i64;
        let mut pending: Vec<Vec<Entry>> = vec![Vec::new(); 1 << RANGE_BITS];
        let mut ids = Vec::with_capacity(chunk.segments.len());
        let mut tx = self.write.begin().await?;
        for part in &chunk.segments {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO activity_segments (pipeline_id, kind, group_id, execution_id, \
                 created_at, row_count, min_date, max_date, committed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) RETURNING id",
            )
            .bind(chunk.pipeline_id.as_str())
            .bind(kind)
            .bind(part.group.as_str())
            .bind(chunk.execution_id.as_str())
            .bind(chunk.created_at)
            .bind(part.ids.len() as i64)
            .bind(part.min_date)
            .bind(part.max_date)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
            for (row, identity) in part.ids.iter().enumerate() {
                pending[range_of(identity.id) as usize].push(Entry {
                    id: identity.id,
                    version: segment::version(id, row),
                    check: identity.check,
                });
            }
        }
        // The rest in multi-row statements: a statement costs more than its rows.
        let rows: Vec<(i64, &Vec<u8>)> = ids
            .into_iter()
            .zip(chunk.segments.iter().map(|part| &part.data))
            .collect();
        for batch in rows.chunks(SEGMENTS_PER_STATEMENT) {
            let mut query =
                QueryBuilder::<DB>::new("INSERT INTO activity_segment_rows (segment_id, data) ");
            query.push_values(batch, |mut row, &(id, data)| {
                row.push_bind(id).push_bind(data.clone());
            });
            query.build().execute(&mut *tx).await?;
        }
        for batch in chunk.audits.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<DB>::new(
                "INSERT INTO execution_audits (execution_id, sequence, first_row, last_row, \
                 records) ",
            );
            query.push_values(batch, |mut row, audit| {
                row.push_bind(chunk.execution_id.clone())
                    .push_bind(audit.sequence)
                    .push_bind(audit.first_row)
                    .push_bind(audit.last_row)
                    .push_bind(audit.records.clone());
            });
            query.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        // Only once the versions are stored: an entry must not name a version that is not.
        for (range, entries) in pending.iter().enumerate() {
            if !entries.is_empty() {
                pending_entries.push(range, entries)?;
            }
        }
        Ok(())
    }

    async fn commit_activities(
        &self,
        pipeline_id: &str,
        kind: ActivityKind,
        execution_id: &str,
        pending: PendingEntries,
    ) -> Result<Committed> {
        let kind = kind as i64;
        let mut committed = Committed::default();
        // Versions that stop being their activity's latest, by segment.
        let mut superseded: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
        // The entries of each range are read and sorted on a blocking thread while the
        // previous range is merged and written.
        let mut sorted = pending.sorted_ranges(1 << RANGE_BITS);
        let mut tx = self.write.begin().await?;
        let mut existing: Vec<Entry> = Vec::new();
        for range in 0..(1i64 << RANGE_BITS) {
            let new = sorted.recv().await.unwrap_or_else(|| {
                Err(crate::StoreError::Corrupt(
                    "the pending index entries stopped early".into(),
                ))
            })?;
            committed.versions += new.len() as u64;
            // The stored blocks of the range, read at once.
            let first = range << (BUCKET_BITS - RANGE_BITS);
            let stored: HashMap<i64, Vec<u8>> = sqlx::query_as(
                "SELECT bucket, entries FROM activity_keys WHERE pipeline_id = $1 AND kind = $2 \
                 AND bucket >= $3 AND bucket < $4",
            )
            .bind(pipeline_id.to_owned())
            .bind(kind)
            .bind(first)
            .bind(first + (1 << (BUCKET_BITS - RANGE_BITS)))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut rewritten: Vec<(i64, Vec<u8>)> = Vec::new();
            for block in new.chunk_by(|a, b| bucket_of(a.id) == bucket_of(b.id)) {
                let bucket = bucket_of(block[0].id);
                existing.clear();
                if let Some(blob) = stored.get(&bucket) {
                    segment::entries_of(blob, &mut existing);
                }
                let mut merged = Vec::with_capacity(existing.len() + block.len());
                let mut old = existing.iter().peekable();
                for versions in block.chunk_by(|a, b| a.id == b.id) {
                    let latest = versions[versions.len() - 1];
                    while let Some(entry) = old.next_if(|e| e.id < latest.id) {
                        merged.push(*entry);
                    }
                    let previous = old.next_if(|e| e.id == latest.id);
                    match previous {
                        None => committed.created += 1,
                        Some(previous) => supersede(&mut superseded, previous.version),
                    }
                    for version in previous.into_iter().chain(versions) {
                        if version.check != latest.check {
                            return Err(crate::StoreError::InvalidState(format!(
                                "two different activities of pipeline '{pipeline_id}' have the \
                                 number {}; nothing of execution '{execution_id}' was stored",
                                latest.id
                            )));
                        }
                    }
                    for earlier in &versions[..versions.len() - 1] {
                        supersede(&mut superseded, earlier.version);
                    }
                    merged.push(latest);
                }
                merged.extend(old);
                rewritten.push((bucket, segment::blob_of(&merged)));
            }
            // A range's blocks (64) go in one statement, moved into it rather than copied.
            if !rewritten.is_empty() {
                let mut query = QueryBuilder::<DB>::new(
                    "INSERT INTO activity_keys (pipeline_id, kind, bucket, entries) ",
                );
                query.push_values(rewritten, |mut row, (bucket, entries)| {
                    row.push_bind(pipeline_id.to_owned())
                        .push_bind(kind)
                        .push_bind(bucket)
                        .push_bind(entries);
                });
                query.push(
                    " ON CONFLICT (pipeline_id, kind, bucket) \
                     DO UPDATE SET entries = excluded.entries",
                );
                query.build().execute(&mut *tx).await?;
            }
        }
        for (id, rows) in superseded {
            let (row_count, bits): (i64, Option<Vec<u8>>) =
                sqlx::query_as("SELECT row_count, superseded FROM activity_segments WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            let mut bits = bits.unwrap_or_default();
            for row in rows {
                segment::set(&mut bits, row_count as usize, row);
            }
            sqlx::query("UPDATE activity_segments SET superseded = $2 WHERE id = $1")
                .bind(id)
                .bind(bits)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE activity_segments SET committed = 1 WHERE execution_id = $1 \
             AND pipeline_id = $2 AND kind = $3",
        )
        .bind(execution_id.to_owned())
        .bind(pipeline_id.to_owned())
        .bind(kind)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(committed)
    }

    async fn discard_uncommitted(&self, execution_id: &str) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let committed: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM activity_segments WHERE execution_id = $1 AND committed = 1 LIMIT 1",
        )
        .bind(execution_id.to_owned())
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM activity_segment_rows WHERE segment_id IN (SELECT id FROM \
             activity_segments WHERE execution_id = $1 AND committed = 0)",
        )
        .bind(execution_id.to_owned())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM activity_segments WHERE execution_id = $1 AND committed = 0")
            .bind(execution_id.to_owned())
            .execute(&mut *tx)
            .await?;
        if committed.is_none() {
            sqlx::query("DELETE FROM execution_audits WHERE execution_id = $1")
                .bind(execution_id.to_owned())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(committed.is_some())
    }

    async fn execution_extent(&self, execution_id: &str) -> Result<ExecutionExtent> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT group_id, min(min_date), max(max_date) FROM activity_segments \
             WHERE execution_id = $1 AND kind = $2 AND committed = 1 GROUP BY group_id \
             ORDER BY group_id",
        )
        .bind(execution_id.to_owned())
        .bind(ActivityKind::Raw as i64)
        .fetch_all(&self.read)
        .await?;
        let dates = rows.iter().fold(None, |range, &(_, lo, hi)| {
            Some(range.map_or((lo, hi), |(a, b): (i64, i64)| (a.min(lo), b.max(hi))))
        });
        Ok(ExecutionExtent {
            groups: rows.into_iter().map(|(group, _, _)| group).collect(),
            dates,
        })
    }

    async fn delete_aggregates(&self, pipeline_id: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for statement in [
            "DELETE FROM activity_segment_rows WHERE segment_id IN (SELECT id FROM \
             activity_segments WHERE pipeline_id = $1 AND kind = $2)",
            "DELETE FROM activity_segments WHERE pipeline_id = $1 AND kind = $2",
            "DELETE FROM activity_keys WHERE pipeline_id = $1 AND kind = $2",
        ] {
            sqlx::query(statement)
                .bind(pipeline_id.to_owned())
                .bind(ActivityKind::Aggregated as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn activities(&self, q: &ActivityQuery) -> Result<Vec<ActivityRecord>> {
        let mut query = QueryBuilder::<DB>::new(SEGMENT_COLUMNS);
        query
            .push(" WHERE committed = 1 AND group_id = ")
            .push_bind(q.group.clone());
        query
            .push(" AND kind = ")
            .push_bind(if q.aggregated { 1i64 } else { 0 });
        if let Some(pipeline) = &q.pipeline_id {
            query
                .push(" AND pipeline_id = ")
                .push_bind(pipeline.clone());
        }
        if let Some(execution) = &q.execution_id {
            query
                .push(" AND execution_id = ")
                .push_bind(execution.clone());
        }
        if let Some(from) = q.from {
            query.push(" AND max_date >= ").push_bind(from);
        }
        if let Some(to) = q.to {
            query.push(" AND min_date <= ").push_bind(to);
        }
        query.push(" ORDER BY id");
        // Latest values only, unless every version is asked for (history, or the versions an
        // execution wrote).
        let latest_only = !q.history && q.execution_id.is_none();
        let row_filters = q.activity_id.is_some() || q.keys.iter().any(Option::is_some);
        let mut skip = q.offset;
        let limit = q.limit.unwrap_or(u64::MAX);
        let mut records = Vec::new();
        let segments = query
            .build_query_as::<SegmentRow>()
            .fetch_all(&self.read)
            .await?;
        for part in segments {
            if records.len() as u64 >= limit {
                break;
            }
            let bits = part.superseded.as_deref().filter(|_| latest_only);
            // A segment wholly before the offset is skipped without reading its rows.
            let within_dates = q.from.is_none_or(|f| part.min_date >= f)
                && q.to.is_none_or(|t| part.max_date <= t);
            if skip > 0 && within_dates && !row_filters {
                let superseded: u64 = bits
                    .map(|b| b.iter().map(|byte| u64::from(byte.count_ones())).sum())
                    .unwrap_or(0);
                let live = part.row_count as u64 - superseded;
                if live <= skip {
                    skip -= live;
                    continue;
                }
            }
            let data: Vec<u8> =
                sqlx::query_scalar("SELECT data FROM activity_segment_rows WHERE segment_id = $1")
                    .bind(part.id)
                    .fetch_one(&self.read)
                    .await?;
            let decoded = Decoded::new(&data)?;
            decoded.rows(|n, row| {
                if segment::is_set(bits, n) || !selected(q, &row) || records.len() as u64 >= limit {
                    return Ok(());
                }
                if skip > 0 {
                    skip -= 1;
                    return Ok(());
                }
                let [key1, key2, key3, key4, key5] = row.keys.map(str::to_owned);
                records.push(ActivityRecord {
                    activity_id: row.id,
                    pipeline_id: part.pipeline_id.clone(),
                    group_id: part.group_id.clone(),
                    date: row.date,
                    key1,
                    key2,
                    key3,
                    key4,
                    key5,
                    version_id: segment::version(part.id, n),
                    execution_id: part.execution_id.clone(),
                    created_at: part.created_at,
                    row_number: row.row,
                    vals: values_object(decoded.outputs(), &row.values),
                    errors: row.errors.map(str::to_owned),
                });
                Ok(())
            })?;
        }
        Ok(records)
    }

    async fn scan_latest(
        &self,
        pipeline_id: &str,
        kind: ActivityKind,
        outputs: &[String],
        visit: &mut (dyn for<'a> FnMut(ScannedActivity<'a>) + Send),
    ) -> Result<()> {
        use futures_util::TryStreamExt;

        let mut segments = sqlx::query_as::<DB, ScannedSegment>(
            "SELECT s.group_id, s.superseded, r.data FROM activity_segments s \
             JOIN activity_segment_rows r ON r.segment_id = s.id \
             WHERE s.committed = 1 AND s.pipeline_id = $1 AND s.kind = $2 ORDER BY s.id",
        )
        .bind(pipeline_id.to_owned())
        .bind(kind as i64)
        .fetch(&self.read);
        let mut values: Vec<Option<&str>> = Vec::with_capacity(outputs.len());
        while let Some(part) = segments.try_next().await? {
            let decoded = Decoded::new(&part.data)?;
            // The segment's position of each requested output (pipeline versions differ).
            let positions: Vec<Option<usize>> = outputs
                .iter()
                .map(|o| decoded.outputs().iter().position(|k| k == o))
                .collect();
            let bits = part.superseded.as_deref();
            decoded.rows(|n, row| {
                if segment::is_set(bits, n) {
                    return Ok(());
                }
                let mut values = std::mem::take(&mut values);
                values.clear();
                values.extend(positions.iter().map(|p| p.and_then(|p| row.values[p])));
                visit(ScannedActivity {
                    group: &part.group_id,
                    date: row.date,
                    values: &values,
                });
                Ok(())
            })?;
        }
        Ok(())
    }

    async fn audit_block(&self, execution_id: &str, row: i64) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar(
            "SELECT records FROM execution_audits WHERE execution_id = $1 \
             AND first_row <= $2 AND last_row >= $2",
        )
        .bind(execution_id.to_owned())
        .bind(row)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn audit_blocks(
        &self,
        execution_id: &str,
        sequence: i64,
        count: usize,
    ) -> Result<Vec<AuditBlock>> {
        let rows = sqlx::query_as::<DB, AuditRow>(
            "SELECT sequence, first_row, last_row, records FROM execution_audits \
             WHERE execution_id = $1 AND sequence >= $2 ORDER BY sequence LIMIT $3",
        )
        .bind(execution_id.to_owned())
        .bind(sequence)
        .bind(i64::try_from(count).unwrap_or(i64::MAX))
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditBlock {
                sequence: r.sequence,
                first_row: r.first_row,
                last_row: r.last_row,
                records: r.records,
            })
            .collect())
    }

    async fn replace_metric_values(
        &self,
        names: &[String],
        rows: &[MetricValueRecord],
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for name in names {
            sqlx::query("DELETE FROM metric_values WHERE name = $1")
                .bind(name.clone())
                .execute(&mut *tx)
                .await?;
        }
        for batch in rows.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<DB>::new(
                "INSERT INTO metric_values (name, time_unit, group_id, date, group_value, \
                 sub_groups_value, created_at) ",
            );
            query.push_values(batch, |mut row, value| {
                row.push_bind(value.name.clone())
                    .push_bind(value.time_unit.clone())
                    .push_bind(value.group_id.clone())
                    .push_bind(value.date)
                    .push_bind(value.group_value.clone())
                    .push_bind(value.sub_groups_value.clone())
                    .push_bind(value.created_at.clone());
            });
            query.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn metric_values(
        &self,
        name: &str,
        time_unit: &str,
        scope: &MetricScope,
        from: i64,
        to: i64,
    ) -> Result<Vec<MetricValueRecord>> {
        let mut query = QueryBuilder::<DB>::new(
            "SELECT name, time_unit, group_id, date, group_value, sub_groups_value, created_at \
             FROM metric_values WHERE name = ",
        );
        query
            .push_bind(name.to_owned())
            .push(" AND time_unit = ")
            .push_bind(time_unit.to_owned())
            .push(" AND date >= ")
            .push_bind(from)
            .push(" AND date <= ")
            .push_bind(to);
        let parent = match scope {
            MetricScope::All => None,
            MetricScope::Group(group) => {
                query.push(" AND group_id = ").push_bind(group.clone());
                None
            }
            MetricScope::ChildrenOf(group) => {
                // Descendants sort between "<group>/" and "<group>0" ('0' follows '/').
                let base = group.trim_end_matches('/');
                query
                    .push(" AND group_id > ")
                    .push_bind(format!("{base}/"))
                    .push(" AND group_id < ")
                    .push_bind(format!("{base}0"));
                Some(format!("{base}/"))
            }
        };
        query.push(" ORDER BY group_id, date");
        let rows = query
            .build_query_as::<MetricValueRecord>()
            .fetch_all(&self.read)
            .await?;
        Ok(match parent {
            None => rows,
            // Immediate children only: nothing after the parent's prefix contains a '/'.
            Some(prefix) => rows
                .into_iter()
                .filter(|r| {
                    r.group_id
                        .strip_prefix(&prefix)
                        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
                })
                .collect(),
        })
    }

    async fn create_aggregation_job(&self, job: &AggregationJobRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO metric_aggregation_jobs (id, pipeline_id, status, group_context_id, body) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(job.id.clone())
        .bind(job.pipeline_id.clone())
        .bind(job.status.clone())
        .bind(job.group_context_id.clone())
        .bind(crate::rows::to_json(&job.body))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn aggregation_job(&self, id: &str) -> Result<Option<AggregationJobRecord>> {
        let mut query = QueryBuilder::<DB>::new(AGGREGATION_JOB_COLUMNS);
        query.push(" WHERE id = ").push_bind(id.to_owned());
        query
            .build_query_as::<AggregationJobRow>()
            .fetch_optional(&self.read)
            .await?
            .map(AggregationJobRow::record)
            .transpose()
    }

    async fn update_aggregation_job(
        &self,
        job: &AggregationJobRecord,
        status: &str,
    ) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE metric_aggregation_jobs SET pipeline_id = $2, status = $3, \
             group_context_id = $4, body = $5 WHERE id = $1 AND status = $6",
        )
        .bind(job.id.clone())
        .bind(job.pipeline_id.clone())
        .bind(job.status.clone())
        .bind(job.group_context_id.clone())
        .bind(crate::rows::to_json(&job.body))
        .bind(status.to_owned())
        .execute(&self.write)
        .await?;
        Ok(DB::affected(&updated) > 0)
    }

    async fn aggregation_jobs(&self, q: &AggregationJobQuery) -> Result<Vec<AggregationJobRecord>> {
        let mut query = QueryBuilder::<DB>::new(AGGREGATION_JOB_COLUMNS);
        query.push(" WHERE 1 = 1");
        if let Some(group) = &q.within {
            let (low, high) = group.descendant_bounds();
            query
                .push(" AND (group_context_id = ")
                .push_bind(group.as_str().to_owned())
                .push(" OR (group_context_id > ")
                .push_bind(low)
                .push(" AND group_context_id < ")
                .push_bind(high)
                .push("))");
        }
        if let Some(pipeline) = &q.pipeline_id {
            query
                .push(" AND pipeline_id = ")
                .push_bind(pipeline.clone());
        }
        if let Some(status) = &q.status {
            query.push(" AND status = ").push_bind(status.clone());
        }
        if let Some(after) = &q.after {
            query.push(" AND id > ").push_bind(after.clone());
        }
        query
            .push(" ORDER BY id LIMIT ")
            .push_bind(i64::try_from(q.count).unwrap_or(i64::MAX));
        query
            .build_query_as::<AggregationJobRow>()
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(AggregationJobRow::record)
            .collect()
    }

    async fn delete_aggregation_job(&self, id: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM metric_aggregation_jobs WHERE id = $1")
            .bind(id.to_owned())
            .execute(&self.write)
            .await?;
        Ok(DB::affected(&deleted) > 0)
    }
}
