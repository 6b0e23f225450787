//! Groups: hierarchical, lower-case paths (`/`, `/usa`, `/usa/northwest`) that scope every
//! resource, and the per-group configuration that children inherit.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::{ParseError, TagMap, Timestamp};

/// The longest group id SIF accepted: Cognito's group-name limit of 128 characters minus the
/// `|||contributor` role suffix.
pub const MAX_GROUP_ID_LEN: usize = 114;

/// A group id: `/` or `/segment(/segment)*`, every segment `[a-z0-9-]+`, at most
/// [`MAX_GROUP_ID_LEN`] characters. Parsing lower-cases, as SIF compares group ids in lower case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupPath(String);

impl GroupPath {
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let id = input.trim().to_lowercase();
        let invalid = |why: &str| ParseError::new(format!("Invalid group id '{input}': {why}."));
        if !id.starts_with('/') {
            return Err(invalid("a group id starts with '/'"));
        }
        if id.len() > MAX_GROUP_ID_LEN {
            return Err(invalid(&format!(
                "a group id has at most {MAX_GROUP_ID_LEN} characters"
            )));
        }
        if id != "/" {
            for segment in id[1..].split('/') {
                if segment.is_empty() {
                    return Err(invalid("empty path segment"));
                }
                if !segment.bytes().all(is_name_byte) {
                    return Err(invalid("segments may contain only letters, digits and '-'"));
                }
            }
        }
        Ok(Self(id))
    }

    /// The id of the child named `name`; fails when the id would exceed [`MAX_GROUP_ID_LEN`].
    pub fn child(&self, name: &GroupName) -> Result<Self, ParseError> {
        let lower = name.as_str().to_lowercase();
        let id = if self.is_root() {
            format!("/{lower}")
        } else {
            format!("{}/{lower}", self.0)
        };
        if id.len() > MAX_GROUP_ID_LEN {
            return Err(ParseError::new(format!(
                "Group id '{id}' is too long: a group id has at most {MAX_GROUP_ID_LEN} characters."
            )));
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    pub fn parent(&self) -> Option<Self> {
        if self.is_root() {
            return None;
        }
        let cut = self.0.rfind('/').unwrap_or(0);
        Some(if cut == 0 {
            Self::root()
        } else {
            Self(self.0[..cut].to_owned())
        })
    }

    /// True when `self` is `other` or one of its ancestors.
    pub fn contains(&self, other: &GroupPath) -> bool {
        self.is_root()
            || other.0 == self.0
            || (other.0.starts_with(&self.0) && other.0.as_bytes()[self.0.len()] == b'/')
    }

    /// True when `other` is an immediate child of `self`.
    pub fn is_parent_of(&self, other: &GroupPath) -> bool {
        other.parent().as_ref() == Some(self)
    }

    /// The root, every ancestor and `self`, outermost first.
    pub fn lineage(&self) -> Vec<GroupPath> {
        let mut line = vec![Self::root()];
        if !self.is_root() {
            for (at, _) in self.0.match_indices('/').skip(1) {
                line.push(Self(self.0[..at].to_owned()));
            }
            line.push(self.clone());
        }
        line
    }

    /// Bounds `(low, high)`, both exclusive, of the ids of all descendants in byte order: every
    /// descendant id starts with `self` + `/`, and `'0'` is the byte after `'/'`.
    pub fn descendant_bounds(&self) -> (String, String) {
        if self.is_root() {
            ("/".to_owned(), "0".to_owned())
        } else {
            (format!("{}/", self.0), format!("{}0", self.0))
        }
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-'
}

impl fmt::Display for GroupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for GroupPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for GroupPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The name a group is created with: letters, digits and `-`, case kept as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.is_empty() || !input.bytes().all(is_name_byte) {
            return Err(ParseError::new(format!(
                "Invalid group name '{input}': a group name is one or more letters, digits or '-'."
            )));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupState {
    Active,
    Disabled,
}

impl GroupState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            other => Err(ParseError::new(format!("Unknown group state '{other}'."))),
        }
    }
}

/// A group as stored. `configuration` is the group's own delta over its ancestors' merged
/// configuration; [`GroupConfiguration::merge`] folds a lineage into what a group sees.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: GroupPath,
    pub name: String,
    pub description: Option<String>,
    pub state: GroupState,
    pub tags: TagMap,
    pub configuration: GroupConfiguration,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_by: Option<String>,
    pub updated_at: Option<Timestamp>,
}

