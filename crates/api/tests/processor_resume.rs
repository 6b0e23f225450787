//! An execution interrupted after it committed its activities, before its aggregates and
//! metrics were stored, is finished when the server starts again: the metrics are computed from
//! the stored activities and the execution ends with the status its rows earned.

use sqlx::Connection;

use crate::processor::{BILLS, check_metrics, csv, per_mmbtu, run_job, walkthrough_pipeline};
use crate::support::{Options, TestServer, servers};
use crate::walkthrough::decimal;

/// Leaves the store as a stop after the commit leaves it: the execution `calculating_metrics`,
/// no metric value stored.
async fn interrupt_after_commit(server: &TestServer, execution: &str) {
    const STATEMENTS: [&str; 2] = [
        "UPDATE executions SET status = 'calculating_metrics', \
         body = replace(body, '\"status\":\"failed\"', '\"status\":\"calculating_metrics\"') \
         WHERE id = $1 AND status = 'failed'",
        "DELETE FROM metric_values WHERE $1 <> ''",
    ];
    match server.postgres() {
        None => {
            let path = server.data_dir().join("tenants").join("default.db");
            let url = format!("sqlite://{}", path.display());
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("open the tenant database");
            for statement in STATEMENTS {
                let done = sqlx::query(statement)
                    .bind(execution)
                    .execute(&mut conn)
                    .await
                    .expect("interrupt");
                assert!(done.rows_affected() > 0, "{statement}");
            }
        }
        Some((url, prefix)) => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .expect("connect to the test database");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SET search_path TO \"{prefix}_t_default\""
            )))
            .execute(&mut conn)
            .await
            .expect("the tenant's schema");
            for statement in STATEMENTS {
                let done = sqlx::query(statement)
                    .bind(execution)
                    .execute(&mut conn)
                    .await
                    .expect("interrupt");
                assert!(done.rows_affected() > 0, "{statement}");
            }
        }
    }
}

#[tokio::test]
async fn an_execution_stopped_after_its_commit_is_finished_at_restart() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        let pipeline_id = walkthrough_pipeline(&server, &root).await;
        // Four good bills and a bad one: the execution fails, its good rows are stored.
        let done = run_job(
            &server,
            &root,
            &pipeline_id,
            &csv(&BILLS),
            serde_json::json!({}),
        )
        .await;
        assert_eq!(done["status"], "failed", "{}: {done}", server.backend);
        let execution_id = done["id"].as_str().expect("an id").to_owned();

        let mut server = server;
        server.stop().await;
        interrupt_after_commit(&server, &execution_id).await;
        let server = server.restart().await;
        let root = server.admin_token().await;

        let path = format!("/pipelineProcessor/pipelines/{pipeline_id}/executions/{execution_id}");
        let mut finished = None;
        for _ in 0..2400 {
            let current = crate::processor::call(
                &server,
                &root,
                "/usa/company",
                reqwest::Method::GET,
                &path,
                None,
            )
            .await;
            if current["status"] != "calculating_metrics" {
                finished = Some(current);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let finished = finished.expect("the execution is finished after the restart");
        assert_eq!(
            finished["status"], "failed",
            "{}: {finished}",
            server.backend
        );
        assert_eq!(finished["statusMessage"], done["statusMessage"]);
        assert_eq!(finished["rows"], done["rows"]);

        let mmbtu = |m: &str| decimal(m) * per_mmbtu();
        let bills = [
            ("2023-01-15", mmbtu("100"), "/usa/company/sub"),
            ("2023-01-20", mmbtu("10"), "/usa/company"),
            ("2023-02-01", mmbtu("12.5"), "/usa/company/sub"),
            ("2023-03-03", mmbtu("0.4"), "/usa/company/sub2"),
        ];
        check_metrics(&server, &root, &bills).await;
        server.finish().await;
    }
}
