//! Concurrent writers: the rules a write checks still hold when several race.

use std::sync::Arc;

use sifr_domain::{
    GroupConfiguration, NewResource, ResourceKind, ResourceState, Role, TagMap, UserState,
};
use sifr_store::{NewGroup, StoreError, TenantStore, UserGrant, UserPatch};

use crate::support::{ADMIN, backends, email, group, path, tenant};

const ITEM: ResourceKind = ResourceKind::new("item");

/// Runs `count` copies of `job` at once and returns their results.
async fn race<T, F, Fut>(
    tenant: &Arc<dyn TenantStore>,
    count: usize,
    job: F,
) -> Vec<Result<T, StoreError>>
where
    T: Send + 'static,
    F: Fn(Arc<dyn TenantStore>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let handles: Vec<_> = (0..count)
        .map(|n| tokio::spawn(job(tenant.clone(), n)))
        .collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.expect("task runs to completion"));
    }
    results
}

fn new_group(id: &str, name: &str) -> NewGroup {
    NewGroup {
        id: path(id),
        name: name.into(),
        description: None,
        tags: TagMap::default(),
        configuration: GroupConfiguration::default(),
        created_by: ADMIN.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_keep_the_rules() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        group(&*tenant, "/c", TagMap::default()).await;

        let distinct = race(&tenant, 16, |t, n| async move {
            t.create_group(new_group(&format!("/c/g{n}"), &format!("g{n}")))
                .await
        })
        .await;
        assert!(
            distinct.iter().all(Result::is_ok),
            "{name}: siblings are created side by side"
        );

        let same = race(&tenant, 8, |t, _| async move {
            t.create_group(new_group("/c/same", "same")).await
        })
        .await;
        assert_eq!(
            same.iter().filter(|r| r.is_ok()).count(),
            1,
            "{name}: one group per id"
        );
        assert!(
            same.iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| matches!(e, StoreError::NameInUse(_))),
            "{name}"
        );

        let named = race(&tenant, 8, |t, _| async move {
            t.create_resource(NewResource {
                kind: ITEM,
                name: Some("Unique".into()),
                group: path("/c"),
                state: ResourceState::Enabled,
                tags: TagMap::default(),
                body: serde_json::Map::new(),
                active_at: None,
                created_by: ADMIN.into(),
            })
            .await
        })
        .await;
        assert_eq!(
            named.iter().filter(|r| r.is_ok()).count(),
            1,
            "{name}: one resource per name and group"
        );
        assert!(
            named
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| matches!(e, StoreError::NameInUse(_))),
            "{name}"
        );

        // Two root admins disabled at once: one of them must stay.
        let second = UserGrant {
            email: email("second@example.com"),
            group: path("/"),
            role: Role::Admin,
            password_hash: None,
            tags: None,
            default_group: None,
            granted_by: ADMIN.into(),
        };
        tenant.grant_user(second).await.expect("second admin");
        let disabled = race(&tenant, 2, |t, n| async move {
            let who = if n == 0 { ADMIN } else { "second@example.com" };
            let patch = UserPatch {
                state: Some(UserState::Disabled),
                updated_by: "x".into(),
                ..UserPatch::default()
            };
            t.update_user(&email(who), patch).await
        })
        .await;
        assert_eq!(
            disabled.iter().filter(|r| r.is_ok()).count(),
            1,
            "{name}: exactly one admin was disabled"
        );
        assert!(
            matches!(
                disabled.iter().find(|r| r.is_err()),
                Some(Err(StoreError::InvalidRequest(_)))
            ),
            "{name}"
        );
        backend.finish().await;
    }
}
