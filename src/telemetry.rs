//! Logs, Prometheus metrics and the health server.
//!
//! Metrics: reconcile runs, failures (by reason) and duration; CDE requests by endpoint and
//! HTTP status (read from the client's own counters at scrape time); one gauge per object and
//! condition type (1 True, 0 False, -1 Unknown; absent conditions are 0).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Router};
use prometheus_client::{
    collector::Collector,
    encoding::{text::encode, DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

use crate::cde::CdeClient;
use crate::resource::ConnectorVersionStatus;

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global tracing subscriber at `info`. `RUST_LOG` overrides the filter.
pub fn init_logging(format: LogFormat) {
    init_logging_at(format, "info,kube=warn,hyper=warn,tower=warn");
}

/// Installs the global tracing subscriber with `default_filter` unless `RUST_LOG` is set.
pub fn init_logging_at(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // NB: a second init (tests, the demo calling run twice) is harmless; ignore the error.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabels {
    namespace: String,
    name: String,
    #[prometheus(flatten)]
    kind: ConditionKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionKind {
    condition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    code: String,
}

/// The operator's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    reconciles: Counter,
    failures: Family<FailureLabels, Counter>,
    duration: Histogram,
    conditions: Family<ConditionLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Exposes the CDE client's request counters as a counter family.
#[derive(Debug)]
struct RemoteRequests(CdeClient);

impl Collector for RemoteRequests {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts = self.0.request_counts();
        let mut family = encoder.encode_descriptor(
            "cde_operator_remote_requests",
            "Requests sent to the CDE API, by endpoint and HTTP status (\"error\" when no response)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for ((endpoint, code), n) in counts {
            let labels = RequestLabels { endpoint, code };
            ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Creates the registry; the CDE client's counters are read at scrape time.
    pub fn new(cde: &CdeClient) -> Self {
        let mut registry = Registry::default();
        let reconciles = Counter::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let conditions = Family::<ConditionLabels, Gauge>::default();
        registry.register(
            "cde_operator_reconciles",
            "Reconcile passes run",
            reconciles.clone(),
        );
        registry.register(
            "cde_operator_reconcile_failures",
            "Reconcile passes that ended in an error, by reason",
            failures.clone(),
        );
        registry.register(
            "cde_operator_reconcile_duration_seconds",
            "Duration of reconcile passes",
            duration.clone(),
        );
        registry.register(
            "cde_operator_condition",
            "Condition per object: 1 True, 0 False or absent, -1 Unknown",
            conditions.clone(),
        );
        registry.register_collector(Box::new(RemoteRequests(cde.clone())));
        Self {
            registry: Arc::new(registry),
            reconciles,
            failures,
            duration,
            conditions,
        }
    }

    /// Counts one pass and its duration.
    pub fn reconciled(&self, took: Duration) {
        self.reconciles.inc();
        self.duration.observe(took.as_secs_f64());
    }

    /// Counts one failed pass under `reason` (a CamelCase error reason).
    pub fn failed(&self, reason: &str) {
        self.failures
            .get_or_create(&FailureLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Records the conditions of one object.
    pub fn set_conditions(&self, namespace: &str, name: &str, status: &ConnectorVersionStatus) {
        for type_ in ["Ready", "Reconciling", "Stalled"] {
            let value = match status.conditions.iter().find(|c| c.type_ == type_) {
                Some(c) if c.status == "True" => 1,
                Some(c) if c.status == "Unknown" => -1,
                _ => 0,
            };
            let labels = ConditionLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                kind: ConditionKind {
                    condition: type_.to_owned(),
                },
            };
            self.conditions.get_or_create(&labels).set(value);
        }
    }

    /// Forgets a deleted object's gauges.
    pub fn forget(&self, namespace: &str, name: &str) {
        for type_ in ["Ready", "Reconciling", "Stalled"] {
            self.conditions.remove(&ConditionLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                kind: ConditionKind {
                    condition: type_.to_owned(),
                },
            });
        }
    }

    /// The `OpenMetrics` text exposition; empty if a collector fails to encode.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "could not encode metrics");
            out.clear();
        }
        out
    }
}

/// Shared readiness flag: set when the controller runs (and, with leader election, leads).
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct HealthState {
    metrics: Metrics,
    ready: Readiness,
}

/// Serves `/healthz`, `/readyz` and `/metrics` on `listener` until the process ends.
///
/// `/readyz` answers 200 once `ready` is set (the controller has listed its objects), 503
/// before.
pub async fn serve_health(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    ready: Readiness,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(HealthState { metrics, ready });
    axum::serve(listener, app).await
}

async fn readyz(State(s): State<HealthState>) -> impl IntoResponse {
    if s.ready.get() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn render_metrics(State(s): State<HealthState>) -> impl IntoResponse {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
}
