//! Access management over HTTP: SIF's behaviours end to end.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{ADMIN, Options, servers};

fn ids(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field].as_array().map_or_else(Vec::new, |items| {
        items
            .iter()
            .filter_map(|item| item[key].as_str().map(str::to_owned))
            .collect()
    })
}

#[tokio::test]
async fn groups_inherit_configuration_and_are_deleted_with_care() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        let created = server
            .call(
                Method::POST,
                "/accessManagement/groups",
                &root,
                Some("/"),
                Some(json!({"name": "Corp", "description": "d", "tags": {"tier": "Gold"}, "configuration": {"pipelineProcessor": {"chunkSize": 3}}, "hello": "world"})),
            )
            .await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{}: {}",
            server.backend,
            created.body
        );
        assert_eq!(
            created
                .headers
                .get("x-groupid")
                .and_then(|v| v.to_str().ok()),
            Some("/corp")
        );
        assert_eq!(
            created.body["configuration"]["pipelineProcessor"]["chunkSize"],
            3
        );
        assert_eq!(
            created.body["configuration"]["referenceDatasets"]["alwaysUseLatest"], true,
            "inherited from /"
        );
        assert!(
            created.body.get("hello").is_none(),
            "unknown fields are dropped"
        );

        let path = "/accessManagement/groups/%2Fcorp";
        let source = server
            .call(
                Method::GET,
                &format!("{path}?showConfigurationSource=true"),
                &root,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(
            source.body["configurationSource"]["/"]["pipelineProcessor"]["chunkSize"],
            1
        );
        assert_eq!(
            source.body["configurationSource"]["/corp"]["pipelineProcessor"]["chunkSize"],
            3
        );

        let patched = server
            .call(
                Method::PATCH,
                path,
                &root,
                Some("/"),
                Some(json!({"tags": {"tier": null, "region": "EU"}, "hello": "world"})),
            )
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        assert_eq!(patched.body["tags"], json!({"region": "EU"}));
        assert_eq!(patched.body["updatedBy"], ADMIN);
        assert!(patched.body.get("hello").is_none());

        server.group(&root, "/corp/team").await;
        let active = server
            .call(Method::DELETE, path, &root, Some("/"), None)
            .await;
        assert_eq!(active.status, StatusCode::CONFLICT, "an active group stays");
        let disable = json!({"state": "disabled"});
        server
            .call(Method::PATCH, path, &root, Some("/"), Some(disable.clone()))
            .await;
        let with_child = server
            .call(Method::DELETE, path, &root, Some("/"), None)
            .await;
        assert_eq!(
            (with_child.status.as_u16(), with_child.message()),
            (409, "Group '/corp' has sub-groups; delete them first.")
        );
        let team = "/accessManagement/groups/%2Fcorp%2Fteam";
        server
            .call(Method::PATCH, team, &root, Some("/corp"), Some(disable))
            .await;
        assert_eq!(
            server
                .call(Method::DELETE, team, &root, Some("/corp"), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            server
                .call(Method::DELETE, path, &root, Some("/"), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            server
                .call(Method::GET, path, &root, Some("/"), None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let root_group = server
            .call(
                Method::DELETE,
                "/accessManagement/groups/%2F",
                &root,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(root_group.status, StatusCode::BAD_REQUEST);
        server.finish().await;
    }
}

#[tokio::test]
async fn listings_page_with_tokens() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        for group in ["/p", "/p/a", "/p/b", "/p/c", "/p/a/x"] {
            server.group(&root, group).await;
        }
        let all = server
            .call(
                Method::GET,
                "/accessManagement/groups",
                &root,
                Some("/p"),
                None,
            )
            .await;
        assert_eq!(ids(&all.body, "groups", "id"), ["/p/a", "/p/b", "/p/c"]);
        assert!(
            all.body.get("pagination").is_none(),
            "no pagination unless asked for"
        );

        let mut token: Option<String> = None;
        let mut pages = Vec::new();
        loop {
            let query = match &token {
                Some(token) => format!("count=2&fromToken={token}"),
                None => "count=2".to_owned(),
            };
            let page = server
                .call(
                    Method::GET,
                    &format!("/accessManagement/groups?{query}"),
                    &root,
                    Some("/p"),
                    None,
                )
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            pages.push(ids(&page.body, "groups", "id"));
            assert!(
                page.body["pagination"].is_object(),
                "count asks for pagination"
            );
            match page.body["pagination"]["lastEvaluatedToken"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(
            pages,
            [vec!["/p/a", "/p/b"], vec!["/p/c"]],
            "{}",
            server.backend
        );

        let both = server
            .call(
                Method::GET,
                "/accessManagement/groups?includeParentGroups=true&includeChildGroups=true",
                &root,
                Some("/p/a"),
                None,
            )
            .await;
        assert_eq!(
            ids(&both.body, "groups", "id"),
            ["/", "/p", "/p/a", "/p/a/x"]
        );

        for (email, group) in [
            ("u1@example.com", "/p/a"),
            ("u2@example.com", "/p/b"),
            ("u3@example.com", "/p"),
        ] {
            server.user(&root, email, group, "reader", None).await;
        }
        let users = server
            .call(
                Method::GET,
                "/accessManagement/users?includeChildGroups=true&count=2",
                &root,
                Some("/p"),
                None,
            )
            .await;
        assert_eq!(
            ids(&users.body, "users", "email"),
            ["u3@example.com", "u1@example.com"]
        );
        let next = users.body["pagination"]["lastEvaluatedToken"]
            .as_str()
            .expect("a full page has a token")
            .to_owned();
        let rest = server
            .call(
                Method::GET,
                &format!(
                    "/accessManagement/users?includeChildGroups=true&count=2&fromToken={next}"
                ),
                &root,
                Some("/p"),
                None,
            )
            .await;
        assert_eq!(ids(&rest.body, "users", "email"), ["u2@example.com"]);
        assert_eq!(
            rest.body["pagination"],
            json!({}),
            "the last page has an empty pagination"
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn users_are_invited_granted_and_revoked() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/a").await;
        server.group(&root, "/b").await;
        let invited = server
            .call(
                Method::POST,
                "/accessManagement/users",
                &root,
                Some("/a"),
                Some(json!({"email": "Pat@Example.com", "role": "contributor", "tags": {"team": "Blue/North"}})),
            )
            .await;
        assert_eq!(
            invited.status,
            StatusCode::CREATED,
            "{}: {}",
            server.backend,
            invited.body
        );
        assert_eq!(invited.body["email"], "pat@example.com");
        assert_eq!(invited.body["state"], "invited");
        assert_eq!(invited.body["groups"], json!({"/a": "contributor"}));
        assert_eq!(invited.body["defaultGroup"], "/a");
        assert_eq!(invited.body["createdBy"], ADMIN);

        let granted = server
            .call(
                Method::POST,
                "/accessManagement/users",
                &root,
                Some("/b"),
                Some(json!({"email": "pat@example.com", "role": "admin"})),
            )
            .await;
        assert_eq!(
            granted.body["groups"],
            json!({"/a": "contributor", "/b": "admin"})
        );

        let user = server
            .call(
                Method::GET,
                "/accessManagement/users/pat%40example.com",
                &root,
                Some("/a"),
                None,
            )
            .await;
        assert_eq!(user.status, StatusCode::OK);
        assert_eq!(user.body["tags"], json!({"team": "Blue/North"}));
        let tags = server
            .call(
                Method::GET,
                "/accessManagement/tags/team?resourceType=user",
                &root,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(
            tags.body,
            json!({"values": {"blue": "Blue"}, "pagination": {"count": 1}})
        );
        let below = server
            .call(
                Method::GET,
                "/accessManagement/tags/team?resourceType=user&parentValue=blue",
                &root,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(below.body["values"], json!({"blue/north": "North"}));

        let revoked = server
            .call(
                Method::DELETE,
                "/accessManagement/users/pat@example.com",
                &root,
                Some("/a"),
                None,
            )
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        let again = server
            .call(
                Method::DELETE,
                "/accessManagement/users/pat@example.com",
                &root,
                Some("/a"),
                None,
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "no longer granted /a");
        let left = server
            .call(
                Method::GET,
                "/accessManagement/users/pat@example.com",
                &root,
                Some("/b"),
                None,
            )
            .await;
        assert_eq!(
            (
                left.body["groups"].clone(),
                left.body["defaultGroup"].clone()
            ),
            (json!({"/b": "admin"}), json!("/b"))
        );
        server
            .call(
                Method::DELETE,
                "/accessManagement/users/pat@example.com",
                &root,
                Some("/b"),
                None,
            )
            .await;
        let gone = server
            .call(
                Method::GET,
                "/accessManagement/users/pat@example.com",
                &root,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(
            gone.status,
            StatusCode::NOT_FOUND,
            "deleted with the last membership"
        );

        let last_admin = server
            .call(
                Method::PATCH,
                &format!("/accessManagement/users/{ADMIN}"),
                &root,
                Some("/"),
                Some(json!({"tags": {"x": "y"}})),
            )
            .await;
        assert_eq!(last_admin.status, StatusCode::NO_CONTENT);
        let revoke_self = server
            .call(
                Method::DELETE,
                &format!("/accessManagement/users/{ADMIN}"),
                &root,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(
            revoke_self.status,
            StatusCode::BAD_REQUEST,
            "the last root admin stays: {}",
            revoke_self.body
        );
        server.finish().await;
    }
}
