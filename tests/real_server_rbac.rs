//! The operator on a real kube-apiserver with RBAC as shipped in `deploy/`: running with the
//! token of the `cde-operator` service account it converges the examples without one
//! Forbidden answer, and it is Forbidden where its role does not reach.
//!
//! Opt-in tier: runs when kube-envtest's binaries are built; otherwise it says SKIPPED.

mod support;

use std::time::Duration;

use cde_operator::{
    cde::{CdeClient, ClientConfig},
    controller::{self, WatchScope, Wiring},
    demo::{self, DEMO_TOKEN, EXAMPLES, EXPECTED},
    leader::{Leadership, LeaseConfig},
    reconcile::credentials::DefaultToken,
    resource::ConnectorVersion,
    sim::{self, SimConfig, Simulator},
    telemetry::Metrics,
};
use k8s_openapi::api::core::v1::{Event as CoreEvent, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube_envtest::{Binaries, Envtest, EnvtestOptions};
use serde_json::json;
use support::{counted_client, ready, RequestLog};

fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// The files `deploy/kustomization.yaml` lists, applied as an administrator would.
async fn install_deploy(admin: &kube::Client) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let kustomization: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root.join("deploy/kustomization.yaml")).unwrap(),
    )
    .unwrap();
    demo::install_crd(admin).await.unwrap();
    for resource in kustomization["resources"].as_sequence().unwrap() {
        let file = resource.as_str().unwrap();
        if file == "../crds" {
            continue;
        }
        let text = std::fs::read_to_string(root.join("deploy").join(file)).unwrap();
        demo::apply_manifest(admin, file, &text).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_service_account_converges_the_examples_and_nothing_more() {
    let Some(binaries) = Binaries::locate_or_skip(
        "the_shipped_service_account_converges_the_examples_and_nothing_more",
    ) else {
        return;
    };
    let envtest = Envtest::start(EnvtestOptions {
        binaries_dir: binaries
            .kube_apiserver
            .parent()
            .map(std::path::Path::to_path_buf),
        ..EnvtestOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let admin = envtest.client();
    install_deploy(&admin).await;

    // The examples, as a user applies them; the invalid one is refused at admission.
    for (file, text) in EXAMPLES {
        let result = demo::apply_manifest(&admin, file, text).await;
        if *file == "broken-spec.yaml" {
            let message = result
                .expect_err("the invalid example is refused at admission")
                .to_string();
            assert!(message.contains("connectorId must be a UUID"), "{message}");
        } else {
            result.unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }

    // The operator runs with the ServiceAccount's token, its requests counted.
    let token = envtest
        .service_account_token("cde-operator", "cde-operator")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig_path = dir.path().join("operator.kubeconfig");
    envtest
        .write_kubeconfig_for_token(&token, &kubeconfig_path)
        .unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&kubeconfig_path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let log = RequestLog::default();
    let operator = counted_client(&config, &log);

    let leadership = Leadership::acquire(
        operator.clone(),
        LeaseConfig::new("cde-operator", "rbac-test"),
    )
    .await;
    let simulator = Simulator::from_seed(
        SimConfig {
            token: Some(DEMO_TOKEN.into()),
            job_delay: Duration::from_millis(150),
            transition_delay: Duration::from_millis(150),
            ..SimConfig::default()
        },
        &Simulator::demo_seed(),
    )
    .unwrap();
    let sim = sim::serve(simulator, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let cde = CdeClient::new(ClientConfig::new(sim.url())).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(controller::run(
        Wiring {
            kube: operator.clone(),
            metrics: Metrics::new(&cde),
            cde,
            default_token: DefaultToken::default(),
            settings: demo::demo_settings(),
            scope: WatchScope::default(),
            instance: Some("rbac-test".into()),
            ready: None,
        },
        async move {
            let _ = stopped.await;
        },
    ));

    wait_for_expected_outcomes(&admin).await;
    assert_eq!(
        log.forbidden(),
        0,
        "the operator was refused something it needs"
    );

    refused_outside_its_role(&operator).await;

    let _ = stop.send(());
    let _ = running.await;
    leadership.release().await;
    sim.shutdown().await;
    envtest.shutdown().unwrap();
}

/// Waits until every example shows the outcome the demo expects of it.
async fn wait_for_expected_outcomes(admin: &kube::Client) {
    let cvs: Api<ConnectorVersion> = Api::namespaced(admin.clone(), "cde-demo");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let list = cvs.list(&ListParams::default()).await.unwrap();
        let pending: Vec<String> = list
            .items
            .iter()
            .filter(|o| {
                let name = o.metadata.name.clone().unwrap_or_default();
                let expected = EXPECTED.iter().find(|(n, _, _)| *n == name).unwrap();
                ready(o) != Some((expected.1.to_owned(), expected.2.to_owned()))
            })
            .map(|o| o.metadata.name.clone().unwrap_or_default())
            .collect();
        if pending.is_empty() {
            assert_eq!(
                list.items.len(),
                EXPECTED.len() - 1,
                "every valid example is there"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not at the expected outcome: {pending:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Spec writes, deletes, listing Secrets and core Events are outside the operator's role.
async fn refused_outside_its_role(operator: &kube::Client) {
    let as_operator: Api<ConnectorVersion> = Api::namespaced(operator.clone(), "cde-demo");
    let spec_write = as_operator
        .patch(
            "bolt-export-prod",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": true}})),
        )
        .await;
    assert_eq!(
        spec_write.as_ref().err().and_then(status_code),
        Some(403),
        "{spec_write:?}"
    );
    let delete = as_operator
        .delete("bolt-export-prod", &DeleteParams::default())
        .await;
    assert_eq!(delete.as_ref().err().and_then(status_code), Some(403));
    let secrets: Api<Secret> = Api::all(operator.clone());
    let listed = secrets.list(&ListParams::default()).await;
    assert_eq!(listed.as_ref().err().and_then(status_code), Some(403));
    let core_events: Api<CoreEvent> = Api::namespaced(operator.clone(), "cde-demo");
    let event = core_events
        .create(&PostParams::default(), &CoreEvent::default())
        .await;
    assert_eq!(event.as_ref().err().and_then(status_code), Some(403));
}
