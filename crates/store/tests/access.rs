use sifr_domain::listing::Cursor;
use sifr_domain::{
    GroupConfiguration, GroupPath, GroupState, ListRequest, Role, Scope, TagFilter, TagMap,
    TagPatch, UserState,
};
use sifr_store::{GroupPatch, NewGroup, StoreError, TagScope, TenantStore, UserGrant, UserPatch};

use crate::support::{ADMIN, backends, email, group, path, tags, tenant};

fn ids<T>(items: &[T], id: impl Fn(&T) -> String) -> Vec<String> {
    items.iter().map(id).collect()
}

fn grant(user: &str, group: &str, role: Role) -> UserGrant {
    UserGrant {
        email: email(user),
        group: path(group),
        role,
        password_hash: Some("hash".into()),
        tags: None,
        default_group: None,
        granted_by: ADMIN.into(),
    }
}

fn request(group: &str, parents: bool, children: bool) -> ListRequest {
    ListRequest {
        scope: Scope { parents, children },
        ..ListRequest::new(path(group))
    }
}

async fn group_ids(tenant: &dyn TenantStore, request: &ListRequest) -> Vec<String> {
    ids(
        &tenant
            .list_groups(request)
            .await
            .expect("list groups")
            .items,
        |g| g.id.to_string(),
    )
}

