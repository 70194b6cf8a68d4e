//! Fault injection in the CDE simulator: scripted answers, 429 with `Retry-After`, random
//! 5xx, latency, dropped connections and failing background jobs. Every fault here is bounded
//! (scripted counts or rates of exactly 0 or 1), so each test ends by itself.

use std::time::{Duration, Instant};

use cde_operator::{
    cde::endpoints::Endpoint,
    sim::{serve, Faults, ScriptedFault, SimConfig, SimServer, Simulator},
};
use serde_json::{json, Value};

const ACME: &str = "0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f";
const BOLT: &str = "0190f1b7-1c2d-7e3f-8a4b-5c6d7e8f9a0b";

async fn start() -> SimServer {
    let config = SimConfig {
        job_delay: Duration::from_millis(100),
        transition_delay: Duration::from_millis(100),
        ..SimConfig::default()
    };
    serve(Simulator::demo(config), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn get(server: &SimServer, path: &str) -> reqwest::Response {
    reqwest::get(format!("{}{path}", server.url()))
        .await
        .unwrap()
}

async fn post(server: &SimServer, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn scripted_rate_limit_answers_429_with_retry_after_then_stops() {
    let server = start().await;
    let sim = server.simulator();
    sim.add_fault(ScriptedFault::rate_limited(
        Some(Endpoint::ShowConnector),
        2,
        7,
    ))
    .unwrap();

    for _ in 0..2 {
        let response = get(&server, &format!("/connectors/{ACME}")).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
    }
    assert_eq!(
        get(&server, &format!("/connectors/{ACME}")).await.status(),
        200
    );
    assert_eq!(sim.request_count(Endpoint::ShowConnector), 3);
    assert!(sim.faults().scripted.is_empty());
}

#[tokio::test]
async fn a_scripted_answer_hits_only_its_endpoint() {
    let server = start().await;
    let body = json!({ "message": "Transition is not allowed, entity is updating.", "errors": [] });
    let fault = ScriptedFault::respond(Some(Endpoint::SyncToProd), 1, 409, Some(body.clone()));
    server.simulator().add_fault(fault).unwrap();

    assert_eq!(
        get(&server, &format!("/connectors/{ACME}")).await.status(),
        200
    );
    let refused = post(&server, &format!("/connectors/{BOLT}/versions/1/sync-prod")).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(refused.json::<Value>().await.unwrap(), body);
    let accepted = post(&server, &format!("/connectors/{BOLT}/versions/1/sync-prod")).await;
    assert_eq!(accepted.status(), 200);
}

#[tokio::test]
async fn faults_set_over_http_apply_and_clear() {
    let server = start().await;
    let http = reqwest::Client::new();
    let faults = json!({ "server-error-rate": 1.0 });
    let put = http
        .put(format!("{}/_sim/faults", server.url()))
        .json(&faults);
    assert_eq!(put.send().await.unwrap().status(), 204);

    let failed = get(&server, &format!("/connectors/{ACME}")).await;
    assert_eq!(failed.status(), 500);
    // Hooks are never faulted.
    assert_eq!(get(&server, "/_sim/faults").await.status(), 200);

    let clear = http.delete(format!("{}/_sim/faults", server.url()));
    assert_eq!(clear.send().await.unwrap().status(), 204);
    assert_eq!(
        get(&server, &format!("/connectors/{ACME}")).await.status(),
        200
    );

    let bad = http
        .put(format!("{}/_sim/faults", server.url()))
        .json(&json!({ "drop-rate": 2.0 }));
    assert_eq!(bad.send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn scripted_faults_can_be_added_over_http() {
    let server = start().await;
    let fault = json!({
        "endpoint": "show-connector",
        "times": 1,
        "action": { "kind": "respond", "status": 503, "retry-after-secs": 2 }
    });
    let add = reqwest::Client::new()
        .post(format!("{}/_sim/faults/scripted", server.url()))
        .json(&fault);
    assert_eq!(add.send().await.unwrap().status(), 204);

    let response = get(&server, &format!("/connectors/{ACME}")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "message": "Service Unavailable" })
    );
}

#[tokio::test]
async fn latency_delays_every_cde_answer() {
    let server = start().await;
    let faults = Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    };
    server.simulator().set_faults(faults).unwrap();

    let started = Instant::now();
    assert_eq!(
        get(&server, &format!("/connectors/{ACME}")).await.status(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_dropped_connection_gives_the_client_no_answer_but_is_counted() {
    let server = start().await;
    let sim = server.simulator();
    sim.add_fault(ScriptedFault::drop_connection(
        Some(Endpoint::ShowConnector),
        1,
    ))
    .unwrap();

    let result = reqwest::Client::new()
        .get(format!("{}/connectors/{ACME}", server.url()))
        .send()
        .await;
    let failed = match result {
        Err(_) => true,
        // Depending on timing the head may already be out; then the body cannot be read.
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(
        failed,
        "a dropped connection must not yield a complete answer"
    );
    assert_eq!(sim.request_count(Endpoint::ShowConnector), 1);
    assert_eq!(sim.request_log()[0].status, None);
    assert_eq!(
        get(&server, &format!("/connectors/{ACME}")).await.status(),
        200
    );
}

#[tokio::test]
async fn a_failing_job_ends_failed_and_creates_no_site() {
    let server = start().await;
    let sim = server.simulator();
    sim.set_faults(Faults {
        fail_next_jobs: 1,
        ..Faults::default()
    })
    .unwrap();

    let accepted: Value = post(
        &server,
        &format!("/connectors/{ACME}/versions/1/platform-dev-site"),
    )
    .await
    .json()
    .await
    .unwrap();
    let job = accepted["data"]["state"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(250)).await;

    let state: Value = get(&server, &format!("/states/{job}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["data"]["status"], "failed");
    assert_eq!(state["data"]["data"], json!([]));
    let version = sim.version_json(ACME.parse().unwrap(), 1).unwrap();
    assert!(version["platform_dev_reference"]["site"].is_null());
    assert_eq!(sim.faults().fail_next_jobs, 0);
}
