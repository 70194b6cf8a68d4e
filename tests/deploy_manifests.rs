//! The files users apply: the generated CRD is current, and the examples parse.

use std::path::PathBuf;

use cde_operator::resource::{crd_yaml, ConnectorVersion};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn crd_file_matches_the_generated_crd() {
    let stored = std::fs::read_to_string(repo("crds/connectorversion.yaml"))
        .expect("crds/connectorversion.yaml");
    assert!(
        stored == crd_yaml().unwrap(),
        "crds/connectorversion.yaml is stale: run `cargo run -- crd > crds/connectorversion.yaml`"
    );
}

#[test]
fn every_example_connector_version_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo("deploy/examples")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if value.get("kind").and_then(|k| k.as_str()) == Some("ConnectorVersion") {
            let _: ConnectorVersion =
                serde_yaml::from_value(value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(
        seen >= 7,
        "expected at least seven example objects, found {seen}"
    );
}
