//! Test hooks: ways to change the simulated CDE that the CDE API itself does not offer.
//!
//! Each hook is a method on [`Simulator`] and an HTTP route under `/_sim` (for the binary and
//! for tests in other processes). Hooks are not authenticated, not faulted and not counted.
//!
//! | Route | Effect |
//! | --- | --- |
//! | `PUT /_sim/seed` (seed JSON) | replace every connector, version and job |
//! | `GET /_sim/connectors/{publicId}` | the connector as a GET shows it, without envelope or count |
//! | `PATCH /_sim/connectors/{publicId}/versions/{major}/config` (JSON) | merge into `config`; state unchanged |
//! | `POST /_sim/connectors/{publicId}/versions/{major}/clear-prod-platform` | prod `executable` and `platform-connector` := null; `prod_config` kept |
//! | `POST /_sim/connectors/{publicId}/versions/{major}/build` | `building`, then `built` after the transition delay |
//! | `GET`/`PUT`/`DELETE /_sim/faults` ([`Faults`] JSON) | read, replace or clear injected faults |
//! | `POST /_sim/faults/scripted` ([`ScriptedFault`] JSON) | add one scripted fault |
//! | `GET`/`DELETE /_sim/requests` | `{"counts": {"GET show-connector": 3, …}, "log": [...]}`, or reset both |
//!
//! Success answers are `200` with JSON or `204`; failures are `{"message": …}` with 400 or 404
//! (a build the version refuses answers with the CDE refusal body).

use std::collections::BTreeMap;

use axum::{
    extract::{rejection::JsonRejection, rejection::PathRejection, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, patch, post, put},
    Json, Router,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    machine::{self, Now},
    requests::RequestRecord,
    seed::{Seed, SeedError},
    template,
    version::SimVersion,
    world::World,
    Faults, ScriptedFault, SimError, Simulator,
};
use crate::cde::endpoints::Endpoint;

/// The prefix of every hook route; no CDE path starts with it.
pub const PREFIX: &str = "/_sim";

const SEED: &str = "/seed";
const CONNECTOR: &str = "/connectors/{publicId}";
const CONFIG: &str = "/connectors/{publicId}/versions/{major}/config";
const CLEAR_PROD_PLATFORM: &str = "/connectors/{publicId}/versions/{major}/clear-prod-platform";
const BUILD: &str = "/connectors/{publicId}/versions/{major}/build";
const FAULTS: &str = "/faults";
const SCRIPTED_FAULTS: &str = "/faults/scripted";
const REQUESTS: &str = "/requests";

/// Every hook route, relative to [`PREFIX`].
pub const PATHS: [&str; 8] = [
    SEED,
    CONNECTOR,
    CONFIG,
    CLEAR_PROD_PLATFORM,
    BUILD,
    FAULTS,
    SCRIPTED_FAULTS,
    REQUESTS,
];

impl Simulator {
    /// Replaces every connector, version and job with what `seed` describes. Faults and the
    /// request log are kept.
    pub fn load_seed(&self, seed: &Seed) -> Result<(), SeedError> {
        let world = seed.to_world(&self.config().runtime_version)?;
        self.lock().world = world;
        Ok(())
    }

    /// Merges `patch` into the version's `config` without changing its state, so `dev_config`
    /// and `prod_config` become stale. Objects merge key by key; anything else, `null`
    /// included, replaces (`{"migration": {"legacy-executable": 7}}` makes it a migration).
    pub fn patch_config(&self, connector: Uuid, major: u32, patch: &Value) -> Result<(), SimError> {
        if !patch.is_object() {
            return Err(SimError::InvalidHookInput(
                "a config patch is a JSON object".to_owned(),
            ));
        }
        self.with_version(connector, major, |v| {
            template::merge(&mut v.config, patch);
            Ok(())
        })
    }

