//! CSV downloads over HTTP: activity and metric downloads hold the rows `/activities` and
//! `/metrics` answer for the same query, value for value; a download belongs to the group it
//! was asked from; an execution's audit export has one row per stored activity version, with
//! the results the activities hold.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::processor::{BILLS, METRIC, call, csv, per_mmbtu, run_job, walkthrough_pipeline};
use crate::support::{Options, TestServer, servers};
use crate::walkthrough::{created, decimal};

const READER: &str = "download-reader@example.com";
const READER_PASSWORD: &str = "reader-pass1";

/// A CSV file: its header and rows.
type Csv = (Vec<String>, Vec<Vec<String>>);

fn parse(text: &str) -> Csv {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a CSV row").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

async fn fetch(server: &TestServer, url: &str) -> String {
    let response = server.client.get(url).send().await.expect("download");
    assert_eq!(response.status(), 200, "{}: GET {url}", server.backend);
    response.text().await.expect("text")
}

/// Starts a download of `kind` (`activities` or `metrics`) and waits for its file.
async fn download(server: &TestServer, token: &str, group: &str, kind: &str, query: &str) -> Csv {
    let path = format!("/pipelineProcessor/{kind}/download");
    let started = server
        .call(
            Method::POST,
            &format!("{path}?{query}"),
            token,
            Some(group),
            None,
        )
        .await;
    assert_eq!(
        started.status, 202,
        "{}: POST {path}?{query}: {}",
        server.backend, started.body
    );
    let id = started.body["id"].as_str().expect("an id");
    for _ in 0..2400 {
        let status = call(
            server,
            token,
            group,
            Method::GET,
            &format!("{path}/{id}"),
            None,
        )
        .await;
        let downloads = status["downloads"].as_array().expect("downloads");
        if let Some(link) = downloads.first() {
            assert_eq!(downloads.len(), 1, "{status}");
            let url = link["url"].as_str().expect("a url");
            return parse(&fetch(server, url).await);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{}: download {id} did not finish", server.backend);
}

/// The CSV holds exactly the rows `listed`, in order, with the same columns, and each cell
/// shows its value exactly: numbers with the same digits, null as an empty cell.
fn same_rows(backend: &str, (header, rows): &Csv, listed: &[Value]) {
    assert!(!listed.is_empty(), "{backend}: nothing to compare");
    assert_eq!(rows.len(), listed.len(), "{backend}: {rows:?}");
    for (row, expected) in rows.iter().zip(listed) {
        let expected = expected.as_object().expect("an object");
        let columns: Vec<&String> = expected.keys().collect();
        assert_eq!(
            header.iter().collect::<Vec<_>>(),
            columns,
            "{backend}: the columns of the listing"
        );
        for (cell, (column, value)) in row.iter().zip(expected) {
            let shown = match value {
                Value::Null => String::new(),
                Value::String(text) => text.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => panic!("{backend}: {column} is {other}"),
            };
            assert_eq!(cell, &shown, "{backend}: {column} of {expected:?}");
        }
    }
}

/// A CSV row by column name.
fn by_column<'a>(header: &'a [String], row: &'a [String]) -> BTreeMap<&'a str, &'a str> {
    header
        .iter()
        .map(String::as_str)
        .zip(row.iter().map(String::as_str))
        .collect()
}

async fn listed(
    server: &TestServer,
    token: &str,
    group: &str,
    path: &str,
    key: &str,
) -> Vec<Value> {
    let body = call(server, token, group, Method::GET, path, None).await;
    body[key].as_array().expect("a list").clone()
}

#[tokio::test]
async fn activity_and_metric_downloads_hold_what_the_listings_show() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        let pipeline_id = walkthrough_pipeline(&server, &root).await;
        let first = run_job(&server, &root, &pipeline_id, &csv(&BILLS), json!({})).await;
        let first = first["id"].as_str().expect("an id").to_owned();
        let fix = [("1/15/2023", "Natural Gas", "200", "/usa/company/sub", "m1")];
        let done = run_job(&server, &root, &pipeline_id, &csv(&fix), json!({})).await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);

        let sub = "/usa/company/sub";
        for query in [
            format!("pipelineId={pipeline_id}&dateFrom=2023-01-01&dateTo=2023-12-31"),
            format!(
                "pipelineId={pipeline_id}&date=2023-01-15&showHistory=true&uniqueKeyAttributes=meter:m1"
            ),
            format!("executionId={first}"),
            format!(
                "pipelineId={pipeline_id}&dateFrom=2023-01-01&dateTo=2023-12-31&showAggregate=true"
            ),
        ] {
            let file = download(&server, &root, sub, "activities", &query).await;
            let path = format!("/pipelineProcessor/activities?{query}&count=1000");
            let activities = listed(&server, &root, sub, &path, "activities").await;
            same_rows(server.backend, &file, &activities);
        }
        // The latest value of meter m1's January bill is the re-processed one, to the digit.
        let (header, rows) = download(
            &server,
            &root,
            sub,
            "activities",
            &format!("pipelineId={pipeline_id}&date=2023-01-15"),
        )
        .await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            decimal(by_column(&header, &rows[0])["co2e"]),
            (decimal("200") * per_mmbtu()).normalize()
        );

        // A reader of the group may download; the download is the group's only.
        server
            .user(&root, READER, sub, "reader", Some(READER_PASSWORD))
            .await;
        let reader = server.login(READER, READER_PASSWORD).await;
        let query = format!("pipelineId={pipeline_id}&dateFrom=2023-01-01&dateTo=2023-12-31");
        let (_, rows) = download(&server, &reader, sub, "activities", &query).await;
        assert_eq!(rows.len(), 2, "{}: {rows:?}", server.backend);
        let started = server
            .call(
                Method::POST,
                &format!("/pipelineProcessor/activities/download?{query}"),
                &root,
                Some(sub),
                None,
            )
            .await;
        let id = started.body["id"].as_str().expect("an id");
        for (group, path) in [
            ("/usa/company", format!("activities/download/{id}")),
            (sub, format!("metrics/download/{id}")),
            (
                sub,
                "activities/download/01jbadbadbadbadbadbadbadbad".to_owned(),
            ),
            (sub, "activities/download/not-an-id".to_owned()),
        ] {
            let reply = server
                .call(
                    Method::GET,
                    &format!("/pipelineProcessor/{path}"),
                    &root,
                    Some(group),
                    None,
                )
                .await;
            assert_eq!(reply.status, 404, "{}: {path} in {group}", server.backend);
            assert!(reply.message().contains("not found"), "{}", reply.body);
        }
        let missing = server
            .call(
                Method::POST,
                "/pipelineProcessor/activities/download?dateFrom=2023-01-01",
                &root,
                Some(sub),
                None,
            )
            .await;
        assert_eq!(missing.status, 400);
        assert_eq!(
            missing.message(),
            "querystring must have required property 'pipelineId' or 'executionId'"
        );

        // Metric values: the group's own per day and month, and its sub-groups'.
        for query in [
            "timeUnit=day&dateFrom=2022-12-01&dateTo=2023-12-31",
            "timeUnit=month&dateFrom=2022-12-01&dateTo=2023-12-31",
            "timeUnit=day&dateFrom=2022-12-01&dateTo=2023-12-31&members=true",
            "timeUnit=year&dateFrom=2000-01-01&dateTo=2030-12-31&members=true",
        ] {
            let query = format!("name={METRIC}&{query}");
            let file = download(&server, &root, "/usa/company", "metrics", &query).await;
            let path = format!("/pipelineProcessor/metrics?{query}");
            let values = listed(&server, &root, "/usa/company", &path, "metrics").await;
            same_rows(server.backend, &file, &values);
        }

        // More activities than one page of the store holds.
        let mut bills = String::from("date,fuel,energy (mmBtu),site,meter\n");
        for i in 0..10_050 {
            bills.push_str(&format!("6/1/2023,Natural Gas,{i}.5,{sub},n{i}\n"));
        }
        let done = run_job(&server, &root, &pipeline_id, &bills, json!({})).await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);
        let query = format!("pipelineId={pipeline_id}&date=2023-06-01");
        let file = download(&server, &root, sub, "activities", &query).await;
        let path = format!("/pipelineProcessor/activities?{query}&count=20000");
        let activities = listed(&server, &root, sub, &path, "activities").await;
        assert_eq!(activities.len(), 10_050);
        same_rows(server.backend, &file, &activities);
        server.finish().await;
    }
}

