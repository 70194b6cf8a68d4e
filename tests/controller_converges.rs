//! The real kube-runtime controller against the sandbox API server and the CDE simulator over
//! HTTP: each desired state converges, and drift is repaired.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_built_version_is_taken_to_dev_in_pipeline_order() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create("acme", ACME, 1, "dev", "10m").await;

    let o = env.wait_ready("acme", "True", "Converged").await;
    assert_eq!(
        o.status.unwrap().remote.unwrap().state.as_deref(),
        Some("synchronized-to-dev")
    );
    let order: Vec<&str> = env
        .simulator()
        .request_log()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| r.endpoint)
        .collect();
    assert_eq!(
        order,
        [
            "sync-runtime",
            "ensure-dev-site",
            "publish-to-platform",
            "assign-to-dev-site"
        ]
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_version_is_promoted_to_prod_once() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create("bolt", BOLT, 1, "prod", "10m").await;

    let o = env.wait_ready("bolt", "True", "Converged").await;
    let remote = o.status.unwrap().remote.unwrap();
    assert_eq!(remote.state.as_deref(), Some("synchronized-to-prod"));
    assert!(remote.prod_ever_synced);
    assert_eq!(env.calls("POST sync-prod"), 1);
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_version_is_rolled_back_and_set_back_to_prod_through_recreate() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create("legacy", LEGACY, 1, "rolled-back", "10m").await;

    let o = env.wait_ready("legacy", "True", "Converged").await;
    let remote = o.status.unwrap().remote.unwrap();
    assert!(remote.rollback_in_effect);
    assert_eq!(remote.prod_executable, Some(812));
    assert_eq!(env.calls("POST migration-rollback"), 1);

    env.patch_spec("legacy", json!({"desiredState": "prod"}))
        .await;
    let o = env.wait_ready("legacy", "True", "Converged").await;
    let remote = o.status.clone().unwrap().remote.unwrap();
    assert!(!remote.rollback_in_effect);
    assert_ne!(remote.prod_executable, Some(812));
    assert_eq!(
        last_operation(&o).as_deref(),
        Some("recreate-from-prod-backup")
    );
    assert_eq!(env.calls("POST recreate-from-prod-backup"), 1);
    assert_eq!(
        env.calls("POST sync-prod"),
        0,
        "recreate, not a new prod sync"
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_prod_platform_objects_are_recreated_from_the_backup() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    // Cobalt's seed already lacks its prod platform objects.
    env.create("cobalt", COBALT, 1, "prod", "1s").await;
    env.wait_ready("cobalt", "True", "Converged").await;
    assert_eq!(env.calls("POST recreate-from-prod-backup"), 1);

    // Remove them again: the next drift check (interval 1s) repairs it.
    env.simulator()
        .clear_prod_platform(uuid(COBALT), 1)
        .unwrap();
    env.wait_for("cobalt", 20, |_| {
        env.calls("POST recreate-from-prod-backup") == 2
    })
    .await;
    let o = env.wait_ready("cobalt", "True", "Converged").await;
    assert!(o.status.unwrap().remote.unwrap().prod_executable.is_some());
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_after_a_prod_sync_is_published_and_resynced() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create("bolt", BOLT, 1, "prod", "1s").await;
    env.wait_ready("bolt", "True", "Converged").await;
    assert_eq!(env.calls("POST sync-prod"), 1);

    env.simulator()
        .patch_config(
            uuid(BOLT),
            1,
            &json!({"application": {"arguments": "dist/cli.js export --fast"}}),
        )
        .unwrap();
    env.wait_for("bolt", 20, |_| env.calls("POST sync-prod") == 2)
        .await;
    env.wait_ready("bolt", "True", "Converged").await;
    let version = env.simulator().version_json(uuid(BOLT), 1).unwrap();
    assert_eq!(
        version["prod_config"]["application"]["arguments"],
        "dist/cli.js export --fast"
    );
    assert_eq!(
        version["dev_config"]["application"]["arguments"],
        "dist/cli.js export --fast"
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_and_waiting_examples_report_their_reason() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create("delta", DELTA, 1, "rolled-back", "10m").await;
    env.create(
        "ghost",
        "0190f1ff-0000-7000-8000-000000000000",
        1,
        "dev",
        "10m",
    )
    .await;
    env.create("acme-v2", ACME, 2, "prod", "10m").await;
    env.create("acme-v9", ACME, 9, "dev", "10m").await;

    let o = env
        .wait_ready("delta", "False", "NotPreviouslySyncedToProd")
        .await;
    let stalled = condition(&o, "Stalled").expect("Stalled");
    assert!(stalled.message.contains(
        "Operation is only allowed for connectors that were previously synchronized to production"
    ));
    assert!(condition(
        &env.wait_ready("ghost", "False", "ConnectorNotFound").await,
        "Stalled"
    )
    .is_some());
    assert!(condition(
        &env.wait_ready("acme-v2", "False", "WaitingForBuild").await,
        "Stalled"
    )
    .is_none());
    env.wait_ready("acme-v9", "False", "VersionNotFound").await;
    assert_eq!(
        env.calls("POST migration-rollback"),
        0,
        "a refused rollback is never attempted"
    );
    ctrl.stop().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newer_of_two_objects_for_one_version_is_stalled_naming_the_older() {
    let env = Env::start().await;
    let ctrl = env.run_controller();
    env.create("first", BOLT, 1, "prod", "10m").await;
    env.wait_ready("first", "True", "Converged").await;
    tokio::time::sleep(Duration::from_millis(1100)).await; // creation timestamps have 1s resolution
    env.create("second", BOLT, 1, "dev", "10m").await;

    let o = env.wait_ready("second", "False", "Conflict").await;
    assert!(condition(&o, "Stalled")
        .unwrap()
        .message
        .contains(&format!("{}/first", env.ns)));
    let first = env.api().get("first").await.unwrap();
    assert_eq!(ready(&first), Some(("True".into(), "Converged".into())));
    ctrl.stop().await;
    env.shutdown().await;
}
