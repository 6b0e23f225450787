//! Executions of every pipeline type over HTTP: impacts pipelines that create and update the
//! impacts module's activities, referenceDatasets pipelines that publish their input as a
//! dataset LOOKUP can read, connector parameters overridden per execution, and the activity
//! connector feeding one pipeline's activities to another.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::processor::{call, download, run_job};
use crate::support::{Options, TestServer, servers};
use crate::walkthrough::{created, decimal};

const GROUP: &str = "/usa/company";

async fn groups(server: &TestServer, root: &str) {
    for group in ["/usa", GROUP, "/other"] {
        server.group(root, group).await;
    }
}

fn executions(pipeline: &str) -> String {
    format!("/pipelineProcessor/pipelines/{pipeline}/executions")
}

/// Creates a pipeline in the group; returns its id.
async fn new_pipeline(server: &TestServer, token: &str, body: Value) -> String {
    let pipeline = created(server, token, GROUP, "/pipelines/pipelines", body).await;
    pipeline["id"].as_str().expect("an id").to_owned()
}

/// Waits for an execution's final status.
async fn finished(server: &TestServer, token: &str, pipeline: &str, id: &str) -> Value {
    let path = format!("{}/{id}", executions(pipeline));
    for _ in 0..2400 {
        let current = call(server, token, GROUP, Method::GET, &path, None).await;
        if matches!(current["status"].as_str(), Some("success" | "failed")) {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{}: execution {id} did not finish", server.backend);
}

/// The execution's `result.csv`.
async fn result(server: &TestServer, token: &str, pipeline: &str, execution: &Value) -> String {
    let id = execution["id"].as_str().expect("an id");
    let path = format!("{}/{id}/outputDownloadUrl", executions(pipeline));
    download(server, token, &path).await
}

/// The one resource called `name` that `GET {plural}?name=` finds in the group.
async fn named(server: &TestServer, token: &str, plural: &str, name: &str) -> Value {
    let key = plural.rsplit('/').next().unwrap_or_default();
    let body = call(
        server,
        token,
        GROUP,
        Method::GET,
        &format!("{plural}?name={name}"),
        None,
    )
    .await;
    let found = body[key].as_array().expect("a list");
    assert_eq!(found.len(), 1, "{}: {name}: {body}", server.backend);
    found[0].clone()
}

fn impacts_pipeline() -> Value {
    let output = |index: u32, formula: &str, key: &str, kind: &str| {
        json!({"index": index, "formula": formula,
               "outputs": [{"index": 0, "key": key, "type": kind}]})
    };
    json!({
        "name": "fuel factors",
        "type": "impacts",
        "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
        "transformer": {
            "parameters": [
                {"index": 0, "key": "fuel", "type": "string"},
                {"index": 1, "key": "co2", "label": "kg CO2", "type": "number"},
                {"index": 2, "key": "ch4", "label": "kg CH4", "type": "number"},
                {"index": 3, "key": "unit", "type": "string"}
            ],
            "transforms": [
                output(0, ":fuel", "activity:name", "string"),
                output(1, "CONCAT('Fuel burnt, per ', :unit)", "activity:description", "string"),
                output(2, ":unit", "activity:attribute:unit", "string"),
                output(3, "'pipeline'", "activity:tag:source", "string"),
                output(4, "'GHG'", "impact:ghg:name", "string"),
                output(5, "'co2'", "impact:ghg:component:co2:key", "string"),
                output(6, "'pollutant'", "impact:ghg:component:co2:type", "string"),
                output(7, ":co2", "impact:ghg:component:co2:value", "number"),
                output(8, "'ch4'", "impact:ghg:component:ch4:key", "string"),
                output(9, "'pollutant'", "impact:ghg:component:ch4:type", "string"),
                output(10, ":ch4", "impact:ghg:component:ch4:value", "number")
            ]
        }
    })
}

/// Checks an impacts activity against a row of the input: fuel, kg CO2, kg CH4, unit.
fn check_activity(activity: &Value, row: (&str, &str, &str, &str)) {
    let (fuel, co2, ch4, unit) = row;
    assert_eq!(activity["name"], fuel);
    assert_eq!(activity["description"], format!("Fuel burnt, per {unit}"));
    assert_eq!(activity["attributes"], json!({"unit": unit}));
    assert_eq!(activity["tags"]["source"], "pipeline");
    let ghg = &activity["impacts"]["ghg"];
    assert_eq!(ghg["name"], "GHG");
    let components = ghg["components"].as_object().expect("components");
    let mut expected = BTreeMap::new();
    for (key, value) in [("co2", co2), ("ch4", ch4)] {
        // A component whose value is zero is left out.
        if decimal(value) != Decimal::ZERO {
            expected.insert(key.to_owned(), decimal(value));
        }
    }
    let stored: BTreeMap<String, Decimal> = components
        .iter()
        .map(|(key, c)| {
            assert_eq!(c["key"], key.as_str());
            assert_eq!(c["type"], "pollutant");
            (key.clone(), decimal(&c["value"].to_string()))
        })
        .collect();
    assert_eq!(stored, expected, "{activity}");
}

#[tokio::test]
async fn impacts_pipelines_create_and_update_impacts() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        groups(&server, &root).await;

        // The naming convention is checked when the pipeline is created.
        let mut incomplete = impacts_pipeline();
        incomplete["name"] = json!("incomplete");
        incomplete["transformer"]["transforms"]
            .as_array_mut()
            .expect("transforms")
            .truncate(9);
        let refused = server
            .call(
                Method::POST,
                "/pipelines/pipelines",
                &root,
                Some(GROUP),
                Some(incomplete),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.message().contains("impact:ghg:component:ch4:type"),
            "{}",
            refused.body
        );

        let id = new_pipeline(&server, &root, impacts_pipeline()).await;
        let rows = [
            ("diesel", "2.68", "0.0001", "litre"),
            ("natural gas", "53.06", "0", "mmBtu"),
        ];
        let mut csv = String::from("fuel,kg CO2,kg CH4,unit\n");
        for (fuel, co2, ch4, unit) in rows {
            csv.push_str(&format!("{fuel},{co2},{ch4},{unit}\n"));
        }
        let done = run_job(&server, &root, &id, &csv, json!({})).await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);
        assert_eq!(done["rows"]["rowsStored"], 2);
        for row in rows {
            let activity = named(&server, &root, "/impacts/activities", row.0).await;
            check_activity(&activity, row);
            assert_eq!(activity["version"], 1);
        }
        // The outputs are downloadable as for a data pipeline.
        let file = result(&server, &root, &id, &done).await;
        assert!(
            file.starts_with("activity:name,activity:description,"),
            "{file}"
        );
        assert_eq!(file.lines().count(), 3, "{file}");

        // A second file updates the activity of the same name: a new version.
        let update = ("diesel", "2.70", "0.0002", "litre");
        let csv = format!(
            "fuel,kg CO2,kg CH4,unit\n{},{},{},{}\n",
            update.0, update.1, update.2, update.3
        );
        let done = run_job(&server, &root, &id, &csv, json!({})).await;
        assert_eq!(done["status"], "success", "{done}");
        let diesel = named(&server, &root, "/impacts/activities", "diesel").await;
        check_activity(&diesel, update);
        assert_eq!(diesel["version"], 2);
        let gas = named(&server, &root, "/impacts/activities", "natural gas").await;
        assert_eq!(gas["version"], 1);

        // Inline: the rows' activities are written and the outputs returned.
        let inline = created(
            &server,
            &root,
            GROUP,
            &executions(&id),
            json!({"mode": "inline", "inlineExecutionOptions": {"inputs": [
                {"fuel": "petrol", "kg CO2": "2.31", "kg CH4": "0", "unit": "litre"}
            ]}}),
        )
        .await;
        assert_eq!(inline["status"], "success", "{inline}");
        assert_eq!(
            inline["inlineExecutionOutputs"]["outputs"][0]["activity:name"],
            "petrol"
        );
        let petrol = named(&server, &root, "/impacts/activities", "petrol").await;
        check_activity(&petrol, ("petrol", "2.31", "0", "litre"));

        // A row that defines no activity fails the execution, naming the row; the rows are
        // checked before any is written, so the good row is not written either.
        let failing = created(
            &server,
            &root,
            GROUP,
            &executions(&id),
            json!({"mode": "inline", "inlineExecutionOptions": {"inputs": [
                {"fuel": "kerosene", "kg CO2": "2.5", "kg CH4": "0", "unit": "litre"},
                {"fuel": "", "kg CO2": "1", "kg CH4": "0", "unit": "litre"}
            ]}}),
        )
        .await;
        assert_eq!(failing["status"], "failed", "{failing}");
        let message = failing["statusMessage"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("error when creating or updating impacts: row 2:")
                && message.contains("'name'"),
            "{message}"
        );
        let listed = call(
            &server,
            &root,
            GROUP,
            Method::GET,
            "/impacts/activities?name=kerosene",
            None,
        )
        .await;
        assert_eq!(listed["activities"], json!([]), "{listed}");

        // A calculation error leaves the impacts alone, as in SIF.
        let csv = "fuel,kg CO2,kg CH4,unit\ndiesel,lots,0,litre\n";
        let done = run_job(&server, &root, &id, csv, json!({})).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(
            done["statusMessage"],
            "error when performing calculation, review the pipeline execution error log for further info"
        );
        let diesel = named(&server, &root, "/impacts/activities", "diesel").await;
        assert_eq!(diesel["version"], 2);
        server.finish().await;
    }
}

