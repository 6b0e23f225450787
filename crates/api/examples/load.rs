//! A load generator for `sifr serve`: many concurrent clients on loopback, GET and POST on
//! groups and users, each scenario for a fixed time. Prints requests/s and latency percentiles.
//!
//! cargo run --release -p sifr-api --example load -- --url http://127.0.0.1:8080 \
//!     --username admin@example.com --password secret1 [--clients 64] [--seconds 10]
//!
//! It only talks to loopback addresses, and every scenario stops after `--seconds`.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Options {
    url: String,
    username: String,
    password: String,
    clients: usize,
    seconds: u64,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        url: "http://127.0.0.1:8080".into(),
        username: String::new(),
        password: String::new(),
        clients: 64,
        seconds: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => options.url = value,
            "--username" => options.username = value,
            "--password" => options.password = value,
            "--clients" => {
                options.clients = value
                    .parse()
                    .map_err(|_| format!("--clients: not a number: {value}"))?
            }
            "--seconds" => {
                options.seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds: not a number: {value}"))?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    let host = options.url.split("://").nth(1).unwrap_or_default();
    let loopback = ["127.", "localhost:", "localhost/", "[::1]"]
        .iter()
        .any(|prefix| host.starts_with(prefix));
    if !loopback {
        return Err(format!(
            "{} is not a loopback address; this tool only loads servers on this machine",
            options.url
        ));
    }
    if options.username.is_empty() || options.password.is_empty() || options.clients == 0 {
        return Err(
            "--username and --password are required, and --clients must be positive".into(),
        );
    }
    Ok(options)
}

/// One client of the server, logged in, with the group its requests work in.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
    group: String,
}

impl Client {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<StatusCode, reqwest::Error> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header("accept-version", "1.0.0")
            .header("x-groupcontextid", &self.group);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        response.bytes().await?;
        Ok(status)
    }
}

#[derive(Clone, Copy)]
enum Scenario {
    ListGroups,
    GetGroup,
    CreateGroup,
    GetUser,
    CreateUser,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Self::ListGroups => "GET  /accessManagement/groups (20 groups)",
            Self::GetGroup => "GET  /accessManagement/groups/{id}",
            Self::CreateGroup => "POST /accessManagement/groups",
            Self::GetUser => "GET  /accessManagement/users/{email}",
            Self::CreateUser => "POST /accessManagement/users",
        }
    }

    /// The request number `n` of client `worker` makes; ids are unique across clients.
    async fn request(
        self,
        client: &Client,
        worker: usize,
        n: usize,
    ) -> Result<StatusCode, reqwest::Error> {
        let group = client.group.replace('/', "%2F");
        match self {
            Self::ListGroups => {
                client
                    .send(Method::GET, "/accessManagement/groups", None)
                    .await
            }
            Self::GetGroup => {
                let path = format!("/accessManagement/groups/{group}%2Fseed{}", n % 20);
                client.send(Method::GET, &path, None).await
            }
            Self::CreateGroup => {
                let body = json!({"name": format!("w{worker}-n{n}"), "tags": {"bench": "load"}});
                client
                    .send(Method::POST, "/accessManagement/groups", Some(&body))
                    .await
            }
            Self::GetUser => {
                let path = format!("/accessManagement/users/seed{}%40bench.example.com", n % 20);
                client.send(Method::GET, &path, None).await
            }
            Self::CreateUser => {
                let body =
                    json!({"email": format!("w{worker}-n{n}@bench.example.com"), "role": "reader"});
                client
                    .send(Method::POST, "/accessManagement/users", Some(&body))
                    .await
            }
        }
    }
}

struct Outcome {
    latencies: Vec<Duration>,
    failures: usize,
}

async fn run(
    client: &Client,
    scenario: Scenario,
    clients: usize,
    seconds: u64,
) -> (Outcome, Duration) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|worker| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome {
                    latencies: Vec::new(),
                    failures: 0,
                };
                let mut n = 0;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match scenario.request(&client, worker, n).await {
                        Ok(status) if status.is_success() => outcome.latencies.push(sent.elapsed()),
                        _ => outcome.failures += 1,
                    }
                    n += 1;
                }
                outcome
            })
        })
        .collect();
    let mut total = Outcome {
        latencies: Vec::new(),
        failures: 0,
    };
    for worker in workers {
        if let Ok(outcome) = worker.await {
            total.latencies.extend(outcome.latencies);
            total.failures += outcome.failures;
        }
    }
    (total, started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn setup(options: &Options, http: reqwest::Client) -> Result<Client, String> {
    let login = http
        .post(format!("{}/auth/token", options.url))
        .json(&json!({"username": options.username, "password": options.password}))
        .send()
        .await
        .map_err(|e| format!("login: {e}"))?;
    if !login.status().is_success() {
        return Err(format!("login failed with {}", login.status()));
    }
    let token: Value = login.json().await.map_err(|e| format!("login: {e}"))?;
    let token = token["idToken"]
        .as_str()
        .ok_or("login: no idToken")?
        .to_owned();
    let run_id = std::process::id();
    let mut client = Client {
        http,
        url: options.url.clone(),
        token,
        group: "/".into(),
    };
    let expect = |what: String, status: Result<StatusCode, reqwest::Error>| match status {
        Ok(status) if status.is_success() => Ok(()),
        other => Err(format!("{what}: {other:?}")),
    };
    let name = format!("bench{run_id}");
    expect(
        name.clone(),
        client
            .send(
                Method::POST,
                "/accessManagement/groups",
                Some(&json!({"name": name})),
            )
            .await,
    )?;
    client.group = format!("/{name}");
    for i in 0..20 {
        let body = json!({"name": format!("seed{i}")});
        expect(
            format!("seed group {i}"),
            client
                .send(Method::POST, "/accessManagement/groups", Some(&body))
                .await,
        )?;
        let body = json!({"email": format!("seed{i}@bench.example.com"), "role": "reader"});
        expect(
            format!("seed user {i}"),
            client
                .send(Method::POST, "/accessManagement/users", Some(&body))
                .await,
        )?;
    }
    Ok(client)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("load: {message}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // reqwest comes without a bundled TLS crypto provider; plain HTTP still builds the TLS stack.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = match reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients)
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            eprintln!("load: cannot build the HTTP client: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let client = match setup(&options, http).await {
        Ok(client) => client,
        Err(message) => {
            eprintln!("load: setup failed: {message}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "{} clients, {} s per scenario, against {}",
        options.clients, options.seconds, options.url
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>9}",
        "scenario", "req/s", "p50 ms", "p99 ms", "failed"
    );
    let scenarios = [
        Scenario::ListGroups,
        Scenario::GetGroup,
        Scenario::GetUser,
        Scenario::CreateGroup,
        Scenario::CreateUser,
    ];
    for scenario in scenarios {
        let (mut outcome, elapsed) = run(&client, scenario, options.clients, options.seconds).await;
        outcome.latencies.sort();
        let rate = outcome.latencies.len() as f64 / elapsed.as_secs_f64();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<44} {:>10.0} {:>10.2} {:>10.2} {:>9}",
            scenario.label(),
            rate,
            ms(percentile(&outcome.latencies, 0.50)),
            ms(percentile(&outcome.latencies, 0.99)),
            outcome.failures
        );
    }
    std::process::ExitCode::SUCCESS
}
