//! `/activities`: the stored activities of the group in context, their history and the audit
//! records of each version.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::{Map, Value as JsonValue};
use sifr_domain::{Action, Resource, authorize};
use sifr_engine::ValueType;
use sifr_store::{ActivityQuery, ActivityRecord};
use utoipa::ToSchema;

use super::audit_source::AuditSource;
use super::executions::Execution;
use super::values::{json_of, timestamp};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;
use crate::pipelines::{self, Pipelines};
use crate::resources::{Access, load};
use crate::state::AppState;

/// Rows per page unless `count` says otherwise.
const DEFAULT_COUNT: u64 = 100;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityList {
    #[schema(value_type = Vec<Object>)]
    activities: Vec<Map<String, JsonValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pagination: Option<JsonValue>,
}

/// Parses a date parameter: RFC 3339, `YYYY-MM-DD` or `M/D/YY(YY)` (UTC); epoch seconds.
pub(crate) fn parse_date(name: &str, text: &str) -> ApiResult<i64> {
    let bad = || {
        ApiError::Validation(format!(
            "querystring/{name} '{text}' is not a date: use ISO 8601 (2022-01-04 or 2022-01-04T00:00:00Z) or M/D/YYYY"
        ))
    };
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    let date = if let Ok(date) = text.parse::<jiff::civil::Date>() {
        date
    } else {
        let parts: Vec<&str> = text.split('/').collect();
        let [month, day, year] = parts.as_slice() else {
            return Err(bad());
        };
        let mut year: i16 = year.parse().map_err(|_| bad())?;
        if year < 100 {
            year += 2000;
        }
        jiff::civil::Date::new(
            year,
            month.parse().map_err(|_| bad())?,
            day.parse().map_err(|_| bad())?,
        )
        .map_err(|_| bad())?
    };
    jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .map(|ts| ts.as_second())
        .map_err(|_| bad())
}

/// `k:v,k2:v2` pairs.
fn attributes(text: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|pair| {
            pair.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    ApiError::Validation(format!(
                        "querystring/attributes: '{pair}' is not of the form key:value"
                    ))
                })
        })
        .collect()
}

/// The unique-key outputs of a pipeline, by key, with their slot (1..=5).
fn key_slots(pipeline: &Resource) -> BTreeMap<String, usize> {
    let mut slots = BTreeMap::new();
    let transforms = pipeline
        .body
        .get("transformer")
        .and_then(|t| t.get("transforms"))
        .and_then(JsonValue::as_array);
    for output in transforms
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("outputs").and_then(JsonValue::as_array))
        .flatten()
    {
        let key = output.get("key").and_then(JsonValue::as_str);
        let slot = output
            .get("_keyMapping")
            .and_then(JsonValue::as_str)
            .and_then(|m| m.strip_prefix("key"))
            .and_then(|n| n.parse::<usize>().ok());
        if let (Some(key), Some(slot)) = (key, slot) {
            slots.insert(key.to_owned(), slot);
        }
    }
    slots
}

/// Lists activities of a pipeline or an execution in the group in context: their latest values,
/// the versions one execution wrote (`executionId`), or every version of one activity
/// (`showHistory`).
#[utoipa::path(
    get, path = "/activities", tag = "activities",
    params(
        ("pipelineId" = Option<String>, Query, description = "The pipeline (this or executionId is required)"),
        ("executionId" = Option<String>, Query, description = "Only the versions this execution wrote"),
        ("date" = Option<String>, Query, description = "Activities of exactly this date"),
        ("dateFrom" = Option<String>, Query, description = "Activities from this date on"),
        ("dateTo" = Option<String>, Query, description = "Activities up to this date"),
        ("attributes" = Option<String>, Query, description = "Unique-key values, `key:value,key2:value2`"),
        ("showHistory" = Option<bool>, Query, description = "Every version (needs `date`)"),
        ("uniqueKeyAttributes" = Option<String>, Query, description = "With showHistory: the unique-key values"),
        ("showAggregate" = Option<bool>, Query, description = "The pipeline's aggregated activities"),
        ("count" = Option<u64>, Query, description = "Page size (100)"),
        ("fromToken" = Option<u64>, Query, description = "Rows to skip"),
    ),
    responses((status = 200, body = ActivityList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(caller: Caller, query: Query) -> ApiResult<Json<ActivityList>> {
    authorize(&caller.context, Action::ReadActivities)?;
    let selection = selection(&caller, &query).await?;
    let count = query
        .count("count")?
        .map_or(DEFAULT_COUNT, |c| c as u64)
        .max(1);
    let offset = query
        .get("fromToken")
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| ApiError::Validation("querystring/fromToken must be a number".into()))
        })
        .transpose()?
        .unwrap_or(0);
    let request = ActivityQuery {
        offset,
        limit: Some(count),
        ..selection.request
    };
    let records = caller.tenant.processor().activities(&request).await?;
    let full = records.len() as u64 == count;
    let activities = records
        .iter()
        .map(|r| row(r, &selection.types, selection.history))
        .collect::<ApiResult<Vec<_>>>()?;
    let pagination = full.then(|| serde_json::json!({ "lastEvaluatedToken": offset + count }));
    Ok(Json(ActivityList {
        activities,
        pagination,
    }))
}

