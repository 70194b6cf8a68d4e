//! The CRD on a real kube-apiserver: its structural schema is accepted, the printer columns
//! are served, and each CEL rule refuses its bad object at admission with a clear message.
//!
//! Opt-in tier: runs when kube-envtest's binaries are built (`kube-envtest/build-binaries.sh`,
//! or `KUBE_ENVTEST_BIN_DIR`); otherwise each test says SKIPPED and passes.

mod support;

use cde_operator::{demo, resource::ConnectorVersion};
use kube::api::{Api, PostParams};
use kube_envtest::{Binaries, Envtest, EnvtestOptions};
use serde_json::{json, Value};

const NS: &str = "admission";

async fn server(test: &str) -> Option<(Envtest, kube::Client)> {
    let binaries = Binaries::locate_or_skip(test)?;
    let envtest = match Envtest::start(EnvtestOptions {
        binaries_dir: binaries
            .kube_apiserver
            .parent()
            .map(std::path::Path::to_path_buf),
        ..EnvtestOptions::default()
    })
    .await
    {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    let client = envtest.client();
    demo::install_crd(&client)
        .await
        .expect("the CRD is accepted and served");
    demo::apply_manifest(
        &client,
        "ns",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n"),
    )
    .await
    .unwrap();
    Some((envtest, client))
}

fn object(spec: &Value) -> Value {
    let mut base = json!({"connectorId": "0190f1b7-1c2d-7e3f-8a4b-5c6d7e8f9a0b", "version": 1, "desiredState": "prod", "interval": "10m"});
    base.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    json!({
        "apiVersion": "cde.productsup.com/v1alpha1",
        "kind": "ConnectorVersion",
        "metadata": {"name": "candidate", "namespace": NS},
        "spec": base,
    })
}

/// Creates the object through the raw API (so wrong types reach the server) and returns the
/// server's refusal message, or `None` when it was accepted.
async fn refusal(client: &kube::Client, obj: &Value) -> Option<String> {
    let api: Api<kube::core::DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &kube::core::ApiResource::erase::<ConnectorVersion>(&()),
    );
    let obj: kube::core::DynamicObject = serde_json::from_value(obj.clone()).unwrap();
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => None,
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 422, "admission refusals are 422 Invalid: {s:?}");
            Some(s.message)
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

macro_rules! refused_with {
    ($test:ident, $spec:expr, $message:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            let Some((envtest, client)) = server(stringify!($test)).await else {
                return;
            };
            let message = refusal(&client, &object(&$spec))
                .await
                .expect("the object must be refused");
            eprintln!("{}: refused with {message:?}", stringify!($test));
            assert!(
                message.contains($message),
                "refusal {message:?} should say {:?}",
                $message
            );
            envtest.shutdown().unwrap();
        }
    };
}

refused_with!(
    connector_id_that_is_not_a_uuid_is_refused,
    json!({"connectorId": "acme-feed"}),
    "connectorId must be a UUID"
);
refused_with!(
    version_zero_is_refused,
    json!({"version": 0}),
    "version must be a major version number from 1 to 1000000"
);
refused_with!(
    unknown_desired_state_is_refused,
    json!({"desiredState": "staging"}),
    "desiredState must be one of dev, prod, rolled-back"
);
refused_with!(
    interval_that_is_not_a_duration_is_refused,
    json!({"interval": "soon"}),
    "interval must be a duration from 1s to 168h"
);
refused_with!(
    interval_longer_than_a_week_is_refused,
    json!({"interval": "18446744073709551615s"}),
    "interval must be a duration from 1s to 168h"
);
refused_with!(
    version_that_is_not_an_integer_is_refused_by_the_schema,
    json!({"version": "two"}),
    "spec.version"
);
refused_with!(
    missing_connector_id_is_refused_by_the_schema,
    json!({"connectorId": null}),
    "connectorId"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_object_is_accepted_and_listed_with_the_printer_columns() {
    let Some((envtest, client)) =
        server("a_valid_object_is_accepted_and_listed_with_the_printer_columns").await
    else {
        return;
    };
    assert_eq!(refusal(&client, &object(&json!({}))).await, None);

    let (columns, cells) = support::printed_table(&client, NS).await;
    assert_eq!(
        columns,
        ["Name", "Desired", "Version", "Remote", "Ready", "Reason", "Age"]
    );
    assert_eq!(cells[0], "candidate");
    assert_eq!(cells[1], "prod");
    assert_eq!(cells[2], 1);
    envtest.shutdown().unwrap();
}
