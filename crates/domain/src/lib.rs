//! sifr's domain model: the values every module shares, parsed once at the edge (a `GroupPath`
//! is always a valid, lower-case group id), the access-management records, the common resource
//! model of SIF (ids, names, versions, states, tags, group membership, listing) and the permission
//! rules as pure functions. No I/O lives here.

pub mod authz;
pub mod group;
pub mod listing;
pub mod resource;
pub mod role;
pub mod tags;
pub mod tenant;
pub mod time;
pub mod user;

pub use authz::{Action, Forbidden, Memberships, SecurityContext, UserChange, authorize};
pub use group::{Group, GroupConfiguration, GroupName, GroupPath, GroupState};
pub use listing::{Cursor, ListRequest, Page, Scope};
pub use resource::{
    NewResource, Resource, ResourceChange, ResourceId, ResourceKind, ResourceState,
};
pub use role::Role;
pub use tags::{TagFilter, TagIndexEntry, TagMap, TagPatch, TagValues};
pub use tenant::TenantId;
pub use time::Timestamp;
pub use user::{Email, Password, User, UserState};

/// Why a value from outside could not be parsed; the message names the value and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
