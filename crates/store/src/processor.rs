//! The pipeline processor's data: executions, activities with every version written to them,
//! audit records and metric values.
//!
//! An activity is identified as SIF identifies it (pipeline, group, date, raw or aggregated,
//! up to five unique-key values). Each processing appends a version holding all the row's
//! outputs as one JSON object, and moves the activity's `latest` pointer to it: one row per
//! activity and one per version, rather than a row per value, keeps bulk writes and scans fast.
//! A chunk of activities is written in one transaction from one JSON document staged by the
//! caller, so a chunk is stored whole or not at all.

use async_trait::async_trait;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type,
};

use sifr_domain::GroupPath;

use crate::Result;
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

/// One chunk of activity versions to store.
#[derive(Clone, Debug)]
pub struct ActivityChunk {
    pub pipeline_id: String,
    pub execution_id: String,
    pub kind: ActivityKind,
    /// When the versions were written (epoch milliseconds).
    pub created_at: i64,
    /// The versions, in input order.
    pub versions: Vec<NewVersion>,
    /// Their audit records.
    pub audits: Vec<AuditBlock>,
}

/// A version of an activity: its identity and its values.
#[derive(Clone, Debug, Default)]
pub struct NewVersion {
    pub group: String,
    /// Epoch seconds.
    pub date: i64,
    /// Unique-key values (`""` when unused).
    pub keys: [String; 5],
    /// The input row (0 for aggregates).
    pub row: i64,
    /// Output key → value text (JSON object; values JSON strings).
    pub values: String,
    /// Output key → error message (JSON object), when a formula failed.
    pub errors: Option<String>,
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
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
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
    pub values: &'a [Option<String>],
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

    /// Stores a chunk in one transaction; returns how many activities it created.
    async fn write_activities(&self, chunk: &ActivityChunk) -> Result<u64>;
    /// Removes everything an execution wrote (versions and audit records), pointing each
    /// activity back at its previous version and removing activities left without one.
    async fn discard_execution(&self, execution_id: &str) -> Result<()>;
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

/// What the two backends write differently.
pub(crate) trait Staging: Database {
    /// Rows a statement changed.
    fn affected(result: &Self::QueryResult) -> u64;
    /// Adds the staged versions in input order. `$1` pipeline, `$2` kind, `$3` execution,
    /// `$4` created at. Each staged row finds its activity through the identity index: the
    /// planners, knowing nothing of the staging table, would otherwise scan all activities
    /// (SQLite is told with a CROSS JOIN, which fixes the loop order; PostgreSQL with a
    /// LATERAL look-up).
    const INSERT_VERSIONS: &'static str;
}

impl Staging for sqlx::Sqlite {
    fn affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    const INSERT_VERSIONS: &'static str = "INSERT INTO activity_versions \
         (activity_id, execution_id, created_at, row_number, vals, errors) \
         SELECT a.id, $3, $4, s.row_number, s.vals, s.errors \
         FROM stage AS s CROSS JOIN activities a WHERE a.pipeline_id = $1 AND a.kind = $2 \
         AND a.group_id = s.group_id AND a.date = s.date AND a.key1 = s.key1 \
         AND a.key2 = s.key2 AND a.key3 = s.key3 AND a.key4 = s.key4 AND a.key5 = s.key5 \
         ORDER BY s.seq";
}

impl Staging for sqlx::Postgres {
    fn affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    const INSERT_VERSIONS: &'static str = "INSERT INTO activity_versions \
         (activity_id, execution_id, created_at, row_number, vals, errors) \
         SELECT a.id, $3, $4, s.row_number, s.vals::jsonb, s.errors::jsonb \
         FROM stage AS s CROSS JOIN LATERAL (SELECT id FROM activities \
         WHERE pipeline_id = $1 AND kind = $2 AND group_id = s.group_id AND date = s.date \
         AND key1 = s.key1 AND key2 = s.key2 AND key3 = s.key3 AND key4 = s.key4 \
         AND key5 = s.key5 LIMIT 1) AS a ORDER BY s.seq";
}

/// The staging table a chunk is loaded into (per connection, emptied for each chunk).
const CREATE_STAGE: &str = "CREATE TEMPORARY TABLE IF NOT EXISTS stage (seq BIGINT NOT NULL, \
     group_id TEXT NOT NULL, date BIGINT NOT NULL, key1 TEXT NOT NULL, key2 TEXT NOT NULL, \
     key3 TEXT NOT NULL, key4 TEXT NOT NULL, key5 TEXT NOT NULL, row_number BIGINT NOT NULL, \
     vals TEXT NOT NULL, errors TEXT)";

/// Staged rows per statement (11 parameters each, within both backends' limits).
const STAGED_ROWS_PER_STATEMENT: usize = 2500;

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

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    sequence: i64,
    first_row: i64,
    last_row: i64,
    records: Vec<u8>,
}

