-- Metric aggregation jobs: metric values computed again on request, or later for executions that
-- deferred them. The JSON body is what the API returns, the columns what queries need.
CREATE TABLE metric_aggregation_jobs (
    id TEXT NOT NULL PRIMARY KEY,
    pipeline_id TEXT NOT NULL,
    -- pending, running, succeeded or failed
    status TEXT NOT NULL,
    group_context_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX metric_aggregation_jobs_by_group ON metric_aggregation_jobs (group_context_id, id);
CREATE INDEX metric_aggregation_jobs_by_pipeline ON metric_aggregation_jobs (pipeline_id, status);
