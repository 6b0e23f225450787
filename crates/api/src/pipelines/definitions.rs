//! `/pipelines/pipelines`: pipeline definitions. A definition is validated by the engine that
//! runs it (the rules of each pipeline type, every formula compiled) before it is stored, and
//! dry runs go through the engine's row processing.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use sifr_domain::{
    Action, NewResource, Resource, ResourceChange, ResourceId, ResourceKind, ResourceState, TagMap,
    TagPatch, authorize,
};
use sifr_engine::definition::{ConnectorConfig, ProcessorOptions, Transformer};
use sifr_engine::{PipelineDefinition, PipelineType, Plan, ValueType};
use utoipa::ToSchema;

use super::connectors::{self, ConnectorType};
use super::dry_run;
use super::metrics::{self, InputPipeline};
use crate::auth::Caller;
use crate::calculations::dry_run::{DryRunOptions, DryRunResult};
use crate::calculations::{active_at, formula};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, Query};
use crate::resources::{self, Access, Common, Kind, body_of, load, stored_body};

pub(crate) struct Pipelines;

/// Stored with every pipeline for the pipeline processor, shown with `verbose=true` only.
const AGGREGATED_OUTPUTS: &str = "_aggregatedOutputKeyAndTypeMap";
const KEY_MAPPING: &str = "_keyMapping";

impl Kind for Pipelines {
    const KIND: ResourceKind = ResourceKind::new("pipeline");
    const PLURAL: &'static str = "pipelines";
    const NOUN: &'static str = "Pipeline";
    const TAG: &'static str = "pipelines";
    type View = PipelineView;

    fn view(resource: Resource) -> ApiResult<PipelineView> {
        Ok(PipelineView::of(resource, false))
    }

    /// SIF's wording.
    fn missing(id: &str) -> String {
        format!("Pipeline {id} not found.")
    }
}

/// The pipeline's own fields, as stored (with the internal fields) and read back.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct PipelineBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type", default)]
    kind: PipelineType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attributes: Option<Map<String, JsonValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    processor_options: Option<ProcessorOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connector_config: Option<ConnectorConfig>,
    transformer: Transformer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dry_run_options: Option<DryRunOptions>,
    /// Output key → type, over every version, outputs of the first transform excepted.
    #[serde(rename = "_aggregatedOutputKeyAndTypeMap", default)]
    aggregated_outputs: Map<String, JsonValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PipelineView {
    #[serde(flatten)]
    common: Common,
    /// description, type, attributes, processorOptions, connectorConfig, transformer,
    /// dryRunOptions; with `verbose=true` also `_aggregatedOutputKeyAndTypeMap` and each unique
    /// output's `_keyMapping`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    body: Map<String, JsonValue>,
}

impl PipelineView {
    fn of(resource: Resource, verbose: bool) -> Self {
        let common = Common::of(&resource);
        let mut body = resource.body;
        if !verbose {
            body.remove(AGGREGATED_OUTPUTS);
            for_each_output(&mut body, |output| {
                output.remove(KEY_MAPPING);
            });
        }
        Self { common, body }
    }
}

