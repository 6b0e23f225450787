//! Activity segments in the processor store: an execution's versions are invisible until it
//! commits them; a commit makes each version its activity's latest and counts the activities it
//! created; two identities with one activity number are refused whole; what an execution did
//! not commit is discarded.

use std::collections::HashMap;

use sifr_store::segment::{Identity, SegmentBuilder, SegmentRow, SegmentSealer, activity_id};
use sifr_store::{
    ActivityChunk, ActivityKind, ActivityQuery, Committed, PendingEntries, ProcessorStore,
};

use crate::support::{backends, tenant};

const PIPELINE: &str = "p1";
const GROUP: &str = "/a";
const DAY: i64 = 86_400;

fn identity(key: &str) -> Identity {
    activity_id(PIPELINE, 0, GROUP, DAY, &[key, "", "", "", ""])
}

/// One segment of `rows` (unique key, value, identity) written by `execution`.
async fn write(
    store: &dyn ProcessorStore,
    execution: &str,
    pending: &mut PendingEntries,
    rows: &[(&str, &str, Identity)],
) {
    let outputs = ["key".to_owned(), "value".to_owned()];
    let mut builder = SegmentBuilder::new(GROUP, &outputs);
    for (n, (key, value, identity)) in rows.iter().enumerate() {
        builder.push(
            *identity,
            &SegmentRow {
                date: DAY,
                row: n as i64 + 1,
                keys: [key, "", "", "", ""],
                values: &[Some(key), Some(value)],
                errors: None,
            },
        );
    }
    let segment = SegmentSealer::new().unwrap().seal(builder).unwrap();
    store
        .write_activities(
            &ActivityChunk {
                pipeline_id: PIPELINE.into(),
                execution_id: execution.into(),
                kind: ActivityKind::Raw,
                created_at: 1,
                segments: vec![segment],
                audits: Vec::new(),
            },
            pending,
        )
        .await
        .expect("write");
}

/// The index entries `execution` wrote, for its commit.
fn taken(pending: &mut HashMap<&str, PendingEntries>, execution: &str) -> PendingEntries {
    pending.remove(execution).expect("an execution")
}

/// The index entries `execution` writes.
fn at<'a>(
    pending: &'a mut HashMap<&str, PendingEntries>,
    execution: &str,
) -> &'a mut PendingEntries {
    pending.get_mut(execution).expect("an execution")
}

/// (key, value) of the activities a query returns, in order.
async fn listed(store: &dyn ProcessorStore, history: bool) -> Vec<(String, String)> {
    let query = ActivityQuery {
        pipeline_id: Some(PIPELINE.into()),
        group: GROUP.into(),
        history,
        ..ActivityQuery::default()
    };
    store
        .activities(&query)
        .await
        .expect("list")
        .into_iter()
        .map(|r| {
            let vals: serde_json::Value = serde_json::from_str(&r.vals).unwrap();
            (
                r.key1,
                vals["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn versions_appear_when_committed_and_collisions_are_refused() {
    for backend in backends().await {
        let name = backend.name;
        let tenant = tenant(&backend).await;
        let store = tenant.processor();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut pending: HashMap<&str, PendingEntries> = ["e1", "e2", "e3"]
            .into_iter()
            .map(|e| (e, PendingEntries::new(dir.path())))
            .collect();
        let raw = ActivityKind::Raw;
        write(
            store,
            "e1",
            at(&mut pending, "e1"),
            &[("x", "1", identity("x")), ("y", "2", identity("y"))],
        )
        .await;
        assert!(listed(store, false).await.is_empty(), "{name}: uncommitted");
        let first = store
            .commit_activities(PIPELINE, raw, "e1", taken(&mut pending, "e1"))
            .await
            .expect("commit e1");
        assert_eq!(
            first,
            Committed {
                versions: 2,
                created: 2
            },
            "{name}"
        );
        assert_eq!(
            listed(store, false).await,
            pairs(&[("x", "1"), ("y", "2")]),
            "{name}"
        );

        // A second execution: a new version of x (twice: the later row wins) and a new z.
        write(
            store,
            "e2",
            at(&mut pending, "e2"),
            &[
                ("x", "3", identity("x")),
                ("z", "4", identity("z")),
                ("x", "5", identity("x")),
            ],
        )
        .await;
        assert_eq!(
            listed(store, false).await.len(),
            2,
            "{name}: e2 not committed yet"
        );
        let second = store
            .commit_activities(PIPELINE, raw, "e2", taken(&mut pending, "e2"))
            .await
            .expect("commit e2");
        assert_eq!(
            second,
            Committed {
                versions: 3,
                created: 1
            },
            "{name}"
        );
        assert_eq!(
            listed(store, false).await,
            pairs(&[("y", "2"), ("z", "4"), ("x", "5")]),
            "{name}: latest versions, in the order they were written"
        );
        assert_eq!(
            listed(store, true).await,
            pairs(&[("x", "1"), ("y", "2"), ("x", "3"), ("z", "4"), ("x", "5")]),
            "{name}: history"
        );

        // Another identity with x's number: the commit fails and changes nothing.
        let x = identity("x");
        let impostor = Identity {
            id: x.id,
            check: x.check.wrapping_add(1),
        };
        write(
            store,
            "e3",
            at(&mut pending, "e3"),
            &[("w", "6", impostor), ("v", "7", identity("v"))],
        )
        .await;
        let refused = store
            .commit_activities(PIPELINE, raw, "e3", taken(&mut pending, "e3"))
            .await;
        assert!(refused.is_err(), "{name}: {refused:?}");
        assert_eq!(
            listed(store, false).await.len(),
            3,
            "{name}: nothing of e3 shows"
        );
        assert!(
            !store.discard_uncommitted("e3").await.expect("discard e3"),
            "{name}"
        );
        // Discarded: e3 run again from nothing (its entries gone with it) has nothing to commit.
        let empty = store
            .commit_activities(PIPELINE, raw, "e3", PendingEntries::new(dir.path()))
            .await
            .expect("commit after discard");
        assert_eq!(empty, Committed::default(), "{name}");
        assert!(
            store.discard_uncommitted("e2").await.expect("discard e2"),
            "{name}"
        );
        assert_eq!(
            listed(store, true).await.len(),
            5,
            "{name}: committed versions stay"
        );

        let extent = store.execution_extent("e2").await.expect("extent");
        assert_eq!(extent.groups, [GROUP], "{name}");
        assert_eq!(extent.dates, Some((DAY, DAY)), "{name}");
    }
}
