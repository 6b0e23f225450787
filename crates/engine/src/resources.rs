//! Resources read from a folder, for `sifr run`:
//!
//! ```text
//! resources/
//!   datasets/<name>.csv   reference datasets for LOOKUP: a header row, then data rows
//!   impacts.csv           emission factors for IMPACT: activity,impact,component,value
//!   impacts.json          the same as SIF activities: [{name, version?, impacts: {key: {name?,
//!                         components: {key: {key?, value, type?}}}}}]
//!   calculations.json     [{name, formula, parameters: [{key, type}], version?}]
//!   metrics.json          [{name, aggregationType?, outputMetrics?}]
//!   groups.txt            optional: the groups ASSIGN_TO_GROUP may name, one per line
//! ```
//!
//! Every file is optional. Names match case-insensitively; every resource is visible from
//! every group. A resource has version 1 unless its JSON says otherwise; `version=` selects a
//! version, and the latest is used otherwise. Without `groups.txt`, every well-formed group
//! path exists.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use rust_decimal::Decimal;
use serde::Deserialize;
use sifr_calc::{
    Activity, Calculation, CalculationParameter, Component, Dataset, DatasetBuilder, Impact,
    ResourceError, ResourceQuery, ResourceSource, VersionSelector,
};

use crate::definition::MetricDefinition;

/// Resources loaded from a folder (datasets are read on first use).
#[derive(Default)]
pub struct FileResources {
    datasets: HashMap<String, DatasetFile>,
    activities: HashMap<String, Vec<Arc<Activity>>>,
    calculations: HashMap<String, Vec<Arc<Calculation>>>,
    groups: Option<HashSet<String>>,
    metrics: Vec<MetricDefinition>,
}

struct DatasetFile {
    name: String,
    path: PathBuf,
    loaded: OnceLock<Result<Arc<Dataset>, String>>,
}

/// A resource file that cannot be read; the message names the file and, where it can, the
/// line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ResourceFileError(pub String);

impl FileResources {
    /// No resources at all.
    pub fn empty() -> Self {
        FileResources::default()
    }

    /// Reads the folder's impacts, calculations, metrics and groups, and lists its datasets.
    pub fn open(dir: &Path) -> Result<Self, ResourceFileError> {
        if !dir.is_dir() {
            return Err(ResourceFileError(format!(
                "{}: the resources folder does not exist",
                dir.display()
            )));
        }
        let mut resources = FileResources::default();
        let datasets = dir.join("datasets");
        if datasets.is_dir() {
            let entries = std::fs::read_dir(&datasets).map_err(|e| io(&datasets, e))?;
            for entry in entries {
                let path = entry.map_err(|e| io(&datasets, e))?.path();
                if path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
                    && let Some(name) = path.file_stem().and_then(|s| s.to_str())
                {
                    resources.datasets.insert(
                        name.to_lowercase(),
                        DatasetFile {
                            name: name.to_owned(),
                            path,
                            loaded: OnceLock::new(),
                        },
                    );
                }
            }
        }
        if let Some(text) = read_optional(&dir.join("impacts.csv"))? {
            resources.add_activities(impacts_from_csv(&dir.join("impacts.csv"), &text)?);
        }
        if let Some(text) = read_optional(&dir.join("impacts.json"))? {
            resources.add_activities(impacts_from_json(&dir.join("impacts.json"), &text)?);
        }
        if let Some(text) = read_optional(&dir.join("calculations.json"))? {
            let path = dir.join("calculations.json");
            let list: Vec<CalculationFile> = json(&path, &text)?;
            for (i, c) in list.into_iter().enumerate() {
                let version = c.version.unwrap_or(1);
                resources
                    .calculations
                    .entry(c.name.to_lowercase())
                    .or_default()
                    .push(Arc::new(Calculation {
                        id: format!("calculations.json#{i}"),
                        name: c.name,
                        version,
                        formula: c.formula,
                        parameters: c
                            .parameters
                            .into_iter()
                            .map(|p| CalculationParameter {
                                key: p.key,
                                kind: p.kind,
                            })
                            .collect(),
                    }));
            }
        }
        if let Some(text) = read_optional(&dir.join("metrics.json"))? {
            resources.metrics = MetricDefinition::list_from_json(&text).map_err(|e| {
                ResourceFileError(format!("{}: {e}", dir.join("metrics.json").display()))
            })?;
        }
        if let Some(text) = read_optional(&dir.join("groups.txt"))? {
            let mut groups = HashSet::from(["/".to_owned()]);
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                for ancestor in crate::metrics::ancestors(&line.to_lowercase()) {
                    groups.insert(ancestor.to_owned());
                }
            }
            resources.groups = Some(groups);
        }
        Ok(resources)
    }

    /// The metric definitions of `metrics.json`.
    pub fn metrics(&self) -> &[MetricDefinition] {
        &self.metrics
    }

    fn add_activities(&mut self, activities: Vec<Activity>) {
        for activity in activities {
            self.activities
                .entry(activity.name.to_lowercase())
                .or_default()
                .push(Arc::new(activity));
        }
    }
}