#[tokio::test]
async fn groups_have_rules_for_creation_update_and_deletion() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        let root = tenant
            .group(&GroupPath::root())
            .await
            .expect("read")
            .expect("root exists");
        assert_eq!(
            (root.name.as_str(), root.state),
            ("Root", GroupState::Active),
            "{name}"
        );

        group(&*tenant, "/usa", tags(r#"{"Region":"Americas/North"}"#)).await;
        let duplicate = tenant
            .create_group(NewGroup {
                id: path("/USA"),
                name: "USA".into(),
                description: None,
                tags: TagMap::default(),
                configuration: GroupConfiguration::default(),
                created_by: ADMIN.into(),
            })
            .await;
        assert!(
            matches!(duplicate, Err(StoreError::NameInUse(n)) if n == "USA"),
            "{name}: names ignore case"
        );
        let orphan = tenant
            .create_group(NewGroup {
                id: path("/nowhere/x"),
                name: "x".into(),
                description: None,
                tags: TagMap::default(),
                configuration: GroupConfiguration::default(),
                created_by: ADMIN.into(),
            })
            .await;
        assert!(
            matches!(orphan, Err(StoreError::GroupNotFound(g)) if g == path("/nowhere")),
            "{name}"
        );

        // Configuration: stored as a delta, inherited by the children that do not override it.
        let wanted: GroupConfiguration =
            serde_json::from_str(r#"{"preferredGroup":"/","pipelineProcessor":{"chunkSize":3}}"#)
                .expect("valid");
        let created = tenant
            .create_group(NewGroup {
                id: path("/usa/west"),
                name: "West".into(),
                description: Some("west coast".into()),
                tags: TagMap::default(),
                configuration: wanted,
                created_by: ADMIN.into(),
            })
            .await
            .expect("create /usa/west");
        assert_eq!(
            serde_json::to_value(&created.configuration).expect("json"),
            serde_json::json!({"pipelineProcessor":{"chunkSize":3}}),
            "{name}: only what differs from the ancestors is stored"
        );
        let lineage = tenant
            .group_lineage(&path("/usa/west"))
            .await
            .expect("lineage");
        assert_eq!(
            ids(&lineage, |g| g.id.to_string()),
            ["/", "/usa", "/usa/west"],
            "{name}"
        );
        let merged = GroupConfiguration::merge(lineage.iter().map(|g| &g.configuration));
        assert_eq!(
            serde_json::to_value(&merged).expect("json"),
            serde_json::json!({"preferredGroup":"/","referenceDatasets":{"alwaysUseLatest":true},"pipelineProcessor":{"chunkSize":3}}),
            "{name}"
        );
        assert!(
            tenant
                .group_lineage(&path("/usa/east"))
                .await
                .expect("lineage")
                .is_empty(),
            "{name}"
        );

        let patch: TagPatch =
            serde_json::from_str(r#"{"region":null,"Owner":"ops"}"#).expect("valid");
        let updated = tenant
            .update_group(
                &path("/usa"),
                GroupPatch {
                    description: Some("United States".into()),
                    state: Some(GroupState::Disabled),
                    tags: Some(patch),
                    configuration: Some(
                        serde_json::from_str(r#"{"referenceDatasets":{"alwaysUseLatest":false}}"#)
                            .expect("valid"),
                    ),
                    updated_by: ADMIN.into(),
                },
            )
            .await
            .expect("update");
        assert_eq!(
            serde_json::to_value(&updated.tags).expect("json"),
            serde_json::json!({"Owner":"ops"}),
            "{name}"
        );
        let reread = tenant
            .group(&path("/usa"))
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(
            reread, updated,
            "{name}: the update is persisted, audit fields included"
        );
        assert_eq!(reread.updated_by.as_deref(), Some(ADMIN), "{name}");

        // Deletion: disabled, no sub-groups, no users.
        assert!(
            matches!(
                tenant.delete_group(&path("/usa")).await,
                Err(StoreError::InvalidState(_))
            ),
            "{name}: has sub-groups"
        );
        assert!(
            matches!(
                tenant.delete_group(&path("/usa/west")).await,
                Err(StoreError::InvalidState(_))
            ),
            "{name}: active"
        );
        let disable = || GroupPatch {
            state: Some(GroupState::Disabled),
            updated_by: ADMIN.into(),
            ..GroupPatch::default()
        };
        tenant
            .update_group(&path("/usa/west"), disable())
            .await
            .expect("disable");
        tenant
            .grant_user(grant("worker@example.com", "/usa/west", Role::Reader))
            .await
            .expect("grant");
        assert!(
            matches!(
                tenant.delete_group(&path("/usa/west")).await,
                Err(StoreError::InvalidState(_))
            ),
            "{name}: has users"
        );
        tenant
            .revoke_user(&email("worker@example.com"), &path("/usa/west"))
            .await
            .expect("revoke");
        tenant
            .delete_group(&path("/usa/west"))
            .await
            .expect("delete /usa/west");
        assert!(
            tenant
                .group(&path("/usa/west"))
                .await
                .expect("read")
                .is_none(),
            "{name}"
        );
        assert!(
            matches!(
                tenant.delete_group(&path("/usa/west")).await,
                Err(StoreError::GroupNotFound(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                tenant.delete_group(&GroupPath::root()).await,
                Err(StoreError::InvalidRequest(_))
            ),
            "{name}"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn group_listings_follow_the_hierarchy_rules() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        for id in ["/a1", "/a1/a2", "/a1/a2/a3", "/a1/b2", "/a1-x", "/z"] {
            let labels = if id.ends_with('2') {
                tags(r#"{"type":"Material/Metal"}"#)
            } else {
                TagMap::default()
            };
            group(&*tenant, id, labels).await;
        }
        assert_eq!(
            group_ids(&*tenant, &request("/a1", false, false)).await,
            ["/a1/a2", "/a1/b2"],
            "{name}: children"
        );
        assert_eq!(
            group_ids(&*tenant, &request("/a1", true, false)).await,
            ["/", "/a1", "/a1/a2", "/a1/b2"],
            "{name}"
        );
        assert_eq!(
            group_ids(&*tenant, &request("/a1", false, true)).await,
            ["/a1/a2", "/a1/a2/a3", "/a1/b2"],
            "{name}"
        );
        assert_eq!(
            group_ids(&*tenant, &request("/a1/a2", true, true)).await,
            ["/", "/a1", "/a1/a2", "/a1/a2/a3"],
            "{name}: ancestors, the group and its descendants"
        );
        let mut tagged = request("/", false, true);
        tagged.tags = vec![TagFilter::parse("TYPE:material").expect("valid")];
        assert_eq!(
            group_ids(&*tenant, &tagged).await,
            ["/a1/a2", "/a1/b2"],
            "{name}: hierarchical tag match"
        );
        tagged.tags = vec![TagFilter::parse("type:mat").expect("valid")];
        assert!(
            group_ids(&*tenant, &tagged).await.is_empty(),
            "{name}: a prefix of a level does not match"
        );

        let mut paged = request("/", false, true);
        paged.count = Some(4);
        let first = tenant.list_groups(&paged).await.expect("page 1");
        assert_eq!(
            ids(&first.items, |g| g.id.to_string()),
            ["/a1", "/a1-x", "/a1/a2", "/a1/a2/a3"],
            "{name}"
        );
        paged.after = first.next.clone();
        let second = tenant.list_groups(&paged).await.expect("page 2");
        assert_eq!(
            ids(&second.items, |g| g.id.to_string()),
            ["/a1/b2", "/z"],
            "{name}"
        );
        assert!(
            first.next.is_some() && second.next.is_none() && second.paginated,
            "{name}"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn users_are_granted_changed_and_revoked() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        group(&*tenant, "/a", TagMap::default()).await;
        group(&*tenant, "/a/b", TagMap::default()).await;
        group(&*tenant, "/c", TagMap::default()).await;

        let mut first = grant("Jane@Example.com", "/a", Role::Contributor);
        first.tags = Some(serde_json::from_str(r#"{"team":"Ops"}"#).expect("valid"));
        first.default_group = Some(path("/c"));
        let outcome = tenant.grant_user(first).await.expect("invite");
        assert!(outcome.created, "{name}");
        let jane = outcome.user;
        assert_eq!(
            (jane.email.as_str(), jane.state),
            ("jane@example.com", UserState::Invited),
            "{name}"
        );
        assert_eq!(
            jane.default_group,
            Some(path("/a")),
            "{name}: a default outside the user's groups is dropped"
        );

        let mut again = grant("jane@example.com", "/a/b", Role::Admin);
        again.default_group = Some(path("/a/b"));
        let outcome = tenant.grant_user(again).await.expect("grant again");
        assert!(!outcome.created, "{name}: no duplicate user");
        assert_eq!(outcome.user.groups.len(), 2, "{name}");
        assert_eq!(outcome.user.default_group, Some(path("/a/b")), "{name}");
        assert_eq!(
            outcome.user.tags.get("team"),
            Some("Ops"),
            "{name}: tags kept"
        );
        assert_eq!(
            tenant.user(&email("jane@example.com")).await.expect("read"),
            Some(outcome.user),
            "{name}"
        );
        assert!(
            matches!(
                tenant
                    .grant_user(grant("x@example.com", "/missing", Role::Reader))
                    .await,
                Err(StoreError::GroupNotFound(_))
            ),
            "{name}"
        );

        let credentials = tenant
            .credentials(&email("jane@example.com"))
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(
            (credentials.password_hash.as_deref(), credentials.state),
            (Some("hash"), UserState::Invited),
            "{name}"
        );
        let patch = UserPatch {
            password_hash: Some("new-hash".into()),
            state: Some(UserState::Active),
            tags: Some(serde_json::from_str(r#"{"team":""}"#).expect("valid")),
            default_group: Some(path("/a")),
            updated_by: "jane@example.com".into(),
        };
        let updated = tenant
            .update_user(&email("jane@example.com"), patch)
            .await
            .expect("update");
        assert!(
            updated.tags.is_empty() && updated.state == UserState::Active,
            "{name}"
        );
        let credentials = tenant
            .credentials(&email("jane@example.com"))
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(
            credentials.password_hash.as_deref(),
            Some("new-hash"),
            "{name}"
        );
        let outside = UserPatch {
            default_group: Some(path("/c")),
            updated_by: ADMIN.into(),
            ..UserPatch::default()
        };
        assert!(
            matches!(
                tenant
                    .update_user(&email("jane@example.com"), outside)
                    .await,
                Err(StoreError::InvalidRequest(_))
            ),
            "{name}"
        );
        let missing = UserPatch {
            updated_by: ADMIN.into(),
            ..UserPatch::default()
        };
        assert!(
            matches!(
                tenant
                    .update_user(&email("nobody@example.com"), missing)
                    .await,
                Err(StoreError::UserNotFound(_))
            ),
            "{name}"
        );

        assert!(
            matches!(
                tenant
                    .revoke_user(&email("jane@example.com"), &path("/c"))
                    .await,
                Err(StoreError::InvalidState(_))
            ),
            "{name}: not granted there"
        );
        let remaining = tenant
            .revoke_user(&email("jane@example.com"), &path("/a"))
            .await
            .expect("revoke /a");
        let remaining = remaining.expect("one membership left");
        assert_eq!(
            remaining.groups.keys().collect::<Vec<_>>(),
            [&path("/a/b")],
            "{name}"
        );
        assert_eq!(
            remaining.default_group,
            Some(path("/a/b")),
            "{name}: default follows the remaining groups"
        );
        assert!(
            tenant
                .revoke_user(&email("jane@example.com"), &path("/a/b"))
                .await
                .expect("revoke")
                .is_none(),
            "{name}"
        );
        assert!(
            tenant
                .user(&email("jane@example.com"))
                .await
                .expect("read")
                .is_none(),
            "{name}: deleted with its last group"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn the_last_root_admin_stays() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        let admin = email(ADMIN);
        let disable = || UserPatch {
            state: Some(UserState::Disabled),
            updated_by: "other".into(),
            ..UserPatch::default()
        };
        assert!(
            matches!(
                tenant.update_user(&admin, disable()).await,
                Err(StoreError::InvalidRequest(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                tenant.revoke_user(&admin, &GroupPath::root()).await,
                Err(StoreError::InvalidRequest(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                tenant.grant_user(grant(ADMIN, "/", Role::Reader)).await,
                Err(StoreError::InvalidRequest(_))
            ),
            "{name}: a demotion counts too"
        );
        tenant
            .grant_user(grant("second@example.com", "/", Role::Admin))
            .await
            .expect("second admin");
        tenant
            .update_user(&admin, disable())
            .await
            .expect("now the first admin can be disabled");
        assert!(
            matches!(
                tenant
                    .update_user(&email("second@example.com"), disable())
                    .await,
                Err(StoreError::InvalidRequest(_))
            ),
            "{name}: the disabled admin does not count"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn user_listings_follow_memberships() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        for id in ["/p", "/p/a", "/p/b"] {
            group(&*tenant, id, TagMap::default()).await;
        }
        for (user, group) in [
            ("u1@x.com", "/p"),
            ("u2@x.com", "/p/a"),
            ("u3@x.com", "/p/b"),
            ("u4@x.com", "/p"),
        ] {
            let mut g = grant(user, group, Role::Reader);
            g.tags = Some(serde_json::from_str(r#"{"site":"Plant/North"}"#).expect("valid"));
            tenant.grant_user(g).await.expect("grant");
        }
        tenant
            .grant_user(grant("u2@x.com", "/p", Role::Reader))
            .await
            .expect("second membership");
        let emails =
            |page: &sifr_domain::Page<sifr_domain::User>| ids(&page.items, |u| u.email.to_string());
        let exact = tenant
            .list_users(&request("/p", false, false))
            .await
            .expect("list");
        assert_eq!(
            emails(&exact),
            ["u1@x.com", "u2@x.com", "u4@x.com"],
            "{name}"
        );
        let with_parents = tenant
            .list_users(&request("/p/a", true, false))
            .await
            .expect("list");
        assert_eq!(
            emails(&with_parents),
            [ADMIN, "u1@x.com", "u2@x.com", "u4@x.com"],
            "{name}: each user once"
        );
        let mut paged = request("/p", false, true);
        paged.count = Some(2);
        let mut seen = Vec::new();
        loop {
            let page = tenant.list_users(&paged).await.expect("page");
            seen.extend(emails(&page));
            match page.next {
                Some(next) => paged.after = Some(next),
                None => break,
            }
        }
        assert_eq!(
            seen,
            ["u1@x.com", "u2@x.com", "u4@x.com", "u3@x.com"],
            "{name}: ordered by group, then email"
        );
        paged = request("/", false, true);
        paged.after = Some(Cursor {
            id: "u1@x.com".into(),
            group: "/p".into(),
        });
        assert_eq!(
            emails(&tenant.list_users(&paged).await.expect("list")),
            ["u2@x.com", "u4@x.com", "u3@x.com"],
            "{name}"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn tag_values_cover_what_the_group_sees() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        group(&*tenant, "/a", tags(r#"{"type":"Material/Metal/Steel"}"#)).await;
        group(&*tenant, "/a/b", tags(r#"{"Type":"Material/Plastic"}"#)).await;
        group(&*tenant, "/c", tags(r#"{"type":"Fuel"}"#)).await;
        let values = tenant
            .tag_values(TagScope::Groups, &path("/a"), "TYPE", None)
            .await
            .expect("values");
        assert_eq!(
            values,
            ["Material/Metal/Steel", "Material/Plastic"],
            "{name}"
        );
        let below = tenant
            .tag_values(TagScope::Groups, &path("/"), "type", Some("material/metal"))
            .await
            .expect("values");
        assert_eq!(below, ["Material/Metal/Steel"], "{name}");

        let mut tagged = grant("t@x.com", "/a/b", Role::Reader);
        tagged.tags = Some(serde_json::from_str(r#"{"team":"Blue"}"#).expect("valid"));
        tenant.grant_user(tagged).await.expect("grant");
        assert_eq!(
            tenant
                .tag_values(TagScope::Users, &path("/a"), "team", None)
                .await
                .expect("values"),
            ["Blue"],
            "{name}"
        );
        assert!(
            tenant
                .tag_values(TagScope::Users, &path("/c"), "team", None)
                .await
                .expect("values")
                .is_empty(),
            "{name}"
        );
        backend.finish().await;
    }
}
