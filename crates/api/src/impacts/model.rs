//! Activities as stored and as requests carry them. Impact and component map keys are lower-cased
//! on write; component values are JSON numbers kept as written (never through `f64`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use sifr_domain::{ResourceState, TagPatch, Timestamp};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::describe;
use crate::resources::Common;

/// The activity's own fields, as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    /// Lower-cased impact key → impact.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub impacts: BTreeMap<String, Impact>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    /// Lower-cased component key → component.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, Component>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub key: String,
    /// Kept exactly as written.
    #[schema(value_type = f64)]
    pub value: Number,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An activity as responses show it.
#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    #[serde(flatten)]
    pub common: Common,
    #[serde(flatten)]
    pub body: ActivityBody,
}

/// The body of `POST /activities`, `PATCH /activities/{id}` and of each item of an activity
/// task. Every field is optional here; each operation checks what it requires.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRequest {
    /// Required on create; not changeable.
    pub name: Option<String>,
    /// Identifies the activity in `update` tasks.
    pub id: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    /// Ignored on create: activities start `enabled`.
    pub state: Option<ResourceState>,
    pub impacts: Option<BTreeMap<String, ImpactRequest>>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    pub tags: Option<TagPatch>,
    /// RFC 3339 date-time at which this version takes effect.
    pub active_at: Option<String>,
}

/// An impact in a request; merged into the stored one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImpactRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<BTreeMap<String, ComponentRequest>>,
}

/// A component in a request; merged into the stored one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub value: Option<Number>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ImpactRequest {
    /// The impact as a JSON patch, its component keys lower-cased.
    pub fn patch(&self) -> Value {
        let mut value = to_value(self);
        if let Some(components) = value.get_mut("components") {
            lower_keys(components);
        }
        value
    }
}

impl ComponentRequest {
    pub fn patch(&self) -> Value {
        to_value(self)
    }
}

impl ActivityRequest {
    /// The activity's fields as a JSON patch: impact and component keys lower-cased.
    pub fn patch(&self) -> Value {
        let mut patch = Map::new();
        if let Some(description) = &self.description {
            patch.insert("description".into(), Value::String(description.clone()));
        }
        if let Some(attributes) = &self.attributes {
            patch.insert("attributes".into(), Value::Object(attributes.clone()));
        }
        if let Some(impacts) = &self.impacts {
            let impacts = impacts
                .iter()
                .map(|(key, impact)| (key.to_lowercase(), impact.patch()))
                .collect();
            patch.insert("impacts".into(), Value::Object(impacts));
        }
        Value::Object(patch)
    }

    /// `activeAt`, checked as a date-time.
    pub fn active_at(&self, at: &str) -> ApiResult<Option<Timestamp>> {
        self.active_at
            .as_deref()
            .map(|raw| {
                Timestamp::parse(raw).map_err(|_| {
                    ApiError::Validation(format!("{at}/activeAt must match format \"date-time\""))
                })
            })
            .transpose()
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    // The request types serialize to plain JSON objects; nothing here can fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn lower_keys(map: &mut Value) {
    if let Value::Object(entries) = map {
        *entries = std::mem::take(entries)
            .into_iter()
            .map(|(key, value)| (key.to_lowercase(), value))
            .collect();
    }
}

/// Deep merge as SIF's updates do it: objects merge key by key, anything else replaces.
pub fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

/// Reads a merged document as a complete activity body, naming the first missing or mistyped
/// field under `at` (`body`, `body/activities/3`).
pub fn complete(document: Value, at: &str) -> ApiResult<ActivityBody> {
    serde_path_to_error::deserialize(document).map_err(|error| match describe(error) {
        // `describe` roots its paths at `body`.
        ApiError::Validation(message) => match message.strip_prefix("body") {
            Some(rest) => ApiError::Validation(format!("{at}{rest}")),
            None => ApiError::Validation(message),
        },
        other => other,
    })
}
