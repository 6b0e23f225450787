//! Manifests: YAML or JSON files of documents, each `{kind: …, …fields as in the API body}`.
//! Every document is checked whole (known kind, required fields, field types, no unknown
//! fields, readable data files, no resource declared twice) before anything is sent, and an
//! error names the file, the document, the field and, where the parser knows it, the line.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use sifr_domain::{Email, GroupConfiguration, GroupPath, Role};
use sifr_engine::definition::{ConnectorConfig, PipelineType, ProcessorOptions, Transformer};

use crate::client::has_extension;

/// The kinds a manifest may declare, in the order they are applied: a resource only ever
/// refers to kinds applied before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Group,
    User,
    Impact,
    ReferenceDataset,
    Calculation,
    Metric,
    Pipeline,
}

const KINDS: [Kind; 7] = [
    Kind::Group,
    Kind::User,
    Kind::Impact,
    Kind::ReferenceDataset,
    Kind::Calculation,
    Kind::Metric,
    Kind::Pipeline,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Group => "Group",
            Self::User => "User",
            Self::Impact => "Impact",
            Self::ReferenceDataset => "ReferenceDataset",
            Self::Calculation => "Calculation",
            Self::Metric => "Metric",
            Self::Pipeline => "Pipeline",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        KINDS.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One checked document.
pub struct Document {
    /// Where it was declared: `org.yaml, document 2`.
    pub source: String,
    pub kind: Kind,
    /// The group path (groups), the email (users) or the name (resources).
    pub name: String,
    /// The group it belongs to: the group in context of its requests. A group's is its parent.
    pub group: GroupPath,
    /// The fields the manifest sets, as the API body carries them.
    pub body: Map<String, Value>,
    /// A reference dataset's CSV file, read.
    pub data: Option<DataFile>,
}

pub struct DataFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

impl Document {
    /// How the plan names it: `Calculation 'co2e' in /acme`.
    pub fn label(&self) -> String {
        match self.kind {
            Kind::Group => format!("Group {}", self.name),
            Kind::User => format!("User {} in {}", self.name, self.group),
            kind => format!("{kind} '{}' in {}", self.name, self.group),
        }
    }

    /// The group path of a `Group` document.
    pub fn path(&self) -> anyhow::Result<GroupPath> {
        Ok(GroupPath::parse(&self.name)?)
    }
}

type Tags = BTreeMap<String, Option<String>>;

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupDoc {
    #[serde(rename = "kind", skip_serializing)]
    _kind: IgnoredAny,
    #[serde(skip_serializing)]
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration: Option<GroupConfiguration>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserDoc {
    #[serde(rename = "kind", skip_serializing)]
    _kind: IgnoredAny,
    #[serde(skip_serializing)]
    email: String,
    #[serde(skip_serializing)]
    group: Option<String>,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_group: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImpactDoc {
    #[serde(rename = "kind", skip_serializing)]
    _kind: IgnoredAny,
    #[serde(skip_serializing)]
    name: String,
    #[serde(skip_serializing)]
    group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impacts: Option<BTreeMap<String, ImpactSpec>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImpactSpec {
    /// Defaults to the impact's key.
    #[serde(default)]
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Map<String, Value>>,
    #[serde(default)]
    components: BTreeMap<String, ComponentSpec>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ComponentSpec {
    /// Defaults to the component's key in the map.
    #[serde(default)]
    key: String,
    value: Number,
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl ImpactDoc {
    /// Impact and component keys lower-cased, as the server keeps them; names and keys
    /// default to the map keys.
    fn normalise(&mut self) {
        let Some(impacts) = self.impacts.take() else {
            return;
        };
        let impacts = impacts
            .into_iter()
            .map(|(key, mut impact)| {
                if impact.name.is_empty() {
                    impact.name.clone_from(&key);
                }
                impact.components = std::mem::take(&mut impact.components)
                    .into_iter()
                    .map(|(key, mut component)| {
                        if component.key.is_empty() {
                            component.key.clone_from(&key);
                        }
                        (key.to_lowercase(), component)
                    })
                    .collect();
                (key.to_lowercase(), impact)
            })
            .collect();
        self.impacts = Some(impacts);
    }
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DatasetDoc {
    #[serde(rename = "kind", skip_serializing)]
    _kind: IgnoredAny,
    #[serde(skip_serializing)]
    name: String,
    #[serde(skip_serializing)]
    group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset_headers: Option<Vec<String>>,
    /// The CSV file, relative to the manifest.
    #[serde(skip_serializing)]
    data_file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum ValueType {
    String,
    Number,
    Boolean,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CalculationParameter {
    index: u32,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    description: String,
    #[serde(rename = "type")]
    kind: ValueType,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CalculationOutput {
    name: String,
    description: String,
    #[serde(rename = "type")]
    kind: ValueType,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CalculationDoc {
    #[serde(rename = "kind", skip_serializing)]
    _kind: IgnoredAny,
    #[serde(skip_serializing)]
    name: String,
    #[serde(skip_serializing)]
    group: Option<String>,
    summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    formula: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Vec<CalculationParameter>>,
    outputs: Vec<CalculationOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum AggregationType {
    Min,
    Max,
    Count,
    Sum,
    Mean,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MetricDoc {
    #[serde(rename = "kind", skip_serializing)]
    _kind: IgnoredAny,
    #[serde(skip_serializing)]
    name: String,
    #[serde(skip_serializing)]
    group: Option<String>,
    summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    aggregation_type: AggregationType,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_metrics: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PipelineDoc {
    #[serde(rename = "kind", skip_serializing)]
    _kind: IgnoredAny,
    #[serde(skip_serializing)]
    name: String,
    #[serde(skip_serializing)]
    group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pipeline_type: Option<PipelineType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processor_options: Option<ProcessorOptions>,
    connector_config: ConnectorConfig,
    transformer: Transformer,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags>,
}

/// A manifest problem, already naming where it is.
fn problem(source: &str, field: &str, message: impl fmt::Display) -> anyhow::Error {
    if field.is_empty() || field == "." {
        anyhow::anyhow!("{source}: {message}")
    } else {
        anyhow::anyhow!("{source}: field '{field}': {message}")
    }
}

/// The documents' fields as the API body: everything the manifest sets but the identity.
fn body<T: Serialize>(doc: &T, source: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::to_value(doc) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(problem(source, "", "is not an object")),
        Err(e) => Err(problem(source, "", e)),
    }
}

fn non_empty(source: &str, field: &str, value: String) -> anyhow::Result<String> {
    if value.trim().is_empty() {
        return Err(problem(source, field, "must not be empty"));
    }
    Ok(value)
}

/// What the parser of one document needs: how to read it typed, and what a document that
/// names no group defaults to.
struct Reader<'a> {
    source: String,
    folder: &'a Path,
    default_group: &'a GroupPath,
}

impl Reader<'_> {
    fn group(&self, group: Option<String>) -> anyhow::Result<GroupPath> {
        match group {
            Some(group) => GroupPath::parse(&group).map_err(|e| problem(&self.source, "group", e)),
            None => Ok(self.default_group.clone()),
        }
    }

    /// A resource of `kind` (not a group, not a user).
    fn resource<T: Serialize>(
        &self,
        kind: Kind,
        name: String,
        group: Option<String>,
        doc: &T,
    ) -> anyhow::Result<Document> {
        Ok(Document {
            kind,
            name: non_empty(&self.source, "name", name)?,
            group: self.group(group)?,
            body: body(doc, &self.source)?,
            data: None,
            source: self.source.clone(),
        })
    }

    /// Reads a document of `kind` from `deserializer` and checks it.
    fn document<'de, D: serde::Deserializer<'de>>(
        &self,
        kind: Kind,
        deserializer: D,
    ) -> anyhow::Result<Document> {
        typed(kind, deserializer)
            .map_err(|(field, e)| problem(&self.source, &field, e))?
            .into_document(self)
    }
}

/// A document read into its kind's type.
trait TypedDoc {
    fn into_document(self: Box<Self>, reader: &Reader<'_>) -> anyhow::Result<Document>;
}

impl TypedDoc for GroupDoc {
    fn into_document(self: Box<Self>, reader: &Reader<'_>) -> anyhow::Result<Document> {
        let source = &reader.source;
        let path = GroupPath::parse(&self.path).map_err(|e| problem(source, "path", e))?;
        Ok(Document {
            kind: Kind::Group,
            name: path.to_string(),
            group: path.parent().unwrap_or_else(GroupPath::root),
            body: body(&*self, source)?,
            data: None,
            source: source.clone(),
        })
    }
}

impl TypedDoc for UserDoc {
    fn into_document(self: Box<Self>, reader: &Reader<'_>) -> anyhow::Result<Document> {
        let source = &reader.source;
        let email = Email::parse(&self.email).map_err(|e| problem(source, "email", e))?;
        if let Some(group) = &self.default_group {
            GroupPath::parse(group).map_err(|e| problem(source, "defaultGroup", e))?;
        }
        Ok(Document {
            kind: Kind::User,
            name: email.to_string(),
            group: reader.group(self.group.clone())?,
            body: body(&*self, source)?,
            data: None,
            source: source.clone(),
        })
    }
}

impl TypedDoc for ImpactDoc {
    fn into_document(mut self: Box<Self>, reader: &Reader<'_>) -> anyhow::Result<Document> {
        self.normalise();
        let (name, group) = (self.name.clone(), self.group.clone());
        reader.resource(Kind::Impact, name, group, &*self)
    }
}

impl TypedDoc for DatasetDoc {
    fn into_document(self: Box<Self>, reader: &Reader<'_>) -> anyhow::Result<Document> {
        let path = reader.folder.join(&self.data_file);
        let bytes = std::fs::read(&path).map_err(|e| {
            problem(
                &reader.source,
                "dataFile",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let (name, group) = (self.name.clone(), self.group.clone());
        let mut document = reader.resource(Kind::ReferenceDataset, name, group, &*self)?;
        document.data = Some(DataFile { path, bytes });
        Ok(document)
    }
}

impl TypedDoc for CalculationDoc {
    fn into_document(self: Box<Self>, reader: &Reader<'_>) -> anyhow::Result<Document> {
        let (name, group) = (self.name.clone(), self.group.clone());
        reader.resource(Kind::Calculation, name, group, &*self)
    }
}

impl TypedDoc for MetricDoc {
    fn into_document(self: Box<Self>, reader: &Reader<'_>) -> anyhow::Result<Document> {
        let (name, group) = (self.name.clone(), self.group.clone());
        reader.resource(Kind::Metric, name, group, &*self)
    }
}

impl TypedDoc for PipelineDoc {
    fn into_document(self: Box<Self>, reader: &Reader<'_>) -> anyhow::Result<Document> {
        let (name, group) = (self.name.clone(), self.group.clone());
        reader.resource(Kind::Pipeline, name, group, &*self)
    }
}

/// Deserializes a document of `kind` from `deserializer`, with the path of a bad field.
fn typed<'de, D>(kind: Kind, deserializer: D) -> Result<Box<dyn TypedDoc>, (String, String)>
where
    D: serde::Deserializer<'de>,
{
    fn read<'de, T, D>(deserializer: D) -> Result<Box<dyn TypedDoc>, (String, String)>
    where
        T: DeserializeOwned + TypedDoc + 'static,
        D: serde::Deserializer<'de>,
    {
        serde_path_to_error::deserialize::<_, T>(deserializer)
            .map(|doc| Box::new(doc) as Box<dyn TypedDoc>)
            .map_err(|e| {
                let path = e.path().to_string();
                // The YAML parser names the field itself; say it once.
                let inner = e.inner().to_string();
                let inner = inner
                    .strip_prefix(&format!("{path}: "))
                    .map_or(inner.clone(), str::to_owned);
                (path, inner)
            })
    }
    match kind {
        Kind::Group => read::<GroupDoc, _>(deserializer),
        Kind::User => read::<UserDoc, _>(deserializer),
        Kind::Impact => read::<ImpactDoc, _>(deserializer),
        Kind::ReferenceDataset => read::<DatasetDoc, _>(deserializer),
        Kind::Calculation => read::<CalculationDoc, _>(deserializer),
        Kind::Metric => read::<MetricDoc, _>(deserializer),
        Kind::Pipeline => read::<PipelineDoc, _>(deserializer),
    }
}

/// The kind a document declares.
fn kind_of(source: &str, value: &Value) -> anyhow::Result<Kind> {
    let Value::Object(fields) = value else {
        return Err(problem(
            source,
            "",
            format!(
                "expected a document (a mapping of fields), found {}",
                crate::client::kind_of(value)
            ),
        ));
    };
    let kind = match fields.get("kind") {
        None => return Err(problem(source, "kind", "missing")),
        Some(Value::String(kind)) => kind,
        Some(other) => {
            return Err(problem(
                source,
                "kind",
                format!("expected a string, found {}", crate::client::kind_of(other)),
            ));
        }
    };
    Kind::parse(kind).ok_or_else(|| {
        let known: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
        problem(
            source,
            "kind",
            format!(
                "unknown kind '{kind}'; expected one of {}",
                known.join(", ")
            ),
        )
    })
}

/// `file, document n (Kind 'name')`: where a document is, for messages.
fn source_of(file: &Path, index: usize, value: &Value) -> String {
    let name = ["name", "path", "email"]
        .iter()
        .find_map(|field| value.get(field).and_then(Value::as_str));
    let kind = value.get("kind").and_then(Value::as_str);
    match (kind, name) {
        (Some(kind), Some(name)) => {
            format!(
                "{}, document {} ({kind} '{name}')",
                file.display(),
                index + 1
            )
        }
        _ => format!("{}, document {}", file.display(), index + 1),
    }
}

/// The documents of one manifest file.
fn read_file(path: &Path, default_group: &GroupPath) -> anyhow::Result<Vec<Document>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut documents = Vec::new();
    if has_extension(path, &["json"]) {
        let value: Value =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let values = match value {
            Value::Array(values) => values,
            other => vec![other],
        };
        for (index, value) in values.iter().enumerate() {
            let source = source_of(path, index, value);
            let kind = kind_of(&source, value)?;
            let reader = Reader {
                source,
                folder,
                default_group,
            };
            documents.push(reader.document(kind, value)?);
        }
        return Ok(documents);
    }
    // Two passes over the YAML documents: loosely, to learn each one's kind, then typed
    // from the parser itself, so that errors carry its line and column.
    let loose = serde_norway::Deserializer::from_str(&text);
    let strict = serde_norway::Deserializer::from_str(&text);
    for (index, (loose, strict)) in loose.zip(strict).enumerate() {
        let value = Value::deserialize(loose)
            .map_err(|e| anyhow::anyhow!("{}, document {}: {e}", path.display(), index + 1))?;
        if value.is_null() {
            continue;
        }
        let source = source_of(path, index, &value);
        let kind = kind_of(&source, &value)?;
        let reader = Reader {
            source,
            folder,
            default_group,
        };
        documents.push(reader.document(kind, strict)?);
    }
    Ok(documents)
}

/// The manifest files at `path`: the file itself, or the `.yaml`, `.yml` and `.json` files
/// under the folder, in name order.
fn manifest_files(path: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !path.is_dir() {
        if !path.exists() {
            bail!("{}: no such file or folder", path.display());
        }
        files.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read {}", path.display()))?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            manifest_files(&entry, files)?;
        } else if has_extension(&entry, &["yaml", "yml", "json"]) {
            files.push(entry);
        }
    }
    Ok(())
}

/// Every document under `paths`, checked; documents that name no group belong to
/// `default_group`.
pub fn load(paths: &[PathBuf], default_group: &GroupPath) -> anyhow::Result<Vec<Document>> {
    let mut files = Vec::new();
    for path in paths {
        manifest_files(path, &mut files)?;
    }
    let mut documents = Vec::new();
    for file in &files {
        if !has_extension(file, &["yaml", "yml", "json"]) {
            bail!(
                "{}: a manifest is a .yaml, .yml or .json file",
                file.display()
            );
        }
        documents.extend(read_file(file, default_group)?);
    }
    if documents.is_empty() {
        bail!("no manifest documents found");
    }
    let mut seen: HashMap<(Kind, String, String), &str> = HashMap::new();
    for document in &documents {
        let key = (
            document.kind,
            document.group.to_string(),
            document.name.to_lowercase(),
        );
        if let Some(first) = seen.insert(key, &document.source) {
            bail!(
                "{}: {} is declared twice (first in {first})",
                document.source,
                document.label()
            );
        }
    }
    Ok(documents)
}
