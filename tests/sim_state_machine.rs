//! The CDE simulator's state machine over HTTP: the dev → prod pipeline, transitions that
//! finish by themselves, rollback and recreate, the config and build hooks, request counts
//! and path overrides. Refusals are in `sim_refusals.rs`.

use std::time::Duration;

use cde_operator::{
    cde::endpoints::{Endpoint, Endpoints},
    sim::SimConfig,
};
use serde_json::json;

const ACME: &str = "0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f";
const BOLT: &str = "0190f1b7-1c2d-7e3f-8a4b-5c6d7e8f9a0b";
const LEGACY_BRIDGE: &str = "0190f1c4-6d7e-7f80-9a1b-2c3d4e5f6a7b";
const COBALT: &str = "0190f1d3-4e5f-7a6b-8c7d-9e0f1a2b3c4d";

const SHORT: Duration = Duration::from_millis(150);

mod sim_client;
use sim_client::Cde;

#[tokio::test]
async fn built_version_goes_through_dev_and_prod() {
    // The job takes longer, so it is surely still pending when first read.
    let job_delay = Duration::from_millis(600);
    let cde = Cde::start(SimConfig {
        job_delay,
        transition_delay: SHORT,
        ..SimConfig::default()
    })
    .await;

    let (status, body) = cde.act(ACME, 1, "sync-runtime").await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({ "message": "Successfully synchronized the version of the connector with runtime." })
        )
    );
    assert_eq!(
        cde.version(ACME, 1).await["platform_dev_reference"]["runtime"]["version"],
        "3.1.0"
    );

    // The dev site comes from a background job that finishes by itself.
    let (status, body) = cde.act(ACME, 1, "platform-dev-site").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["message"],
        "Platform Site will be created in the background."
    );
    let job = body["data"]["state"]["uuid"].as_str().unwrap().to_owned();
    let (status, pending) = cde.get(&format!("/states/{job}")).await;
    assert_eq!(
        (status, pending["data"]["status"].as_str()),
        (200, Some("pending"))
    );
    assert_eq!(pending["resource"], "connector");
    tokio::time::sleep(job_delay + SHORT).await;
    let (_, done) = cde.get(&format!("/states/{job}")).await;
    assert_eq!(done["data"]["status"], "done");
    let v = cde.version(ACME, 1).await;
    assert!(
        v["platform_dev_reference"]["project"].is_i64()
            && v["platform_dev_reference"]["site"].is_i64()
    );

    // Create on the platform: synchronizing-to-dev, then synchronized-to-dev with a snapshot.
    let (status, body) = cde.act(ACME, 1, "platform").await;
    assert_eq!(
        (status, body["resource"].as_str()),
        (200, Some("connector-version"))
    );
    assert_eq!(body["data"]["state"], "synchronizing-to-dev");
    tokio::time::sleep(SHORT * 2).await;
    let v = cde.version(ACME, 1).await;
    assert_eq!(v["state"], "synchronized-to-dev");
    assert_eq!(v["dev_config"], v["config"]);
    assert!(v["platform_dev_reference"]["platform-connector"].is_i64());
    assert!(v["prod_config"].is_null() && v["platform_prod_reference"]["executable"].is_null());

    let (status, body) = cde.act(ACME, 1, "assign-to-sites/dev").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("Connector assigned to dev site."))
    );
    assert!(body["data"]["platform_dev_reference"]["assigned-to-site"].is_null());

    // First prod sync: synchronizing-to-prod, then prod objects and backup.
    let (status, body) = cde.act(ACME, 1, "sync-prod").await;
    assert_eq!(
        (status, body["data"]["state"].as_str()),
        (200, Some("synchronizing-to-prod"))
    );
    tokio::time::sleep(SHORT * 2).await;
    let v = cde.version(ACME, 1).await;
    assert_eq!(v["state"], "synchronized-to-prod");
    assert_eq!(v["prod_config"], v["config"]);
    let prod = &v["platform_prod_reference"];
    assert!(prod["executable"].is_i64() && prod["platform-connector"].is_i64());
    assert_eq!(prod["runtime"]["version"], "3.1.0");

    // A re-sync of a prod version goes through resynchronizing-to-prod and keeps the ids.
    let (_, body) = cde.act(ACME, 1, "sync-prod").await;
    assert_eq!(body["data"]["state"], "resynchronizing-to-prod");
    tokio::time::sleep(SHORT * 2).await;
    let again = cde.version(ACME, 1).await;
    assert_eq!(again["state"], "synchronized-to-prod");
    assert_eq!(
        again["platform_prod_reference"]["executable"],
        prod["executable"]
    );
}