fn dataset_pipeline() -> Value {
    json!({
        "name": "fuel table",
        "type": "referenceDatasets",
        "tags": {"source": "pipeline"},
        "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
        "transformer": {
            "parameters": [],
            "transforms": [
                {"index": 0, "formula": "'fuel_factors'", "outputs": [{"index": 0, "key": "name", "type": "string"}]},
                {"index": 1, "formula": "'Factors per fuel'", "outputs": [{"index": 0, "key": "description", "type": "string"}]},
                {"index": 2, "formula": "'ops'", "outputs": [{"index": 0, "key": "tag_team", "type": "string"}]}
            ]
        }
    })
}

#[tokio::test]
async fn reference_dataset_pipelines_publish_their_input() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        groups(&server, &root).await;
        let id = new_pipeline(&server, &root, dataset_pipeline()).await;

        let inline = server
            .call(
                Method::POST,
                &executions(&id),
                &root,
                Some(GROUP),
                Some(json!({"mode": "inline", "inlineExecutionOptions": {"inputs": [{}]}})),
            )
            .await;
        assert_eq!(inline.status, 400, "{}", inline.body);

        let first = "fuel,factor\ndiesel,2.68\nnatural gas,53.06\n";
        let done = run_job(&server, &root, &id, first, json!({"tags": {"batch": "1"}})).await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);
        let execution = done["id"].as_str().expect("an id").to_owned();
        let dataset = named(
            &server,
            &root,
            "/referenceDatasets/referenceDatasets",
            "fuel_factors",
        )
        .await;
        assert_eq!(dataset["description"], "Factors per fuel");
        assert_eq!(dataset["datasetHeaders"], json!(["fuel", "factor"]));
        assert_eq!(dataset["status"], "success");
        assert_eq!(dataset["state"], "enabled");
        assert_eq!(
            dataset["tags"],
            json!({"batch": "1", "executionId": execution, "pipelineId": id,
                   "source": "pipeline", "team": "ops"})
        );
        let dataset_id = dataset["id"].as_str().expect("an id").to_owned();
        let data = server
            .client
            .get(server.url(&format!(
                "/referenceDatasets/referenceDatasets/{dataset_id}/data"
            )))
            .header("accept-version", "1.0.0")
            .header("accept", "text/csv")
            .header("x-groupcontextid", GROUP)
            .bearer_auth(&root)
            .send()
            .await
            .expect("data")
            .text()
            .await
            .expect("text");
        assert_eq!(data, first);

        // LOOKUP reads the published dataset.
        let lookup_id = new_pipeline(
            &server,
            &root,
            json!({
                "name": "looked up",
                "type": "data",
                "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
                "transformer": {
                    "parameters": [{"index": 0, "key": "fuel", "type": "string"}],
                    "transforms": [{"index": 0, "formula": "LOOKUP(:fuel,'fuel_factors','fuel','factor')",
                                    "outputs": [{"index": 0, "key": "factor", "type": "string"}]}]
                }
            }),
        )
        .await;
        let looked_up = run_job(
            &server,
            &root,
            &lookup_id,
            "fuel\nnatural gas\ndiesel\n",
            json!({}),
        )
        .await;
        assert_eq!(looked_up["status"], "success", "{looked_up}");
        assert_eq!(
            result(&server, &root, &lookup_id, &looked_up).await,
            "factor\n53.06\n2.68\n"
        );

        // A second file becomes a new version of the same dataset.
        let second = "fuel,factor,unit\ndiesel,2.75,litre\n";
        let done = run_job(&server, &root, &id, second, json!({})).await;
        assert_eq!(done["status"], "success", "{done}");
        let updated = named(
            &server,
            &root,
            "/referenceDatasets/referenceDatasets",
            "fuel_factors",
        )
        .await;
        assert_eq!(updated["id"], dataset_id.as_str());
        assert_eq!(updated["version"], 2);
        assert_eq!(updated["datasetHeaders"], json!(["fuel", "factor", "unit"]));
        assert_eq!(updated["tags"]["executionId"], done["id"]);
        let looked_up = run_job(&server, &root, &lookup_id, "fuel\ndiesel\n", json!({})).await;
        assert_eq!(
            result(&server, &root, &lookup_id, &looked_up).await,
            "factor\n2.75\n"
        );

        // A file whose header cannot name a dataset's columns is refused before any change;
        // one whose rows cannot be read fails the new version. Each says why.
        let done = run_job(&server, &root, &id, "fuel,fuel\na,b\n", json!({})).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(
            done["statusMessage"],
            "Unable create reference dataset: The CSV header 'fuel' appears twice, in columns 1 and 2."
        );
        let unchanged = named(
            &server,
            &root,
            "/referenceDatasets/referenceDatasets",
            "fuel_factors",
        )
        .await;
        assert_eq!(unchanged["version"], 2);
        let done = run_job(
            &server,
            &root,
            &id,
            "fuel,factor\ndiesel,2.7,litre\n",
            json!({}),
        )
        .await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(
            done["statusMessage"],
            "failed when creating reference dataset: Line 2 of the CSV file has 3 values, but the header row has 2 columns."
        );
        let failed = named(
            &server,
            &root,
            "/referenceDatasets/referenceDatasets",
            "fuel_factors",
        )
        .await;
        assert_eq!(
            (failed["version"].as_u64(), failed["status"].as_str()),
            (Some(3), Some("failed"))
        );
        // The failed version disabled the dataset: it takes no new file until it is enabled.
        let done = run_job(&server, &root, &id, second, json!({})).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(
            done["statusMessage"],
            format!(
                "Unable create reference dataset: Cannot update {dataset_id} since its current state is disabled"
            )
        );
        server.finish().await;
    }
}

