//! The client commands, as processes, against a live `sifr serve` started per test on a free
//! port with its own data directory and configuration folder.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use serde_json::{Value, json};

pub const ADMIN: &str = "root@acme.example";
pub const ADMIN_PASSWORD: &str = "root-secret1";

/// A finished `sifr` process.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success; answers the run for chaining.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts a failure with `code` whose message on standard error contains `text`.
    #[track_caller]
    pub fn fails(self, code: i32, text: &str) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains(text),
            "expected {text:?} in:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

/// Runs the `sifr` binary with exactly `env` as its environment (and PATH), feeding `stdin`.
pub fn sifr_with(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sifr"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sifr binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("sifr finishes");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A `sifr serve` process with the root admin [`ADMIN`], stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sifr"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_clear()
            .env("SIFR_ADMIN_EMAIL", ADMIN)
            .env("SIFR_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sifr serve starts");
        let stderr = child.stderr.take().expect("stderr");
        // The server logs the address it bound; the rest of its log is drained in the
        // background so that it never blocks on a full pipe.
        let (found, address) = mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if entry["fields"]["message"] == "listening"
                    && let (Some(sender), Some(address)) =
                        (found.take(), entry["fields"]["address"].as_str())
                {
                    let _ = sender.send(address.to_owned());
                }
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "sifr serve did not report its address: {:?}",
                    child.try_wait()
                )
            });
        Server {
            child,
            url: format!("http://{address}"),
            dir,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// A scratch folder of this test.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a scratch file; answers its path as text.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folder");
        std::fs::write(&path, text).expect("write a scratch file");
        path.to_str().expect("a UTF-8 path").to_owned()
    }

    /// Runs `sifr` with this server's URL and configuration folder in the environment.
    pub fn sifr_env(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
        let config = self.config_dir();
        let mut all = vec![
            ("SIFR_URL", self.url.as_str()),
            ("SIFR_CONFIG_DIR", config.to_str().expect("a UTF-8 path")),
        ];
        all.extend_from_slice(env);
        sifr_with(args, &all, stdin)
    }

    pub fn sifr(&self, args: &[&str]) -> Run {
        self.sifr_env(args, &[], "")
    }

    /// Logs in as `user` into `profile`.
    pub fn login_as(&self, profile: &str, user: &str, password: &str) {
        self.sifr_env(
            &[
                "login",
                "--profile",
                profile,
                "--username",
                user,
                "--password-stdin",
            ],
            &[],
            &format!("{password}\n"),
        )
        .ok();
    }

    /// Logs in as the root admin into the default profile.
    pub fn login(&self) {
        self.login_as("default", ADMIN, ADMIN_PASSWORD);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn login_keeps_a_private_token_and_profiles_layer_under_env_and_flags() {
    let server = Server::start();
    server
        .sifr_env(
            &["login", "--username", ADMIN, "--password-stdin"],
            &[],
            "wrong-password1\n",
        )
        .fails(3, "cannot log in");
    server.sifr(&["groups", "list"]).fails(3, "not logged in");

    server.login();
    let config = server.config_dir().join("config.toml");
    let text = read(&config);
    assert!(text.contains("[profiles.default]"), "{text}");
    assert!(
        text.contains(&format!("url = \"{}/\"", server.url)),
        "{text}"
    );
    assert!(text.contains("token = \"ey"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is private");
    }
    let groups = server.sifr(&["groups", "list", "-o", "json"]).ok().json();
    assert_eq!(groups, json!([]), "a new tenant has no sub-groups");

    // The profile's URL serves when neither environment nor flag names one; a flag beats it.
    let config_dir = server.config_dir();
    let only_config = [("SIFR_CONFIG_DIR", config_dir.to_str().unwrap())];
    sifr_with(&["groups", "list"], &only_config, "").ok();
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    sifr_with(&["groups", "list", "--url", &closed], &only_config, "").fails(1, "cannot reach");
    sifr_with(
        &["groups", "list"],
        &[only_config[0], ("SIFR_URL", closed.as_str())],
        "",
    )
    .fails(1, "cannot reach");

    // A token in the environment beats the profile's.
    server
        .sifr_env(&["groups", "list"], &[("SIFR_TOKEN", "not-a-token")], "")
        .fails(3, "the server refused the token");
    // Scripts may log in on every command with a username and password in the environment.
    let fresh = server.path("fresh");
    sifr_with(
        &["groups", "create", "/scripted", "-o", "json"],
        &[
            ("SIFR_URL", server.url.as_str()),
            ("SIFR_CONFIG_DIR", fresh.to_str().unwrap()),
            ("SIFR_USERNAME", ADMIN),
            ("SIFR_PASSWORD", ADMIN_PASSWORD),
        ],
        "",
    )
    .ok();
    assert!(!fresh.exists(), "nothing is written without `sifr login`");

    server.sifr(&["logout"]).ok();
    assert!(!read(&config).contains("token"));
    server.sifr(&["groups", "list"]).fails(3, "not logged in");
}

#[test]
fn groups_are_created_listed_changed_and_deleted() {
    let server = Server::start();
    server.login();
    let acme = server
        .sifr(&[
            "groups",
            "create",
            "/acme",
            "--description",
            "Acme",
            "--tag",
            "sector=steel",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(acme["id"], "/acme");
    assert_eq!(acme["tags"], json!({"sector": "steel"}));
    // A bare name is a sub-group of the group in context.
    server
        .sifr(&["groups", "create", "emea", "--group", "/acme"])
        .ok();
    let all = server
        .sifr(&["groups", "list", "--children", "-o", "json"])
        .ok()
        .json();
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["/acme", "/acme/emea"]);
    let csv = server.sifr(&["groups", "list", "-o", "csv"]).ok().stdout;
    assert_eq!(csv, "ID,NAME,STATE,DESCRIPTION\n/acme,acme,active,Acme\n");
    let table = server
        .sifr(&["groups", "list", "--group", "/acme"])
        .ok()
        .stdout;
    assert!(table.starts_with("ID          NAME  STATE"), "{table}");
    assert!(table.contains("/acme/emea  emea  active"), "{table}");

    let changed = server
        .sifr(&[
            "groups",
            "update",
            "/acme/emea",
            "--state",
            "disabled",
            "--description",
            "EMEA",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(changed["state"], "disabled");
    assert_eq!(changed["description"], "EMEA");

    server
        .sifr(&["groups", "delete", "/acme/emea"])
        .fails(1, "repeat with --yes");
    server.sifr(&["groups", "get", "/acme/emea"]).ok();
    server
        .sifr(&["groups", "delete", "/acme"])
        .fails(1, "repeat with --yes");
    server
        .sifr(&["groups", "delete", "/acme", "--yes"])
        .fails(1, "HTTP 409");
    server
        .sifr(&["groups", "delete", "/acme/emea", "--yes"])
        .ok();
    server
        .sifr(&["groups", "get", "/acme/emea"])
        .fails(5, "Group '/acme/emea' not found.");
    server
        .sifr(&["groups", "create", "/acme/bad name"])
        .fails(1, "Invalid group");
}

#[test]
fn users_are_granted_roles_and_a_reader_cannot_write() {
    let server = Server::start();
    server.login();
    server.sifr(&["groups", "create", "/acme"]).ok();
    let reader = server
        .sifr_env(
            &[
                "users",
                "create",
                "reader@acme.example",
                "--role",
                "reader",
                "--group",
                "/acme",
                "--password-stdin",
                "--tag",
                "team=esg",
                "-o",
                "json",
            ],
            &[],
            "reader-pass1\n",
        )
        .ok()
        .json();
    assert_eq!(reader["groups"], json!({"/acme": "reader"}));
    assert_eq!(reader["tags"], json!({"team": "esg"}));
    server
        .sifr(&[
            "users",
            "grant",
            "other@acme.example",
            "--role",
            "admin",
            "--group",
            "/acme",
        ])
        .ok();
    let users = server
        .sifr(&["users", "list", "--group", "/acme", "-o", "json"])
        .ok()
        .json();
    let emails: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["other@acme.example", "reader@acme.example"]);
    let updated = server
        .sifr(&[
            "users",
            "update",
            "reader@acme.example",
            "--state",
            "active",
            "--group",
            "/acme",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(updated["state"], "active");

    server.login_as("reader", "reader@acme.example", "reader-pass1");
    let as_reader = ["--profile", "reader", "--group", "/acme"];
    let listed = server
        .sifr(&[&["calculations", "list", "-o", "json"][..], &as_reader].concat())
        .ok()
        .json();
    assert_eq!(listed, json!([]));
    server
        .sifr(
            &[
                &[
                    "calculations",
                    "create",
                    "double",
                    "--formula",
                    ":x*2",
                    "--summary",
                    "twice",
                    "--parameter",
                    "x:number",
                    "--result",
                    "y:number",
                ][..],
                &as_reader,
            ]
            .concat(),
        )
        .fails(4, "HTTP 403");
    server
        .sifr(&[&["groups", "create", "/acme/sub"][..], &as_reader].concat())
        .fails(4, "HTTP 403");

    server
        .sifr(&["users", "delete", "other@acme.example", "--group", "/acme"])
        .fails(1, "repeat with --yes");
    server
        .sifr(&[
            "users",
            "revoke",
            "other@acme.example",
            "--group",
            "/acme",
            "--yes",
        ])
        .ok();
    server
        .sifr(&["users", "get", "other@acme.example", "--group", "/acme"])
        .fails(5, "User 'other@acme.example' not found.");
}

#[test]
fn activities_are_created_changed_and_imported_in_bulk() {
    let server = Server::start();
    server.login();
    server.sifr(&["groups", "create", "/acme"]).ok();
    let file = server.write(
        "gas.yaml",
        "name: usepa:natural_gas\ndescription: per mmBtu\nimpacts:\n  ghg:\n    name: ghg\n    components:\n      co2: {key: co2, value: 53.06, type: pollutant}\n",
    );
    let g = ["--group", "/acme"];
    let created = server
        .sifr(
            &[
                &[
                    "impacts",
                    "create",
                    "--file",
                    &file,
                    "--attribute",
                    "unit=mmBtu",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(created["name"], "usepa:natural_gas");
    assert_eq!(created["attributes"], json!({"unit": "mmBtu"}));
    let value = &created["impacts"]["ghg"]["components"]["co2"]["value"];
    assert_eq!(value.to_string(), "53.06");
    let updated = server
        .sifr(
            &[
                &[
                    "impacts",
                    "update",
                    "usepa:natural_gas",
                    "--description",
                    "natural gas, per mmBtu",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(updated["version"], 2);
    assert_eq!(
        updated["impacts"]["ghg"]["components"]["co2"]["type"],
        "pollutant"
    );

    let csv = server.write(
        "factors.csv",
        "activity,impact,component,value,type\nPropane,ghg,co2,62.87,\nPropane,ghg,ch4,0.003,pollutant\nKerosene,ghg,co2,75.20,\nusepa:natural_gas,ghg,co2,1,\n",
    );
    let imported = server
        .sifr(
            &[
                &["impacts", "import", &csv, "--batch", "2", "-o", "json"][..],
                &g,
            ]
            .concat(),
        )
        .fails(1, "1 of 3 activities were not created");
    let summary = imported.json();
    assert_eq!(summary["itemsTotal"], 3);
    assert_eq!(summary["itemsSucceeded"], 2);
    assert_eq!(
        summary["tasks"].as_array().unwrap().len(),
        2,
        "two tasks of at most 2"
    );
    assert_eq!(summary["failures"][0]["name"], "usepa:natural_gas");
    assert!(
        imported
            .stderr
            .contains("activity 'usepa:natural_gas': Name 'usepa:natural_gas' already in use."),
        "{}",
        imported.stderr
    );
    let propane = server
        .sifr(&[&["impacts", "get", "Propane", "-o", "json"][..], &g].concat())
        .ok()
        .json();
    let components = &propane["impacts"]["ghg"]["components"];
    assert_eq!(components["co2"]["value"].to_string(), "62.87");
    assert_eq!(components["ch4"]["value"].to_string(), "0.003");
    let yaml = server.write(
        "more.yaml",
        "- name: coal\n  impacts:\n    ghg:\n      name: ghg\n      components:\n        co2: {key: co2, value: 95.52, type: pollutant}\n",
    );
    let imported = server
        .sifr(&[&["impacts", "import", &yaml][..], &g].concat())
        .ok()
        .stdout;
    assert_eq!(
        imported,
        format!("Imported 1 activity from {yaml}: 1 created, 0 failed (1 task(s)).\n")
    );
    let list = server
        .sifr(&[&["impacts", "list", "-o", "json"][..], &g].concat())
        .ok()
        .json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4);
    assert!(names.contains(&"coal"), "{names:?}");

    let bad = server.write("bad.csv", "activity,impact,value\nx,ghg,1\n");
    server
        .sifr(&[&["impacts", "import", &bad][..], &g].concat())
        .fails(1, "'component' is missing");
    let bad = server.write(
        "nan.csv",
        "activity,impact,component,value\nx,ghg,co2,lots\n",
    );
    server
        .sifr(&[&["impacts", "import", &bad][..], &g].concat())
        .fails(1, "line 2: value 'lots' is not a number");

    server
        .sifr(&[&["impacts", "delete", "Kerosene", "--yes"][..], &g].concat())
        .ok();
    server
        .sifr(&[&["impacts", "get", "Kerosene"][..], &g].concat())
        .fails(5, "no activity named 'Kerosene' in group '/acme'");
}

#[test]
fn datasets_upload_their_file_and_download_it_back() {
    let server = Server::start();
    server.login();
    server.sifr(&["groups", "create", "/acme"]).ok();
    let g = ["--group", "/acme"];
    let first = server.write("gwp.csv", "gas,gwp\nco2,1\nch4,28\n");
    let created = server
        .sifr(
            &[
                &[
                    "datasets",
                    "create",
                    "gwp",
                    "--data",
                    &first,
                    "--description",
                    "GWP",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(created["status"], "success");
    assert_eq!(created["state"], "enabled");
    assert_eq!(created["datasetHeaders"], json!(["gas", "gwp"]));
    let downloaded = server
        .sifr(&[&["datasets", "download", "gwp"][..], &g].concat())
        .ok()
        .stdout;
    assert_eq!(downloaded, "gas,gwp\nco2,1\nch4,28\n");

    let second = server.write("gwp2.csv", "gas,gwp\nco2,1\nch4,28\nn2o,265\n");
    let updated = server
        .sifr(
            &[
                &["datasets", "update", "gwp", "--data", &second, "-o", "json"][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(updated["version"], 2);
    let out = server.path("v1.csv");
    server
        .sifr(
            &[
                &[
                    "datasets",
                    "download",
                    "gwp",
                    "--version",
                    "1",
                    "--out",
                    out.to_str().unwrap(),
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok();
    assert_eq!(read(&out), "gas,gwp\nco2,1\nch4,28\n");
    let latest = server
        .sifr(&[&["datasets", "download", "gwp"][..], &g].concat())
        .ok()
        .stdout;
    assert_eq!(latest, "gas,gwp\nco2,1\nch4,28\nn2o,265\n");

    let broken = server.write("broken.csv", "a,b\n1\n");
    server
        .sifr(&[&["datasets", "create", "broken", "--data", &broken][..], &g].concat())
        .fails(
            1,
            "Line 2 of the CSV file has 1 values, but the header row has 2 columns.",
        );
    server
        .sifr(
            &[
                &["datasets", "create", "nofile", "--data", "missing.csv"][..],
                &g,
            ]
            .concat(),
        )
        .fails(1, "cannot read missing.csv");
    let unknown = "01arz3ndektsv4rrffq69g5fav";
    server
        .sifr(&[&["datasets", "get", unknown][..], &g].concat())
        .fails(5, &format!("Reference Dataset {unknown} cannot be found"));
}

#[test]
fn calculations_and_metrics_are_managed_by_name() {
    let server = Server::start();
    server.login();
    server.sifr(&["groups", "create", "/acme"]).ok();
    let g = ["--group", "/acme"];
    let created = server
        .sifr(
            &[
                &[
                    "calculations",
                    "create",
                    "double",
                    "--formula",
                    ":x*2",
                    "--summary",
                    "twice",
                    "--parameter",
                    "x:number:the value",
                    "--result",
                    "y:number",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(created["formula"], ":x*2");
    assert_eq!(
        created["parameters"],
        json!([{"index": 0, "key": "x", "description": "the value", "type": "number"}])
    );
    assert_eq!(
        created["outputs"],
        json!([{"name": "y", "description": "y", "type": "number"}])
    );
    let updated = server
        .sifr(
            &[
                &[
                    "calculations",
                    "update",
                    "double",
                    "--formula",
                    ":x+:x",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["formula"], ":x+:x");
    let first = server
        .sifr(
            &[
                &[
                    "calculations",
                    "get",
                    "double",
                    "--version",
                    "1",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(first["formula"], ":x*2");
    server
        .sifr(
            &[
                &[
                    "calculations",
                    "create",
                    "broken",
                    "--formula",
                    ":x*/2",
                    "--summary",
                    "s",
                    "--result",
                    "y:number",
                ][..],
                &g,
            ]
            .concat(),
        )
        .fails(1, "HTTP 400");
    server
        .sifr(
            &[
                &["calculations", "create", "incomplete", "--formula", "1"][..],
                &g,
            ]
            .concat(),
        )
        .fails(1, "'summary' is required");

    server
        .sifr(
            &[
                &["metrics", "create", "ghg:scope1", "--summary", "Scope 1"][..],
                &g,
            ]
            .concat(),
        )
        .ok();
    let part = server
        .sifr(
            &[
                &[
                    "metrics",
                    "create",
                    "ghg:scope1:gas",
                    "--summary",
                    "Gas",
                    "--output-metric",
                    "ghg:scope1",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(part["outputMetrics"], json!(["ghg:scope1"]));
    assert_eq!(part["aggregationType"], "sum");
    let csv = server
        .sifr(&[&["metrics", "list", "-o", "csv"][..], &g].concat())
        .ok()
        .stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "ID,NAME,VERSION,AGGREGATION,OUTPUT METRICS");
    assert!(lines[1].ends_with(",ghg:scope1,2,sum,"), "{csv}");
    assert!(
        lines[2].ends_with(",ghg:scope1:gas,1,sum,ghg:scope1"),
        "{csv}"
    );
    server
        .sifr(&[&["metrics", "delete", "ghg:scope1", "--yes"][..], &g].concat())
        .fails(1, "cannot be deleted");
    server
        .sifr(
            &[
                &[
                    "metrics",
                    "update",
                    "ghg:scope1:gas",
                    "--summary",
                    "Natural gas",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok();
    server
        .sifr(&[&["metrics", "delete", "ghg:scope1:gas", "--yes"][..], &g].concat())
        .ok();
    server
        .sifr(&[&["calculations", "delete", "double", "--yes"][..], &g].concat())
        .ok();
    let left = server
        .sifr(&[&["calculations", "list", "-o", "json"][..], &g].concat())
        .ok()
        .json();
    assert_eq!(left, json!([]));
}

const PIPELINE: &str = r#"{
  "name": "doubler",
  "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
  "transformer": {
    "parameters": [
      {"index": 0, "key": "date", "type": "string"},
      {"index": 1, "key": "x", "type": "number"}
    ],
    "transforms": [
      {"index": 0, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy')",
       "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
      {"index": 1, "formula": ":x*2",
       "outputs": [{"index": 0, "key": "double", "type": "number"}]}
    ]
  }
}"#;

#[test]
fn pipelines_are_validated_by_dry_run_and_created() {
    let server = Server::start();
    server.login();
    server.sifr(&["groups", "create", "/acme"]).ok();
    let g = ["--group", "/acme"];
    let definition = server.write("doubler.json", PIPELINE);
    let rows = server.write("rows.csv", "date,x\n1/15/2023,21\n2/1/2023,0.5\n");
    let result = server
        .sifr(
            &[
                &[
                    "pipelines",
                    "validate",
                    &definition,
                    "--data",
                    &rows,
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(result["headers"], json!(["time", "double"]));
    assert_eq!(
        result["data"],
        json!([
            "{\"time\":1673740800000,\"double\":42}",
            "{\"time\":1675209600000,\"double\":1}"
        ])
    );
    let table = server
        .sifr(
            &[
                &["pipelines", "validate", &definition, "--data", &rows][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .stdout;
    assert_eq!(
        table,
        "time           double\n1673740800000  42\n1675209600000  1\n"
    );
    let bad_rows = server.write("bad.csv", "date,x\n1/15/2023,many\n");
    let failed = server
        .sifr(
            &[
                &["pipelines", "validate", &definition, "--data", &bad_rows][..],
                &g,
            ]
            .concat(),
        )
        .fails(1, "the dry run failed: 1 error(s)");
    assert!(failed.stderr.contains("'many'"), "{}", failed.stderr);
    server
        .sifr(&[&["pipelines", "validate", &definition][..], &g].concat())
        .fails(1, "a dry run needs sample rows");

    let created = server
        .sifr(
            &[
                &["pipelines", "create", "--file", &definition, "-o", "json"][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(created["name"], "doubler");
    assert_eq!(created["state"], "enabled");
    let id = created["id"].as_str().unwrap();
    let updated = server
        .sifr(
            &[
                &[
                    "pipelines",
                    "update",
                    "doubler",
                    "--description",
                    "twice x",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["description"], "twice x");
    let listed = server
        .sifr(&[&["pipelines", "list"][..], &g].concat())
        .ok()
        .stdout;
    assert!(
        listed.contains(&format!("{id}  doubler  2        enabled  activities")),
        "{listed}"
    );
    server
        .sifr(&[&["pipelines", "create", "--file", &definition][..], &g].concat())
        .fails(1, "HTTP 409");
    server
        .sifr(&[&["pipelines", "delete", id, "--yes"][..], &g].concat())
        .ok();
    server
        .sifr(&[&["pipelines", "get", id][..], &g].concat())
        .fails(5, "not found");
}

#[test]
fn another_tenant_reads_a_shared_group_but_changes_nothing() {
    let server = Server::start();
    server.login();
    server.sifr(&["groups", "create", "/shared"]).ok();
    server
        .sifr(&[
            "calculations",
            "create",
            "double",
            "--group",
            "/shared",
            "--formula",
            ":x*2",
            "--summary",
            "twice",
            "--parameter",
            "x:number",
            "--result",
            "y:number",
        ])
        .ok();
    let data = server.data_dir();
    let data = data.to_str().unwrap();
    server
        .sifr(&[
            "tenant",
            "create",
            "beta",
            "--data-dir",
            data,
            "--admin-email",
            "b@beta.example",
            "--admin-password",
            "beta-pass1",
        ])
        .ok();
    server
        .sifr(&[
            "tenant",
            "share",
            "default",
            "--group",
            "/shared",
            "--with",
            "beta",
            "--data-dir",
            data,
        ])
        .ok();
    server
        .sifr_env(
            &[
                "login",
                "--profile",
                "beta",
                "--tenant",
                "beta",
                "--username",
                "b@beta.example",
                "--password-stdin",
            ],
            &[],
            "beta-pass1\n",
        )
        .ok();
    let beta = ["--profile", "beta", "--shared-tenant", "default"];
    let shared = server
        .sifr(
            &[
                &["calculations", "list", "--group", "/shared", "-o", "json"][..],
                &beta,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(shared[0]["name"], "double");
    server
        .sifr(
            &[
                &["calculations", "list", "--group", "/", "-o", "json"][..],
                &beta,
            ]
            .concat(),
        )
        .fails(4, "Not authorized to access tenant path default:/");
    server
        .sifr(
            &[
                &[
                    "metrics",
                    "create",
                    "m",
                    "--summary",
                    "s",
                    "--group",
                    "/shared",
                ][..],
                &beta,
            ]
            .concat(),
        )
        .fails(
            1,
            "--shared-tenant default reads another tenant's shared group",
        );
    let own = server
        .sifr(&["calculations", "list", "--profile", "beta", "-o", "json"])
        .ok()
        .json();
    assert_eq!(own, json!([]), "beta's own tenant is empty");
}

#[test]
fn bad_input_files_fail_with_the_file_named() {
    let server = Server::start();
    server.login();
    server
        .sifr(&["metrics", "create", "m", "--file", "nowhere.json"])
        .fails(1, "cannot read nowhere.json");
    let broken = server.write("broken.json", "{\"summary\": \"s\",\n  \"name\": }\n");
    server
        .sifr(&["metrics", "create", "--file", &broken])
        .fails(1, "line 2 column 11");
    let list = server.write("list.yaml", "- name: m\n");
    server
        .sifr(&["metrics", "create", "--file", &list])
        .fails(1, "expected one object, found a list");
    server
        .sifr(&["groups", "create", "/x", "--tag", "novalue"])
        .fails(1, "--tag novalue: expected key=value");
}

/// A stand-in server that answers each request with the next of `answers` (status, body),
/// counting the requests.
fn scripted(answers: Vec<(u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for (status, body) in answers {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // Read the head and whatever body its Content-Length announces.
            loop {
                let n = stream.read(&mut buffer).unwrap_or(0);
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length || n == 0 {
                        break;
                    }
                } else if n == 0 {
                    break;
                }
            }
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, count)
}

#[test]
fn gateway_errors_are_retried_for_reads_but_not_for_creates() {
    let (url, count) = scripted(vec![
        (503, r#"{"message": "busy"}"#),
        (502, ""),
        (
            200,
            r#"{"groups": [{"id": "/a", "name": "a", "state": "active"}]}"#,
        ),
    ]);
    let env = [
        ("SIFR_URL", url.as_str()),
        ("SIFR_TOKEN", "t"),
        ("SIFR_CONFIG_DIR", "/nonexistent"),
    ];
    let listed = sifr_with(&["groups", "list", "-o", "json"], &env, "")
        .ok()
        .json();
    assert_eq!(listed[0]["id"], "/a");
    assert_eq!(count.load(Ordering::SeqCst), 3, "two retries");

    let (url, count) = scripted(vec![(503, r#"{"message": "busy"}"#), (201, "{}")]);
    let env = [
        ("SIFR_URL", url.as_str()),
        ("SIFR_TOKEN", "t"),
        ("SIFR_CONFIG_DIR", "/nonexistent"),
    ];
    sifr_with(&["groups", "create", "/a"], &env, "").fails(1, "busy (HTTP 503)");
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "a create is not sent twice"
    );

    let (url, count) = scripted(vec![(504, ""), (504, ""), (504, ""), (504, ""), (504, "")]);
    let env = [
        ("SIFR_URL", url.as_str()),
        ("SIFR_TOKEN", "t"),
        ("SIFR_CONFIG_DIR", "/nonexistent"),
    ];
    sifr_with(&["groups", "get", "/a"], &env, "").fails(1, "Gateway Timeout (HTTP 504)");
    assert_eq!(count.load(Ordering::SeqCst), 4, "four attempts in all");
}
