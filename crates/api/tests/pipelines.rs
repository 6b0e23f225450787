//! `/pipelines` over HTTP: connectors (the built-in ones included), pipeline definitions with
//! their validation, verbose internals and dry runs, and metrics with their links.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Options, TestServer, servers};

const CSV: &str = "sif-csv-pipeline-input-connector";

/// An activities pipeline: a date and the sum of two numbers, unique by `site`.
fn adder(name: &str) -> Value {
    json!({
        "name": name,
        "description": "adds a and b",
        "connectorConfig": {"input": [{"name": CSV, "parameters": {"delimiter": ";"}}]},
        "attributes": {"owner": "ops", "gone": null},
        "transformer": {
            "parameters": [
                {"index": 0, "key": "reading_date", "label": "reading date", "type": "string"},
                {"index": 1, "key": "site", "type": "string"},
                {"index": 2, "key": "a", "type": "number"},
                {"index": 3, "key": "b", "type": "number"}
            ],
            "transforms": [
                {"index": 0, "formula": "AS_TIMESTAMP(:reading_date,'M/d/yy')",
                 "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                {"index": 1, "formula": "UPPERCASE(:site)",
                 "outputs": [{"index": 0, "key": "site", "type": "string", "includeAsUnique": true}]},
                {"index": 2, "formula": ":a+:b",
                 "outputs": [{"index": 0, "key": "sum", "type": "number"}]}
            ]
        },
        "tags": {"source": "Meters/Electric"}
    })
}

async fn call(
    server: &TestServer,
    token: &str,
    group: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> crate::support::Reply {
    server.call(method, path, token, Some(group), body).await
}

async fn list(server: &TestServer, token: &str, group: &str, plural: &str) -> Vec<Value> {
    let reply = call(
        server,
        token,
        group,
        Method::GET,
        &format!("/pipelines/{plural}"),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}: {}", server.backend, reply.body);
    reply.body[plural].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn built_in_connectors_exist_and_are_managed() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/k").await;
        let listed = list(&server, &root, "/", "connectors").await;
        let mut names: Vec<&str> = listed.iter().filter_map(|c| c["name"].as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            vec![
                "sif-activity-pipeline-input-connector",
                "sif-cleanRooms-pipeline-input-connector",
                "sif-csv-pipeline-input-connector",
                "sif-dataFabric-pipeline-output-connector",
                "sif-kinesis-pipeline-input-connector",
            ]
        );
        assert!(
            listed
                .iter()
                .all(|c| c["isManaged"] == true && c["groups"][0] == "/")
        );
        let csv = listed
            .iter()
            .find(|c| c["name"] == CSV)
            .expect("the CSV connector");
        assert_eq!(csv["type"], "input");
        assert_eq!(csv["requiresFileUpload"], true);
        let id = csv["id"].as_str().expect("an id");

        // Managed connectors are neither created nor deleted by users.
        let managed = call(
            &server,
            &root,
            "/k",
            Method::POST,
            "/pipelines/connectors",
            Some(json!({"name": "mine", "type": "input", "isManaged": true})),
        )
        .await;
        assert_eq!(managed.status, 400, "{}", managed.body);
        let delete = call(
            &server,
            &root,
            "/",
            Method::DELETE,
            &format!("/pipelines/connectors/{id}"),
            None,
        )
        .await;
        assert_eq!(
            (delete.status.as_u16(), delete.message()),
            (
                400,
                "Connector 'sif-csv-pipeline-input-connector' is managed by the system and cannot be deleted."
            )
        );

        // A user's own connector.
        let created = call(&server, &root, "/k", Method::POST, "/pipelines/connectors",
            Some(json!({"name": "my-input", "type": "input", "parameters": [{"name": "region", "defaultValue": "eu"}], "tags": {"kind": "Custom"}}))).await;
        assert_eq!(created.status, 201, "{}: {}", server.backend, created.body);
        assert_eq!(
            (
                created.body["isManaged"].as_bool(),
                created.body["requiresFileUpload"].as_bool()
            ),
            (Some(false), Some(false))
        );
        let own = created.body["id"].as_str().expect("an id").to_owned();
        let again = call(
            &server,
            &root,
            "/k",
            Method::POST,
            "/pipelines/connectors",
            Some(json!({"name": "My-Input", "type": "output"})),
        )
        .await;
        assert_eq!(
            (again.status.as_u16(), again.message()),
            (409, "Name 'My-Input' already in use.")
        );
        let patched = call(
            &server,
            &root,
            "/k",
            Method::PATCH,
            &format!("/pipelines/connectors/{own}"),
            Some(json!({"description": "reads from the region"})),
        )
        .await;
        assert_eq!(
            patched.body["description"], "reads from the region",
            "{}",
            patched.body
        );
        let tags = call(
            &server,
            &root,
            "/k",
            Method::GET,
            "/pipelines/tags/kind?resourceType=connector",
            None,
        )
        .await;
        assert_eq!(
            tags.body["values"],
            json!({"custom": "Custom"}),
            "{}",
            tags.body
        );
        let no_type = call(
            &server,
            &root,
            "/k",
            Method::GET,
            "/pipelines/tags/kind",
            None,
        )
        .await;
        assert_eq!(
            (no_type.status.as_u16(), no_type.message()),
            (
                400,
                "querystring must have required property 'resourceType'"
            )
        );
        let deleted = call(
            &server,
            &root,
            "/k",
            Method::DELETE,
            &format!("/pipelines/connectors/{own}"),
            None,
        )
        .await;
        assert_eq!(deleted.status, 204);
        server.finish().await;
    }
}