/// Calls `f` with every output object of a stored body, in transform order as stored.
fn for_each_output(
    body: &mut Map<String, JsonValue>,
    mut f: impl FnMut(&mut Map<String, JsonValue>),
) {
    let transforms = body
        .get_mut("transformer")
        .and_then(|t| t.get_mut("transforms"))
        .and_then(JsonValue::as_array_mut);
    for transform in transforms.into_iter().flatten() {
        let outputs = transform
            .get_mut("outputs")
            .and_then(JsonValue::as_array_mut);
        for output in outputs
            .into_iter()
            .flatten()
            .filter_map(JsonValue::as_object_mut)
        {
            f(output);
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewPipelineRequest {
    name: String,
    description: Option<String>,
    /// `activities` (default), `data`, `impacts` or `referenceDatasets`.
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>)]
    kind: Option<PipelineType>,
    #[schema(value_type = Option<Object>)]
    attributes: Option<Map<String, JsonValue>>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    active_at: Option<String>,
    #[schema(value_type = Option<Object>)]
    processor_options: Option<ProcessorOptions>,
    /// Required: the input connector (exactly one) and at most one output connector.
    #[schema(value_type = Option<Object>)]
    connector_config: Option<ConnectorConfig>,
    /// Parameters (input columns) and transforms (one output each).
    #[schema(value_type = Object)]
    transformer: Transformer,
    dry_run_options: Option<DryRunOptions>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EditPipelineRequest {
    active_at: Option<String>,
    #[schema(value_type = Option<Object>)]
    attributes: Option<Map<String, JsonValue>>,
    description: Option<String>,
    dry_run_options: Option<DryRunOptions>,
    #[schema(value_type = Option<Object>)]
    connector_config: Option<ConnectorConfig>,
    #[schema(value_type = Option<Object>)]
    processor_options: Option<ProcessorOptions>,
    #[schema(value_type = Option<Object>)]
    transformer: Option<Transformer>,
    state: Option<ResourceState>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// Checks the connectors a pipeline names; returns whether its input is deployed per pipeline
/// (`deploymentMethod=managed-pipeline`) and not deployed yet, so the pipeline starts disabled.
async fn check_connectors(caller: &Caller, config: Option<&ConnectorConfig>) -> ApiResult<bool> {
    let config = config.ok_or_else(|| {
        bad("Input connector config is required: set connectorConfig.input to one connector, e.g. [{\"name\": \"sif-csv-pipeline-input-connector\"}].")
    })?;
    if config.input.len() != 1 {
        return Err(bad(format!(
            "connectorConfig.input must name exactly one connector; it names {}.",
            config.input.len()
        )));
    }
    let outputs = config.output.as_deref().unwrap_or_default();
    if outputs.len() > 1 {
        return Err(bad(format!(
            "connectorConfig.output may name at most one connector; it names {}.",
            outputs.len()
        )));
    }
    let mut awaiting_deployment = false;
    for (used, expected) in config
        .input
        .iter()
        .map(|c| (c, ConnectorType::Input))
        .chain(outputs.iter().map(|c| (c, ConnectorType::Output)))
    {
        let (_, connector) = connectors::find(caller, &used.name).await?;
        if connector.kind != expected {
            return Err(bad(format!(
                "Connector {} is an {} connector and cannot be used as {}.",
                used.name,
                if connector.kind == ConnectorType::Input {
                    "input"
                } else {
                    "output"
                },
                if expected == ConnectorType::Input {
                    "input"
                } else {
                    "output"
                },
            )));
        }
        let overrides = used.parameters.as_ref();
        let undeclared = connector.undeclared(overrides.into_iter().flat_map(|p| p.keys()));
        if !undeclared.is_empty() {
            return Err(bad(format!(
                "Connector {} does not declare the parameters [{}]; it takes [{}].",
                used.name,
                undeclared.join(", "),
                connector.parameter_names()
            )));
        }
        if expected == ConnectorType::Input {
            let setting = |name: &str| {
                overrides
                    .and_then(|p| p.get(name))
                    .and_then(JsonValue::as_str)
                    .map(str::to_owned)
                    .or_else(|| {
                        connector
                            .parameters
                            .iter()
                            .find(|d| d.name == name)
                            .and_then(|d| d.default_value.clone())
                    })
            };
            awaiting_deployment = setting("deploymentMethod").as_deref()
                == Some("managed-pipeline")
                && !matches!(
                    setting("deploymentStatus").as_deref(),
                    Some("deployed" | "failed")
                );
        }
    }
    Ok(awaiting_deployment)
}

/// Validates a definition with the engine and compiles it.
async fn plan(
    caller: &Caller,
    name: &str,
    body: &PipelineBody,
    previous: Option<&PipelineBody>,
) -> ApiResult<Plan> {
    if let Some(size) = body.processor_options.as_ref().and_then(|o| o.chunk_size)
        && !(1.0..=5.0).contains(&size)
    {
        return Err(ApiError::Validation(format!(
            "body/processorOptions/chunkSize must be between 1 and 5 (MB); it is {size}"
        )));
    }
    let keys: Vec<&str> = body
        .transformer
        .parameters
        .iter()
        .map(|p| p.key.as_str())
        .collect();
    for transform in &body.transformer.transforms {
        if let Err(e) = formula::check(&transform.formula, &keys) {
            let output = transform.outputs.first().map_or("", |o| o.key.as_str());
            return Err(bad(format!(
                "transform {} (output '{output}'): Formula '{}' does not compile: {e}",
                transform.index, transform.formula
            )));
        }
    }
    if let Some(previous) = previous {
        let unique = |b: &PipelineBody| -> BTreeSet<String> {
            b.transformer
                .transforms
                .iter()
                .flat_map(|t| &t.outputs)
                .filter(|o| o.is_unique())
                .map(|o| o.key.clone())
                .collect()
        };
        let (before, after) = (unique(previous), unique(body));
        if before != after {
            let changed: Vec<&str> = before
                .symmetric_difference(&after)
                .map(String::as_str)
                .collect();
            return Err(bad(format!(
                "includeAsUnique cannot be changed on update (outputs [{}]); create a new pipeline instead.",
                changed.join(", ")
            )));
        }
    }
    let metrics = metrics::definitions(caller).await?;
    Plan::new(definition_of(name, body), &metrics).map_err(|e| bad(e.to_string()))
}

/// The engine's definition of a stored pipeline body.
fn definition_of(name: &str, body: &PipelineBody) -> PipelineDefinition {
    PipelineDefinition {
        id: None,
        name: Some(name.to_owned()),
        description: body.description.clone(),
        kind: body.kind,
        version: None,
        transformer: body.transformer.clone(),
        processor_options: body.processor_options.clone(),
        connector_config: body.connector_config.clone(),
    }
}

/// The compiled plan of the pipeline version an execution is pinned to.
pub(crate) async fn execution_plan(caller: &Caller, id: &str, version: u32) -> ApiResult<Plan> {
    let pipeline = pinned(caller, id, version).await?;
    let body: PipelineBody = body_of(&pipeline)?;
    let mut definition = definition_of(pipeline.name.as_deref().unwrap_or_default(), &body);
    definition.id = Some(id.to_owned());
    definition.version = Some(u64::from(version));
    let metrics = metrics::definitions(caller).await?;
    Plan::new(definition, &metrics).map_err(|e| bad(e.to_string()))
}

/// A version of a pipeline, in SIF's words when it is gone.
pub(crate) async fn pinned(caller: &Caller, id: &str, version: u32) -> ApiResult<Resource> {
    let not_found = || ApiError::NotFound(format!("Pipeline configuration '{id}' not found."));
    let pipeline_id = ResourceId::parse(id).map_err(|_| not_found())?;
    caller
        .tenant
        .resource_version(Pipelines::KIND, &pipeline_id, version)
        .await?
        .ok_or_else(not_found)
}

/// The type of every output a pipeline has had (any version), by key; the outputs of the
/// current version's first transform included.
pub(crate) fn output_types(pipeline: &Resource) -> ApiResult<BTreeMap<String, ValueType>> {
    let body: PipelineBody = body_of(pipeline)?;
    let mut types: BTreeMap<String, ValueType> = body
        .aggregated_outputs
        .iter()
        .filter_map(|(key, kind)| {
            let kind = serde_json::from_value(kind.clone()).ok()?;
            Some((key.clone(), kind))
        })
        .collect();
    for output in body.transformer.transforms.iter().flat_map(|t| &t.outputs) {
        types.insert(output.key.clone(), output.kind);
    }
    Ok(types)
}

/// The pipeline's type.
pub(crate) fn pipeline_type(pipeline: &Resource) -> ApiResult<PipelineType> {
    Ok(body_of::<PipelineBody>(pipeline)?.kind)
}

/// The connectors the pipeline names.
pub(crate) fn connector_config(pipeline: &Resource) -> ApiResult<Option<ConnectorConfig>> {
    Ok(body_of::<PipelineBody>(pipeline)?.connector_config)
}

/// The body to store: the definition, each unique output's `_keyMapping` from the plan, and
/// the output types of every version so far.
fn stored(body: &PipelineBody, plan: &Plan) -> ApiResult<Map<String, JsonValue>> {
    let mut body = body.clone();
    let first = body.transformer.transforms.iter().map(|t| t.index).min();
    for transform in &body.transformer.transforms {
        if Some(transform.index) == first {
            continue;
        }
        for output in &transform.outputs {
            body.aggregated_outputs.insert(
                output.key.clone(),
                JsonValue::String(output.kind.name().into()),
            );
        }
    }
    let mut map = stored_body(&body)?;
    for_each_output(&mut map, |output| {
        let key = output
            .get("key")
            .and_then(JsonValue::as_str)
            .unwrap_or_default();
        let mapping = plan
            .output_position(key)
            .and_then(|i| plan.outputs()[i].unique_key);
        if let Some(n) = mapping {
            output.insert(KEY_MAPPING.into(), JsonValue::String(format!("key{n}")));
        }
    });
    Ok(map)
}

/// The (metric name, output key) links a definition declares.
fn metric_links(body: &PipelineBody) -> BTreeSet<(String, String)> {
    body.transformer
        .transforms
        .iter()
        .flat_map(|t| &t.outputs)
        .flat_map(|o| {
            o.metric_names()
                .iter()
                .map(|m| (m.to_lowercase(), o.key.clone()))
        })
        .collect()
}

/// Keeps the metrics' `inputPipelines` in step with pipeline `id`'s links going from `before`
/// to `after`.
async fn link_metrics(
    caller: &Caller,
    id: &str,
    before: &BTreeSet<(String, String)>,
    after: &BTreeSet<(String, String)>,
) -> ApiResult<()> {
    for (metric, output) in before.difference(after) {
        let gone = InputPipeline {
            pipeline_id: id.to_owned(),
            output: output.clone(),
        };
        metrics::relink(caller, metric, |body| {
            body.input_pipelines.retain(|p| *p != gone)
        })
        .await?;
    }
    for (metric, output) in after.difference(before) {
        let link = InputPipeline {
            pipeline_id: id.to_owned(),
            output: output.clone(),
        };
        metrics::relink(caller, metric, |body| {
            if !body.input_pipelines.contains(&link) {
                body.input_pipelines.push(link.clone());
            }
        })
        .await?;
    }
    Ok(())
}

/// Runs the definition's `dryRunOptions` when it has some; a dry run with errors refuses it.
async fn dry_run(
    caller: &Caller,
    body: &PipelineBody,
    plan: Plan,
) -> ApiResult<Option<DryRunResult>> {
    let Some(options) = &body.dry_run_options else {
        return Ok(None);
    };
    let result = dry_run::pipeline(caller, plan, options.data.clone()).await?;
    result.respond().map(|Json(result)| Some(result))
}

/// Creates a pipeline in the group in context, or dry-runs it with `dryRun=true`.
#[utoipa::path(
    post, path = "/pipelines", tag = "pipelines", request_body = NewPipelineRequest,
    params(("dryRun" = Option<bool>, Query, description = "Run `dryRunOptions` through the pipeline and store nothing")),
    responses(
        (status = 201, description = "Created; header x-pipelineId carries the id", body = PipelineView),
        (status = 200, description = "The dry run's result", body = DryRunResult),
        (status = 400, description = "An invalid definition or a failed dry run", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such group in context, or a connector not found", body = ErrorBody),
        (status = 409, description = "The name is in use in the group", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    query: Query,
    JsonBody(request): JsonBody<NewPipelineRequest>,
) -> ApiResult<Response> {
    resources::require_context(&caller).await?;
    authorize(&caller.context, Action::CreateResource)?;
    let active_at = active_at(request.active_at.as_deref())?;
    if request.name.trim().is_empty() {
        return Err(ApiError::Validation(
            "body/name must NOT have fewer than 1 characters".into(),
        ));
    }
    let body = PipelineBody {
        description: request.description,
        kind: request.kind.unwrap_or_default(),
        attributes: request.attributes,
        processor_options: request.processor_options,
        connector_config: request.connector_config,
        transformer: request.transformer,
        dry_run_options: request.dry_run_options,
        aggregated_outputs: Map::new(),
    };
    let only = crate::calculations::dry_run::requested(&query, body.dry_run_options.is_some())?;
    let awaiting_deployment = check_connectors(&caller, body.connector_config.as_ref()).await?;
    let plan = plan(&caller, &request.name, &body, None).await?;
    let stored = stored(&body, &plan)?;
    if let Some(result) = dry_run(&caller, &body, plan).await?.filter(|_| only) {
        return Ok(Json(result).into_response());
    }
    let mut tags = TagMap::default();
    if let Some(patch) = &request.tags {
        tags.apply(patch);
    }
    let created = caller
        .tenant
        .create_resource(NewResource {
            kind: Pipelines::KIND,
            name: Some(request.name),
            group: caller.context.group.clone(),
            state: if awaiting_deployment {
                ResourceState::Disabled
            } else {
                ResourceState::Enabled
            },
            tags,
            body: stored,
            active_at,
            created_by: caller.email().to_owned(),
        })
        .await?;
    let id = created.id.to_string();
    link_metrics(&caller, &id, &BTreeSet::new(), &metric_links(&body)).await?;
    Ok((
        StatusCode::CREATED,
        [(HeaderName::from_static("x-pipelineid"), id)],
        Json(PipelineView::of(created, false)),
    )
        .into_response())
}

/// Writes a new version of a pipeline, or dry-runs the changed pipeline with `dryRun=true`.
#[utoipa::path(
    patch, path = "/pipelines/{id}", tag = "pipelines", request_body = EditPipelineRequest,
    params(
        ("id" = String, Path, description = "The pipeline id"),
        ("dryRun" = Option<bool>, Query, description = "Run `dryRunOptions` through the changed pipeline and store nothing"),
    ),
    responses(
        (status = 200, description = "The new version, or the dry run's result", body = PipelineView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
    JsonBody(request): JsonBody<EditPipelineRequest>,
) -> ApiResult<Response> {
    let current = load::<Pipelines>(&caller, &id, Access::Update).await?;
    let active_at = active_at(request.active_at.as_deref())?;
    let previous: PipelineBody = body_of(&current)?;
    let mut body = previous.clone();
    if let Some(description) = request.description {
        body.description = Some(description);
    }
    if let Some(attributes) = request.attributes {
        body.attributes = Some(attributes);
    }
    if let Some(options) = request.processor_options {
        body.processor_options = Some(options);
    }
    if let Some(config) = request.connector_config {
        body.connector_config = Some(config);
    }
    if let Some(transformer) = request.transformer {
        body.transformer = transformer;
    }
    if let Some(options) = request.dry_run_options {
        body.dry_run_options = Some(options);
    }
    let name = current.name.clone().unwrap_or_default();
    let only = crate::calculations::dry_run::requested(&query, body.dry_run_options.is_some())?;
    check_connectors(&caller, body.connector_config.as_ref()).await?;
    let plan = plan(&caller, &name, &body, Some(&previous)).await?;
    let stored = stored(&body, &plan)?;
    if let Some(result) = dry_run(&caller, &body, plan).await?.filter(|_| only) {
        return Ok(Json(result).into_response());
    }
    let change = ResourceChange {
        state: request.state,
        tags: request.tags,
        body: Some(stored),
        active_at: Some(active_at),
    };
    let updated = caller
        .tenant
        .update_resource(
            Pipelines::KIND,
            &current.id,
            Some(current.version),
            change,
            caller.email(),
        )
        .await?;
    link_metrics(
        &caller,
        current.id.as_str(),
        &metric_links(&previous),
        &metric_links(&body),
    )
    .await?;
    Ok(Json(PipelineView::of(updated, false)).into_response())
}

/// Reads the latest version of a pipeline; `verbose=true` adds the internal fields.
#[utoipa::path(
    get, path = "/pipelines/{id}", tag = "pipelines",
    params(
        ("id" = String, Path, description = "The pipeline id"),
        ("verbose" = Option<bool>, Query, description = "Include _keyMapping and _aggregatedOutputKeyAndTypeMap"),
    ),
    responses((status = 200, body = PipelineView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get(
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Json<PipelineView>> {
    let verbose = query.flag("verbose")?;
    let pipeline = load::<Pipelines>(&caller, &id, Access::Read).await?;
    Ok(Json(PipelineView::of(pipeline, verbose)))
}

/// Reads one version of a pipeline; `verbose=true` adds the internal fields.
#[utoipa::path(
    get, path = "/pipelines/{id}/versions/{version}", tag = "pipelines",
    params(
        ("id" = String, Path, description = "The pipeline id"),
        ("version" = String, Path, description = "The version number"),
        ("verbose" = Option<bool>, Query, description = "Include _keyMapping and _aggregatedOutputKeyAndTypeMap"),
    ),
    responses((status = 200, body = PipelineView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn version(
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
    query: Query,
) -> ApiResult<Json<PipelineView>> {
    let verbose = query.flag("verbose")?;
    let found = resources::load_version::<Pipelines>(&caller, &id, &version).await?;
    Ok(Json(PipelineView::of(found, verbose)))
}

/// Deletes a pipeline and unlinks it from the metrics it fed.
#[utoipa::path(
    delete, path = "/pipelines/{id}", tag = "pipelines",
    params(("id" = String, Path, description = "The pipeline id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn delete(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let pipeline = load::<Pipelines>(&caller, &id, Access::Delete).await?;
    let body: PipelineBody = body_of(&pipeline)?;
    caller
        .tenant
        .delete_resource(Pipelines::KIND, &pipeline.id)
        .await?;
    link_metrics(
        &caller,
        pipeline.id.as_str(),
        &metric_links(&body),
        &BTreeSet::new(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
