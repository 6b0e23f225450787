//! The impacts module over HTTP (spec §5): activities, their versions, impacts and components,
//! grants, tags, and activity tasks.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Options, Reply, TestServer, servers};

const ACTIVITIES: &str = "/impacts/activities";

/// An activity whose CO2 value has more digits than an `f64` holds: sent as written.
fn natural_gas(name: &str) -> Value {
    let text = r#"{
        "description": "natural gas, per million Btu",
        "attributes": {"refUnit": "MMBtu"},
        "tags": {"source": "EPA/2023"},
        "impacts": {
            "CO2e": {
                "name": "CO2e",
                "attributes": {"outUnit": "kg"},
                "components": {
                    "CO2": {"key": "CO2", "value": 53.06000000000000000001, "type": "pollutant", "label": "carbon dioxide"},
                    "CH4": {"key": "CH4", "value": 1.0e-3, "type": "pollutant"}
                }
            }
        }
    }"#;
    let mut body: Value = serde_json::from_str(text).expect("valid JSON");
    body["name"] = json!(name);
    body
}

/// Calls as `token` in `group`, expecting `status`; returns the body.
async fn expect(
    server: &TestServer,
    token: &str,
    group: &str,
    (method, path): (Method, &str),
    body: Option<Value>,
    status: u16,
) -> Reply {
    let reply = server
        .call(method.clone(), path, token, Some(group), body)
        .await;
    assert_eq!(
        reply.status.as_u16(),
        status,
        "{}: {method} {path} in {group}: {}",
        server.backend,
        reply.body
    );
    reply
}

async fn create(server: &TestServer, token: &str, group: &str, body: Value) -> String {
    let reply = expect(
        server,
        token,
        group,
        (Method::POST, ACTIVITIES),
        Some(body),
        201,
    )
    .await;
    let id = reply.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        reply
            .headers
            .get("x-activityid")
            .and_then(|v| v.to_str().ok()),
        Some(id.as_str())
    );
    id
}

