//! Logging in and the tokens that come out of it.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{ADMIN, ADMIN_PASSWORD, JWT_SECRET, Options, claims, mint, now, servers};

#[tokio::test]
async fn login_issues_sif_claims() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/usa").await;
        server.group(&root, "/usa/west").await;
        server
            .user(
                &root,
                "Jane@Example.com",
                "/usa",
                "contributor",
                Some("jane-pass1"),
            )
            .await;
        let grant =
            json!({"email": "jane@example.com", "role": "reader", "defaultGroup": "/usa/west"});
        let reply = server
            .call(
                Method::POST,
                "/accessManagement/users",
                &root,
                Some("/usa"),
                Some(grant),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

        let login = server
            .login_reply("JANE@example.com", "jane-pass1", None)
            .await;
        assert_eq!(
            login.status,
            StatusCode::OK,
            "{}: {}",
            server.backend,
            login.body
        );
        assert_eq!(
            (
                login.body["tokenType"].as_str(),
                login.body["expiresIn"].as_u64()
            ),
            (Some("Bearer"), Some(3600))
        );
        let token = login.body["idToken"].as_str().expect("idToken");
        let claims = claims(token);
        assert_eq!(claims["email"], "jane@example.com");
        assert_eq!(
            claims["cognito:groups"],
            json!(["/usa|||reader"]),
            "re-granting replaced the role"
        );
        assert_eq!(claims["groupContextId"], "/usa/west");
        assert_eq!(claims["tenantId"], "default");
        assert_eq!(claims["iss"], "sifr");
        let lifetime =
            claims["exp"].as_i64().unwrap_or_default() - claims["iat"].as_i64().unwrap_or_default();
        assert_eq!(lifetime, 3600);

        // The token works, in its default group unless a header says otherwise.
        let groups = server
            .call(
                Method::GET,
                "/accessManagement/groups?includeParentGroups=true",
                token,
                None,
                None,
            )
            .await;
        assert_eq!(groups.status, StatusCode::OK, "{}", groups.body);
        let ids: Vec<&str> = groups.body["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .filter_map(|g| g["id"].as_str())
            .collect();
        assert_eq!(ids, ["/", "/usa", "/usa/west"]);
        server.finish().await;
    }
}

