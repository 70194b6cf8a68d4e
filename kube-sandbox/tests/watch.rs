//! Watches: history replay, 410 Gone, bookmarks, selectors, initial events.

mod common;

use std::time::Duration;

use common::{create, sandbox_with_gizmos, sandbox_with_options, Gizmo};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DeleteParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::ResourceExt;
use kube_sandbox::SandboxOptions;
use serde_json::json;

/// Collects event summaries until the stream ends, `stop` matches, or 5 s pass.
async fn collect(
    api: &Api<Gizmo>,
    params: &WatchParams,
    rv: &str,
    stop: impl Fn(&str) -> bool,
) -> Vec<String> {
    let stream = api.watch(params, rv).await.expect("watch starts");
    let mut stream = stream.boxed();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Ok(Some(ev))) = tokio::time::timeout_at(deadline, stream.try_next()).await {
        let summary = match ev {
            WatchEvent::Added(o) => format!("ADDED {}", o.name_any()),
            WatchEvent::Modified(o) => format!("MODIFIED {}", o.name_any()),
            WatchEvent::Deleted(o) => format!("DELETED {}", o.name_any()),
            WatchEvent::Bookmark(b) => {
                let end = b
                    .metadata
                    .annotations
                    .contains_key("k8s.io/initial-events-end");
                format!(
                    "BOOKMARK {}{}",
                    b.metadata.resource_version,
                    if end { " initial-end" } else { "" }
                )
            }
            WatchEvent::Error(e) => format!("ERROR {}", e.code),
        };
        let done = stop(&summary);
        seen.push(summary);
        if done {
            break;
        }
    }
    seen
}

#[tokio::test]
async fn watch_from_an_older_revision_replays_the_changes_since() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let a = create(&gizmos, "a", 1).await;
    create(&gizmos, "b", 1).await;
    gizmos
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .unwrap();
    gizmos.delete("b", &DeleteParams::default()).await.unwrap();

    let params = WatchParams::default().timeout(1).disable_bookmarks();
    let seen = collect(&gizmos, &params, &a.resource_version().unwrap(), |_| false).await;
    assert_eq!(seen, vec!["ADDED b", "MODIFIED a", "DELETED b"]);
}

#[tokio::test]
async fn watch_from_revision_1_reports_410_gone() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let seen = collect(&gizmos, &WatchParams::default().timeout(2), "1", |_| true).await;
    assert_eq!(seen, vec!["ERROR 410"]);
}

#[tokio::test]
async fn watch_from_an_evicted_revision_reports_410_gone_but_recent_ones_replay() {
    let options = SandboxOptions {
        history_capacity: 3,
        ..SandboxOptions::default()
    };
    let (_sandbox, gizmos) = sandbox_with_options(options).await;
    let first = create(&gizmos, "a", 1).await;
    let mut last = first.clone();
    for name in ["b", "c", "d", "e"] {
        last = create(&gizmos, name, 1).await;
    }
    let params = WatchParams::default().timeout(1).disable_bookmarks();
    let gone = collect(&gizmos, &params, &first.resource_version().unwrap(), |_| {
        true
    })
    .await;
    assert_eq!(gone, vec!["ERROR 410"]);

    let before_last = (last.resource_version().unwrap().parse::<u64>().unwrap() - 1).to_string();
    let recent = collect(&gizmos, &params, &before_last, |_| false).await;
    assert_eq!(recent, vec!["ADDED e"]);
}

#[tokio::test]
async fn bookmarks_promise_the_revision_of_the_last_change() {
    let options = SandboxOptions {
        bookmark_interval: Duration::from_millis(100),
        ..SandboxOptions::default()
    };
    let (_sandbox, gizmos) = sandbox_with_options(options).await;
    let list = gizmos
        .list(&kube::api::ListParams::default())
        .await
        .unwrap();
    let writer = gizmos.clone();
    let write = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        create(&writer, "a", 1).await
    });
    let seen = collect(
        &gizmos,
        &WatchParams::default().timeout(3),
        &list.metadata.resource_version.unwrap(),
        |s| s.starts_with("BOOKMARK") && !s.ends_with("initial-end"),
    )
    .await;
    let created = write.await.unwrap();
    let seen = if seen.iter().any(|s| s == "ADDED a") {
        seen
    } else {
        // The first bookmark may precede the write; keep watching from it.
        let rv = seen
            .last()
            .unwrap()
            .trim_start_matches("BOOKMARK ")
            .to_owned();
        collect(&gizmos, &WatchParams::default().timeout(3), &rv, |s| {
            s.starts_with("BOOKMARK")
        })
        .await
    };
    let added = seen
        .iter()
        .position(|s| s == "ADDED a")
        .expect("saw the create");
    assert_eq!(
        seen[added + 1],
        format!("BOOKMARK {}", created.resource_version().unwrap())
    );
}

#[tokio::test]
async fn label_selector_watch_reports_objects_that_stop_matching_as_deleted() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let a = create(&gizmos, "a", 1).await;
    for labels in [json!({"team": "x"}), json!({"team": "y"})] {
        gizmos
            .patch(
                "a",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": labels}})),
            )
            .await
            .unwrap();
    }
    let params = WatchParams::default()
        .labels("team=x")
        .timeout(1)
        .disable_bookmarks();
    let seen = collect(&gizmos, &params, &a.resource_version().unwrap(), |_| false).await;
    assert_eq!(seen, vec!["ADDED a", "DELETED a"]);
}

#[tokio::test]
async fn initial_events_end_with_an_annotated_bookmark() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let b = create(&gizmos, "b", 1).await;
    let params = WatchParams::default().initial_events().timeout(2);
    let seen = collect(&gizmos, &params, "0", |s| s.ends_with("initial-end")).await;
    let end = format!("BOOKMARK {} initial-end", b.resource_version().unwrap());
    assert_eq!(seen, vec!["ADDED a".to_owned(), "ADDED b".to_owned(), end]);
}

#[tokio::test]
async fn runtime_watcher_sees_changes_in_order() {
    use kube::runtime::{watcher, WatchStreamExt};
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let mut stream = watcher(gizmos.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.name_any(), "a");
    gizmos
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 7}})),
        )
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.spec.size, 7);
}