/// What a query of `/activities` selects, paging aside, and how its rows are shown.
pub(crate) struct Selection {
    /// The store query, without offset or limit.
    pub(crate) request: ActivityQuery,
    /// The type of every output the pipeline has had, by key.
    pub(crate) types: BTreeMap<String, ValueType>,
    /// Every version, with each output's error columns.
    pub(crate) history: bool,
}

/// Reads the parameters of `/activities` other than `count` and `fromToken`.
pub(crate) async fn selection(caller: &Caller, query: &Query) -> ApiResult<Selection> {
    let execution = match query.get("executionId") {
        Some(id) => Some(Execution::load(caller.tenant.processor(), id).await?),
        None => None,
    };
    let pipeline_id = match (query.get("pipelineId"), &execution) {
        (Some(id), _) => id.to_owned(),
        (None, Some(execution)) => execution.pipeline_id.clone(),
        (None, None) => {
            return Err(ApiError::Validation(
                "querystring must have required property 'pipelineId' or 'executionId'".into(),
            ));
        }
    };
    let pipeline = load::<Pipelines>(caller, &pipeline_id, Access::Read).await?;
    let types = pipelines::output_types(&pipeline)?;
    let slots = key_slots(&pipeline);
    let history = query.flag("showHistory")?;
    let date = query
        .get("date")
        .map(|d| parse_date("date", d))
        .transpose()?;
    let from = query
        .get("dateFrom")
        .map(|d| parse_date("dateFrom", d))
        .transpose()?;
    let to = query
        .get("dateTo")
        .map(|d| parse_date("dateTo", d))
        .transpose()?;
    if history && date.is_none() {
        return Err(ApiError::Validation(
            "querystring/date is required with showHistory".into(),
        ));
    }
    let pairs = if history && !slots.is_empty() {
        let given = query.get("uniqueKeyAttributes");
        if given.is_none() {
            return Err(ApiError::Validation(
                "querystring/uniqueKeyAttributes is required with showHistory for a pipeline with unique keys".into(),
            ));
        }
        attributes(given)?
    } else {
        attributes(query.get("attributes"))?
    };
    let mut keys: [Option<String>; 5] = Default::default();
    for (key, value) in pairs {
        // Only unique-key outputs can be filtered on, as in SIF.
        if let Some(&slot) = slots.get(&key)
            && (1..=5).contains(&slot)
        {
            keys[slot - 1] = Some(value);
        }
    }
    let request = ActivityQuery {
        activity_id: None,
        pipeline_id: Some(pipeline.id.to_string()),
        execution_id: execution.map(|e| e.id),
        group: caller.context.group.to_string(),
        aggregated: query.flag("showAggregate")?,
        from: date.or(from),
        to: date.or(to),
        keys,
        history,
        offset: 0,
        limit: None,
    };
    Ok(Selection {
        request,
        types,
        history,
    })
}

