//! The simulator's HTTP side: mounting the endpoint table, the request pipeline of a CDE
//! route, and the server handle.
//!
//! Each request to a CDE route goes: record in the request log → injected latency and faults
//! → bearer-token check → path parameters → the world's answer. Routes come from the
//! configured [`Endpoints`]; since axum panics on a malformed or conflicting route, every
//! template is checked first (with the router axum itself uses) and a bad override becomes a
//! [`SimError::Route`].

use std::{
    collections::{BTreeSet, HashMap},
    net::SocketAddr,
    time::Duration,
};

use axum::{
    extract::{rejection::PathRejection, Path, State},
    http::{header::AUTHORIZATION, HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{on, MethodFilter},
    Json, Router,
};
use serde_json::json;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use super::{
    faults::Interruption,
    hooks,
    machine::Now,
    refusal::Refusal,
    world::{Answer, PathParams},
    SimError, Simulator,
};
use crate::cde::endpoints::{self, Endpoint, Endpoints};

/// How long [`SimServer::shutdown`] waits for in-flight requests before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `sim` on `addr`, which must be a loopback address (port 0 picks a free port).
///
/// The server runs on a spawned task until [`SimServer::shutdown`] is called or the handle is
/// dropped. Fails if a route of the configured endpoint table cannot be mounted or the address
/// cannot be bound.
pub async fn serve(sim: Simulator, addr: SocketAddr) -> Result<SimServer, SimError> {
    if !addr.ip().is_loopback() {
        return Err(SimError::NotLoopback(addr));
    }
    let router = router(&sim)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;

    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            // Either an explicit stop or the handle being dropped ends the server.
            let _ = stopped.await;
        };
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(%error, "CDE simulator stopped with an error");
        }
    });
    tracing::info!(url = %format!("http://{local_addr}"), "CDE simulator listening");
    Ok(SimServer {
        sim,
        local_addr,
        stop: Some(stop),
        task: Some(task),
    })
}

/// A running simulator server. Dropping it stops the server too, without waiting.
#[derive(Debug)]
pub struct SimServer {
    sim: Simulator,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// The base URL clients use, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The simulator behind this server (shares its state).
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// Stops accepting connections and waits for in-flight requests, at most five seconds.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                tracing::warn!("CDE simulator did not stop within the grace period; aborting it");
                task.abort();
            }
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The whole application: CDE routes from the endpoint table, hooks under `/_sim`, and a JSON
/// 404 for everything else.
fn router(sim: &Simulator) -> Result<Router, SimError> {
    let table = &sim.config().endpoints;
    check_routes(table)?;

    let mut router = Router::new();
    for (endpoint, route) in table.iter() {
        let handler = move |State(sim): State<Simulator>,
                            method: Method,
                            uri: Uri,
                            headers: HeaderMap,
                            params: Result<Path<PathParams>, PathRejection>| async move {
            handle(&sim, endpoint, &method, &uri, &headers, params).await
        };
        router = router.route(&route.path, on(method_filter(route.method), handler));
    }
    Ok(router
        .nest(hooks::PREFIX, hooks::router())
        .fallback(unknown_route)
        .with_state(sim.clone()))
}

fn method_filter(method: endpoints::Method) -> MethodFilter {
    match method {
        endpoints::Method::Get => MethodFilter::GET,
        endpoints::Method::Post => MethodFilter::POST,
        endpoints::Method::Put => MethodFilter::PUT,
    }
}

/// The pipeline of one request to a CDE route.
async fn handle(
    sim: &Simulator,
    endpoint: Endpoint,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    params: Result<Path<PathParams>, PathRejection>,
) -> Response {
    let (seq, decision) = {
        let mut state = sim.lock();
        let seq = state.requests.arrive(method.as_str(), endpoint, uri.path());
        (seq, state.faults.decide(endpoint))
    };
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }

    let response = match decision.interruption {
        Some(Interruption::Drop) => {
            tracing::debug!(endpoint = %endpoint, "dropping the connection (injected fault)");
            return Interruption::Drop.into_response();
        }
        Some(interruption) => interruption.into_response(),
        None => match answer(sim, endpoint, headers, params) {
            Ok(answer) => answer.into_response(),
            Err(refusal) => refusal.into_response(),
        },
    };
    let status = response.status().as_u16();
    sim.lock().requests.finish(seq, status);
    if endpoint.is_mutation() {
        tracing::info!(endpoint = %endpoint, path = uri.path(), status, "CDE call");
    } else {
        tracing::debug!(endpoint = %endpoint, path = uri.path(), status, "CDE call");
    }
    response
}

