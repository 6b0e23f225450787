//! `sifr demo` (and `sifr serve --demo`): a server on the embedded store, seeded through its own
//! HTTP API with the organisation of `examples/demo` (groups, EPA emission factors, look-up
//! tables, a CO2e calculation, metrics and a pipeline) and a year of sample fuel bills, then the
//! KPI per group and month.
//!
//! The data directory is the server's, so `sifr serve --data-dir DIR` serves the demo again
//! later. What the demo itself writes goes to `DIR/demo/`: the manifests it applies, the bills
//! it uploads and the admin's generated password. Running it again on the same directory
//! applies the manifests again (nothing changes) and uploads the bills only when no earlier
//! upload of them succeeded.

mod bills;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use reqwest::Url;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use sifr_api::{Config, Server, ServerError};
use sifr_domain::GroupPath;

use crate::apply::apply_quietly;
use crate::client::config::private_file;
use crate::client::executions::{self, finished};
use crate::client::metrics::{TimeUnit, period, values};
use crate::client::output::{Format, emit};
use crate::client::resource::PIPELINES;
use crate::client::{Session, login};
use crate::serve::{Background, LogFormat, init_logging};

/// The demo's manifests, as they are in `examples/demo`, by path relative to it.
const MANIFESTS: [(&str, &str); 8] = [
    (
        "groups.yaml",
        include_str!("../../../../examples/demo/groups.yaml"),
    ),
    (
        "impacts.yaml",
        include_str!("../../../../examples/demo/impacts.yaml"),
    ),
    (
        "datasets.yaml",
        include_str!("../../../../examples/demo/datasets.yaml"),
    ),
    (
        "calculations.yaml",
        include_str!("../../../../examples/demo/calculations.yaml"),
    ),
    (
        "metrics.yaml",
        include_str!("../../../../examples/demo/metrics.yaml"),
    ),
    (
        "pipeline.yaml",
        include_str!("../../../../examples/demo/pipeline.yaml"),
    ),
    (
        "data/fuel-types.csv",
        include_str!("../../../../examples/demo/data/fuel-types.csv"),
    ),
    (
        "data/gwp-ar5.csv",
        include_str!("../../../../examples/demo/data/gwp-ar5.csv"),
    ),
];

/// The sites' meters the sample bills are generated for.
const SITES: &str = include_str!("../../../../examples/demo/sites.csv");

/// The group the demo organisation lives in.
const HOME: &str = "/usa";
/// The pipeline the bills go through.
const PIPELINE: &str = "stationary-combustion";
/// The KPI shown.
const METRIC: &str = "ghg:scope1:stationary";
/// The tag that marks the execution of the demo's bills.
const TAG: (&str, &str) = ("demo", "bills");

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where the server keeps its data, and the demo its files.
    #[arg(long, value_name = "DIR", default_value = "sifr-demo")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The root admin's password [default: generated on the first run, kept in DIR/demo].
    #[arg(
        long,
        env = "SIFR_ADMIN_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    admin_password: Option<String>,
    /// Stop once the KPIs are shown instead of serving on.
    #[arg(long)]
    no_serve: bool,
    /// How the KPIs are shown: a table in tonnes, or exact kg as JSON or CSV.
    #[arg(
        long,
        short = 'o',
        value_enum,
        default_value = "table",
        value_name = "FORMAT"
    )]
    output: Format,
}

/// The demo's files and the root admin it logs in as.
pub struct Demo {
    /// `DIR/demo`.
    folder: PathBuf,
    email: String,
    password: Option<String>,
    /// Whether the password was given in the configuration (so it is not repeated).
    configured: bool,
}

impl Demo {
    fn password_file(folder: &Path) -> PathBuf {
        folder.join("admin-password")
    }