    /// Makes the prod platform objects disappear: prod `executable` and `platform-connector`
    /// become null while `prod_config` stays — the state a recreate repairs.
    pub fn clear_prod_platform(&self, connector: Uuid, major: u32) -> Result<(), SimError> {
        self.with_version(connector, major, |v| {
            v.prod.executable = None;
            v.prod.platform_connector = None;
            v.managed_prod_executable = None;
            Ok(())
        })
    }

    /// Builds the version: `building` for the transition delay, then `built` with a new
    /// `vcs.latest-commit`. Refused while the version is in a transitional state.
    pub fn build(&self, connector: Uuid, major: u32) -> Result<(), SimError> {
        let delay = self.config().transition_delay;
        self.with_version(connector, major, |v| {
            machine::build(v, Now::current(), delay).map_err(SimError::Refused)
        })
    }

    /// The faults currently injected.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) -> Result<(), SimError> {
        faults.validate().map_err(SimError::InvalidHookInput)?;
        self.lock().faults = faults;
        Ok(())
    }

    /// Adds one scripted fault after those already waiting.
    pub fn add_fault(&self, fault: ScriptedFault) -> Result<(), SimError> {
        let mut state = self.lock();
        let mut faults = state.faults.clone();
        faults.scripted.push(fault);
        faults.validate().map_err(SimError::InvalidHookInput)?;
        state.faults = faults;
        Ok(())
    }

    /// Stops injecting any fault.
    pub fn clear_faults(&self) {
        self.lock().faults = Faults::default();
    }

    /// Requests per `"METHOD endpoint-name"` (e.g. `"GET show-connector"`) since the last
    /// reset, refused and faulted ones included.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.lock().requests.counts()
    }

    /// The number of requests to `endpoint` since the last reset, with its configured method.
    pub fn request_count(&self, endpoint: Endpoint) -> u64 {
        let key = format!(
            "{} {}",
            self.config().endpoints.route(endpoint).method,
            endpoint
        );
        self.lock()
            .requests
            .counts()
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// The most recent requests (up to 10 000), oldest first.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.lock().requests.records()
    }

    /// Forgets the request log and its counts.
    pub fn reset_requests(&self) {
        self.lock().requests.reset();
    }

    /// The connector as `GET /connectors/{publicId}` would show it (without the envelope),
    /// without counting a request.
    pub fn connector_json(&self, connector: Uuid) -> Option<Value> {
        let state = self.lock();
        serde_json::to_value(state.world.connectors.get(&connector)?).ok()
    }

    /// One version as `GET /connectors/{publicId}` would show it, without counting a request.
    pub fn version_json(&self, connector: Uuid, major: u32) -> Option<Value> {
        let state = self.lock();
        let version = state
            .world
            .connectors
            .get(&connector)?
            .versions
            .iter()
            .find(|v| v.major == major)?;
        serde_json::to_value(version).ok()
    }

    fn with_version<T>(
        &self,
        connector: Uuid,
        major: u32,
        change: impl FnOnce(&mut SimVersion) -> Result<T, SimError>,
    ) -> Result<T, SimError> {
        let mut state = self.lock();
        let version = find_version(&mut state.world, connector, major)?;
        change(version)
    }
}

fn find_version(
    world: &mut World,
    connector: Uuid,
    major: u32,
) -> Result<&mut SimVersion, SimError> {
    world
        .connectors
        .get_mut(&connector)
        .ok_or(SimError::ConnectorNotFound(connector))?
        .version_mut(major)
        .ok_or(SimError::VersionNotFound { connector, major })
}

/// The hook routes, to be nested under [`PREFIX`].
pub fn router() -> Router<Simulator> {
    Router::new()
        .route(SEED, put(load_seed))
        .route(CONNECTOR, get(show_connector))
        .route(CONFIG, patch(patch_config))
        .route(CLEAR_PROD_PLATFORM, post(clear_prod_platform))
        .route(BUILD, post(build))
        .route(
            FAULTS,
            get(show_faults).put(set_faults).delete(clear_faults),
        )
        .route(SCRIPTED_FAULTS, post(add_fault))
        .route(REQUESTS, get(show_requests).delete(reset_requests))
}

