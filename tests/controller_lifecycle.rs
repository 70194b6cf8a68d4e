//! Readiness and shutdown: ready only once the objects are listed, and a requested stop
//! happens even when the objects can never be listed.

use std::time::Duration;

use cde_operator::{
    cde::{CdeClient, ClientConfig},
    controller::{self, WatchScope, Wiring},
    demo,
    reconcile::credentials::DefaultToken,
    telemetry::{Metrics, Readiness},
};
use kube_sandbox::Sandbox;
use tokio::sync::oneshot;

fn wiring(kube: kube::Client, ready: &Readiness) -> Wiring {
    // No CDE calls happen in these tests; the address only has to parse.
    let cde = CdeClient::new(ClientConfig::new("http://127.0.0.1:9")).unwrap();
    Wiring {
        kube,
        metrics: Metrics::new(&cde),
        cde,
        default_token: DefaultToken::default(),
        settings: demo::demo_settings(),
        scope: WatchScope::default(),
        instance: None,
        ready: Some(ready.clone()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_reported_once_the_objects_are_listed() {
    let sandbox = Sandbox::start().await.unwrap();
    demo::install_crd(&sandbox.client()).await.unwrap();
    let ready = Readiness::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(controller::run(
        wiring(sandbox.client(), &ready),
        async move {
            let _ = stopped.await;
        },
    ));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ready.get() {
        assert!(tokio::time::Instant::now() < deadline, "never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("a ready controller stops promptly")
        .unwrap();
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_crd_it_is_never_ready_and_still_stops_when_asked() {
    let sandbox = Sandbox::start().await.unwrap(); // no CRD: every list fails
    let ready = Readiness::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(controller::run(
        wiring(sandbox.client(), &ready),
        async move {
            let _ = stopped.await;
        },
    ));

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!ready.get(), "nothing is listed, so not ready");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(15), running)
        .await
        .expect("the stop is forced after its grace period")
        .unwrap();
    sandbox.shutdown().await;
}
