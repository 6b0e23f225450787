//! Activities as the formula engine reads them (IMPACT): exact decimal component values.

use rust_decimal::Decimal;
use sifr_calc::{Activity, Component, Impact, ResourceQuery};
use sifr_domain::{GroupPath, Resource};
use sifr_store::TenantStore;

use super::activities::Activities;
use super::model::ActivityBody;
use crate::error::{ApiError, ApiResult};
use crate::resolve::named_version;
use crate::resources::{Kind, body_of};

/// The activity called `query.name` (ignoring case) in `query.group` or, unless the group is
/// explicit, in its nearest ancestor that has one, at the version the query selects.
pub(crate) async fn resolve_activity(
    store: &dyn TenantStore,
    query: &ResourceQuery,
) -> ApiResult<Option<Activity>> {
    let group = GroupPath::parse(&query.group)?;
    let mut groups = if query.explicit_group {
        vec![group]
    } else {
        group.lineage()
    };
    groups.reverse();
    for group in groups {
        let exact = ResourceQuery {
            group: group.to_string(),
            explicit_group: true,
            ..query.clone()
        };
        if let Some(found) = named_version(store, Activities::KIND, &exact).await? {
            return activity(&found).map(Some);
        }
    }
    Ok(None)
}

/// The engine's view of a stored version. IMPACT matches an impact by its `name` and a
/// component by its `key` exactly as written (the map keys are their lower-cased forms).
fn activity(resource: &Resource) -> ApiResult<Activity> {
    let body: ActivityBody = body_of(resource)?;
    let impacts = body
        .impacts
        .into_values()
        .map(|impact| {
            let name = impact.name;
            let components = impact
                .components
                .into_values()
                .map(|component| {
                    let key = component.key;
                    let value = decimal(component.value.as_str()).ok_or_else(|| {
                        ApiError::Internal(format!(
                            "component '{key}' of impact '{name}' of activity '{}' holds {}, which is not a decimal number",
                            resource.id, component.value
                        ))
                    })?;
                    Ok(Component { key, value })
                })
                .collect::<ApiResult<_>>()?;
            Ok(Impact { name, components })
        })
        .collect::<ApiResult<_>>()?;
    Ok(Activity {
        id: resource.id.to_string(),
        name: resource.name.clone().unwrap_or_default(),
        version: u64::from(resource.version),
        impacts,
    })
}

