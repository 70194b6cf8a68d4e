//! The CDE simulator's refusals over HTTP: each documented (and each invented) refusal with
//! its exact status and body — wrong state, missing preconditions, unknown or malformed ids,
//! missing authentication.

use std::time::Duration;

use cde_operator::sim::SimConfig;
use serde_json::{json, Value};

const ACME: &str = "0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f";
const LEGACY_BRIDGE: &str = "0190f1c4-6d7e-7f80-9a1b-2c3d4e5f6a7b";
const COBALT: &str = "0190f1d3-4e5f-7a6b-8c7d-9e0f1a2b3c4d";
const DELTA: &str = "0190f1e5-8f9a-7b0c-9d1e-2f3a4b5c6d7e";

const SHORT: Duration = Duration::from_millis(150);
/// Long enough that a version is surely still transitional when the test looks again.
const LONG: Duration = Duration::from_secs(30);

mod sim_client;
use sim_client::Cde;

fn wrong_state(state: &str) -> Value {
    json!({ "message": format!("Transition is not allowed, entity is {state}."), "errors": [] })
}

fn never_in_prod() -> Value {
    json!({
        "message": "Operation is only allowed for connectors that were previously synchronized to production",
        "errors": []
    })
}

#[tokio::test]
async fn every_action_is_refused_while_the_version_is_transitional() {
    let cde = Cde::demo(LONG).await;
    let (_, body) = cde.act(LEGACY_BRIDGE, 1, "sync-prod").await;
    assert_eq!(body["data"]["state"], "resynchronizing-to-prod");

    for action in [
        "sync-runtime",
        "platform-dev-site",
        "platform",
        "assign-to-sites/dev",
        "sync-prod",
        "platform/recreate",
        "migration/rollback",
    ] {
        let (status, body) = cde.act(LEGACY_BRIDGE, 1, action).await;
        assert_eq!(
            (status, body),
            (400, wrong_state("resynchronizing-to-prod")),
            "{action}"
        );
    }
}

#[tokio::test]
async fn actions_out_of_pipeline_order_are_refused_with_the_state() {
    let cde = Cde::demo(SHORT).await;
    let cases = [
        (ACME, 2, "sync-runtime", "updated"),
        (ACME, 2, "platform-dev-site", "updated"),
        (ACME, 2, "platform", "updated"),
        (ACME, 1, "assign-to-sites/dev", "built"),
        (ACME, 1, "sync-prod", "built"),
    ];
    for (connector, major, action, state) in cases {
        let (status, body) = cde.act(connector, major, action).await;
        assert_eq!(
            (status, body),
            (400, wrong_state(state)),
            "{action} on v{major}"
        );
    }
}

#[tokio::test]
async fn dev_steps_need_an_account_and_a_site() {
    let cde = Cde::demo(SHORT).await;
    let (status, body) = cde.act(ACME, 1, "platform").await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "message": "Dev site is missing.", "errors": [] })
        )
    );

    let seed = r#"{"connectors":[{"id":"0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f","type":"datasource",
        "name":"No Account","versions":[{"major":1,"state":"built","dev-account":false}]}]}"#;
    let put = cde
        .http
        .put(format!("{}/_sim/seed", cde.server.url()))
        .body(seed);
    assert_eq!(cde.send(put).await.0, 204);
    let (status, body) = cde.act(ACME, 1, "platform-dev-site").await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "message": "Dev account is missing.", "errors": [] })
        )
    );
}

#[tokio::test]
async fn rollback_and_recreate_need_an_earlier_prod_sync() {
    let cde = Cde::demo(SHORT).await;
    assert_eq!(
        cde.act(DELTA, 1, "migration/rollback").await,
        (400, never_in_prod())
    );
    assert_eq!(
        cde.act(DELTA, 1, "platform/recreate").await,
        (400, never_in_prod())
    );

    // A version without config.migration has nothing to roll back to (invented body).
    let (status, body) = cde.act(COBALT, 1, "migration/rollback").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Bad request."))
    );
    assert!(body["errors"]["migration"].is_string());
}

#[tokio::test]
async fn unknown_and_malformed_ids_get_the_documented_bodies() {
    let cde = Cde::demo(SHORT).await;
    let unknown = "0190ffff-0000-7000-8000-000000000000";
    let cases = [
        (
            format!("/connectors/{unknown}"),
            404,
            json!({ "message": "Connector not found." }),
        ),
        (
            format!("/connectors/{unknown}/versions/1/sync-prod"),
            404,
            json!({ "message": "Connector not found." }),
        ),
        (
            format!("/connectors/{ACME}/versions/9/sync-prod"),
            404,
            json!({ "message": "Connector does not have specified version." }),
        ),
        (
            format!("/connectors/{ACME}/versions/main/sync-prod"),
            404,
            json!({ "message": "Connector does not have specified version." }),
        ),
        (
            format!("/connectors/{ACME}/versions/nope/sync-prod"),
            404,
            json!({ "message": "Connector does not have specified version." }),
        ),
        (
            "/connectors/not-a-uuid".to_owned(),
            400,
            json!({ "message": "Bad request.", "errors": { "connector": "This is not a valid UUID." } }),
        ),
        (
            "/connectors/not-a-uuid/versions/1/sync-prod".to_owned(),
            400,
            json!({ "message": "Bad request.", "errors": { "connector": "This is not a valid UUID." } }),
        ),
        (
            format!("/states/{unknown}"),
            404,
            json!({ "message": "State not found." }),
        ),
        (
            "/states/42".to_owned(),
            400,
            json!({ "message": "Bad request.", "errors": { "state": "This is not a valid UUID." } }),
        ),
    ];
    for (path, status, body) in cases {
        let answer = if path.starts_with("/states") || !path.contains("/versions/") {
            cde.get(&path).await
        } else {
            cde.post(&path).await
        };
        assert_eq!(answer, (status, body), "{path}");
    }

    // `latest` is the highest major.
    let (_, body) = cde.act(ACME, 0, "sync-runtime").await;
    assert_eq!(
        body,
        json!({ "message": "Connector does not have specified version." })
    );
    let (status, body) = cde
        .post(&format!("/connectors/{ACME}/versions/latest/sync-runtime"))
        .await;
    assert_eq!((status, body), (400, wrong_state("updated")));
}

#[tokio::test]
async fn a_configured_token_is_required_on_cde_routes_only() {
    let cde = Cde::start(SimConfig {
        token: Some("s3cret".to_owned()),
        ..SimConfig::default()
    })
    .await;
    let url = format!("{}/connectors/{ACME}", cde.server.url());
    let unauthorized = json!({ "message": "You have to be authorized to access this resource." });

    assert_eq!(
        cde.send(cde.http.get(&url)).await,
        (401, unauthorized.clone())
    );
    assert_eq!(
        cde.send(cde.http.get(&url).bearer_auth("wrong")).await,
        (401, unauthorized)
    );
    assert_eq!(
        cde.send(cde.http.get(&url).bearer_auth("s3cret")).await.0,
        200
    );
    assert_eq!(cde.get("/_sim/requests").await.0, 200);
    assert!(!format!("{:?}", cde.sim().config()).contains("s3cret"));
}
