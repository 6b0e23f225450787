//! The pipeline processor end to end over HTTP: SIF's natural-gas walkthrough from the upload of
//! a CSV file to metric values at every level of the group tree and every time unit, with the
//! expected figures worked out here from the input rows with decimal arithmetic; then history
//! and re-processing, inline executions, deletions and pipeline aggregates.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::{Options, TestServer, servers};
use crate::walkthrough::{
    ACTIVITY, CH4, CO2, GWP_CH4, GWP_N2O, N2O, created, decimal, number, seed,
};

pub const METRIC: &str = "ghg:scope1:combustion";

pub fn per_mmbtu() -> Decimal {
    decimal(CO2) + decimal(CH4) * decimal(GWP_CH4) + decimal(N2O) * decimal(GWP_N2O)
}

/// The pipeline: activity time, the row's group, its meter (the unique key), the month of the
/// bill (grouped by in the pipeline's aggregation), the factor looked up, and kg CO2e (summed
/// monthly, feeding the metric).
pub fn pipeline() -> Value {
    let impact = |component: &str| format!("IMPACT(REF('activity'),'ghg','{component}')");
    json!({
        "name": "combustion",
        "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
        "transformer": {
            "parameters": [
                {"index": 0, "key": "date", "type": "string"},
                {"index": 1, "key": "fuel", "type": "string"},
                {"index": 2, "key": "mmbtu", "label": "energy (mmBtu)", "type": "number"},
                {"index": 3, "key": "site", "type": "string"},
                {"index": 4, "key": "meter", "type": "string"}
            ],
            "transforms": [
                {"index": 0, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy')",
                 "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": "ASSIGN_TO_GROUP(:site)",
                 "outputs": [{"index": 0, "key": "site", "type": "string"}]},
                {"index": 2, "formula": ":meter",
                 "outputs": [{"index": 0, "key": "meter", "type": "string", "includeAsUnique": true}]},
                {"index": 3, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy',roundDownTo='month')",
                 "outputs": [{"index": 0, "key": "month", "type": "timestamp", "aggregate": "groupBy"}]},
                {"index": 4, "formula": "LOOKUP(:fuel,'fuel_types','fuel','activity')",
                 "outputs": [{"index": 0, "key": "activity", "type": "string"}]},
                {"index": 5, "formula": format!(
                    "#co2e(:mmbtu*{}, :mmbtu*{}, :mmbtu*{})", impact("co2"), impact("ch4"), impact("n2o")),
                 "outputs": [{"index": 0, "key": "co2e", "type": "number", "aggregate": "sum",
                              "metrics": [METRIC]}]}
            ]
        }
    })
}

/// A bill: date, fuel, mmBtu, group, meter.
pub type Bill = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

pub const BILLS: [Bill; 5] = [
    ("1/15/2023", "Natural Gas", "100", "/usa/company/sub", "m1"),
    ("1/20/2023", "Natural Gas", "10", "/usa/company", "m2"),
    ("2/1/2023", "natural gas", "12.5", "/usa/company/sub", "m1"),
    ("3/3/2023", "NATURAL GAS", "0.4", "/usa/company/sub2", "m3"),
    ("4/1/2023", "Natural Gas", "lots", "/usa/company/sub", "m4"),
];

pub fn csv(bills: &[Bill]) -> String {
    let mut text = String::from("date,fuel,energy (mmBtu),site,meter\n");
    for (date, fuel, mmbtu, site, meter) in bills {
        text.push_str(&format!("{date},{fuel},{mmbtu},{site},{meter}\n"));
    }
    text
}

