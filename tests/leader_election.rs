//! Leader election on a Lease: one holder at a time, hand-over on release and on expiry.

use std::time::Duration;

use cde_operator::leader::{Leadership, LeaseConfig};
use kube_sandbox::Sandbox;

fn config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        duration: Duration::from_secs(2),
        renew_every: Duration::from_millis(300),
        ..LeaseConfig::new("default", identity)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_waits_while_the_first_leads_and_takes_over_on_release() {
    let sandbox = Sandbox::start().await.unwrap();
    let first = Leadership::acquire(sandbox.client(), config("a")).await;

    let second = tokio::spawn(Leadership::acquire(sandbox.client(), config("b")));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !second.is_finished(),
        "the second replica must wait while the first renews"
    );

    first.release().await;
    let second = tokio::time::timeout(Duration::from_secs(3), second)
        .await
        .expect("the second replica takes over promptly after a release")
        .unwrap();
    drop(second);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_leader_is_replaced_after_its_lease_expires() {
    let sandbox = Sandbox::start().await.unwrap();
    let first = Leadership::acquire(sandbox.client(), config("a")).await;
    drop(first); // stops renewing without releasing, as a crash would

    let started = tokio::time::Instant::now();
    let second = tokio::time::timeout(
        Duration::from_secs(6),
        Leadership::acquire(sandbox.client(), config("b")),
    )
    .await
    .expect("the Lease expires and the second replica takes it");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "not before the Lease expired"
    );
    drop(second);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_lease_is_taken_learns_that_it_lost() {
    use k8s_openapi::api::coordination::v1::Lease;
    use kube::api::{Api, Patch, PatchParams};

    let sandbox = Sandbox::start().await.unwrap();
    let first = Leadership::acquire(sandbox.client(), config("a")).await;
    let lost = first.lost();

    // Someone else writes themselves into the Lease.
    let leases: Api<Lease> = Api::namespaced(sandbox.client(), "default");
    leases
        .patch(
            "cde-operator",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"holderIdentity": "intruder", "renewTime": jiff::Timestamp::now().to_string()}})),
        )
        .await
        .unwrap();

    tokio::time::timeout(Duration::from_secs(3), lost)
        .await
        .expect("the leader notices within a renewal period");
    sandbox.shutdown().await;
}
