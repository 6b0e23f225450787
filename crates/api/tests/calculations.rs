//! `/calculations` over HTTP: create, versions, dry runs, formulas refused when saved, and
//! calculations calling calculations found by name in the group in context or its ancestors.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Options, TestServer, servers};

fn custom_add(name: &str) -> Value {
    json!({
        "name": name,
        "activeAt": "2023-02-21T14:48:00.000Z",
        "summary": "Adds 2 numbers.",
        "formula": ":left+:right",
        "parameters": [
            {"index": 0, "key": "left", "label": "left", "description": "left side of operand", "type": "number"},
            {"index": 1, "key": "right", "label": "right", "description": "right side of operand", "type": "number"}
        ],
        "outputs": [{"name": "sum", "description": "The total.", "type": "number"}],
        "tags": {"datasource": "GHG Protocol", "type": "Material/Metal/Steel"},
        "hello": "world"
    })
}

/// The names of the calculations of `group`.
async fn names(server: &TestServer, token: &str, group: &str) -> Vec<String> {
    let reply = server
        .call(
            Method::GET,
            "/calculations/calculations",
            token,
            Some(group),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}: {}", server.backend, reply.body);
    reply.body["calculations"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn calculations_are_created_versioned_and_dry_run() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/c").await;
        let ctx = Some("/c");
        let base = "/calculations/calculations";

        let created = server
            .call(
                Method::POST,
                base,
                &root,
                ctx,
                Some(custom_add("custom_add")),
            )
            .await;
        assert_eq!(created.status, 201, "{}: {}", server.backend, created.body);
        let id = created.body["id"].as_str().expect("an id").to_owned();
        assert_eq!(
            created.headers["x-calculationid"].to_str().expect("text"),
            id
        );
        let body = &created.body;
        assert_eq!(
            (
                body["name"].as_str(),
                body["version"].as_u64(),
                body["formula"].as_str(),
                body["activeAt"].as_str(),
                body["state"].as_str(),
                body["tags"]["type"].as_str(),
                body["parameters"].as_array().map(Vec::len),
                body["outputs"][0]["name"].as_str(),
                body["groups"][0].as_str(),
            ),
            (
                Some("custom_add"),
                Some(1),
                Some(":left+:right"),
                Some("2023-02-21T14:48:00.000Z"),
                Some("enabled"),
                Some("Material/Metal/Steel"),
                Some(2),
                Some("sum"),
                Some("/c"),
            )
        );
        assert!(body.get("hello").is_none(), "unknown fields are dropped");

        // The same name in the same group is refused; in a child group it is allowed.
        let duplicate = server
            .call(
                Method::POST,
                base,
                &root,
                ctx,
                Some(custom_add("Custom_Add")),
            )
            .await;
        assert_eq!(
            (duplicate.status.as_u16(), duplicate.message()),
            (409, "Name 'Custom_Add' already in use.")
        );

        // A dry run of the stored calculation with sample rows changes nothing.
        let item = format!("{base}/{id}");
        let dry = server
            .call(
                Method::PATCH,
                &format!("{item}?dryRun=true"),
                &root,
                ctx,
                Some(json!({"dryRunOptions": {"data": [{"left": "10", "right": "10"}, {"left": "2.5", "right": "-4"}]}})),
            )
            .await;
        assert_eq!(dry.status, 200, "{}: {}", server.backend, dry.body);
        assert_eq!(
            dry.body,
            json!({"headers": ["sum"], "data": ["20", "-1.5"]})
        );
        let latest = server.call(Method::GET, &item, &root, ctx, None).await;
        assert_eq!(latest.body["version"], 1);

        // A new version with a third parameter.
        let changed = server
            .call(
                Method::PATCH,
                &item,
                &root,
                ctx,
                Some(json!({
                    "summary": "Adds 3 numbers.",
                    "activeAt": "2023-02-21T15:48:00.000Z",
                    "formula": ":left+:right+:another",
                    "parameters": [
                        {"index": 0, "key": "left", "description": "left", "type": "number"},
                        {"index": 1, "key": "right", "description": "right", "type": "number"},
                        {"index": 2, "key": "another", "description": "another number", "type": "number"}
                    ]
                })),
            )
            .await;
        assert_eq!(changed.status, 200, "{}: {}", server.backend, changed.body);
        assert_eq!(
            (
                changed.body["version"].as_u64(),
                changed.body["formula"].as_str(),
                changed.body["outputs"][0]["name"].as_str(),
                changed.body["tags"]["datasource"].as_str(),
            ),
            (
                Some(2),
                Some(":left+:right+:another"),
                Some("sum"),
                Some("GHG Protocol")
            )
        );
        let versions = server
            .call(Method::GET, &format!("{item}/versions"), &root, ctx, None)
            .await;
        assert_eq!(
            versions.body["calculations"].as_array().map(Vec::len),
            Some(2)
        );
        let first = server
            .call(Method::GET, &format!("{item}/versions/1"), &root, ctx, None)
            .await;
        assert_eq!(first.body["formula"], ":left+:right");
        let as_at = server
            .call(
                Method::GET,
                &format!("{item}/versions?versionAsAt=2023-02-21T15:00:00.000Z"),
                &root,
                ctx,
                None,
            )
            .await;
        assert_eq!(
            as_at.body["calculations"][0]["version"], 1,
            "{}",
            as_at.body
        );

        // ?dryRun=true on create answers the result and stores nothing.
        let mut body = custom_add("dry_only");
        body["dryRunOptions"] = json!({"data": [{"left": "1", "right": "0.25"}]});
        let dry = server
            .call(
                Method::POST,
                &format!("{base}?dryRun=true"),
                &root,
                ctx,
                Some(body),
            )
            .await;
        assert_eq!(
            (dry.status.as_u16(), dry.body.clone()),
            (200, json!({"headers": ["sum"], "data": ["1.25"]}))
        );
        assert_eq!(names(&server, &root, "/c").await, vec!["custom_add"]);

        let deleted = server.call(Method::DELETE, &item, &root, ctx, None).await;
        assert_eq!(deleted.status, 204);
        let gone = server.call(Method::GET, &item, &root, ctx, None).await;
        assert_eq!(
            (gone.status.as_u16(), gone.message().to_owned()),
            (404, format!("Calculation '{id}' not found."))
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn invalid_calculations_are_refused_and_not_stored() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/bad").await;
        let ctx = Some("/bad");
        let base = "/calculations/calculations";
        let refused = |changes: Value| {
            let mut body = custom_add("refused");
            for (key, value) in changes.as_object().expect("an object") {
                body[key] = value.clone();
            }
            let server = &server;
            let root = &root;
            async move {
                let reply = server.call(Method::POST, base, root, ctx, Some(body)).await;
                (reply.status.as_u16(), reply.message().to_owned())
            }
        };

        let (status, message) = refused(json!({"formula": ":left +"})).await;
        assert_eq!(status, 400);
        assert!(
            message.starts_with("Formula ':left +' does not compile: Line 1:"),
            "{message}"
        );
        assert_eq!(
            refused(json!({"formula": ":left + :middle"})).await,
            (
                400,
                "Formula ':left + :middle' does not compile: Line 1:8 Provided token 'middle' not found as a pipeline parameter or variable.".to_owned()
            ),
        );
        let (status, message) = refused(json!({"parameters": [
            {"index": 1, "key": "left", "description": "l", "type": "number"},
            {"index": 2, "key": "right", "description": "r", "type": "number"}
        ]}))
        .await;
        assert_eq!(status, 400);
        assert!(message.contains("must begin from 0"), "{message}");
        let (status, message) = refused(json!({"parameters": [
            {"index": 0, "key": "left", "description": "l", "type": "number"},
            {"index": 2, "key": "right", "description": "r", "type": "number"}
        ]}))
        .await;
        assert_eq!(status, 400);
        assert!(
            message.contains("must not be skipping or missing a position"),
            "{message}"
        );
        assert_eq!(
            refused(json!({"outputs": [
                {"name": "a", "description": "a", "type": "number"},
                {"name": "b", "description": "b", "type": "number"}
            ]}))
            .await,
            (
                400,
                "A calculation has exactly one output; 2 were given.".to_owned()
            )
        );
        assert_eq!(
            refused(json!({"activeAt": "invalidDate"})).await,
            (
                400,
                "body/activeAt must match format \"date-time\"".to_owned()
            )
        );
        // A dry run whose rows fail refuses the save, naming the failure.
        let (status, message) = refused(json!({
            "formula": "#nowhere(:left)",
            "dryRunOptions": {"data": [{"left": "1", "right": "2"}]}
        }))
        .await;
        assert_eq!(status, 400);
        assert!(
            message.contains("Calculation with name 'nowhere' not found."),
            "{message}"
        );
        let (status, message) = refused(json!({
            "dryRunOptions": {"data": [{"left": "1"}]}
        }))
        .await;
        assert_eq!(status, 400);
        assert!(
            message.contains(
                "Failed processing row: 1 - row does not contain value for parameter: right"
            ),
            "{message}"
        );
        assert!(names(&server, &root, "/bad").await.is_empty());
        server.finish().await;
    }
}

#[tokio::test]
async fn calculations_call_calculations_of_their_group_and_its_ancestors() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        for group in ["/org", "/org/site", "/other"] {
            server.group(&root, group).await;
        }
        let base = "/calculations/calculations";
        let define = |name: &str, formula: &str| {
            json!({
                "name": name, "summary": name, "formula": formula,
                "parameters": [{"index": 0, "key": "x", "description": "x", "type": "number"}],
                "outputs": [{"name": "y", "description": "y", "type": "number"}]
            })
        };
        for (group, body) in [
            ("/org", define("double", ":x * 2")),
            ("/other", define("triple", ":x * 3")),
        ] {
            let reply = server
                .call(Method::POST, base, &root, Some(group), Some(body))
                .await;
            assert_eq!(reply.status, 201, "{}: {}", server.backend, reply.body);
        }
        // From /org/site, `double` is found in the parent group; the version pinned by number.
        let mut quad = define("quad", "#double(#DOUBLE(:x, version=1))");
        quad["dryRunOptions"] = json!({"data": [{"x": "1.5"}, {"x": "-3"}]});
        let reply = server
            .call(
                Method::POST,
                &format!("{base}?dryRun=true"),
                &root,
                Some("/org/site"),
                Some(quad),
            )
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.body.clone()),
            (200, json!({"headers": ["y"], "data": ["6", "-12"]})),
            "{}",
            server.backend
        );
        // `triple` lives in a group that is not an ancestor: only group= reaches it.
        let mut implicit = define("sextuple", "#double(#triple(:x))");
        implicit["dryRunOptions"] = json!({"data": [{"x": "1"}]});
        let reply = server
            .call(
                Method::POST,
                &format!("{base}?dryRun=true"),
                &root,
                Some("/org/site"),
                Some(implicit),
            )
            .await;
        assert_eq!(reply.status, 400);
        assert!(
            reply
                .message()
                .contains("Calculation with name 'triple' not found."),
            "{}",
            reply.message()
        );
        let mut explicit = define("sextuple", "#double(#triple(:x, group='/other'))");
        explicit["dryRunOptions"] = json!({"data": [{"x": "1"}]});
        let reply = server
            .call(Method::POST, base, &root, Some("/org/site"), Some(explicit))
            .await;
        assert_eq!(reply.status, 201, "{}: {}", server.backend, reply.body);
        server.finish().await;
    }
}
