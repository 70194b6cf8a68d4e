//! The one table of CDE endpoints this operator uses.
//!
//! Every path the client calls — and every path the simulator serves — comes from
//! [`Endpoints`]. Three of them are not in the public CDE documentation; they are this
//! project's assumptions and are marked [`Basis::Assumed`]. When the real paths become
//! known, the fix is one line here, or an override at run time
//! (`--endpoint sync-prod="POST /connectors/{publicId}/versions/{connectorVersion}/…"`).

use std::{fmt, str::FromStr};

use uuid::Uuid;

/// Whether an endpoint's method and path come from the CDE documentation or were decided here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// Method and path appear in the CDE API reference.
    Documented,
    /// The endpoint is known to exist (by title, description or state name) but its path is not
    /// published; the path here is this project's working assumption.
    Assumed,
}

/// HTTP methods the table uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = EndpointOverrideError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            "PUT" => Ok(Method::Put),
            other => Err(EndpointOverrideError::Method(other.to_owned())),
        }
    }
}

/// Each remote action the operator can take or observe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// Read a connector with all of its versions.
    ShowConnector,
    /// Read one background job ("state").
    ShowState,
    /// Register the built image with the runtime.
    SyncRuntime,
    /// Make sure the dev project and site exist (asynchronous: answers with a job id).
    EnsureDevSite,
    /// Create the connector on the platform from the current config, or update it (dev sync).
    PublishToPlatform,
    /// Attach the platform connector to the dev site.
    AssignToDevSite,
    /// Synchronize the version to production.
    SyncToProd,
    /// Re-apply the configuration backed up at the last prod sync.
    RecreateFromProdBackup,
    /// Point the platform back at the legacy executable a migration version replaces.
    MigrationRollback,
}

impl Endpoint {
    /// Every endpoint, in table order.
    pub const ALL: [Endpoint; 9] = [
        Endpoint::ShowConnector,
        Endpoint::ShowState,
        Endpoint::SyncRuntime,
        Endpoint::EnsureDevSite,
        Endpoint::PublishToPlatform,
        Endpoint::AssignToDevSite,
        Endpoint::SyncToProd,
        Endpoint::RecreateFromProdBackup,
        Endpoint::MigrationRollback,
    ];

    /// The stable name used in configuration overrides, metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::ShowConnector => "show-connector",
            Endpoint::ShowState => "show-state",
            Endpoint::SyncRuntime => "sync-runtime",
            Endpoint::EnsureDevSite => "ensure-dev-site",
            Endpoint::PublishToPlatform => "publish-to-platform",
            Endpoint::AssignToDevSite => "assign-to-dev-site",
            Endpoint::SyncToProd => "sync-prod",
            Endpoint::RecreateFromProdBackup => "recreate-from-prod-backup",
            Endpoint::MigrationRollback => "migration-rollback",
        }
    }

    /// The default route: method, path template and where it comes from.
    ///
    /// Templates use `{publicId}`, `{connectorVersion}` and `{stateId}` placeholders, the
    /// names of the CDE reference (and axum's path syntax, so the simulator mounts them as is).
    pub fn default_route(self) -> Route {
        const V: &str = "/connectors/{publicId}/versions/{connectorVersion}";
        let (method, path, basis) = match self {
            Endpoint::ShowConnector => (
                Method::Get,
                "/connectors/{publicId}".to_owned(),
                Basis::Documented,
            ),
            Endpoint::ShowState => (
                Method::Get,
                "/states/{stateId}".to_owned(),
                Basis::Documented,
            ),
            Endpoint::SyncRuntime => (Method::Post, format!("{V}/sync-runtime"), Basis::Documented),
            Endpoint::EnsureDevSite => (
                Method::Post,
                format!("{V}/platform-dev-site"),
                Basis::Documented,
            ),
            Endpoint::PublishToPlatform => (Method::Post, format!("{V}/platform"), Basis::Assumed),
            Endpoint::AssignToDevSite => (
                Method::Post,
                format!("{V}/assign-to-sites/dev"),
                Basis::Documented,
            ),
            Endpoint::SyncToProd => (Method::Post, format!("{V}/sync-prod"), Basis::Assumed),
            Endpoint::RecreateFromProdBackup => (
                Method::Post,
                format!("{V}/platform/recreate"),
                Basis::Assumed,
            ),
            Endpoint::MigrationRollback => (
                Method::Post,
                format!("{V}/migration/rollback"),
                Basis::Documented,
            ),
        };
        Route {
            method,
            path,
            basis,
        }
    }

    /// The placeholders its path must contain.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            Endpoint::ShowConnector => &["publicId"],
            Endpoint::ShowState => &["stateId"],
            _ => &["publicId", "connectorVersion"],
        }
    }

    fn placeholders_text(self) -> &'static str {
        match self {
            Endpoint::ShowConnector => "{publicId}",
            Endpoint::ShowState => "{stateId}",
            _ => "{publicId} and {connectorVersion}",
        }
    }

    /// Whether calling it changes remote state. Mutations are never retried blindly.
    pub fn is_mutation(self) -> bool {
        !matches!(self, Endpoint::ShowConnector | Endpoint::ShowState)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Endpoint {
    type Err = EndpointOverrideError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Endpoint::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| EndpointOverrideError::Unknown(s.to_owned()))
    }
}

