//! Server-side apply: creation, field ownership, conflicts, forcing, and
//! removal of fields a manager stops applying.

mod common;

use common::{api_code, sandbox_with_gizmos, Gizmo};
use kube::api::{Api, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::{json, Value};

fn config(spec: &Value) -> Value {
    json!({"apiVersion": "test.example.com/v1", "kind": "Gizmo", "metadata": {"name": "a"}, "spec": spec})
}

async fn apply(
    api: &Api<Gizmo>,
    manager: &str,
    force: bool,
    spec: &Value,
) -> Result<Gizmo, kube::Error> {
    let mut params = PatchParams::apply(manager);
    if force {
        params = params.force();
    }
    api.patch("a", &params, &Patch::Apply(config(spec))).await
}

fn managers(g: &Gizmo) -> Vec<(String, String)> {
    g.metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            (
                e.manager.unwrap_or_default(),
                e.operation.unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn apply_creates_a_missing_object_owned_by_the_applier() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let created = apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    assert_eq!(created.spec.size, 1);
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        managers(&created),
        vec![("alice".to_owned(), "Apply".to_owned())]
    );
}

#[tokio::test]
async fn second_manager_setting_a_different_value_gets_409_naming_the_field() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    let err = apply(&gizmos, "bob", false, &json!({"size": 2}))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(409));
    let kube::Error::Api(status) = err else {
        unreachable!()
    };
    assert!(
        status
            .message
            .contains(r#"conflict with "alice": .spec.size"#),
        "{}",
        status.message
    );
    assert_eq!(gizmos.get("a").await.unwrap().spec.size, 1);
}

#[tokio::test]
async fn same_value_from_a_second_manager_is_shared_without_conflict() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    let shared = apply(&gizmos, "bob", false, &json!({"size": 1}))
        .await
        .unwrap();
    assert_eq!(managers(&shared).len(), 2);
}

#[tokio::test]
async fn forced_apply_takes_ownership_from_the_previous_manager() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    apply(&gizmos, "alice", false, &json!({"size": 1, "color": "red"}))
        .await
        .unwrap();
    let forced = apply(&gizmos, "bob", true, &json!({"size": 2}))
        .await
        .unwrap();
    assert_eq!(forced.spec.size, 2);
    assert_eq!(
        forced.spec.color.as_deref(),
        Some("red"),
        "alice keeps color"
    );

    // Now alice is the one in conflict.
    let err = apply(&gizmos, "alice", false, &json!({"size": 1, "color": "red"}))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(409));
}

#[tokio::test]
async fn fields_a_manager_stops_applying_are_removed_unless_co_owned() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    apply(&gizmos, "alice", false, &json!({"size": 1, "color": "red"}))
        .await
        .unwrap();
    let dropped = apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    assert_eq!(dropped.spec.color, None);

    apply(
        &gizmos,
        "alice",
        false,
        &json!({"size": 1, "color": "blue"}),
    )
    .await
    .unwrap();
    apply(&gizmos, "bob", false, &json!({"size": 1, "color": "blue"}))
        .await
        .unwrap();
    let kept = apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    assert_eq!(
        kept.spec.color.as_deref(),
        Some("blue"),
        "bob still owns color"
    );
}

#[tokio::test]
async fn reapplying_the_same_configuration_changes_nothing() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let first = apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    let again = apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    assert_eq!(again.resource_version(), first.resource_version());
    assert_eq!(again.metadata.managed_fields, first.metadata.managed_fields);
}

#[tokio::test]
async fn update_writers_own_what_they_change_and_conflict_with_appliers() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    gizmos
        .patch(
            "a",
            &PatchParams {
                field_manager: Some("editor".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"spec": {"size": 5}})),
        )
        .await
        .unwrap();
    let err = apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected an API error")
    };
    assert!(status.message.contains(r#""editor""#), "{}", status.message);
}

#[tokio::test]
async fn conditions_from_two_managers_merge_by_type() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    apply(&gizmos, "alice", false, &json!({"size": 1}))
        .await
        .unwrap();
    let raw: Api<kube::api::DynamicObject> = Api::default_namespaced_with(
        gizmos.clone().into_client(),
        &kube::api::ApiResource::erase::<Gizmo>(&()),
    );
    for (manager, type_) in [("ready-ctrl", "Ready"), ("sync-ctrl", "Synced")] {
        let body = json!({"apiVersion": "test.example.com/v1", "kind": "Gizmo",
            "status": {"conditions": [{"type": type_, "status": "True"}]}});
        raw.patch_status("a", &PatchParams::apply(manager), &Patch::Apply(body))
            .await
            .unwrap();
    }
    let obj = raw.get("a").await.unwrap();
    let types: Vec<&str> = obj.data["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["type"].as_str())
        .collect();
    assert_eq!(types, vec!["Ready", "Synced"]);
}

#[tokio::test]
async fn a_map_whose_fields_are_all_dropped_by_its_applier_goes_away_too() {
    use kube::core::{ApiResource, DynamicObject};
    let (sandbox, _gizmos) = sandbox_with_gizmos().await;
    let raw: Api<DynamicObject> = Api::namespaced_with(
        sandbox.client(),
        "default",
        &ApiResource::erase::<Gizmo>(&()),
    );
    let params = PatchParams::apply("alice");
    raw.patch(
        "a",
        &params,
        &Patch::Apply(config(&json!({"size": 1, "extra": {"a": 1, "b": 2}}))),
    )
    .await
    .unwrap();
    let after = raw
        .patch("a", &params, &Patch::Apply(config(&json!({"size": 1}))))
        .await
        .unwrap();
    assert_eq!(after.data["spec"], json!({"size": 1}));
}
