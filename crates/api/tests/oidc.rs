//! External OpenID Connect issuers: their ID tokens are verified with the keys they publish.

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sifr_api::OidcIssuer;

use crate::support::{Options, now, servers};

const ISSUER: &str = "https://idp.example.com";
const AUDIENCE: &str = "sifr-client";

/// PKCS#8 wrapping of an Ed25519 private key: a fixed header, then the 32-byte seed.
fn pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

fn sign(claims: &Value, seed: &[u8; 32], kid: &str) -> String {
    let key = EncodingKey::from_ed_der(&pkcs8(seed));
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).expect("sign token")
}

/// Serves a JWKS with the public key of `seed` as key `k1`; returns its URL.
async fn publish_keys(seed: &[u8; 32]) -> String {
    let public = ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes();
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "k1", "x": URL_SAFE_NO_PAD.encode(public)}]});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the key server");
    let address = listener.local_addr().expect("key server address");
    let app = Router::new().route("/jwks.json", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/jwks.json")
}

#[tokio::test]
async fn external_tokens_are_verified_with_published_keys() {
    let seed = [7u8; 32];
    let issuer = OidcIssuer {
        issuer: ISSUER.into(),
        jwks_uri: Some(publish_keys(&seed).await),
        audience: Some(AUDIENCE.into()),
        tenant: Some("default".into()),
    };
    for server in servers(Options {
        oidc: vec![issuer],
        ..Options::default()
    })
    .await
    {
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "email": "sso-user@example.com",
            "cognito:groups": ["/|||reader"], "exp": now() + 300,
        });
        let path = "/accessManagement/groups";
        let good = server
            .call(Method::GET, path, &sign(&claims, &seed, "k1"), None, None)
            .await;
        assert_eq!(
            good.status,
            StatusCode::OK,
            "{}: {}",
            server.backend,
            good.body
        );

        let wrong_key = server
            .call(
                Method::GET,
                path,
                &sign(&claims, &[8u8; 32], "k1"),
                None,
                None,
            )
            .await;
        assert_eq!(
            wrong_key.status,
            StatusCode::UNAUTHORIZED,
            "a token signed with another key"
        );
        let unknown_kid = server
            .call(Method::GET, path, &sign(&claims, &seed, "k2"), None, None)
            .await;
        assert_eq!(unknown_kid.status, StatusCode::UNAUTHORIZED);
        let mut other_audience = claims.clone();
        other_audience["aud"] = json!("someone-else");
        let reply = server
            .call(
                Method::GET,
                path,
                &sign(&other_audience, &seed, "k1"),
                None,
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "the audience is checked"
        );
        let mut other_issuer = claims.clone();
        other_issuer["iss"] = json!("https://evil.example.com");
        let reply = server
            .call(
                Method::GET,
                path,
                &sign(&other_issuer, &seed, "k1"),
                None,
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "unknown issuers are refused"
        );
        server.finish().await;
    }
}
