//! The calculations module of SIF, served under `/calculations`: reusable formulas that
//! pipeline formulas call as `#name(...)`. A formula is compiled when it is saved; one that does
//! not compile is refused with the compiler's `Line l:c` message.

pub(crate) mod dry_run;
pub(crate) mod formula;

use std::collections::HashSet;

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sifr_calc::{Calculation, CalculationParameter, ResourceQuery};
use sifr_domain::{
    Action, NewResource, Resource, ResourceChange, ResourceKind, ResourceState, TagMap, TagPatch,
    Timestamp, authorize,
};
use sifr_store::TenantStore;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::dry_run::{CalculationRun, DryRunOptions, DryRunResult};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, Query};
use crate::resolve::named_version;
use crate::resources::{self, Access, Common, Endpoint, Kind, body_of, load, stored_body};
use crate::state::AppState;

pub(crate) struct Calculations;

impl Kind for Calculations {
    const KIND: ResourceKind = ResourceKind::new("calculation");
    const PLURAL: &'static str = "calculations";
    const NOUN: &'static str = "Calculation";
    const TAG: &'static str = "calculations";
    type View = CalculationView;

    fn view(resource: Resource) -> ApiResult<CalculationView> {
        Ok(CalculationView {
            body: body_of(&resource)?,
            common: Common::of(&resource),
        })
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    let mut shared = resources::VERSIONED.to_vec();
    shared.push(Endpoint::Tags);
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(update))
        .merge(resources::routes::<Calculations>(&shared))
}

/// The declared type of a parameter or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ValueType {
    String,
    Number,
    Boolean,
}

impl ValueType {
    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Parameter {
    /// Position of the argument in `#name(...)` calls, from 0.
    index: u32,
    /// The name formulas use: `:key`.
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    description: String,
    #[serde(rename = "type")]
    kind: ValueType,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Output {
    name: String,
    description: String,
    #[serde(rename = "type")]
    kind: ValueType,
}

/// The calculation's own fields, as stored and shown.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CalculationBody {
    summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    formula: String,
    #[serde(default)]
    parameters: Vec<Parameter>,
    outputs: Vec<Output>,
    /// Sample rows run through the formula on every save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dry_run_options: Option<DryRunOptions>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CalculationView {
    #[serde(flatten)]
    common: Common,
    #[serde(flatten)]
    body: CalculationBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewCalculationRequest {
    name: String,
    summary: String,
    description: Option<String>,
    formula: String,
    parameters: Option<Vec<Parameter>>,
    outputs: Vec<Output>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    dry_run_options: Option<DryRunOptions>,
    /// ISO-8601 date-time at which this version takes effect.
    active_at: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EditCalculationRequest {
    summary: Option<String>,
    description: Option<String>,
    formula: Option<String>,
    parameters: Option<Vec<Parameter>>,
    outputs: Option<Vec<Output>>,
    /// Keys set to null or `""` are removed; others are set.
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    state: Option<ResourceState>,
    dry_run_options: Option<DryRunOptions>,
    active_at: Option<String>,
}

/// `activeAt` of a request body.
pub(crate) fn active_at(raw: Option<&str>) -> ApiResult<Option<Timestamp>> {
    raw.map(|raw| {
        Timestamp::parse(raw).map_err(|_| {
            ApiError::Validation("body/activeAt must match format \"date-time\"".into())
        })
    })
    .transpose()
}

/// The definition rules: parameters at positions 0..n-1 with distinct keys, one output, and a
/// formula that compiles against the parameters. Returns what a dry run needs.
fn validate(body: &CalculationBody) -> ApiResult<CalculationRun> {
    let mut parameters: Vec<&Parameter> = body.parameters.iter().collect();
    parameters.sort_by_key(|p| p.index);
    if let Some(first) = parameters.first()
        && first.index != 0
    {
        return Err(ApiError::BadRequest(format!(
            "Parameter indexes must begin from 0; the first is {}.",
            first.index
        )));
    }
    if let Some(pair) = parameters.windows(2).find(|w| w[1].index != w[0].index + 1) {
        return Err(ApiError::BadRequest(format!(
            "Parameter indexes must not be skipping or missing a position: {} is followed by {}.",
            pair[0].index, pair[1].index
        )));
    }
    let mut keys = HashSet::new();
    for parameter in &parameters {
        if parameter.key.trim().is_empty() {
            return Err(ApiError::BadRequest(format!(
                "Parameter {} has an empty key.",
                parameter.index
            )));
        }
        if !keys.insert(parameter.key.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "Parameter key '{}' is declared more than once.",
                parameter.key
            )));
        }
    }
    let [output] = body.outputs.as_slice() else {
        return Err(ApiError::BadRequest(format!(
            "A calculation has exactly one output; {} were given.",
            body.outputs.len()
        )));
    };
    let names: Vec<&str> = parameters.iter().map(|p| p.key.as_str()).collect();
    let program = formula::check(&body.formula, &names).map_err(|e| {
        ApiError::BadRequest(format!("Formula '{}' does not compile: {e}", body.formula))
    })?;
    Ok(CalculationRun {
        program,
        parameters: parameters
            .iter()
            .map(|p| (p.key.clone(), p.kind.name().to_owned()))
            .collect(),
        output: output.name.clone(),
    })
}

