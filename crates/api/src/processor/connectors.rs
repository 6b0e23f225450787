//! The input connector of an execution: the one its pipeline names (the CSV connector when it
//! names none), with its parameters merged as SIF merged them: the connector's defaults,
//! overridden by the pipeline's `connectorConfig`, overridden by the execution's
//! `connectorOverrides`, names the connector declares only. The CSV connector (and any
//! connector sifr does not run itself) reads the uploaded file; the activity connector reads
//! another pipeline's activities.

use std::sync::Arc;

use serde_json::{Map, Value as JsonValue};
use sifr_engine::definition::ConnectorConfig;
use sifr_engine::{CsvInput, CsvOptions, InputError, PipelineType, Plan, RowReader, RowsInput};
use tokio_util::io::SyncIoBridge;

use super::activity_input::{ActivityRows, ActivitySource};
use super::executions::Execution;
use super::runner;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pipelines::connectors::{self, ACTIVITY_CONNECTOR, CSV_CONNECTOR};
use crate::state::AppState;

/// An execution's input connector and its merged parameters.
#[derive(Debug)]
pub(crate) struct InputConnector {
    name: String,
    parameters: Map<String, JsonValue>,
    /// Required parameters left unset: the connector cannot read the input.
    missing: Vec<String>,
}

/// Where an execution's rows come from.
pub(crate) enum Source {
    /// The uploaded CSV file, read with these options.
    File(CsvOptions),
    /// Another pipeline's activities.
    Activities(ActivitySource),
}

impl InputConnector {
    /// The connector `config` names for input, its parameters merged with `overrides`. An
    /// override the connector does not declare is a 400.
    pub(crate) async fn resolve(
        caller: &Caller,
        config: Option<&ConnectorConfig>,
        overrides: Option<&Map<String, JsonValue>>,
    ) -> ApiResult<Self> {
        let used = config.and_then(|c| c.input.first());
        let name = used.map_or(CSV_CONNECTOR, |u| u.name.as_str());
        let (_, connector) = connectors::find(caller, name).await?;
        let unknown = connector.undeclared(overrides.into_iter().flat_map(Map::keys));
        if !unknown.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "connectorOverrides sets [{}], which connector {name} does not declare; it takes [{}].",
                unknown.join(", "),
                connector.parameter_names()
            )));
        }
        let mut parameters = Map::new();
        for parameter in &connector.parameters {
            if let Some(default) = &parameter.default_value {
                parameters.insert(parameter.name.clone(), JsonValue::String(default.clone()));
            }
        }
        let configured = used.and_then(|u| u.parameters.as_ref());
        for (key, value) in configured.into_iter().chain(overrides).flatten() {
            if connector.parameters.iter().any(|p| &p.name == key) {
                parameters.insert(key.clone(), value.clone());
            }
        }
        let missing = connector
            .parameters
            .iter()
            .filter(|p| p.required == Some(true))
            .filter(|p| parameters.get(&p.name).is_none_or(is_unset))
            .map(|p| p.name.clone())
            .collect();
        Ok(Self {
            name: connector_name(name),
            parameters,
            missing,
        })
    }

    /// Checks, as a job execution is created, that the connector can read its input; returns
    /// whether it reads activities (then nothing is uploaded).
    pub(crate) async fn check_job(&self, caller: &Caller, kind: PipelineType) -> ApiResult<bool> {
        match self.source()? {
            Source::Activities(_) if kind == PipelineType::ReferenceDatasets => {
                Err(ApiError::BadRequest(format!(
                    "A referenceDatasets pipeline publishes an uploaded CSV file; its input connector cannot be {}.",
                    self.name
                )))
            }
            Source::Activities(source) => source.check(caller).await.map(|()| true),
            Source::File(_) => Ok(false),
        }
    }

    /// What the connector reads, per its parameters; a required parameter left unset is a 400.
    pub(crate) fn source(&self) -> ApiResult<Source> {
        if !self.missing.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "Connector {} requires [{}]: set them in the pipeline's connectorConfig or the execution's connectorOverrides.",
                self.name,
                self.missing.join(", ")
            )));
        }
        if self.name == ACTIVITY_CONNECTOR {
            return ActivitySource::from_parameters(&self.name, &self.parameters)
                .map(Source::Activities);
        }
        CsvOptions::from_parameters(&self.parameters)
            .map(Source::File)
            .map_err(|e| ApiError::BadRequest(e.to_string()))
    }
}

/// Built-in connectors under their registered spelling (pipelines may name them in any case).
fn connector_name(name: &str) -> String {
    [CSV_CONNECTOR, ACTIVITY_CONNECTOR]
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .unwrap_or(name)
        .to_owned()
}

fn is_unset(value: &JsonValue) -> bool {
    match value {
        JsonValue::Null => true,
        JsonValue::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// The rows of an execution, opened on the server's runtime and read by the engine.
pub(crate) enum Input {
    File(sifr_store::BlobReader, CsvOptions),
    Activities(Box<ActivityRows>),
}

impl Input {
    /// Opens what `source` reads for `execution`.
    pub(crate) async fn open(
        state: &AppState,
        caller: &Caller,
        plan: &Arc<Plan>,
        execution: &Execution,
        source: Source,
    ) -> ApiResult<Self> {
        match source {
            Source::File(options) => {
                let file = state
                    .blobs
                    .get(&runner::input_key(&caller.tenant_id, &execution.id)?)
                    .await?
                    .ok_or_else(|| {
                        ApiError::Internal("the execution's input file is missing".into())
                    })?;
                Ok(Self::File(file, options))
            }
            Source::Activities(source) => Ok(Self::Activities(Box::new(
                source.rows(caller, plan.clone()).await?,
            ))),
        }
    }

    /// How the rows are read when they are a CSV file.
    pub(crate) fn csv_options(&self) -> Option<&CsvOptions> {
        match self {
            Self::File(_, options) => Some(options),
            Self::Activities(_) => None,
        }
    }

    /// The engine's reader of the rows; made on the thread that reads them.
    pub(crate) fn reader(self, plan: &Plan) -> Result<Box<dyn RowReader>, InputError> {
        Ok(match self {
            Self::File(file, options) => Box::new(CsvInput::new(
                SyncIoBridge::new(file),
                &plan.definition().transformer.parameters,
                &options,
            )?),
            Self::Activities(rows) => Box::new(RowsInput::new(plan.parameters().len(), *rows)),
        })
    }
}