fn scaled_pipeline() -> Value {
    json!({
        "name": "scaled",
        "type": "data",
        "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector",
                                       "parameters": {"delimiter": ";"}}]},
        "transformer": {
            "parameters": [
                {"index": 0, "key": "a", "type": "number"},
                {"index": 1, "key": "b", "type": "number"}
            ],
            "transforms": [
                {"index": 0, "formula": ":a*:b", "outputs": [{"index": 0, "key": "product", "type": "number"}]}
            ]
        }
    })
}

#[tokio::test]
async fn connector_overrides_apply_to_one_execution() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        groups(&server, &root).await;
        let id = new_pipeline(&server, &root, scaled_pipeline()).await;
        let product = |a: &str, b: &str| (decimal(a) * decimal(b)).normalize().to_string();

        // The pipeline's delimiter.
        let done = run_job(&server, &root, &id, "a;b\n2;3\n1.5;4\n", json!({})).await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);
        assert_eq!(
            result(&server, &root, &id, &done).await,
            format!("product\n{}\n{}\n", product("2", "3"), product("1.5", "4"))
        );

        // One execution's own delimiter, and rows it cannot split skipped without an error.
        let overrides =
            json!({"connectorOverrides": {"delimiter": "|", "skipParsingErrors": true}});
        let done = run_job(
            &server,
            &root,
            &id,
            "a|b\n7|0.5\n1|2|3\n-2|2.5\n",
            overrides,
        )
        .await;
        assert_eq!(done["status"], "success", "{done}");
        assert_eq!(done["connectorOverrides"]["delimiter"], "|");
        assert_eq!(
            result(&server, &root, &id, &done).await,
            format!(
                "product\n{}\n{}\n",
                product("7", "0.5"),
                product("-2", "2.5")
            )
        );
        // The next execution is back to the pipeline's.
        let done = run_job(&server, &root, &id, "a;b\n3;3\n", json!({})).await;
        assert_eq!(result(&server, &root, &id, &done).await, "product\n9\n");

        // Overrides the connector does not declare are refused, and no execution is made.
        let refused = server
            .call(
                Method::POST,
                &executions(&id),
                &root,
                Some(GROUP),
                Some(
                    json!({"connectorOverrides": {"delimiter": ",", "colour": "red", "shade": 1}}),
                ),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.message().contains("[colour, shade]")
                && refused
                    .message()
                    .contains("sif-csv-pipeline-input-connector"),
            "{}",
            refused.message()
        );
        let bad = server
            .call(
                Method::POST,
                &executions(&id),
                &root,
                Some(GROUP),
                Some(json!({"connectorOverrides": {"delimiter": "||"}})),
            )
            .await;
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert!(bad.message().contains("delimiter"), "{}", bad.message());
        let listed = call(&server, &root, GROUP, Method::GET, &executions(&id), None).await;
        assert_eq!(listed["executions"].as_array().map(Vec::len), Some(3));
        server.finish().await;
    }
}