#[tokio::test]
async fn pipelines_are_validated_versioned_and_dry_run() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/p").await;
        let ctx = "/p";

        // A dry run as SIF's tests do it: the date in epoch milliseconds, then the outputs.
        let mut dry = adder("adder");
        dry["dryRunOptions"] = json!({"data": [
            {"reading_date": "1/1/22", "site": "north", "a": "10", "b": "10"},
            {"reading_date": "1/2/22", "site": "south", "a": "0.1", "b": "0.2"}
        ]});
        let reply = call(
            &server,
            &root,
            ctx,
            Method::POST,
            "/pipelines/pipelines?dryRun=true",
            Some(dry.clone()),
        )
        .await;
        assert_eq!(reply.status, 200, "{}: {}", server.backend, reply.body);
        assert_eq!(
            reply.body,
            json!({
                "headers": ["time", "site", "sum"],
                "data": [
                    "{\"time\":1640995200000,\"site\":\"NORTH\",\"sum\":20}",
                    "{\"time\":1641081600000,\"site\":\"SOUTH\",\"sum\":0.3}"
                ]
            })
        );
        assert!(
            list(&server, &root, ctx, "pipelines").await.is_empty(),
            "a dry run stores nothing"
        );

        let created = call(
            &server,
            &root,
            ctx,
            Method::POST,
            "/pipelines/pipelines",
            Some(adder("adder")),
        )
        .await;
        assert_eq!(created.status, 201, "{}: {}", server.backend, created.body);
        let id = created.body["id"].as_str().expect("an id").to_owned();
        assert_eq!(created.headers["x-pipelineid"].to_str().expect("text"), id);
        let body = &created.body;
        assert_eq!(
            (
                body["type"].as_str(),
                body["state"].as_str(),
                body["version"].as_u64(),
                body["attributes"].clone()
            ),
            (
                Some("activities"),
                Some("enabled"),
                Some(1),
                json!({"owner": "ops", "gone": null})
            )
        );
        assert!(body.get("_aggregatedOutputKeyAndTypeMap").is_none());
        assert!(
            body["transformer"]["transforms"][1]["outputs"][0]
                .get("_keyMapping")
                .is_none()
        );

        let item = format!("/pipelines/pipelines/{id}");
        let verbose = call(
            &server,
            &root,
            ctx,
            Method::GET,
            &format!("{item}?verbose=true"),
            None,
        )
        .await;
        assert_eq!(
            verbose.body["transformer"]["transforms"][1]["outputs"][0]["_keyMapping"],
            "key1"
        );
        assert_eq!(
            verbose.body["_aggregatedOutputKeyAndTypeMap"],
            json!({"site": "string", "sum": "number"})
        );

        // A new version: a renamed output joins the map of output types kept across versions.
        let mut transformer = adder("adder")["transformer"].clone();
        transformer["transforms"][2]["outputs"][0]["key"] = json!("total");
        let patched = call(
            &server,
            &root,
            ctx,
            Method::PATCH,
            &item,
            Some(json!({"transformer": transformer, "description": "v2"})),
        )
        .await;
        assert_eq!(patched.status, 200, "{}: {}", server.backend, patched.body);
        assert_eq!(
            (
                patched.body["version"].as_u64(),
                patched.body["description"].as_str()
            ),
            (Some(2), Some("v2"))
        );
        let verbose = call(
            &server,
            &root,
            ctx,
            Method::GET,
            &format!("{item}/versions/2?verbose=true"),
            None,
        )
        .await;
        assert_eq!(
            verbose.body["_aggregatedOutputKeyAndTypeMap"],
            json!({"site": "string", "sum": "number", "total": "number"})
        );
        let first = call(
            &server,
            &root,
            ctx,
            Method::GET,
            &format!("{item}/versions/1"),
            None,
        )
        .await;
        assert_eq!(
            first.body["transformer"]["transforms"][2]["outputs"][0]["key"],
            "sum"
        );
        let versions = call(
            &server,
            &root,
            ctx,
            Method::GET,
            &format!("{item}/versions"),
            None,
        )
        .await;
        assert_eq!(versions.body["pipelines"].as_array().map(Vec::len), Some(2));

        // Unique outputs cannot change once the pipeline exists.
        let mut unique = transformer.clone();
        unique["transforms"][1]["outputs"][0]["includeAsUnique"] = json!(false);
        let refused = call(
            &server,
            &root,
            ctx,
            Method::PATCH,
            &item,
            Some(json!({"transformer": unique})),
        )
        .await;
        assert_eq!(refused.status, 400);
        assert!(
            refused
                .message()
                .contains("includeAsUnique cannot be changed"),
            "{}",
            refused.message()
        );

        // PATCH with ?dryRun=true runs the changed definition and keeps version 2.
        let dry_patch = call(&server, &root, ctx, Method::PATCH, &format!("{item}?dryRun=true"),
            Some(json!({"dryRunOptions": {"data": [{"reading_date": "12/31/22", "site": "x", "a": "1", "b": "2"}]}}))).await;
        assert_eq!(dry_patch.status, 200, "{}", dry_patch.body);
        assert_eq!(dry_patch.body["headers"], json!(["time", "site", "total"]));
        assert_eq!(
            dry_patch.body["data"],
            json!(["{\"time\":1672444800000,\"site\":\"X\",\"total\":3}"])
        );
        let latest = call(&server, &root, ctx, Method::GET, &item, None).await;
        assert_eq!(latest.body["version"], 2);

        let tags = call(
            &server,
            &root,
            ctx,
            Method::GET,
            "/pipelines/tags/source?resourceType=pipeline",
            None,
        )
        .await;
        assert_eq!(
            tags.body["values"],
            json!({"meters": "Meters"}),
            "{}",
            tags.body
        );

        let deleted = call(&server, &root, ctx, Method::DELETE, &item, None).await;
        assert_eq!(deleted.status, 204);
        let gone = call(&server, &root, ctx, Method::GET, &item, None).await;
        assert_eq!(gone.status, 404);
        server.finish().await;
    }
}