#[tokio::test]
async fn dev_sync_of_a_prod_version_stays_synchronized_to_prod() {
    let cde = Cde::demo(SHORT).await;
    let (_, body) = cde.act(LEGACY_BRIDGE, 1, "platform").await;
    assert_eq!(body["data"]["state"], "synchronizing-to-dev");
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(
        cde.version(LEGACY_BRIDGE, 1).await["state"],
        "synchronized-to-prod"
    );
}

#[tokio::test]
async fn transitions_finish_without_anyone_polling() {
    let cde = Cde::demo(SHORT).await;
    cde.act(BOLT, 1, "sync-prod").await;
    cde.sim().reset_requests();

    tokio::time::sleep(SHORT * 3).await;
    assert_eq!(cde.version(BOLT, 1).await["state"], "synchronized-to-prod");
    assert_eq!(cde.sim().request_count(Endpoint::ShowConnector), 1);
}

#[tokio::test]
async fn rollback_points_prod_at_the_legacy_executable_and_recreate_undoes_it() {
    let cde = Cde::demo(SHORT).await;
    let before = cde.version(LEGACY_BRIDGE, 1).await;
    let managed = before["platform_prod_reference"]["executable"].clone();
    assert_ne!(managed, json!(812));

    let (status, body) = cde.act(LEGACY_BRIDGE, 1, "migration/rollback").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("successful operation"))
    );
    assert!(
        body.get("resource").is_none(),
        "the documented rollback body has no resource"
    );
    let after = &body["data"];
    assert_eq!(after["platform_prod_reference"]["executable"], 812);
    for unchanged in [
        "state",
        "config",
        "prod_config",
        "dev_config",
        "platform_dev_reference",
    ] {
        assert_eq!(after[unchanged], before[unchanged], "{unchanged}");
    }
    assert_eq!(
        after["platform_prod_reference"]["platform-connector"],
        before["platform_prod_reference"]["platform-connector"]
    );

    let (status, body) = cde.act(LEGACY_BRIDGE, 1, "platform/recreate").await;
    assert_eq!(
        (status, body["resource"].as_str()),
        (200, Some("connector-version"))
    );
    assert_eq!(
        body["data"]["platform_prod_reference"]["executable"],
        managed
    );
    assert_eq!(body["data"]["state"], "synchronized-to-prod");
}

#[tokio::test]
async fn recreate_restores_missing_prod_objects_from_the_backup() {
    let cde = Cde::demo(SHORT).await;
    let before = cde.version(COBALT, 1).await;
    assert!(before["platform_prod_reference"]["executable"].is_null());
    assert!(before["prod_config"].is_object());

    let (status, body) = cde.act(COBALT, 1, "platform/recreate").await;
    assert_eq!(status, 200);
    let after = &body["data"];
    assert!(after["platform_prod_reference"]["executable"].is_i64());
    assert!(after["platform_prod_reference"]["platform-connector"].is_i64());
    assert_eq!(after["state"], before["state"]);
    assert_eq!(after["prod_config"], before["prod_config"]);

    // The hook takes them away again, keeping the backup.
    let clear = format!("/_sim/connectors/{COBALT}/versions/1/clear-prod-platform");
    let (status, cleared) = cde.post(&clear).await;
    assert_eq!(status, 200);
    assert!(cleared["platform_prod_reference"]["executable"].is_null());
    assert!(cleared["platform_prod_reference"]["platform-connector"].is_null());
    assert_eq!(cleared["prod_config"], before["prod_config"]);
}

