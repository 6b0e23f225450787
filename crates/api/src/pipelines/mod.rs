//! The pipelines module of SIF, served under `/pipelines`: pipeline definitions, metrics (KPIs)
//! and connectors, and the values of their tags.

pub(crate) mod connectors;
mod definitions;
mod dry_run;
mod metrics;

use axum::Json;
use axum::extract::Path;
use sifr_domain::ResourceKind;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::connectors::Connectors;
pub(crate) use self::definitions::{
    Pipelines, connector_config, execution_plan, output_types, pinned, pipeline_type,
};
pub(crate) use self::dry_run::pipeline as dry_run_rows;
pub(crate) use self::metrics::{
    Metrics, definitions as metric_definitions, feeds as metric_feeds,
    visible_named as metric_named,
};
use crate::access::tags::TagValueList;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;
use crate::resources::{self, Endpoint, Kind, tag_values};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    use Endpoint::{Get, List, Share, Version, Versions};
    OpenApiRouter::new()
        .routes(routes!(definitions::create))
        .routes(routes!(
            definitions::get,
            definitions::update,
            definitions::delete
        ))
        .routes(routes!(definitions::version))
        .merge(resources::routes::<Pipelines>(&[List, Versions, Share]))
        .routes(routes!(metrics::create))
        .routes(routes!(metrics::update, metrics::delete))
        .merge(resources::routes::<Metrics>(&[
            List, Get, Versions, Version, Share,
        ]))
        .routes(routes!(connectors::create))
        .routes(routes!(connectors::update, connectors::delete))
        .merge(resources::routes::<Connectors>(&[List, Get, Share]))
        .routes(routes!(tags))
}

/// Lists the values of a tag key on the pipelines, metrics or connectors visible in the group
/// in context.
#[utoipa::path(
    get, path = "/tags/{key}", tag = "pipelines",
    params(
        ("key" = String, Path, description = "Tag key"),
        ("resourceType" = String, Query, description = "`pipeline`, `metric` or `connector`"),
        ("parentValue" = Option<String>, Query, description = "List the values one level below this one"),
        ("fromValue" = Option<String>, Query, description = "Start after this value"),
        ("count" = Option<usize>, Query, description = "Page size"),
    ),
    responses((status = 200, body = TagValueList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn tags(
    caller: Caller,
    Path(key): Path<String>,
    query: Query,
) -> ApiResult<Json<TagValueList>> {
    let kind: ResourceKind = match query.get("resourceType") {
        Some("pipeline") => Pipelines::KIND,
        Some("metric") => Metrics::KIND,
        Some("connector") => Connectors::KIND,
        Some(_) => {
            return Err(ApiError::Validation(
                "querystring/resourceType must be equal to one of the allowed values: pipeline, metric, connector".into(),
            ));
        }
        None => {
            return Err(ApiError::Validation(
                "querystring must have required property 'resourceType'".into(),
            ));
        }
    };
    tag_values(&caller, kind, &key, &query).await
}
