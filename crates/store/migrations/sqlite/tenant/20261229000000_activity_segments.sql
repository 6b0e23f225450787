-- Activity versions move from a row per activity and per version to segments: compressed
-- blocks of up to a thousand versions of one group's activities written by one execution, and
-- an identity index of sorted blocks (activity number -> latest version). The storage format
-- changed before the first release; activities stored by earlier development builds are not
-- carried over (their executions can be run again).
DROP TABLE activity_versions;
DROP TABLE activities;

CREATE TABLE activity_segments (
    -- the order segments were written in: with a row's position, the version order
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id TEXT NOT NULL,
    -- 0 raw, 1 aggregated
    kind INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    -- epoch milliseconds
    created_at INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    -- the range of the rows' activity dates (epoch seconds)
    min_date INTEGER NOT NULL,
    max_date INTEGER NOT NULL,
    -- 1 once the execution committed its versions: until then no query sees them
    committed INTEGER NOT NULL,
    -- one bit per row that is no longer its activity's latest version
    superseded BLOB
);
CREATE INDEX activity_segments_by_group ON activity_segments (group_id, pipeline_id, kind, id);
CREATE INDEX activity_segments_by_pipeline ON activity_segments (pipeline_id, kind, id);
CREATE INDEX activity_segments_by_execution ON activity_segments (execution_id, kind);

-- A segment's rows, zstd-compressed (layout in the store's segment module); apart from the
-- segment's description so that committing and superseding rewrite small rows only.
CREATE TABLE activity_segment_rows (
    segment_id INTEGER NOT NULL PRIMARY KEY,
    data BLOB NOT NULL
);

-- The identity index: per pipeline, kind and block of activity numbers, the sorted entries
-- (activity number, latest version, check hash) of every activity stored.
CREATE TABLE activity_keys (
    pipeline_id TEXT NOT NULL,
    kind INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    entries BLOB NOT NULL,
    PRIMARY KEY (pipeline_id, kind, bucket)
);

-- Entries of versions an execution wrote and has not committed yet, by range of blocks.
CREATE TABLE activity_keys_pending (
    execution_id TEXT NOT NULL,
    pipeline_id TEXT NOT NULL,
    kind INTEGER NOT NULL,
    key_range INTEGER NOT NULL,
    entries BLOB NOT NULL
);
CREATE INDEX activity_keys_pending_by_range
    ON activity_keys_pending (execution_id, pipeline_id, kind, key_range);
