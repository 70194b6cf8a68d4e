//! Parsing request paths into what they address.

/// A resource URL: `/api/v1/...` or `/apis/{group}/{version}/...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a request path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Version,
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    Resources {
        group: String,
        version: String,
    },
    Resource(ResourcePath),
    /// `/openapi/v3`
    OpenApiIndex,
    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`
    OpenApi {
        group: String,
        version: String,
    },
    Unknown,
}

/// Subresources of namespaces that share the shape of a namespaced collection URL.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let owned = |s: &&str| (*s).to_owned();
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..]
            if !tail.is_empty() && !NAMESPACE_SUBRESOURCES.contains(&tail[0]) =>
        {
            (Some((*ns).to_owned()), tail)
        }
        _ => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (plural, None, None),
        [plural, name] => (plural, Some(owned(name)), None),
        [plural, name, sub] => (plural, Some(owned(name)), Some(owned(sub))),
        _ => return Route::Unknown,
    };
    Route::Resource(ResourcePath {
        group: group.to_owned(),
        version: version.to_owned(),
        namespace,
        plural: (*plural).to_owned(),
        name,
        subresource,
    })
}

/// Parses a request path (without query string).
///
/// Limitation: the deprecated `/api/v1/watch/...` and
/// `/apis/{group}/{version}/watch/...` paths are not served; clients use
/// `?watch=true`.
pub(crate) fn route(path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["api", version] => Route::Resources {
            group: String::new(),
            version: (*version).to_owned(),
        },
        ["api", version, rest @ ..] => resource("", version, rest),
        ["openapi", "v3"] => Route::OpenApiIndex,
        ["openapi", "v3", "api", version] => Route::OpenApi {
            group: String::new(),
            version: (*version).to_owned(),
        },
        ["openapi", "v3", "apis", group, version] => Route::OpenApi {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        },
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group((*group).to_owned()),
        ["apis", group, version] => Route::Resources {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        },
        ["apis", group, version, rest @ ..] => resource(group, version, rest),
        _ => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(
        group: &str,
        ns: Option<&str>,
        plural: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Route {
        Route::Resource(ResourcePath {
            group: group.into(),
            version: "v1".into(),
            namespace: ns.map(Into::into),
            plural: plural.into(),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
        })
    }

    #[test]
    fn paths_route_to_collections_objects_and_subresources() {
        let cases = [
            (
                "/api/v1/namespaces",
                res("", None, "namespaces", None, None),
            ),
            (
                "/api/v1/namespaces/default",
                res("", None, "namespaces", Some("default"), None),
            ),
            (
                "/api/v1/namespaces/x/status",
                res("", None, "namespaces", Some("x"), Some("status")),
            ),
            (
                "/api/v1/namespaces/default/secrets",
                res("", Some("default"), "secrets", None, None),
            ),
            (
                "/api/v1/namespaces/default/secrets/s",
                res("", Some("default"), "secrets", Some("s"), None),
            ),
            (
                "/apis/g.io/v1/widgets",
                res("g.io", None, "widgets", None, None),
            ),
            (
                "/apis/g.io/v1/namespaces/n/widgets/w/status",
                res("g.io", Some("n"), "widgets", Some("w"), Some("status")),
            ),
            (
                "/apis/g.io/v1",
                Route::Resources {
                    group: "g.io".into(),
                    version: "v1".into(),
                },
            ),
            ("/apis/g.io", Route::Group("g.io".into())),
            ("/version", Route::Version),
            ("/nope", Route::Unknown),
        ];
        for (path, want) in cases {
            assert_eq!(route(path), want, "{path}");
        }
    }
}
