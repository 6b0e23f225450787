//! An execution survives `kill -9` of the server: the restarted server processes it again from
//! its input and ends with exactly the activities the input defines, each written once.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "resume-test-pw-1";
const ROWS: u64 = 400_000;

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_sifr"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data)
            .env("SIFR_ADMIN_PASSWORD", PASSWORD)
            .env_remove("SIFR_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sifr serve starts");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn connect(base: &str) -> Client {
        // Plain HTTP only, but the client still wants a TLS provider chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let login = http
                .post(format!("{base}/auth/token"))
                .json(&json!({"username": "admin@sifr.example.com", "password": PASSWORD}))
                .send()
                .await;
            if let Ok(reply) = login
                && reply.status().is_success()
            {
                let body: Value = reply.json().await.expect("a token");
                return Client {
                    http,
                    base: base.to_owned(),
                    token: body["idToken"].as_str().expect("idToken").to_owned(),
                };
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("accept-version", "1.0.0")
            .header("x-groupcontextid", "/");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.expect("the server answers");
        let status = reply.status();
        let body: Value = reply.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_interrupted_by_kill_9_finishes_after_a_restart() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let port = free_port();
    let mut server = Server::start(dir.path(), port);
    let client = Client::connect(&server.base).await;

    client
        .call(
            reqwest::Method::POST,
            "/pipelines/metrics",
            Some(json!({"name": "units", "summary": "units", "aggregationType": "sum"})),
        )
        .await;
    let pipeline = client
        .call(
            reqwest::Method::POST,
            "/pipelines/pipelines",
            Some(json!({
                "name": "meters",
                "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
                "transformer": {
                    "parameters": [
                        {"index": 0, "key": "id", "type": "string"},
                        {"index": 1, "key": "units", "type": "number"}
                    ],
                    "transforms": [
                        {"index": 0, "formula": "AS_TIMESTAMP('1/1/2024','M/d/yyyy')",
                         "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                        {"index": 1, "formula": ":id",
                         "outputs": [{"index": 0, "key": "id", "type": "string", "includeAsUnique": true}]},
                        {"index": 2, "formula": ":units*2",
                         "outputs": [{"index": 0, "key": "double", "type": "number", "metrics": ["units"]}]}
                    ]
                }
            })),
        )
        .await;
    let pipeline_id = pipeline["id"].as_str().expect("an id").to_owned();
    let executions = format!("/pipelineProcessor/pipelines/{pipeline_id}/executions");
    let execution = client
        .call(reqwest::Method::POST, &executions, Some(json!({})))
        .await;
    let execution_id = execution["id"].as_str().expect("an id").to_owned();

    let mut input = String::from("id,units\n");
    for i in 0..ROWS {
        input.push_str(&format!("r{i},{}\n", i % 7));
    }
    // Σ 2·(i mod 7) over the rows.
    let expected: u64 = (0..ROWS).map(|i| 2 * (i % 7)).sum();
    let upload = client
        .http
        .put(execution["inputUploadUrl"].as_str().expect("an upload URL"))
        .body(input)
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), 200);

    // Kill the server while it stores activities: versions stay invisible until the execution
    // commits them, so the sign of storing is the tenant's database growing.
    let path = format!("{executions}/{execution_id}");
    let stored = || tenant_bytes(dir.path());
    let before = stored();
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored() < before + (4 << 20) {
        let status = client.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(
            status["status"], "in_progress",
            "the execution must still run when killed; make ROWS larger: {status}"
        );
        assert!(Instant::now() < deadline, "nothing was written in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = client.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(status["status"], "in_progress", "{status}");
    let killed = Command::new("kill")
        .args(["-9", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let _ = server.child.wait();

    let restarted = Server::start(dir.path(), port);
    let client = Client::connect(&restarted.base).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    let done = loop {
        let status = client.call(reqwest::Method::GET, &path, None).await;
        if matches!(status["status"].as_str(), Some("success" | "failed")) {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the execution did not finish: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["rows"]["rowsStored"], ROWS);

    // Exactly ROWS versions written by the execution: one at offset ROWS-1, none after.
    let page = |offset: u64| {
        format!(
            "/pipelineProcessor/activities?executionId={execution_id}&count=1&fromToken={offset}"
        )
    };
    let last = client
        .call(reqwest::Method::GET, &page(ROWS - 1), None)
        .await;
    assert_eq!(last["activities"].as_array().map(Vec::len), Some(1));
    let beyond = client.call(reqwest::Method::GET, &page(ROWS), None).await;
    assert_eq!(beyond["activities"].as_array().map(Vec::len), Some(0));

    // And the metric counts every row once.
    let metric = client
        .call(
            reqwest::Method::GET,
            "/pipelineProcessor/metrics?name=units&timeUnit=year&dateFrom=2024-01-01&dateTo=2024-12-31",
            None,
        )
        .await;
    assert_eq!(
        metric["metrics"][0]["groupValue"],
        json!(expected),
        "{metric}"
    );
}

/// Bytes of the tenants' database files (with their write-ahead logs).
fn tenant_bytes(data: &Path) -> u64 {
    std::fs::read_dir(data.join("tenants"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
