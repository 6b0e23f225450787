//! SIF's walkthrough, built in order through HTTP: a group hierarchy, an emission factor for
//! natural gas, the fuel-type and global-warming-potential look-up tables, a calculation, a
//! metric and a pipeline whose formulas use AS_TIMESTAMP, LOOKUP, IMPACT and the calculation;
//! then a dry run of the pipeline on a few rows, checked against figures worked out here from
//! the factors with decimal arithmetic.

use std::str::FromStr;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::{Options, TestServer, servers};

pub const ACTIVITY: &str = "usepa:stationary_combustion:natural_gas";

// kg per mmBtu of natural gas burnt (EPA emission factors hub).
pub const CO2: &str = "53.06";
pub const CH4: &str = "0.001";
pub const N2O: &str = "0.0001";
// 100-year global warming potentials (IPCC AR5).
pub const GWP_CH4: &str = "28";
pub const GWP_N2O: &str = "265";

pub fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text).expect("a decimal")
}

/// A JSON number written exactly as `text`.
pub fn number(text: &str) -> Value {
    serde_json::from_str(text).expect("a JSON number")
}

pub async fn created(
    server: &TestServer,
    token: &str,
    group: &str,
    path: &str,
    body: Value,
) -> Value {
    let reply = server
        .call(Method::POST, path, token, Some(group), Some(body))
        .await;
    assert_eq!(
        reply.status, 201,
        "{}: POST {path}: {}",
        server.backend, reply.body
    );
    reply.body
}

