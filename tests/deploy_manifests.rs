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

fn documents(dir: &str) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "yaml") && !p.ends_with("kustomization.yaml")
        })
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(doc).unwrap();
            if !value.is_null() {
                docs.push(value);
            }
        }
    }
    docs
}

fn of_kind<'a>(docs: &'a [serde_yaml::Value], kind: &str) -> Vec<&'a serde_yaml::Value> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

fn name(d: &serde_yaml::Value) -> &str {
    d["metadata"]["name"].as_str().unwrap_or_default()
}

#[test]
fn kustomization_lists_only_files_that_exist() {
    for dir in ["deploy", "crds"] {
        let k: serde_yaml::Value = serde_yaml::from_str(
            &std::fs::read_to_string(repo(&format!("{dir}/kustomization.yaml"))).unwrap(),
        )
        .unwrap();
        for r in k["resources"].as_sequence().unwrap() {
            let path = repo(dir).join(r.as_str().unwrap());
            assert!(
                path.exists(),
                "{dir}/kustomization.yaml lists {} which does not exist",
                path.display()
            );
        }
    }
}

#[test]
fn deploy_manifests_reference_names_that_exist() {
    let docs = documents("deploy");
    let accounts: Vec<&str> = of_kind(&docs, "ServiceAccount")
        .into_iter()
        .map(name)
        .collect();
    let deployment = of_kind(&docs, "Deployment")[0];
    let pod = &deployment["spec"]["template"];
    let sa = pod["spec"]["serviceAccountName"].as_str().unwrap();
    assert!(
        accounts.contains(&sa),
        "Deployment uses ServiceAccount {sa}, not defined"
    );

    for binding in of_kind(&docs, "ClusterRoleBinding")
        .into_iter()
        .chain(of_kind(&docs, "RoleBinding"))
    {
        let role_kind = binding["roleRef"]["kind"].as_str().unwrap();
        let role = binding["roleRef"]["name"].as_str().unwrap();
        assert!(
            of_kind(&docs, role_kind).iter().any(|r| name(r) == role),
            "{} binds missing {role_kind} {role}",
            name(binding)
        );
        for s in binding["subjects"].as_sequence().unwrap() {
            assert!(
                accounts.contains(&s["name"].as_str().unwrap()),
                "{} binds a missing subject",
                name(binding)
            );
        }
    }

    let pod_labels = &pod["metadata"]["labels"];
    let ports: Vec<&str> = pod["spec"]["containers"][0]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for service in of_kind(&docs, "Service") {
        for (k, v) in service["spec"]["selector"].as_mapping().unwrap() {
            assert_eq!(
                &pod_labels[k],
                v,
                "Service {} selects a label the pods lack",
                name(service)
            );
        }
        for p in service["spec"]["ports"].as_sequence().unwrap() {
            let target = p["targetPort"].as_str().unwrap();
            assert!(
                ports.contains(&target),
                "Service {} targets missing port {target}",
                name(service)
            );
        }
    }
}

#[test]
fn rbac_grants_what_the_operator_uses_and_nothing_broader() {
    let docs = documents("deploy");
    let mut grants: Vec<(String, String, String)> = Vec::new();
    for role in of_kind(&docs, "ClusterRole")
        .into_iter()
        .chain(of_kind(&docs, "Role"))
    {
        for rule in role["rules"].as_sequence().unwrap() {
            for group in rule["apiGroups"].as_sequence().unwrap() {
                for resource in rule["resources"].as_sequence().unwrap() {
                    for verb in rule["verbs"].as_sequence().unwrap() {
                        grants.push((
                            group.as_str().unwrap().to_owned(),
                            resource.as_str().unwrap().to_owned(),
                            verb.as_str().unwrap().to_owned(),
                        ));
                    }
                }
            }
        }
    }
    let needed = [
        ("cde.productsup.com", "connectorversions", "list"),
        ("cde.productsup.com", "connectorversions", "watch"),
        ("cde.productsup.com", "connectorversions/status", "get"),
        ("cde.productsup.com", "connectorversions/status", "patch"),
        ("", "secrets", "get"),
        ("events.k8s.io", "events", "create"),
        ("events.k8s.io", "events", "patch"),
        ("coordination.k8s.io", "leases", "get"),
        ("coordination.k8s.io", "leases", "create"),
        ("coordination.k8s.io", "leases", "update"),
    ];
    for (g, r, v) in needed {
        assert!(
            grants
                .iter()
                .any(|x| x == &(g.to_owned(), r.to_owned(), v.to_owned())),
            "missing {v} on {g}/{r}"
        );
    }
    assert!(
        !grants
            .iter()
            .any(|(g, r, v)| g == "*" || r == "*" || v == "*"),
        "no wildcards"
    );
    assert!(
        !grants.iter().any(|(_, r, v)| r == "connectorversions"
            && ["create", "update", "patch", "delete"].contains(&v.as_str())),
        "the operator never writes spec"
    );
    assert!(
        !grants.iter().any(|(_, r, v)| r == "secrets" && v != "get"),
        "Secrets are only read, one by name"
    );
}
