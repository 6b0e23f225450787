//! Read-only sharing between tenants: the operator lets tenant `b` read group `/shared` of the
//! default tenant; `b` reads it with `x-tenant`, and formulas reach it with `tenant=`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{ADMIN, OPERATOR_TOKEN, Options, Reply, TestServer, servers};

const OWNER: &str = "default";

/// A GET as `token` in `group`, with `x-tenant` when given.
async fn read(
    server: &TestServer,
    token: &str,
    group: &str,
    tenant: Option<&str>,
    path: &str,
) -> Reply {
    send(server, Method::GET, token, group, tenant, path, None).await
}

async fn send(
    server: &TestServer,
    method: Method,
    token: &str,
    group: &str,
    tenant: Option<&str>,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = server
        .client
        .request(method, server.url(path))
        .header("accept-version", "1.0.0")
        .header("x-groupcontextid", group)
        .bearer_auth(token);
    if let Some(tenant) = tenant {
        request = request.header("x-tenant", tenant);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    server.raw(request).await
}

/// `PUT` (share) or `DELETE` (unshare) of `/shared` of the default tenant with `b`.
async fn operator_share(server: &TestServer, method: Method, group: &str) -> Reply {
    server
        .raw(
            server
                .client
                .request(
                    method,
                    server.url(&format!("/tenants/{OWNER}/shares/b?group={group}")),
                )
                .bearer_auth(OPERATOR_TOKEN),
        )
        .await
}

async fn created(reply: Reply, what: &str) -> String {
    assert_eq!(reply.status, StatusCode::CREATED, "{what}: {}", reply.body);
    reply.body["id"].as_str().expect("id").to_owned()
}

/// The dataset once processed.
async fn settled(server: &TestServer, token: &str, id: &str) {
    for _ in 0..200 {
        let reply = read(
            server,
            token,
            "/shared",
            None,
            &format!("/referenceDatasets/referenceDatasets/{id}"),
        )
        .await;
        if reply.body["status"] != "inProgress" {
            assert_eq!(reply.body["status"], "success", "{}", reply.body);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{}: dataset {id} is still processing", server.backend);
}

fn dry_run(formula: &str) -> Value {
    json!({
        "name": "shared_factor",
        "summary": "Uses a factor shared by another tenant.",
        "formula": formula,
        "parameters": [{"index": 0, "key": "x", "label": "x", "description": "quantity", "type": "number"}],
        "outputs": [{"name": "out", "description": "result", "type": "number"}],
        "dryRunOptions": {"data": [{"x": "4"}]}
    })
}

#[tokio::test]
async fn shared_groups_are_readable_from_the_other_tenant() {
    for server in servers(Options::default()).await {
        let backend = server.backend;
        let owner = server.admin_token().await;
        server.group(&owner, "/shared").await;
        server.group(&owner, "/shared/sub").await;
        server.group(&owner, "/private").await;

        let new_tenant = server
            .raw(
                server
                    .client
                    .post(server.url("/tenants"))
                    .bearer_auth(OPERATOR_TOKEN)
                    .json(&json!({"id": "b", "adminEmail": ADMIN, "adminPassword": "b-password1"})),
            )
            .await;
        assert_eq!(
            new_tenant.status,
            StatusCode::CREATED,
            "{}",
            new_tenant.body
        );
        let login = server.login_reply(ADMIN, "b-password1", Some("b")).await;
        let consumer = login.body["idToken"].as_str().expect("idToken").to_owned();

        let activity = created(
            send(
                &server,
                Method::POST,
                &owner,
                "/shared",
                None,
                "/impacts/activities",
                Some(json!({
                    "name": "gas",
                    "tags": {"scope": "shared"},
                    "impacts": {"co2e": {"name": "co2e", "components": {
                        "co2": {"key": "co2", "value": 2.5, "type": "pollutant"}
                    }}}
                })),
            )
            .await,
            "activity",
        )
        .await;
        let private = created(
            send(
                &server,
                Method::POST,
                &owner,
                "/private",
                None,
                "/impacts/activities",
                Some(json!({"name": "secret"})),
            )
            .await,
            "private activity",
        )
        .await;
        // Owned by the owner's root, above the shared group: never shared.
        let above = created(
            send(
                &server,
                Method::POST,
                &owner,
                "/",
                None,
                "/impacts/activities",
                Some(json!({
                    "name": "rootgas",
                    "tags": {"scope": "root"},
                    "impacts": {"co2e": {"name": "co2e", "components": {
                        "co2": {"key": "co2", "value": 7, "type": "pollutant"}
                    }}}
                })),
            )
            .await,
            "root activity",
        )
        .await;
        let dataset = created(
            send(
                &server,
                Method::POST,
                &owner,
                "/shared",
                None,
                "/referenceDatasets/referenceDatasets",
                Some(json!({"name": "fuels", "data": "fuel,unit\ngas,therm\n"})),
            )
            .await,
            "dataset",
        )
        .await;
        settled(&server, &owner, &dataset).await;
        let mut calculation = dry_run(":x*2");
        calculation["name"] = json!("double");
        calculation
            .as_object_mut()
            .map(|body| body.remove("dryRunOptions"));
        let calculation = created(
            send(
                &server,
                Method::POST,
                &owner,
                "/shared",
                None,
                "/calculations/calculations",
                Some(calculation),
            )
            .await,
            "calculation",
        )
        .await;

        let items = [
            format!("/impacts/activities/{activity}"),
            format!("/referenceDatasets/referenceDatasets/{dataset}"),
            format!("/calculations/calculations/{calculation}"),
        ];
        let formula = "IMPACT('gas','co2e','co2', group='/shared', tenant='default')*:x";

        // Not shared yet: refused, and the other tenant's ids are unknown in b's own store.
        for item in &items {
            let refused = read(&server, &consumer, "/shared", Some(OWNER), item).await;
            assert_eq!(
                (refused.status, refused.message()),
                (
                    StatusCode::FORBIDDEN,
                    "Not authorized to access tenant path default:/shared"
                ),
                "{backend} {item}"
            );
            let own = read(&server, &consumer, "/", None, item).await;
            assert_eq!(own.status, StatusCode::NOT_FOUND, "{backend} {item}");
        }
        let unshared_formula = send(
            &server,
            Method::POST,
            &consumer,
            "/",
            None,
            "/calculations/calculations?dryRun=true",
            Some(dry_run(formula)),
        )
        .await;
        assert!(
            unshared_formula.body.to_string().contains("is not shared"),
            "{backend}: {} {}",
            unshared_formula.status,
            unshared_formula.body
        );

        let shared = operator_share(&server, Method::PUT, "/shared").await;
        assert_eq!(shared.status, StatusCode::NO_CONTENT, "{}", shared.body);

        for item in &items {
            let found = read(&server, &consumer, "/shared", Some(OWNER), item).await;
            assert_eq!(
                found.status,
                StatusCode::OK,
                "{backend} {item}: {}",
                found.body
            );
            let id = item.rsplit('/').next().expect("id");
            assert_eq!(found.body["id"], id, "{backend} {item}");
            // A sub-group of the shared group is shared too.
            let below = read(&server, &consumer, "/shared/sub", Some(OWNER), item).await;
            assert_eq!(
                below.status,
                StatusCode::OK,
                "{backend} {item}: {}",
                below.body
            );
        }
        let listed = read(
            &server,
            &consumer,
            "/shared",
            Some(OWNER),
            "/impacts/activities",
        )
        .await;
        assert_eq!(
            listed.body["activities"][0]["name"], "gas",
            "{backend}: {}",
            listed.body
        );

        // What the owner's root holds stays hidden from every group of the share: by id, in
        // listings that include the parent groups, by name, and in tag summaries.
        for group in ["/shared", "/shared/sub"] {
            let hidden = read(
                &server,
                &consumer,
                group,
                Some(OWNER),
                &format!("/impacts/activities/{above}"),
            )
            .await;
            assert_eq!(
                (hidden.status, hidden.message().to_owned()),
                (
                    StatusCode::FORBIDDEN,
                    format!("The resource is not accessible from group '{group}'.")
                ),
                "{backend}"
            );
            for query in [
                "?includeParentGroups=true",
                "?name=rootgas&includeParentGroups=true",
            ] {
                let listed = read(
                    &server,
                    &consumer,
                    group,
                    Some(OWNER),
                    &format!("/impacts/activities{query}"),
                )
                .await;
                assert_eq!(listed.status, StatusCode::OK, "{backend}: {}", listed.body);
                let names: Vec<&str> = listed.body["activities"]
                    .as_array()
                    .expect("activities")
                    .iter()
                    .filter_map(|a| a["name"].as_str())
                    .collect();
                assert!(
                    !names.contains(&"rootgas"),
                    "{backend} {group}{query}: {}",
                    listed.body
                );
            }
            let tags = read(
                &server,
                &consumer,
                group,
                Some(OWNER),
                "/impacts/tags/scope",
            )
            .await;
            assert_eq!(
                tags.body["values"],
                json!({"shared": "shared"}),
                "{backend} {group}: {}",
                tags.body
            );
        }
        // Inside the share, the parent groups still reach the shared group itself.
        let from_sub = read(
            &server,
            &consumer,
            "/shared/sub",
            Some(OWNER),
            "/impacts/activities?includeParentGroups=true",
        )
        .await;
        assert_eq!(
            from_sub.body["activities"],
            json!([listed.body["activities"][0].clone()]),
            "{backend}: {}",
            from_sub.body
        );
        // The owner itself still sees its root's resources from the shared group.
        let own_view = read(
            &server,
            &owner,
            "/shared",
            None,
            &format!("/impacts/activities/{above}"),
        )
        .await;
        assert_eq!(
            own_view.status,
            StatusCode::OK,
            "{backend}: {}",
            own_view.body
        );
        let own_tags = read(&server, &owner, "/shared", None, "/impacts/tags/scope").await;
        assert_eq!(
            own_tags.body["values"],
            json!({"root": "root", "shared": "shared"}),
            "{backend}: {}",
            own_tags.body
        );

        // Outside the share: the private group, and the owner's root.
        for group in ["/private", "/"] {
            let refused = read(
                &server,
                &consumer,
                group,
                Some(OWNER),
                &format!("/impacts/activities/{private}"),
            )
            .await;
            assert_eq!(
                (refused.status, refused.message().to_owned()),
                (
                    StatusCode::FORBIDDEN,
                    format!("Not authorized to access tenant path default:{group}")
                ),
                "{backend}"
            );
        }
        // Read-only.
        for (method, path, body) in [
            (
                Method::PATCH,
                items[0].clone(),
                Some(json!({"description": "changed"})),
            ),
            (Method::DELETE, items[2].clone(), None),
            (
                Method::POST,
                "/impacts/activities".to_owned(),
                Some(json!({"name": "intruder"})),
            ),
        ] {
            let refused = send(
                &server,
                method.clone(),
                &consumer,
                "/shared",
                Some(OWNER),
                &path,
                body,
            )
            .await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{backend} {method} {path}: {}",
                refused.body
            );
        }
        // Only the shared modules accept x-tenant.
        let groups = read(
            &server,
            &consumer,
            "/shared",
            Some(OWNER),
            "/accessManagement/groups/%2Fshared",
        )
        .await;
        assert_eq!(groups.status, StatusCode::FORBIDDEN, "{backend}");

        // A formula in tenant b reads the owner's factor.
        let dry = send(
            &server,
            Method::POST,
            &consumer,
            "/",
            None,
            "/calculations/calculations?dryRun=true",
            Some(dry_run(formula)),
        )
        .await;
        assert_eq!(dry.status, StatusCode::OK, "{backend}: {}", dry.body);
        let value: f64 = dry.body["data"][0]
            .as_str()
            .and_then(|v| v.parse().ok())
            .expect("a number");
        assert_eq!(value, 10.0, "{backend}: {}", dry.body);

        // Without group=, tenant= searches b's group in context and its ancestors in the owner,
        // down to the shared group only: the factor above it is out of reach.
        server.group(&consumer, "/shared").await;
        server.group(&consumer, "/shared/sub").await;
        let from_sub = |name: &str| {
            let formula = format!("IMPACT('{name}','co2e','co2', tenant='default')*:x");
            send(
                &server,
                Method::POST,
                &consumer,
                "/shared/sub",
                None,
                "/calculations/calculations?dryRun=true",
                Some(dry_run(&formula)),
            )
        };
        let inside = from_sub("gas").await;
        let value = inside.body["data"][0]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok());
        assert_eq!(value, Some(10.0), "{backend}: {}", inside.body);
        let outside = from_sub("rootgas").await;
        assert_eq!(outside.status, StatusCode::BAD_REQUEST, "{backend}");
        assert!(
            outside
                .message()
                .contains("Activity with name 'rootgas' not found."),
            "{backend}: {}",
            outside.body
        );

        // Sharing is one way: b shares nothing with the owner.
        let reverse = read(&server, &owner, "/", Some("b"), "/impacts/activities").await;
        assert_eq!(
            (reverse.status, reverse.message()),
            (
                StatusCode::FORBIDDEN,
                "Not authorized to access tenant path b:/"
            ),
            "{backend}"
        );

        let unshared = operator_share(&server, Method::DELETE, "/shared").await;
        assert_eq!(unshared.status, StatusCode::NO_CONTENT, "{}", unshared.body);
        for item in &items {
            let refused = read(&server, &consumer, "/shared", Some(OWNER), item).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{backend} {item}");
        }
        let again = operator_share(&server, Method::DELETE, "/shared").await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
        let after = send(
            &server,
            Method::POST,
            &consumer,
            "/",
            None,
            "/calculations/calculations?dryRun=true",
            Some(dry_run(formula)),
        )
        .await;
        assert!(
            after.body.to_string().contains("is not shared"),
            "{backend}: {}",
            after.body
        );
        server.finish().await;
    }
}