/// Creates a reference dataset from inline CSV and waits until it can be looked up.
pub async fn dataset(
    server: &TestServer,
    token: &str,
    group: &str,
    name: &str,
    headers: &[&str],
    csv: &str,
) {
    let body = created(
        server,
        token,
        group,
        "/referenceDatasets/referenceDatasets",
        json!({"name": name, "description": name, "datasetHeaders": headers, "data": csv}),
    )
    .await;
    let id = body["id"].as_str().expect("an id");
    for _ in 0..100 {
        let reply = server
            .call(
                Method::GET,
                &format!("/referenceDatasets/referenceDatasets/{id}"),
                token,
                Some(group),
                None,
            )
            .await;
        match reply.body["status"].as_str() {
            Some("success") => return,
            Some("failed") => panic!("{}: dataset {name} failed: {}", server.backend, reply.body),
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("{}: dataset {name} was not indexed in time", server.backend);
}

/// The walkthrough's organisation: groups `/usa`, `/usa/company`, `/usa/company/sub`; the
/// natural-gas factor, the fuel-type and GWP tables and the `co2e` calculation at `/usa`; the
/// metric `ghg:scope1:combustion` at `/usa`.
pub async fn seed(server: &TestServer, root: &str) {
    for group in ["/usa", "/usa/company", "/usa/company/sub"] {
        server.group(root, group).await;
    }

    // Shared factors and tables live at the top; the company's pipeline finds them there.
    created(
        server,
        root,
        "/usa",
        "/impacts/activities",
        json!({
            "name": ACTIVITY,
            "description": "Natural gas burnt in stationary combustion, per mmBtu",
            "attributes": {"unit": "mmBtu"},
            "impacts": {"ghg": {"name": "ghg", "components": {
                "co2": {"key": "co2", "value": number(CO2), "type": "pollutant"},
                "ch4": {"key": "ch4", "value": number(CH4), "type": "pollutant"},
                "n2o": {"key": "n2o", "value": number(N2O), "type": "pollutant"}
            }}}
        }),
    )
    .await;
    dataset(
        server,
        root,
        "/usa",
        "fuel_types",
        &["fuel", "activity"],
        &format!("fuel,activity\nCoal,usepa:stationary_combustion:coal\nNatural Gas,{ACTIVITY}\n"),
    )
    .await;
    dataset(
        server,
        root,
        "/usa",
        "gwp",
        &["gas", "gwp"],
        &format!("gas,gwp\nco2,1\nch4,{GWP_CH4}\nn2o,{GWP_N2O}\n"),
    )
    .await;
    created(
        server,
        root,
        "/usa",
        "/calculations/calculations",
        json!({
            "name": "co2e",
            "summary": "kg CO2e of kg of CO2, CH4 and N2O",
            "formula": ":co2*LOOKUP('co2','gwp','gas','gwp') + :ch4*LOOKUP('ch4','gwp','gas','gwp') + :n2o*LOOKUP('n2o','gwp','gas','gwp')",
            "parameters": [
                {"index": 0, "key": "co2", "description": "kg CO2", "type": "number"},
                {"index": 1, "key": "ch4", "description": "kg CH4", "type": "number"},
                {"index": 2, "key": "n2o", "description": "kg N2O", "type": "number"}
            ],
            "outputs": [{"name": "co2e", "description": "kg CO2e", "type": "number"}]
        }),
    )
    .await;
    created(
        server,
        root,
        "/usa",
        "/pipelines/metrics",
        json!({"name": "ghg:scope1:combustion", "summary": "Scope 1 stationary combustion", "aggregationType": "sum"}),
    )
    .await;
}

#[tokio::test]
async fn sif_walkthrough_dry_runs_to_hand_computed_emissions() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        seed(&server, &root).await;

        let impact = |component: &str| format!("IMPACT(REF('activity'),'ghg','{component}')");
        let pipeline = json!({
            "name": "combustion",
            "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
            "transformer": {
                "parameters": [
                    {"index": 0, "key": "date", "type": "string"},
                    {"index": 1, "key": "fuel", "type": "string"},
                    {"index": 2, "key": "mmbtu", "label": "energy (mmBtu)", "type": "number"}
                ],
                "transforms": [
                    {"index": 0, "formula": "AS_TIMESTAMP(:date,'M/d/yyyy')",
                     "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]},
                    {"index": 1, "formula": "LOOKUP(:fuel,'fuel_types','fuel','activity')",
                     "outputs": [{"index": 0, "key": "activity", "type": "string"}]},
                    {"index": 2, "formula": format!(
                        "#co2e(:mmbtu*{}, :mmbtu*{}, :mmbtu*{})", impact("co2"), impact("ch4"), impact("n2o")),
                     "outputs": [{"index": 0, "key": "co2e", "type": "number", "metrics": ["ghg:scope1:combustion"]}]}
                ]
            }
        });
        created(
            &server,
            &root,
            "/usa/company",
            "/pipelines/pipelines",
            pipeline.clone(),
        )
        .await;

        let rows = [
            ("1/15/2023", "Natural Gas", "100"),
            ("2/1/2023", "natural gas", "12.5"),
            ("3/3/2023", "NATURAL GAS", "0.4"),
        ];
        // Midnight UTC of each date, in epoch milliseconds.
        let dates = [1_673_740_800_000_i64, 1_675_209_600_000, 1_677_801_600_000];
        let per_mmbtu =
            decimal(CO2) + decimal(CH4) * decimal(GWP_CH4) + decimal(N2O) * decimal(GWP_N2O);
        assert_eq!(per_mmbtu, decimal("53.1145"));
        let expected: Vec<String> = rows
            .iter()
            .zip(dates)
            .map(|((_, _, mmbtu), time)| {
                let co2e = (decimal(mmbtu) * per_mmbtu).normalize();
                format!("{{\"time\":{time},\"activity\":\"{ACTIVITY}\",\"co2e\":{co2e}}}")
            })
            .collect();
        assert_eq!(
            expected[0],
            format!("{{\"time\":1673740800000,\"activity\":\"{ACTIVITY}\",\"co2e\":5311.45}}")
        );

        let mut dry = pipeline;
        dry["name"] = json!("combustion-dry-run");
        dry["dryRunOptions"] = json!({"data": rows
            .iter()
            .map(|(date, fuel, mmbtu)| json!({"date": date, "fuel": fuel, "mmbtu": mmbtu}))
            .collect::<Vec<_>>()});
        let reply = server
            .call(
                Method::POST,
                "/pipelines/pipelines?dryRun=true",
                &root,
                Some("/usa/company"),
                Some(dry),
            )
            .await;
        assert_eq!(reply.status, 200, "{}: {}", server.backend, reply.body);
        assert_eq!(reply.body["headers"], json!(["time", "activity", "co2e"]));
        assert_eq!(reply.body["data"], json!(expected), "{}", server.backend);
        server.finish().await;
    }
}