fn pick<T>(
    versions: Option<&Vec<Arc<T>>>,
    query: &ResourceQuery,
    version: impl Fn(&T) -> u64,
) -> Option<Arc<T>> {
    let versions = versions?;
    match &query.version {
        VersionSelector::Exact(wanted) | VersionSelector::Recorded(wanted) => {
            versions.iter().find(|v| version(v) == *wanted).cloned()
        }
        // Files carry no activation dates: the newest version is the one in force.
        VersionSelector::Latest | VersionSelector::AsAt(_) => {
            versions.iter().max_by_key(|v| version(v)).cloned()
        }
    }
}

fn no_tenants(query: &ResourceQuery) -> Result<(), ResourceError> {
    match &query.tenant {
        Some(tenant) => Err(ResourceError(format!(
            "tenant='{tenant}': resources of other tenants are not available to sifr run"
        ))),
        None => Ok(()),
    }
}

impl ResourceSource for FileResources {
    fn activity(&self, query: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError> {
        no_tenants(query)?;
        Ok(pick(
            self.activities.get(&query.name.to_lowercase()),
            query,
            |a| a.version,
        ))
    }

    fn dataset(&self, query: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError> {
        no_tenants(query)?;
        let Some(file) = self.datasets.get(&query.name.to_lowercase()) else {
            return Ok(None);
        };
        if let Some(v) = query.version.number()
            && v != 1
        {
            return Ok(None);
        }
        file.loaded
            .get_or_init(|| load_dataset(&file.name, &file.path).map(Arc::new))
            .clone()
            .map(Some)
            .map_err(ResourceError)
    }

    fn calculation(
        &self,
        query: &ResourceQuery,
    ) -> Result<Option<Arc<Calculation>>, ResourceError> {
        no_tenants(query)?;
        Ok(pick(
            self.calculations.get(&query.name.to_lowercase()),
            query,
            |c| c.version,
        ))
    }

    fn group_exists(&self, group: &str) -> Result<bool, ResourceError> {
        Ok(match &self.groups {
            Some(groups) => groups.contains(group),
            None => well_formed_group(group),
        })
    }
}

/// `/` or `/segment(/segment)*` with segments of letters, digits, `-` and `_`.
fn well_formed_group(group: &str) -> bool {
    group == "/"
        || group.strip_prefix('/').is_some_and(|rest| {
            rest.split('/').all(|segment| {
                !segment.is_empty()
                    && segment
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            })
        })
}

fn load_dataset(name: &str, path: &Path) -> Result<Dataset, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut records = reader.records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(header)) => header.iter().map(|h| h.trim().to_owned()).collect(),
        Some(Err(e)) => return Err(format!("{}: {e}", path.display())),
        None => {
            return Err(format!(
                "{}: the dataset is empty; its first line must be a header",
                path.display()
            ));
        }
    };
    let mut builder = DatasetBuilder::new(name, name, 1, headers);
    for record in records {
        let record = record.map_err(|e| format!("{}: {e}", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        builder
            .push_row(&record.iter().collect::<Vec<_>>())
            .map_err(|e| format!("{} line {line}: {e}", path.display()))?;
    }
    Ok(builder.finish())
}

fn read_optional(path: &Path) -> Result<Option<String>, ResourceFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
    }
}