/// Validates `body` and runs its `dryRunOptions` when it has some. A dry run with errors
/// refuses the save.
async fn check(caller: &Caller, body: &CalculationBody) -> ApiResult<Option<DryRunResult>> {
    let run = validate(body)?;
    let Some(options) = &body.dry_run_options else {
        return Ok(None);
    };
    let result = dry_run::calculation(caller, run, options.data.clone()).await?;
    result.respond().map(|Json(result)| Some(result))
}

/// Creates a calculation in the group in context, or dry-runs it with `dryRun=true`.
#[utoipa::path(
    post, path = "/calculations", tag = "calculations", request_body = NewCalculationRequest,
    params(("dryRun" = Option<bool>, Query, description = "Run `dryRunOptions` through the formula and store nothing")),
    responses(
        (status = 201, description = "Created; header x-calculationId carries the id", body = CalculationView),
        (status = 200, description = "The dry run's result", body = DryRunResult),
        (status = 400, description = "Invalid definition, a formula that does not compile, or a failed dry run", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The name is in use in the group", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    query: Query,
    JsonBody(request): JsonBody<NewCalculationRequest>,
) -> ApiResult<Response> {
    resources::require_context(&caller).await?;
    authorize(&caller.context, Action::CreateResource)?;
    let active_at = active_at(request.active_at.as_deref())?;
    if request.name.trim().is_empty() {
        return Err(ApiError::Validation(
            "body/name must NOT have fewer than 1 characters".into(),
        ));
    }
    let body = CalculationBody {
        summary: request.summary,
        description: request.description,
        formula: request.formula,
        parameters: request.parameters.unwrap_or_default(),
        outputs: request.outputs,
        dry_run_options: request.dry_run_options,
    };
    let only = dry_run::requested(&query, body.dry_run_options.is_some())?;
    let result = check(&caller, &body).await?;
    if let Some(result) = result.filter(|_| only) {
        return Ok(Json(result).into_response());
    }
    let mut tags = TagMap::default();
    if let Some(patch) = &request.tags {
        tags.apply(patch);
    }
    let created = caller
        .tenant
        .create_resource(NewResource {
            kind: Calculations::KIND,
            name: Some(request.name),
            group: caller.context.group.clone(),
            state: ResourceState::Enabled,
            tags,
            body: stored_body(&body)?,
            active_at,
            created_by: caller.email().to_owned(),
        })
        .await?;
    let id = created.id.to_string();
    Ok((
        StatusCode::CREATED,
        [(HeaderName::from_static("x-calculationid"), id)],
        Json(Calculations::view(created)?),
    )
        .into_response())
}

/// Writes a new version of a calculation, or dry-runs the changed calculation with
/// `dryRun=true`.
#[utoipa::path(
    patch, path = "/calculations/{id}", tag = "calculations", request_body = EditCalculationRequest,
    params(
        ("id" = String, Path, description = "The calculation id"),
        ("dryRun" = Option<bool>, Query, description = "Run `dryRunOptions` through the changed formula and store nothing"),
    ),
    responses(
        (status = 200, description = "The new version, or the dry run's result", body = CalculationView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
    JsonBody(request): JsonBody<EditCalculationRequest>,
) -> ApiResult<Response> {
    let current = load::<Calculations>(&caller, &id, Access::Update).await?;
    let active_at = active_at(request.active_at.as_deref())?;
    let mut body: CalculationBody = body_of(&current)?;
    if let Some(summary) = request.summary {
        body.summary = summary;
    }
    if let Some(description) = request.description {
        body.description = Some(description);
    }
    if let Some(formula) = request.formula {
        body.formula = formula;
    }
    if let Some(parameters) = request.parameters {
        body.parameters = parameters;
    }
    if let Some(outputs) = request.outputs {
        body.outputs = outputs;
    }
    if let Some(options) = request.dry_run_options {
        body.dry_run_options = Some(options);
    }
    let only = dry_run::requested(&query, body.dry_run_options.is_some())?;
    let result = check(&caller, &body).await?;
    if let Some(result) = result.filter(|_| only) {
        return Ok(Json(result).into_response());
    }
    let change = ResourceChange {
        state: request.state,
        tags: request.tags,
        body: Some(stored_body(&body)?),
        active_at: Some(active_at),
    };
    let updated = caller
        .tenant
        .update_resource(
            Calculations::KIND,
            &current.id,
            Some(current.version),
            change,
            caller.email(),
        )
        .await?;
    Ok(Json(Calculations::view(updated)?).into_response())
}

/// The calculation called `query.name` in exactly `query.group`, at the selected version, as
/// the formula engine runs it: parameters in index order.
pub(crate) async fn resolve_calculation(
    store: &dyn TenantStore,
    query: &ResourceQuery,
) -> ApiResult<Option<Calculation>> {
    let Some(found) = named_version(store, Calculations::KIND, query).await? else {
        return Ok(None);
    };
    let mut body: CalculationBody = body_of(&found)?;
    body.parameters.sort_by_key(|p| p.index);
    Ok(Some(Calculation {
        id: found.id.to_string(),
        name: found.name.unwrap_or_default(),
        version: u64::from(found.version),
        formula: body.formula,
        parameters: body
            .parameters
            .into_iter()
            .map(|p| CalculationParameter {
                key: p.key,
                kind: p.kind.name().to_owned(),
            })
            .collect(),
    }))
}
