//! `sifr demo`, as a process: from an empty data directory to the KPI of every group, checked
//! against the bills the demo wrote, worked out here with decimal arithmetic from the emission
//! factors, fuel types and GWPs of examples/demo; then a second run on the same directory, which
//! reuses everything and shows the same figures.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize as _;
use serde_json::{Value, json};

use crate::client::sifr_with;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn number(value: &Value) -> Decimal {
    value
        .to_string()
        .parse::<Decimal>()
        .unwrap_or_else(|e| panic!("{value}: {e}"))
        .normalize()
}

/// Rows of a CSV file as maps of header to cell.
fn rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// kg CO2e per mmBtu of each fuel on the bills: the EPA factors of impacts.yaml weighed by the
/// AR5 GWPs of gwp-ar5.csv, the fuel named by fuel-types.csv.
fn kg_per_mmbtu() -> HashMap<String, Decimal> {
    let gwp: HashMap<String, Decimal> = rows(&read(&examples().join("data/gwp-ar5.csv")))
        .into_iter()
        .map(|r| (r["gas"].clone(), r["gwp"].parse().unwrap()))
        .collect();
    let mut per_activity = HashMap::new();
    let impacts = read(&examples().join("impacts.yaml"));
    for document in serde_norway::Deserializer::from_str(&impacts) {
        let impact = Value::deserialize(document).unwrap();
        let components = impact["impacts"]["ghg"]["components"].as_object().unwrap();
        let factor: Decimal = components
            .iter()
            .map(|(gas, c)| number(&c["value"]) * gwp[gas])
            .sum();
        per_activity.insert(impact["name"].as_str().unwrap().to_owned(), factor);
    }
    rows(&read(&examples().join("data/fuel-types.csv")))
        .into_iter()
        .map(|r| (r["fuel"].clone(), per_activity[&r["activity"]]))
        .collect()
}

/// kg CO2e per group (each site and every group above it, up to /usa) and month of the bills.
fn expected(bills: &str) -> BTreeMap<String, [Decimal; 12]> {
    let factors = kg_per_mmbtu();
    let mut out: BTreeMap<String, [Decimal; 12]> = BTreeMap::new();
    for bill in rows(bills) {
        let month: usize = bill["date"].split('/').next().unwrap().parse().unwrap();
        let kg = bill["mmbtu"].parse::<Decimal>().unwrap() * factors[&bill["fuel"]];
        let mut group = bill["site"].clone();
        while group.starts_with("/usa") {
            out.entry(group.clone()).or_default()[month - 1] += kg;
            group.truncate(group.rfind('/').unwrap());
        }
    }
    out
}

fn tonnes(kg: Decimal) -> String {
    (kg / Decimal::ONE_THOUSAND)
        .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
        .to_string()
}

#[test]
fn the_demo_shows_the_kpis_of_its_bills_and_runs_again_without_doubling() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let data_arg = data.to_str().unwrap();
    let demo = [
        "demo",
        "--no-serve",
        "--data-dir",
        data_arg,
        "--listen",
        "127.0.0.1:0",
    ];

    let documents = std::fs::read_dir(examples())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            read(&path)
                .lines()
                .filter(|l| l.starts_with("kind: "))
                .count()
        })
        .sum::<usize>();

    let first = sifr_with(&[&demo[..], &["-o", "json"]].concat(), &[], "").ok();
    let report = first.json();
    assert!(
        first
            .stderr
            .contains(&format!("{documents} created, 0 updated, 0 unchanged")),
        "{}",
        first.stderr
    );

    // The bills: one a month for every meter of sites.csv.
    let bills = read(&data.join("demo/bills-2024.csv"));
    let meters = rows(&read(&examples().join("sites.csv")));
    let bill_rows = rows(&bills);
    assert_eq!(bill_rows.len(), meters.len() * 12);
    for meter in &meters {
        let months: Vec<&str> = bill_rows
            .iter()
            .filter(|b| b["meter"] == meter["meter"] && b["site"] == meter["site"])
            .map(|b| b["date"].split('/').next().unwrap())
            .collect();
        assert_eq!(
            months,
            (1..=12).map(|m| m.to_string()).collect::<Vec<_>>(),
            "{meter:?}"
        );
    }
    let count = bill_rows.len();
    assert_eq!(
        report["execution"]["rows"],
        json!({"rowsRead": count, "rowsStored": count, "rowsFailed": 0, "cellErrors": 0})
    );

    // The KPI of every group and month is what the bills add up to.
    let want = expected(&bills);
    let shown: BTreeMap<String, (Vec<Decimal>, Decimal)> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap().to_owned(),
                (
                    g["months"].as_array().unwrap().iter().map(number).collect(),
                    number(&g["year"]),
                ),
            )
        })
        .collect();
    let wanted: BTreeMap<String, (Vec<Decimal>, Decimal)> = want
        .iter()
        .map(|(group, months)| {
            (
                group.clone(),
                (
                    months.iter().map(|m| m.normalize()).collect(),
                    months.iter().sum::<Decimal>().normalize(),
                ),
            )
        })
        .collect();
    assert_eq!(shown, wanted);
    let total: Decimal = want["/usa"].iter().sum();
    assert_eq!(number(&report["total"]), total.normalize());
    // Groups are listed parents first.
    let order: Vec<&str> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(
        order[..3],
        ["/usa", "/usa/northeast", "/usa/northeast/albany"]
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let kept = data.join("demo/admin-password");
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the kept password is private");
    }

    // Again on the same directory: nothing to apply, nothing uploaded, the same figures.
    let second = sifr_with(&demo, &[], "").ok();
    assert!(
        second
            .stderr
            .contains(&format!("0 created, 0 updated, {documents} unchanged")),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("not uploading them again"),
        "{}",
        second.stderr
    );
    let table = second.stdout;
    assert!(
        table.contains(&format!(
            "Total 2024 for /usa: {} t CO2e ({} kg).",
            tonnes(total),
            total.normalize()
        )),
        "{table}"
    );
    let usa: Vec<&str> = table
        .lines()
        .find(|line| line.starts_with("/usa "))
        .unwrap_or_else(|| panic!("no /usa row in\n{table}"))
        .split_whitespace()
        .collect();
    let mut row = vec!["/usa".to_owned()];
    row.extend(want["/usa"].iter().map(|m| tonnes(*m)));
    row.push(tonnes(total));
    assert_eq!(usa, row);
    let albany = table
        .lines()
        .find(|line| line.trim_start().starts_with("albany "))
        .unwrap_or_else(|| panic!("no albany row in\n{table}"));
    assert!(
        albany.starts_with("    albany"),
        "indented under its region"
    );
}