fn io(path: &Path, error: std::io::Error) -> ResourceFileError {
    ResourceFileError(format!("{}: {error}", path.display()))
}

fn json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ResourceFileError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| ResourceFileError(format!("{}: {}: {}", path.display(), e.path(), e.inner())))
}

fn decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

fn impacts_from_csv(path: &Path, text: &str) -> Result<Vec<Activity>, ResourceFileError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ResourceFileError(format!("{}: {e}", path.display())))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            ResourceFileError(format!(
                "{}: the header needs the columns activity,impact,component,value; '{name}' is missing",
                path.display()
            ))
        })
    };
    let (a, i, c, v) = (
        column("activity")?,
        column("impact")?,
        column("component")?,
        column("value")?,
    );
    let mut activities: Vec<Activity> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ResourceFileError(format!("{}: {e}", path.display())))?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |k: usize| record.get(k).unwrap_or_default().trim();
        let value = decimal(cell(v)).ok_or_else(|| {
            ResourceFileError(format!(
                "{} line {line}: value '{}' is not a number",
                path.display(),
                cell(v)
            ))
        })?;
        let name = cell(a);
        let position = activities
            .iter()
            .position(|x| x.name.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| {
                activities.push(Activity {
                    id: name.to_lowercase(),
                    name: name.to_owned(),
                    version: 1,
                    impacts: Vec::new(),
                });
                activities.len() - 1
            });
        let impacts = &mut activities[position].impacts;
        let impact = impacts
            .iter()
            .position(|x| x.name == cell(i))
            .unwrap_or_else(|| {
                impacts.push(Impact {
                    name: cell(i).to_owned(),
                    components: Vec::new(),
                });
                impacts.len() - 1
            });
        impacts[impact].components.push(Component {
            key: cell(c).to_owned(),
            value,
        });
    }
    Ok(activities)
}

#[derive(Deserialize)]
struct CalculationFile {
    name: String,
    formula: String,
    #[serde(default)]
    parameters: Vec<CalculationParameterFile>,
    version: Option<u64>,
}

#[derive(Deserialize)]
struct CalculationParameterFile {
    key: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct ActivityFile {
    name: String,
    version: Option<u64>,
    #[serde(default)]
    impacts: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct ImpactFile {
    name: Option<String>,
    #[serde(default)]
    components: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct ComponentFile {
    key: Option<String>,
    value: serde_json::Value,
}

fn impacts_from_json(path: &Path, text: &str) -> Result<Vec<Activity>, ResourceFileError> {
    let list: Vec<ActivityFile> = json(path, text)?;
    let bad = |what: String| ResourceFileError(format!("{}: {what}", path.display()));
    let mut activities = Vec::new();
    for activity in list {
        let mut impacts = Vec::new();
        for (impact_key, impact) in activity.impacts {
            let impact: ImpactFile = serde_json::from_value(impact).map_err(|e| {
                bad(format!(
                    "activity '{}' impact '{impact_key}': {e}",
                    activity.name
                ))
            })?;
            let mut components = Vec::new();
            for (component_key, component) in impact.components {
                let component: ComponentFile = serde_json::from_value(component).map_err(|e| {
                    bad(format!(
                        "activity '{}' impact '{impact_key}' component '{component_key}': {e}",
                        activity.name
                    ))
                })?;
                let text = match &component.value {
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let value = decimal(&text).ok_or_else(|| {
                    bad(format!(
                        "activity '{}' impact '{impact_key}' component '{component_key}': value {text} is not a number",
                        activity.name
                    ))
                })?;
                components.push(Component {
                    key: component.key.unwrap_or(component_key),
                    value,
                });
            }
            impacts.push(Impact {
                name: impact.name.unwrap_or(impact_key),
                components,
            });
        }
        activities.push(Activity {
            id: activity.name.to_lowercase(),
            name: activity.name,
            version: activity.version.unwrap_or(1),
            impacts,
        });
    }
    Ok(activities)
}
