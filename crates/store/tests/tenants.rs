use sifr_domain::TenantId;
use sifr_store::StoreError;

use crate::support::{backends, email, path, random_name, tenant};

#[tokio::test]
async fn tenants_are_created_listed_isolated_and_deleted() {
    for backend in backends().await {
        let name = backend.name;
        let store = &backend.store;
        let a = TenantId::parse(&format!("a-{}", random_name(6))).expect("valid id");
        let b = TenantId::parse(&format!("b-{}", random_name(6))).expect("valid id");
        let tenant_a = store.create_tenant(&a).await.expect("create a");
        let tenant_b = store.create_tenant(&b).await.expect("create b");
        assert!(
            matches!(
                store.create_tenant(&a).await,
                Err(StoreError::TenantExists(_))
            ),
            "{name}: duplicate tenant"
        );
        let listed: Vec<TenantId> = store
            .tenants()
            .await
            .expect("list")
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(listed, [a.clone(), b.clone()], "{name}");

        tenant_a
            .bootstrap(&email("root@a.com"), "hash-a")
            .await
            .expect("bootstrap a");
        tenant_b
            .bootstrap(&email("root@b.com"), "hash-b")
            .await
            .expect("bootstrap b");
        assert!(
            tenant_a
                .user(&email("root@b.com"))
                .await
                .expect("read")
                .is_none(),
            "{name}: B's user is not in A"
        );
        assert!(
            tenant_b
                .user(&email("root@b.com"))
                .await
                .expect("read")
                .is_some(),
            "{name}"
        );
        let again = store.tenant(&a).await.expect("look up a");
        assert!(
            again
                .user(&email("root@a.com"))
                .await
                .expect("read")
                .is_some(),
            "{name}"
        );

        store.delete_tenant(&a).await.expect("delete a");
        assert!(
            matches!(store.tenant(&a).await, Err(StoreError::TenantNotFound(_))),
            "{name}: deleted tenant"
        );
        assert!(
            matches!(
                store.delete_tenant(&a).await,
                Err(StoreError::TenantNotFound(_))
            ),
            "{name}"
        );
        let recreated = store.create_tenant(&a).await.expect("recreate a");
        assert!(
            recreated.group(&path("/")).await.expect("read").is_none(),
            "{name}: a new tenant starts empty"
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn secrets_are_created_once() {
    for backend in backends().await {
        let first = backend
            .store
            .secret("signing-key", b"one")
            .await
            .expect("store secret");
        let second = backend
            .store
            .secret("signing-key", b"two")
            .await
            .expect("read secret");
        assert_eq!(
            (first.as_slice(), second.as_slice()),
            (&b"one"[..], &b"one"[..]),
            "{}",
            backend.name
        );
        backend.finish().await;
    }
}

#[tokio::test]
async fn migrate_is_idempotent_and_covers_every_tenant() {
    for backend in backends().await {
        let tenant = tenant(&backend).await;
        let migrated = backend.store.migrate().await.expect("migrate again");
        assert_eq!(migrated.len(), 1, "{}", backend.name);
        assert!(
            !tenant
                .bootstrap(&email("other@example.com"), "h")
                .await
                .expect("bootstrap"),
            "{}: admin exists",
            backend.name
        );
        backend.finish().await;
    }
}
