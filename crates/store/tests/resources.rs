use sifr_domain::{
    GroupPath, ListRequest, NewResource, Resource, ResourceChange, ResourceKind, ResourceState,
    Scope, TagFilter, TagMap, Timestamp,
};
use sifr_store::{StoreError, TagScope, TenantStore};

use crate::support::{ADMIN, backends, group, path, tags, tenant};

const WIDGET: ResourceKind = ResourceKind::new("widget");
const GADGET: ResourceKind = ResourceKind::new("gadget");

fn new(kind: ResourceKind, name: &str, group: &str) -> NewResource {
    NewResource {
        kind,
        name: Some(name.into()),
        group: path(group),
        state: ResourceState::Enabled,
        tags: TagMap::default(),
        body: serde_json::json!({"formula": ":a*2"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        active_at: None,
        created_by: ADMIN.into(),
    }
}

async fn create(tenant: &dyn TenantStore, name: &str, group: &str) -> Resource {
    tenant
        .create_resource(new(WIDGET, name, group))
        .await
        .expect("create resource")
}

fn names(items: &[Resource]) -> Vec<String> {
    items
        .iter()
        .map(|r| r.name.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn names_are_unique_within_a_group_and_kind() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        group(&*tenant, "/x", TagMap::default()).await;
        group(&*tenant, "/x/a", TagMap::default()).await;
        let first = create(&*tenant, "Scope1", "/x").await;
        assert_eq!(
            (first.version, first.groups.clone()),
            (1, vec![path("/x")]),
            "{name}"
        );
        assert_eq!(first.id.as_str().len(), 26, "{name}");
        let duplicate = tenant.create_resource(new(WIDGET, "SCOPE1", "/x")).await;
        assert!(
            matches!(duplicate, Err(StoreError::NameInUse(n)) if n == "SCOPE1"),
            "{name}"
        );
        create(&*tenant, "scope1", "/x/a").await;
        create(&*tenant, "scope1", "/").await;
        tenant
            .create_resource(new(GADGET, "scope1", "/x"))
            .await
            .expect("another kind may use the name");
        let missing = tenant.create_resource(new(WIDGET, "y", "/nowhere")).await;
        assert!(
            matches!(missing, Err(StoreError::GroupNotFound(_))),
            "{name}"
        );

        let found = tenant
            .resources_named(WIDGET, "ScOpE1", &path("/x/a").lineage())
            .await
            .expect("by name");
        assert_eq!(
            found
                .iter()
                .map(|r| r.groups[0].to_string())
                .collect::<Vec<_>>(),
            ["/", "/x", "/x/a"],
            "{name}"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn every_change_writes_an_immutable_version() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        let v1 = create(&*tenant, "calc", "/").await;
        let id = v1.id.clone();
        let activation = Timestamp::parse("2030-01-01T00:00:00Z").expect("valid");
        let change = ResourceChange {
            state: Some(ResourceState::Disabled),
            tags: Some(serde_json::from_str(r#"{"Type":"Material/Metal"}"#).expect("valid")),
            body: Some(
                serde_json::json!({"formula": ":a*3"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            active_at: Some(Some(activation)),
        };
        let v2 = tenant
            .update_resource(WIDGET, &id, Some(1), change, "editor@x.com")
            .await
            .expect("update");
        assert_eq!(
            (v2.version, v2.state, v2.updated_by.as_deref()),
            (2, ResourceState::Disabled, Some("editor@x.com")),
            "{name}"
        );
        let stale = tenant
            .update_resource(
                WIDGET,
                &id,
                Some(1),
                ResourceChange::default(),
                "late@x.com",
            )
            .await;
        assert!(
            matches!(stale, Err(StoreError::InvalidState(_))),
            "{name}: expected version 1, found 2"
        );
        let v3 = tenant
            .update_resource(WIDGET, &id, None, ResourceChange::default(), ADMIN)
            .await
            .expect("update");
        assert_eq!(
            (v3.version, v3.active_at),
            (3, None),
            "{name}: activeAt is not inherited"
        );

        assert_eq!(
            tenant.resource(WIDGET, &id).await.expect("read"),
            Some(v3.clone()),
            "{name}"
        );
        assert_eq!(
            tenant.resource_version(WIDGET, &id, 1).await.expect("read"),
            Some(v1.clone()),
            "{name}: unchanged"
        );
        assert_eq!(
            tenant.resource_version(WIDGET, &id, 2).await.expect("read"),
            Some(v2.clone()),
            "{name}"
        );
        assert!(
            tenant
                .resource_version(WIDGET, &id, 4)
                .await
                .expect("read")
                .is_none(),
            "{name}"
        );
        assert!(
            tenant.resource(GADGET, &id).await.expect("read").is_none(),
            "{name}: kinds never mix"
        );

        let versions = tenant
            .resource_versions(WIDGET, &id, None, None)
            .await
            .expect("versions");
        assert_eq!(
            versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            [3, 2, 1],
            "{name}: newest first"
        );
        let page = tenant
            .resource_versions(WIDGET, &id, Some(3), Some(1))
            .await
            .expect("versions");
        assert_eq!(
            page.iter().map(|v| v.version).collect::<Vec<_>>(),
            [2],
            "{name}"
        );

        // v2 activates in 2030; before that v1 (created now) or v3 (written now) are active.
        let as_at = |at: &str| {
            let tenant = tenant.clone();
            let id = id.clone();
            let at = Timestamp::parse(at).expect("valid");
            async move {
                tenant
                    .resource_as_at(WIDGET, &id, at)
                    .await
                    .expect("as at")
                    .map(|r| r.version)
            }
        };
        assert_eq!(
            as_at("2000-01-01T00:00:00Z").await,
            None,
            "{name}: nothing active yet"
        );
        assert_eq!(as_at("2029-01-01T00:00:00Z").await, Some(3), "{name}");
        assert_eq!(as_at("2031-01-01T00:00:00Z").await, Some(2), "{name}");

        let tagged = tenant
            .tag_values(TagScope::Resources(WIDGET), &path("/"), "type", None)
            .await
            .expect("values");
        assert_eq!(
            tagged,
            ["Material/Metal"],
            "{name}: tags carry over to later versions"
        );
        tenant.delete_resource(WIDGET, &id).await.expect("delete");
        assert!(
            tenant.resource(WIDGET, &id).await.expect("read").is_none(),
            "{name}"
        );
        assert!(
            tenant
                .resource_version(WIDGET, &id, 1)
                .await
                .expect("read")
                .is_none(),
            "{name}: versions go too"
        );
        assert!(
            matches!(
                tenant.delete_resource(WIDGET, &id).await,
                Err(StoreError::ResourceNotFound(_))
            ),
            "{name}"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn grants_reach_sub_groups_and_revokes_take_them_back() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        for id in ["/x", "/x/a", "/x/d", "/x/d/e"] {
            group(&*tenant, id, TagMap::default()).await;
        }
        let resource = create(&*tenant, "shared", "/x/a").await;
        let id = resource.id.clone();
        let exact = |group: &str| {
            let tenant = tenant.clone();
            let request = ListRequest::new(path(group));
            async move {
                names(
                    &tenant
                        .list_resources(WIDGET, &request)
                        .await
                        .expect("list")
                        .items,
                )
            }
        };
        assert!(exact("/x/d").await.is_empty(), "{name}");
        let granted = tenant
            .grant_resource(WIDGET, &id, &path("/x/d"), ADMIN)
            .await
            .expect("grant");
        assert_eq!(
            (granted.version, granted.groups.clone()),
            (2, vec![path("/x/a"), path("/x/d")]),
            "{name}"
        );
        assert_eq!(exact("/x/d").await, ["shared"], "{name}");
        assert_eq!(
            exact("/x/d/e").await,
            ["shared"],
            "{name}: granted to sub-groups too"
        );
        assert!(
            exact("/x/a/b").await.is_empty(),
            "{name}: the owner's sub-groups see it through ancestry only"
        );
        let missing = tenant
            .grant_resource(WIDGET, &id, &path("/nowhere"), ADMIN)
            .await;
        assert!(
            matches!(missing, Err(StoreError::GroupNotFound(_))),
            "{name}"
        );

        let owner = tenant
            .revoke_resource(WIDGET, &id, &path("/x/a"), ADMIN)
            .await;
        assert!(
            matches!(owner, Err(StoreError::InvalidRequest(_))),
            "{name}: the owner stays"
        );
        let never = tenant
            .revoke_resource(WIDGET, &id, &path("/x"), ADMIN)
            .await;
        assert!(matches!(never, Err(StoreError::InvalidState(_))), "{name}");
        let revoked = tenant
            .revoke_resource(WIDGET, &id, &path("/x/d"), ADMIN)
            .await
            .expect("revoke");
        assert_eq!(
            (revoked.version, revoked.groups.clone()),
            (3, vec![path("/x/a")]),
            "{name}"
        );
        assert!(
            exact("/x/d").await.is_empty() && exact("/x/d/e").await.is_empty(),
            "{name}"
        );
        assert_eq!(exact("/x/a").await, ["shared"], "{name}");
        backend.finish().await;
    }
}

#[tokio::test]
async fn listings_merge_groups_in_sif_order() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        for id in ["/p", "/p/a", "/p/a/b", "/p/a/b/c", "/p/b"] {
            group(&*tenant, id, TagMap::default()).await;
        }
        // The pagination example of the spec: created in this order.
        for (label, group) in [
            ("1", "/p"),
            ("2", "/p"),
            ("3", "/p"),
            ("4", "/p/a"),
            ("5", "/p/a"),
            ("6", "/p"),
            ("7", "/p"),
            ("8", "/p/a/b/c"),
            ("9", "/p/a/b/c"),
            ("10", "/p/a/b/c"),
            ("b", "/p/b"),
        ] {
            create(&*tenant, label, group).await;
        }
        let pages = |group: &str, scope: Scope| {
            let tenant = tenant.clone();
            let mut request = ListRequest {
                scope,
                count: Some(3),
                ..ListRequest::new(path(group))
            };
            async move {
                let mut pages = Vec::new();
                loop {
                    let page = tenant.list_resources(WIDGET, &request).await.expect("page");
                    if !page.items.is_empty() {
                        pages.push(names(&page.items));
                    }
                    match page.next {
                        Some(next) => request.after = Some(next),
                        None => return pages,
                    }
                }
            }
        };
        assert_eq!(
            pages(
                "/",
                Scope {
                    parents: true,
                    children: true
                }
            )
            .await,
            [
                vec!["1", "2", "3"],
                vec!["6", "7", "4"],
                vec!["5", "8", "9"],
                vec!["10", "b"]
            ],
            "{name}"
        );
        assert_eq!(
            pages(
                "/p/a",
                Scope {
                    parents: true,
                    children: false
                }
            )
            .await,
            [vec!["1", "2", "3"], vec!["6", "7", "4"], vec!["5"]],
            "{name}"
        );
        let everything = ListRequest {
            scope: Scope {
                parents: true,
                children: false,
            },
            ..ListRequest::new(path("/p/a"))
        };
        let all = tenant
            .list_resources(WIDGET, &everything)
            .await
            .expect("list");
        assert_eq!(
            (all.items.len(), all.next.is_none(), all.paginated),
            (7, true, false),
            "{name}: no count, no limit"
        );
        let children = ListRequest {
            scope: Scope {
                parents: false,
                children: true,
            },
            ..ListRequest::new(GroupPath::root())
        };
        assert_eq!(
            tenant
                .list_resources(WIDGET, &children)
                .await
                .expect("list")
                .items
                .len(),
            11,
            "{name}"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn tags_filter_listings_and_summarise_per_group() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        group(&*tenant, "/a", TagMap::default()).await;
        group(&*tenant, "/a/b", TagMap::default()).await;
        group(&*tenant, "/c", TagMap::default()).await;
        for (label, group, labels) in [
            (
                "steel",
                "/a",
                r#"{"type":"Material/Metal/Steel","source":"EPA"}"#,
            ),
            ("abs", "/a/b", r#"{"Type":"Material/Plastic/ABS"}"#),
            ("diesel", "/c", r#"{"type":"Fuel"}"#),
        ] {
            let mut resource = new(WIDGET, label, group);
            resource.tags = tags(labels);
            tenant.create_resource(resource).await.expect("create");
        }
        let filtered = |group: &str, filters: &[&str]| {
            let tenant = tenant.clone();
            let request = ListRequest {
                scope: Scope {
                    parents: true,
                    children: true,
                },
                tags: filters
                    .iter()
                    .map(|f| TagFilter::parse(f).expect("valid"))
                    .collect(),
                ..ListRequest::new(path(group))
            };
            async move {
                names(
                    &tenant
                        .list_resources(WIDGET, &request)
                        .await
                        .expect("list")
                        .items,
                )
            }
        };
        assert_eq!(
            filtered("/", &["type:material"]).await,
            ["steel", "abs"],
            "{name}"
        );
        assert_eq!(
            filtered("/", &["TYPE:Material/Plastic"]).await,
            ["abs"],
            "{name}"
        );
        assert_eq!(
            filtered("/", &["type:material", "source:epa"]).await,
            ["steel"],
            "{name}: filters are AND-ed"
        );
        assert_eq!(
            filtered("/c", &["type:material"]).await,
            Vec::<String>::new(),
            "{name}"
        );

        let seen = |group: &str| {
            let tenant = tenant.clone();
            let group = path(group);
            async move {
                tenant
                    .tag_values(TagScope::Resources(WIDGET), &group, "type", None)
                    .await
                    .expect("values")
            }
        };
        assert_eq!(
            seen("/a/b").await,
            ["Material/Metal/Steel", "Material/Plastic/ABS"],
            "{name}: own and ancestors'"
        );
        assert_eq!(
            seen("/a").await,
            ["Material/Metal/Steel"],
            "{name}: not the children's"
        );
        assert_eq!(seen("/").await, Vec::<String>::new(), "{name}");
        backend.finish().await;
    }
}

#[tokio::test]
async fn amending_a_version_rewrites_it_in_place() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        let v1 = create(&*tenant, "dataset", "/").await;
        let v2 = tenant
            .update_resource(WIDGET, &v1.id, None, ResourceChange::default(), ADMIN)
            .await
            .expect("update");
        let body = serde_json::json!({"status": "success"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let amended = tenant
            .amend_resource_version(WIDGET, &v1.id, 1, ResourceState::Frozen, body.clone())
            .await
            .expect("amend");
        assert_eq!(
            (amended.version, amended.state),
            (1, ResourceState::Frozen),
            "{name}"
        );
        let stored = tenant
            .resource_version(WIDGET, &v1.id, 1)
            .await
            .expect("read")
            .expect("version 1");
        assert_eq!(
            (stored.state, &stored.body),
            (ResourceState::Frozen, &body),
            "{name}"
        );
        let latest = tenant
            .resource(WIDGET, &v1.id)
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(
            latest, v2,
            "{name}: no version is added and the latest is untouched"
        );
        let missing = tenant
            .amend_resource_version(WIDGET, &v1.id, 9, ResourceState::Enabled, body)
            .await;
        assert!(
            matches!(missing, Err(StoreError::ResourceNotFound(_))),
            "{name}"
        );
        backend.finish().await;
    }
}
