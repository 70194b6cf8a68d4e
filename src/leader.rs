//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas only one
//! reconciles at a time.
//!
//! The holder renews the Lease every `renew_every`; another replica takes it over once it has
//! not been renewed for `duration`. Every write is locked on the Lease's resourceVersion, so
//! two candidates cannot both win. A holder that cannot renew before its Lease would expire
//! gives up leadership (the caller stops its controller), and a holder that shuts down
//! releases the Lease so a successor takes over at once.
//!
//! Limitation: expiry is judged by comparing the Lease's `renewTime` with the local clock, so
//! replicas with skewed clocks may take over early or late by the skew.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use kube::{
    api::{Api, ObjectMeta, PostParams},
    Client,
};
use tokio::{sync::watch, task::JoinHandle};
use tracing::{info, warn};

/// Where the Lease lives and how it is held.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity, e.g. the pod name.
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub duration: Duration,
    /// How often the holder renews it.
    pub renew_every: Duration,
}

impl LeaseConfig {
    /// A Lease named `cde-operator` held for 15 s and renewed every 5 s.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: "cde-operator".into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        }
    }
}

/// Leadership held by this replica. Dropping it stops renewal without releasing (as a crash
/// would); call [`Leadership::release`] on a clean shutdown.
pub struct Leadership {
    api: Api<Lease>,
    config: LeaseConfig,
    lost: watch::Receiver<bool>,
    renewal: JoinHandle<()>,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

impl Leadership {
    /// Waits until this replica holds the Lease, then keeps renewing it in the background.
    ///
    /// Errors from the API server while waiting are logged and retried; this returns only
    /// once leadership is held.
    pub async fn acquire(client: Client, config: LeaseConfig) -> Self {
        let api: Api<Lease> = Api::namespaced(client, &config.namespace);
        let mut logged_wait = false;
        loop {
            match try_hold(&api, &config).await {
                Ok(true) => break,
                Ok(false) if !logged_wait => {
                    info!(lease = %config.name, "another replica leads; waiting");
                    logged_wait = true;
                }
                Ok(false) => {}
                Err(e) => {
                    warn!(error = %e, lease = %config.name, "leader election: API error; retrying");
                }
            }
            tokio::time::sleep(config.renew_every).await;
        }
        info!(lease = %config.name, identity = %config.identity, "became leader");

        let (tx, lost) = watch::channel(false);
        let renewal = tokio::spawn(renew(api.clone(), config.clone(), tx));
        Self {
            api,
            config,
            lost,
            renewal,
        }
    }

    /// Resolves when leadership is lost (the Lease could not be renewed in time, or another
    /// replica holds it). Never resolves while leadership lasts.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + Sync + 'static {
        let mut lost = self.lost.clone();
        async move {
            // An Err means the renewal task ended, which only happens once leadership is lost.
            let _ = lost.wait_for(|l| *l).await;
        }
    }

    /// Stops renewing and hands the Lease back, so a successor need not wait for it to expire.
    pub async fn release(self) {
        self.renewal.abort();
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() == Some(self.config.identity.as_str()) {
                spec.holder_identity = None;
                spec.lease_duration_seconds = Some(1);
                match self
                    .api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await
                {
                    Ok(_) => info!(lease = %self.config.name, "released leadership"),
                    Err(e) => {
                        warn!(error = %e, "could not release the Lease; it expires by itself");
                    }
                }
            }
        }
    }
}

async fn renew(api: Api<Lease>, config: LeaseConfig, lost: watch::Sender<bool>) {
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(config.renew_every).await;
        match try_hold(&api, &config).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => {
                warn!(lease = %config.name, "another replica took the Lease; giving up leadership");
                break;
            }
            Err(e) if last_renewal.elapsed() + config.renew_every < config.duration => {
                warn!(error = %e, "could not renew the Lease; retrying");
            }
            Err(e) => {
                warn!(error = %e, "could not renew the Lease before it expires; giving up leadership");
                break;
            }
        }
    }
    let _ = lost.send(true);
}

/// One attempt to take or renew the Lease. `Ok(false)`: someone else holds it, or won a race.
async fn try_hold(api: &Api<Lease>, config: &LeaseConfig) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let seconds = i32::try_from(config.duration.as_secs()).unwrap_or(i32::MAX);
    let Some(mut lease) = api.get_opt(&config.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(config.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(config.identity.clone()),
                lease_duration_seconds: Some(seconds),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        return won(api.create(&PostParams::default(), &lease).await);
    };

    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let mine = spec.holder_identity.as_deref() == Some(config.identity.as_str());
    let held = spec
        .holder_identity
        .as_deref()
        .is_some_and(|h| !h.is_empty());
    let valid_for = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    let expired = spec.renew_time.as_ref().is_none_or(|t| {
        t.0.checked_add(valid_for)
            .map_or(true, |until| until <= now)
    });
    if !mine && held && !expired {
        return Ok(false);
    }

    if !mine {
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    spec.holder_identity = Some(config.identity.clone());
    spec.lease_duration_seconds = Some(seconds);
    spec.renew_time = Some(MicroTime(now));
    // NB: `lease` still carries the resourceVersion it was read with: a concurrent writer
    // makes this replace fail with 409 instead of both believing they lead.
    won(api
        .replace(&config.name, &PostParams::default(), &lease)
        .await)
}

fn won(result: Result<Lease, kube::Error>) -> Result<bool, kube::Error> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}