#[tokio::test]
async fn a_config_change_makes_dev_stale_until_the_next_dev_sync() {
    let cde = Cde::demo(SHORT).await;
    let before = cde.version(BOLT, 1).await;
    assert_eq!(before["dev_config"], before["config"]);

    let patch = cde
        .http
        .patch(format!(
            "{}/_sim/connectors/{BOLT}/versions/1/config",
            cde.server.url()
        ))
        .json(&json!({ "migration": { "legacy-executable": 77 } }));
    let (status, changed) = cde.send(patch).await;
    assert_eq!(status, 200);
    assert_eq!(changed["state"], "synchronized-to-dev");
    assert_eq!(
        changed["config"]["migration"],
        json!({ "legacy-executable": 77 })
    );
    assert_ne!(changed["dev_config"], changed["config"]);

    cde.act(BOLT, 1, "platform").await;
    tokio::time::sleep(SHORT * 2).await;
    let synced = cde.version(BOLT, 1).await;
    assert_eq!(synced["dev_config"], synced["config"]);
    assert_eq!(
        synced["platform_dev_reference"]["platform-connector"],
        before["platform_dev_reference"]["platform-connector"]
    );
}

#[tokio::test]
async fn the_build_hook_moves_a_version_to_built() {
    let cde = Cde::demo(SHORT).await;
    let (status, body) = cde
        .post(&format!("/_sim/connectors/{ACME}/versions/2/build"))
        .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("building")));
    tokio::time::sleep(SHORT * 2).await;
    let v = cde.version(ACME, 2).await;
    assert_eq!(v["state"], "built");
    assert_eq!(
        v["config"]["vcs"]["latest-commit"].as_str().unwrap().len(),
        40
    );
}

#[tokio::test]
async fn every_cde_request_is_counted_and_hooks_are_not() {
    let cde = Cde::demo(SHORT).await;
    cde.get(&format!("/connectors/{ACME}")).await;
    cde.get("/connectors/0190ffff-0000-7000-8000-000000000000")
        .await;
    cde.get("/connectors/not-a-uuid").await;
    cde.act(ACME, 2, "sync-prod").await; // refused
    cde.get("/_sim/requests").await;
    cde.get("/no/such/route").await;

    let counts = cde.sim().request_counts();
    assert_eq!(counts.get("GET show-connector"), Some(&3));
    assert_eq!(counts.get("POST sync-prod"), Some(&1));
    assert_eq!(counts.len(), 2, "{counts:?}");
    let (_, report) = cde.get("/_sim/requests").await;
    assert_eq!(report["counts"]["GET show-connector"], 3);
    let statuses: Vec<_> = report["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![json!(200), json!(404), json!(400), json!(400)]
    );

    let reset = cde
        .http
        .delete(format!("{}/_sim/requests", cde.server.url()));
    assert_eq!(cde.send(reset).await.0, 204);
    assert!(cde.sim().request_counts().is_empty());
}

#[tokio::test]
async fn an_overridden_path_moves_the_simulator_route_too() {
    let mut endpoints = Endpoints::default();
    endpoints
        .apply_override("sync-prod=PUT /connectors/{publicId}/versions/{connectorVersion}/prod")
        .unwrap();
    let cde = Cde::start(SimConfig {
        endpoints,
        transition_delay: SHORT,
        ..SimConfig::default()
    })
    .await;

    let moved = format!("{}/connectors/{BOLT}/versions/1/prod", cde.server.url());
    let (status, body) = cde.send(cde.http.put(moved)).await;
    assert_eq!(
        (status, body["data"]["state"].as_str()),
        (200, Some("synchronizing-to-prod"))
    );
    assert_eq!(cde.act(BOLT, 1, "sync-prod").await.0, 404);
    assert_eq!(cde.sim().request_counts().get("PUT sync-prod"), Some(&1));
}
