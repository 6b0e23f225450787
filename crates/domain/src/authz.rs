//! Authorization: who may do what, in one place. Every handler describes what it is about to do
//! as an [`Action`] and asks [`authorize`]; the table of SIF's permission rules lives only here.

use crate::{GroupPath, Role, User};

/// The separator between group and role in SIF's `cognito:groups` claim entries.
pub const CLAIM_SEPARATOR: &str = "|||";

/// The roles a caller holds, one per group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memberships(Vec<(GroupPath, Role)>);

impl Memberships {
    pub fn new(entries: impl IntoIterator<Item = (GroupPath, Role)>) -> Self {
        let mut entries: Vec<_> = entries.into_iter().collect();
        // Deepest first, so the most specific membership decides (admin at /a and reader at
        // /a/b make the caller a reader at /a/b/c).
        entries.sort_by(|a, b| b.0.cmp(&a.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        Self(entries)
    }

    /// Parses `cognito:groups` entries (`"/usa|||admin"`); entries not of that form are ignored.
    pub fn from_claims<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        Self::new(entries.into_iter().filter_map(|entry| {
            let (group, role) = entry.trim().split_once(CLAIM_SEPARATOR)?;
            Some((GroupPath::parse(group).ok()?, Role::parse(role).ok()?))
        }))
    }

    pub fn to_claims(&self) -> Vec<String> {
        let mut claims: Vec<String> = self
            .0
            .iter()
            .map(|(group, role)| format!("{group}{CLAIM_SEPARATOR}{role}"))
            .collect();
        claims.sort();
        claims
    }

    /// The role that applies in `group`: that of the deepest membership at or above it.
    pub fn role_in(&self, group: &GroupPath) -> Option<Role> {
        self.0
            .iter()
            .find(|(granted, _)| granted.contains(group))
            .map(|(_, role)| *role)
    }

    pub fn groups(&self) -> impl Iterator<Item = &GroupPath> {
        self.0.iter().map(|(group, _)| group)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Who is calling and in which group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityContext {
    /// The caller's email (or the subject of a machine token).
    pub caller: String,
    /// The group in context.
    pub group: GroupPath,
    pub memberships: Memberships,
    /// The group another tenant shared, when the caller reads that tenant's data: resources
    /// owned only by groups outside its subtree are invisible, ancestors' included.
    pub floor: Option<GroupPath>,
}

/// Which parts of a user a `PATCH /users/{email}` changes, as far as permissions differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserChange {
    pub password: bool,
    pub state: bool,
}

/// Everything a caller can attempt, with the data the rule for it needs.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    CreateGroup,
    ReadGroup(&'a GroupPath),
    ListGroups,
    UpdateGroup(&'a GroupPath),
    DeleteGroup(&'a GroupPath),
    /// `POST /users`; `existing` is the user when already known.
    GrantUser {
        existing: Option<&'a User>,
    },
    /// `GET /users/{email}`; `None` when no such user exists.
    ReadUser(Option<&'a User>),
    ListUsers,
    UpdateUser {
        user: &'a User,
        change: UserChange,
    },
    RevokeUser,
    ListTags,
    /// Read what the pipeline processor stored in the group in context: activities, metric
    /// values, audit records.
    ReadActivities,
    CreateResource,
    /// Get, list versions and read data of one resource, given the groups it belongs to.
    ReadResource(&'a [GroupPath]),
    UpdateResource(&'a [GroupPath]),
    DeleteResource(&'a [GroupPath]),
    /// Grant a resource to, or revoke it from, `target`.
    ShareResource {
        groups: &'a [GroupPath],
        target: &'a GroupPath,
    },
}

/// A refusal, with the reason a client can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Forbidden(pub String);

/// Decides whether `context` may perform `action` (SIF's permission matrix, spec §2.4).
pub fn authorize(context: &SecurityContext, action: Action<'_>) -> Result<(), Forbidden> {
    context.require_known_context()?;
    let ctx = &context.group;
    match action {
        Action::CreateGroup | Action::RevokeUser => context.require(Role::Admin, ctx),
        Action::ListGroups | Action::ListUsers | Action::ListTags | Action::ReadActivities => {
            context.require(Role::Reader, ctx)
        }
        Action::ReadGroup(target) => {
            context.require_near(target)?;
            context.require(Role::Reader, target)
        }
        Action::UpdateGroup(target) => {
            context.require_near(target)?;
            context.require(Role::Admin, target)
        }
        Action::DeleteGroup(target) => {
            context.require_near(target)?;
            context.require(Role::Admin, ctx)?;
            context.require(Role::Admin, target)
        }
        Action::GrantUser { existing } => {
            context.require(Role::Admin, ctx)?;
            match existing {
                Some(user)
                    if !user
                        .groups
                        .keys()
                        .any(|g| context.memberships.role_in(g) == Some(Role::Admin)) =>
                {
                    Err(Forbidden(format!(
                        "The caller must be an admin of at least one of the groups of existing user '{}'.",
                        user.email
                    )))
                }
                _ => Ok(()),
            }
        }
        Action::ReadUser(user) => {
            context.require(Role::Reader, ctx)?;
            let root_admin = context.memberships.role_in(&GroupPath::root()) == Some(Role::Admin);
            match user {
                Some(user) if !root_admin && !user.groups.keys().any(|g| g.contains(ctx)) => {
                    Err(Forbidden(format!(
                        "User '{}' is not a member of group '{ctx}' or of its ancestors.",
                        user.email
                    )))
                }
                _ => Ok(()),
            }
        }
        Action::UpdateUser { user, change } => {
            authorize(context, Action::ReadUser(Some(user)))?;
            let is_self = context.caller.eq_ignore_ascii_case(user.email.as_str());
            if change.password && !is_self {
                return Err(Forbidden(
                    "User's may only update their own password.".into(),
                ));
            }
            if change.state {
                if is_self {
                    return Err(Forbidden(
                        "User's may only update the state of other user.".into(),
                    ));
                }
                for group in user.groups.keys() {
                    context.require(Role::Admin, group)?;
                }
            }
            Ok(())
        }
        Action::CreateResource => context.require(Role::Contributor, ctx),
        Action::ReadResource(groups) => {
            context.require(Role::Reader, ctx)?;
            context.require_visible(groups)
        }
        Action::UpdateResource(groups) => {
            context.require(Role::Contributor, ctx)?;
            context.require_visible(groups)
        }
        Action::DeleteResource(groups) => {
            context.require(Role::Admin, ctx)?;
            context.require_visible(groups)
        }
        Action::ShareResource { groups, target } => {
            context.require(Role::Admin, ctx)?;
            context.require(Role::Admin, target)?;
            context.require_visible(groups)
        }
    }
}

impl SecurityContext {
    /// Whether `group` lies within the visibility floor (always, without one).
    pub fn within_floor(&self, group: &GroupPath) -> bool {
        self.floor
            .as_ref()
            .is_none_or(|floor| floor.contains(group))
    }

    /// Whether a resource owned by or granted to `groups` may be seen at all: one of its groups
    /// lies within the visibility floor.
    pub fn may_see(&self, groups: &[GroupPath]) -> bool {
        groups.iter().any(|group| self.within_floor(group))
    }

    /// The groups whose resources `group` sees, outermost first: itself and its ancestors, those
    /// within the visibility floor.
    pub fn lineage_of(&self, group: &GroupPath) -> Vec<GroupPath> {
        let mut line = group.lineage();
        line.retain(|group| self.within_floor(group));
        line
    }

    fn require(&self, role: Role, group: &GroupPath) -> Result<(), Forbidden> {
        match self.memberships.role_in(group) {
            Some(held) if held >= role => Ok(()),
            Some(held) => Err(Forbidden(format!(
                "The caller is {held} in group '{group}'; this needs the {role} role or higher."
            ))),
            None => Err(Forbidden(format!(
                "The caller has no role in group '{group}'."
            ))),
        }
    }

    /// SIF's sanity check: the group in context lies under the parent of one of the caller's
    /// groups. The role checks are the real gate; this one only words the common mistake.
    fn require_known_context(&self) -> Result<(), Forbidden> {
        let near = self.memberships.groups().any(|granted| {
            granted
                .parent()
                .unwrap_or_else(GroupPath::root)
                .contains(&self.group)
        });
        if near {
            Ok(())
        } else {
            Err(Forbidden(
                "groupContextId is not a child of the users assigned groups".into(),
            ))
        }
    }

    /// Groups are managed from their own context or their parent's.
    fn require_near(&self, target: &GroupPath) -> Result<(), Forbidden> {
        if *target == self.group || self.group.is_parent_of(target) {
            Ok(())
        } else {
            Err(Forbidden(format!(
                "Group '{target}' is neither the group in context '{}' nor one of its immediate children.",
                self.group
            )))
        }
    }

    /// A resource is visible in the group in context when one of its groups is that group or an
    /// ancestor of it within the visibility floor: child groups see their ancestors' resources,
    /// parents and siblings do not.
    fn require_visible(&self, groups: &[GroupPath]) -> Result<(), Forbidden> {
        if groups
            .iter()
            .any(|group| group.contains(&self.group) && self.within_floor(group))
        {
            Ok(())
        } else {
            Err(Forbidden(format!(
                "The resource is not accessible from group '{}'.",
                self.group
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{Email, TagMap, Timestamp, UserState};

    fn path(s: &str) -> GroupPath {
        GroupPath::parse(s).expect("valid path")
    }

    fn context(caller: &str, group: &str, claims: &[&str]) -> SecurityContext {
        SecurityContext {
            caller: caller.into(),
            group: path(group),
            memberships: Memberships::from_claims(claims.iter().copied()),
            floor: None,
        }
    }

    fn user(email: &str, groups: &[(&str, Role)]) -> User {
        User {
            email: Email::parse(email).expect("valid email"),
            state: UserState::Active,
            groups: groups
                .iter()
                .map(|(g, r)| (path(g), *r))
                .collect::<BTreeMap<_, _>>(),
            default_group: None,
            tags: TagMap::default(),
            created_by: "x".into(),
            created_at: Timestamp::from_millis(0).expect("valid"),
            updated_by: None,
            updated_at: None,
        }
    }

    #[test]
    fn deepest_membership_wins() {
        let m = Memberships::from_claims(["/a|||admin", "/a/b|||reader", "junk", "/c|||owner"]);
        assert_eq!(m.role_in(&path("/a/b/c")), Some(Role::Reader));
        assert_eq!(m.role_in(&path("/a/x")), Some(Role::Admin));
        assert_eq!(m.role_in(&path("/ab")), None);
        assert_eq!(m.to_claims(), ["/a/b|||reader", "/a|||admin"]);
    }

    #[test]
    fn resources_are_visible_from_descendants_only() {
        let in_x = [path("/x/a")];
        let from = |group: &str| {
            authorize(
                &context("u@x.com", group, &["/|||reader"]),
                Action::ReadResource(&in_x),
            )
        };
        assert!(from("/x/a").is_ok() && from("/x/a/b/c").is_ok());
        assert!(from("/x").is_err() && from("/x/d").is_err());
    }

    #[test]
    fn the_floor_hides_what_lies_above_it() {
        let mut shared = context("u@x.com", "/s/a", &["/s/a|||reader"]);
        let read = |ctx: &SecurityContext, groups: &[GroupPath]| {
            authorize(ctx, Action::ReadResource(groups)).is_ok()
        };
        let above = [path("/")];
        let granted_in = [path("/"), path("/s")];
        assert!(read(&shared, &above), "without a floor, ancestors are seen");
        assert_eq!(
            shared.lineage_of(&path("/s/a")),
            [path("/"), path("/s"), path("/s/a")]
        );
        shared.floor = Some(path("/s"));
        assert!(!read(&shared, &above) && !shared.may_see(&above));
        assert!(read(&shared, &granted_in) && shared.may_see(&granted_in));
        assert!(read(&shared, &[path("/s/a")]));
        assert_eq!(shared.lineage_of(&path("/s/a")), [path("/s"), path("/s/a")]);
    }

    #[test]
    fn group_rules() {
        let admin_of_a = context("u@x.com", "/a", &["/a|||admin"]);
        assert!(authorize(&admin_of_a, Action::CreateGroup).is_ok());
        assert!(authorize(&admin_of_a, Action::ReadGroup(&path("/a/b"))).is_ok());
        assert!(
            authorize(&admin_of_a, Action::ReadGroup(&path("/a/b/c"))).is_err(),
            "not an immediate child"
        );
        assert!(
            authorize(&admin_of_a, Action::ReadGroup(&path("/"))).is_err(),
            "a parent is not managed from below"
        );
        let reader = context("u@x.com", "/a", &["/a|||reader"]);
        assert!(authorize(&reader, Action::ListGroups).is_ok());
        assert!(authorize(&reader, Action::UpdateGroup(&path("/a/b"))).is_err());
        let stranger = context("u@x.com", "/b/c", &["/a/x|||admin"]);
        assert_eq!(
            authorize(&stranger, Action::ListGroups),
            Err(Forbidden(
                "groupContextId is not a child of the users assigned groups".into()
            ))
        );
    }

    #[test]
    fn user_rules() {
        let target = user("t@x.com", &[("/a/b", Role::Reader)]);
        let admin = context("admin@x.com", "/a/b", &["/a|||admin"]);
        let change = |password, state| Action::UpdateUser {
            user: &target,
            change: UserChange { password, state },
        };
        assert!(authorize(&admin, change(false, true)).is_ok());
        assert!(
            authorize(&admin, change(true, false)).is_err(),
            "only the user changes their password"
        );
        let own = context("T@x.com", "/a/b", &["/a/b|||reader"]);
        assert!(authorize(&own, change(true, false)).is_ok());
        assert!(
            authorize(&own, change(false, true)).is_err(),
            "nobody changes their own state"
        );
        let elsewhere = context("admin@x.com", "/a", &["/a|||admin"]);
        assert!(
            authorize(&elsewhere, Action::ReadUser(Some(&target))).is_err(),
            "the user is below the context"
        );
        let root = context("admin@x.com", "/a", &["/|||admin"]);
        assert!(
            authorize(&root, Action::ReadUser(Some(&target))).is_ok(),
            "root admins see every user"
        );
        let other_admin = context("o@x.com", "/c", &["/c|||admin"]);
        assert!(authorize(&other_admin, Action::GrantUser { existing: None }).is_ok());
        assert!(
            authorize(
                &other_admin,
                Action::GrantUser {
                    existing: Some(&target)
                }
            )
            .is_err()
        );
    }
}