    /// Before the server starts: the admin's password is the configured one, else the one an
    /// earlier run kept; the configuration gets it, so that a first start creates the admin
    /// with it (without one, the server generates it).
    pub fn prepare(config: &mut Config) -> anyhow::Result<Self> {
        let folder = config.data_dir.join("demo");
        let configured = config.admin_password.is_some();
        if !configured {
            let file = Self::password_file(&folder);
            match std::fs::read_to_string(&file) {
                Ok(kept) => config.admin_password = Some(kept.trim().to_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
            }
        }
        Ok(Self {
            folder,
            email: config.admin_email.clone(),
            password: config.admin_password.clone(),
            configured,
        })
    }

    /// Once the server is built: keeps the password a first start generated.
    pub fn confirm(mut self, server: &Server) -> anyhow::Result<Self> {
        if let Some(generated) = server
            .first_start()
            .and_then(|created| created.generated_password.clone())
        {
            write_private(&Self::password_file(&self.folder), &generated)?;
            self.password = Some(generated);
        }
        if self.password.is_none() {
            bail!(
                "the data directory holds a tenant whose admin password the demo does not know: give it with --admin-password or SIFR_ADMIN_PASSWORD, or use a new data directory"
            );
        }
        Ok(self)
    }

    /// Seeds the server at `url` and reads the KPI values back.
    pub async fn seed(&self, url: &Url) -> anyhow::Result<Report> {
        let password = self
            .password
            .as_deref()
            .context("the admin's password is not known")?;
        let token = login(url, None, &self.email, password).await?;
        let home = GroupPath::parse(HOME)?;
        let session = Session::with_token(url.clone(), token, home.clone(), Format::Json)?;

        let manifests = self.folder.join("manifests");
        for (name, text) in MANIFESTS {
            let path = manifests.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let applied = apply_quietly(&session, &[manifests]).await?;
        eprintln!("Organisation of {HOME} applied: {applied}.");

        let meters = bills::meters(SITES)?;
        let bills = bills::csv(&meters)?;
        let file = self.folder.join(format!("bills-{}.csv", bills::YEAR));
        std::fs::write(&file, &bills)
            .with_context(|| format!("cannot write {}", file.display()))?;
        let pipeline = PIPELINES.inherited_id(&session, PIPELINE).await?;
        let execution = upload_once(&session, &pipeline, &file, bills.into_bytes()).await?;

        let mut groups: Vec<GroupPath> = Vec::new();
        for meter in &meters {
            let mut group = Some(meter.site.clone());
            while let Some(path) = group.filter(|g| home.contains(g)) {
                group = path.parent();
                if !groups.contains(&path) {
                    groups.push(path);
                }
            }
        }
        // Depth first: parents before their children, siblings by name.
        groups.sort_by(|a, b| a.as_str().split('/').cmp(b.as_str().split('/')));
        let mut rows = Vec::with_capacity(groups.len());
        for group in groups {
            rows.push(GroupValues::read(&session, group).await?);
        }
        Ok(Report { execution, rows })
    }

    /// The URL, the login and what to try next: on standard output under a table, else on
    /// standard error.
    pub fn print_next_steps(&self, url: &Url, format: Format) -> anyhow::Result<()> {
        let base = url.as_str().trim_end_matches('/');
        let (password, shown) = match (&self.password, self.configured) {
            (Some(password), false) => (
                password.clone(),
                format!(
                    "{password}  (kept in {})",
                    Self::password_file(&self.folder).display()
                ),
            ),
            _ => ("PASSWORD".to_owned(), "as configured".to_owned()),
        };
        let year = bills::YEAR;
        let data_dir = self
            .folder
            .parent()
            .map_or_else(|| ".".to_owned(), |d| d.display().to_string());
        let email = &self.email;
        let text = format!(
            "\nsifr is serving the demo at {base}; Ctrl-C stops it, `sifr serve --data-dir {data_dir}` serves it again.\n  \
             admin:    {email}\n  \
             password: {shown}\n\n\
             Next:\n  \
             sifr login --url {base} --username {email}\n  \
             sifr metrics values {METRIC} --group {HOME} --unit quarter --from {year}-01-01 --to {year}-12-31\n  \
             TOKEN=$(curl -s {base}/auth/token -H 'content-type: application/json' \\\n      \
             -d '{{\"username\":\"{email}\",\"password\":\"{password}\"}}' | sed -E 's/.*\"idToken\":\"([^\"]+)\".*/\\1/')\n  \
             curl -s '{base}/pipelineProcessor/metrics?name={METRIC}&timeUnit=year&dateFrom={year}-01-01' \\\n      \
             -H 'accept-version: 1.0.0' -H 'x-groupcontextid: {HOME}' -H \"authorization: Bearer $TOKEN\"\n"
        );
        if format == Format::Table {
            emit(&text)
        } else {
            eprint!("{text}");
            Ok(())
        }
    }
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    private_file(path)?
        .write_all(format!("{text}\n").as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Runs the bills through the pipeline unless an earlier run did: an execution tagged as the
/// demo's that succeeded is taken as it is, one still running is waited for.
async fn upload_once(
    session: &Session,
    pipeline: &str,
    file: &Path,
    bills: Vec<u8>,
) -> anyhow::Result<Value> {
    let earlier = executions::list(session, pipeline).await?;
    let ours = |e: &&Value| e["tags"][TAG.0] == TAG.1;
    if let Some(done) = earlier
        .iter()
        .filter(ours)
        .find(|e| e["status"] == "success")
    {
        eprintln!(
            "The bills of {} went through the pipeline in an earlier run (execution {}); not uploading them again.",
            bills::YEAR,
            done["id"].as_str().unwrap_or_default()
        );
        return Ok(done.clone());
    }
    let running = earlier
        .iter()
        .filter(ours)
        .find(|e| !finished(e) && e["status"] != "waiting");
    let execution = match running.and_then(|e| e["id"].as_str()) {
        Some(id) => {
            eprintln!("Waiting for execution {id} of an earlier run…");
            executions::wait(session, pipeline, id).await?
        }
        None => {
            eprintln!("Uploading {} to pipeline {PIPELINE}…", file.display());
            let tag = format!("{}={}", TAG.0, TAG.1);
            let body = executions::new_execution(false, &[tag])?;
            let created = executions::start(session, pipeline, body, bills).await?;
            let id = created["id"].as_str().context("the execution has no id")?;
            executions::wait(session, pipeline, id).await?
        }
    };
    let count = |field: &str| execution["rows"][field].as_u64().unwrap_or(0);
    if execution["status"] != "success" {
        let id = execution["id"].as_str().unwrap_or_default();
        let report = executions::error_report(session, pipeline, id).await?;
        let first = report
            .map(|r| {
                String::from_utf8_lossy(&r)
                    .lines()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        bail!(
            "the demo's bills failed in execution {id}: {}\n{first}",
            execution["statusMessage"]
                .as_str()
                .unwrap_or("no reason given")
        );
    }
    eprintln!(
        "Execution {}: {} bills read, {} stored.",
        execution["id"].as_str().unwrap_or_default(),
        count("rowsRead"),
        count("rowsStored")
    );
    Ok(execution)
}

/// A value the server sent, as a decimal.
fn decimal(value: &Value) -> anyhow::Result<Decimal> {
    let text = value.to_string();
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .with_context(|| format!("the server sent '{text}' as a metric value"))
}

/// The KPI of one group: its whole hierarchy's value per month and over the year, kg CO2e.
pub struct GroupValues {
    group: GroupPath,
    months: [Decimal; 12],
    year: Decimal,
}

impl GroupValues {
    async fn read(session: &Session, group: GroupPath) -> anyhow::Result<Self> {
        let year = bills::YEAR;
        let range = (Some(format!("{year}-01-01")), Some(format!("{year}-12-31")));
        let range = (range.0.as_deref(), range.1.as_deref());
        let at = Some(group.as_str());
        let mut months = [Decimal::ZERO; 12];
        for value in values(session, at, METRIC, TimeUnit::Month, range, false).await? {
            let month: usize = period(&value)
                .get(5..7)
                .and_then(|m| m.parse().ok())
                .filter(|m| (1..=12).contains(m))
                .with_context(|| {
                    format!("the server sent a month value dated {}", value["date"])
                })?;
            months[month - 1] = decimal(&value["hierarchyValue"])?;
        }
        let mut total = Decimal::ZERO;
        for value in values(session, at, METRIC, TimeUnit::Year, range, false).await? {
            total += decimal(&value["hierarchyValue"])?;
        }
        Ok(Self {
            group,
            months,
            year: total,
        })
    }
}

/// What the demo shows: the execution of the bills and the KPI of every group.
pub struct Report {
    execution: Value,
    rows: Vec<GroupValues>,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// kg as tonnes with one decimal.
fn tonnes(kg: Decimal) -> String {
    (kg / Decimal::ONE_THOUSAND)
        .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
        .to_string()
}

impl Report {
    /// The whole organisation's year total, kg CO2e.
    fn total(&self) -> Decimal {
        self.rows.first().map_or(Decimal::ZERO, |row| row.year)
    }

    pub fn print(&self, format: Format) -> anyhow::Result<()> {
        let year = bills::YEAR;
        match format {
            Format::Json => {
                let groups: Vec<Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        json!({
                            "group": row.group.to_string(),
                            "months": row.months.iter().map(|m| number(*m)).collect::<Vec<_>>(),
                            "year": number(row.year),
                        })
                    })
                    .collect();
                emit(&format!(
                    "{}\n",
                    json!({
                        "metric": METRIC,
                        "unit": "kg CO2e",
                        "year": year,
                        "execution": self.execution,
                        "groups": groups,
                        "total": number(self.total()),
                    })
                ))
            }
            Format::Csv => {
                let mut header = vec!["group".to_owned()];
                header.extend((1..=12).map(|m| format!("{year}-{m:02}")));
                header.push(year.to_string());
                let mut rows = vec![header];
                for row in &self.rows {
                    let mut line = vec![row.group.to_string()];
                    line.extend(row.months.iter().map(|m| m.normalize().to_string()));
                    line.push(row.year.normalize().to_string());
                    rows.push(line);
                }
                format.grid(&rows)
            }
            Format::Table => emit(&self.table()),
        }
    }

    /// Groups indented under their parents, a column per month and one for the year, tonnes.
    fn table(&self) -> String {
        let year = bills::YEAR.to_string();
        let home_depth = HOME.matches('/').count();
        let mut rows: Vec<Vec<String>> = vec![
            std::iter::once("group".to_owned())
                .chain(MONTHS.iter().map(|m| (*m).to_owned()))
                .chain(std::iter::once(year.clone()))
                .collect(),
        ];
        for row in &self.rows {
            let depth = row.group.as_str().matches('/').count() - home_depth;
            let name = if depth == 0 {
                row.group.to_string()
            } else {
                row.group
                    .as_str()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut line = vec![format!("{}{name}", "  ".repeat(depth))];
            line.extend(row.months.iter().map(|m| tonnes(*m)));
            line.push(tonnes(row.year));
            rows.push(line);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = format!("{METRIC}, tonnes CO2e, {year}, by group and month:\n\n");
        for row in &rows {
            let mut line = format!("{:<width$}", row[0], width = widths[0]);
            for (cell, width) in row.iter().zip(&widths).skip(1) {
                line.push_str(&format!("  {cell:>width$}"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "\nTotal {year} for {HOME}: {} t CO2e ({} kg).\n",
            tonnes(self.total()),
            self.total().normalize()
        ));
        out
    }
}

/// A decimal as an exact JSON number.
fn number(value: Decimal) -> Value {
    serde_json::from_str(&value.normalize().to_string()).unwrap_or(Value::Null)
}

/// The URL the demo reaches the server at: an unspecified address is reached on loopback.
pub fn url_of(address: SocketAddr) -> anyhow::Result<Url> {
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(if address.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    Url::parse(&format!("http://{address}/")).context("the server's address is not a URL")
}

/// Serves `server` while seeding it, shows the KPIs in `format`, then serves on until the
/// process is asked to stop, or stops at once when `serve_on` is false.
pub async fn serve_seeded(
    server: Server,
    demo: Demo,
    format: Format,
    serve_on: bool,
) -> anyhow::Result<()> {
    let demo = demo.confirm(&server)?;
    let url = url_of(server.local_addr())?;
    eprintln!("sifr is listening at {url}.");
    let background = Background::start(server);
    let shown = match demo.seed(&url).await {
        Ok(report) => report.print(format),
        Err(error) => Err(error),
    };
    if let Err(error) = shown {
        background.stop().await?;
        return Err(error);
    }
    if !serve_on {
        return background.stop().await;
    }
    demo.print_next_steps(&url, format)?;
    background.wait().await
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // Requests are not logged: the demo's own lines tell what happens.
    init_logging(LogFormat::Text, "warn");
    let mut config = Config {
        data_dir: args.data_dir,
        listen: args.listen,
        admin_password: args.admin_password,
        ..Config::default()
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let demo = Demo::prepare(&mut config)?;
        let server = Server::build(config).await.map_err(|e| match e {
            ServerError::Bind { .. } => anyhow::anyhow!("{e}: choose another with --listen"),
            other => other.into(),
        })?;
        serve_seeded(server, demo, args.output, !args.no_serve).await?;
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meter_is_at_a_site_the_manifests_declare() {
        let meters = bills::meters(SITES).unwrap();
        let groups = MANIFESTS[0].1;
        for meter in &meters {
            assert!(
                groups.contains(&format!("path: {}\n", meter.site)),
                "{} is not in groups.yaml",
                meter.site
            );
        }
    }
}