const ACTIVITY_COLUMNS: &str = "a.id AS activity_id, a.pipeline_id, a.group_id, a.date, \
     a.key1, a.key2, a.key3, a.key4, a.key5, v.id AS version_id, v.execution_id, v.created_at, \
     v.row_number, CAST(v.vals AS TEXT) AS vals, CAST(v.errors AS TEXT) AS errors";

/// Rows per statement when inserting metric values (7 parameters each).
const METRIC_ROWS_PER_STATEMENT: usize = 1000;

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
    for<'r> ActivityRecord: FromRow<'r, DB::Row>,
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

    async fn write_activities(&self, chunk: &ActivityChunk) -> Result<u64> {
        let kind = chunk.kind as i64;
        let mut tx = self.write.begin().await?;
        sqlx::query(CREATE_STAGE).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM stage").execute(&mut *tx).await?;
        for (n, batch) in chunk.versions.chunks(STAGED_ROWS_PER_STATEMENT).enumerate() {
            let first = n * STAGED_ROWS_PER_STATEMENT;
            let mut query = QueryBuilder::<DB>::new(
                "INSERT INTO stage (seq, group_id, date, key1, key2, key3, key4, key5, \
                 row_number, vals, errors) ",
            );
            query.push_values(batch.iter().enumerate(), |mut row, (i, version)| {
                row.push_bind(i64::try_from(first + i).unwrap_or(i64::MAX))
                    .push_bind(version.group.as_str())
                    .push_bind(version.date);
                for key in &version.keys {
                    row.push_bind(key.as_str());
                }
                row.push_bind(version.row)
                    .push_bind(version.values.as_str())
                    .push_bind(version.errors.as_deref());
            });
            query.build().execute(&mut *tx).await?;
        }
        let before: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM activity_versions")
            .fetch_one(&mut *tx)
            .await?;
        let created = sqlx::query(
            "INSERT INTO activities \
             (pipeline_id, group_id, date, kind, key1, key2, key3, key4, key5) \
             SELECT $1, group_id, date, $2, key1, key2, key3, key4, key5 FROM stage \
             WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(chunk.pipeline_id.as_str())
        .bind(kind)
        .execute(&mut *tx)
        .await?;
        let created = DB::affected(&created);
        sqlx::query(DB::INSERT_VERSIONS)
            .bind(chunk.pipeline_id.as_str())
            .bind(kind)
            .bind(chunk.execution_id.as_str())
            .bind(chunk.created_at)
            .execute(&mut *tx)
            .await?;
        // The chunk's versions are the ids above `before` (a range of the primary key).
        sqlx::query(
            "UPDATE activities SET latest = (SELECT max(v.id) FROM activity_versions v \
             WHERE v.activity_id = activities.id) \
             WHERE id IN (SELECT activity_id FROM activity_versions WHERE id > $1)",
        )
        .bind(before.unwrap_or(0))
        .execute(&mut *tx)
        .await?;
        for audit in &chunk.audits {
            sqlx::query(
                "INSERT INTO execution_audits (execution_id, sequence, first_row, last_row, records) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(chunk.execution_id.clone())
            .bind(audit.sequence)
            .bind(audit.first_row)
            .bind(audit.last_row)
            .bind(audit.records.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn discard_execution(&self, execution_id: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "CREATE TEMPORARY TABLE IF NOT EXISTS discarded_activities (id BIGINT PRIMARY KEY)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM discarded_activities")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO discarded_activities (id) SELECT DISTINCT activity_id \
             FROM activity_versions WHERE execution_id = $1",
        )
        .bind(execution_id.to_owned())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM activity_versions WHERE execution_id = $1")
            .bind(execution_id.to_owned())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE activities SET latest = (SELECT max(v.id) FROM activity_versions v \
             WHERE v.activity_id = activities.id) \
             WHERE id IN (SELECT id FROM discarded_activities)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM activities WHERE latest IS NULL \
             AND id IN (SELECT id FROM discarded_activities)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM execution_audits WHERE execution_id = $1")
            .bind(execution_id.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_aggregates(&self, pipeline_id: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "DELETE FROM activity_versions WHERE activity_id IN \
             (SELECT id FROM activities WHERE pipeline_id = $1 AND kind = $2)",
        )
        .bind(pipeline_id.to_owned())
        .bind(ActivityKind::Aggregated as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM activities WHERE pipeline_id = $1 AND kind = $2")
            .bind(pipeline_id.to_owned())
            .bind(ActivityKind::Aggregated as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn activities(&self, q: &ActivityQuery) -> Result<Vec<ActivityRecord>> {
        let mut query = QueryBuilder::<DB>::new("SELECT ");
        query.push(ACTIVITY_COLUMNS);
        query.push(" FROM activities a JOIN activity_versions v ON ");
        if q.history || q.execution_id.is_some() {
            query.push("v.activity_id = a.id");
        } else {
            query.push("v.id = a.latest");
        }
        query
            .push(" WHERE a.group_id = ")
            .push_bind(q.group.clone());
        query
            .push(" AND a.kind = ")
            .push_bind(if q.aggregated { 1i64 } else { 0 });
        if let Some(id) = q.activity_id {
            query.push(" AND a.id = ").push_bind(id);
        }
        if let Some(pipeline) = &q.pipeline_id {
            query
                .push(" AND a.pipeline_id = ")
                .push_bind(pipeline.clone());
        }
        if let Some(execution) = &q.execution_id {
            query
                .push(" AND v.execution_id = ")
                .push_bind(execution.clone());
        }
        if let Some(from) = q.from {
            query.push(" AND a.date >= ").push_bind(from);
        }
        if let Some(to) = q.to {
            query.push(" AND a.date <= ").push_bind(to);
        }
        for (n, key) in q.keys.iter().enumerate() {
            if let Some(value) = key {
                query
                    .push(format_args!(" AND a.key{} = ", n + 1))
                    .push_bind(value.clone());
            }
        }
        query.push(if q.history {
            " ORDER BY a.id, v.id"
        } else {
            " ORDER BY a.date, a.id, v.id"
        });
        if let Some(limit) = q.limit {
            query
                .push(" LIMIT ")
                .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        if q.offset > 0 {
            if q.limit.is_none() {
                query.push(" LIMIT ").push_bind(i64::MAX);
            }
            query
                .push(" OFFSET ")
                .push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
        }
        Ok(query
            .build_query_as::<ActivityRecord>()
            .fetch_all(&self.read)
            .await?)
    }

    async fn scan_latest(
        &self,
        pipeline_id: &str,
        kind: ActivityKind,
        outputs: &[String],
        visit: &mut (dyn for<'a> FnMut(ScannedActivity<'a>) + Send),
    ) -> Result<()> {
        use futures_util::TryStreamExt;
        use sqlx::Row;

        let mut query = QueryBuilder::<DB>::new("SELECT a.group_id, a.date");
        for output in outputs {
            query
                .push(", CAST(v.vals ->> ")
                .push_bind(output.clone())
                .push(" AS TEXT)");
        }
        query
            .push(" FROM activities a JOIN activity_versions v ON v.id = a.latest WHERE a.pipeline_id = ")
            .push_bind(pipeline_id.to_owned())
            .push(" AND a.kind = ")
            .push_bind(kind as i64);
        let mut rows = query.build().fetch(&self.read);
        let mut values: Vec<Option<String>> = Vec::with_capacity(outputs.len());
        while let Some(row) = rows.try_next().await? {
            let group: String = row.try_get(0)?;
            let date: i64 = row.try_get(1)?;
            values.clear();
            for i in 0..outputs.len() {
                values.push(row.try_get(i + 2)?);
            }
            visit(ScannedActivity {
                group: &group,
                date,
                values: &values,
            });
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
        for batch in rows.chunks(METRIC_ROWS_PER_STATEMENT) {
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
