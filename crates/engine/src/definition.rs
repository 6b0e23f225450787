//! Pipeline and metric definitions in SIF's JSON shape (pipelines module, `POST /pipelines` and
//! `POST /metrics`). Fields the engine does not use (tags, attributes, state, timestamps) are
//! accepted and ignored, as SIF drops unknown properties.

use serde::{Deserialize, Serialize};
use serde_json::Map;

/// A pipeline: its input parameters, its transforms (one output each) and how it is run.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: PipelineType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    pub transformer: Transformer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_options: Option<ProcessorOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_config: Option<ConnectorConfig>,
}

impl PipelineDefinition {
    /// Reads a definition from JSON; errors name the path of the offending field.
    pub fn from_json(text: &str) -> Result<Self, DefinitionError> {
        parse_json(text)
    }
}

/// What a pipeline produces (SIF §2.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PipelineType {
    /// Stored activities, with aggregations and metrics.
    #[default]
    Activities,
    /// A result file of the outputs.
    Data,
    /// A result file whose rows define impacts (emission factors).
    Impacts,
    /// Creates a reference dataset from the uploaded file.
    ReferenceDatasets,
}

impl PipelineType {
    pub fn name(self) -> &'static str {
        match self {
            PipelineType::Activities => "activities",
            PipelineType::Data => "data",
            PipelineType::Impacts => "impacts",
            PipelineType::ReferenceDatasets => "referenceDatasets",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transformer {
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub transforms: Vec<Transform>,
}

/// An input column: `label` is its header in the input file, `key` its name in formulas.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: ValueType,
}

impl Parameter {
    /// The header of the parameter's column: its label, else its key.
    pub fn column(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.key)
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transform {
    pub index: u32,
    pub formula: String,
    #[serde(default)]
    pub outputs: Vec<Output>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: ValueType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<Aggregate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_as_unique: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<String>>,
}

impl Output {
    pub fn is_unique(&self) -> bool {
        self.include_as_unique == Some(true)
    }

    pub fn metric_names(&self) -> &[String] {
        self.metrics.as_deref().unwrap_or_default()
    }
}

/// The declared type of a parameter or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ValueType {
    String,
    Number,
    Boolean,
    Timestamp,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Timestamp => "timestamp",
        }
    }
}

/// How an output takes part in the pipeline aggregation (SIF §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Aggregate {
    GroupBy,
    Sum,
    Mean,
    Max,
    Min,
    Count,
}

impl Aggregate {
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::GroupBy => "groupBy",
            Aggregate::Sum => "sum",
            Aggregate::Mean => "mean",
            Aggregate::Max => "max",
            Aggregate::Min => "min",
            Aggregate::Count => "count",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessorOptions {
    /// Input chunk size in MB (1..5) for SIF's Lambdas; sifr chunks by rows and ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_metric_aggregations: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorConfig {
    #[serde(default)]
    pub input: Vec<ConnectorUse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Vec<ConnectorUse>>,
}

/// A connector named by a pipeline, with parameter overrides.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorUse {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, serde_json::Value>>,
}

/// A metric (KPI) definition. A metric is fed either by pipeline outputs that name it, or by
/// other metrics that list it in their `outputMetrics`, never both.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricDefinition {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Only `sum` is implemented, as in SIF.
    #[serde(default = "sum")]
    pub aggregation_type: String,
    /// The metrics this one contributes to.
    #[serde(default)]
    pub output_metrics: Vec<String>,
}

fn sum() -> String {
    "sum".to_owned()
}

impl MetricDefinition {
    /// Reads a JSON array of metric definitions.
    pub fn list_from_json(text: &str) -> Result<Vec<Self>, DefinitionError> {
        parse_json(text)
    }
}

/// JSON that does not describe a definition; the message names the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DefinitionError {
    pub message: String,
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DefinitionError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        DefinitionError {
            message: if path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            },
        }
    })?;
    deserializer.end().map_err(|e| DefinitionError {
        message: e.to_string(),
    })?;
    Ok(value)
}
