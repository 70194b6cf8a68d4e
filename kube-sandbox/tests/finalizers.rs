//! Deletion with finalizers, including kube-runtime's `finalizer()` helper.

mod common;

use std::sync::Arc;

use common::{api_code, create, gizmo, sandbox_with_gizmos, Gizmo};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event};
use kube::ResourceExt;
use serde_json::json;

const FINALIZER: &str = "test.example.com/cleanup";

#[tokio::test]
async fn delete_with_a_finalizer_only_marks_the_object() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let mut g = gizmo("a", 1);
    g.metadata.finalizers = Some(vec![FINALIZER.into()]);
    gizmos.create(&PostParams::default(), &g).await.unwrap();

    gizmos.delete("a", &DeleteParams::default()).await.unwrap();
    let held = gizmos.get("a").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    assert_eq!(held.finalizers(), [FINALIZER]);
}

#[tokio::test]
async fn removing_the_last_finalizer_completes_the_deletion() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let mut g = gizmo("a", 1);
    g.metadata.finalizers = Some(vec![FINALIZER.into()]);
    gizmos.create(&PostParams::default(), &g).await.unwrap();
    gizmos.delete("a", &DeleteParams::default()).await.unwrap();

    gizmos
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    assert_eq!(api_code(&gizmos.get("a").await.unwrap_err()), Some(404));
}

#[tokio::test]
async fn no_new_finalizers_can_be_added_while_deleting() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let mut g = gizmo("a", 1);
    g.metadata.finalizers = Some(vec![FINALIZER.into()]);
    gizmos.create(&PostParams::default(), &g).await.unwrap();
    gizmos.delete("a", &DeleteParams::default()).await.unwrap();
    let err = gizmos
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": [FINALIZER, "other/finalizer"]}})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(422));
}

#[tokio::test]
async fn runtime_finalizer_helper_adds_then_cleans_up_and_releases() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let run = |obj: Gizmo| {
        let api = gizmos.clone();
        async move {
            finalizer(&api, FINALIZER, Arc::new(obj), |event| async move {
                // Both phases succeed at once; the test is about the finalizer bookkeeping.
                let (Event::Apply(_) | Event::Cleanup(_)) = event;
                Ok::<_, std::convert::Infallible>(Action::await_change())
            })
            .await
        }
    };

    run(gizmos.get("a").await.unwrap()).await.unwrap();
    assert_eq!(gizmos.get("a").await.unwrap().finalizers(), [FINALIZER]);

    gizmos.delete("a", &DeleteParams::default()).await.unwrap();
    run(gizmos.get("a").await.unwrap()).await.unwrap();
    assert_eq!(api_code(&gizmos.get("a").await.unwrap_err()), Some(404));
}

#[tokio::test]
async fn delete_preconditions_guard_against_the_wrong_object() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let params = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: Some("not-the-uid".into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    assert_eq!(
        api_code(&gizmos.delete("a", &params).await.unwrap_err()),
        Some(409)
    );
    assert!(gizmos.get("a").await.is_ok());
}
