//! `sifr apply`, as a process against a live server: the example organisation of
//! examples/manifests applied, applied again (nothing to do), edited (an update with its
//! diff), and invalid manifests refused before anything is sent.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::client::Server;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/manifests")
}

/// A copy of the example manifests that a test may edit.
fn copy_examples(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy(&path, &target);
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
    copy(&examples(), to);
}

/// `(kind, name) → action` of a JSON plan.
fn actions(plan: &Value) -> Vec<(String, String, String)> {
    plan["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            (
                step["kind"].as_str().unwrap().to_owned(),
                step["name"].as_str().unwrap().to_owned(),
                step["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn step<'a>(plan: &'a Value, kind: &str, name: &str) -> &'a Value {
    plan["plan"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind && s["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {plan}"))
}

const ORGANISATION: [(&str, &str); 11] = [
    ("Group", "/acme"),
    ("Group", "/acme/emea"),
    ("Group", "/acme/americas"),
    ("User", "analyst@acme.example"),
    ("Impact", "usepa:stationary_combustion:natural_gas"),
    ("ReferenceDataset", "fuel_types"),
    ("ReferenceDataset", "gwp"),
    ("Calculation", "co2e"),
    ("Metric", "ghg:scope1"),
    ("Metric", "ghg:scope1:combustion"),
    ("Pipeline", "combustion"),
];

fn all(action: &str) -> Vec<(String, String, String)> {
    ORGANISATION
        .iter()
        .map(|(k, n)| ((*k).to_owned(), (*n).to_owned(), action.to_owned()))
        .collect()
}

#[test]
fn the_example_organisation_applies_once_and_then_is_unchanged() {
    let server = Server::start();
    server.login();
    let dir = examples();
    let dir = dir.to_str().unwrap();

    let planned = server
        .sifr(&["apply", "-f", dir, "--dry-run", "-o", "json"])
        .ok()
        .json();
    assert_eq!(planned["dryRun"], true);
    // Dependency order: parents before children, scope 1 before the metric rolling into it;
    // manifest order otherwise.
    assert_eq!(actions(&planned), all("create"));
    server
        .sifr(&["groups", "get", "/acme"])
        .fails(5, "Group '/acme' not found.");

    let applied = server.sifr(&["apply", "-f", dir]).ok().stdout;
    assert!(
        applied.starts_with("Plan: 11 to create, 0 to update, 0 unchanged.\n+ Group /acme\n"),
        "{applied}"
    );
    assert!(
        applied.contains("created Pipeline 'combustion' in /acme\n"),
        "{applied}"
    );
    assert!(
        applied.ends_with("Applied: 11 created, 0 updated, 0 unchanged.\n"),
        "{applied}"
    );

    let g = ["--group", "/acme"];
    let calculation = server
        .sifr(&[&["calculations", "get", "co2e", "-o", "json"][..], &g].concat())
        .ok()
        .json();
    assert_eq!(calculation["summary"], "kg CO2e of kg of CO2, CH4 and N2O");
    assert_eq!(calculation["parameters"][2]["key"], "n2o");
    let gwp = server
        .sifr(&[&["datasets", "download", "gwp"][..], &g].concat())
        .ok()
        .stdout;
    assert_eq!(
        gwp,
        std::fs::read_to_string(examples().join("data/gwp.csv")).unwrap()
    );
    let fuel = server
        .sifr(&[&["datasets", "get", "fuel_types", "-o", "json"][..], &g].concat())
        .ok()
        .json();
    assert_eq!(fuel["status"], "success");
    let combustion = server
        .sifr(
            &[
                &["metrics", "get", "ghg:scope1:combustion", "-o", "json"][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(combustion["outputMetrics"], json!(["ghg:scope1"]));
    assert_eq!(combustion["inputPipelines"][0]["output"], "co2e");
    let analyst = server
        .sifr(
            &[
                &["users", "get", "analyst@acme.example", "-o", "json"][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(analyst["groups"], json!({"/acme": "reader"}));
    let gas = server
        .sifr(
            &[
                &[
                    "impacts",
                    "get",
                    "usepa:stationary_combustion:natural_gas",
                    "-o",
                    "json",
                ][..],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert_eq!(
        gas["impacts"]["ghg"]["components"]["n2o"]["value"].to_string(),
        "0.0001"
    );
    // The applied pipeline runs: its formulas find the factor, the tables and the calculation.
    let result = server
        .sifr(
            &[
                &[
                    "pipelines",
                    "validate",
                    examples().join("pipeline.json").to_str().unwrap(),
                ][..],
                &[
                    "--data",
                    examples().join("bills.csv").to_str().unwrap(),
                    "-o",
                    "json",
                ],
                &g,
            ]
            .concat(),
        )
        .ok()
        .json();
    assert!(
        result["data"][0]
            .as_str()
            .unwrap()
            .contains("\"co2e\":5311.45"),
        "100 mmBtu × 53.1145 kg CO2e/mmBtu: {result}"
    );

    let again = server.sifr(&["apply", "-f", dir, "-o", "json"]).ok().json();
    assert_eq!(actions(&again), all("unchanged"));
    assert_eq!(again["dryRun"], false);
    let table = server.sifr(&["apply", "-f", dir]).ok().stdout;
    assert!(
        table.starts_with("Plan: 0 to create, 0 to update, 11 unchanged.\n"),
        "{table}"
    );
    assert!(table.ends_with("Nothing to change.\n"), "{table}");
    // Nothing was sent: no resource has a second version.
    for (family, name) in [
        ("calculations", "co2e"),
        ("datasets", "gwp"),
        ("impacts", "usepa:stationary_combustion:natural_gas"),
        ("pipelines", "combustion"),
    ] {
        let item = server
            .sifr(&[&[family, "get", name, "-o", "json"][..], &g].concat())
            .ok()
            .json();
        assert_eq!(item["version"], 1, "{family} {name}");
    }
}

#[test]
fn an_edited_manifest_plans_updates_of_the_changed_fields_only() {
    let server = Server::start();
    server.login();
    let dir = server.path("manifests");
    copy_examples(&dir);
    let path = dir.to_str().unwrap();
    server.sifr(&["apply", "-f", path]).ok();
    let gwp_bytes = std::fs::read(dir.join("data/gwp.csv")).unwrap().len();

    let edit = |file: &str, from: &str, to: &str| {
        let target = dir.join(file);
        let text = std::fs::read_to_string(&target).unwrap();
        assert!(text.contains(from), "{file} holds {from}");
        std::fs::write(&target, text.replace(from, to)).unwrap();
    };
    edit(
        "calculations.yaml",
        "summary: kg CO2e of kg of CO2, CH4 and N2O",
        "summary: kg CO2e (AR5)",
    );
    edit("impacts.yaml", "co2: {value: 53.06,", "co2: {value: 53.07,");
    edit("data/gwp.csv", "ch4,28", "ch4,27.9");
    edit("groups.yaml", "sector: manufacturing", "sector: steel");

    let plan = server
        .sifr(&["apply", "-f", path, "--dry-run", "-o", "json"])
        .ok()
        .json();
    let updated: Vec<(String, String)> = actions(&plan)
        .into_iter()
        .filter(|(_, _, action)| action == "update")
        .map(|(kind, name, _)| (kind, name))
        .collect();
    assert_eq!(
        updated,
        [
            ("Group".to_owned(), "/acme".to_owned()),
            (
                "Impact".into(),
                "usepa:stationary_combustion:natural_gas".into()
            ),
            ("ReferenceDataset".into(), "gwp".into()),
            ("Calculation".into(), "co2e".into()),
        ]
    );
    assert_eq!(
        step(&plan, "Calculation", "co2e")["changes"],
        json!([{"field": "summary", "from": "kg CO2e of kg of CO2, CH4 and N2O", "to": "kg CO2e (AR5)"}])
    );
    let impact = &step(&plan, "Impact", "usepa:stationary_combustion:natural_gas")["changes"];
    assert_eq!(impact.as_array().unwrap().len(), 1, "{impact}");
    assert_eq!(impact[0]["field"], "impacts.ghg.components.co2.value");
    assert_eq!(impact[0]["from"].to_string(), "53.06");
    assert_eq!(impact[0]["to"].to_string(), "53.07");
    let dataset = &step(&plan, "ReferenceDataset", "gwp")["changes"];
    assert_eq!(dataset[0]["field"], "dataFile");
    assert_eq!(dataset[0]["from"], format!("{gwp_bytes} bytes"));
    assert_eq!(
        step(&plan, "Group", "/acme")["changes"],
        json!([{"field": "tags.sector", "from": "manufacturing", "to": "steel"}])
    );

    let table = server.sifr(&["apply", "-f", path]).ok().stdout;
    assert!(
        table.contains(
            "~ Calculation 'co2e' in /acme\n    summary: \"kg CO2e of kg of CO2, CH4 and N2O\" -> \"kg CO2e (AR5)\"\n"
        ),
        "{table}"
    );
    assert!(
        table.contains("Applied: 0 created, 4 updated, 7 unchanged."),
        "{table}"
    );

    let g = ["--group", "/acme"];
    let calculation = server
        .sifr(&[&["calculations", "get", "co2e", "-o", "json"][..], &g].concat())
        .ok()
        .json();
    assert_eq!(calculation["version"], 2);
    assert_eq!(calculation["summary"], "kg CO2e (AR5)");
    assert!(
        calculation["formula"]
            .as_str()
            .unwrap()
            .starts_with(":co2*LOOKUP")
    );
    let gwp = server
        .sifr(&[&["datasets", "download", "gwp"][..], &g].concat())
        .ok()
        .stdout;
    assert_eq!(gwp, "gas,gwp\nco2,1\nch4,27.9\nn2o,265\n");
    let again = server
        .sifr(&["apply", "-f", path, "-o", "json"])
        .ok()
        .json();
    assert_eq!(actions(&again), all("unchanged"));
}

#[test]
fn an_invalid_manifest_is_refused_before_anything_is_applied() {
    let server = Server::start();
    server.login();
    let group = "kind: Group\npath: /first\n---\n";
    let cases = [
        (
            "unknown.yaml",
            "kind: Widget\nname: w\n",
            "unknown.yaml, document 2 (Widget 'w'): field 'kind': unknown kind 'Widget'; expected one of Group, User, Impact, ReferenceDataset, Calculation, Metric, Pipeline",
        ),
        (
            "nameless.yaml",
            "kind: Metric\nsummary: s\naggregationType: sum\n",
            "nameless.yaml, document 2: missing field `name`",
        ),
        (
            "typed.yaml",
            "kind: Calculation\nname: c\nsummary: s\nformula: ':a'\nparameters:\n  - index: first\n    key: a\n    description: a\n    type: number\noutputs: []\n",
            "field 'parameters[0].index': invalid type: string \"first\", expected u32 at line 9 column 12",
        ),
        (
            "misspelt.yaml",
            "kind: Metric\nname: m\nsummary: s\naggregationType: sum\ndescripton: typo\n",
            "unknown field `descripton`",
        ),
        (
            "syntax.yaml",
            "kind: Metric\nname: [m\n",
            "syntax.yaml, document 2",
        ),
        (
            "nodata.yaml",
            "kind: ReferenceDataset\nname: d\ndataFile: data/none.csv\n",
            "nodata.yaml, document 2 (ReferenceDataset 'd'): field 'dataFile': cannot read",
        ),
        (
            "empty.yaml",
            "kind: Impact\nname: ' '\n",
            "field 'name': must not be empty",
        ),
        (
            "twice.yaml",
            "kind: Group\npath: /FIRST\n",
            "Group /first is declared twice",
        ),
    ];
    for (file, text, message) in cases {
        let dir = server.path(&format!("bad-{file}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), format!("{group}{text}")).unwrap();
        let run = server
            .sifr(&["apply", "-f", dir.to_str().unwrap()])
            .fails(1, message);
        assert!(run.stdout.is_empty(), "no plan for {file}: {}", run.stdout);
        server
            .sifr(&["groups", "get", "/first"])
            .fails(5, "not found");
    }
    let syntax = server
        .sifr(&[
            "apply",
            "-f",
            server.path("bad-syntax.yaml").to_str().unwrap(),
        ])
        .fails(1, "line");
    assert!(syntax.stderr.contains("syntax.yaml"), "{}", syntax.stderr);

    let json_file = server.write(
        "bad.json",
        "[{\"kind\": \"Group\", \"path\": \"/first\"},\n {\"kind\": \"Metric\", \"name\": 7}]",
    );
    server.sifr(&["apply", "-f", &json_file]).fails(
        1,
        "bad.json, document 2: field 'name': invalid type: number, expected a string",
    );
    server
        .sifr(&["apply", "-f", &server.write("notes.txt", "hello")])
        .fails(1, "a manifest is a .yaml, .yml or .json file");
    server
        .sifr(&["groups", "get", "/first"])
        .fails(5, "not found");
}
