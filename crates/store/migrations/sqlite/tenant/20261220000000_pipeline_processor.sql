-- The pipeline processor: executions, stored activities with their history, audit records and
-- metric values.

-- One record per execution; the JSON body is what the API returns, the columns what queries need.
CREATE TABLE executions (
    id TEXT NOT NULL PRIMARY KEY,
    pipeline_id TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX executions_by_pipeline ON executions (pipeline_id, id);
CREATE INDEX executions_by_status ON executions (status);

-- An activity's identity as SIF keys it: pipeline, group, date (epoch seconds), raw (0) or
-- aggregated (1), and the values of up to five unique-key outputs ('' when unused). The identity
-- index leads with the group and the keys: rows of one group with rising keys (bill numbers)
-- then land next to each other, so bulk writes touch few index pages; listings of a group's
-- activities use the same prefix.
CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    pipeline_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    date INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    key1 TEXT NOT NULL,
    key2 TEXT NOT NULL,
    key3 TEXT NOT NULL,
    key4 TEXT NOT NULL,
    key5 TEXT NOT NULL,
    -- the version written last (by the most recently processed execution)
    latest INTEGER
);
CREATE UNIQUE INDEX activities_identity
    ON activities (pipeline_id, kind, group_id, key1, key2, key3, key4, key5, date);

-- Every processing of an activity adds a version; nothing is updated in place.
CREATE TABLE activity_versions (
    id INTEGER PRIMARY KEY,
    activity_id INTEGER NOT NULL,
    execution_id TEXT NOT NULL,
    -- epoch milliseconds
    created_at INTEGER NOT NULL,
    -- the input row that produced it (0 for aggregates)
    row_number INTEGER NOT NULL,
    -- output key -> value (JSON object; numbers as exact decimal text, timestamps as epoch seconds)
    vals TEXT NOT NULL,
    -- output key -> error message, for outputs whose formula failed (JSON object)
    errors TEXT
);
CREATE INDEX activity_versions_by_activity ON activity_versions (activity_id, id);
CREATE INDEX activity_versions_by_execution ON activity_versions (execution_id, activity_id);

-- Audit records, compressed in blocks of consecutive input rows.
CREATE TABLE execution_audits (
    execution_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    first_row INTEGER NOT NULL,
    last_row INTEGER NOT NULL,
    records BLOB NOT NULL,
    PRIMARY KEY (execution_id, sequence)
);

-- Metric (KPI) values per group and period; `date` is the first day of the period (days since
-- 1970-01-01), values exact decimal text.
CREATE TABLE metric_values (
    name TEXT NOT NULL,
    time_unit TEXT NOT NULL,
    group_id TEXT NOT NULL,
    date INTEGER NOT NULL,
    group_value TEXT NOT NULL,
    sub_groups_value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (name, time_unit, group_id, date)
);
