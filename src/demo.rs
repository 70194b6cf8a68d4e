//! `cde-operator demo`: the whole operator on a laptop, in seconds.
//!
//! Starts the CDE simulator (with its demo seed) and the kube-sandbox API server on
//! 127.0.0.1, installs the CRD, applies the example manifests (built into the binary, or a
//! folder given on the command line), runs the real controller until every object settles,
//! and prints what each one ended as. `--hold` keeps both servers up and prints a kubeconfig
//! for kubectl.

use std::{fmt::Write as _, path::PathBuf, time::Duration};

use kube::{
    api::{Api, DynamicObject, ListParams, Patch, PatchParams},
    core::GroupVersionKind,
    discovery, CustomResourceExt, ResourceExt,
};
use kube_sandbox::Sandbox;
use tokio::sync::oneshot;

use crate::cde::{CdeClient, ClientConfig};
use crate::controller::{self, WatchScope, Wiring};
use crate::reconcile::{context::Settings, credentials::DefaultToken};
use crate::resource::{ConnectorVersion, ConnectorVersionStatus};
use crate::sim::{self, SimConfig, Simulator};
use crate::telemetry::Metrics;

/// The example manifests shipped in `deploy/examples/`, in apply order.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "00-namespace.yaml",
        include_str!("../deploy/examples/00-namespace.yaml"),
    ),
    (
        "01-cde-token.yaml",
        include_str!("../deploy/examples/01-cde-token.yaml"),
    ),
    (
        "acme-feed-dev.yaml",
        include_str!("../deploy/examples/acme-feed-dev.yaml"),
    ),
    (
        "acme-feed-v2-prod.yaml",
        include_str!("../deploy/examples/acme-feed-v2-prod.yaml"),
    ),
    (
        "bolt-export-prod.yaml",
        include_str!("../deploy/examples/bolt-export-prod.yaml"),
    ),
    (
        "legacy-bridge-rolled-back.yaml",
        include_str!("../deploy/examples/legacy-bridge-rolled-back.yaml"),
    ),
    (
        "cobalt-reviews-prod.yaml",
        include_str!("../deploy/examples/cobalt-reviews-prod.yaml"),
    ),
    (
        "delta-pricing-rolled-back.yaml",
        include_str!("../deploy/examples/delta-pricing-rolled-back.yaml"),
    ),
    (
        "ghost-connector-dev.yaml",
        include_str!("../deploy/examples/ghost-connector-dev.yaml"),
    ),
    (
        "broken-spec.yaml",
        include_str!("../deploy/examples/broken-spec.yaml"),
    ),
];

/// The outcome each shipped example is meant to show: (name, Ready status, reason).
pub const EXPECTED: &[(&str, &str, &str)] = &[
    ("acme-feed-dev", "True", "Converged"),
    ("acme-feed-v2-prod", "False", "WaitingForBuild"),
    ("bolt-export-prod", "True", "Converged"),
    ("legacy-bridge-rolled-back", "True", "Converged"),
    ("cobalt-reviews-prod", "True", "Converged"),
    (
        "delta-pricing-rolled-back",
        "False",
        "NotPreviouslySyncedToProd",
    ),
    ("ghost-connector-dev", "False", "ConnectorNotFound"),
    ("broken-spec", "False", "InvalidSpec"),
];

/// The token the demo's simulator demands; `deploy/examples/01-cde-token.yaml` holds it.
pub const DEMO_TOKEN: &str = "sandbox-demo-token";

/// How long the demo waits for every object to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Demo options.
#[derive(Clone, Debug, Default)]
pub struct DemoOptions {
    pub hold: bool,
    pub examples: Option<PathBuf>,
}

/// What the demo ended with.
#[derive(Clone, Debug)]
pub struct DemoOutcome {
    pub rows: Vec<Row>,
    pub all_as_expected: bool,
}

