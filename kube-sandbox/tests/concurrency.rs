//! Concurrent writers: every write gets its own revision, in order, and a
//! watch sees each one exactly once. Bounded: 4 writers × 25 objects.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::ResourceExt;
use kube_sandbox::Sandbox;

const WRITERS: usize = 4;
const PER_WRITER: usize = 25;

#[tokio::test]
async fn concurrent_creates_get_distinct_revisions_and_are_all_watched() {
    let sandbox = Sandbox::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(sandbox.client());
    let start = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let watch = cms
        .watch(&WatchParams::default().timeout(10), &start)
        .await
        .unwrap();

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let cms = cms.clone();
            tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    let mut cm = ConfigMap::default();
                    cm.metadata.name = Some(format!("w{w}-{i}"));
                    cms.create(&PostParams::default(), &cm).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }

    let mut revisions = Vec::new();
    let mut names = BTreeSet::new();
    let mut watch = watch.boxed();
    while revisions.len() < WRITERS * PER_WRITER {
        match tokio::time::timeout(Duration::from_secs(5), watch.try_next()).await {
            Ok(Ok(Some(WatchEvent::Added(cm)))) => {
                revisions.push(cm.resource_version().unwrap().parse::<u64>().unwrap());
                names.insert(cm.name_any());
            }
            Ok(Ok(Some(WatchEvent::Bookmark(_)))) => {}
            other => panic!(
                "unexpected watch outcome after {} events: {other:?}",
                revisions.len()
            ),
        }
    }
    assert_eq!(names.len(), WRITERS * PER_WRITER);
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "revisions strictly increase"
    );
    assert_eq!(
        sandbox.requests().snapshot().writes_to("configmaps"),
        WRITERS * PER_WRITER
    );
}
