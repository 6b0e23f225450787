//! What operators see: health, metrics, the OpenAPI document, request ids.

use reqwest::{Method, StatusCode};

use crate::support::{Options, servers};

#[tokio::test]
async fn health_metrics_and_the_openapi_document() {
    for server in servers(Options::default()).await {
        let health = server.raw(server.client.get(server.url("/healthz"))).await;
        assert_eq!(health.status, StatusCode::OK);
        assert_eq!(health.body["backend"], server.backend);

        let token = server.admin_token().await;
        server
            .call(Method::GET, "/accessManagement/groups", &token, None, None)
            .await;
        let metrics = server
            .client
            .get(server.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(
            metrics.contains(
                r#"http_requests_total{method="GET",route="/accessManagement/groups",status="200"}"#
            ),
            "{metrics}"
        );
        assert!(
            metrics.contains("http_request_duration_seconds_bucket"),
            "latency histogram"
        );

        let document = server
            .raw(server.client.get(server.url("/openapi.json")))
            .await;
        assert_eq!(document.status, StatusCode::OK);
        assert_eq!(document.body["openapi"], "3.1.0");
        let paths = document.body["paths"].as_object().expect("paths");
        for path in [
            "/auth/token",
            "/healthz",
            "/tenants",
            "/accessManagement/groups",
            "/accessManagement/groups/{groupId}",
            "/accessManagement/users",
            "/accessManagement/users/{email}",
            "/accessManagement/tags/{key}",
        ] {
            assert!(paths.contains_key(path), "{path} is documented");
        }
        assert!(
            paths["/accessManagement/groups/{groupId}"]
                .get("delete")
                .is_some()
        );
        assert!(document.body["components"]["schemas"]["GroupResource"].is_object());

        let reply = server
            .raw(
                server
                    .client
                    .get(server.url("/healthz"))
                    .header("x-request-id", "trace-me-42"),
            )
            .await;
        assert_eq!(
            reply
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            Some("trace-me-42")
        );
        let generated = server.raw(server.client.get(server.url("/healthz"))).await;
        assert!(
            generated.headers.contains_key("x-request-id"),
            "every response carries a request id"
        );

        let wrong_method = server.raw(server.client.put(server.url("/healthz"))).await;
        assert_eq!(
            (
                wrong_method.status.as_u16(),
                wrong_method.body["statusCode"].as_u64()
            ),
            (405, Some(405))
        );
        server.finish().await;
    }
}