/// Pipeline A: meter readings (date, meter, kWh) as activities keyed by meter.
fn readings() -> Value {
    json!({
        "name": "readings",
        "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
        "transformer": {
            "parameters": [
                {"index": 0, "key": "date", "type": "string"},
                {"index": 1, "key": "meter", "type": "string"},
                {"index": 2, "key": "kwh", "type": "number"}
            ],
            "transforms": [
                {"index": 0, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy')", "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": ":meter", "outputs": [{"index": 0, "key": "meter", "type": "string", "includeAsUnique": true}]},
                {"index": 2, "formula": ":kwh", "outputs": [{"index": 0, "key": "kwh", "type": "number"}]}
            ]
        }
    })
}

/// Pipeline B: reads A's activities and derives kg CO2 from their kWh.
fn emissions(name: &str, source: &str) -> Value {
    json!({
        "name": name,
        "connectorConfig": {"input": [{"name": "sif-activity-pipeline-input-connector",
                                       "parameters": {"pipelineId": source}}]},
        "transformer": {
            "parameters": [
                {"index": 0, "key": "time", "type": "string"},
                {"index": 1, "key": "meter", "type": "string"},
                {"index": 2, "key": "kwh", "type": "number"}
            ],
            "transforms": [
                {"index": 0, "formula": "AS_TIMESTAMP(:time,'yyyy-MM-dd\\'T\\'HH:mm:ssX')", "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": ":meter", "outputs": [{"index": 0, "key": "meter", "type": "string", "includeAsUnique": true}]},
                {"index": 2, "formula": ":kwh*0.4", "outputs": [{"index": 0, "key": "co2", "type": "number"}]}
            ]
        }
    })
}

/// A pipeline's latest activities in the group: meter → (date, value of `output`).
async fn latest(
    server: &TestServer,
    token: &str,
    pipeline: &str,
    output: &str,
) -> BTreeMap<String, (String, Decimal)> {
    let body = call(
        server,
        token,
        GROUP,
        Method::GET,
        &format!("/pipelineProcessor/activities?pipelineId={pipeline}"),
        None,
    )
    .await;
    body["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .map(|a| {
            (
                a["meter"].as_str().unwrap_or_default().to_owned(),
                (
                    a["date"].as_str().unwrap_or_default().to_owned(),
                    decimal(&a[output].to_string()).normalize(),
                ),
            )
        })
        .collect()
}

