//! A test environment: a Kubernetes API server, the CDE simulator over HTTP, and the real
//! kube-runtime controller between them.
//!
//! The API server is kube-sandbox, started per test, unless `CDE_TEST_KUBECONFIG` names a
//! kubeconfig: then every test runs against that server instead (in a namespace of its own),
//! unchanged. The operator's own Kubernetes requests are counted on its client, so "no writes"
//! is measured the same way on either server.

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
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

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
    /// Every Kubernetes request the operator sent, as (method, path).
    pub requests: RequestLog,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
    }

    /// Kubernetes writes (anything but GET) the operator sent after `mark`.
    pub fn writes_since(&self, mark: usize) -> Vec<(String, String)> {
        self.requests
            .since(mark)
            .into_iter()
            .filter(|(m, _)| m != "GET")
            .collect()
    }

    /// Reconcile passes run so far, read from the operator's own metrics.
    pub fn passes(&self) -> u64 {
        metric(&self.metrics.render(), "cde_operator_reconciles_total")
    }
}

/// The requests a client sent, and the Forbidden answers it got, recorded by tower layers
/// on that client.
#[derive(Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<(String, String)>>>, Arc<Mutex<u64>>);

impl RequestLog {
    pub fn mark(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn since(&self, mark: usize) -> Vec<(String, String)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)[mark..].to_vec()
    }

    /// How many answers were 403 Forbidden.
    pub fn forbidden(&self) -> u64 {
        *self.1.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, method: &http::Method, uri: &http::Uri) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((method.to_string(), uri.path().to_owned()));
    }
}

/// A client for `config` whose requests (and Forbidden answers) are recorded in `log`.
pub fn counted_client(config: &kube::Config, log: &RequestLog) -> kube::Client {
    let requests = log.clone();
    let record_request =
        tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
            requests.record(req.method(), req.uri());
            req
        });
    let forbidden = log.1.clone();
    let record_response = tower::util::MapResponseLayer::new(move |res: http::Response<_>| {
        if res.status() == http::StatusCode::FORBIDDEN {
            *forbidden.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        }
        res
    });
    kube::client::ClientBuilder::try_from(config.clone())
        .expect("client config")
        .with_layer(&record_request)
        .with_layer(&record_response)
        .build()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
}

pub enum Cluster {
    Sandbox(Sandbox),
    External,
}

pub struct Env {
    pub cluster: Cluster,
    pub config: kube::Config,
    pub sim: SimServer,
    pub kube: kube::Client,
    /// This test's namespace.
    pub ns: String,
}

impl Env {
    /// API server + simulator (demo seed, token required), CRD installed, a namespace of
    /// this test's own and the token Secret in it. No controller yet.
    pub async fn start() -> Env {
        // Logs for a failing test: RUST_LOG=cde_operator=debug cargo test ... -- --nocapture
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let (cluster, config) = if let Some(path) = std::env::var_os("CDE_TEST_KUBECONFIG") {
            let kubeconfig =
                kube::config::Kubeconfig::read_from(path).expect("CDE_TEST_KUBECONFIG");
            let config = kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .expect("kubeconfig");
            (Cluster::External, config)
        } else {
            let sandbox = Sandbox::start().await.expect("sandbox");
            let config = kube::Config::new(sandbox.url().parse().expect("sandbox URL"));
            (Cluster::Sandbox(sandbox), config)
        };
        let sim_config = SimConfig {
            token: Some(TOKEN.to_owned()),
            job_delay: Duration::from_millis(150),
            transition_delay: Duration::from_millis(150),
            ..SimConfig::default()
        };
        let simulator = Simulator::from_seed(sim_config, &Simulator::demo_seed()).expect("seed");
        let sim = sim::serve(simulator, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator");
        let kube = kube::Client::try_from(config.clone()).expect("client");
        demo::install_crd(&kube).await.expect("crd");
        let ns = format!("cde-test-{}", &Uuid::new_v4().simple().to_string()[..8]);
        let setup = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: cde-token\n  namespace: {ns}\nstringData:\n  token: {TOKEN}\n"
        );
        demo::apply_manifest(&kube, "setup", &setup)
            .await
            .expect("setup");
        Env {
            cluster,
            config,
            sim,
            kube,
            ns,
        }
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
        let requests = RequestLog::default();
        let (stop, stopped) = oneshot::channel::<()>();
        let wiring = Wiring {
            kube: counted_client(&self.config, &requests),
            cde,
            default_token: DefaultToken::default(),
            settings,
            metrics: metrics.clone(),
            scope: WatchScope {
                namespace: Some(self.ns.clone()),
                ..WatchScope::default()
            },
            instance: None,
            ready: None,
        };
        let handle = tokio::spawn(controller::run(wiring, async move {
            let _ = stopped.await;
        }));
        Running {
            stop,
            handle,
            metrics,
            requests,
        }
    }

    pub fn api(&self) -> Api<ConnectorVersion> {
        Api::namespaced(self.kube.clone(), &self.ns)
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
        cv.metadata.namespace = Some(self.ns.clone());
        self.api()
            .create(&PostParams::default(), &cv)
            .await
            .expect("create")
    }

    /// Creates a `ConnectorVersion` from a spec written as JSON, as a manifest would hold it.
    pub async fn create_spec(&self, name: &str, spec: serde_json::Value) -> ConnectorVersion {
        let mut cv = ConnectorVersion::new(name, serde_json::from_value(spec).expect("spec"));
        cv.metadata.namespace = Some(self.ns.clone());
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
        match self.cluster {
            Cluster::Sandbox(sandbox) => sandbox.shutdown().await,
            Cluster::External => {
                let namespaces: Api<k8s_openapi::api::core::v1::Namespace> =
                    Api::all(self.kube.clone());
                let _ = namespaces
                    .delete(&self.ns, &kube::api::DeleteParams::default())
                    .await;
            }
        }
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

/// The column names and the first row `kubectl get` would print for the `ConnectorVersion`s
/// of `namespace` (a `meta.k8s.io/v1` Table request).
pub async fn printed_table(client: &kube::Client, namespace: &str) -> (Vec<String>, Value) {
    let request = http::Request::get(format!(
        "/apis/cde.productsup.com/v1alpha1/namespaces/{namespace}/connectorversions"
    ))
    .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
    .body(Vec::new())
    .expect("request");
    let table: Value = client.request(request).await.expect("table");
    let columns = table["columnDefinitions"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    (columns, table["rows"][0]["cells"].clone())
}
