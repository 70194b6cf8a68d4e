//! Just enough `OpenAPI` v3 for `kubectl apply`: the `/openapi/v3` index and
//! one document per group version whose PATCH operations declare the
//! `fieldValidation` parameter. Seeing it, kubectl leaves validation to the
//! server instead of downloading schemas.
//!
//! Limitation: the documents carry no schemas (`kubectl explain` shows
//! nothing), `OpenAPI` v2 is not served, and `fieldValidation` is accepted but
//! not enforced: unknown fields are stored as sent.

use serde_json::{json, Map, Value};

use crate::catalog::{Catalog, ResourceType};

fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A stable fingerprint of what a group version serves, used as the cache-busting `hash`.
fn fingerprint(types: &[&ResourceType]) -> String {
    // FNV-1a: deterministic and dependency-free; collisions only cost a stale client cache.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for t in types {
        for byte in t
            .plural
            .bytes()
            .chain(t.kind.bytes())
            .chain([u8::from(t.namespaced)])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016X}")
}

/// `/openapi/v3`: one entry per served group version.
pub(crate) fn index(catalog: &Catalog) -> Value {
    let mut paths = Map::new();
    let mut gvs: Vec<(String, String)> = vec![(String::new(), "v1".to_owned())];
    for (group, versions) in catalog.groups() {
        gvs.extend(versions.into_iter().map(|v| (group.clone(), v)));
    }
    for (group, version) in gvs {
        let types: Vec<&ResourceType> = catalog.in_group_version(&group, &version).collect();
        let path = group_version_path(&group, &version);
        let url = format!("/openapi/v3/{path}?hash={}", fingerprint(&types));
        paths.insert(path, json!({ "serverRelativeURL": url }));
    }
    json!({ "paths": paths })
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`.
pub(crate) fn group_version(catalog: &Catalog, group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    for t in catalog.in_group_version(group, version) {
        let prefix = format!("/{}", group_version_path(group, version));
        let item = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{prefix}/{}/{{name}}", t.plural)
        };
        paths.insert(
            item,
            json!({"patch": {
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": t.kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                "responses": {},
            }}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
