//! Metric aggregation jobs over HTTP: executions that defer their metrics leave one pending job
//! per pipeline (merged, its range widened), which `PATCH` starts; `POST` creates and starts a
//! job, or starts a pending one it merges into. The metric values a job leaves are checked
//! against figures worked out here from the input rows with decimal arithmetic.

use std::time::Duration;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::processor::{
    BILLS, METRIC, call, check_metrics, csv, metric_values, per_mmbtu, pipeline, run_job,
};
use crate::support::{Options, TestServer, servers};
use crate::walkthrough::{created, decimal, seed};

const JOBS: &str = "/pipelineProcessor/aggregations";

/// The jobs listed from `group`, with the query string `query`.
async fn jobs(server: &TestServer, token: &str, group: &str, query: &str) -> Value {
    call(
        server,
        token,
        group,
        Method::GET,
        &format!("{JOBS}?{query}"),
        None,
    )
    .await
}

/// Waits until job `id` is no longer running, and returns it.
async fn finished(server: &TestServer, token: &str, pipeline: &str, id: &str) -> Value {
    for _ in 0..400 {
        let listed = jobs(server, token, "/usa", &format!("pipelineId={pipeline}")).await;
        let job = listed["jobs"]
            .as_array()
            .and_then(|jobs| jobs.iter().find(|j| j["id"] == id))
            .unwrap_or_else(|| panic!("{}: job {id} is not listed: {listed}", server.backend))
            .clone();
        if job["status"] != "running" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{}: job {id} did not finish", server.backend);
}

#[tokio::test]
async fn deferred_metrics_are_computed_by_aggregation_jobs() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        seed(&server, &root).await;
        server.group(&root, "/usa/company/sub2").await;
        server
            .user(
                &root,
                "contributor@example.com",
                "/usa/company",
                "contributor",
                Some("contributor-pass1"),
            )
            .await;
        let contributor = server
            .login("contributor@example.com", "contributor-pass1")
            .await;
        let pipeline = created(
            &server,
            &root,
            "/usa/company",
            "/pipelines/pipelines",
            pipeline(),
        )
        .await;
        let pipeline_id = pipeline["id"].as_str().expect("an id").to_owned();
        let deferred = json!({"triggerMetricAggregations": false});
        let mmbtu = |m: &str| decimal(m) * per_mmbtu();

        // Two bills (in /usa/company/sub and /usa/company), metrics deferred: none computed.
        let done = run_job(
            &server,
            &root,
            &pipeline_id,
            &csv(&BILLS[..2]),
            deferred.clone(),
        )
        .await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);
        assert_eq!(done["triggerMetricAggregations"], false);
        assert!(
            metric_values(&server, &root, "/usa", "day", false)
                .await
                .is_empty()
        );
        check_metrics(&server, &root, &[]).await;
        let listed = jobs(&server, &root, "/usa/company", "").await;
        let all = listed["jobs"].as_array().expect("jobs");
        assert_eq!(all.len(), 1, "{}: {listed}", server.backend);
        let job = &all[0];
        let job_id = job["id"].as_str().expect("an id").to_owned();
        assert_eq!(job["status"], "pending");
        assert_eq!(job["pipelineId"], pipeline_id.as_str());
        assert_eq!(job["groupContextId"], "/usa/company");
        assert_eq!(job["createdBy"], "root@example.com");
        assert_eq!(
            job["timeRange"],
            json!({"from": "2023-01-15T00:00:00.000Z", "to": "2023-01-20T00:00:00.000Z"})
        );
        // /usa/company holds /usa/company/sub: the sub-group is the leaf.
        assert_eq!(
            job["groupsQueue"],
            json!([{"order": 1, "group": "/usa/company/sub"}])
        );
        assert_eq!(job["metricQueue"], json!([{"order": 1, "metric": METRIC}]));

        // A second deferring execution merges into the pending job, widening its range.
        let done = run_job(
            &server,
            &root,
            &pipeline_id,
            &csv(&BILLS[2..4]),
            deferred.clone(),
        )
        .await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);
        check_metrics(&server, &root, &[]).await;
        let listed = jobs(&server, &root, "/usa/company", "").await;
        let all = listed["jobs"].as_array().expect("jobs");
        assert_eq!(all.len(), 1, "{}: {listed}", server.backend);
        assert_eq!(all[0]["id"], job_id.as_str());
        assert_eq!(all[0]["status"], "pending");
        assert_eq!(
            all[0]["timeRange"],
            json!({"from": "2023-01-15T00:00:00.000Z", "to": "2023-03-03T00:00:00.000Z"})
        );
        assert_eq!(
            all[0]["groupsQueue"],
            json!([
                {"order": 1, "group": "/usa/company/sub"},
                {"order": 2, "group": "/usa/company/sub2"}
            ])
        );

        // A group below the job's does not see it; one above does.
        let below = jobs(&server, &root, "/usa/company/sub", "").await;
        assert_eq!(below["jobs"], json!([]), "{below}");
        let above = jobs(&server, &root, "/usa", &format!("pipelineId={pipeline_id}")).await;
        assert_eq!(above["jobs"].as_array().map(Vec::len), Some(1), "{above}");

        // PATCH starts it (a contributor may); its run computes every metric value.
        let started = call(
            &server,
            &contributor,
            "/usa/company",
            Method::PATCH,
            &format!("{JOBS}/{job_id}"),
            Some(json!({"to": "2023-03-31"})),
        )
        .await;
        assert_eq!(started["status"], "running", "{started}");
        assert_eq!(started["timeRange"]["to"], "2023-03-31T00:00:00.000Z");
        let job = finished(&server, &root, &pipeline_id, &job_id).await;
        assert_eq!(job["status"], "succeeded", "{}: {job}", server.backend);
        let mut bills: Vec<(&str, Decimal, &str)> = vec![
            ("2023-01-15", mmbtu("100"), "/usa/company/sub"),
            ("2023-01-20", mmbtu("10"), "/usa/company"),
            ("2023-02-01", mmbtu("12.5"), "/usa/company/sub"),
            ("2023-03-03", mmbtu("0.4"), "/usa/company/sub2"),
        ];
        check_metrics(&server, &root, &bills).await;

        // Only pending jobs can be started.
        let again = server
            .call(
                Method::PATCH,
                &format!("{JOBS}/{job_id}"),
                &root,
                Some("/usa/company"),
                Some(json!({})),
            )
            .await;
        assert_eq!(again.status, 400, "{}", again.body);
        assert_eq!(
            again.message(),
            "Metric aggregation job cannot be found or status is not in pending state"
        );

        // POST refuses a range that ends before it starts.
        let inverted = server
            .call(
                Method::POST,
                JOBS,
                &root,
                Some("/usa/company"),
                Some(json!({"pipelineId": pipeline_id,
                    "timeRange": {"from": "2023-02-01", "to": "2023-01-01"}})),
            )
            .await;
        assert_eq!(inverted.status, 400, "{}", inverted.body);
        assert_eq!(inverted.message(), "time range is invalid");

        // POST creates a job and starts it: nothing is pending, so a new one (201).
        let posted = created(
            &server,
            &contributor,
            "/usa/company",
            JOBS,
            json!({"pipelineId": pipeline_id,
                "timeRange": {"from": "2023-01-01T00:00:00Z", "to": "2023-12-31T00:00:00Z"}}),
        )
        .await;
        assert_eq!(posted["status"], "running", "{posted}");
        assert_eq!(posted["createdBy"], "contributor@example.com");
        let posted_id = posted["id"].as_str().expect("an id").to_owned();
        assert_ne!(posted_id, job_id);
        let job = finished(&server, &root, &pipeline_id, &posted_id).await;
        assert_eq!(job["status"], "succeeded", "{}: {job}", server.backend);
        check_metrics(&server, &root, &bills).await;

        // An inline execution defers too: a new pending job in /usa/company; a POST from
        // /usa/company/sub overlaps it, starts it (200) and widens its range.
        let inline = created(
            &server,
            &root,
            "/usa/company",
            &format!("/pipelineProcessor/pipelines/{pipeline_id}/executions"),
            json!({"mode": "inline", "triggerMetricAggregations": false,
                "inlineExecutionOptions": {"inputs": [
                {"date": "5/5/2023", "fuel": "Natural Gas", "energy (mmBtu)": "2", "site": "/usa/company/sub", "meter": "m9"}
            ]}}),
        )
        .await;
        assert_eq!(inline["status"], "success", "{inline}");
        check_metrics(&server, &root, &bills).await;
        let pending = jobs(&server, &root, "/usa", "").await;
        let pending: Vec<&Value> = pending["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .filter(|j| j["status"] == "pending")
            .collect();
        assert_eq!(pending.len(), 1, "{}: {pending:?}", server.backend);
        let pending_id = pending[0]["id"].as_str().expect("an id").to_owned();
        let merged = server
            .call(
                Method::POST,
                JOBS,
                &root,
                Some("/usa/company/sub"),
                Some(json!({"pipelineId": pipeline_id,
                    "timeRange": {"from": "2023-04-01", "to": "2023-06-30"}})),
            )
            .await;
        assert_eq!(merged.status, 200, "{}: {}", server.backend, merged.body);
        assert_eq!(merged.body["id"], pending_id.as_str());
        assert_eq!(merged.body["status"], "running");
        assert_eq!(merged.body["groupContextId"], "/usa/company");
        assert_eq!(
            merged.body["timeRange"],
            json!({"from": "2023-04-01T00:00:00.000Z", "to": "2023-06-30T00:00:00.000Z"})
        );
        let job = finished(&server, &root, &pipeline_id, &pending_id).await;
        assert_eq!(job["status"], "succeeded", "{}: {job}", server.backend);
        bills.push(("2023-05-05", mmbtu("2"), "/usa/company/sub"));
        check_metrics(&server, &root, &bills).await;

        // Pages of one job, oldest first.
        let first = jobs(&server, &root, "/usa/company", "count=1").await;
        assert_eq!(first["jobs"][0]["id"], job_id.as_str(), "{first}");
        let token = first["pagination"]["lastEvaluatedToken"]
            .as_str()
            .expect("a next page");
        let second = jobs(
            &server,
            &root,
            "/usa/company",
            &format!("count=1&fromToken={token}"),
        )
        .await;
        assert_eq!(second["jobs"][0]["id"], posted_id.as_str(), "{second}");

        // Only an admin deletes a job.
        let path = format!("{JOBS}/{job_id}");
        let refused = server
            .call(
                Method::DELETE,
                &path,
                &contributor,
                Some("/usa/company"),
                None,
            )
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let deleted = server
            .call(Method::DELETE, &path, &root, Some("/usa/company"), None)
            .await;
        assert_eq!(deleted.status, 204, "{}", deleted.body);
        let gone = server
            .call(Method::DELETE, &path, &root, Some("/usa/company"), None)
            .await;
        assert_eq!(gone.status, 404, "{}", gone.body);
        let left = jobs(&server, &root, "/usa", "").await;
        assert_eq!(left["jobs"].as_array().map(Vec::len), Some(2), "{left}");
        server.finish().await;
    }
}