#[tokio::test]
async fn invalid_pipelines_are_refused_and_not_stored() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/v").await;
        let ctx = "/v";
        let attempt = |body: Value| {
            let (server, root) = (&server, &root);
            async move {
                let reply = call(
                    server,
                    root,
                    ctx,
                    Method::POST,
                    "/pipelines/pipelines",
                    Some(body),
                )
                .await;
                (reply.status.as_u16(), reply.message().to_owned())
            }
        };

        let mut no_connector = adder("p");
        no_connector
            .as_object_mut()
            .expect("object")
            .remove("connectorConfig");
        let (status, message) = attempt(no_connector).await;
        assert_eq!(status, 400);
        assert!(
            message.starts_with("Input connector config is required"),
            "{message}"
        );

        let mut unknown = adder("p");
        unknown["connectorConfig"]["input"][0]["name"] = json!("nope");
        assert_eq!(
            attempt(unknown).await,
            (404, "Connector nope not found.".to_owned())
        );

        let mut undeclared = adder("p");
        undeclared["connectorConfig"]["input"][0]["parameters"] = json!({"separator": ";"});
        let (status, message) = attempt(undeclared).await;
        assert_eq!(status, 400);
        assert!(
            message.contains("does not declare the parameters [separator]"),
            "{message}"
        );

        let mut missing_parameter = adder("p");
        missing_parameter["transformer"]["transforms"][2]["formula"] = json!(":a+:c");
        assert_eq!(
            attempt(missing_parameter).await,
            (400, "transform 2 (output 'sum'): Formula ':a+:c' does not compile: Line 1:3 Provided token 'c' not found as a pipeline parameter or variable.".to_owned())
        );

        let mut syntax = adder("p");
        syntax["transformer"]["transforms"][2]["formula"] = json!("(:a+:b");
        let (status, message) = attempt(syntax).await;
        assert_eq!(status, 400);
        assert!(
            message.starts_with(
                "transform 2 (output 'sum'): Formula '(:a+:b' does not compile: Line 1:"
            ),
            "{message}"
        );

        let mut first_not_time = adder("p");
        first_not_time["transformer"]["transforms"][0]["outputs"][0]["type"] = json!("string");
        let (status, message) = attempt(first_not_time).await;
        assert_eq!(status, 400);
        assert!(message.contains("must be of type timestamp"), "{message}");

        let mut unknown_metric = adder("p");
        unknown_metric["transformer"]["transforms"][2]["outputs"][0]["metrics"] =
            json!(["nothing"]);
        let (status, message) = attempt(unknown_metric).await;
        assert_eq!(status, 400);
        assert!(
            message.contains("feeds metric 'nothing', which is not defined"),
            "{message}"
        );

        let mut failing = adder("p");
        failing["dryRunOptions"] =
            json!({"data": [{"reading_date": "1/1/22", "site": "n", "a": "x", "b": "1"}]});
        let (status, message) = attempt(failing).await;
        assert_eq!(status, 400);
        assert!(message.contains("Failed processing row"), "{message}");

        let chunk = {
            let mut body = adder("p");
            body["processorOptions"] = json!({"chunkSize": 9});
            body
        };
        let (status, message) = attempt(chunk).await;
        assert_eq!(status, 400);
        assert!(
            message.starts_with("body/processorOptions/chunkSize"),
            "{message}"
        );

        assert!(list(&server, &root, ctx, "pipelines").await.is_empty());

        // Unknown ids answer 404 in SIF's words for each kind.
        let unknown = "01kb00000000000000000000zz";
        for (plural, message) in [
            ("pipelines", format!("Pipeline {unknown} not found.")),
            ("metrics", format!("Metric '{unknown}' cannot be found")),
            ("connectors", format!("Connector {unknown} not found.")),
        ] {
            let path = format!("/pipelines/{plural}/{unknown}");
            let reply = call(&server, &root, ctx, Method::GET, &path, None).await;
            assert_eq!(reply.status, 404, "{}", reply.body);
            assert_eq!(reply.message(), message);
        }
        server.finish().await;
    }
}

