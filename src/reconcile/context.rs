//! What every reconcile pass shares: clients, settings, the object cache and counters.

use std::time::Duration;

use kube::runtime::{events::Recorder, reflector::Store};

use crate::cde::CdeClient;
use crate::resource::ConnectorVersion;
use crate::telemetry::Metrics;

use super::backoff::Streaks;
use super::credentials::DefaultToken;
use super::observe::default_ignored_keys;

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "cde-operator";

/// Timing and comparison knobs. Defaults suit production; tests and the demo shorten them.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Top-level config keys ignored when comparing config snapshots.
    pub ignored_config_keys: Vec<String>,
    /// First re-observe after a call, and while the remote is busy (then doubling).
    pub poll: Duration,
    /// Cap of the busy-poll backoff.
    pub max_poll: Duration,
    /// First retry after a transient failure (then doubling).
    pub failure_base: Duration,
    /// Cap of the failure backoff.
    pub failure_max: Duration,
    /// How often an object that lost a conflict, or lacks credentials, looks again (at most
    /// its interval).
    pub recheck: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ignored_config_keys: default_ignored_keys(),
            poll: Duration::from_secs(2),
            max_poll: Duration::from_secs(30),
            failure_base: Duration::from_secs(1),
            failure_max: Duration::from_secs(300),
            recheck: Duration::from_secs(30),
        }
    }
}

/// Shared state of the reconciler.
pub struct Context {
    pub kube: kube::Client,
    pub cde: CdeClient,
    pub default_token: DefaultToken,
    pub recorder: Recorder,
    /// Every watched object, for the conflict check.
    pub store: Store<ConnectorVersion>,
    pub settings: Settings,
    pub metrics: Metrics,
    /// Consecutive transient failures per object.
    pub failures: Streaks,
    /// Consecutive busy polls per object.
    pub polls: Streaks,
}
