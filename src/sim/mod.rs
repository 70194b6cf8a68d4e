//! A stateful simulator of the CDE API, for tests, benchmarks, the demo and trying the
//! operator without CDE credentials.
//!
//! It serves every endpoint of [`Endpoints`] at the route the table gives it (so a path
//! override moves client and simulator together), with the documented envelopes, messages
//! and refusals, plus `GET /states/{stateId}` for background jobs. The version state machine
//! follows SPEC §6/§8 and OPEN-QUESTIONS Q5 (`machine.rs` states each action's guard and
//! effect); work that takes time — create/update on the platform, sync to prod, the dev-site
//! job — finishes on its own after [`SimConfig::transition_delay`] or
//! [`SimConfig::job_delay`].
//!
//! Test hooks exist both as methods on [`Simulator`] and as HTTP routes under `/_sim/`, a
//! prefix no CDE path uses: replace the seed, change a version's config without a state
//! change, clear the prod platform objects, run a build, inject faults, read and reset the
//! request log. Hooks are never authenticated, faulted or counted.
//!
//! Conventions the live API is not known to follow are marked **simulator convention** where
//! they are implemented; the main one is that a migration rollback sets the prod executable
//! to the legacy executable, which makes a rollback visible in a GET.
//!
//! Deliberately absent: the documented endpoints the operator does not call (connector
//! create/list/bin, build trigger, targets, access, runtime/prod, registrations, logo, job
//! lists), and any persistence — state lives in memory and a seed reload replaces it.
//!
//! [`Endpoints`]: crate::cde::endpoints::Endpoints

mod faults;
mod hooks;
mod machine;
mod refusal;
mod requests;
mod seed;
mod server;
mod template;
mod version;
mod world;

use std::{
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use uuid::Uuid;

pub use self::{
    faults::{FaultAction, Faults, ScriptedFault},
    refusal::Refusal,
    requests::RequestRecord,
    seed::{DevAccount, Seed, SeedConnector, SeedError, SeedState, SeedVersion},
    server::{serve, SimServer},
};
use self::{requests::RequestLog, world::World};
use crate::cde::endpoints::Endpoints;

/// How the simulator behaves. `SimConfig::default()` serves the default routes without
/// authentication and finishes background work after 300 ms.
#[derive(Clone)]
pub struct SimConfig {
    /// The routes to serve; the same table (and overrides) the client uses.
    pub endpoints: Endpoints,
    /// When set, CDE requests without `Authorization: Bearer <token>` get the documented 401.
    /// Never printed by `Debug`.
    pub token: Option<String>,
    /// How long a background job (the dev-site job) stays `pending` before it is `done`.
    pub job_delay: Duration,
    /// How long a transitional state (`synchronizing-to-dev`, `synchronizing-to-prod`,
    /// `resynchronizing-to-prod`, `building`) lasts.
    pub transition_delay: Duration,
    /// The runtime version sync-runtime registers, and that seeded synced versions show.
    pub runtime_version: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            endpoints: Endpoints::default(),
            token: None,
            job_delay: Duration::from_millis(300),
            transition_delay: Duration::from_millis(300),
            runtime_version: "3.1.0".to_owned(),
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("endpoints", &self.endpoints)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("job_delay", &self.job_delay)
            .field("transition_delay", &self.transition_delay)
            .field("runtime_version", &self.runtime_version)
            .finish()
    }
}

/// What can go wrong when starting the simulator or using a hook.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the simulator listens on loopback addresses only, not on {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A route that cannot be mounted; `route` names the endpoint and its method and path.
    #[error("cannot serve {route}: {reason}")]
    Route { route: String, reason: String },
    #[error("invalid seed: {0}")]
    Seed(#[from] SeedError),
    #[error("no connector {0} in the simulator")]
    ConnectorNotFound(Uuid),
    #[error("connector {connector} has no version {major} in the simulator")]
    VersionNotFound { connector: Uuid, major: u32 },
    #[error("the version refuses: {0}")]
    Refused(Refusal),
    /// Input to a hook that cannot be applied (a fault rate out of range, a config patch that
    /// is not an object, …).
    #[error("invalid hook input: {0}")]
    InvalidHookInput(String),
}

impl SimError {
    /// Whether trying again unchanged is pointless. Only a bind failure can clear up by
    /// itself (the port may be freed).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, SimError::Bind { .. })
    }
}

/// The simulated CDE. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

struct Shared {
    config: SimConfig,
    state: Mutex<SimState>,
}

/// Everything that changes while the simulator runs, behind one lock (held only briefly,
/// never across an await).
struct SimState {
    world: World,
    faults: Faults,
    requests: RequestLog,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Default for Simulator {
    fn default() -> Self {
        Self::new(SimConfig::default())
    }
}

impl Simulator {
    /// A simulator without any connector.
    pub fn new(config: SimConfig) -> Self {
        Self::with_world(config, World::default())
    }

    /// A simulator holding what `seed` describes.
    pub fn from_seed(config: SimConfig, seed: &Seed) -> Result<Self, SeedError> {
        let world = seed.to_world(&config.runtime_version)?;
        Ok(Self::with_world(config, world))
    }

    /// The built-in demo seed: the five connectors the demo and its examples reference.
    pub fn demo_seed() -> Seed {
        Seed::demo()
    }

    /// A simulator holding the demo seed.
    ///
    /// # Panics
    ///
    /// Never: the embedded demo seed is checked by a unit test.
    pub fn demo(config: SimConfig) -> Self {
        // NB: `demo_seed_parses_and_loads` proves the embedded seed loads, and loading does not
        // depend on the configuration beyond the runtime version string it copies.
        Self::from_seed(config, &Seed::demo()).expect("the embedded demo seed loads")
    }

    fn with_world(config: SimConfig, world: World) -> Self {
        let state = SimState {
            world,
            faults: Faults::default(),
            requests: RequestLog::default(),
        };
        Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(state),
            }),
        }
    }

    /// The configuration this simulator was created with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The shared state, with due work settled.
    fn lock(&self) -> MutexGuard<'_, SimState> {
        // NB: no code holding this lock panics on purpose; should a panic ever poison it, the
        // state is still a valid simulation (every mutation is a few field writes), so
        // carrying on beats failing every later request.
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.world.settle(tokio::time::Instant::now());
        state
    }
}
