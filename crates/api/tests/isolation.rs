//! Tenants are isolated: a token of one tenant never reaches another's data.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{ADMIN, ADMIN_PASSWORD, OPERATOR_TOKEN, Options, servers};

#[tokio::test]
async fn a_tenant_cannot_read_another() {
    for server in servers(Options::default()).await {
        let operator = |method: Method, path: &str| {
            server
                .client
                .request(method, server.url(path))
                .bearer_auth(OPERATOR_TOKEN)
        };
        let created =
            server
                .raw(operator(Method::POST, "/tenants").json(
                    &json!({"id": "beta", "adminEmail": ADMIN, "adminPassword": "beta-pass1"}),
                ))
                .await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{}: {}",
            server.backend,
            created.body
        );
        assert!(
            created.body.get("adminPassword").is_none(),
            "a chosen password is not echoed"
        );

        // The same email is a different user in each tenant, with its own password.
        let alpha = server.admin_token().await;
        let beta_login = server.login_reply(ADMIN, "beta-pass1", Some("beta")).await;
        assert_eq!(beta_login.status, StatusCode::OK, "{}", beta_login.body);
        let beta = beta_login.body["idToken"]
            .as_str()
            .expect("idToken")
            .to_owned();
        assert_eq!(
            server
                .login_reply(ADMIN, ADMIN_PASSWORD, Some("beta"))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );

        server.group(&beta, "/beta-only").await;
        server
            .user(&beta, "beta-user@example.com", "/beta-only", "reader", None)
            .await;

        let by_id = server
            .call(
                Method::GET,
                "/accessManagement/groups/%2Fbeta-only",
                &alpha,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(
            by_id.status,
            StatusCode::NOT_FOUND,
            "{}: {}",
            server.backend,
            by_id.body
        );
        let user = server
            .call(
                Method::GET,
                "/accessManagement/users/beta-user@example.com",
                &alpha,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(user.status, StatusCode::NOT_FOUND);
        let groups = server
            .call(
                Method::GET,
                "/accessManagement/groups?includeChildGroups=true",
                &alpha,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(
            groups.body["groups"],
            json!([]),
            "alpha lists none of beta's groups"
        );
        let users = server
            .call(
                Method::GET,
                "/accessManagement/users?includeChildGroups=true",
                &alpha,
                Some("/"),
                None,
            )
            .await;
        let emails: Vec<&str> = users.body["users"]
            .as_array()
            .expect("users")
            .iter()
            .filter_map(|u| u["email"].as_str())
            .collect();
        assert_eq!(emails, [ADMIN]);
        let in_context = server
            .call(
                Method::GET,
                "/accessManagement/users",
                &alpha,
                Some("/beta-only"),
                None,
            )
            .await;
        assert_eq!(
            in_context.body["users"],
            json!([]),
            "naming beta's group as context shows nothing"
        );
        let beta_sees = server
            .call(
                Method::GET,
                "/accessManagement/groups/%2Fbeta-only",
                &beta,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(beta_sees.status, StatusCode::OK);

        // A token cannot be moved to another tenant: the claim is signed.
        let (head, rest) = alpha.split_once('.').expect("a JWT");
        let (payload, signature) = rest.split_once('.').expect("a JWT");
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value =
            serde_json::from_slice(&engine.decode(payload).expect("base64")).expect("json");
        claims["tenantId"] = json!("beta");
        let moved = format!(
            "{head}.{}.{signature}",
            engine.encode(serde_json::to_vec(&claims).expect("json"))
        );
        let reply = server
            .call(
                Method::GET,
                "/accessManagement/groups/%2Fbeta-only",
                &moved,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

        let listed = server.raw(operator(Method::GET, "/tenants")).await;
        let ids: Vec<&str> = listed.body["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .filter_map(|t| t["id"].as_str())
            .collect();
        assert_eq!(ids, ["beta", "default"]);
        let deleted = server.raw(operator(Method::DELETE, "/tenants/beta")).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let gone = server
            .call(
                Method::GET,
                "/accessManagement/groups",
                &beta,
                Some("/"),
                None,
            )
            .await;
        assert_eq!(
            gone.status,
            StatusCode::UNAUTHORIZED,
            "the deleted tenant's tokens stop working"
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn the_tenant_api_needs_the_operator_token() {
    for server in servers(Options::default()).await {
        let missing = server.raw(server.client.get(server.url("/tenants"))).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        let user_token = server.admin_token().await;
        let user = server
            .raw(
                server
                    .client
                    .get(server.url("/tenants"))
                    .bearer_auth(&user_token),
            )
            .await;
        assert_eq!(
            user.status,
            StatusCode::FORBIDDEN,
            "a tenant admin is not the operator"
        );
        let request = server
            .client
            .post(server.url("/tenants"))
            .bearer_auth(OPERATOR_TOKEN);
        let invalid = server.raw(request.json(&json!({"id": "Not Valid"}))).await;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        let generated = server
            .raw(
                server
                    .client
                    .post(server.url("/tenants"))
                    .bearer_auth(OPERATOR_TOKEN)
                    .json(&json!({"id": "gamma"})),
            )
            .await;
        assert_eq!(generated.status, StatusCode::CREATED);
        let password = generated.body["adminPassword"]
            .as_str()
            .expect("a generated password is shown once");
        assert_eq!(
            server
                .login_reply(ADMIN, password, Some("gamma"))
                .await
                .status,
            StatusCode::OK
        );
        let again = server
            .raw(
                server
                    .client
                    .post(server.url("/tenants"))
                    .bearer_auth(OPERATOR_TOKEN)
                    .json(&json!({"id": "gamma"})),
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        server.finish().await;
    }
}