/// Authentication, path parameters, then the world's answer.
fn answer(
    sim: &Simulator,
    endpoint: Endpoint,
    headers: &HeaderMap,
    params: Result<Path<PathParams>, PathRejection>,
) -> Result<Answer, Refusal> {
    if let Some(token) = &sim.config().token {
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if presented != Some(token.as_str()) {
            return Err(Refusal::Unauthorized);
        }
    }

    // A parameter that does not even decode cannot name anything that exists.
    let params = params.map(|Path(p)| p).unwrap_or_default();
    let now = Now::current();
    let mut state = sim.lock();
    let state = &mut *state;
    let faults = &mut state.faults;
    state
        .world
        .answer(endpoint, &params, sim.config(), now, || {
            faults.take_job_failure()
        })
}

async fn unknown_route(method: Method, uri: Uri) -> Response {
    let message = format!("No route found for \"{method} {}\".", uri.path());
    (StatusCode::NOT_FOUND, Json(json!({ "message": message }))).into_response()
}

/// The placeholders each endpoint's template must contain (and the only ones it may).
fn placeholders_of(endpoint: Endpoint) -> &'static [&'static str] {
    match endpoint {
        Endpoint::ShowConnector => &["publicId"],
        Endpoint::ShowState => &["stateId"],
        _ => &["connectorVersion", "publicId"],
    }
}

/// Checks that every route can be mounted: the shape axum requires, the placeholders the
/// handler needs, no clash with the hooks or with each other.
fn check_routes(table: &Endpoints) -> Result<(), SimError> {
    let mut matcher = matchit::Router::new();
    for path in hooks::PATHS {
        let full = format!("{}{path}", hooks::PREFIX);
        // NB: the hook paths are constants; the unit test `default_routes_mount` proves they
        // insert cleanly, so an error here would be a bug in this file, reported as such.
        matcher
            .insert(full.clone(), ())
            .map_err(|e| SimError::Route {
                route: format!("hook {full}"),
                reason: e.to_string(),
            })?;
    }

    let mut mounted: HashMap<String, Vec<endpoints::Method>> = HashMap::new();
    for (endpoint, route) in table.iter() {
        let fail = |reason: String| SimError::Route {
            route: format!("{endpoint} ({} {})", route.method, route.path),
            reason,
        };
        let path = route.path.as_str();
        if !path.starts_with('/') {
            return Err(fail("paths start with '/'".to_owned()));
        }
        if path == hooks::PREFIX || path.starts_with(&format!("{}/", hooks::PREFIX)) {
            return Err(fail(format!(
                "{} is reserved for the simulator's hooks",
                hooks::PREFIX
            )));
        }
        if path
            .split('/')
            .any(|s| s.starts_with(':') || s.starts_with('*'))
        {
            return Err(fail("placeholders are written {name}".to_owned()));
        }
        let found: BTreeSet<&str> = placeholder_names(path).collect();
        let wanted: BTreeSet<&str> = placeholders_of(endpoint).iter().copied().collect();
        if found != wanted {
            return Err(fail(format!("the placeholders must be exactly {wanted:?}")));
        }

        let methods = mounted.entry(route.path.clone()).or_default();
        if methods.contains(&route.method) {
            return Err(fail(format!(
                "another endpoint already uses {} {path}",
                route.method
            )));
        }
        if methods.is_empty() {
            matcher
                .insert(route.path.clone(), ())
                .map_err(|e| fail(e.to_string()))?;
        }
        methods.push(route.method);
    }
    Ok(())
}

/// The names between `{` and `}` in a route template.
fn placeholder_names(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_routes_mount() {
        check_routes(&Endpoints::default()).unwrap();
        let _ = router(&Simulator::default()).unwrap();
    }

    #[test]
    fn unmountable_overrides_are_errors_not_panics() {
        for bad in [
            "sync-prod=POST /connectors/{publicId}/versions/{connectorVersion}/sync-runtime",
            "sync-prod=POST /connectors/{publicId}/sync-prod",
            "sync-prod=POST /_sim/connectors/{publicId}/versions/{connectorVersion}",
            "show-state=GET /connectors/{stateId}",
            "sync-prod=POST /connectors/:publicId/versions/{connectorVersion}",
        ] {
            // Refused either when the override is read or when the routes are mounted.
            let mut table = Endpoints::default();
            let refused = table.apply_override(bad).is_err() || check_routes(&table).is_err();
            assert!(refused, "{bad} should be refused");
        }
    }

    #[test]
    fn an_override_to_a_free_path_mounts() {
        let mut table = Endpoints::default();
        table
            .apply_override("sync-prod=PUT /connectors/{publicId}/versions/{connectorVersion}/prod")
            .unwrap();
        check_routes(&table).unwrap();
    }
}
