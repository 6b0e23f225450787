//! Metric aggregation jobs in the processor store: listed by group subtree, pipeline and status
//! in id order with pages, moved on only from the status the writer read, and deleted.

use serde_json::json;
use sifr_store::{AggregationJobQuery, AggregationJobRecord};

use crate::support::{backends, path, tenant};

fn job(id: &str, pipeline: &str, status: &str, group: &str) -> AggregationJobRecord {
    let body = json!({"id": id, "pipelineId": pipeline, "status": status, "groupContextId": group});
    AggregationJobRecord {
        id: id.into(),
        pipeline_id: pipeline.into(),
        status: status.into(),
        group_context_id: group.into(),
        body: body.as_object().cloned().unwrap_or_default(),
    }
}

fn query(within: Option<&str>) -> AggregationJobQuery {
    AggregationJobQuery {
        within: within.map(path),
        pipeline_id: None,
        status: None,
        after: None,
        count: usize::MAX,
    }
}

fn ids(jobs: &[AggregationJobRecord]) -> Vec<&str> {
    jobs.iter().map(|j| j.id.as_str()).collect()
}

#[tokio::test]
async fn aggregation_jobs_are_listed_moved_on_and_deleted() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        let store = tenant.processor();
        for record in [
            job("j1", "p1", "pending", "/a"),
            job("j2", "p1", "succeeded", "/a/b"),
            job("j3", "p2", "pending", "/ab"),
            job("j4", "p1", "pending", "/"),
        ] {
            store.create_aggregation_job(&record).await.expect("create");
        }

        // A group's subtree, not its look-alike sibling (/ab); the root holds every job.
        let under_a = store
            .aggregation_jobs(&query(Some("/a")))
            .await
            .expect("list");
        assert_eq!(ids(&under_a), ["j1", "j2"], "{name}");
        let all = store
            .aggregation_jobs(&query(Some("/")))
            .await
            .expect("list");
        assert_eq!(ids(&all), ["j1", "j2", "j3", "j4"], "{name}");
        let pending_p1 = store
            .aggregation_jobs(&AggregationJobQuery {
                pipeline_id: Some("p1".into()),
                status: Some("pending".into()),
                ..query(None)
            })
            .await
            .expect("list");
        assert_eq!(ids(&pending_p1), ["j1", "j4"], "{name}");
        let page = store
            .aggregation_jobs(&AggregationJobQuery {
                after: Some("j1".into()),
                count: 2,
                ..query(None)
            })
            .await
            .expect("list");
        assert_eq!(ids(&page), ["j2", "j3"], "{name}");

        // Starting a pending job succeeds once; the second writer finds it moved on.
        let running = job("j1", "p1", "running", "/a");
        assert!(
            store
                .update_aggregation_job(&running, "pending")
                .await
                .expect("update"),
            "{name}"
        );
        assert!(
            !store
                .update_aggregation_job(&running, "pending")
                .await
                .expect("update"),
            "{name}"
        );
        let stored = store
            .aggregation_job("j1")
            .await
            .expect("read")
            .expect("j1");
        assert_eq!(stored, running, "{name}");

        assert!(
            store.delete_aggregation_job("j1").await.expect("delete"),
            "{name}"
        );
        assert!(
            !store.delete_aggregation_job("j1").await.expect("delete"),
            "{name}"
        );
        assert_eq!(
            store.aggregation_job("j1").await.expect("read"),
            None,
            "{name}"
        );
        assert!(
            !store
                .update_aggregation_job(&running, "running")
                .await
                .expect("update"),
            "{name}: a deleted job is not written"
        );
        backend.finish().await;
    }
}
