//! Turning a stored `CustomResourceDefinition` into a served resource type, and
//! the status the real apiextensions controllers would write for it.
//!
//! Limitation: the sandbox accepts every CRD whose names are consistent; it does
//! not check for name conflicts between CRDs, and it does not validate,
//! prune or default custom resources against `openAPIV3Schema` (the schema is
//! used only to find list types for server-side apply).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{PrinterColumn, ResourceType, Storage};

/// Why a CRD was rejected; the store turns these into `422 Invalid`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CrdError {
    #[error("spec.{0}: Required value")]
    Missing(&'static str),
    #[error("metadata.name: Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group")]
    NameMismatch { name: String },
    #[error("spec.scope: Unsupported value: {0:?}: supported values: \"Cluster\", \"Namespaced\"")]
    Scope(String),
    #[error(
        "spec.versions: Invalid value: must have exactly one version marked as storage version"
    )]
    StorageVersion,
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn strings_at(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Derives the served type from a CRD object, validating what the store relies on.
pub(crate) fn resource_type_from_crd(crd: &Value) -> Result<ResourceType, CrdError> {
    let group = str_at(crd, "/spec/group").ok_or(CrdError::Missing("group"))?;
    let plural = str_at(crd, "/spec/names/plural").ok_or(CrdError::Missing("names.plural"))?;
    let kind = str_at(crd, "/spec/names/kind").ok_or(CrdError::Missing("names.kind"))?;
    let name = str_at(crd, "/metadata/name").unwrap_or_default();
    if name != format!("{plural}.{group}") {
        return Err(CrdError::NameMismatch {
            name: name.to_owned(),
        });
    }
    let namespaced = match str_at(crd, "/spec/scope") {
        Some("Namespaced") => true,
        Some("Cluster") => false,
        other => return Err(CrdError::Scope(other.unwrap_or_default().to_owned())),
    };

    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
        .ok_or(CrdError::Missing("versions"))?;
    let storage: Vec<&Value> = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .collect();
    let [storage] = storage.as_slice() else {
        return Err(CrdError::StorageVersion);
    };

    // Storage version first when served, then the other served versions in CRD order.
    let mut served: Vec<&Value> = versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .collect();
    served.sort_by_key(|v| !std::ptr::eq(*v, *storage));
    let version_names = served
        .iter()
        .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let status_subresource = storage.pointer("/subresources/status").is_some();
    let schemas: BTreeMap<String, Value> = versions
        .iter()
        .filter_map(|v| {
            let name = v.get("name")?.as_str()?.to_owned();
            Some((name, v.pointer("/schema/openAPIV3Schema")?.clone()))
        })
        .collect();

    Ok(ResourceType {
        group: group.to_owned(),
        versions: version_names,
        plural: plural.to_owned(),
        singular: str_at(crd, "/spec/names/singular")
            .map_or_else(|| kind.to_lowercase(), str::to_owned),
        kind: kind.to_owned(),
        list_kind: str_at(crd, "/spec/names/listKind")
            .map_or_else(|| format!("{kind}List"), str::to_owned),
        namespaced,
        short_names: strings_at(crd, "/spec/names/shortNames"),
        categories: strings_at(crd, "/spec/names/categories"),
        status_subresource,
        tracks_generation: true,
        unconditional_update: false,
        returns_deleted_object: true,
        custom: true,
        printer_columns: printer_columns(storage),
        schemas,
        storage: Storage::Own,
    })
}

fn printer_columns(version: &Value) -> Vec<PrinterColumn> {
    let Some(columns) = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    columns
        .iter()
        .filter_map(|c| {
            Some(PrinterColumn {
                name: c.get("name")?.as_str()?.to_owned(),
                type_: c
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("string")
                    .to_owned(),
                format: c
                    .get("format")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                description: c
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                json_path: c.get("jsonPath")?.as_str()?.to_owned(),
            })
        })
        .collect()
}

/// Writes the status the real naming and establishing controllers would set:
/// `acceptedNames`, `storedVersions`, and `NamesAccepted`/`Established` True.
///
/// Condition transition times are kept from `previous_status` when the
/// condition was already True, so re-applying an unchanged CRD is a no-op.
pub(crate) fn accept_crd(
    crd: &mut Value,
    rt: &ResourceType,
    previous_status: Option<&Value>,
    now: &str,
) {
    let accepted = json!({
        "plural": rt.plural,
        "singular": rt.singular,
        "kind": rt.kind,
        "listKind": rt.list_kind,
        "shortNames": rt.short_names,
        "categories": rt.categories,
    });
    let mut stored: Vec<String> = previous_status
        .map(|s| strings_at(s, "/storedVersions"))
        .unwrap_or_default();
    let storage = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        })
        .and_then(|v| v.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !stored.contains(&storage) {
        stored.push(storage);
    }
    let since = |type_: &str| {
        previous_status
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter().find(|c| {
                    c.get("type").and_then(Value::as_str) == Some(type_)
                        && c.get("status").and_then(Value::as_str) == Some("True")
                })
            })
            .and_then(|c| c.get("lastTransitionTime"))
            .and_then(Value::as_str)
            .unwrap_or(now)
            .to_owned()
    };
    let status = json!({
        "acceptedNames": accepted,
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": since("NamesAccepted"),
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": since("Established"),
            }
        ],
        "storedVersions": stored,
    });
    if let Some(obj) = crd.as_object_mut() {
        obj.insert("status".to_owned(), status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(name: &str, versions: &Value) -> Value {
        json!({
            "metadata": {"name": name},
            "spec": {"group": "g.io", "scope": "Cluster", "names": {"plural": "things", "kind": "Thing"}, "versions": versions}
        })
    }

    #[test]
    fn served_versions_start_with_the_storage_version_and_skip_unserved_ones() {
        let versions = json!([
            {"name": "v1alpha1", "served": false, "storage": false},
            {"name": "v1beta1", "served": true, "storage": false},
            {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
             "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]},
        ]);
        let rt = resource_type_from_crd(&crd("things.g.io", &versions)).unwrap();
        assert_eq!(rt.versions, vec!["v1", "v1beta1"]);
        assert!(!rt.namespaced && rt.status_subresource);
        assert_eq!(
            (rt.singular.as_str(), rt.list_kind.as_str()),
            ("thing", "ThingList")
        );
        assert_eq!(rt.printer_columns[0].json_path, ".spec.size");
    }

    #[test]
    fn inconsistent_crds_are_rejected() {
        let one = json!([{"name": "v1", "served": true, "storage": true}]);
        let two = json!([{"name": "v1", "served": true, "storage": true}, {"name": "v2", "served": true, "storage": true}]);
        let cases = [
            (
                crd("wrong.g.io", &one),
                CrdError::NameMismatch {
                    name: "wrong.g.io".into(),
                },
            ),
            (crd("things.g.io", &two), CrdError::StorageVersion),
            (
                crd("things.g.io", &json!([])),
                CrdError::Missing("versions"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(resource_type_from_crd(&input).unwrap_err(), want);
        }
    }

    #[test]
    fn accepting_again_keeps_condition_times() {
        let versions = json!([{"name": "v1", "served": true, "storage": true}]);
        let mut first = crd("things.g.io", &versions);
        let rt = resource_type_from_crd(&first).unwrap();
        accept_crd(&mut first, &rt, None, "2024-01-01T00:00:00Z");
        let mut second = crd("things.g.io", &versions);
        accept_crd(
            &mut second,
            &rt,
            first.get("status"),
            "2025-01-01T00:00:00Z",
        );
        assert_eq!(first.get("status"), second.get("status"));
        assert_eq!(second["status"]["storedVersions"], json!(["v1"]));
    }
}