/// Application settings a group passes down to its sub-groups. Unknown fields are dropped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_datasets: Option<ReferenceDatasetsConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_processor: Option<PipelineProcessorConfiguration>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceDatasetsConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_use_latest: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineProcessorConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_metric_aggregations: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub chunk_size: Option<ChunkSize>,
}

/// How many chunks a pipeline execution is split into: 1 to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u8")]
pub struct ChunkSize(u8);

impl TryFrom<u64> for ChunkSize {
    type Error = ParseError;
    fn try_from(value: u64) -> Result<Self, ParseError> {
        match u8::try_from(value) {
            Ok(size @ 1..=5) => Ok(Self(size)),
            _ => Err(ParseError::new(format!(
                "chunkSize must be between 1 and 5, not {value}"
            ))),
        }
    }
}

impl From<ChunkSize> for u8 {
    fn from(size: ChunkSize) -> u8 {
        size.0
    }
}

/// The value set in `overlay`, else the one in `base`.
fn overlay<T: Clone>(base: &Option<T>, overlay: &Option<T>) -> Option<T> {
    overlay.clone().or_else(|| base.clone())
}

/// The value of `wanted` when it differs from what is inherited anyway.
fn delta<T: Clone + PartialEq>(inherited: &Option<T>, wanted: &Option<T>) -> Option<T> {
    wanted
        .clone()
        .filter(|value| inherited.as_ref() != Some(value))
}

impl GroupConfiguration {
    /// The configuration the root group is seeded with.
    pub fn root_defaults() -> Self {
        Self {
            preferred_group: Some("/".to_owned()),
            reference_datasets: Some(ReferenceDatasetsConfiguration {
                always_use_latest: Some(true),
            }),
            pipeline_processor: Some(PipelineProcessorConfiguration {
                trigger_metric_aggregations: None,
                chunk_size: Some(ChunkSize(1)),
            }),
        }
    }

    /// `self` with every field that `top` sets replaced (a deep merge).
    pub fn merged_with(&self, top: &GroupConfiguration) -> GroupConfiguration {
        let datasets = match (&self.reference_datasets, &top.reference_datasets) {
            (Some(base), Some(over)) => Some(ReferenceDatasetsConfiguration {
                always_use_latest: overlay(&base.always_use_latest, &over.always_use_latest),
            }),
            (base, over) => overlay(base, over),
        };
        let processor = match (&self.pipeline_processor, &top.pipeline_processor) {
            (Some(base), Some(over)) => Some(PipelineProcessorConfiguration {
                trigger_metric_aggregations: overlay(
                    &base.trigger_metric_aggregations,
                    &over.trigger_metric_aggregations,
                ),
                chunk_size: overlay(&base.chunk_size, &over.chunk_size),
            }),
            (base, over) => overlay(base, over),
        };
        GroupConfiguration {
            preferred_group: overlay(&self.preferred_group, &top.preferred_group),
            reference_datasets: datasets,
            pipeline_processor: processor,
        }
    }

