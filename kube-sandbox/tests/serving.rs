//! Discovery, Table output, kubeconfig and lifecycle of the server itself.

mod common;

use common::{create, sandbox_with_gizmos};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use kube_sandbox::{Sandbox, SandboxError};
use serde_json::{json, Value};

async fn get_json(client: &kube::Client, path: &str, accept: &str) -> Value {
    let request = http::Request::get(path)
        .header("Accept", accept)
        .body(Vec::new())
        .unwrap();
    let text = client.request_text(request).await.unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn discovery_lists_builtins_and_registered_crds() {
    let (sandbox, _gizmos) = sandbox_with_gizmos().await;
    let discovery = Discovery::new(sandbox.client()).run().await.unwrap();
    let find = |group: &str, plural: &str| {
        discovery
            .groups()
            .filter(|g| g.name() == group)
            .flat_map(kube::discovery::ApiGroup::recommended_resources)
            .find(|(ar, _)| ar.plural == plural)
    };
    let (gizmo, caps) = find("test.example.com", "gizmos").expect("CRD served");
    assert_eq!(gizmo.kind, "Gizmo");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps
        .subresources
        .iter()
        .any(|(ar, _)| ar.plural == "status"));
    for (group, plural) in [
        ("", "configmaps"),
        ("coordination.k8s.io", "leases"),
        ("events.k8s.io", "events"),
    ] {
        assert!(find(group, plural).is_some(), "{group}/{plural}");
    }
    let version = sandbox.client().apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");
}

#[tokio::test]
async fn kubectl_table_requests_get_exactly_the_declared_printer_columns() {
    let sandbox = Sandbox::start().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(sandbox.client());
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.demo.example.com"},
        "spec": {"group": "demo.example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}]}]}
    });
    let stored = crds
        .patch(
            "gadgets.demo.example.com",
            &PatchParams::apply("test"),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    let conditions: Vec<String> = stored
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .map(|c| c.type_)
        .collect();
    assert_eq!(conditions, vec!["NamesAccepted", "Established"]);

    let client = sandbox.client();
    let create = http::Request::post("/apis/demo.example.com/v1/namespaces/default/gadgets")
        .header("Content-Type", "application/json")
        .body(
            serde_json::to_vec(
                &json!({"apiVersion": "demo.example.com/v1", "kind": "Gadget",
            "metadata": {"name": "g1"}, "spec": {"size": 7}}),
            )
            .unwrap(),
        )
        .unwrap();
    client.request_text(create).await.unwrap();

    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let table = get_json(
        &client,
        "/apis/demo.example.com/v1/namespaces/default/gadgets",
        accept,
    )
    .await;
    assert_eq!(table["kind"], "Table");
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    // As on the real server: a custom resource that declares columns gets no implicit Age.
    assert_eq!(columns, vec!["Name", "Size", "Ready"]);
    let cells = &table["rows"][0]["cells"];
    assert_eq!(cells[0], "g1");
    assert_eq!(cells[1], 7);
    assert_eq!(cells[2], Value::Null);
    assert_eq!(cells.as_array().unwrap().len(), 3);

    let plain = get_json(
        &client,
        "/apis/demo.example.com/v1/namespaces/default/gadgets",
        "application/json",
    )
    .await;
    assert_eq!(plain["kind"], "GadgetList");
}

#[tokio::test]
async fn kubeconfig_gives_a_working_client_in_namespace_default() {
    let (sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    sandbox.write_kubeconfig(&path).unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(config.default_namespace, "default");
    let client = kube::Client::try_from(config).unwrap();
    let via_kubeconfig: Api<common::Gizmo> = Api::default_namespaced(client);
    assert_eq!(via_kubeconfig.get("a").await.unwrap().spec.size, 1);
}

#[tokio::test]
async fn shutdown_stops_serving_and_non_loopback_addresses_are_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let addr = sandbox.addr();
    sandbox.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let public = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    assert!(matches!(
        Sandbox::start_on(public).await,
        Err(SandboxError::NotLoopback(_))
    ));
}