#[tokio::test]
async fn metrics_keep_their_links() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/m").await;
        server.group(&root, "/m/q").await;
        let ctx = "/m";
        let metric = |name: &str, outputs: &[&str]| json!({"name": name, "summary": name, "aggregationType": "sum", "outputMetrics": outputs});
        let post = |body: Value, group: &'static str| {
            let (server, root) = (&server, &root);
            async move {
                call(
                    server,
                    root,
                    group,
                    Method::POST,
                    "/pipelines/metrics",
                    Some(body),
                )
                .await
            }
        };
        let get = |id: String| {
            let (server, root) = (&server, &root);
            async move {
                call(
                    server,
                    root,
                    ctx,
                    Method::GET,
                    &format!("/pipelines/metrics/{id}"),
                    None,
                )
                .await
                .body
            }
        };

        let ghg = post(metric("ghg", &[]), ctx).await;
        assert_eq!(ghg.status, 201, "{}: {}", server.backend, ghg.body);
        let ghg_id = ghg.body["id"].as_str().expect("an id").to_owned();
        assert_eq!(ghg.headers["x-metricid"].to_str().expect("text"), ghg_id);

        let mut max = metric("peak", &[]);
        max["aggregationType"] = json!("max");
        let refused = post(max, ctx).await;
        assert_eq!(
            (refused.status.as_u16(), refused.message()),
            (501, "Only sum aggregation type is supported for now.")
        );

        let scope1 = post(metric("scope1", &["ghg"]), ctx).await;
        assert_eq!(scope1.status, 201, "{}", scope1.body);
        let scope1_id = scope1.body["id"].as_str().expect("an id").to_owned();
        let ghg_now = get(ghg_id.clone()).await;
        assert_eq!(
            (ghg_now["inputMetrics"].clone(), ghg_now["version"].as_u64()),
            (json!(["scope1"]), Some(2))
        );

        let duplicate = post(metric("GHG", &[]), "/m/q").await;
        assert_eq!(
            (duplicate.status.as_u16(), duplicate.message()),
            (409, "Name 'GHG' already in use.")
        );
        let missing = post(metric("other", &["nope", "ghg"]), ctx).await;
        assert_eq!(
            (missing.status.as_u16(), missing.message()),
            (400, "These parent metrics [nope] do not exist")
        );

        let cycle = call(
            &server,
            &root,
            ctx,
            Method::PATCH,
            &format!("/pipelines/metrics/{ghg_id}"),
            Some(json!({"outputMetrics": ["scope1"]})),
        )
        .await;
        assert_eq!(
            (cycle.status.as_u16(), cycle.message()),
            (
                400,
                "There is circular reference pointing back to metric ghg from scope1"
            )
        );

        // `twice` would reach ghg both directly and through scope1.
        let twice = post(metric("twice", &["scope1", "ghg"]), ctx).await;
        assert_eq!(
            (twice.status.as_u16(), twice.message()),
            (400, "This metric ghg exists in multiple path")
        );

        // A pipeline may feed scope1 but not ghg, which other metrics feed.
        let mut feeds_ghg = adder("feeder");
        feeds_ghg["transformer"]["transforms"][2]["outputs"][0]["metrics"] = json!(["ghg"]);
        let refused = call(
            &server,
            &root,
            ctx,
            Method::POST,
            "/pipelines/pipelines",
            Some(feeds_ghg),
        )
        .await;
        assert_eq!(refused.status, 400);
        assert!(
            refused
                .message()
                .contains("metric 'ghg' is fed by other metrics"),
            "{}",
            refused.message()
        );

        let leaf = post(metric("electricity", &[]), ctx).await;
        let leaf_id = leaf.body["id"].as_str().expect("an id").to_owned();
        let mut feeder = adder("feeder");
        feeder["transformer"]["transforms"][2]["outputs"][0]["metrics"] = json!(["electricity"]);
        let pipeline = call(
            &server,
            &root,
            ctx,
            Method::POST,
            "/pipelines/pipelines",
            Some(feeder),
        )
        .await;
        assert_eq!(pipeline.status, 201, "{}", pipeline.body);
        let pipeline_id = pipeline.body["id"].as_str().expect("an id").to_owned();
        assert_eq!(
            get(leaf_id.clone()).await["inputPipelines"],
            json!([{"pipelineId": pipeline_id, "output": "sum"}])
        );
        let fed_target = post(metric("upper", &[]), ctx).await;
        assert_eq!(fed_target.status, 201);
        let has_pipeline = call(
            &server,
            &root,
            ctx,
            Method::PATCH,
            &format!("/pipelines/metrics/{leaf_id}"),
            Some(json!({"outputMetrics": ["upper"]})),
        )
        .await;
        assert_eq!(
            has_pipeline.status, 200,
            "a pipeline-fed metric may roll up: {}",
            has_pipeline.body
        );
        let into_fed = post(metric("below", &["electricity"]), ctx).await;
        assert_eq!(
            (into_fed.status.as_u16(), into_fed.message()),
            (
                400,
                "These output metrics [electricity] has pipeline as an input"
            )
        );

        // Metrics in use are kept; links go when their source goes.
        let in_use = call(
            &server,
            &root,
            ctx,
            Method::DELETE,
            &format!("/pipelines/metrics/{leaf_id}"),
            None,
        )
        .await;
        assert_eq!(
            (in_use.status.as_u16(), in_use.message()),
            (
                400,
                "metric electricity cannot be deleted because it is an output metric of another metric or pipeline"
            )
        );
        let removed = call(
            &server,
            &root,
            ctx,
            Method::DELETE,
            &format!("/pipelines/pipelines/{pipeline_id}"),
            None,
        )
        .await;
        assert_eq!(removed.status, 204);
        assert_eq!(get(leaf_id.clone()).await["inputPipelines"], json!([]));
        let removed = call(
            &server,
            &root,
            ctx,
            Method::DELETE,
            &format!("/pipelines/metrics/{scope1_id}"),
            None,
        )
        .await;
        assert_eq!(removed.status, 204);
        assert_eq!(get(ghg_id).await["inputMetrics"], json!([]));

        server.finish().await;
    }
}
