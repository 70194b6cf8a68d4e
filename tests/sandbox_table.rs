//! `kubectl get cv` on the sandbox prints the same columns as on a real API server (see
//! `tests/real_server_admission.rs` for the real one).

use cde_operator::demo;
use kube_sandbox::Sandbox;
use serde_json::Value;

#[tokio::test]
async fn the_sandbox_prints_the_crd_printer_columns_like_the_real_server() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    demo::install_crd(&client).await.unwrap();
    for (file, text) in demo::EXAMPLES {
        demo::apply_manifest(&client, file, text).await.unwrap();
    }
    let request = http::Request::get(
        "/apis/cde.productsup.com/v1alpha1/namespaces/cde-demo/connectorversions",
    )
    .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
    .body(Vec::new())
    .unwrap();
    let table: Value = client.request(request).await.unwrap();
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["Name", "Desired", "Version", "Remote", "Ready", "Reason", "Age"]
    );
    sandbox.shutdown().await;
}