/// One line of the result table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub desired: String,
    pub remote: String,
    pub ready: String,
    pub reason: String,
    /// `Some(true)` when the example has an expectation and meets it.
    pub as_expected: Option<bool>,
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("starting the sandbox API server: {0}")]
    Sandbox(String),
    #[error("starting the CDE simulator: {0}")]
    Simulator(String),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{file}: {message}")]
    Manifest { file: String, message: String },
    #[error("objects did not settle within {0:?}: {1}")]
    Timeout(Duration, String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs the demo and prints the table to stdout.
pub async fn run(options: DemoOptions) -> Result<DemoOutcome, DemoError> {
    let started = std::time::Instant::now();
    let sandbox = Sandbox::start()
        .await
        .map_err(|e| DemoError::Sandbox(e.to_string()))?;
    let sim_config = SimConfig {
        token: Some(DEMO_TOKEN.to_owned()),
        job_delay: Duration::from_millis(200),
        transition_delay: Duration::from_millis(200),
        ..SimConfig::default()
    };
    let simulator = Simulator::from_seed(sim_config, &Simulator::demo_seed())
        .map_err(|e| DemoError::Simulator(e.to_string()))?;
    let sim_server = sim::serve(simulator, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| DemoError::Simulator(e.to_string()))?;
    let kube = sandbox.client();

    install_crd(&kube).await?;
    for (file, text) in manifests(options.examples.as_ref())? {
        apply_manifest(&kube, &file, &text).await?;
    }

    let cde = CdeClient::new(ClientConfig::new(sim_server.url()))
        .map_err(|e| DemoError::Simulator(e.to_string()))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let wiring = Wiring {
        kube: kube.clone(),
        metrics: Metrics::new(&cde),
        cde,
        default_token: DefaultToken::default(),
        settings: demo_settings(),
        scope: WatchScope::default(),
        instance: None,
        ready: None,
    };
    let controller = tokio::spawn(controller::run(wiring, async move {
        let _ = stopped.await;
    }));

    let settled = wait_until_settled(&kube).await;
    let rows = match settled {
        Ok(rows) => rows,
        Err(e) => {
            let _ = stop.send(());
            let _ = controller.await;
            return Err(e);
        }
    };
    let elapsed = started.elapsed();
    print!("{}", render(&rows));
    let counts = sim_server.simulator().request_counts();
    let gets: u64 = counts
        .iter()
        .filter(|(k, _)| k.starts_with("GET "))
        .map(|(_, n)| n)
        .sum();
    let calls: u64 = counts
        .iter()
        .filter(|(k, _)| !k.starts_with("GET "))
        .map(|(_, n)| n)
        .sum();
    println!(
        "\n{} objects settled in {:.1}s; the CDE simulator answered {gets} reads and {calls} mutations.",
        rows.len(),
        elapsed.as_secs_f64()
    );
    let all_as_expected = rows.iter().all(|r| r.as_expected != Some(false));

    if options.hold {
        let path = std::env::temp_dir().join(format!(
            "cde-operator-demo-{}.kubeconfig",
            std::process::id()
        ));
        sandbox.write_kubeconfig(&path)?;
        println!("\nThe sandbox stays up. Try:\n  export KUBECONFIG={}\n  kubectl get cv -n cde-demo\n  kubectl describe cv bolt-export-prod -n cde-demo\nCDE simulator: {}\nPress Ctrl-C to stop.", path.display(), sim_server.url());
        let _ = tokio::signal::ctrl_c().await;
        let _ = std::fs::remove_file(&path);
    }

    let _ = stop.send(());
    let _ = controller.await;
    sim_server.shutdown().await;
    sandbox.shutdown().await;
    Ok(DemoOutcome {
        rows,
        all_as_expected,
    })
}

/// Reconciler timings for a local simulator: milliseconds instead of seconds.
pub fn demo_settings() -> Settings {
    Settings {
        poll: Duration::from_millis(100),
        max_poll: Duration::from_secs(1),
        failure_base: Duration::from_millis(200),
        failure_max: Duration::from_secs(2),
        recheck: Duration::from_secs(2),
        ..Settings::default()
    }
}

fn manifests(folder: Option<&PathBuf>) -> Result<Vec<(String, String)>, DemoError> {
    let Some(folder) = folder else {
        return Ok(EXAMPLES
            .iter()
            .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
            .collect());
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| Ok((p.display().to_string(), std::fs::read_to_string(&p)?)))
        .collect()
}

/// Installs the `ConnectorVersion` CRD and waits until the API server serves it.
pub async fn install_crd(kube: &kube::Client) -> Result<(), DemoError> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(kube.clone());
    let crd = ConnectorVersion::crd();
    crds.patch(
        &crd.name_any(),
        &PatchParams::apply("cde-demo").force(),
        &Patch::Apply(&crd),
    )
    .await?;
    // Wait until the API serves the new kind.
    let cvs: Api<ConnectorVersion> = Api::all(kube.clone());
    for _ in 0..100 {
        if cvs.list(&ListParams::default()).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(DemoError::Timeout(
        Duration::from_secs(5),
        "the ConnectorVersion CRD was not served".into(),
    ))
}

/// Server-side applies every document of one manifest file (any kind the API server serves).
pub async fn apply_manifest(kube: &kube::Client, file: &str, text: &str) -> Result<(), DemoError> {
    use serde::Deserialize;
    let bad = |message: String| DemoError::Manifest {
        file: file.to_owned(),
        message,
    };
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc).map_err(|e| bad(e.to_string()))?;
        if value.is_null() {
            continue;
        }
        let obj: DynamicObject = serde_yaml::from_value(value).map_err(|e| bad(e.to_string()))?;
        let types = obj
            .types
            .clone()
            .ok_or_else(|| bad("apiVersion and kind are required".into()))?;
        let gvk = GroupVersionKind::try_from(&types).map_err(|e| bad(e.to_string()))?;
        let (resource, capabilities) = discovery::pinned_kind(kube, &gvk).await?;
        let api: Api<DynamicObject> = match (capabilities.scope, obj.namespace()) {
            (discovery::Scope::Namespaced, Some(ns)) => {
                Api::namespaced_with(kube.clone(), &ns, &resource)
            }
            (discovery::Scope::Namespaced, None) => {
                Api::default_namespaced_with(kube.clone(), &resource)
            }
            (discovery::Scope::Cluster, _) => Api::all_with(kube.clone(), &resource),
        };
        api.patch(
            &obj.name_any(),
            &PatchParams::apply("cde-demo").force(),
            &Patch::Apply(&obj),
        )
        .await?;
    }
    Ok(())
}