/// Method and path template of one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: String,
    pub basis: Basis,
}

/// What a rendered request needs to fill the placeholders of a [`Route`].
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    Connector(Uuid),
    Version { connector: Uuid, major: u32 },
    State(&'a str),
}

/// The endpoint table: defaults, plus any overrides given at start-up.
#[derive(Clone, Debug)]
pub struct Endpoints {
    routes: Vec<(Endpoint, Route)>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            routes: Endpoint::ALL
                .into_iter()
                .map(|e| (e, e.default_route()))
                .collect(),
        }
    }
}

/// An override that could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointOverrideError {
    #[error("unknown endpoint {0:?}; known: show-connector, show-state, sync-runtime, ensure-dev-site, publish-to-platform, assign-to-dev-site, sync-prod, recreate-from-prod-backup, migration-rollback")]
    Unknown(String),
    #[error("unsupported HTTP method {0:?} (use GET, POST or PUT)")]
    Method(String),
    #[error("override {0:?} must look like NAME=METHOD /path")]
    Shape(String),
    #[error("path {0:?} must start with '/'")]
    Path(String),
    #[error("{endpoint} needs the placeholders {needed} in its path, and no others; got {path:?}")]
    Placeholders {
        endpoint: &'static str,
        needed: &'static str,
        path: String,
    },
    #[error("{0} changes remote state and cannot be sent as GET")]
    MutationAsGet(&'static str),
    #[error("{0} reads and must be sent as GET")]
    ReadNotGet(&'static str),
}

impl Endpoints {
    /// The route for `endpoint`.
    ///
    /// # Panics
    ///
    /// Never: the table is built from [`Endpoint::ALL`] and overrides only replace entries.
    pub fn route(&self, endpoint: Endpoint) -> &Route {
        // NB: `routes` is built from `Endpoint::ALL` and overrides only replace entries, so
        // every endpoint has exactly one route.
        &self
            .routes
            .iter()
            .find(|(e, _)| *e == endpoint)
            .expect("every endpoint has a route")
            .1
    }

    /// Every endpoint with its current route, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (Endpoint, &Route)> {
        self.routes.iter().map(|(e, r)| (*e, r))
    }

    /// Applies one override of the form `NAME=METHOD /path/{publicId}/…`.
    ///
    /// An overridden route keeps its [`Basis`]: overriding does not make a guess documented.
    pub fn apply_override(&mut self, spec: &str) -> Result<(), EndpointOverrideError> {
        let (name, route) = spec
            .split_once('=')
            .ok_or_else(|| EndpointOverrideError::Shape(spec.to_owned()))?;
        let endpoint: Endpoint = name.trim().parse()?;
        let (method, path) = route
            .trim()
            .split_once(' ')
            .ok_or_else(|| EndpointOverrideError::Shape(spec.to_owned()))?;
        let method: Method = method.parse()?;
        let path = path.trim();
        if !path.starts_with('/') {
            return Err(EndpointOverrideError::Path(path.to_owned()));
        }
        // A mutation sent as GET, or a path that lost `{publicId}`, would hit the wrong
        // resource for every connector: refuse it at start-up.
        match (endpoint.is_mutation(), method) {
            (true, Method::Get) => {
                return Err(EndpointOverrideError::MutationAsGet(endpoint.name()))
            }
            (false, Method::Post | Method::Put) => {
                return Err(EndpointOverrideError::ReadNotGet(endpoint.name()))
            }
            _ => {}
        }
        let needed = endpoint.placeholders();
        let mut found: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        found.sort_unstable();
        let mut wanted = needed.to_vec();
        wanted.sort_unstable();
        if found != wanted || path.contains("..") || path.contains('?') {
            return Err(EndpointOverrideError::Placeholders {
                endpoint: endpoint.name(),
                needed: endpoint.placeholders_text(),
                path: path.to_owned(),
            });
        }
        for (e, r) in &mut self.routes {
            if *e == endpoint {
                r.method = method;
                path.clone_into(&mut r.path);
            }
        }
        Ok(())
    }

    /// Method and concrete path for `endpoint` applied to `target`.
    pub fn render(&self, endpoint: Endpoint, target: Target<'_>) -> (Method, String) {
        let route = self.route(endpoint);
        let mut path = route.path.clone();
        match target {
            Target::Connector(id) => path = path.replace("{publicId}", &id.to_string()),
            Target::Version { connector, major } => {
                path = path
                    .replace("{publicId}", &connector.to_string())
                    .replace("{connectorVersion}", &major.to_string());
            }
            Target::State(id) => path = path.replace("{stateId}", id),
        }
        (route.method, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_paths_are_exactly_the_three_undocumented_endpoints() {
        let assumed: Vec<_> = Endpoints::default()
            .iter()
            .filter(|(_, r)| r.basis == Basis::Assumed)
            .map(|(e, _)| e)
            .collect();
        assert_eq!(
            assumed,
            vec![
                Endpoint::PublishToPlatform,
                Endpoint::SyncToProd,
                Endpoint::RecreateFromProdBackup
            ]
        );
    }

    #[test]
    fn version_paths_fill_connector_and_major() {
        let id = Uuid::parse_str("0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f").unwrap();
        let (m, p) = Endpoints::default().render(
            Endpoint::MigrationRollback,
            Target::Version {
                connector: id,
                major: 2,
            },
        );
        assert_eq!(m, Method::Post);
        assert_eq!(
            p,
            "/connectors/0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f/versions/2/migration/rollback"
        );
    }

    #[test]
    fn override_replaces_one_route_and_keeps_its_basis() {
        let mut e = Endpoints::default();
        e.apply_override("sync-prod=PUT /connectors/{publicId}/versions/{connectorVersion}/prod")
            .unwrap();
        let r = e.route(Endpoint::SyncToProd);
        assert_eq!(r.method, Method::Put);
        assert_eq!(
            r.path,
            "/connectors/{publicId}/versions/{connectorVersion}/prod"
        );
        assert_eq!(r.basis, Basis::Assumed);
        assert_eq!(
            e.route(Endpoint::SyncRuntime),
            &Endpoint::SyncRuntime.default_route()
        );
    }

    #[test]
    fn malformed_overrides_are_refused_with_the_reason() {
        let mut e = Endpoints::default();
        assert!(matches!(
            e.apply_override("nope=POST /x"),
            Err(EndpointOverrideError::Unknown(_))
        ));
        assert!(matches!(
            e.apply_override("sync-prod=DELETE /x"),
            Err(EndpointOverrideError::Method(_))
        ));
        assert!(matches!(
            e.apply_override("sync-prod"),
            Err(EndpointOverrideError::Shape(_))
        ));
        assert!(matches!(
            e.apply_override("sync-prod=POST x"),
            Err(EndpointOverrideError::Path(_))
        ));
        assert!(matches!(
            e.apply_override(
                "sync-prod=GET /connectors/{publicId}/versions/{connectorVersion}/sync-prod"
            ),
            Err(EndpointOverrideError::MutationAsGet(_))
        ));
        assert!(matches!(
            e.apply_override("show-connector=POST /connectors/{publicId}"),
            Err(EndpointOverrideError::ReadNotGet(_))
        ));
        for bad in [
            "sync-prod=POST /x",
            "sync-prod=POST /connectors/{publicId}/sync-prod",
            "sync-prod=POST /connectors/{publicId}/versions/{connectorVersion}/{bogus}",
            "sync-prod=POST /connectors/{publicId}/versions/{connectorVersion}/../x",
            "sync-prod=POST /connectors/{publicId}/versions/{connectorVersion}?a=b",
        ] {
            assert!(
                matches!(
                    e.apply_override(bad),
                    Err(EndpointOverrideError::Placeholders { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            e.route(Endpoint::SyncToProd),
            &Endpoint::SyncToProd.default_route()
        );
    }
}
