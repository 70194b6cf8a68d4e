//! The status subresource: `/status` writes touch only status, the main
//! endpoint never does.

mod common;

use common::{create, sandbox_with_gizmos};
use kube::api::{Patch, PatchParams, PostParams};
use kube::ResourceExt;
use serde_json::json;

#[tokio::test]
async fn status_patch_changes_only_status_and_keeps_generation() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let g = create(&gizmos, "a", 1).await;
    let patched = gizmos
        .patch_status(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 99}, "status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        patched.status.clone().unwrap().phase.as_deref(),
        Some("Ready")
    );
    assert_eq!(patched.spec.size, 1, "spec is ignored on /status");
    assert_eq!(patched.metadata.generation, g.metadata.generation);
    assert_ne!(patched.resource_version(), g.resource_version());
}

#[tokio::test]
async fn main_endpoint_ignores_status_changes() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    gizmos
        .patch_status(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    let mut g = gizmos.get("a").await.unwrap();
    g.status.as_mut().unwrap().phase = Some("Hacked".into());
    g.spec.size = 2;
    let replaced = gizmos
        .replace("a", &PostParams::default(), &g)
        .await
        .unwrap();
    assert_eq!(replaced.spec.size, 2);
    assert_eq!(replaced.status.unwrap().phase.as_deref(), Some("Ready"));
}

#[tokio::test]
async fn status_is_dropped_on_create_when_the_subresource_exists() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let mut g = common::gizmo("a", 1);
    g.status = Some(common::GizmoStatus {
        phase: Some("Preset".into()),
    });
    let created = gizmos.create(&PostParams::default(), &g).await.unwrap();
    assert_eq!(created.status, None);
}

#[tokio::test]
async fn status_apply_and_get_status_return_the_full_object() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 3).await;
    let applied = gizmos
        .patch_status(
            "a",
            &PatchParams::apply("ctrl"),
            &Patch::Apply(json!({"apiVersion": "test.example.com/v1", "kind": "Gizmo", "status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert_eq!(applied.spec.size, 3);
    let fetched = gizmos.get_status("a").await.unwrap();
    assert_eq!(fetched.spec.size, 3);
    assert_eq!(fetched.status.unwrap().phase.as_deref(), Some("Ready"));
    let status_entry = fetched
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.manager.as_deref() == Some("ctrl"))
        .expect("ctrl owns status");
    assert_eq!(status_entry.subresource.as_deref(), Some("status"));
    assert_eq!(status_entry.operation.as_deref(), Some("Apply"));
}
