//! The common resource model every SIF module builds on (activities, calculations, reference
//! datasets, pipelines, metrics, connectors): a lower-case ULID id, a name unique within its
//! group, immutable numbered versions, a state, tags, and the groups it was created in or granted.

use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::{GroupPath, ParseError, TagMap, TagPatch, Timestamp};

/// A resource id: a ULID (26 characters of Crockford base32, time-ordered), lower-cased as SIF
/// wrote them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId(String);

/// One process-wide generator, so ids created in the same millisecond still sort in creation
/// order, which listings rely on.
static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

impl ResourceId {
    pub fn generate() -> Self {
        let mut generator = GENERATOR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // The monotonic generator only fails when 2^80 ids were made within one millisecond;
        // a fresh random ULID is then still unique, merely out of order.
        let id = generator
            .generate()
            .unwrap_or_else(|_| ulid::Ulid::generate());
        Self(id.to_string().to_lowercase())
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        ulid::Ulid::from_string(input)
            .map(|id| Self(id.to_string().to_lowercase()))
            .map_err(|_| ParseError::new(format!("'{input}' is not a valid resource id")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Which module's resources a record belongs to (`calculation`, `pipeline`, …). Kinds share the
/// storage tables; ids, names and memberships never cross kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceKind(&'static str);

impl ResourceKind {
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// `enabled`: usable. `disabled`: existing users may keep using it, new ones may not.
/// `frozen`: no version is usable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceState {
    #[default]
    Enabled,
    Disabled,
    Frozen,
}

impl ResourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Frozen => "frozen",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input {
            "enabled" => Ok(Self::Enabled),
            "disabled" => Ok(Self::Disabled),
            "frozen" => Ok(Self::Frozen),
            other => Err(ParseError::new(format!("Unknown state '{other}'."))),
        }
    }
}

/// One version of a resource. Versions are immutable: every change writes version + 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub id: ResourceId,
    pub version: u32,
    pub name: Option<String>,
    pub state: ResourceState,
    /// The groups the resource was created in (first) or granted to.
    pub groups: Vec<GroupPath>,
    pub tags: TagMap,
    /// The module's own fields, as JSON.
    pub body: serde_json::Map<String, serde_json::Value>,
    /// When this version takes effect; `None` means at `updated_at`, else `created_at`.
    pub active_at: Option<Timestamp>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_by: Option<String>,
    pub updated_at: Option<Timestamp>,
}

impl Resource {
    /// The group that owns the resource: the group in context when it was created.
    pub fn owner(&self) -> Option<&GroupPath> {
        self.groups.first()
    }

    /// When this version became (or becomes) the active one.
    pub fn activation(&self) -> Timestamp {
        self.active_at
            .or(self.updated_at)
            .unwrap_or(self.created_at)
    }

    /// An older version as SIF returns it: a latest state of `disabled` or `frozen` applies to
    /// every version, since it withdraws the resource as a whole.
    pub fn seen_under(mut self, latest: ResourceState) -> Resource {
        if latest != ResourceState::Enabled {
            self.state = latest;
        }
        self
    }
}

/// What a new resource is created with; the store adds id, version 1 and the audit fields.
#[derive(Clone, Debug, PartialEq)]
pub struct NewResource {
    pub kind: ResourceKind,
    pub name: Option<String>,
    pub group: GroupPath,
    pub state: ResourceState,
    pub tags: TagMap,
    pub body: serde_json::Map<String, serde_json::Value>,
    pub active_at: Option<Timestamp>,
    pub created_by: String,
}

/// A change that writes a new version. Fields left `None` keep their current value; `tags` is
/// merged into the current tags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceChange {
    pub state: Option<ResourceState>,
    pub tags: Option<TagPatch>,
    pub body: Option<serde_json::Map<String, serde_json::Value>>,
    /// `Some(None)` clears the activation time: the new version activates when written.
    pub active_at: Option<Option<Timestamp>>,
}

impl ResourceChange {
    /// The next version of `current` with this change applied, written by `by` at `at`.
    pub fn apply(&self, current: &Resource, by: &str, at: Timestamp) -> Resource {
        Resource {
            id: current.id.clone(),
            version: current.version + 1,
            name: current.name.clone(),
            state: self.state.unwrap_or(current.state),
            groups: current.groups.clone(),
            tags: {
                let mut tags = current.tags.clone();
                if let Some(patch) = &self.tags {
                    tags.apply(patch);
                }
                tags
            },
            body: self.body.clone().unwrap_or_else(|| current.body.clone()),
            active_at: self.active_at.unwrap_or(None),
            created_by: current.created_by.clone(),
            created_at: current.created_at,
            updated_by: Some(by.to_owned()),
            updated_at: Some(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lower_case_and_ordered() {
        let ids: Vec<ResourceId> = (0..1000).map(|_| ResourceId::generate()).collect();
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "ids sort in creation order"
        );
        let first = &ids[0];
        assert_eq!(first.as_str().len(), 26);
        assert_eq!(first.as_str(), first.as_str().to_lowercase());
        assert_eq!(
            ResourceId::parse(&first.as_str().to_uppercase()).expect("valid"),
            *first
        );
        assert!(ResourceId::parse("not-an-id").is_err());
    }

    #[test]
    fn versions_and_states() {
        let v1 = Resource {
            id: ResourceId::generate(),
            version: 1,
            name: Some("n".into()),
            state: ResourceState::Enabled,
            groups: vec![GroupPath::root()],
            tags: TagMap::default(),
            body: serde_json::Map::new(),
            active_at: Some(Timestamp::from_millis(5).expect("valid")),
            created_by: "a@x.com".into(),
            created_at: Timestamp::from_millis(1).expect("valid"),
            updated_by: None,
            updated_at: None,
        };
        assert_eq!(v1.activation(), Timestamp::from_millis(5).expect("valid"));
        let at = Timestamp::from_millis(9).expect("valid");
        let change = ResourceChange {
            state: Some(ResourceState::Frozen),
            ..ResourceChange::default()
        };
        let v2 = change.apply(&v1, "b@x.com", at);
        assert_eq!(
            (v2.version, v2.state, v2.active_at, v2.activation()),
            (2, ResourceState::Frozen, None, at)
        );
        assert_eq!(v1.clone().seen_under(v2.state).state, ResourceState::Frozen);
        assert_eq!(
            v1.clone().seen_under(ResourceState::Enabled).state,
            ResourceState::Enabled
        );
    }
}