/// A JSON number's text as an exact decimal: plain (`0.000123`) or scientific (`1.23e-4`).
fn decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::Value;
    use sifr_calc::VersionSelector;
    use sifr_domain::{
        Email, NewResource, ResourceChange, ResourceState, TagMap, TenantId, Timestamp,
    };
    use sifr_store::{NewGroup, StoreSettings};

    use super::*;
    use crate::resources::stored_body;

    fn query(name: &str, group: &str, explicit: bool, version: VersionSelector) -> ResourceQuery {
        ResourceQuery {
            name: name.into(),
            group: group.into(),
            explicit_group: explicit,
            tenant: None,
            version,
        }
    }

    async fn activity_in(
        store: &dyn TenantStore,
        group: &str,
        name: &str,
        value: &str,
    ) -> Resource {
        let text = format!(
            r#"{{"impacts": {{"ghg": {{"name": "GHG", "components": {{"co2": {{"key": "CO2", "value": {value}, "type": "t"}}}}}}}}}}"#
        );
        let body: ActivityBody = serde_json::from_str(&text).expect("valid body");
        store
            .create_resource(NewResource {
                kind: Activities::KIND,
                name: Some(name.into()),
                group: GroupPath::parse(group).expect("group"),
                state: ResourceState::Enabled,
                tags: TagMap::default(),
                body: stored_body(&body).expect("body"),
                active_at: None,
                created_by: "t@example.com".into(),
            })
            .await
            .expect("stored")
    }

    fn value(activity: &Activity) -> String {
        activity.impacts[0].components[0].value.to_string()
    }

    #[tokio::test]
    async fn nearest_group_first_at_the_selected_version() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let settings = StoreSettings::Sqlite {
            data_dir: dir.path().to_owned(),
        };
        let store = sifr_store::open(&settings).await.expect("open");
        store.migrate().await.expect("migrate");
        let tenant: Arc<dyn TenantStore> = store
            .create_tenant(&TenantId::parse("t1").expect("tenant"))
            .await
            .expect("tenant");
        let admin = Email::parse("t@example.com").expect("email");
        tenant.bootstrap(&admin, "x").await.expect("bootstrap");
        for (id, name) in [("/a", "a"), ("/a/b", "b")] {
            tenant
                .create_group(NewGroup {
                    id: GroupPath::parse(id).expect("group"),
                    name: name.into(),
                    description: None,
                    tags: TagMap::default(),
                    configuration: Default::default(),
                    created_by: "t@example.com".into(),
                })
                .await
                .expect("group");
        }
        let store = tenant.as_ref();
        let outer = activity_in(store, "/a", "Gas", "1.10000000000000000000000001").await;
        activity_in(store, "/a/b", "gas", "2.5").await;

        let near = resolve_activity(store, &query("GAS", "/a/b", false, VersionSelector::Latest))
            .await
            .expect("resolves")
            .expect("found");
        assert_eq!(value(&near), "2.5", "the group in context comes first");
        // IMPACT matches names and keys as written, not the lower-cased map keys.
        assert_eq!(
            (
                near.impacts[0].name.as_str(),
                near.impacts[0].components[0].key.as_str()
            ),
            ("GHG", "CO2")
        );
        let inherited = resolve_activity(
            store,
            &query("gas", "/a/b/c", false, VersionSelector::Latest),
        )
        .await
        .expect("resolves")
        .expect("found");
        assert_eq!(value(&inherited), "2.5", "then the nearest ancestor");
        let exact = resolve_activity(store, &query("gas", "/a", true, VersionSelector::Latest))
            .await
            .expect("resolves")
            .expect("found");
        assert_eq!(
            value(&exact),
            "1.10000000000000000000000001",
            "digits beyond f64 survive"
        );
        assert!(
            resolve_activity(
                store,
                &query("gas", "/a/b/c", true, VersionSelector::Latest)
            )
            .await
            .expect("resolves")
            .is_none(),
            "an explicit group is searched alone"
        );

        let mut body = outer.body.clone();
        body["impacts"]["ghg"]["components"]["co2"]["value"] =
            serde_json::from_str::<Value>("3").expect("number");
        tenant
            .update_resource(
                Activities::KIND,
                &outer.id,
                None,
                ResourceChange {
                    body: Some(body),
                    ..ResourceChange::default()
                },
                "t@example.com",
            )
            .await
            .expect("version 2");
        let at = |version| query("gas", "/a", true, version);
        let latest = resolve_activity(store, &at(VersionSelector::Latest))
            .await
            .expect("resolves")
            .expect("found");
        assert_eq!((latest.version, value(&latest)), (2, "3".to_owned()));
        let first = resolve_activity(store, &at(VersionSelector::Exact(1)))
            .await
            .expect("resolves")
            .expect("found");
        assert_eq!(
            (first.version, value(&first)),
            (1, "1.10000000000000000000000001".to_owned())
        );
        let then = resolve_activity(
            store,
            &at(VersionSelector::AsAt(outer.created_at.to_string())),
        )
        .await
        .expect("resolves")
        .expect("found");
        assert_eq!(then.version, 1);
        let now = resolve_activity(
            store,
            &at(VersionSelector::AsAt(Timestamp::now().to_string())),
        )
        .await
        .expect("resolves")
        .expect("found");
        assert_eq!(now.version, 2, "the latest activation wins");
        assert!(
            resolve_activity(store, &at(VersionSelector::Exact(9)))
                .await
                .expect("resolves")
                .is_none()
        );
        assert!(
            resolve_activity(store, &at(VersionSelector::AsAt("not a time".into())))
                .await
                .is_err()
        );
    }

    #[test]
    fn numbers_keep_their_digits() {
        let exact = |text: &str| decimal(text).map(|d| d.to_string());
        assert_eq!(exact("0.1").as_deref(), Some("0.1"));
        assert_eq!(
            exact("53.06000000000000000001").as_deref(),
            Some("53.06000000000000000001")
        );
        assert_eq!(exact("1.5e-3").as_deref(), Some("0.0015"));
        assert_eq!(exact("-2E2").as_deref(), Some("-200"));
        assert_eq!(exact("nope"), None);
    }
}
