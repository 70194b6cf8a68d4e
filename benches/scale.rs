//! Scale benchmark: N objects reconciled at once against kube-sandbox and the CDE simulator.
//!
//! Measures the time until every object is Ready, the CDE requests and Kubernetes writes
//! that took, what one steady-state interval costs, and the process's peak memory. It prints
//! figures; it asserts nothing (the tests assert behaviour). Run:
//!
//!     cargo bench --bench scale                 # 200 objects
//!     SCALE_OBJECTS=1000 cargo bench --bench scale

// NB: a benchmark prints ratios of counts far below 2^52, and its driver reads best as one
// straight sequence of steps.
#![allow(clippy::cast_precision_loss, clippy::too_many_lines)]

use std::time::{Duration, Instant};

use cde_operator::{
    cde::{CdeClient, ClientConfig},
    controller::{self, WatchScope, Wiring},
    demo,
    reconcile::{context::Settings, credentials::DefaultToken},
    resource::{ConnectorVersion, ConnectorVersionSpec, Credentials, SecretKeyRef},
    sim::{self, Seed, SimConfig, Simulator},
    telemetry::Metrics,
};
use kube::api::{Api, ListParams, PostParams};
use kube_sandbox::Sandbox;
use serde_json::json;
use uuid::Uuid;

const NS: &str = "bench";
const TOKEN: &str = "bench-token";

fn connector_id(i: usize) -> Uuid {
    Uuid::from_u128(0x0190_f200_0000_7000_8000_0000_0000_0000 | i as u128)
}

/// N connectors, each with version 1 on dev, to be promoted to prod.
fn seed(n: usize) -> Seed {
    let connectors: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "id": connector_id(i).to_string(),
                "type": "datasource",
                "name": format!("Bench connector {i}"),
                "versions": [{"major": 1, "state": "synchronized-to-dev"}]
            })
        })
        .collect();
    Seed::from_json(&json!({ "connectors": connectors }).to_string()).expect("bench seed")
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn ready(o: &ConnectorVersion) -> bool {
    o.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("SCALE_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let interval = Duration::from_secs(5);

    let sandbox = Sandbox::start().await.expect("sandbox");
    let config = SimConfig {
        token: Some(TOKEN.into()),
        job_delay: Duration::from_millis(100),
        transition_delay: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let simulator = Simulator::from_seed(config, &seed(n)).expect("simulator");
    let sim = sim::serve(simulator, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("serve");
    let kube = sandbox.client();
    demo::install_crd(&kube).await.expect("crd");
    demo::apply_manifest(
        &kube,
        "bench",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: cde-token\n  namespace: {NS}\nstringData:\n  token: {TOKEN}\n"),
    )
    .await
    .expect("setup");

    let api: Api<ConnectorVersion> = Api::namespaced(kube.clone(), NS);
    for i in 0..n {
        let mut cv = ConnectorVersion::new(
            &format!("bench-{i}"),
            ConnectorVersionSpec {
                connector_id: connector_id(i).to_string(),
                version: 1,
                desired_state: "prod".into(),
                credentials: Some(Credentials {
                    secret_ref: SecretKeyRef {
                        name: "cde-token".into(),
                        key: "token".into(),
                    },
                }),
                suspend: false,
                interval: Some(humantime::format_duration(interval).to_string()),
            },
        );
        cv.metadata.namespace = Some(NS.into());
        api.create(&PostParams::default(), &cv)
            .await
            .expect("create");
    }

    let mut client_config = ClientConfig::new(sim.url());
    client_config.rate_limit_per_second = 1000.0;
    client_config.burst = 100;
    let cde = CdeClient::new(client_config).expect("client");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = Settings {
        poll: Duration::from_millis(200),
        max_poll: Duration::from_secs(2),
        ..Settings::default()
    };
    let mark = sandbox.requests().mark();
    let started = Instant::now();
    let handle = tokio::spawn(controller::run(
        Wiring {
            kube: kube.clone(),
            metrics: Metrics::new(&cde),
            cde,
            default_token: DefaultToken::default(),
            settings,
            scope: WatchScope {
                namespace: Some(NS.into()),
                concurrency: 16,
                ..WatchScope::default()
            },
            instance: None,
            ready: None,
        },
        async move {
            let _ = stopped.await;
        },
    ));

    loop {
        let list = api.list(&ListParams::default()).await.expect("list");
        if list.items.iter().all(ready) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "did not converge in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let converged_in = started.elapsed();
    let convergence_requests: u64 = sim.simulator().request_counts().values().sum();
    let convergence_writes = sandbox.requests().since(mark).writes();

    // Steady state: let the first drift checks pass, then measure three intervals.
    tokio::time::sleep(interval * 2).await;
    sim.simulator().reset_requests();
    let steady_mark = sandbox.requests().mark();
    tokio::time::sleep(interval * 3).await;
    let steady = sim.simulator().request_counts();
    let steady_writes = sandbox.requests().since(steady_mark).writes();

    println!("objects:                         {n}");
    println!(
        "converged (all Ready) in:        {:.2}s",
        converged_in.as_secs_f64()
    );
    println!(
        "CDE requests to converge:        {convergence_requests} ({:.1} per object)",
        convergence_requests as f64 / n as f64
    );
    println!(
        "Kubernetes writes to converge:   {convergence_writes} ({:.1} per object)",
        convergence_writes as f64 / n as f64
    );
    println!("steady state, 3 intervals of {interval:?}: CDE {steady:?}");
    println!(
        "  = {:.2} GETs per object per interval; Kubernetes writes: {steady_writes}",
        steady.get("GET show-connector").copied().unwrap_or(0) as f64 / (3.0 * n as f64)
    );
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak RSS (operator + sandbox + simulator in one process): {:.1} MiB",
            kib as f64 / 1024.0
        );
    }

    let _ = stop.send(());
    let _ = handle.await;
    sim.shutdown().await;
    sandbox.shutdown().await;
}