#[tokio::test]
async fn the_audit_export_has_a_row_per_stored_version() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        let pipeline_id = walkthrough_pipeline(&server, &root).await;
        let executions = format!("/pipelineProcessor/pipelines/{pipeline_id}/executions");

        // An execution still waiting for its input has no audit records yet.
        let waiting = created(&server, &root, "/usa/company", &executions, json!({})).await;
        let early = server
            .call(
                Method::POST,
                &format!(
                    "{executions}/{}/generateAuditExportUrl",
                    waiting["id"].as_str().expect("an id")
                ),
                &root,
                Some("/usa/company"),
                None,
            )
            .await;
        assert_eq!(early.status, 409, "{}", early.body);
        assert!(
            early
                .message()
                .starts_with("audit processing is still in progress for execution"),
            "{}",
            early.body
        );

        // Four bills stored, one refused (the execution fails); then one re-processed.
        let failed = run_job(&server, &root, &pipeline_id, &csv(&BILLS), json!({})).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        let fix = [("1/15/2023", "Natural Gas", "200", "/usa/company/sub", "m1")];
        let succeeded = run_job(&server, &root, &pipeline_id, &csv(&fix), json!({})).await;
        assert_eq!(succeeded["status"], "success", "{succeeded}");

        for (execution, inputs) in [(&failed, &BILLS[..4]), (&succeeded, &fix[..])] {
            let id = execution["id"].as_str().expect("an id");
            // The versions the execution stored, in every group, by audit id.
            let mut versions = BTreeMap::new();
            for group in ["/usa/company", "/usa/company/sub", "/usa/company/sub2"] {
                let path = format!("/pipelineProcessor/activities?executionId={id}&count=1000");
                for activity in listed(&server, &root, group, &path, "activities").await {
                    let audit = activity["auditId"]
                        .as_str()
                        .expect("an audit id")
                        .to_owned();
                    versions.insert(audit, activity);
                }
            }
            assert_eq!(versions.len(), inputs.len());

            let path = format!("{executions}/{id}/generateAuditExportUrl");
            let link = server
                .call(Method::POST, &path, &root, Some("/usa/company"), None)
                .await;
            assert_eq!(link.status, 201, "{}: {}", server.backend, link.body);
            let text = fetch(&server, link.body["url"].as_str().expect("a url")).await;
            let (header, rows) = parse(&text);
            assert_eq!(
                &header[..4],
                ["pipeline_id", "execution_id", "auditId", "row"]
            );
            for column in [
                "in_mmbtu",
                "in____row_identifier___",
                "out_co2e_formula",
                "out_co2e_result",
                "out_co2e_errorMessage",
                "out_co2e_impacts",
                "out_co2e_calculations",
                "out_co2e_referenceDatasets",
            ] {
                assert!(header.iter().any(|c| c == column), "{column}: {header:?}");
            }
            assert_eq!(rows.len(), versions.len(), "{}: {text}", server.backend);
            for row in &rows {
                let row = by_column(&header, row);
                let version = &versions[row["auditId"]];
                assert_eq!(row["pipeline_id"], pipeline_id);
                assert_eq!(row["execution_id"], id);
                assert_eq!(
                    decimal(row["out_co2e_result"]),
                    decimal(&version["co2e"].to_string()),
                    "{row:?}"
                );
                // The input row the version came from.
                let line: usize = row["row"].parse().expect("a row number");
                assert_eq!(row["in_mmbtu"], inputs[line - 1].2);
                assert_eq!(
                    decimal(row["out_co2e_result"]),
                    decimal(inputs[line - 1].2) * per_mmbtu()
                );
                assert!(row["out_co2e_impacts"].contains("ghg"), "{row:?}");
                assert!(
                    row["out_activity_referenceDatasets"].contains("fuel_types"),
                    "{row:?}"
                );
            }

            // Asked again, the export is served as built.
            let again = server
                .call(Method::POST, &path, &root, Some("/usa/company"), None)
                .await;
            assert_eq!(again.status, 201, "{}", again.body);
            let url = again.body["url"].as_str().expect("a url");
            assert_eq!(fetch(&server, url).await, text);
        }
        server.finish().await;
    }
}
