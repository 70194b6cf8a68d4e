//! kube-runtime wiring: the watch, its filter, the reconciler and the shutdown.
//!
//! The watch hands an object to the reconciler only when its generation or its
//! `cde.productsup.com/requested-at` annotation changes. The operator's own status writes
//! change neither, so they do not wake it; all other timing comes from the requeue the
//! reconciler asks for.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use futures::StreamExt;
use kube::{
    runtime::{
        controller::{Config as ControllerConfig, Controller},
        events::{Recorder, Reporter},
        reflector,
        watcher::{self, watcher},
        PredicateConfig, WatchStreamExt,
    },
    Api, Client, ResourceExt,
};
use tracing::{info, warn};

use crate::cde::CdeClient;
use crate::reconcile::{
    context::{Context, Settings},
    credentials::DefaultToken,
    pipeline::{error_policy, reconcile},
};
use crate::resource::{ConnectorVersion, REQUESTED_AT_ANNOTATION};
use crate::telemetry::Metrics;

/// What to watch and how hard to work.
#[derive(Clone, Debug)]
pub struct WatchScope {
    /// `None` watches every namespace.
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    /// Objects reconciled at once.
    pub concurrency: u16,
}

impl Default for WatchScope {
    fn default() -> Self {
        Self {
            namespace: None,
            label_selector: None,
            concurrency: 4,
        }
    }
}

/// Everything the controller needs from outside.
pub struct Wiring {
    pub kube: Client,
    pub cde: CdeClient,
    pub default_token: DefaultToken,
    pub settings: Settings,
    pub metrics: Metrics,
    pub scope: WatchScope,
    /// Reporter instance, e.g. the pod name.
    pub instance: Option<String>,
}

/// The hash the watch filter compares: user intent (generation) and the manual trigger.
// NB: the Option is the predicate contract of kube-runtime (None would mean "no key").
#[allow(clippy::unnecessary_wraps)]
fn intent(obj: &ConnectorVersion) -> Option<u64> {
    let mut h = DefaultHasher::new();
    obj.metadata.generation.hash(&mut h);
    obj.annotations().get(REQUESTED_AT_ANNOTATION).hash(&mut h);
    Some(h.finish())
}

/// Runs the controller until `shutdown` resolves.
///
/// NB: run it only while holding leadership ([`crate::leader`]) when several replicas exist.
/// Without it, two controllers still never issue the same call twice (the pending-operation
/// write is optimistically locked), but both would poll the CDE API. Reconcile errors are logged and retried;
/// this returns only on shutdown.
pub async fn run(
    wiring: Wiring,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<ConnectorVersion> = match &wiring.scope.namespace {
        Some(ns) => Api::namespaced(wiring.kube.clone(), ns),
        None => Api::all(wiring.kube.clone()),
    };
    let mut config = watcher::Config::default();
    if let Some(selector) = &wiring.scope.label_selector {
        config = config.labels(selector);
    }

    let (store, writer) = reflector::store();
    let trigger = watcher(api, config)
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(intent, PredicateConfig::default());

    let recorder = Recorder::new(
        wiring.kube.clone(),
        Reporter {
            controller: "cde-operator".into(),
            instance: wiring.instance.clone(),
        },
    );
    let context = Arc::new(Context {
        kube: wiring.kube,
        cde: wiring.cde,
        default_token: wiring.default_token,
        recorder,
        store: store.clone(),
        settings: wiring.settings,
        metrics: wiring.metrics,
        failures: crate::reconcile::backoff::Streaks::default(),
        polls: crate::reconcile::backoff::Streaks::default(),
    });

    info!(namespace = ?wiring.scope.namespace, concurrency = wiring.scope.concurrency, "controller starting");
    Controller::for_stream(trigger, store)
        .with_config(ControllerConfig::default().concurrency(wiring.scope.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(e) = result {
                // Reconcile errors are already logged by the error policy; these are the
                // controller's own (watch failures, missing objects).
                warn!(error = %e, "controller event");
            }
        })
        .await;
    info!("controller stopped");
}