    /// Folds the stored deltas of a lineage (outermost first) into the effective configuration.
    pub fn merge<'a>(
        lineage: impl IntoIterator<Item = &'a GroupConfiguration>,
    ) -> GroupConfiguration {
        lineage
            .into_iter()
            .fold(GroupConfiguration::default(), |merged, delta| {
                merged.merged_with(delta)
            })
    }

    /// The part of `wanted` that differs from `inherited`: what a group stores so that later
    /// changes of its ancestors still reach the settings it did not override.
    pub fn delta_over(
        inherited: &GroupConfiguration,
        wanted: &GroupConfiguration,
    ) -> GroupConfiguration {
        let empty_datasets = ReferenceDatasetsConfiguration::default();
        let empty_processor = PipelineProcessorConfiguration::default();
        let datasets = wanted.reference_datasets.as_ref().map(|want| {
            let have = inherited
                .reference_datasets
                .as_ref()
                .unwrap_or(&empty_datasets);
            ReferenceDatasetsConfiguration {
                always_use_latest: delta(&have.always_use_latest, &want.always_use_latest),
            }
        });
        let processor = wanted.pipeline_processor.as_ref().map(|want| {
            let have = inherited
                .pipeline_processor
                .as_ref()
                .unwrap_or(&empty_processor);
            PipelineProcessorConfiguration {
                trigger_metric_aggregations: delta(
                    &have.trigger_metric_aggregations,
                    &want.trigger_metric_aggregations,
                ),
                chunk_size: delta(&have.chunk_size, &want.chunk_size),
            }
        });
        GroupConfiguration {
            preferred_group: delta(&inherited.preferred_group, &wanted.preferred_group),
            reference_datasets: datasets.filter(|d| *d != empty_datasets),
            pipeline_processor: processor.filter(|p| *p != empty_processor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> GroupPath {
        GroupPath::parse(s).expect("valid path")
    }

    #[test]
    fn parses_and_lower_cases() {
        assert_eq!(path("/USA/NorthWest").as_str(), "/usa/northwest");
        assert_eq!(path("/").as_str(), "/");
        for bad in ["", "usa", "/usa/", "//usa", "/us a", "/usa//x", "/a_b"] {
            assert!(GroupPath::parse(bad).is_err(), "{bad:?} must not parse");
        }
        let long = format!("/{}", "a".repeat(MAX_GROUP_ID_LEN));
        assert!(GroupPath::parse(&long).is_err());
    }

    #[test]
    fn hierarchy() {
        let a = path("/a");
        let ab = path("/a/b");
        assert_eq!(ab.parent(), Some(a.clone()));
        assert_eq!(a.parent(), Some(GroupPath::root()));
        assert_eq!(GroupPath::root().parent(), None);
        assert!(a.contains(&ab) && a.contains(&a) && GroupPath::root().contains(&a));
        assert!(!ab.contains(&a));
        assert!(
            !path("/a").contains(&path("/ab")),
            "a prefix of the text is not an ancestor"
        );
        assert!(a.is_parent_of(&ab) && !GroupPath::root().is_parent_of(&ab));
        assert_eq!(
            path("/a/b/c").lineage(),
            vec![GroupPath::root(), a, ab, path("/a/b/c")]
        );
        assert_eq!(GroupPath::root().lineage(), vec![GroupPath::root()]);
    }

    #[test]
    fn descendant_bounds_select_exactly_the_descendants() {
        let (low, high) = path("/a").descendant_bounds();
        let inside = |id: &str| id > low.as_str() && id < high.as_str();
        assert!(inside("/a/b") && inside("/a/b/c") && inside("/a/z-9"));
        assert!(!inside("/a") && !inside("/ab") && !inside("/a-b") && !inside("/b"));
        let (low, high) = GroupPath::root().descendant_bounds();
        assert!("/a" > low.as_str() && "/zzz/y" < high.as_str() && "/" <= low.as_str());
    }

    #[test]
    fn child_ids_and_names() {
        let name = GroupName::parse("North-West1").expect("valid name");
        assert_eq!(
            GroupPath::root().child(&name).expect("fits").as_str(),
            "/north-west1"
        );
        assert_eq!(
            path("/usa").child(&name).expect("fits").as_str(),
            "/usa/north-west1"
        );
        for bad in ["", "Acme Corporation", "a/b", "é"] {
            assert!(GroupName::parse(bad).is_err(), "{bad:?} must not parse");
        }
        let long = GroupName::parse(&"a".repeat(MAX_GROUP_ID_LEN)).expect("valid name");
        assert!(GroupPath::root().child(&long).is_err());
    }

    #[test]
    fn configuration_merges_and_deltas() {
        let root = GroupConfiguration::root_defaults();
        let child: GroupConfiguration = serde_json::from_str(
            r#"{"pipelineProcessor":{"chunkSize":3},"preferredGroup":"/","extra":1}"#,
        )
        .expect("valid configuration");
        let delta = GroupConfiguration::delta_over(&root, &child);
        assert_eq!(
            serde_json::to_value(&delta).expect("serializes"),
            serde_json::json!({"pipelineProcessor":{"chunkSize":3}})
        );
        let merged = GroupConfiguration::merge([&root, &delta]);
        assert_eq!(
            serde_json::to_value(&merged).expect("serializes"),
            serde_json::json!({"preferredGroup":"/","referenceDatasets":{"alwaysUseLatest":true},"pipelineProcessor":{"chunkSize":3}})
        );
        assert!(
            serde_json::from_str::<GroupConfiguration>(r#"{"pipelineProcessor":{"chunkSize":6}}"#)
                .is_err()
        );
    }
}
