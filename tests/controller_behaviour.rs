//! The controller's manners: suspend, the manual trigger, what a converged object costs,
//! faults, restarts in the middle of an operation, and two replicas at once.

mod support;

use std::time::Duration;

use cde_operator::{
    cde::{endpoints::Endpoint, Token},
    resource::{ConnectorVersionStatus, PendingOperation, REQUESTED_AT_ANNOTATION},
    sim::ScriptedFault,
};
use kube::api::{Patch, PatchParams};
use serde_json::json;
use support::*;

fn total_calls(env: &Env) -> u64 {
    env.simulator().request_counts().values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_stops_every_remote_call_and_says_so() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create_spec(
        "bolt",
        json!({
            "connectorId": BOLT, "version": 1, "desiredState": "prod", "interval": "1s", "suspend": true,
            "credentials": {"secretRef": {"name": "cde-token", "key": "token"}}
        }),
    )
    .await;

    env.wait_ready("bolt", "Unknown", "Suspended").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        total_calls(&env),
        0,
        "a suspended object must not reach the CDE API: {:?}",
        env.simulator().request_counts()
    );

    env.patch_spec("bolt", json!({"suspend": false})).await;
    env.wait_ready("bolt", "True", "Converged").await;
    assert_eq!(env.calls("POST sync-prod"), 1);
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requested_at_annotation_forces_a_pass_and_is_echoed() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create("bolt", BOLT, 1, "prod", "10m").await;
    env.wait_ready("bolt", "True", "Converged").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.simulator().reset_requests();

    env.annotate("bolt", REQUESTED_AT_ANNOTATION, "2026-12-04T12:00:00Z")
        .await;
    let o = env
        .wait_for("bolt", 10, |o| {
            o.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some("2026-12-04T12:00:00Z")
        })
        .await;
    assert_eq!(ready(&o), Some(("True".into(), "Converged".into())));
    assert_eq!(
        env.calls("GET show-connector"),
        1,
        "one forced pass, one GET"
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converged_object_costs_one_get_per_pass_and_no_kubernetes_writes() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create("bolt", BOLT, 1, "prod", "1s").await;
    env.wait_ready("bolt", "True", "Converged").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mark = ctrl.requests.mark();
    let server_mark = match &env.cluster {
        Cluster::Sandbox(sandbox) => Some(sandbox.requests().mark()),
        Cluster::External => None,
    };
    env.simulator().reset_requests();
    let passes_before = ctrl.passes();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let passes = ctrl.passes() - passes_before;
    let requests = env.simulator().request_counts();

    assert!(
        passes >= 4,
        "a 1s interval should give at least 4 passes in 6s, got {passes}"
    );
    assert_eq!(
        requests.get("GET show-connector").copied().unwrap_or(0),
        passes,
        "one GET per pass: {requests:?}"
    );
    assert_eq!(
        requests.values().sum::<u64>(),
        passes,
        "nothing but the GET: {requests:?}"
    );
    let writes = ctrl.writes_since(mark);
    assert!(
        writes.is_empty(),
        "no Kubernetes writes in steady state: {writes:?}"
    );
    // Counted at the server too, where the server is ours.
    if let (Cluster::Sandbox(sandbox), Some(server_mark)) = (&env.cluster, server_mark) {
        let seen = sandbox.requests().since(server_mark);
        assert_eq!(seen.writes(), 0, "the sandbox saw writes: {seen}");
    }
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_rate_limits_are_retried_until_converged() {
    let env = Env::start().await;
    // Three 503s exhaust the first GET's retries; then a 429 asks for one second.
    env.simulator()
        .add_fault(ScriptedFault::respond(
            Some(Endpoint::ShowConnector),
            3,
            503,
            Some(json!({"message": "Service Unavailable"})),
        ))
        .unwrap();
    env.simulator()
        .add_fault(ScriptedFault::rate_limited(
            Some(Endpoint::ShowConnector),
            3,
            1,
        ))
        .unwrap();
    let ctrl = env.run_controller();
    env.create("bolt", BOLT, 1, "prod", "10m").await;

    env.wait_ready("bolt", "True", "Converged").await;
    assert_eq!(env.calls("POST sync-prod"), 1);
    assert!(
        env.calls("GET show-connector") >= 7,
        "{:?}",
        env.simulator().request_counts()
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_state_refusal_is_retried_after_observing_again() {
    let env = Env::start().await;
    env.simulator()
        .add_fault(ScriptedFault::wrong_state(
            Some(Endpoint::SyncToProd),
            1,
            "resynchronizing-to-prod",
        ))
        .unwrap();
    let ctrl = env.run_controller();
    env.create("bolt", BOLT, 1, "prod", "10m").await;

    let o = env.wait_ready("bolt", "True", "Converged").await;
    assert_eq!(env.calls("POST sync-prod"), 2, "one refused, one accepted");
    assert_eq!(last_operation(&o).as_deref(), Some("sync-prod"));
    ctrl.stop().await;
    env.shutdown().await;
}

/// Writes a pending-operation record, as an operator that crashed around its call left it.
async fn leave_pending(env: &Env, name: &str, operation: &str) {
    let status = ConnectorVersionStatus {
        observed_generation: 1,
        pending_operation: Some(PendingOperation {
            name: operation.into(),
            id: "crashed-attempt".into(),
            started: jiff::Timestamp::now().to_string(),
            generation: 1,
        }),
        ..Default::default()
    };
    let patch = json!({"apiVersion": "cde.productsup.com/v1alpha1", "kind": "ConnectorVersion", "status": status});
    env.api()
        .patch_status(
            name,
            &PatchParams::apply("cde-operator").force(),
            &Patch::Apply(&patch),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_does_not_repeat_a_call_recorded_as_in_flight() {
    let env = Env::start().await;
    env.create("bolt", BOLT, 1, "prod", "10m").await;
    leave_pending(&env, "bolt", "sync-prod").await;

    let ctrl = env.run_controller();
    env.wait_ready("bolt", "False", "PendingOperation").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.calls("POST sync-prod"),
        0,
        "inside the grace window the call is not issued again"
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_the_call_landed_records_it_and_moves_on() {
    let env = Env::start().await;
    env.create("bolt", BOLT, 1, "prod", "10m").await;
    // The previous operator called sync-prod and died before recording the result.
    env.cde_client()
        .mutate(
            Endpoint::SyncToProd,
            uuid(BOLT),
            1,
            &Token::new(TOKEN).unwrap(),
        )
        .await
        .unwrap();
    leave_pending(&env, "bolt", "sync-prod").await;

    let ctrl = env.run_controller();
    let o = env.wait_ready("bolt", "True", "Converged").await;
    assert_eq!(
        env.calls("POST sync-prod"),
        1,
        "only the crashed operator's call"
    );
    assert!(
        o.status.unwrap().pending_operation.is_none(),
        "the stale pending record is cleared"
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_issue_every_mutation_once() {
    let env = Env::start().await;
    let a = env.run_controller();
    let b = env.run_controller();
    env.create("acme", ACME, 1, "dev", "10m").await;
    env.create("bolt", BOLT, 1, "prod", "10m").await;
    env.create("legacy", LEGACY, 1, "rolled-back", "10m").await;

    for name in ["acme", "bolt", "legacy"] {
        env.wait_ready(name, "True", "Converged").await;
    }
    for call in [
        "POST sync-runtime",
        "POST ensure-dev-site",
        "POST publish-to-platform",
        "POST assign-to-dev-site",
        "POST sync-prod",
        "POST migration-rollback",
    ] {
        assert_eq!(
            env.calls(call),
            1,
            "{call}: {:?}",
            env.simulator().request_counts()
        );
    }
    a.stop().await;
    b.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_whose_outcome_is_unknown_is_not_sent_again_inside_the_grace_window() {
    let env = Env::start().await;
    // The CDE answers sync-prod with a 503, then drops the connection of the next one: either
    // way the caller cannot know whether it acted.
    env.simulator()
        .add_fault(ScriptedFault::respond(
            Some(Endpoint::SyncToProd),
            1,
            503,
            Some(json!({"message": "Service Unavailable"})),
        ))
        .unwrap();
    env.simulator()
        .add_fault(ScriptedFault::drop_connection(
            Some(Endpoint::SyncToProd),
            1,
        ))
        .unwrap();
    let ctrl = env.run_controller();
    env.create("bolt", BOLT, 1, "prod", "10m").await;

    let o = env.wait_ready("bolt", "False", "PendingOperation").await;
    let status = o.status.unwrap();
    assert_eq!(status.last_operation.unwrap().outcome, "Unknown");
    assert_eq!(status.pending_operation.unwrap().name, "sync-prod");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        env.calls("POST sync-prod"),
        1,
        "observe, do not call again, while the first call may still be acting"
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_secret_stalls_until_it_is_created() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create_spec(
        "bolt",
        json!({
            "connectorId": BOLT, "version": 1, "desiredState": "prod", "interval": "10m",
            "credentials": {"secretRef": {"name": "late-token", "key": "token"}}
        }),
    )
    .await;

    let o = env
        .wait_ready("bolt", "False", "CredentialsUnavailable")
        .await;
    assert!(condition(&o, "Stalled")
        .unwrap()
        .message
        .contains("late-token"));
    assert_eq!(total_calls(&env), 0, "no token, no CDE call");

    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: late-token\n  namespace: {}\nstringData:\n  token: {TOKEN}\n",
        env.ns
    );
    cde_operator::demo::apply_manifest(&env.kube, "late-token", &secret)
        .await
        .unwrap();
    env.wait_ready("bolt", "True", "Converged").await;
    ctrl.stop().await;
    env.shutdown().await;
}
