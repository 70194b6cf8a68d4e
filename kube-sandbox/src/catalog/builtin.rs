//! The built-in resource types: the handful of core and API-group types an
//! operator touches (namespaces, secrets, configmaps, service accounts, events,
//! leases) plus `CustomResourceDefinitions` themselves.
//! `events.k8s.io/v1` Events are a converted view of the core `v1` Events.

use std::collections::BTreeMap;

use super::{PrinterColumn, ResourceType, Storage};

/// Compact description of one built-in type.
struct Builtin {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    status_subresource: bool,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        group: "",
        version: "v1",
        plural: "namespaces",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        status_subresource: true,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "secrets",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
        status_subresource: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "configmaps",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        status_subresource: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        status_subresource: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "events",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        status_subresource: false,
    },
    Builtin {
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        status_subresource: false,
    },
    Builtin {
        group: "coordination.k8s.io",
        version: "v1",
        plural: "leases",
        kind: "Lease",
        namespaced: true,
        short_names: &[],
        status_subresource: false,
    },
    Builtin {
        group: "apiextensions.k8s.io",
        version: "v1",
        plural: "customresourcedefinitions",
        kind: "CustomResourceDefinition",
        namespaced: false,
        short_names: &["crd", "crds"],
        status_subresource: true,
    },
];

/// Extra `kubectl get` columns of a built-in type, `(name, jsonPath)` pairs:
/// a few of the ones the real server prints.
fn columns(group: &str, plural: &str) -> Vec<PrinterColumn> {
    let list: &[(&str, &str)] = match (group, plural) {
        ("", "namespaces") => &[("Status", ".status.phase")],
        ("", "secrets") => &[("Type", ".type")],
        ("", "events") => &[
            ("Type", ".type"),
            ("Reason", ".reason"),
            ("Object", ".involvedObject.name"),
            ("Message", ".message"),
        ],
        ("events.k8s.io", "events") => &[
            ("Type", ".type"),
            ("Reason", ".reason"),
            ("Object", ".regarding.name"),
            ("Note", ".note"),
        ],
        ("coordination.k8s.io", "leases") => &[("Holder", ".spec.holderIdentity")],
        _ => &[],
    };
    list.iter()
        .map(|(name, path)| PrinterColumn {
            name: (*name).to_owned(),
            type_: "string".to_owned(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            json_path: (*path).to_owned(),
        })
        .collect()
}

pub(super) fn types() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(|b| {
            let is_crd = b.plural == "customresourcedefinitions";
            ResourceType {
                group: b.group.to_owned(),
                versions: vec![b.version.to_owned()],
                plural: b.plural.to_owned(),
                singular: b.kind.to_lowercase(),
                kind: b.kind.to_owned(),
                list_kind: format!("{}List", b.kind),
                namespaced: b.namespaced,
                short_names: b.short_names.iter().map(|s| (*s).to_owned()).collect(),
                categories: Vec::new(),
                status_subresource: b.status_subresource,
                tracks_generation: is_crd,
                unconditional_update: !is_crd,
                returns_deleted_object: is_crd,
                custom: false,
                printer_columns: columns(b.group, b.plural),
                schemas: BTreeMap::new(),
                storage: if b.group == "events.k8s.io" {
                    Storage::CoreEvents
                } else {
                    Storage::Own
                },
            }
        })
        .collect()
}