#[tokio::test]
async fn wrong_credentials_are_not_authorized() {
    for server in servers(Options::default()).await {
        for (username, password) in [
            (ADMIN, "wrong-pass1"),
            ("nobody@example.com", ADMIN_PASSWORD),
            ("not an email", "x"),
        ] {
            let reply = server.login_reply(username, password, None).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{}: {username}",
                server.backend
            );
            assert_eq!(
                reply.body,
                json!({"name": "NotAuthorizedException", "message": "Incorrect username or password."})
            );
        }
        let unknown_tenant = server
            .login_reply(ADMIN, ADMIN_PASSWORD, Some("elsewhere"))
            .await;
        assert_eq!(unknown_tenant.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown_tenant.body["name"], "NotAuthorizedException");

        // A user invited without a password cannot log in.
        let root = server.admin_token().await;
        server
            .user(&root, "invited@example.com", "/", "reader", None)
            .await;
        assert_eq!(
            server
                .login_reply("invited@example.com", "", None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn requests_without_a_valid_token_are_unauthenticated() {
    for server in servers(Options::default()).await {
        let path = "/accessManagement/groups";
        let missing = server
            .raw(
                server
                    .client
                    .get(server.url(path))
                    .header("accept-version", "1.0.0"),
            )
            .await;
        assert_eq!(
            (missing.status.as_u16(), missing.body["statusCode"].as_u64()),
            (401, Some(401))
        );
        let garbage = server
            .call(Method::GET, path, "not-a-token", None, None)
            .await;
        assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);

        let token = server.admin_token().await;
        let (head, rest) = token.split_once('.').expect("a JWT");
        let (_, signature) = rest.split_once('.').expect("a JWT");
        let mut forged_claims = claims(&token);
        forged_claims["cognito:groups"] = json!(["/|||admin", "/x|||admin"]);
        let payload = base64_url(&serde_json::to_vec(&forged_claims).expect("json"));
        let forged = format!("{head}.{payload}.{signature}");
        let reply = server.call(Method::GET, path, &forged, None, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{}: a changed payload breaks the signature",
            server.backend
        );
        server.finish().await;
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn tokens_expire() {
    for server in servers(Options {
        token_ttl_seconds: 1,
        ..Options::default()
    })
    .await
    {
        let token = server.admin_token().await;
        let fresh = server
            .call(Method::GET, "/accessManagement/groups", &token, None, None)
            .await;
        assert_eq!(fresh.status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let stale = server
            .call(Method::GET, "/accessManagement/groups", &token, None, None)
            .await;
        assert_eq!(
            (stale.status.as_u16(), stale.message()),
            (401, "The token has expired."),
            "{}",
            server.backend
        );

        let minted = mint(
            &json!({"email": "bot@example.com", "cognito:groups": ["/|||admin"], "exp": now() - 5}),
            JWT_SECRET,
        );
        let expired = server
            .call(Method::GET, "/accessManagement/groups", &minted, None, None)
            .await;
        assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
        server.finish().await;
    }
}

#[tokio::test]
async fn disabled_users_lose_their_tokens() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server
            .user(
                &root,
                "leaver@example.com",
                "/",
                "admin",
                Some("leaver-pass1"),
            )
            .await;
        let token = server.login("leaver@example.com", "leaver-pass1").await;
        assert_eq!(
            server
                .call(Method::GET, "/accessManagement/users", &token, None, None)
                .await
                .status,
            StatusCode::OK
        );

        let path = "/accessManagement/users/leaver@example.com";
        let disabled = server
            .call(
                Method::PATCH,
                path,
                &root,
                None,
                Some(json!({"state": "disabled"})),
            )
            .await;
        assert_eq!(disabled.status, StatusCode::NO_CONTENT, "{}", disabled.body);
        let after = server
            .call(Method::GET, "/accessManagement/users", &token, None, None)
            .await;
        assert_eq!(
            (after.status.as_u16(), after.message()),
            (401, "User is disabled."),
            "{}",
            server.backend
        );
        let login = server
            .login_reply("leaver@example.com", "leaver-pass1", None)
            .await;
        assert_eq!(
            login.body,
            json!({"name": "NotAuthorizedException", "message": "User is disabled."})
        );

        // A shared-secret token naming the disabled user is refused too.
        let minted = mint(
            &json!({"email": "leaver@example.com", "cognito:groups": ["/|||admin"], "exp": now() + 60}),
            JWT_SECRET,
        );
        assert_eq!(
            server
                .call(Method::GET, "/accessManagement/users", &minted, None, None)
                .await
                .status,
            401
        );

        let enabled = server
            .call(
                Method::PATCH,
                path,
                &root,
                None,
                Some(json!({"state": "active"})),
            )
            .await;
        assert_eq!(enabled.status, StatusCode::NO_CONTENT);
        assert_eq!(
            server
                .call(Method::GET, "/accessManagement/users", &token, None, None)
                .await
                .status,
            StatusCode::OK
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn shared_secret_tokens_speak_for_machine_callers() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/a").await;
        let claims = json!({
            "email": "sif", "cognito:groups": "/a|||reader,junk", "groupContextId": "/a", "tenantId": "default", "exp": now() + 60
        });
        let machine = mint(&claims, JWT_SECRET);
        let read = server
            .call(
                Method::GET,
                "/accessManagement/groups",
                &machine,
                None,
                None,
            )
            .await;
        assert_eq!(
            read.status,
            StatusCode::OK,
            "{}: {}",
            server.backend,
            read.body
        );
        let write = server
            .call(
                Method::POST,
                "/accessManagement/groups",
                &machine,
                None,
                Some(json!({"name": "b"})),
            )
            .await;
        assert_eq!(
            write.status,
            StatusCode::FORBIDDEN,
            "a reader claim does not create groups"
        );

        let wrong = mint(&claims, "another-secret");
        assert_eq!(
            server
                .call(Method::GET, "/accessManagement/groups", &wrong, None, None)
                .await
                .status,
            401
        );
        let no_context = mint(&json!({"email": "sif", "exp": now() + 60}), JWT_SECRET);
        let reply = server
            .call(
                Method::GET,
                "/accessManagement/groups",
                &no_context,
                None,
                None,
            )
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.message()),
            (403, "groupContextId is not being set on claims or headers")
        );
        server.finish().await;
    }
}
