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

use futures::{StreamExt, TryStreamExt};
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
use tokio::sync::watch;
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
    /// Set once the first list of objects has arrived.
    pub ready: Option<crate::telemetry::Readiness>,
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
    let metrics = wiring.metrics.clone();
    let trigger = watcher(api, config)
        .default_backoff()
        .reflect(writer)
        // Deleted objects are never reconciled (no finalizer): forget their gauges here.
        .inspect_ok(move |event| {
            if let watcher::Event::Delete(obj) = event {
                metrics.forget(&obj.namespace().unwrap_or_default(), &obj.name_any());
            }
        })
        .applied_objects()
        .predicate_filter(intent, PredicateConfig::default());

    let recorder = Recorder::new(
        wiring.kube.clone(),
        Reporter {
            controller: "cde-operator".into(),
            instance: wiring.instance.clone(),
        },
    );
    if let Some(ready) = wiring.ready.clone() {
        let store = store.clone();
        tokio::spawn(async move {
            // Ready once the first list of objects arrived: until then nothing is reconciled.
            // NB: the store's readiness future wakes only the waiter that polled it last (the
            // controller polls it too), so it is polled again every half second rather than
            // awaited once.
            loop {
                match tokio::time::timeout(READY_POLL, store.wait_until_ready()).await {
                    Ok(Ok(())) => {
                        ready.set(true);
                        break;
                    }
                    Ok(Err(_)) => break,
                    Err(_) => {}
                }
            }
        });
    }
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

    // NB: kube-runtime's graceful shutdown waits for the first list of objects, which never
    // arrives when the CRD is missing or an object cannot be decoded. A second timer makes
    // sure a requested stop happens.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut graceful = stop_rx.clone();
    let mut forced = stop_rx;

    info!(namespace = ?wiring.scope.namespace, concurrency = wiring.scope.concurrency, "controller starting");
    let controller = Controller::for_stream(trigger, store)
        .with_config(ControllerConfig::default().concurrency(wiring.scope.concurrency))
        .graceful_shutdown_on(async move {
            let _ = graceful.wait_for(|stop| *stop).await;
        })
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(e) = result {
                // Reconcile errors are already logged by the error policy; these are the
                // controller's own (watch failures, missing objects).
                warn!(error = %e, "controller event");
            }
        });
    tokio::select! {
        () = controller => info!("controller stopped"),
        () = async move {
            let _ = forced.wait_for(|stop| *stop).await;
            tokio::time::sleep(FORCED_STOP_AFTER).await;
        } => warn!(after = ?FORCED_STOP_AFTER, "controller did not stop gracefully; stopped it"),
    }
}

/// How often readiness looks at the object cache.
const READY_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a requested stop waits for reconciles in flight before they are dropped.
const FORCED_STOP_AFTER: std::time::Duration = std::time::Duration::from_secs(10);
