//! `/metrics`: a metric's (KPI's) values in the group in context, or in each of its immediate
//! sub-groups, per day, week, month, quarter or year.

use axum::Json;
use serde::Serialize;
use serde_json::{Number, Value as JsonValue};
use sifr_domain::{Action, Timestamp, authorize};
use sifr_engine::metrics::civil_date;
use sifr_store::{MetricScope, MetricValueRecord};
use utoipa::ToSchema;

use super::activities::parse_date;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;
use crate::pipelines;

/// Rows returned at most, as SIF.
const LIMIT: usize = 100;

const DAY: i64 = 86_400;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetricValue {
    metric_id: String,
    name: String,
    group_id: String,
    date: String,
    time_unit: String,
    version: JsonValue,
    created_at: String,
    #[schema(value_type = Option<f64>)]
    group_value: JsonValue,
    #[schema(value_type = Option<f64>)]
    sub_groups_value: JsonValue,
    #[schema(value_type = Option<f64>)]
    hierarchy_value: JsonValue,
    day: i16,
    month: i8,
    year: i16,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MetricValueList {
    metrics: Vec<MetricValue>,
}

/// The time unit's stored code, from its name.
fn unit_code(name: &str) -> ApiResult<&'static str> {
    Ok(match name {
        "day" => "d",
        "week" => "w",
        "month" => "m",
        "quarter" => "q",
        "year" => "y",
        _ => {
            return Err(ApiError::Validation(
                "querystring/timeUnit must be equal to one of the allowed values: day, week, month, quarter, year".into(),
            ));
        }
    })
}

fn number(text: &str) -> JsonValue {
    text.parse::<Number>()
        .map_or(JsonValue::Null, JsonValue::Number)
}

/// Reads a metric's values over a date range: `groupValue` from the group's own activities,
/// `subGroupsValue` from everything below it, `hierarchyValue` their sum.
#[utoipa::path(
    get, path = "/metrics", tag = "metrics",
    params(
        ("name" = String, Query, description = "The metric"),
        ("timeUnit" = String, Query, description = "day, week, month, quarter or year"),
        ("dateFrom" = Option<String>, Query, description = "First period (a missing bound is now)"),
        ("dateTo" = Option<String>, Query, description = "Last period"),
        ("members" = Option<bool>, Query, description = "The immediate sub-groups' values instead of the group's"),
        ("version" = Option<String>, Query, description = "Echoed"),
    ),
    responses((status = 200, body = MetricValueList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(caller: Caller, query: Query) -> ApiResult<Json<MetricValueList>> {
    authorize(&caller.context, Action::ReadActivities)?;
    let selection = selection(&caller, &query).await?;
    let records = caller
        .tenant
        .processor()
        .metric_values(
            &selection.name,
            selection.unit,
            &selection.scope,
            selection.from,
            selection.to,
        )
        .await?;
    let metrics = records
        .into_iter()
        .filter_map(|r| value(r, &selection.metric_id, &selection.version))
        .take(LIMIT)
        .collect();
    Ok(Json(MetricValueList { metrics }))
}

/// What a query of `/metrics` selects.
pub(crate) struct Selection {
    /// The metric's (KPI definition's) id.
    pub(crate) metric_id: String,
    /// The name its values are stored under.
    pub(crate) name: String,
    /// The stored time-unit code.
    pub(crate) unit: &'static str,
    pub(crate) scope: MetricScope,
    /// Inclusive range of period starts, days since 1970-01-01.
    pub(crate) from: i64,
    pub(crate) to: i64,
    /// What `version` shows.
    pub(crate) version: JsonValue,
}

/// Reads the parameters of `/metrics`.
pub(crate) async fn selection(caller: &Caller, query: &Query) -> ApiResult<Selection> {
    let name = query.get("name").ok_or_else(|| {
        ApiError::Validation("querystring must have required property 'name'".into())
    })?;
    let unit = unit_code(query.get("timeUnit").ok_or_else(|| {
        ApiError::Validation("querystring must have required property 'timeUnit'".into())
    })?)?;
    let (from, to) = match (query.get("dateFrom"), query.get("dateTo")) {
        (None, None) => {
            return Err(ApiError::Validation(
                "querystring must have property 'dateFrom' or 'dateTo'".into(),
            ));
        }
        (from, to) => {
            let now = Timestamp::now().as_seconds();
            let from = from.map(|d| parse_date("dateFrom", d)).transpose()?;
            let to = to.map(|d| parse_date("dateTo", d)).transpose()?;
            (from.unwrap_or(now), to.unwrap_or(now))
        }
    };
    let metric = pipelines::metric_named(caller, name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Metric '{name}' not found.")))?;
    let group = caller.context.group.to_string();
    let scope = if query.flag("members")? {
        MetricScope::ChildrenOf(group)
    } else {
        MetricScope::Group(group)
    };
    let version = query
        .get("version")
        .map_or(JsonValue::String("latest".into()), |v| {
            v.parse::<u64>()
                .map_or_else(|_| JsonValue::String(v.to_owned()), JsonValue::from)
        });
    Ok(Selection {
        metric_id: metric.id.to_string(),
        name: metric.name.clone().unwrap_or_default(),
        unit,
        scope,
        from: from.div_euclid(DAY),
        to: to.div_euclid(DAY),
        version,
    })
}

/// A stored value as the API shows it; `None` for a date out of range.
pub(crate) fn value(
    record: MetricValueRecord,
    id: &str,
    version: &JsonValue,
) -> Option<MetricValue> {
    let date = civil_date(record.date)?;
    let group = number(&record.group_value);
    let sub_groups = number(&record.sub_groups_value);
    let hierarchy = match (
        sifr_engine::Fixed::parse(&record.group_value),
        sifr_engine::Fixed::parse(&record.sub_groups_value),
    ) {
        (Some(a), Some(b)) => a
            .checked_add(b)
            .map_or(JsonValue::Null, |sum| number(&sum.to_string())),
        _ => JsonValue::Null,
    };
    let unit = match record.time_unit.as_str() {
        "d" => "day",
        "w" => "week",
        "m" => "month",
        "q" => "quarter",
        _ => "year",
    };
    Some(MetricValue {
        metric_id: id.to_owned(),
        name: record.name,
        group_id: record.group_id,
        date: format!("{date}T00:00:00.000Z"),
        time_unit: unit.to_owned(),
        version: version.clone(),
        created_at: record.created_at,
        group_value: group,
        sub_groups_value: sub_groups,
        hierarchy_value: hierarchy,
        day: date.day_of_year(),
        month: date.month(),
        year: date.year(),
    })
}
