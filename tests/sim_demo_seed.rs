//! The simulator's demo seed and seed loading: what the demo connectors look like, that the
//! client models decode them, and that every version object has the documented key order.

use std::{io::Write, path::Path, time::Duration};

use cde_operator::{
    cde::models::{Connector, Envelope, VersionState},
    sim::{serve, Seed, SimConfig, SimServer, Simulator},
};
use serde_json::Value;
use uuid::Uuid;

const ACME: &str = "0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f";
const BOLT: &str = "0190f1b7-1c2d-7e3f-8a4b-5c6d7e8f9a0b";
const LEGACY_BRIDGE: &str = "0190f1c4-6d7e-7f80-9a1b-2c3d4e5f6a7b";
const COBALT: &str = "0190f1d3-4e5f-7a6b-8c7d-9e0f1a2b3c4d";
const DELTA: &str = "0190f1e5-8f9a-7b0c-9d1e-2f3a4b5c6d7e";
const DEMO: [&str; 5] = [ACME, BOLT, LEGACY_BRIDGE, COBALT, DELTA];

/// The fixture whose first version is a complete, synced version object.
const FIXTURE: &str = "../shared/cde-api/fixtures/connector-show.v1-prod.v2-updated.json";

/// The documented key order (SPEC §4.2–4.5), used when the shared fixtures are not at hand.
const VERSION_KEYS: [&str; 14] = [
    "name",
    "description",
    "readme",
    "version",
    "logo",
    "created-at",
    "updated-at",
    "deleted-at",
    "state",
    "config",
    "platform_dev_reference",
    "platform_prod_reference",
    "prod_config",
    "dev_config",
];