/// Expected metric values worked out from bills: (group, time unit, period start) → (group
/// value, sub-groups value). Periods are `YYYY-MM-DD`; weeks start on Monday.
fn expected(
    bills: &[(&str, Decimal, &str)],
) -> BTreeMap<(String, &'static str, String), (Decimal, Decimal)> {
    let mut out: BTreeMap<(String, &'static str, String), (Decimal, Decimal)> = BTreeMap::new();
    for &(date, co2e, group) in bills {
        let date: jiff::civil::Date = date.parse().expect("a date");
        let periods = [
            ("day", date),
            (
                "week",
                date - jiff::Span::new().days(i64::from(date.weekday().to_monday_zero_offset())),
            ),
            ("month", date.first_of_month()),
            (
                "quarter",
                jiff::civil::date(date.year(), (date.month() - 1) / 3 * 3 + 1, 1),
            ),
            ("year", jiff::civil::date(date.year(), 1, 1)),
        ];
        let mut level = group.to_owned();
        let mut own = true;
        loop {
            for (unit, start) in periods {
                let entry = out
                    .entry((level.clone(), unit, start.to_string()))
                    .or_default();
                if own {
                    entry.0 += co2e;
                } else {
                    entry.1 += co2e;
                }
            }
            if level == "/" {
                break;
            }
            own = false;
            level = match level.rfind('/') {
                Some(0) => "/".to_owned(),
                Some(i) => level[..i].to_owned(),
                None => break,
            };
        }
    }
    out
}

pub async fn call(
    server: &TestServer,
    token: &str,
    group: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let reply = server
        .call(method.clone(), path, token, Some(group), body)
        .await;
    assert!(
        reply.status.is_success(),
        "{}: {method} {path} in {group}: {} {}",
        server.backend,
        reply.status,
        reply.body
    );
    reply.body
}

/// Uploads `csv` to a new job execution and waits for its final status.
/// The walkthrough's groups (with a second sub-group), resources and pipeline, in
/// /usa/company; returns the pipeline's id.
pub async fn walkthrough_pipeline(server: &TestServer, root: &str) -> String {
    seed(server, root).await;
    server.group(root, "/usa/company/sub2").await;
    let pipeline = created(
        server,
        root,
        "/usa/company",
        "/pipelines/pipelines",
        pipeline(),
    )
    .await;
    pipeline["id"].as_str().expect("an id").to_owned()
}

/// The text of the file whose signed URL `POST path` answers with (in /usa/company).
pub async fn download(server: &TestServer, token: &str, path: &str) -> String {
    let link = call(
        server,
        token,
        "/usa/company",
        Method::POST,
        path,
        Some(json!({})),
    )
    .await;
    server
        .client
        .get(link["url"].as_str().expect("a url"))
        .send()
        .await
        .expect("download")
        .text()
        .await
        .expect("text")
}

pub async fn run_job(
    server: &TestServer,
    token: &str,
    pipeline: &str,
    csv: &str,
    body: Value,
) -> Value {
    let path = format!("/pipelineProcessor/pipelines/{pipeline}/executions");
    let execution = created(server, token, "/usa/company", &path, body).await;
    assert_eq!(execution["status"], "waiting");
    let url = execution["inputUploadUrl"].as_str().expect("an upload URL");
    let upload = server
        .client
        .put(url)
        .body(csv.to_owned())
        .send()
        .await
        .expect("upload");
    assert_eq!(
        upload.status(),
        200,
        "{}",
        upload.text().await.unwrap_or_default()
    );
    let id = execution["id"].as_str().expect("an id");
    // A second upload to the same URL is refused: the input of an execution cannot change.
    let again = server
        .client
        .put(url)
        .body(csv.to_owned())
        .send()
        .await
        .expect("upload");
    assert_eq!(again.status(), 409);
    // Up to a minute: tens of thousands of rows take seconds on a busy machine.
    for _ in 0..2400 {
        let current = call(
            server,
            token,
            "/usa/company",
            Method::GET,
            &format!("{path}/{id}"),
            None,
        )
        .await;
        if matches!(current["status"].as_str(), Some("success" | "failed")) {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{}: execution {id} did not finish", server.backend);
}

pub async fn metric_values(
    server: &TestServer,
    token: &str,
    group: &str,
    unit: &str,
    members: bool,
) -> Vec<Value> {
    let path = format!(
        "/pipelineProcessor/metrics?name={METRIC}&timeUnit={unit}&dateFrom=2022-12-01&dateTo=2023-12-31&members={members}"
    );
    let body = call(server, token, group, Method::GET, &path, None).await;
    body["metrics"].as_array().expect("metrics").clone()
}

/// Every metric value at every level and time unit equals the expected figures, and there are
/// no others.
pub async fn check_metrics(server: &TestServer, token: &str, bills: &[(&str, Decimal, &str)]) {
    let expected = expected(bills);
    // The metric is defined at /usa: its values are read from there down.
    for group in [
        "/usa",
        "/usa/company",
        "/usa/company/sub",
        "/usa/company/sub2",
    ] {
        for unit in ["day", "week", "month", "quarter", "year"] {
            let values = metric_values(server, token, group, unit, false).await;
            let mut seen = BTreeMap::new();
            for v in &values {
                let start = v["date"].as_str().expect("a date")[..10].to_owned();
                let value = |k: &str| decimal(&v[k].to_string());
                assert_eq!(
                    value("hierarchyValue"),
                    value("groupValue") + value("subGroupsValue")
                );
                seen.insert(start, (value("groupValue"), value("subGroupsValue")));
            }
            let want: BTreeMap<String, (Decimal, Decimal)> = expected
                .iter()
                .filter(|((g, u, _), _)| g == group && *u == unit)
                .map(|((_, _, start), &(own, sub))| {
                    (start.clone(), (own.normalize(), sub.normalize()))
                })
                .collect();
            let seen: BTreeMap<String, (Decimal, Decimal)> = seen
                .into_iter()
                .map(|(k, (a, b))| (k, (a.normalize(), b.normalize())))
                .collect();
            // A period whose bills were all deleted may keep a zero row, as in SIF.
            let mut seen = seen;
            seen.retain(|k, v| v.0 + v.1 != Decimal::ZERO || want.contains_key(k));
            assert_eq!(seen, want, "{}: {group} {unit}", server.backend);
        }
    }
}

#[tokio::test]
async fn walkthrough_from_upload_to_metrics_at_every_level() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        let pipeline_id = walkthrough_pipeline(&server, &root).await;

        // Job mode: four good bills and one with a value that is not a number.
        let done = run_job(&server, &root, &pipeline_id, &csv(&BILLS), json!({})).await;
        assert_eq!(done["status"], "failed", "{}: {done}", server.backend);
        assert_eq!(
            done["statusMessage"],
            "error when performing calculation, review the pipeline execution error log for further info"
        );
        assert_eq!(
            done["rows"],
            json!({"rowsRead": 5, "rowsStored": 4, "rowsFailed": 1, "cellErrors": 0})
        );
        assert_eq!(done["pipelineVersion"], 1);
        let execution_id = done["id"].as_str().expect("an id").to_owned();
        let path = format!("/pipelineProcessor/pipelines/{pipeline_id}/executions/{execution_id}");
        let errors = download(&server, &root, &format!("{path}/errorDownloadUrl")).await;
        assert_eq!(errors.lines().count(), 1, "{errors}");
        assert!(
            errors.contains("lots") && errors.contains("mmbtu"),
            "{errors}"
        );

        let mmbtu = |m: &str| decimal(m) * per_mmbtu();
        let mut bills = vec![
            ("2023-01-15", mmbtu("100"), "/usa/company/sub"),
            ("2023-01-20", mmbtu("10"), "/usa/company"),
            ("2023-02-01", mmbtu("12.5"), "/usa/company/sub"),
            ("2023-03-03", mmbtu("0.4"), "/usa/company/sub2"),
        ];
        check_metrics(&server, &root, &bills).await;
        // members=true lists the immediate sub-groups' own values.
        let members = metric_values(&server, &root, "/usa/company", "year", true).await;
        let by_group: BTreeMap<&str, Decimal> = members
            .iter()
            .map(|v| {
                (
                    v["groupId"].as_str().unwrap_or_default(),
                    decimal(&v["groupValue"].to_string()),
                )
            })
            .collect();
        assert_eq!(by_group.len(), 2, "{members:?}");
        assert_eq!(
            by_group["/usa/company/sub"],
            (mmbtu("100") + mmbtu("12.5")).normalize()
        );
        assert_eq!(by_group["/usa/company/sub2"], mmbtu("0.4").normalize());

        // The stored activities of one group, latest values.
        let listed = call(
            &server,
            &root,
            "/usa/company/sub",
            Method::GET,
            &format!("/pipelineProcessor/activities?pipelineId={pipeline_id}&dateFrom=1/1/23&dateTo=2023-12-31"),
            None,
        )
        .await;
        let activities = listed["activities"].as_array().expect("activities");
        assert_eq!(activities.len(), 2, "{listed}");
        assert_eq!(activities[0]["date"], "2023-01-15T00:00:00Z");
        assert_eq!(activities[0]["meter"], "m1");
        assert_eq!(activities[0]["activity"], ACTIVITY);
        assert_eq!(
            decimal(&activities[0]["co2e"].to_string()),
            mmbtu("100").normalize()
        );
        assert_eq!(activities[1]["month"], "2023-02-01T00:00:00Z");

        // Pipeline aggregates: monthly sums per group.
        let aggregates = call(
            &server,
            &root,
            "/usa/company/sub",
            Method::GET,
            &format!("/pipelineProcessor/activities?pipelineId={pipeline_id}&dateFrom=2023-01-01&dateTo=2023-12-31&showAggregate=true"),
            None,
        )
        .await;
        let sums: Vec<(String, Decimal)> = aggregates["activities"]
            .as_array()
            .expect("activities")
            .iter()
            .map(|a| {
                (
                    a["date"].as_str().unwrap_or_default().to_owned(),
                    decimal(&a["co2e"].to_string()),
                )
            })
            .collect();
        assert_eq!(
            sums,
            vec![
                ("2023-01-01T00:00:00Z".to_owned(), mmbtu("100").normalize()),
                ("2023-02-01T00:00:00Z".to_owned(), mmbtu("12.5").normalize())
            ]
        );

        // Re-processing meter m1's January bill: a new version; metrics follow the latest.
        let fix = [("1/15/2023", "Natural Gas", "200", "/usa/company/sub", "m1")];
        let done = run_job(&server, &root, &pipeline_id, &csv(&fix), json!({})).await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);
        bills[0].1 = mmbtu("200");
        check_metrics(&server, &root, &bills).await;
        let history = call(
            &server,
            &root,
            "/usa/company/sub",
            Method::GET,
            &format!("/pipelineProcessor/activities?pipelineId={pipeline_id}&date=2023-01-15&showHistory=true&uniqueKeyAttributes=meter:m1"),
            None,
        )
        .await;
        let versions = history["activities"].as_array().expect("versions");
        assert_eq!(versions.len(), 2, "{history}");
        assert_eq!(
            decimal(&versions[0]["co2e"].to_string()),
            mmbtu("100").normalize()
        );
        assert_eq!(
            decimal(&versions[1]["co2e"].to_string()),
            mmbtu("200").normalize()
        );
        assert_eq!(versions[1]["co2e__error"], false);
        assert_eq!(versions[0]["activityId"], versions[1]["activityId"]);

        // The audit record of the latest version names its input row and the formulas.
        let id = versions[1]["activityId"].as_i64().expect("an activity id");
        let audits_path = format!("/pipelineProcessor/activities/{id}/audits");
        let audits_of = || {
            call(
                &server,
                &root,
                "/usa/company/sub",
                Method::GET,
                &audits_path,
                None,
            )
        };
        let audits = audits_of().await;
        let records = audits.as_array().expect("audits");
        assert_eq!(records.len(), 2);
        let latest = &records[1]["audits"][0];
        assert_eq!(records[1]["status"], "SUCCEEDED");
        assert!(latest.to_string().contains("200"), "{latest}");
        assert!(latest.to_string().contains(CO2), "{latest}");

        // Records are made again from the stored input when they are read, with the resource
        // versions the execution used: a factor published since changes none of them.
        let factors = call(
            &server,
            &root,
            "/usa",
            Method::GET,
            "/impacts/activities",
            None,
        )
        .await;
        let factor = factors["activities"]
            .as_array()
            .expect("impacts")
            .iter()
            .find(|a| a["name"] == ACTIVITY)
            .expect("the natural gas factor")["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let set_co2 = |value: Value| {
            let path = format!("/impacts/activities/{factor}");
            let body = json!({"impacts": {"ghg": {"name": "ghg", "components": {
                "co2": {"key": "co2", "value": value, "type": "pollutant"}}}}});
            let (server, root) = (&server, &root);
            async move { call(server, root, "/usa", Method::PATCH, &path, Some(body)).await }
        };
        set_co2(json!(1234.5)).await;
        let again = audits_of().await;
        assert_eq!(again, audits, "{}", server.backend);
        assert!(!again.to_string().contains("1234.5"));
        // Later executions use the factor as it was.
        set_co2(number(CO2)).await;
        // A dataset frozen since (as while a new version is indexed) is still read for them.
        let datasets = "/referenceDatasets/referenceDatasets";
        let listed = call(&server, &root, "/usa", Method::GET, datasets, None).await;
        let fuel_types = listed["referenceDatasets"]
            .as_array()
            .expect("datasets")
            .iter()
            .find(|d| d["name"] == "fuel_types")
            .expect("the fuel types")["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let set_state = |state: &'static str| {
            let path = format!("{datasets}/{fuel_types}");
            let (server, root) = (&server, &root);
            async move {
                let body = Some(json!({"state": state}));
                call(server, root, "/usa", Method::PATCH, &path, body).await
            }
        };
        set_state("frozen").await;
        assert_eq!(audits_of().await, audits, "{}", server.backend);
        set_state("enabled").await;

        // Inline: results in the response, stored when every row succeeds.
        let inline = created(
            &server,
            &root,
            "/usa/company",
            &format!("/pipelineProcessor/pipelines/{pipeline_id}/executions"),
            json!({"mode": "inline", "inlineExecutionOptions": {"inputs": [
                {"date": "5/5/2023", "fuel": "Natural Gas", "energy (mmBtu)": "2", "site": "/usa/company", "meter": "m9"}
            ]}}),
        )
        .await;
        assert_eq!(inline["status"], "success", "{inline}");
        let outputs = &inline["inlineExecutionOutputs"]["outputs"];
        assert_eq!(outputs[0]["time"], "2023-05-05T00:00:00Z");
        assert_eq!(
            decimal(&outputs[0]["co2e"].to_string()),
            mmbtu("2").normalize()
        );
        bills.push(("2023-05-05", mmbtu("2"), "/usa/company"));
        check_metrics(&server, &root, &bills).await;

        // Inline with a failing row: nothing is stored.
        let failing = created(
            &server,
            &root,
            "/usa/company",
            &format!("/pipelineProcessor/pipelines/{pipeline_id}/executions"),
            json!({"mode": "inline", "inlineExecutionOptions": {"inputs": [
                {"date": "6/6/2023", "fuel": "Natural Gas", "energy (mmBtu)": "3", "site": "/usa/company", "meter": "m10"},
                {"date": "6/7/2023", "fuel": "Natural Gas", "energy (mmBtu)": "x", "site": "/usa/company", "meter": "m11"}
            ]}}),
        )
        .await;
        assert_eq!(failing["status"], "failed", "{failing}");
        assert_eq!(
            failing["inlineExecutionOutputs"]["errors"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        check_metrics(&server, &root, &bills).await;

        // Deleting meter m3's bill: a tombstone version; the metric drops it.
        let deletion = [("3/3/2023", "NATURAL GAS", "0.4", "/usa/company/sub2", "m3")];
        let done = run_job(
            &server,
            &root,
            &pipeline_id,
            &csv(&deletion),
            json!({"actionType": "delete"}),
        )
        .await;
        assert_eq!(done["status"], "success", "{done}");
        bills.retain(|b| b.0 != "2023-03-03");
        check_metrics(&server, &root, &bills).await;

        // Executions are listed per pipeline.
        let list = call(
            &server,
            &root,
            "/usa/company",
            Method::GET,
            &format!("/pipelineProcessor/pipelines/{pipeline_id}/executions"),
            None,
        )
        .await;
        assert_eq!(list["executions"].as_array().map(Vec::len), Some(5));
        // A reader of another branch sees no activities of this group, and a missing
        // execution is 404.
        let missing = server
            .call(Method::GET, &format!("/pipelineProcessor/pipelines/{pipeline_id}/executions/01jbadbadbadbadbadbadbadbad"), &root, Some("/usa/company"), None)
            .await;
        assert_eq!(missing.status, 404);
        server.finish().await;
    }
}

/// A data pipeline: its outputs become a downloadable CSV file, nothing is stored as activities;
/// inline, its outputs come back in the response.
#[tokio::test]
async fn data_pipelines_produce_a_result_file() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        seed(&server, &root).await;
        let pipeline = created(
            &server,
            &root,
            "/usa/company",
            "/pipelines/pipelines",
            json!({
                "name": "scaled",
                "type": "data",
                "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
                "transformer": {
                    "parameters": [
                        {"index": 0, "key": "a", "type": "number"},
                        {"index": 1, "key": "b", "type": "number"}
                    ],
                    "transforms": [
                        {"index": 0, "formula": ":a*:b", "outputs": [{"index": 0, "key": "product", "type": "number"}]},
                        {"index": 1, "formula": "CONCAT('x', :a)", "outputs": [{"index": 0, "key": "label", "type": "string"}]}
                    ]
                }
            }),
        )
        .await;
        let id = pipeline["id"].as_str().expect("an id").to_owned();
        let rows = [("2", "3"), ("1.5", "2.25"), ("q", "1"), ("-4", "0.5")];
        let mut input = String::from("a,b\n");
        for (a, b) in rows {
            input.push_str(&format!("{a},{b}\n"));
        }
        let done = run_job(&server, &root, &id, &input, json!({})).await;
        assert_eq!(done["status"], "failed", "{}: {done}", server.backend);
        assert_eq!(done["rows"]["rowsStored"], 3);
        let path = format!(
            "/pipelineProcessor/pipelines/{id}/executions/{}",
            done["id"].as_str().expect("an id")
        );
        let result = download(&server, &root, &format!("{path}/outputDownloadUrl")).await;
        let mut lines = result.lines();
        assert_eq!(lines.next(), Some("product,label"));
        // Expected values worked out from the rows that parse, with decimals.
        let expected: Vec<String> = rows
            .iter()
            .filter(|(a, _)| a.parse::<f64>().is_ok())
            .map(|(a, b)| format!("{},x{a}", (decimal(a) * decimal(b)).normalize()))
            .collect();
        assert_eq!(
            lines.map(str::to_owned).collect::<Vec<_>>(),
            expected,
            "{result}"
        );
        // Nothing became an activity.
        let listed = call(
            &server,
            &root,
            "/usa/company",
            Method::GET,
            &format!("/pipelineProcessor/activities?pipelineId={id}"),
            None,
        )
        .await;
        assert_eq!(listed["activities"], json!([]));

        let inline = created(
            &server,
            &root,
            "/usa/company",
            &format!("/pipelineProcessor/pipelines/{id}/executions"),
            json!({"mode": "inline", "inlineExecutionOptions": {"inputs": [{"a": "7", "b": "0.5"}]}}),
        )
        .await;
        assert_eq!(inline["status"], "success", "{inline}");
        assert_eq!(
            inline["inlineExecutionOutputs"]["outputs"],
            json!([{"product": 3.5, "label": "x7"}])
        );
        server.finish().await;
    }
}

