//! `/referenceDatasets` over HTTP: datasets created inline, from multipart uploads and on upload
//! URLs; processing states; CSV and URL downloads; versions; CSVs refused with the line or
//! column at fault and nothing stored; and LOOKUP reading a dataset through a calculation.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Options, Reply, TestServer, servers};

const BASE: &str = "/referenceDatasets/referenceDatasets";
const SAMPLE: &str = "ZIP,STATE\n98101,WA\n97201,OR\n";
const SAMPLE_UPDATED: &str = "STATE,ZIP\nCA,94105\nNY,10001\nTX,73301\n";

/// One part of a multipart body: name, content type, file name, content.
struct Part<'a>(&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

const BOUNDARY: &str = "sifr-test-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body as form-data clients write it.
fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for Part(name, content_type, file, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let file = file
            .map(|f| format!("; filename=\"{f}\""))
            .unwrap_or_default();
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"{file}\r\n").as_bytes(),
        );
        if let Some(content_type) = content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn send_form(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    parts: &[Part<'_>],
) -> Reply {
    server
        .raw(
            server
                .client
                .request(method, server.url(path))
                .header("accept-version", "1.0.0")
                .header("x-groupcontextid", "/rd")
                .bearer_auth(token)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(multipart(parts)),
        )
        .await
}

/// The dataset once its processing has finished (status neither inProgress nor pendingUpload).
async fn settled(server: &TestServer, token: &str, id: &str) -> Value {
    for _ in 0..200 {
        let reply = server
            .call(
                Method::GET,
                &format!("{BASE}/{id}"),
                token,
                Some("/rd"),
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{}: {}", server.backend, reply.body);
        if reply.body["status"] != "inProgress" {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{}: dataset {id} is still processing", server.backend);
}

/// `GET` with an `Accept` header; returns status, content type and body text.
async fn fetch(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    accept: &str,
) -> (u16, String, String) {
    let mut request = server
        .client
        .get(if path.starts_with("http") {
            path.to_owned()
        } else {
            server.url(path)
        })
        .header("accept", accept);
    if let Some(token) = token {
        request = request
            .bearer_auth(token)
            .header("accept-version", "1.0.0")
            .header("x-groupcontextid", "/rd");
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

/// `PUT`s `csv` to an upload URL as S3 clients do: no Authorization, `Content-Type: text/csv`.
async fn put_csv(server: &TestServer, url: &str, csv: &[u8]) -> Reply {
    server
        .raw(
            server
                .client
                .put(url)
                .header("content-type", "text/csv")
                .body(csv.to_vec()),
        )
        .await
}

async fn create(server: &TestServer, token: &str, body: Value) -> Reply {
    server
        .call(Method::POST, BASE, token, Some("/rd"), Some(body))
        .await
}

/// The number of datasets called `name` in `/rd`.
async fn named(server: &TestServer, token: &str, name: &str) -> usize {
    let reply = server
        .call(
            Method::GET,
            &format!("{BASE}?name={name}"),
            token,
            Some("/rd"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["referenceDatasets"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn setup(server: &TestServer) -> String {
    let root = server.admin_token().await;
    server.group(&root, "/rd").await;
    root
}

#[tokio::test]
async fn inline_datasets_are_processed_and_downloadable() {
    for server in servers(Options::default()).await {
        let root = setup(&server).await;
        let created = create(
            &server,
            &root,
            json!({
                "name": "sample_dataset", "description": "zip codes", "data": SAMPLE,
                "datasetHeaders": ["STATE", "ZIP"], "tags": {"type": "Material/Metal/Steel"},
                "hello": "world"
            }),
        )
        .await;
        assert_eq!(created.status, 201, "{}: {}", server.backend, created.body);
        let id = created.body["id"].as_str().expect("id").to_owned();
        assert_eq!(
            created.headers["x-referencedatasetid"].to_str().ok(),
            Some(id.as_str())
        );
        assert_eq!(
            (
                &created.body["state"],
                &created.body["status"],
                &created.body["statusMessage"],
                &created.body["version"],
                &created.body["datasetHeaders"],
                &created.body["tags"]["type"],
            ),
            (
                &json!("frozen"),
                &json!("inProgress"),
                &json!("processing dataset(csv)"),
                &json!(1),
                &json!(["STATE", "ZIP"]),
                &json!("Material/Metal/Steel"),
            )
        );
        for internal in ["hello", "file", "change", "uploadUrl"] {
            assert!(
                created.body.get(internal).is_none(),
                "{internal} is not shown"
            );
        }

        let done = settled(&server, &root, &id).await;
        assert_eq!(
            (&done["state"], &done["status"], &done["version"]),
            (&json!("enabled"), &json!("success"), &json!(1)),
            "{}: {done}",
            server.backend
        );
        let versions = server
            .call(
                Method::GET,
                &format!("{BASE}/{id}/versions"),
                &root,
                Some("/rd"),
                None,
            )
            .await;
        assert_eq!(
            versions.body["referenceDatasets"]
                .as_array()
                .map(|v| (v.len(), v[0]["status"].clone())),
            Some((1, json!("success"))),
            "processing records its outcome without a new version"
        );

        let (status, content_type, csv) = fetch(
            &server,
            &format!("{BASE}/{id}/data"),
            Some(&root),
            "text/csv",
        )
        .await;
        assert_eq!(
            (status, content_type.as_str(), csv.as_str()),
            (200, "text/csv", SAMPLE)
        );
        let (status, _, body) = fetch(
            &server,
            &format!("{BASE}/{id}/data"),
            Some(&root),
            "application/json",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let url: Value = serde_json::from_str(&body).expect("json");
        let url = url["url"].as_str().expect("a url");
        let (status, content_type, csv) = fetch(&server, url, None, "*/*").await;
        assert_eq!(
            (status, content_type.as_str(), csv.as_str()),
            (200, "text/csv", SAMPLE),
            "the URL needs no Authorization"
        );
        for path in [
            format!("{BASE}/{id}/index"),
            format!("{BASE}/{id}/versions/1/index"),
        ] {
            let index = server
                .call(Method::GET, &path, &root, Some("/rd"), None)
                .await;
            assert_eq!(index.status, 200, "{path}: {}", index.body);
            let (status, _, csv) = fetch(
                &server,
                index.body["url"].as_str().expect("url"),
                None,
                "*/*",
            )
            .await;
            assert_eq!(
                (status, csv.as_str()),
                (200, SAMPLE),
                "the index is built from the CSV"
            );
        }

        let tags = server
            .call(
                Method::GET,
                "/referenceDatasets/tags/type",
                &root,
                Some("/rd"),
                None,
            )
            .await;
        assert_eq!(
            tags.body["values"],
            json!({"material": "Material"}),
            "{}",
            tags.body
        );

        // The headers may be left out: they come from the file then.
        let undeclared = create(
            &server,
            &root,
            json!({"name": "no_headers", "data": "Type,Multiplier"}),
        )
        .await;
        assert_eq!(undeclared.status, 201, "{}", undeclared.body);
        assert_eq!(
            undeclared.body["datasetHeaders"],
            json!(["Type", "Multiplier"])
        );
        let done = settled(&server, &root, undeclared.body["id"].as_str().expect("id")).await;
        assert_eq!(done["status"], "success", "a header row alone is a dataset");

        let duplicate = create(
            &server,
            &root,
            json!({"name": "SAMPLE_dataset", "data": SAMPLE}),
        )
        .await;
        assert_eq!(
            (duplicate.status.as_u16(), duplicate.message()),
            (409, "Name 'SAMPLE_dataset' already in use.")
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn multipart_bodies_create_and_update_datasets() {
    for server in servers(Options::default()).await {
        let root = setup(&server).await;
        let json_type = Some("application/json");
        let created = send_form(
            &server,
            Method::POST,
            BASE,
            &root,
            &[
                Part("name", None, None, b"form data sample"),
                Part("description", None, None, b"form data description"),
                Part("activeAt", None, None, b"2023-02-21T14:48:00.000Z"),
                Part(
                    "data",
                    Some("text/csv"),
                    Some("sampleData.csv"),
                    SAMPLE.as_bytes(),
                ),
                Part("tags", json_type, None, br#"{"type":"metal"}"#),
                Part("datasetHeaders", json_type, None, br#"["ZIP", "STATE"]"#),
            ],
        )
        .await;
        assert_eq!(created.status, 201, "{}: {}", server.backend, created.body);
        assert_eq!(
            (
                &created.body["name"],
                &created.body["description"],
                &created.body["tags"],
                &created.body["datasetHeaders"],
                &created.body["status"],
                &created.body["state"],
                &created.body["activeAt"],
            ),
            (
                &json!("form data sample"),
                &json!("form data description"),
                &json!({"type": "metal"}),
                &json!(["ZIP", "STATE"]),
                &json!("inProgress"),
                &json!("frozen"),
                &json!("2023-02-21T14:48:00.000Z"),
            )
        );
        let id = created.body["id"].as_str().expect("id").to_owned();
        settled(&server, &root, &id).await;

        // JSON parts sent as plain text are refused with SIF's message.
        let plain_tags = send_form(
            &server,
            Method::POST,
            BASE,
            &root,
            &[
                Part("name", None, None, b"plain tags"),
                Part("data", Some("text/csv"), Some("a.csv"), SAMPLE.as_bytes()),
                Part("tags", None, None, br#"{"type":"metal"}"#),
            ],
        )
        .await;
        assert_eq!(
            (plain_tags.status.as_u16(), plain_tags.message()),
            (
                400,
                "Incorrect tags defined {\"type\":\"metal\"}. form-data attributes of json type should  have the individual \"tags\" attribute content-type set to \"application/json\" "
            )
        );
        let plain_headers = send_form(
            &server,
            Method::POST,
            BASE,
            &root,
            &[
                Part("name", None, None, b"plain headers"),
                Part("data", Some("text/csv"), Some("a.csv"), SAMPLE.as_bytes()),
                Part(
                    "datasetHeaders",
                    Some("text/plain"),
                    None,
                    br#"["ZIP","STATE"]"#,
                ),
            ],
        )
        .await;
        assert_eq!(plain_headers.status, 400, "{}", plain_headers.body);
        assert!(
            plain_headers
                .message()
                .starts_with("Incorrect reference datasetsHeaders defined [\"ZIP\",\"STATE\"]."),
            "{}",
            plain_headers.message()
        );
        let mismatch = send_form(
            &server,
            Method::POST,
            BASE,
            &root,
            &[
                Part("name", None, None, b"mismatch"),
                Part("data", Some("text/csv"), Some("a.csv"), SAMPLE.as_bytes()),
                Part(
                    "datasetHeaders",
                    json_type,
                    None,
                    br#"["COUNTRY_CODE", "ZIP"]"#,
                ),
            ],
        )
        .await;
        assert_eq!(
            (mismatch.status.as_u16(), mismatch.message()),
            (
                400,
                "datasetHeaders property does not match csv file header"
            )
        );
        for name in ["plain tags", "plain headers", "mismatch"] {
            assert_eq!(named(&server, &root, name).await, 0, "{name} is not stored");
        }

        // A new file in a new version.
        let updated = send_form(
            &server,
            Method::PATCH,
            &format!("{BASE}/{id}"),
            &root,
            &[
                Part("description", None, None, b"form data description updated"),
                Part(
                    "data",
                    Some("text/csv"),
                    Some("updated.csv"),
                    SAMPLE_UPDATED.as_bytes(),
                ),
                Part("datasetHeaders", json_type, None, br#"["STATE", "ZIP"]"#),
                Part("activeAt", None, None, b"2023-02-21T15:48:00.000Z"),
                Part("hello", None, None, b"world"),
            ],
        )
        .await;
        assert_eq!(updated.status, 200, "{}", updated.body);
        assert_eq!(
            (
                &updated.body["version"],
                &updated.body["state"],
                &updated.body["status"],
                &updated.body["name"],
                updated.body.get("hello"),
            ),
            (
                &json!(2),
                &json!("frozen"),
                &json!("inProgress"),
                &json!("form data sample"),
                None
            )
        );
        assert_eq!(settled(&server, &root, &id).await["status"], "success");
        let (_, _, latest) = fetch(
            &server,
            &format!("{BASE}/{id}/data"),
            Some(&root),
            "text/csv",
        )
        .await;
        let (_, _, first) = fetch(
            &server,
            &format!("{BASE}/{id}/versions/1/data"),
            Some(&root),
            "text/csv",
        )
        .await;
        assert_eq!((latest.as_str(), first.as_str()), (SAMPLE_UPDATED, SAMPLE));

        // Versions by activation time.
        let both = server
            .call(
                Method::GET,
                &format!("{BASE}/{id}/versions?versionAsAt=2023-02-21T14:48:00.000Z&count=2"),
                &root,
                Some("/rd"),
                None,
            )
            .await;
        assert_eq!(
            (both.status.as_u16(), both.message()),
            (
                400,
                "request can only contain versionAsAt or count/fromVersion query parameter, but not both"
            )
        );
        for (at, version) in [
            ("2023-02-21T14:48:00.000Z", 1),
            ("2023-02-21T15:48:00.000Z", 2),
        ] {
            let found = server
                .call(
                    Method::GET,
                    &format!("{BASE}/{id}/versions?versionAsAt={at}"),
                    &root,
                    Some("/rd"),
                    None,
                )
                .await;
            assert_eq!(
                found.body["referenceDatasets"]
                    .as_array()
                    .map(|v| (v.len(), v[0]["version"].clone())),
                Some((1, json!(version))),
                "{at}: {}",
                found.body
            );
        }

        // New headers alone are checked against the current file.
        let wrong_headers = send_form(
            &server,
            Method::PATCH,
            &format!("{BASE}/{id}"),
            &root,
            &[Part(
                "datasetHeaders",
                json_type,
                None,
                br#"["COUNTRY_CODE", "ZIP"]"#,
            )],
        )
        .await;
        assert_eq!(
            (wrong_headers.status.as_u16(), wrong_headers.message()),
            (
                400,
                "datasetHeaders property does not match csv file header"
            )
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn upload_urls_take_the_csv_without_authorization() {
    for server in servers(Options::default()).await {
        let root = setup(&server).await;
        let created = create(
            &server,
            &root,
            json!({
                "name": "sample_dataset_from_s3", "datasetSource": "s3",
                "datasetHeaders": ["Type", "Multiplier"]
            }),
        )
        .await;
        assert_eq!(created.status, 201, "{}: {}", server.backend, created.body);
        assert_eq!(
            (&created.body["status"], &created.body["state"]),
            (&json!("pendingUpload"), &json!("frozen"))
        );
        let id = created.body["id"].as_str().expect("id").to_owned();
        let upload = created.body["uploadUrl"]
            .as_str()
            .expect("uploadUrl")
            .to_owned();
        assert!(upload.starts_with(&server.url("/uploads/")), "{upload}");

        for path in [
            format!("{BASE}/{id}/data"),
            format!("{BASE}/{id}/versions/1/data"),
        ] {
            let missing = server
                .call(Method::GET, &path, &root, Some("/rd"), None)
                .await;
            assert_eq!(
                (missing.status.as_u16(), missing.message()),
                (
                    404,
                    format!("File for Reference Dataset {id} cannot be found").as_str()
                )
            );
        }
        let no_index = server
            .call(
                Method::GET,
                &format!("{BASE}/{id}/index"),
                &root,
                Some("/rd"),
                None,
            )
            .await;
        assert_eq!(
            (no_index.status.as_u16(), no_index.message()),
            (
                404,
                format!("Index for Reference Dataset {id} cannot be found").as_str()
            )
        );

        // A changed URL is refused, and stores nothing.
        let (payload, signature) = upload.rsplit_once('.').expect("signed token");
        let mut forged = signature.to_owned();
        let last = if forged.ends_with('A') { "B" } else { "A" };
        forged.replace_range(forged.len() - 1.., last);
        let tampered = put_csv(
            &server,
            &format!("{payload}.{forged}"),
            b"Type,Multiplier\n",
        )
        .await;
        assert_eq!(tampered.status, StatusCode::FORBIDDEN, "{}", tampered.body);
        let as_download = fetch(
            &server,
            &upload.replace("/uploads/", "/downloads/"),
            None,
            "*/*",
        )
        .await;
        assert_eq!(as_download.0, 403, "an upload URL does not download");
        assert_eq!(
            settled(&server, &root, &id).await["status"],
            "pendingUpload"
        );

        let csv = "Type,Multiplier\nType1,Multiplier1\nType2,\"Multiplier,2\"\n";
        let uploaded = put_csv(&server, &upload, csv.as_bytes()).await;
        assert_eq!(uploaded.status, 200, "{}", uploaded.body);
        let done = settled(&server, &root, &id).await;
        assert_eq!(
            (&done["status"], &done["state"], &done["version"]),
            (&json!("success"), &json!("enabled"), &json!(1)),
            "{done}"
        );
        let again = put_csv(&server, &upload, csv.as_bytes()).await;
        assert_eq!(again.status, 409, "the upload was taken: {}", again.body);
        let (_, _, url) = fetch(
            &server,
            &format!("{BASE}/{id}/data"),
            Some(&root),
            "application/json",
        )
        .await;
        let url: Value = serde_json::from_str(&url).expect("json");
        let (_, _, downloaded) =
            fetch(&server, url["url"].as_str().expect("url"), None, "*/*").await;
        assert_eq!(downloaded, csv);
        let versions_index = server
            .call(
                Method::GET,
                &format!("{BASE}/{id}/versions/1/index"),
                &root,
                Some("/rd"),
                None,
            )
            .await;
        assert!(
            versions_index.body["url"].is_string(),
            "{}",
            versions_index.body
        );

        // A new upload URL for a new version; a file with other headers is refused and the
        // version records why, while version 1 keeps its file.
        let patched = server
            .call(
                Method::PATCH,
                &format!("{BASE}/{id}"),
                &root,
                Some("/rd"),
                Some(json!({"datasetHeaders": ["Column1", "Column2"], "datasetSource": "s3"})),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(
            (
                &patched.body["version"],
                &patched.body["status"],
                &patched.body["state"]
            ),
            (&json!(2), &json!("pendingUpload"), &json!("frozen"))
        );
        let second = patched.body["uploadUrl"].as_str().expect("uploadUrl");
        let refused = put_csv(&server, second, b"Type,Multiplier\nx,1\n").await;
        assert_eq!(
            (refused.status.as_u16(), refused.message()),
            (
                400,
                "mismatched file headers, verify file headers match with reference dataset headers"
            )
        );
        let failed = settled(&server, &root, &id).await;
        assert_eq!(
            (&failed["status"], &failed["state"], &failed["version"]),
            (&json!("failed"), &json!("disabled"), &json!(2))
        );
        let (_, _, kept) = fetch(
            &server,
            &format!("{BASE}/{id}/versions/1/data"),
            Some(&root),
            "text/csv",
        )
        .await;
        assert_eq!(kept, csv, "version 1 keeps its file");

        // A disabled dataset changes only together with a state.
        let refused = server
            .call(
                Method::PATCH,
                &format!("{BASE}/{id}"),
                &root,
                Some("/rd"),
                Some(json!({"datasetSource": "s3"})),
            )
            .await;
        assert_eq!(
            (refused.status.as_u16(), refused.message()),
            (
                400,
                format!("Cannot update {id} since its current state is disabled").as_str()
            )
        );
        let retry = server
            .call(
                Method::PATCH,
                &format!("{BASE}/{id}"),
                &root,
                Some("/rd"),
                Some(json!({"datasetSource": "s3", "state": "frozen"})),
            )
            .await;
        assert_eq!(retry.status, 200, "{}", retry.body);
        let third = retry.body["uploadUrl"].as_str().expect("uploadUrl");
        let good = "Column1,Column2\nColumn1Row1,Column2Row1\n";
        assert_eq!(put_csv(&server, third, good.as_bytes()).await.status, 200);
        let done = settled(&server, &root, &id).await;
        assert_eq!(
            (&done["status"], &done["state"], &done["version"]),
            (&json!("success"), &json!("enabled"), &json!(3))
        );
        let (_, _, latest) = fetch(
            &server,
            &format!("{BASE}/{id}/data"),
            Some(&root),
            "text/csv",
        )
        .await;
        assert_eq!(latest, good);
        server.finish().await;
    }
}

#[tokio::test]
async fn bad_csvs_are_refused_naming_the_line_or_column() {
    for server in servers(Options::default()).await {
        let root = setup(&server).await;
        let cases: [(&str, &[u8], &str); 6] = [
            (
                "ragged",
                b"a,b\n1,2\n3\n",
                "Line 3 of the CSV file has 1 values, but the header row has 2 columns.",
            ),
            (
                "duplicate",
                b"a,b,a\n1,2,3\n",
                "The CSV header 'a' appears twice, in columns 1 and 3.",
            ),
            (
                "latin1",
                b"city,zip\nK\xF6ln,50667\n",
                "The CSV file is not valid UTF-8: line 2, column 1 ('city') has the byte 0xF6 at position 2 of the value. Save the file as UTF-8.",
            ),
            (
                "utf16",
                b"\xFF\xFEa\0,\0b\0\n\0",
                "The CSV file is encoded as UTF-16; save it as UTF-8 (CSV UTF-8 in spreadsheet programs).",
            ),
            (
                "empty",
                b"",
                "The CSV file is empty: it needs at least a header row.",
            ),
            (
                "unnamed",
                b"a,,c\n1,2,3\n",
                "Column 2 of the CSV header row has no name.",
            ),
        ];
        for (name, csv, message) in cases {
            let reply = send_form(
                &server,
                Method::POST,
                BASE,
                &root,
                &[
                    Part("name", None, None, name.as_bytes()),
                    Part("data", Some("text/csv"), Some("bad.csv"), csv),
                ],
            )
            .await;
            assert_eq!(
                (reply.status.as_u16(), reply.message()),
                (400, message),
                "{}: {name}",
                server.backend
            );
            assert_eq!(named(&server, &root, name).await, 0, "{name} is not stored");
        }

        // A bad file in a change leaves the dataset as it was.
        let created = create(&server, &root, json!({"name": "kept", "data": SAMPLE})).await;
        let id = created.body["id"].as_str().expect("id").to_owned();
        settled(&server, &root, &id).await;
        let refused = server
            .call(
                Method::PATCH,
                &format!("{BASE}/{id}"),
                &root,
                Some("/rd"),
                Some(json!({"data": "ZIP,STATE\n1,2,3\n"})),
            )
            .await;
        assert_eq!(
            (refused.status.as_u16(), refused.message()),
            (
                400,
                "Line 2 of the CSV file has 3 values, but the header row has 2 columns."
            )
        );
        let latest = settled(&server, &root, &id).await;
        assert_eq!(
            (&latest["version"], &latest["status"]),
            (&json!(1), &json!("success"))
        );
        let (_, _, csv) = fetch(
            &server,
            &format!("{BASE}/{id}/data"),
            Some(&root),
            "text/csv",
        )
        .await;
        assert_eq!(csv, SAMPLE);

        // A readable file with other headers is a new version, disabled and failed (SIF).
        let other = server
            .call(
                Method::PATCH,
                &format!("{BASE}/{id}"),
                &root,
                Some("/rd"),
                Some(json!({"data": "A,B\n1,2\n"})),
            )
            .await;
        assert_eq!(other.status, 200, "{}", other.body);
        assert_eq!(
            (
                &other.body["version"],
                &other.body["state"],
                &other.body["status"]
            ),
            (&json!(2), &json!("disabled"), &json!("failed"))
        );
        let (_, _, csv) = fetch(
            &server,
            &format!("{BASE}/{id}/data"),
            Some(&root),
            "text/csv",
        )
        .await;
        assert_eq!(csv, SAMPLE, "the refused file is not kept");
        server.finish().await;
    }
}

#[tokio::test]
async fn lookup_reads_datasets_by_name_and_version() {
    for server in servers(Options::default()).await {
        let root = setup(&server).await;
        let created = create(
            &server,
            &root,
            json!({"name": "fuels", "data": "fuel,unit\nnatural gas,therm\ndiesel,litre\n"}),
        )
        .await;
        let id = created.body["id"].as_str().expect("id").to_owned();
        settled(&server, &root, &id).await;
        let changed = server
            .call(
                Method::PATCH,
                &format!("{BASE}/{id}"),
                &root,
                Some("/rd"),
                Some(json!({"data": "fuel,unit\nnatural gas,cubic metre\n"})),
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        settled(&server, &root, &id).await;

        let dry_run = |formula: &str| {
            json!({
                "name": "unit_of", "summary": "s", "formula": formula,
                "parameters": [{"index": 0, "key": "fuel", "description": "d", "type": "string"}],
                "outputs": [{"name": "unit", "description": "d", "type": "string"}],
                "dryRunOptions": {"data": [{"fuel": "Natural Gas"}, {"fuel": "diesel"}]}
            })
        };
        let latest = server
            .call(
                Method::POST,
                "/calculations/calculations?dryRun=true",
                &root,
                Some("/rd"),
                Some(dry_run("LOOKUP(:fuel,'fuels','fuel','unit')")),
            )
            .await;
        assert_eq!(latest.status, 200, "{}: {}", server.backend, latest.body);
        assert_eq!(latest.body["data"][0], "cubic metre", "{}", latest.body);
        let first = server
            .call(
                Method::POST,
                "/calculations/calculations?dryRun=true",
                &root,
                Some("/rd"),
                Some(dry_run("LOOKUP(:fuel,'fuels','fuel','unit',version=1)")),
            )
            .await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(
            (&first.body["data"][0], &first.body["data"][1]),
            (&json!("therm"), &json!("litre")),
            "{}",
            first.body
        );
        server.finish().await;
    }
}
