//! A test environment: the kube-sandbox API server, the CDE simulator over HTTP, and the real
//! kube-runtime controller between them.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::time::Duration;

use cde_operator::{
    cde::{CdeClient, ClientConfig},
    controller::{self, WatchScope, Wiring},
    demo,
    reconcile::{context::Settings, credentials::DefaultToken},
    resource::{ConnectorVersion, ConnectorVersionSpec, Credentials, SecretKeyRef},
    sim::{self, SimConfig, SimServer, Simulator},
    telemetry::Metrics,
};
use kube::{
    api::{Api, Patch, PatchParams, PostParams},
    ResourceExt,
};
use kube_sandbox::Sandbox;
use serde_json::json;
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

pub const NS: &str = "cde-test";
pub const TOKEN: &str = "test-token";

pub const ACME: &str = "0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f"; // v1 built, v2 updated
pub const BOLT: &str = "0190f1b7-1c2d-7e3f-8a4b-5c6d7e8f9a0b"; // v1 synchronized-to-dev
pub const LEGACY: &str = "0190f1c4-6d7e-7f80-9a1b-2c3d4e5f6a7b"; // v1 prod, migration 812
pub const COBALT: &str = "0190f1d3-4e5f-7a6b-8c7d-9e0f1a2b3c4d"; // v1 prod, platform objects missing
pub const DELTA: &str = "0190f1e5-8f9a-7b0c-9d1e-2f3a4b5c6d7e"; // v1 dev, migration 905, never prod

pub fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

/// One running controller.
pub struct Running {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<()>,
    pub metrics: Metrics,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
    }

    /// Reconcile passes run so far, read from the operator's own metrics.
    pub fn passes(&self) -> u64 {
        metric(&self.metrics.render(), "cde_operator_reconciles_total")
    }
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
}

pub struct Env {
    pub sandbox: Sandbox,
    pub sim: SimServer,
    pub kube: kube::Client,
}

impl Env {
    /// Sandbox + simulator (demo seed, token required), CRD installed, namespace and Secret
    /// created. No controller yet.
    pub async fn start() -> Env {
        let sandbox = Sandbox::start().await.expect("sandbox");
        let config = SimConfig {
            token: Some(TOKEN.to_owned()),
            job_delay: Duration::from_millis(150),
            transition_delay: Duration::from_millis(150),
            ..SimConfig::default()
        };
        let simulator = Simulator::from_seed(config, &Simulator::demo_seed()).expect("seed");
        let sim = sim::serve(simulator, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator");
        let kube = sandbox.client();
        demo::install_crd(&kube).await.expect("crd");
        let setup = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: cde-token\n  namespace: {NS}\nstringData:\n  token: {TOKEN}\n"
        );
        demo::apply_manifest(&kube, "setup", &setup)
            .await
            .expect("setup");
        Env { sandbox, sim, kube }
    }

    pub fn simulator(&self) -> &Simulator {
        self.sim.simulator()
    }

    pub fn cde_client(&self) -> CdeClient {
        CdeClient::new(ClientConfig::new(self.sim.url())).unwrap()
    }

    /// Starts a controller with test timings.
    pub fn run_controller(&self) -> Running {
        self.run_controller_with(demo::demo_settings())
    }

    pub fn run_controller_with(&self, settings: Settings) -> Running {
        let cde = self.cde_client();
        let metrics = Metrics::new(&cde);
        let (stop, stopped) = oneshot::channel::<()>();
        let wiring = Wiring {
            kube: self.kube.clone(),
            cde,
            default_token: DefaultToken::default(),
            settings,
            metrics: metrics.clone(),
            scope: WatchScope {
                namespace: Some(NS.into()),
                ..WatchScope::default()
            },
            instance: None,
        };
        let handle = tokio::spawn(controller::run(wiring, async move {
            let _ = stopped.await;
        }));
        Running {
            stop,
            handle,
            metrics,
        }
    }

    pub fn api(&self) -> Api<ConnectorVersion> {
        Api::namespaced(self.kube.clone(), NS)
    }

    /// Creates a `ConnectorVersion`.
    pub async fn create(
        &self,
        name: &str,
        connector: &str,
        version: i64,
        desired: &str,
        interval: &str,
    ) -> ConnectorVersion {
        let mut cv = ConnectorVersion::new(
            name,
            ConnectorVersionSpec {
                connector_id: connector.into(),
                version,
                desired_state: desired.into(),
                credentials: Some(Credentials {
                    secret_ref: SecretKeyRef {
                        name: "cde-token".into(),
                        key: "token".into(),
                    },
                }),
                suspend: false,
                interval: Some(interval.into()),
            },
        );
        cv.metadata.namespace = Some(NS.into());
        self.api()
            .create(&PostParams::default(), &cv)
            .await
            .expect("create")
    }

    /// Merge-patches the spec (as a user would with kubectl).
    pub async fn patch_spec(&self, name: &str, spec: serde_json::Value) {
        self.api()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": spec })),
            )
            .await
            .expect("patch spec");
    }

    pub async fn annotate(&self, name: &str, key: &str, value: &str) {
        self.api()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {key: value}}})),
            )
            .await
            .expect("annotate");
    }

    /// Waits until `done` holds for the object, or panics with its last status.
    pub async fn wait_for(
        &self,
        name: &str,
        secs: u64,
        done: impl Fn(&ConnectorVersion) -> bool,
    ) -> ConnectorVersion {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let o = self.api().get(name).await.expect("get");
            if done(&o) {
                return o;
            }
            assert!(
                tokio::time::Instant::now() <= deadline,
                "{name} did not get there in {secs}s; status: {}",
                serde_json::to_string_pretty(&o.status).unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the object's Ready condition has this status and reason for its current
    /// generation.
    pub async fn wait_ready(&self, name: &str, status: &str, reason: &str) -> ConnectorVersion {
        self.wait_for(name, 20, |o| {
            ready(o) == Some((status.to_owned(), reason.to_owned()))
        })
        .await
    }

    /// Kubernetes writes seen by the sandbox since `mark`.
    pub fn writes_since(&self, mark: kube_sandbox::RequestMark) -> usize {
        self.sandbox.requests().since(mark).writes()
    }

    pub fn mark(&self) -> kube_sandbox::RequestMark {
        self.sandbox.requests().mark()
    }

    /// How often the simulator was called as `"METHOD endpoint"`.
    pub fn calls(&self, key: &str) -> u64 {
        self.simulator()
            .request_counts()
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    pub async fn shutdown(self) {
        self.sim.shutdown().await;
        self.sandbox.shutdown().await;
    }
}

/// (status, reason) of Ready, when the status describes the current generation.
pub fn ready(o: &ConnectorVersion) -> Option<(String, String)> {
    let s = o.status.as_ref()?;
    if s.observed_generation != o.metadata.generation.unwrap_or(0) {
        return None;
    }
    s.conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone()))
}

pub fn condition(o: &ConnectorVersion, type_: &str) -> Option<cde_operator::resource::Condition> {
    o.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .cloned()
}

pub fn last_operation(o: &ConnectorVersion) -> Option<String> {
    o.status
        .as_ref()?
        .last_operation
        .as_ref()
        .map(|l| l.name.clone())
}

pub fn name_of(o: &ConnectorVersion) -> String {
    o.name_any()
}
