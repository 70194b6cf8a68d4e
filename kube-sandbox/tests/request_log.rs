//! The request log: exact write counts by verb, resource, subresource and
//! manager, and a controller whose steady state makes no writes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{create, gizmo, sandbox_with_gizmos, Gizmo};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use kube_sandbox::Verb;
use serde_json::json;

#[tokio::test]
async fn writes_are_counted_by_verb_resource_subresource_and_manager() {
    let (sandbox, gizmos) = sandbox_with_gizmos().await;
    let log = sandbox.requests();
    let mark = log.mark();

    create(&gizmos, "a", 1).await;
    gizmos.get("a").await.unwrap();
    gizmos.list(&ListParams::default()).await.unwrap();
    gizmos
        .patch_status(
            "a",
            &PatchParams::apply("ctrl"),
            &Patch::Apply(json!({
            "apiVersion": "test.example.com/v1", "kind": "Gizmo", "status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    gizmos.delete("a", &DeleteParams::default()).await.unwrap();

    let since = log.since(mark);
    assert_eq!(since.writes(), 3, "{since}");
    assert_eq!(since.reads(), 2);
    assert_eq!(since.writes_to("gizmos"), 3);
    assert_eq!(since.status_writes_to("gizmos"), 1);
    assert_eq!(since.writes_by_manager("ctrl"), 1);
    assert_eq!(since.by_verb(Verb::Create), 1);
    assert_eq!(since.by_verb(Verb::Delete), 1);
    let patch = since
        .records()
        .iter()
        .find(|r| r.verb == Verb::Patch)
        .unwrap();
    assert_eq!(
        patch.patch_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
}

#[tokio::test]
async fn failed_writes_are_recorded_with_their_status() {
    let (sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let mark = sandbox.requests().mark();
    let _ = gizmos.create(&PostParams::default(), &gizmo("a", 1)).await;
    let since = sandbox.requests().since(mark);
    assert_eq!(since.writes(), 1);
    assert_eq!(since.records()[0].status, 409);
}

#[tokio::test]
async fn events_and_leases_are_counted_separately() {
    let (sandbox, gizmos) = sandbox_with_gizmos().await;
    let g = create(&gizmos, "a", 1).await;
    let mark = sandbox.requests().mark();

    let recorder = Recorder::new(
        sandbox.client(),
        Reporter {
            controller: "ctrl".into(),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Tested".into(),
        note: None,
        action: "Test".into(),
        secondary: None,
    };
    recorder.publish(&event, &g.object_ref(&())).await.unwrap();
    recorder.publish(&event, &g.object_ref(&())).await.unwrap(); // second one patches the series

    let leases: Api<Lease> = Api::default_namespaced(sandbox.client());
    let mut lease = Lease::default();
    lease.metadata.name = Some("leader".into());
    leases.create(&PostParams::default(), &lease).await.unwrap();

    let since = sandbox.requests().since(mark);
    assert_eq!(since.events_created(), 1);
    assert_eq!(since.writes_to("events"), 2);
    assert_eq!(since.lease_writes(), 1);
    assert_eq!(since.writes(), 3);
}

#[tokio::test]
async fn dry_run_writes_are_counted_but_not_stored() {
    let (sandbox, gizmos) = sandbox_with_gizmos().await;
    let mark = sandbox.requests().mark();
    let params = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    gizmos.create(&params, &gizmo("a", 1)).await.unwrap();
    assert_eq!(sandbox.requests().since(mark).writes(), 1);
    assert!(gizmos.get("a").await.is_err());
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ReconcileError(#[from] kube::Error);

/// Writes status only when it differs: the steady state is write-free.
async fn reconcile(g: Arc<Gizmo>, api: Arc<Api<Gizmo>>) -> Result<Action, ReconcileError> {
    let desired = if g.spec.size > 0 { "Ready" } else { "Empty" };
    if g.status.as_ref().and_then(|s| s.phase.as_deref()) != Some(desired) {
        let body = json!({"apiVersion": "test.example.com/v1", "kind": "Gizmo", "status": {"phase": desired}});
        api.patch_status(
            &g.name_any(),
            &PatchParams::apply("gizmo-ctrl").force(),
            &Patch::Apply(body),
        )
        .await?;
    }
    Ok(Action::requeue(Duration::from_millis(100)))
}

#[tokio::test]
async fn steady_state_controller_makes_zero_writes() {
    let (sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let controller = Controller::new(gizmos.clone(), watcher::Config::default())
        .run(
            reconcile,
            |_, _, _| Action::requeue(Duration::from_millis(100)),
            Arc::new(gizmos.clone()),
        )
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);

    common::eventually("gizmo becomes Ready", || async {
        gizmos
            .get("a")
            .await
            .ok()
            .and_then(|g| g.status)
            .and_then(|s| s.phase)
            .as_deref()
            == Some("Ready")
    })
    .await;
    let mark = sandbox.requests().mark();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let steady = sandbox.requests().since(mark);
    assert_eq!(steady.writes(), 0, "steady state wrote:\n{steady}");

    gizmos
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 0}})),
        )
        .await
        .unwrap();
    common::eventually("gizmo becomes Empty", || async {
        gizmos
            .get("a")
            .await
            .ok()
            .and_then(|g| g.status)
            .and_then(|s| s.phase)
            .as_deref()
            == Some("Empty")
    })
    .await;
    assert_eq!(sandbox.requests().since(mark).status_writes_to("gizmos"), 1);
    handle.abort();
}
