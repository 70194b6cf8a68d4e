//! `kubectl get cv` on the sandbox prints the same columns as on a real API server (see
//! `tests/real_server_admission.rs` for the real one).

mod support;

use cde_operator::demo;
use kube_sandbox::Sandbox;

#[tokio::test]
async fn the_sandbox_prints_the_crd_printer_columns_like_the_real_server() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    demo::install_crd(&client).await.unwrap();
    for (file, text) in demo::EXAMPLES {
        demo::apply_manifest(&client, file, text).await.unwrap();
    }
    let (columns, _) = support::printed_table(&client, "cde-demo").await;
    assert_eq!(
        columns,
        ["Name", "Desired", "Version", "Remote", "Ready", "Reason", "Age"]
    );
    sandbox.shutdown().await;
}