/// Creates a job execution that reads activities (no upload) and waits for it.
async fn run_reading(server: &TestServer, token: &str, pipeline: &str, body: Value) -> Value {
    let execution = created(server, token, GROUP, &executions(pipeline), body).await;
    assert_eq!(execution["status"], "in_progress", "{execution}");
    assert!(execution.get("inputUploadUrl").is_none(), "{execution}");
    let id = execution["id"].as_str().expect("an id");
    finished(server, token, pipeline, id).await
}

#[tokio::test]
async fn activity_connector_reads_another_pipelines_activities() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        groups(&server, &root).await;
        let a = new_pipeline(&server, &root, readings()).await;
        let b = new_pipeline(&server, &root, emissions("emissions", &a)).await;

        let first = [
            ("1/15/2023", "m1", "100"),
            ("1/20/2023", "m2", "12.5"),
            ("2/1/2023", "m3", "0.4"),
        ];
        let mut csv = String::from("date,meter,kwh\n");
        for (date, meter, kwh) in first {
            csv.push_str(&format!("{date},{meter},{kwh}\n"));
        }
        let done = run_job(&server, &root, &a, &csv, json!({})).await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);

        // B reads A's latest activities: one of its own per meter, kg CO2 = kWh × 0.4.
        let done = run_reading(&server, &root, &b, json!({})).await;
        assert_eq!(done["status"], "success", "{}: {done}", server.backend);
        assert_eq!(done["rows"]["rowsRead"], 3);
        let from_a = latest(&server, &root, &a, "kwh").await;
        let expected: BTreeMap<String, (String, Decimal)> = from_a
            .iter()
            .map(|(meter, (date, kwh))| {
                (
                    meter.clone(),
                    (date.clone(), (*kwh * decimal("0.4")).normalize()),
                )
            })
            .collect();
        assert_eq!(expected.len(), 3);
        assert_eq!(latest(&server, &root, &b, "co2").await, expected);
        assert_eq!(
            expected["m1"],
            ("2023-01-15T00:00:00Z".to_owned(), decimal("40"))
        );

        // A second file for A changes m1 and adds m4; B reading only that execution's versions
        // writes new versions for those two meters and leaves the others.
        let done = run_job(
            &server,
            &root,
            &a,
            "date,meter,kwh\n1/15/2023,m1,150\n3/3/2023,m4,8\n",
            json!({}),
        )
        .await;
        assert_eq!(done["status"], "success", "{done}");
        let second = done["id"].as_str().expect("an id").to_owned();
        let done = run_reading(
            &server,
            &root,
            &b,
            json!({"connectorOverrides": {"executionId": second}}),
        )
        .await;
        assert_eq!(done["status"], "success", "{done}");
        assert_eq!(done["rows"]["rowsRead"], 2);
        let mut expected = expected;
        expected.insert("m1".into(), ("2023-01-15T00:00:00Z".into(), decimal("60")));
        expected.insert(
            "m4".into(),
            (
                "2023-03-03T00:00:00Z".into(),
                (decimal("8") * decimal("0.4")).normalize(),
            ),
        );
        assert_eq!(latest(&server, &root, &b, "co2").await, expected);

        // An execution of another pipeline is refused as the source.
        let wrong = server
            .call(
                Method::POST,
                &executions(&b),
                &root,
                Some(GROUP),
                Some(json!({"connectorOverrides": {"executionId": done["id"]}})),
            )
            .await;
        assert_eq!(wrong.status, 400, "{}", wrong.body);

        // A pipeline without a source, or in a group that cannot see the source pipeline.
        let mut sourceless = emissions("sourceless", &a);
        sourceless["connectorConfig"]["input"][0]["parameters"] = json!({});
        let sourceless = new_pipeline(&server, &root, sourceless).await;
        let refused = server
            .call(
                Method::POST,
                &executions(&sourceless),
                &root,
                Some(GROUP),
                Some(json!({})),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.message().contains("pipelineId"),
            "{}",
            refused.message()
        );
        let elsewhere = created(
            &server,
            &root,
            "/other",
            "/pipelines/pipelines",
            emissions("elsewhere", &a),
        )
        .await;
        let hidden = server
            .call(
                Method::POST,
                &executions(elsewhere["id"].as_str().expect("an id")),
                &root,
                Some("/other"),
                Some(json!({})),
            )
            .await;
        assert_eq!(hidden.status, 403, "{}", hidden.body);
        server.finish().await;
    }
}
