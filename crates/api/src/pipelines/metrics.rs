//! `/pipelines/metrics`: KPIs. A metric is fed either by pipeline outputs (`inputPipelines`)
//! or by other metrics (`inputMetrics`), never both, and rolls up into the metrics named in its
//! `outputMetrics`. The server keeps `inputMetrics` and `inputPipelines` in step with the links
//! the other side declares; every change of links writes a new version of the metric changed.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderName, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use sifr_domain::{
    Action, ListRequest, NewResource, Resource, ResourceChange, ResourceKind, ResourceState, Scope,
    TagMap, TagPatch, authorize,
};
use sifr_engine::MetricDefinition;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::resources::{self, Access, Common, Kind, body_of, load, stored_body};

pub(crate) struct Metrics;

impl Kind for Metrics {
    const KIND: ResourceKind = ResourceKind::new("metric");
    const PLURAL: &'static str = "metrics";
    const NOUN: &'static str = "Metric";
    const TAG: &'static str = "pipelines";
    type View = MetricView;

    fn view(resource: Resource) -> ApiResult<MetricView> {
        Ok(MetricView {
            body: body_of(&resource)?,
            common: Common::of(&resource),
        })
    }

    /// SIF's wording.
    fn missing(id: &str) -> String {
        format!("Metric '{id}' cannot be found")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AggregationType {
    Min,
    Max,
    Count,
    Sum,
    Mean,
}

/// A pipeline output that feeds a metric.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InputPipeline {
    pub pipeline_id: String,
    pub output: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetricBody {
    summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    aggregation_type: AggregationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    attributes: Option<Map<String, JsonValue>>,
    /// The metrics this one rolls up into.
    #[serde(default)]
    output_metrics: Vec<String>,
    /// The metrics that roll up into this one (kept by the server).
    #[serde(default)]
    input_metrics: Vec<String>,
    /// The pipeline outputs that feed this metric (kept by the server).
    #[serde(default)]
    pub input_pipelines: Vec<InputPipeline>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MetricView {
    #[serde(flatten)]
    common: Common,
    #[serde(flatten)]
    body: MetricBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewMetricRequest {
    name: String,
    summary: String,
    description: Option<String>,
    aggregation_type: AggregationType,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    #[schema(value_type = Option<Object>)]
    attributes: Option<Map<String, JsonValue>>,
    output_metrics: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EditMetricRequest {
    summary: Option<String>,
    description: Option<String>,
    aggregation_type: Option<AggregationType>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    state: Option<ResourceState>,
    #[schema(value_type = Option<Object>)]
    attributes: Option<Map<String, JsonValue>>,
    output_metrics: Option<Vec<String>>,
}

/// Every metric of the hierarchy line of the group in context: its ancestors, itself and its
/// descendants.
async fn hierarchy(caller: &Caller, children: bool) -> ApiResult<Vec<Resource>> {
    let mut request = ListRequest::new(caller.context.group.clone());
    request.scope = Scope {
        parents: true,
        children,
    };
    request.count = Some(100_000);
    Ok(caller
        .tenant
        .list_resources(Metrics::KIND, &request)
        .await?
        .items)
}

fn named<'a>(metrics: &'a [Resource], name: &str) -> Option<&'a Resource> {
    metrics.iter().find(|m| {
        m.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

/// The metric called `name` (ignoring case) visible from the group in context.
pub(crate) async fn visible_named(caller: &Caller, name: &str) -> ApiResult<Option<Resource>> {
    Ok(named(&hierarchy(caller, false).await?, name).cloned())
}

/// The pipeline outputs feeding each metric visible in the group in context (metrics fed by
/// none are left out).
pub(crate) async fn feeds(caller: &Caller) -> ApiResult<BTreeMap<String, Vec<InputPipeline>>> {
    let mut feeds = BTreeMap::new();
    for metric in hierarchy(caller, false).await? {
        let body: MetricBody = body_of(&metric)?;
        if !body.input_pipelines.is_empty() {
            feeds.insert(
                metric.name.clone().unwrap_or_default(),
                body.input_pipelines,
            );
        }
    }
    Ok(feeds)
}

/// The metrics visible from the group in context, as the engine validates pipelines against.
pub(crate) async fn definitions(caller: &Caller) -> ApiResult<Vec<MetricDefinition>> {
    hierarchy(caller, false)
        .await?
        .iter()
        .map(|metric| {
            let body: MetricBody = body_of(metric)?;
            Ok(MetricDefinition {
                name: metric.name.clone().unwrap_or_default(),
                summary: Some(body.summary),
                description: body.description,
                aggregation_type: "sum".into(),
                // A metric fed by other metrics cannot take pipeline outputs: the engine learns
                // that from the metrics that name it as an output.
                output_metrics: body.output_metrics,
            })
        })
        .collect()
}

/// Checks the `outputMetrics` of metric `name`: they exist in the group in context, take no
/// pipeline outputs, and no metric is reached twice or loops back to `name`.
async fn check_outputs(caller: &Caller, name: &str, outputs: &[String]) -> ApiResult<()> {
    let context = std::slice::from_ref(&caller.context.group);
    let mut targets = Vec::new();
    let mut missing = Vec::new();
    for output in outputs {
        match caller
            .tenant
            .resources_named(Metrics::KIND, output, context)
            .await?
            .into_iter()
            .next()
        {
            Some(found) => targets.push(found),
            None => missing.push(output.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "These parent metrics [{}] do not exist",
            missing.join(", ")
        )));
    }
    let fed: Vec<&str> = targets
        .iter()
        .filter(|t| body_of::<MetricBody>(t).is_ok_and(|b| !b.input_pipelines.is_empty()))
        .filter_map(|t| t.name.as_deref())
        .collect();
    if !fed.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "These output metrics [{}] has pipeline as an input",
            fed.join(", ")
        )));
    }
    // Walk up the roll-ups from `name`: reaching it again is a cycle, reaching any metric twice
    // means two paths.
    let all = hierarchy(caller, true).await?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut frontier: Vec<(String, String)> = outputs
        .iter()
        .map(|o| (name.to_owned(), o.clone()))
        .collect();
    while let Some((from, to)) = frontier.pop() {
        if to.eq_ignore_ascii_case(name) {
            return Err(ApiError::BadRequest(format!(
                "There is circular reference pointing back to metric {name} from {from}"
            )));
        }
        if !seen.insert(to.to_lowercase()) {
            return Err(ApiError::BadRequest(format!(
                "This metric {to} exists in multiple path"
            )));
        }
        if let Some(metric) = named(&all, &to) {
            let body: MetricBody = body_of(metric)?;
            frontier.extend(
                body.output_metrics
                    .into_iter()
                    .map(|next| (to.clone(), next)),
            );
        }
    }
    Ok(())
}

/// Applies `edit` to the latest version of the metric called `name` in the hierarchy line of
/// the group in context, writing a new version when it changed something.
pub(crate) async fn relink(
    caller: &Caller,
    name: &str,
    edit: impl Fn(&mut MetricBody),
) -> ApiResult<()> {
    let all = hierarchy(caller, true).await?;
    let Some(metric) = named(&all, name) else {
        return Ok(());
    };
    let before: MetricBody = body_of(metric)?;
    let mut after = before.clone();
    edit(&mut after);
    if stored_body(&after)? == stored_body(&before)? {
        return Ok(());
    }
    let change = ResourceChange {
        body: Some(stored_body(&after)?),
        ..ResourceChange::default()
    };
    caller
        .tenant
        .update_resource(Metrics::KIND, &metric.id, None, change, caller.email())
        .await?;
    Ok(())
}

/// Keeps `inputMetrics` of the targets in step with metric `name`'s outputs going from
/// `before` to `after`.
async fn link_outputs(
    caller: &Caller,
    name: &str,
    before: &[String],
    after: &[String],
) -> ApiResult<()> {
    let before: BTreeSet<String> = before.iter().map(|n| n.to_lowercase()).collect();
    let after_set: BTreeSet<String> = after.iter().map(|n| n.to_lowercase()).collect();
    for gone in before.difference(&after_set) {
        relink(caller, gone, |body| {
            body.input_metrics.retain(|m| !m.eq_ignore_ascii_case(name));
        })
        .await?;
    }
    for added in after_set.difference(&before) {
        relink(caller, added, |body| {
            if !body
                .input_metrics
                .iter()
                .any(|m| m.eq_ignore_ascii_case(name))
            {
                body.input_metrics.push(name.to_owned());
            }
        })
        .await?;
    }
    Ok(())
}

fn sum_only(kind: AggregationType) -> ApiResult<()> {
    if kind == AggregationType::Sum {
        Ok(())
    } else {
        Err(ApiError::NotImplemented(
            "Only sum aggregation type is supported for now.".into(),
        ))
    }
}

/// Creates a metric in the group in context.
#[utoipa::path(
    post, path = "/metrics", tag = "pipelines", request_body = NewMetricRequest,
    responses(
        (status = 201, description = "Created; header x-metricId carries the id", body = MetricView),
        (status = 400, description = "Invalid body or links", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The name is in use in the hierarchy line", body = ErrorBody),
        (status = 501, description = "An aggregation other than sum", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    JsonBody(request): JsonBody<NewMetricRequest>,
) -> ApiResult<(StatusCode, [(HeaderName, String); 1], Json<MetricView>)> {
    resources::require_context(&caller).await?;
    authorize(&caller.context, Action::CreateResource)?;
    sum_only(request.aggregation_type)?;
    if named(&hierarchy(&caller, true).await?, &request.name).is_some() {
        return Err(ApiError::Conflict(format!(
            "Name '{}' already in use.",
            request.name
        )));
    }
    let outputs = request.output_metrics.unwrap_or_default();
    check_outputs(&caller, &request.name, &outputs).await?;
    let body = MetricBody {
        summary: request.summary,
        description: request.description,
        aggregation_type: request.aggregation_type,
        attributes: request.attributes,
        output_metrics: outputs.clone(),
        input_metrics: Vec::new(),
        input_pipelines: Vec::new(),
    };
    let mut tags = TagMap::default();
    if let Some(patch) = &request.tags {
        tags.apply(patch);
    }
    let created = caller
        .tenant
        .create_resource(NewResource {
            kind: Metrics::KIND,
            name: Some(request.name.clone()),
            group: caller.context.group.clone(),
            state: ResourceState::Enabled,
            tags,
            body: stored_body(&body)?,
            active_at: None,
            created_by: caller.email().to_owned(),
        })
        .await?;
    link_outputs(&caller, &request.name, &[], &outputs).await?;
    let id = created.id.to_string();
    Ok((
        StatusCode::CREATED,
        [(HeaderName::from_static("x-metricid"), id)],
        Json(Metrics::view(created)?),
    ))
}

/// Writes a new version of a metric.
#[utoipa::path(
    patch, path = "/metrics/{id}", tag = "pipelines", request_body = EditMetricRequest,
    params(("id" = String, Path, description = "The metric id")),
    responses(
        (status = 200, body = MetricView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<EditMetricRequest>,
) -> ApiResult<Json<MetricView>> {
    let current = load::<Metrics>(&caller, &id, Access::Update).await?;
    let name = current.name.clone().unwrap_or_default();
    let mut body: MetricBody = body_of(&current)?;
    let before = body.output_metrics.clone();
    if let Some(summary) = request.summary {
        body.summary = summary;
    }
    if let Some(description) = request.description {
        body.description = Some(description);
    }
    if let Some(kind) = request.aggregation_type {
        body.aggregation_type = kind;
    }
    if let Some(attributes) = request.attributes {
        body.attributes = Some(attributes);
    }
    if let Some(outputs) = request.output_metrics {
        check_outputs(&caller, &name, &outputs).await?;
        body.output_metrics = outputs;
    }
    let change = ResourceChange {
        state: request.state,
        tags: request.tags,
        body: Some(stored_body(&body)?),
        active_at: None,
    };
    let updated = caller
        .tenant
        .update_resource(
            Metrics::KIND,
            &current.id,
            Some(current.version),
            change,
            caller.email(),
        )
        .await?;
    link_outputs(&caller, &name, &before, &body.output_metrics).await?;
    Ok(Json(Metrics::view(updated)?))
}

/// Deletes a metric that nothing feeds.
#[utoipa::path(
    delete, path = "/metrics/{id}", tag = "pipelines",
    params(("id" = String, Path, description = "The metric id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Other metrics or pipelines feed it", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let metric = load::<Metrics>(&caller, &id, Access::Delete).await?;
    let name = metric.name.clone().unwrap_or_default();
    let body: MetricBody = body_of(&metric)?;
    if !body.input_metrics.is_empty() || !body.input_pipelines.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "metric {name} cannot be deleted because it is an output metric of another metric or pipeline"
        )));
    }
    caller
        .tenant
        .delete_resource(Metrics::KIND, &metric.id)
        .await?;
    link_outputs(&caller, &name, &body.output_metrics, &[]).await?;
    Ok(StatusCode::NO_CONTENT)
}
