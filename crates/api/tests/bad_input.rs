//! Bad requests get a precise 4xx, and nothing of them is stored.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Options, TestServer, servers};

async fn group_ids(server: &TestServer, token: &str) -> Vec<String> {
    let reply = server
        .call(
            Method::GET,
            "/accessManagement/groups?includeChildGroups=true",
            token,
            Some("/"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["id"].as_str().map(str::to_owned))
        .collect()
}

async fn user_emails(server: &TestServer, token: &str) -> Vec<String> {
    let reply = server
        .call(
            Method::GET,
            "/accessManagement/users?includeChildGroups=true",
            token,
            Some("/"),
            None,
        )
        .await;
    reply.body["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["email"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn bad_groups_are_refused_and_not_stored() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/usa").await;
        let before = group_ids(&server, &root).await;
        let post = |body: Option<Value>, group: &'static str| {
            let (server, root) = (&server, &root);
            async move {
                server
                    .call(
                        Method::POST,
                        "/accessManagement/groups",
                        root,
                        Some(group),
                        body,
                    )
                    .await
            }
        };

        let malformed = server
            .raw(
                server
                    .client
                    .post(server.url("/accessManagement/groups"))
                    .bearer_auth(&root)
                    .header("content-type", "application/json")
                    .body("{\"name\": \"x\""),
            )
            .await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert!(
            malformed.message().starts_with("Body is not valid JSON"),
            "{}",
            malformed.body
        );
        assert_eq!(malformed.body["code"], "FST_ERR_VALIDATION");

        let wrong_type = post(Some(json!({"name": 42})), "/").await;
        assert_eq!(
            (wrong_type.status.as_u16(), wrong_type.message()),
            (
                400,
                "body/name: invalid type: integer `42`, expected a string"
            )
        );
        let missing = post(Some(json!({"description": "no name"})), "/").await;
        assert_eq!(
            (missing.status.as_u16(), missing.message()),
            (400, "body must have required property 'name'")
        );
        let empty = post(None, "/").await;
        assert_eq!(
            (empty.status.as_u16(), empty.message()),
            (400, "body must be object")
        );
        let wrong_tags = post(Some(json!({"name": "ok", "tags": {"a": 1}})), "/").await;
        assert_eq!(
            wrong_tags.status,
            StatusCode::BAD_REQUEST,
            "{}",
            wrong_tags.body
        );
        let bad_config = post(
            Some(json!({"name": "ok", "configuration": {"pipelineProcessor": {"chunkSize": 9}}})),
            "/",
        )
        .await;
        assert_eq!(
            bad_config.status,
            StatusCode::BAD_REQUEST,
            "{}",
            bad_config.body
        );

        let spaced = post(Some(json!({"name": "Acme Corporation"})), "/").await;
        assert_eq!(spaced.status, StatusCode::BAD_REQUEST);
        assert!(
            spaced
                .message()
                .starts_with("Invalid group name 'Acme Corporation'"),
            "{}",
            spaced.body
        );
        let long = post(Some(json!({"name": "a".repeat(120)})), "/usa").await;
        assert_eq!(long.status, StatusCode::BAD_REQUEST);
        assert!(
            long.message().contains("at most 114 characters"),
            "{}",
            long.body
        );

        let duplicate = post(Some(json!({"name": "USA"})), "/").await;
        assert_eq!(
            (duplicate.status.as_u16(), duplicate.message()),
            (409, "Name 'USA' already in use.")
        );
        let orphan = post(Some(json!({"name": "x"})), "/nowhere").await;
        assert_eq!(
            (orphan.status.as_u16(), orphan.message()),
            (404, "Group '/nowhere' not found.")
        );
        let bad_context = post(Some(json!({"name": "x"})), "/not a group").await;
        assert_eq!(
            bad_context.status,
            StatusCode::BAD_REQUEST,
            "{}",
            bad_context.body
        );

        let unknown = server
            .call(
                Method::GET,
                "/accessManagement/groups/%2Fusa%2Fnope",
                &root,
                Some("/usa"),
                None,
            )
            .await;
        assert_eq!(
            (unknown.status.as_u16(), unknown.message()),
            (404, "Group '/usa/nope' not found.")
        );
        let patch_unknown = server
            .call(
                Method::PATCH,
                "/accessManagement/groups/%2Fnope",
                &root,
                Some("/"),
                Some(json!({"description": "d"})),
            )
            .await;
        assert_eq!(patch_unknown.status, StatusCode::NOT_FOUND);
        let bad_state = server
            .call(
                Method::PATCH,
                "/accessManagement/groups/%2Fusa",
                &root,
                Some("/"),
                Some(json!({"state": "gone"})),
            )
            .await;
        assert_eq!(bad_state.status, StatusCode::BAD_REQUEST);
        assert!(
            bad_state
                .message()
                .starts_with("body/state: unknown variant `gone`"),
            "{}",
            bad_state.body
        );

        let oversized = post(
            Some(json!({"name": "big", "description": "x".repeat(100 * 1024)})),
            "/",
        )
        .await;
        assert_eq!(
            oversized.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}: {}",
            server.backend,
            oversized.body
        );
        assert_eq!(oversized.body["statusCode"], 413);

        assert_eq!(
            group_ids(&server, &root).await,
            before,
            "{}: nothing was stored",
            server.backend
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn bad_users_are_refused_and_not_stored() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/usa").await;
        server.group(&root, "/usa/west").await;
        let before = user_emails(&server, &root).await;
        let post = |body: Value| {
            let (server, root) = (&server, &root);
            async move {
                server
                    .call(
                        Method::POST,
                        "/accessManagement/users",
                        root,
                        Some("/usa"),
                        Some(body),
                    )
                    .await
            }
        };
        let bad_email = post(json!({"email": "not-an-email", "role": "reader"})).await;
        assert_eq!(
            (bad_email.status.as_u16(), bad_email.message()),
            (400, "body/email must match format \"email\"")
        );
        let bad_role = post(json!({"email": "a@example.com", "role": "owner"})).await;
        assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);
        assert!(
            bad_role
                .message()
                .starts_with("body/role: unknown variant `owner`"),
            "{}",
            bad_role.body
        );
        let weak =
            post(json!({"email": "a@example.com", "role": "reader", "password": "short"})).await;
        assert_eq!(weak.status, StatusCode::BAD_REQUEST);
        assert!(
            weak.message()
                .starts_with("Password does not conform to policy"),
            "{}",
            weak.body
        );
        let unknown_default =
            post(json!({"email": "a@example.com", "role": "reader", "defaultGroup": "/usa/nope"}))
                .await;
        assert_eq!(
            (unknown_default.status.as_u16(), unknown_default.message()),
            (404, "Group '/usa/nope' not found.")
        );
        let far_default =
            post(json!({"email": "a@example.com", "role": "reader", "defaultGroup": "/"})).await;
        assert_eq!(
            far_default.status,
            StatusCode::FORBIDDEN,
            "the default group must be the context or a child of it"
        );
        let unknown_context = server
            .call(
                Method::POST,
                "/accessManagement/users",
                &root,
                Some("/nope"),
                Some(json!({"email": "a@example.com", "role": "reader"})),
            )
            .await;
        assert_eq!(
            (unknown_context.status.as_u16(), unknown_context.message()),
            (404, "Group '/nope' not found.")
        );
        assert_eq!(
            user_emails(&server, &root).await,
            before,
            "{}: nothing was stored",
            server.backend
        );

        server
            .user(&root, "b@example.com", "/usa", "reader", None)
            .await;
        let path = "/accessManagement/users/b@example.com";
        let empty = server
            .call(
                Method::PATCH,
                path,
                &root,
                Some("/usa"),
                Some(json!({"unknown": true})),
            )
            .await;
        assert_eq!(
            (empty.status.as_u16(), empty.message()),
            (
                400,
                "Request body should contains one or more of these parameters: password, defaultGroup, state, tags"
            )
        );
        let missing = server
            .call(
                Method::GET,
                "/accessManagement/users/ghost@example.com",
                &root,
                Some("/usa"),
                None,
            )
            .await;
        assert_eq!(
            (missing.status.as_u16(), missing.message()),
            (404, "User 'ghost@example.com' not found.")
        );
        let bad_path = server
            .call(
                Method::GET,
                "/accessManagement/users/ghost",
                &root,
                Some("/usa"),
                None,
            )
            .await;
        assert_eq!(bad_path.status, StatusCode::BAD_REQUEST);
        let not_granted = server
            .call(Method::DELETE, path, &root, Some("/usa/west"), None)
            .await;
        assert_eq!(
            not_granted.status,
            StatusCode::CONFLICT,
            "{}",
            not_granted.body
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn queries_and_versions_are_checked() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        for (query, message) in [
            ("count=ten", "querystring/count must be integer"),
            (
                "includeChildGroups=yes",
                "querystring/includeChildGroups must be boolean",
            ),
            ("fromToken=%21%21", "Invalid pagination token '!!'."),
            (
                "tags=novalue",
                "Invalid tag filter 'novalue': expected 'key:value'.",
            ),
        ] {
            let reply = server
                .call(
                    Method::GET,
                    &format!("/accessManagement/groups?{query}"),
                    &root,
                    None,
                    None,
                )
                .await;
            assert_eq!(
                (reply.status.as_u16(), reply.message()),
                (400, message),
                "{}: {query}",
                server.backend
            );
        }
        let tags = server
            .call(
                Method::GET,
                "/accessManagement/tags/type",
                &root,
                None,
                None,
            )
            .await;
        assert_eq!(
            (tags.status.as_u16(), tags.message()),
            (
                400,
                "querystring must have required property 'resourceType'"
            )
        );

        let versioned = |version: &'static str| {
            let request = server
                .client
                .get(server.url("/accessManagement/groups"))
                .bearer_auth(&root)
                .header("accept-version", version);
            server.raw(request)
        };
        assert_eq!(versioned("1.0.0").await.status, StatusCode::OK);
        assert_eq!(versioned("1.x").await.status, StatusCode::OK);
        assert_eq!(versioned("2.0.0").await.status, StatusCode::NOT_FOUND);
        let no_version = server
            .raw(
                server
                    .client
                    .get(server.url("/accessManagement/groups"))
                    .bearer_auth(&root),
            )
            .await;
        assert_eq!(
            no_version.status,
            StatusCode::OK,
            "a missing Accept-Version means 1.0.0"
        );
        let folded = server
            .call(
                Method::GET,
                "//accessManagement///groups",
                &root,
                None,
                None,
            )
            .await;
        assert_eq!(folded.status, StatusCode::OK, "repeated slashes fold");
        let nowhere = server
            .call(Method::GET, "/accessManagement/nothing", &root, None, None)
            .await;
        assert_eq!(
            (nowhere.status.as_u16(), nowhere.body["error"].as_str()),
            (404, Some("Not Found"))
        );
        server.finish().await;
    }
}