/// Two executions of one pipeline uploaded at the same time run one after the other: each row
/// is stored once, the bill both files contain gets two versions, and the latest is the one of
/// the execution that finished last.
#[tokio::test]
async fn concurrent_executions_do_not_interleave() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        seed(&server, &root).await;
        let created_pipeline = created(
            &server,
            &root,
            "/usa/company",
            "/pipelines/pipelines",
            pipeline(),
        )
        .await;
        let id = created_pipeline["id"].as_str().expect("an id").to_owned();
        let file = |prefix: &str, shared: &str| {
            let mut text = String::from("date,fuel,energy (mmBtu),site,meter\n");
            for i in 0..2000 {
                text.push_str(&format!(
                    "1/{}/2023,Natural Gas,{}.5,/usa/company/sub,{prefix}{i}\n",
                    1 + i % 28,
                    i % 90
                ));
            }
            text.push_str(&format!(
                "6/1/2023,Natural Gas,{shared},/usa/company/sub,shared\n"
            ));
            text
        };
        let (a, b) = (file("a", "100"), file("b", "200"));
        let (done_a, done_b) = tokio::join!(
            run_job(&server, &root, &id, &a, json!({})),
            run_job(&server, &root, &id, &b, json!({}))
        );
        assert_eq!(done_a["status"], "success", "{done_a}");
        assert_eq!(done_b["status"], "success", "{done_b}");
        let last = if done_a["updatedAt"].as_str() > done_b["updatedAt"].as_str() {
            "100"
        } else {
            "200"
        };
        // Every bill once, plus the latest shared one, summed with decimals.
        let mut total = Decimal::ZERO;
        for i in 0..2000 {
            total += decimal(&format!("{}.5", i % 90)) * per_mmbtu() * Decimal::TWO;
        }
        total += decimal(last) * per_mmbtu();
        let values = metric_values(&server, &root, "/usa/company/sub", "year", false).await;
        assert_eq!(values.len(), 1, "{values:?}");
        assert_eq!(
            decimal(&values[0]["groupValue"].to_string()),
            total.normalize()
        );
        let history = call(
            &server,
            &root,
            "/usa/company/sub",
            Method::GET,
            &format!("/pipelineProcessor/activities?pipelineId={id}&date=2023-06-01&showHistory=true&uniqueKeyAttributes=meter:shared"),
            None,
        )
        .await;
        let versions = history["activities"].as_array().expect("versions");
        assert_eq!(versions.len(), 2, "{history}");
        assert_eq!(
            decimal(&versions[1]["co2e"].to_string()),
            (decimal(last) * per_mmbtu()).normalize()
        );
        server.finish().await;
    }
}