/// A hook failure as a response.
struct HookError(SimError);

impl IntoResponse for HookError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            SimError::Refused(refusal) => return refusal.clone().into_response(),
            SimError::ConnectorNotFound(_) | SimError::VersionNotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            SimError::Seed(_) | SimError::InvalidHookInput(_) => StatusCode::BAD_REQUEST,
            SimError::NotLoopback(_) | SimError::Bind { .. } | SimError::Route { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "message": self.0.to_string() }))).into_response()
    }
}

impl From<SimError> for HookError {
    fn from(e: SimError) -> Self {
        HookError(e)
    }
}

impl From<JsonRejection> for HookError {
    fn from(e: JsonRejection) -> Self {
        HookError(SimError::InvalidHookInput(e.body_text()))
    }
}

impl From<PathRejection> for HookError {
    fn from(e: PathRejection) -> Self {
        HookError(SimError::InvalidHookInput(e.body_text()))
    }
}

type Hooked = Result<Response, HookError>;

async fn load_seed(State(sim): State<Simulator>, body: String) -> Hooked {
    let seed = Seed::from_json(&body).map_err(SimError::Seed)?;
    sim.load_seed(&seed).map_err(SimError::Seed)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn show_connector(
    State(sim): State<Simulator>,
    id: Result<Path<Uuid>, PathRejection>,
) -> Hooked {
    let Path(id) = id?;
    let connector = sim
        .connector_json(id)
        .ok_or(SimError::ConnectorNotFound(id))?;
    Ok(Json(connector).into_response())
}

fn version_response(sim: &Simulator, connector: Uuid, major: u32) -> Hooked {
    let version = sim
        .version_json(connector, major)
        .ok_or(SimError::VersionNotFound { connector, major })?;
    Ok(Json(version).into_response())
}

async fn patch_config(
    State(sim): State<Simulator>,
    path: Result<Path<(Uuid, u32)>, PathRejection>,
    body: Result<Json<Value>, JsonRejection>,
) -> Hooked {
    let Path((connector, major)) = path?;
    let Json(changes) = body?;
    sim.patch_config(connector, major, &changes)?;
    version_response(&sim, connector, major)
}

async fn clear_prod_platform(
    State(sim): State<Simulator>,
    path: Result<Path<(Uuid, u32)>, PathRejection>,
) -> Hooked {
    let Path((connector, major)) = path?;
    sim.clear_prod_platform(connector, major)?;
    version_response(&sim, connector, major)
}

async fn build(
    State(sim): State<Simulator>,
    path: Result<Path<(Uuid, u32)>, PathRejection>,
) -> Hooked {
    let Path((connector, major)) = path?;
    sim.build(connector, major)?;
    version_response(&sim, connector, major)
}

async fn show_faults(State(sim): State<Simulator>) -> Json<Faults> {
    Json(sim.faults())
}

async fn set_faults(
    State(sim): State<Simulator>,
    body: Result<Json<Faults>, JsonRejection>,
) -> Hooked {
    let Json(faults) = body?;
    sim.set_faults(faults)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn clear_faults(State(sim): State<Simulator>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn add_fault(
    State(sim): State<Simulator>,
    body: Result<Json<ScriptedFault>, JsonRejection>,
) -> Hooked {
    let Json(fault) = body?;
    sim.add_fault(fault)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `GET /_sim/requests`.
#[derive(serde::Serialize)]
struct RequestReport {
    counts: BTreeMap<String, u64>,
    log: Vec<RequestRecord>,
}

async fn show_requests(State(sim): State<Simulator>) -> Json<RequestReport> {
    Json(RequestReport {
        counts: sim.request_counts(),
        log: sim.request_log(),
    })
}

async fn reset_requests(State(sim): State<Simulator>) -> StatusCode {
    sim.reset_requests();
    StatusCode::NO_CONTENT
}
