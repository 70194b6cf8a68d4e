//! The Argo CD health script, run by a real Lua 5.4 interpreter against sample objects.

use std::path::PathBuf;

use mlua::{Lua, LuaSerdeExt, Table};
use serde_json::{json, Value};

fn script() -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/argocd/health.lua"),
    )
    .unwrap()
}

/// Runs the script with `obj` bound, as Argo CD does, and returns (status, message).
fn health(obj: &Value) -> (String, String) {
    let lua = Lua::new();
    lua.globals()
        .set("obj", lua.to_value(obj).unwrap())
        .unwrap();
    let hs: Table = lua.load(script()).eval().unwrap();
    (hs.get("status").unwrap(), hs.get("message").unwrap())
}

fn object(generation: i64, spec_extra: &Value, status: Option<Value>) -> Value {
    let mut spec = json!({"connectorId": "0190f1b7-1c2d-7e3f-8a4b-5c6d7e8f9a0b", "version": 1, "desiredState": "prod"});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        s.extend(extra.clone());
    }
    let mut o = json!({
        "apiVersion": "cde.productsup.com/v1alpha1",
        "kind": "ConnectorVersion",
        "metadata": {"name": "bolt-export-prod", "namespace": "cde-demo", "generation": generation},
        "spec": spec,
    });
    if let Some(status) = status {
        o["status"] = status;
    }
    o
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": "2026-12-04T10:00:00Z"})
}

#[test]
fn health_follows_the_conditions_for_the_current_generation() {
    let ready = |s: &str, r: &str| condition("Ready", s, r, "details");
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("no status yet", object(1, &json!({}), None), "Progressing", "Waiting for cde-operator"),
        ("status of an older generation", object(2, &json!({}), Some(json!({"observedGeneration": 1, "conditions": [ready("True", "Converged")]}))), "Progressing", "generation 2"),
        ("converged", object(1, &json!({}), Some(json!({"observedGeneration": 1, "conditions": [ready("True", "Converged")]}))), "Healthy", "Converged"),
        ("call in flight", object(1, &json!({}), Some(json!({"observedGeneration": 1, "conditions": [ready("False", "SyncToProd"), condition("Reconciling", "True", "SyncToProd", "x")]}))), "Progressing", "SyncToProd"),
        ("waiting for a build", object(1, &json!({}), Some(json!({"observedGeneration": 1, "conditions": [ready("False", "WaitingForBuild")]}))), "Progressing", "WaitingForBuild"),
        ("stalled", object(1, &json!({}), Some(json!({"observedGeneration": 1, "conditions": [ready("False", "NotPreviouslySyncedToProd"), condition("Stalled", "True", "NotPreviouslySyncedToProd", "cannot roll back")]}))), "Degraded", "NotPreviouslySyncedToProd: cannot roll back"),
        ("suspended", object(1, &json!({"suspend": true}), Some(json!({"observedGeneration": 1, "conditions": [condition("Ready", "Unknown", "Suspended", "x")]}))), "Suspended", "spec.suspend"),
    ];
    for (name, obj, status, message) in cases {
        let (got_status, got_message) = health(&obj);
        assert_eq!(got_status, status, "{name}");
        assert!(
            got_message.contains(message),
            "{name}: {got_message:?} lacks {message:?}"
        );
    }
}

#[test]
fn the_configmap_patch_carries_the_same_script() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/argocd");
    let patch: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("argocd-cm-patch.yaml")).unwrap())
            .unwrap();
    let embedded = patch["data"]
        ["resource.customizations.health.cde.productsup.com_ConnectorVersion"]
        .as_str()
        .unwrap();
    assert_eq!(embedded, script());
}