/// One activity version as SIF shows it: identity columns, then every output the pipeline has
/// had (null when the version has no value for it).
pub(crate) fn row(
    record: &ActivityRecord,
    types: &BTreeMap<String, ValueType>,
    history: bool,
) -> ApiResult<Map<String, JsonValue>> {
    let corrupt =
        |e: serde_json::Error| ApiError::Internal(format!("activity {}: {e}", record.activity_id));
    let values: Map<String, JsonValue> = serde_json::from_str(&record.vals).map_err(corrupt)?;
    let errors: Map<String, JsonValue> = match &record.errors {
        Some(text) => serde_json::from_str(text).map_err(corrupt)?,
        None => Map::new(),
    };
    let mut out = Map::new();
    out.insert("activityId".into(), record.activity_id.into());
    out.insert("date".into(), JsonValue::String(timestamp(record.date)));
    out.insert("pipelineId".into(), record.pipeline_id.clone().into());
    out.insert("executionId".into(), record.execution_id.clone().into());
    out.insert(
        "auditId".into(),
        JsonValue::String(format!("{}-{}", record.execution_id, record.row_number)),
    );
    out.insert(
        "createdAt".into(),
        JsonValue::String(
            sifr_domain::Timestamp::from_millis(record.created_at)
                .map(|t| t.to_string())
                .unwrap_or_default(),
        ),
    );
    let mut keys: Vec<&String> = types.keys().collect();
    keys.extend(values.keys().filter(|k| !types.contains_key(*k)));
    for key in keys {
        let value = values
            .get(key)
            .and_then(JsonValue::as_str)
            .map_or(JsonValue::Null, |text| {
                json_of(types.get(key).copied(), text)
            });
        out.insert(key.clone(), value);
        if history {
            let message = errors.get(key).cloned();
            out.insert(format!("{key}__error"), message.is_some().into());
            out.insert(
                format!("{key}__errorMessage"),
                message.unwrap_or(JsonValue::Null),
            );
        }
    }
    Ok(out)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityAudit {
    status: &'static str,
    #[schema(value_type = Vec<Object>)]
    audits: Vec<JsonValue>,
}

/// The audit records of an activity: for each version, the input row, each formula's
/// evaluation and the resources used; with `versionAsAt`, only the version current then.
#[utoipa::path(
    get, path = "/activities/{id}/audits", tag = "activities",
    params(
        ("id" = i64, Path, description = "The activity id"),
        ("versionAsAt" = Option<String>, Query, description = "Only the version current at this instant"),
    ),
    responses((status = 200, body = Vec<ActivityAudit>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn audits(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Json<Vec<ActivityAudit>>> {
    authorize(&caller.context, Action::ReadActivities)?;
    let not_found = || ApiError::NotFound(format!("Activity '{id}' not found."));
    let activity_id: i64 = id.parse().map_err(|_| not_found())?;
    let as_at = query
        .get("versionAsAt")
        .map(|d| parse_date("versionAsAt", d))
        .transpose()?;
    let processor = caller.tenant.processor();
    let mut versions = Vec::new();
    for aggregated in [false, true] {
        versions.extend(
            processor
                .activities(&ActivityQuery {
                    activity_id: Some(activity_id),
                    group: caller.context.group.to_string(),
                    aggregated,
                    history: true,
                    ..ActivityQuery::default()
                })
                .await?,
        );
    }
    if versions.is_empty() {
        return Err(not_found());
    }
    if let Some(at) = as_at {
        versions.retain(|v| v.created_at <= at.saturating_mul(1000));
        versions = versions.split_off(versions.len().saturating_sub(1));
        if versions.is_empty() {
            return Err(ApiError::NotFound(format!(
                "Activity '{id}' had no version at that time."
            )));
        }
    }
    let mut out = Vec::with_capacity(versions.len());
    let mut sources: HashMap<String, AuditSource> = HashMap::new();
    for version in versions {
        let record = match processor
            .audit_block(&version.execution_id, version.row_number)
            .await?
        {
            Some(block) => {
                let source = match sources.entry(version.execution_id.clone()) {
                    Entry::Occupied(known) => known.into_mut(),
                    Entry::Vacant(new) => {
                        let execution = Execution::load(processor, new.key()).await?;
                        new.insert(AuditSource::open(&state, &caller, &execution).await?)
                    }
                };
                let row = u64::try_from(version.row_number).ok();
                find_record(&source.records(&block, row).await?, version.row_number)?
            }
            None => None,
        };
        out.push(ActivityAudit {
            status: if record.is_some() {
                "SUCCEEDED"
            } else {
                "FAILED"
            },
            audits: record.into_iter().collect(),
        });
    }
    Ok(Json(out))
}

/// The audit record of input row `row` among a block's records.
fn find_record(lines: &[u8], row: i64) -> ApiResult<Option<JsonValue>> {
    let marker = format!("\"row\":{row},");
    for line in lines.split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        if text.contains(&marker) {
            return serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| ApiError::Internal(format!("audit record: {e}")));
        }
    }
    Ok(None)
}