fn names(body: &Value, key: &str) -> Vec<String> {
    body[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} in {body}"))
        .iter()
        .map(|a| a["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn activities_are_versioned_shared_and_deleted() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        for group in ["/e", "/e/a", "/e/b"] {
            server.group(&root, group).await;
        }
        let id = create(&server, &root, "/e/a", natural_gas("us:epa:Natural-Gas")).await;
        let item = format!("{ACTIVITIES}/{id}");
        let v1 = expect(&server, &root, "/e/a", (Method::GET, &item), None, 200)
            .await
            .body;
        assert_eq!(
            (&v1["version"], &v1["state"], &v1["name"], &v1["groups"]),
            (
                &json!(1),
                &json!("enabled"),
                &json!("us:epa:Natural-Gas"),
                &json!(["/e/a"])
            )
        );
        // Keys lower-cased, names and exact values kept.
        let co2 = &v1["impacts"]["co2e"]["components"]["co2"];
        assert_eq!(co2["key"], "CO2");
        assert!(co2.to_string().contains("53.06000000000000000001"), "{co2}");
        assert_eq!(v1["impacts"]["co2e"]["name"], "CO2e");

        // A child group sees it by id; the parent and a sibling do not.
        server.group(&root, "/e/a/c").await;
        expect(&server, &root, "/e/a/c", (Method::GET, &item), None, 200).await;
        expect(&server, &root, "/e", (Method::GET, &item), None, 403).await;
        expect(&server, &root, "/e/b", (Method::GET, &item), None, 403).await;

        let patch = json!({
            "description": "changed",
            "hello": "world",
            "impacts": {"co2e": {"components": {"N2O": {"key": "N2O", "value": 0.0001, "type": "pollutant"}}}},
            "tags": {"source": null, "scope": "Scope1"}
        });
        let v2 = expect(
            &server,
            &root,
            "/e/a",
            (Method::PATCH, &item),
            Some(patch),
            200,
        )
        .await
        .body;
        assert_eq!(v2["version"], 2);
        assert!(v2.get("hello").is_none(), "unknown fields are dropped");
        let components = v2["impacts"]["co2e"]["components"]
            .as_object()
            .expect("components");
        assert_eq!(
            components.keys().collect::<Vec<_>>(),
            ["ch4", "co2", "n2o"],
            "a PATCH adds components and keeps the others"
        );
        assert_eq!(v2["tags"], json!({"scope": "Scope1"}));
        assert_eq!(v2["attributes"], json!({"refUnit": "MMBtu"}));

        let versions = format!("{item}/versions");
        let all = expect(&server, &root, "/e/a", (Method::GET, &versions), None, 200)
            .await
            .body;
        assert_eq!(
            all["activities"]
                .as_array()
                .map(|a| a.iter().map(|v| v["version"].clone()).collect::<Vec<_>>()),
            Some(vec![json!(2), json!(1)])
        );
        let page = expect(
            &server,
            &root,
            "/e/a",
            (Method::GET, &format!("{versions}?count=1")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(page["pagination"]["lastEvaluatedVersion"], 2);
        let rest = expect(
            &server,
            &root,
            "/e/a",
            (Method::GET, &format!("{versions}?count=1&fromVersion=2")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(rest["activities"][0]["version"], 1);
        let both = expect(
            &server,
            &root,
            "/e/a",
            (
                Method::GET,
                &format!("{versions}?count=1&versionAsAt=2020-01-01T00:00:00Z"),
            ),
            None,
            400,
        )
        .await;
        assert_eq!(
            both.message(),
            "request can only contain versionAsAt or count/fromVersion query parameter, but not both"
        );
        let created_at = v1["createdAt"].as_str().expect("createdAt");
        let as_at = expect(
            &server,
            &root,
            "/e/a",
            (Method::GET, &format!("{versions}?versionAsAt={created_at}")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(as_at["activities"].as_array().map(Vec::len), Some(1));
        assert_eq!(as_at["activities"][0]["version"], 1);
        let before = expect(
            &server,
            &root,
            "/e/a",
            (
                Method::GET,
                &format!("{versions}?versionAsAt=2000-01-01T00:00:00Z"),
            ),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(before["activities"], json!([]));

        // activeAt in the future: versionAsAt finds version 2 until then, version 3 from then.
        let future = "2999-01-01T00:00:00.000Z";
        let v3 = expect(
            &server,
            &root,
            "/e/a",
            (Method::PATCH, &item),
            Some(json!({"activeAt": future})),
            200,
        )
        .await
        .body;
        assert_eq!(
            (&v3["version"], &v3["activeAt"]),
            (&json!(3), &json!(future))
        );
        let now = expect(
            &server,
            &root,
            "/e/a",
            (
                Method::GET,
                &format!("{versions}?versionAsAt=2500-01-01T00:00:00Z"),
            ),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(now["activities"][0]["version"], 2);
        let later = expect(
            &server,
            &root,
            "/e/a",
            (
                Method::GET,
                &format!("{versions}?versionAsAt=3000-01-01T00:00:00Z"),
            ),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(later["activities"][0]["version"], 3);

        // Grant to the sibling: a new version, readable there; revoke: another, refused there.
        let membership = format!("{item}/groups/%2Fe%2Fb");
        expect(
            &server,
            &root,
            "/e/a",
            (Method::PUT, &membership),
            None,
            204,
        )
        .await;
        let granted = expect(&server, &root, "/e/b", (Method::GET, &item), None, 200)
            .await
            .body;
        assert_eq!(
            (&granted["version"], &granted["groups"]),
            (&json!(4), &json!(["/e/a", "/e/b"]))
        );
        let listed = expect(&server, &root, "/e/b", (Method::GET, ACTIVITIES), None, 200)
            .await
            .body;
        assert_eq!(names(&listed, "activities"), ["us:epa:Natural-Gas"]);
        expect(
            &server,
            &root,
            "/e/a",
            (Method::DELETE, &membership),
            None,
            204,
        )
        .await;
        expect(&server, &root, "/e/b", (Method::GET, &item), None, 403).await;
        let owner = format!("{item}/groups/%2Fe%2Fa");
        expect(&server, &root, "/e/a", (Method::DELETE, &owner), None, 400).await;

        // A disabled latest version disables every version read.
        let v6 = expect(
            &server,
            &root,
            "/e/a",
            (Method::PATCH, &item),
            Some(json!({"state": "frozen"})),
            200,
        )
        .await
        .body;
        assert_eq!(v6["version"], 6);
        let old = expect(
            &server,
            &root,
            "/e/a",
            (Method::GET, &format!("{versions}/1")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(
            (&old["version"], &old["state"], &old["description"]),
            (
                &json!(1),
                &json!("frozen"),
                &json!("natural gas, per million Btu")
            )
        );
        expect(
            &server,
            &root,
            "/e/a",
            (Method::GET, &format!("{versions}/99")),
            None,
            404,
        )
        .await;

        expect(&server, &root, "/e/a", (Method::DELETE, &item), None, 204).await;
        let gone = expect(&server, &root, "/e/a", (Method::GET, &item), None, 404).await;
        assert_eq!(gone.message(), format!("Activity '{id}' not found."));
        server.finish().await;
    }
}

#[tokio::test]
async fn listings_follow_sif() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        for group in ["/l", "/l/a", "/l/a/b", "/l/s"] {
            server.group(&root, group).await;
        }
        for (group, name, kind) in [
            ("/l", "p1", "Material/Metal/Steel"),
            ("/l", "p2", "Material/Plastic"),
            ("/l/a", "a1", "Material/Metal/Iron"),
            ("/l/a/b", "b1", "Fuel"),
            ("/l/s", "s1", "Fuel"),
        ] {
            create(
                &server,
                &root,
                group,
                json!({"name": name, "tags": {"type": kind}}),
            )
            .await;
        }
        let list = |query: &str, group: &'static str| {
            let (server, root) = (&server, &root);
            let path = format!("{ACTIVITIES}{query}");
            async move {
                expect(server, root, group, (Method::GET, &path), None, 200)
                    .await
                    .body
            }
        };
        assert_eq!(names(&list("", "/l/a").await, "activities"), ["a1"]);
        assert_eq!(
            names(
                &list("?includeParentGroups=true", "/l/a").await,
                "activities"
            ),
            ["p1", "p2", "a1"]
        );
        assert_eq!(
            names(
                &list("?includeChildGroups=true", "/l/a").await,
                "activities"
            ),
            ["a1", "b1"]
        );
        assert_eq!(
            names(
                &list("?name=P1&includeParentGroups=true", "/l/a").await,
                "activities"
            ),
            ["p1"]
        );
        assert_eq!(
            names(
                &list("?name=b1&includeChildGroups=true", "/l").await,
                "activities"
            ),
            ["b1"]
        );
        assert_eq!(
            names(&list("?name=b1", "/l").await, "activities"),
            Vec::<String>::new()
        );
        assert_eq!(
            names(
                &list("?tags=type:material/metal&includeChildGroups=true", "/l").await,
                "activities"
            ),
            ["p1", "a1"]
        );

        let first = list("?count=2&includeChildGroups=true", "/l").await;
        assert_eq!(names(&first, "activities"), ["p1", "p2"]);
        let token = first["pagination"]["lastEvaluatedToken"]
            .as_str()
            .expect("token")
            .to_owned();
        let second = list(
            &format!("?count=2&includeChildGroups=true&fromToken={token}"),
            "/l",
        )
        .await;
        assert_eq!(names(&second, "activities"), ["a1", "b1"]);
        let token = second["pagination"]["lastEvaluatedToken"]
            .as_str()
            .expect("token")
            .to_owned();
        let last = list(
            &format!("?count=2&includeChildGroups=true&fromToken={token}"),
            "/l",
        )
        .await;
        assert_eq!(names(&last, "activities"), ["s1"]);
        assert_eq!(last["pagination"], json!({}), "no token on the last page");

        // Tag values of activities visible in the group in context.
        let tags = expect(
            &server,
            &root,
            "/l/a",
            (Method::GET, "/impacts/tags/type"),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(tags["values"], json!({"material": "Material"}));
        let below = expect(
            &server,
            &root,
            "/l/a",
            (
                Method::GET,
                "/impacts/tags/type?parentValue=material%2Fmetal",
            ),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(
            below["values"],
            json!({"material/metal/iron": "Iron", "material/metal/steel": "Steel"})
        );

        // The shared endpoints are documented like the module's own.
        let document: Value = server
            .client
            .get(server.url("/openapi.json"))
            .send()
            .await
            .expect("document")
            .json()
            .await
            .expect("JSON");
        let paths = &document["paths"];
        for (path, method) in [
            ("/impacts/activities", "get"),
            ("/impacts/activities", "post"),
            ("/impacts/activities/{id}", "patch"),
            ("/impacts/activities/{id}", "delete"),
            ("/impacts/activities/{id}/versions/{version}", "get"),
            ("/impacts/activities/{id}/groups/{groupId}", "put"),
            ("/impacts/tags/{key}", "get"),
            ("/impacts/activityTasks/{id}/taskItems", "get"),
        ] {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} is documented"
            );
        }
        let listing = &paths["/impacts/activities"]["get"]["responses"]["200"];
        assert_eq!(
            listing["content"]["application/json"]["schema"]["properties"]["activities"]["items"]["$ref"],
            "#/components/schemas/ActivityView"
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn impacts_and_components_each_write_a_version() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/i").await;
        let id = create(&server, &root, "/i", json!({"name": "electricity"})).await;
        let item = format!("{ACTIVITIES}/{id}");
        let version = |expected: u64| {
            let (server, root, item) = (&server, &root, item.clone());
            async move {
                let body = expect(server, root, "/i", (Method::GET, &item), None, 200)
                    .await
                    .body;
                assert_eq!(body["version"], expected, "{}: {body}", server.backend);
            }
        };
        version(1).await;
        expect(
            &server,
            &root,
            "/i",
            (Method::PATCH, &item),
            Some(json!({"description": "grid"})),
            200,
        )
        .await;
        version(2).await;

        let impact = format!("{item}/impacts/GHG");
        let put = expect(
            &server, &root, "/i", (Method::PUT, &impact),
            Some(json!({"name": "GHG", "components": {"CO2": {"key": "CO2", "value": 0.4, "type": "pollutant"}}})),
            201,
        )
        .await
        .body;
        assert_eq!(put["name"], "GHG");
        version(3).await;
        let patched = expect(
            &server,
            &root,
            "/i",
            (Method::PATCH, &impact),
            Some(json!({"name": "ignored", "attributes": {"unit": "kWh"}})),
            200,
        )
        .await
        .body;
        assert_eq!(
            (&patched["name"], &patched["attributes"]["unit"]),
            (&json!("GHG"), &json!("kWh"))
        );
        assert_eq!(patched["components"]["co2"]["value"], json!(0.4));
        version(4).await;

        let component = format!("{impact}/components/CH4");
        let added = expect(
            &server,
            &root,
            "/i",
            (Method::PUT, &component),
            Some(json!({"key": "other", "value": 0.00002, "type": "pollutant"})),
            201,
        )
        .await
        .body;
        assert_eq!(added["key"], "CH4", "the path names the component");
        version(5).await;
        let changed = expect(
            &server,
            &root,
            "/i",
            (Method::PATCH, &component),
            Some(json!({"value": 0.00003, "label": "methane"})),
            200,
        )
        .await
        .body;
        assert_eq!(
            (&changed["value"], &changed["label"], &changed["type"]),
            (&json!(0.00003), &json!("methane"), &json!("pollutant"))
        );
        version(6).await;

        let impacts = expect(
            &server,
            &root,
            "/i",
            (Method::GET, &format!("{item}/impacts")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(
            impacts
                .as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["ghg".to_owned()])
        );
        let components = expect(
            &server,
            &root,
            "/i",
            (Method::GET, &format!("{impact}/components")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(
            components
                .as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["ch4".to_owned(), "co2".to_owned()])
        );
        expect(
            &server,
            &root,
            "/i",
            (Method::GET, &format!("{impact}/components/co2")),
            None,
            200,
        )
        .await;

        expect(
            &server,
            &root,
            "/i",
            (Method::DELETE, &component),
            None,
            204,
        )
        .await;
        version(7).await;
        expect(&server, &root, "/i", (Method::GET, &component), None, 404).await;
        expect(&server, &root, "/i", (Method::DELETE, &impact), None, 204).await;
        version(8).await;
        let missing = expect(&server, &root, "/i", (Method::GET, &impact), None, 404).await;
        assert_eq!(
            missing.message(),
            format!("Impact 'ghg' of activity '{id}' not found.")
        );
        expect(
            &server,
            &root,
            "/i",
            (Method::PUT, &component),
            Some(json!({"value": 1, "type": "t"})),
            404,
        )
        .await;

        let unknown = expect(
            &server,
            &root,
            "/i",
            (Method::GET, &format!("{ACTIVITIES}/1234/impacts/ghg")),
            None,
            404,
        )
        .await;
        assert_eq!(unknown.message(), "Activity '1234' not found.");
        version(8).await;
        server.finish().await;
    }
}

#[tokio::test]
async fn bad_activities_are_refused_and_not_stored() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/x").await;
        create(&server, &root, "/x", natural_gas("Taken")).await;
        let refused = |body: Value, status: u16| {
            let (server, root) = (&server, &root);
            async move {
                expect(
                    server,
                    root,
                    "/x",
                    (Method::POST, ACTIVITIES),
                    Some(body),
                    status,
                )
                .await
                .message()
                .to_owned()
            }
        };
        assert_eq!(
            refused(json!({"name": "TAKEN"}), 409).await,
            "Name 'TAKEN' already in use."
        );
        assert_eq!(
            refused(json!({"description": "x"}), 400).await,
            "body must have required property 'name'"
        );
        assert_eq!(
            refused(json!({"name": "n", "activeAt": "yesterday"}), 400).await,
            "body/activeAt must match format \"date-time\""
        );
        let mistyped = refused(json!({"name": "n", "impacts": {"e": {"name": "e", "components": {"c": {"key": "c", "value": "1.5", "type": "t"}}}}}), 400).await;
        assert!(
            mistyped.starts_with("body/impacts/e/components/c/value: invalid type"),
            "{mistyped}"
        );
        let untyped = refused(json!({"name": "n", "impacts": {"E": {"name": "e", "components": {"c": {"key": "c", "value": 1}}}}}), 400).await;
        assert_eq!(
            untyped,
            "body/impacts/e/components/c must have required property 'type'"
        );
        let nameless = refused(
            json!({"name": "n", "impacts": {"e": {"components": {}}}}),
            400,
        )
        .await;
        assert_eq!(
            nameless,
            "body/impacts/e must have required property 'name'"
        );
        assert_eq!(
            refused(json!({"name": 5}), 400).await,
            "body/name: invalid type: integer `5`, expected a string"
        );

        let listed = expect(&server, &root, "/x", (Method::GET, ACTIVITIES), None, 200)
            .await
            .body;
        assert_eq!(
            names(&listed, "activities"),
            ["Taken"],
            "{}: nothing else was stored",
            server.backend
        );

        let id = listed["activities"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let item = format!("{ACTIVITIES}/{id}");
        let bad_patch = expect(
            &server,
            &root,
            "/x",
            (Method::PATCH, &item),
            Some(json!({"impacts": {"new": {"components": {}}}})),
            400,
        )
        .await;
        assert_eq!(
            bad_patch.message(),
            "body/impacts/new must have required property 'name'"
        );
        let unchanged = expect(&server, &root, "/x", (Method::GET, &item), None, 200)
            .await
            .body;
        assert_eq!(unchanged["version"], 1, "a refused PATCH writes no version");

        expect(
            &server,
            &root,
            "/x",
            (
                Method::GET,
                &format!("{ACTIVITIES}/01h0000000000000000000000a"),
            ),
            None,
            404,
        )
        .await;
        expect(
            &server,
            &root,
            "/x",
            (Method::PATCH, &format!("{ACTIVITIES}/nope")),
            Some(json!({"description": "d"})),
            404,
        )
        .await;
        expect(
            &server,
            &root,
            "/x/none",
            (Method::GET, ACTIVITIES),
            None,
            404,
        )
        .await;
        expect(
            &server,
            &root,
            "/x",
            (Method::GET, &format!("{item}/versions?count=x")),
            None,
            400,
        )
        .await;
        server.finish().await;
    }
}

/// Polls a task until it is done.
async fn finished(server: &TestServer, token: &str, group: &str, id: &str) -> Value {
    let path = format!("/impacts/activityTasks/{id}");
    for _ in 0..200 {
        let task = expect(server, token, group, (Method::GET, &path), None, 200)
            .await
            .body;
        if task["taskStatus"] == "success" || task["taskStatus"] == "failure" {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{}: task {id} did not finish", server.backend);
}

#[tokio::test]
async fn activity_tasks_run_in_batches_and_record_each_item() {
    for server in servers(Options {
        body_limit: 1024,
        ..Options::default()
    })
    .await
    {
        let root = server.admin_token().await;
        server.group(&root, "/k").await;
        create(&server, &root, "/k", json!({"name": "taken:1"})).await;
        let mut activities: Vec<Value> = (0..150)
            .map(|i| json!({"name": format!("bulk:{i:03}"), "impacts": {"E": {"name": "E", "components": {"c": {"key": "c", "value": i, "type": "t"}}}}}))
            .collect();
        activities.push(json!({"name": "taken:1"}));
        // Far larger than the server's body limit: tasks take up to 6 MiB.
        let body = json!({"type": "create", "activities": activities});
        let accepted = expect(
            &server,
            &root,
            "/k",
            (Method::POST, "/impacts/activityTasks"),
            Some(body),
            201,
        )
        .await
        .body;
        assert_eq!(
            (
                &accepted["taskStatus"],
                &accepted["batchesTotal"],
                &accepted["itemsTotal"],
                &accepted["batchesCompleted"],
                &accepted["groups"]
            ),
            (
                &json!("waiting"),
                &json!(2),
                &json!(151),
                &json!(0),
                &json!(["/k"])
            )
        );
        let id = accepted["id"].as_str().expect("id").to_owned();
        let done = finished(&server, &root, "/k", &id).await;
        assert_eq!(
            (
                &done["taskStatus"],
                &done["batchesCompleted"],
                &done["itemsSucceeded"],
                &done["itemsFailed"],
                &done["progress"]
            ),
            (
                &json!("success"),
                &json!(2),
                &json!(150),
                &json!(1),
                &json!(100.0)
            )
        );

        let items = format!("/impacts/activityTasks/{id}/taskItems");
        let failures = expect(
            &server,
            &root,
            "/k",
            (Method::GET, &format!("{items}?status=failure")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(failures["taskItems"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            (
                &failures["taskItems"][0]["name"],
                &failures["taskItems"][0]["statusMessage"],
                &failures["taskItems"][0]["status"]
            ),
            (
                &json!("taken:1"),
                &json!("Name 'taken:1' already in use."),
                &json!("failure")
            )
        );
        let first = expect(
            &server,
            &root,
            "/k",
            (Method::GET, &format!("{items}?count=100")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(first["taskItems"].as_array().map(Vec::len), Some(100));
        let last_name = first["pagination"]["lastEvaluatedId"]
            .as_str()
            .expect("more items")
            .to_owned();
        let rest = expect(
            &server,
            &root,
            "/k",
            (
                Method::GET,
                &format!("{items}?count=100&fromName={last_name}"),
            ),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(rest["taskItems"].as_array().map(Vec::len), Some(51));
        assert!(rest["pagination"].get("lastEvaluatedId").is_none());

        let one = expect(
            &server,
            &root,
            "/k",
            (Method::GET, &format!("{items}/bulk:007")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(
            (&one["status"], &one["taskId"]),
            (&json!("success"), &json!(id))
        );
        let activity = one["activityId"].as_str().expect("activityId").to_owned();
        let stored = expect(
            &server,
            &root,
            "/k",
            (Method::GET, &format!("{ACTIVITIES}/{activity}")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(stored["impacts"]["e"]["components"]["c"]["value"], 7);
        expect(
            &server,
            &root,
            "/k",
            (Method::GET, &format!("{items}/nothing")),
            None,
            404,
        )
        .await;

        // An update task: one change succeeds, one names an unknown activity.
        let update = json!({"type": "update", "activities": [
            {"id": activity, "description": "bulk-changed"},
            {"id": "01h0000000000000000000000a", "description": "x"}
        ]});
        let task = expect(
            &server,
            &root,
            "/k",
            (Method::POST, "/impacts/activityTasks"),
            Some(update),
            201,
        )
        .await
        .body;
        let update_id = task["id"].as_str().expect("id").to_owned();
        let done = finished(&server, &root, "/k", &update_id).await;
        assert_eq!(
            (&done["itemsSucceeded"], &done["itemsFailed"]),
            (&json!(1), &json!(1))
        );
        let changed = expect(
            &server,
            &root,
            "/k",
            (Method::GET, &format!("{ACTIVITIES}/{activity}")),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(
            (&changed["description"], &changed["version"]),
            (&json!("bulk-changed"), &json!(2))
        );

        let tasks = expect(
            &server,
            &root,
            "/k",
            (Method::GET, "/impacts/activityTasks?count=1"),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(1));
        let token = tasks["pagination"]["lastEvaluated"]
            .as_str()
            .expect("token")
            .to_owned();
        let next = expect(
            &server,
            &root,
            "/k",
            (
                Method::GET,
                &format!("/impacts/activityTasks?count=1&fromToken={token}"),
            ),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(next["tasks"][0]["id"], json!(update_id));

        expect(
            &server,
            &root,
            "/k",
            (Method::DELETE, &format!("/impacts/activityTasks/{id}")),
            None,
            204,
        )
        .await;
        expect(
            &server,
            &root,
            "/k",
            (Method::GET, &format!("/impacts/activityTasks/{id}")),
            None,
            404,
        )
        .await;
        expect(
            &server,
            &root,
            "/k",
            (Method::GET, &format!("{items}/bulk:007")),
            None,
            404,
        )
        .await;
        server.finish().await;
    }
}

#[tokio::test]
async fn bad_activity_tasks_are_refused_and_not_stored() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/q").await;
        let refused = |body: Value| {
            let (server, root) = (&server, &root);
            async move {
                expect(
                    server,
                    root,
                    "/q",
                    (Method::POST, "/impacts/activityTasks"),
                    Some(body),
                    400,
                )
                .await
                .message()
                .to_owned()
            }
        };
        assert_eq!(
            refused(json!({"type": "upsert", "activities": [{"name": "a"}]})).await,
            "unsupported task type"
        );
        assert_eq!(
            refused(json!({"type": "create", "activities": []})).await,
            "body/activities not defined"
        );
        assert_eq!(
            refused(json!({"type": "create"})).await,
            "body/activities not defined"
        );
        assert_eq!(
            refused(json!({"type": "create", "activities": [{"name": "a"}, {"description": "b"}]}))
                .await,
            "body/activities/1 must have required property name"
        );
        assert_eq!(
            refused(json!({"type": "update", "activities": [{"name": "a"}]})).await,
            "body/activities/0 must have required property id"
        );
        assert_eq!(
            refused(json!({"type": "create", "activities": [{"name": "a", "impacts": {"e": {"name": "e", "components": {"c": {"key": "c", "value": 1}}}}}]})).await,
            "body/activities/0/impacts/e/components/c must have required property 'type'"
        );
        let tasks = expect(
            &server,
            &root,
            "/q",
            (Method::GET, "/impacts/activityTasks"),
            None,
            200,
        )
        .await
        .body;
        assert_eq!(
            tasks["tasks"],
            json!([]),
            "{}: no task was stored",
            server.backend
        );
        let activities = expect(&server, &root, "/q", (Method::GET, ACTIVITIES), None, 200)
            .await
            .body;
        assert_eq!(activities["activities"], json!([]));
        server.finish().await;
    }
}