async fn start() -> SimServer {
    let config = SimConfig {
        transition_delay: Duration::from_millis(100),
        ..SimConfig::default()
    };
    serve(Simulator::demo(config), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn show(server: &SimServer, id: &str) -> Value {
    let url = format!("{}/connectors/{id}", server.url());
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn keys(object: &Value) -> Vec<&str> {
    object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// Key orders of the version object and each nested object, by JSON pointer.
fn key_orders(version: &Value) -> Vec<(&'static str, Vec<&str>)> {
    [
        "",
        "/config",
        "/config/execution",
        "/platform_dev_reference",
        "/platform_dev_reference/runtime",
        "/platform_prod_reference",
        "/platform_prod_reference/runtime",
    ]
    .into_iter()
    .map(|pointer| (pointer, keys(version.pointer(pointer).unwrap())))
    .collect()
}

/// The synced version of the documented fixture, if the shared fixtures are present.
fn fixture_version() -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let text = std::fs::read_to_string(path).ok()?;
    let body: Value = serde_json::from_str(&text).unwrap();
    Some(body["data"]["versions"][0].clone())
}

#[tokio::test]
async fn demo_versions_decode_and_keep_the_documented_key_order() {
    let server = start().await;
    let fixture = fixture_version();
    if fixture.is_none() {
        eprintln!("{FIXTURE} not found; checking the top-level key order only");
    }

    for id in DEMO {
        let body = show(&server, id).await;
        let decoded: Envelope<Connector> = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(decoded.resource.as_deref(), Some("connector"));
        let connector = decoded.data.unwrap();
        assert_eq!(connector.id, Some(id.parse().unwrap()));
        assert!(connector
            .versions
            .iter()
            .all(|v| v.major().is_some() && v.state.is_some()));

        for version in body["data"]["versions"].as_array().unwrap() {
            assert_eq!(keys(version), VERSION_KEYS);
            if let Some(fixture) = &fixture {
                assert_eq!(key_orders(version), key_orders(fixture), "{id}");
                for snapshot in ["dev_config", "prod_config"] {
                    if version[snapshot].is_object() {
                        assert_eq!(keys(&version[snapshot]), keys(&fixture["config"]));
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn demo_connectors_start_where_the_demo_expects_them() {
    let server = start().await;
    let mut versions = Vec::new();
    for id in DEMO {
        let decoded: Envelope<Connector> = serde_json::from_value(show(&server, id).await).unwrap();
        let connector = decoded.data.unwrap();
        for v in connector.versions {
            versions.push((id, v));
        }
    }
    let find = |id: &str, major: u32| {
        versions
            .iter()
            .find(|(c, v)| *c == id && v.major() == Some(major))
            .map(|(_, v)| v)
            .unwrap()
    };

    assert_eq!(find(ACME, 1).state, Some(VersionState::Built));
    assert_eq!(find(ACME, 2).state, Some(VersionState::Updated));
    let bolt = find(BOLT, 1);
    assert_eq!(bolt.state, Some(VersionState::SynchronizedToDev));
    assert!(bolt.dev_reference.as_ref().unwrap().site.is_some());
    assert_eq!(bolt.dev_config, bolt.config);

    let bridge = find(LEGACY_BRIDGE, 1);
    let prod = bridge.prod_reference.as_ref().unwrap();
    assert_eq!(bridge.state, Some(VersionState::SynchronizedToProd));
    assert_eq!(
        bridge.config.as_ref().unwrap()["migration"]["legacy-executable"],
        812
    );
    assert!(prod.executable.is_some_and(|e| e != 812) && prod.platform_connector.is_some());
    assert_eq!(bridge.prod_config, bridge.config);

    let cobalt = find(COBALT, 1);
    let prod = cobalt.prod_reference.as_ref().unwrap();
    assert!(prod.executable.is_none() && prod.platform_connector.is_none());
    assert_eq!(cobalt.prod_config, cobalt.config);

    let delta = find(DELTA, 1);
    assert_eq!(delta.state, Some(VersionState::SynchronizedToDev));
    assert_eq!(
        delta.config.as_ref().unwrap()["migration"]["legacy-executable"],
        905
    );
    assert!(delta.prod_config.is_none());
    assert!(delta
        .prod_reference
        .as_ref()
        .unwrap()
        .platform_connector
        .is_none());

    assert!(versions
        .iter()
        .all(|(_, v)| v.dev_reference.as_ref().unwrap().account.is_some()));
}

#[tokio::test]
async fn a_seed_file_loads_every_documented_flag() {
    let seed = r#"{
      "connectors": [{
        "id": "0190f1f0-0000-7000-8000-000000000001",
        "type": "export",
        "name": "Flagged",
        "flow": "migration",
        "main-version-number": 1,
        "versions": [
          { "major": 1, "state": "synchronized-to-prod", "legacy-executable": 4242, "rolled-back": true },
          { "major": 2, "state": "updated", "dev-account": false, "config": { "buckets": ["b"] } },
          { "major": 3, "state": "built", "dev-site": true, "prod-synced": true, "prod-platform-missing": true }
        ]
      }]
    }"#;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(seed.as_bytes()).unwrap();
    let seed = Seed::from_file(file.path()).unwrap();
    let sim = Simulator::from_seed(SimConfig::default(), &seed).unwrap();
    let id: Uuid = "0190f1f0-0000-7000-8000-000000000001".parse().unwrap();

    let v1 = sim.version_json(id, 1).unwrap();
    assert_eq!(v1["platform_prod_reference"]["executable"], 4242);
    assert!(v1["prod_config"].is_object());
    assert!(v1["config"]["export"].is_object() && v1["config"]["datasource"].is_null());

    let v2 = sim.version_json(id, 2).unwrap();
    assert!(v2["platform_dev_reference"]["account"].is_null());
    assert_eq!(v2["config"]["buckets"][0], "b");
    assert!(v2["dev_config"].is_null());

    let v3 = sim.version_json(id, 3).unwrap();
    assert_eq!(v3["state"], "built");
    assert!(v3["platform_prod_reference"]["executable"].is_null());
    assert!(v3["prod_config"].is_object() && v3["dev_config"].is_object());

    // `main` resolves through main-version-number.
    let server = serve(sim, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!(
        "{}/connectors/{id}/versions/main/sync-runtime",
        server.url()
    );
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    server.shutdown().await;
}

#[test]
fn contradictory_seeds_are_refused() {
    let cases = [
        (
            r#"{"major":1,"state":"synchronized-to-prod","prod-synced":false}"#,
            "must be prod-synced",
        ),
        (
            r#"{"major":1,"state":"built","dev-site":true,"dev-account":false}"#,
            "needs a dev account",
        ),
        (
            r#"{"major":1,"state":"created","prod-synced":true}"#,
            "never built",
        ),
        (
            r#"{"major":1,"state":"synchronizing-to-dev"}"#,
            "does not match",
        ),
    ];
    for (version, reason) in cases {
        let seed = format!(
            r#"{{"connectors":[{{"id":"{ACME}","type":"datasource","name":"X","versions":[{version}]}}]}}"#
        );
        let error = Seed::from_json(&seed)
            .and_then(|seed| Simulator::from_seed(SimConfig::default(), &seed).map(|_| ()))
            .unwrap_err();
        assert!(error.to_string().contains(reason), "{version}: {error}");
    }
}

#[test]
fn serving_anywhere_but_loopback_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let error = runtime
        .block_on(serve(Simulator::default(), "0.0.0.0:0".parse().unwrap()))
        .unwrap_err();
    assert!(error.to_string().contains("loopback"), "{error}");
}