/// An object has settled when its status describes its current generation and says it is
/// converged, waiting for someone else, or stalled.
fn settled(o: &ConnectorVersion) -> bool {
    let Some(status) = &o.status else {
        return false;
    };
    let condition = |t: &str| status.conditions.iter().find(|c| c.type_ == t);
    let current = status.observed_generation == o.metadata.generation.unwrap_or(0);
    let ready = condition("Ready");
    current
        && (ready.is_some_and(|c| c.status == "True" || c.reason == "WaitingForBuild")
            || condition("Stalled").is_some_and(|c| c.status == "True"))
}

async fn wait_until_settled(kube: &kube::Client) -> Result<Vec<Row>, DemoError> {
    let cvs: Api<ConnectorVersion> = Api::all(kube.clone());
    let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
    loop {
        let list = cvs.list(&ListParams::default()).await?;
        let pending: Vec<String> = list
            .items
            .iter()
            .filter(|o| !settled(o))
            .map(ResourceExt::name_any)
            .collect();
        if pending.is_empty() {
            let mut rows: Vec<Row> = list.items.iter().map(row).collect();
            rows.sort_by(|a, b| a.name.cmp(&b.name));
            return Ok(rows);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(DemoError::Timeout(
                SETTLE_TIMEOUT,
                format!("still in progress: {}", pending.join(", ")),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn row(o: &ConnectorVersion) -> Row {
    let empty = ConnectorVersionStatus::default();
    let status = o.status.as_ref().unwrap_or(&empty);
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
    let name = o.name_any();
    let ready_status = ready.map_or_else(|| "-".to_owned(), |c| c.status.clone());
    let reason = ready.map_or_else(|| "-".to_owned(), |c| c.reason.clone());
    let as_expected = EXPECTED
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, s, r)| *s == ready_status && *r == reason);
    Row {
        name,
        desired: o.spec.desired_state.clone(),
        remote: status
            .remote
            .as_ref()
            .and_then(|r| r.state.clone())
            .unwrap_or_else(|| "-".to_owned()),
        ready: ready_status,
        reason,
        as_expected,
    }
}

/// The table the demo prints.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<12} {:<22} {:<6} {:<27} EXPECTED",
        "NAME", "DESIRED", "REMOTE", "READY", "REASON"
    );
    for r in rows {
        let mark = match r.as_expected {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let _ = writeln!(
            out,
            "{:<28} {:<12} {:<22} {:<6} {:<27} {mark}",
            r.name, r.desired, r.remote, r.ready, r.reason
        );
    }
    out
}
