//! Field ownership for server-side apply and `metadata.managedFields`.
//!
//! A [`FieldSet`] is the set of leaf fields (and list items) an operation set;
//! it is what `fieldsV1` encodes. The pieces:
//!
//! * [`set`]: the set type and its `fieldsV1` encoding;
//! * [`list_type`]: whether a list is atomic, a set, or a map keyed by fields;
//! * [`path`]: reading and removing the value a field path points at;
//! * [`managed`]: the `managedFields` entries and how plain updates change them;
//! * [`apply`]: server-side apply: conflicts, forcing, merge and removal.
//!
//! Limitation: this is a simplified model of structured-merge-diff. Ownership
//! is tracked at leaf granularity; lists are atomic unless the CRD schema says
//! `x-kubernetes-list-type: set|map` or they are well known (`metadata.finalizers`
//! is a set, `metadata.ownerReferences` a map keyed by `uid`, and any list
//! named `conditions` a map keyed by `type`); explicit `null`s in an applied
//! configuration are ignored; managed fields sent by clients are ignored.

pub(crate) mod apply;
pub(crate) mod list_type;
pub(crate) mod managed;
pub(crate) mod path;
pub(crate) mod set;

pub(crate) use list_type::ListTypes;
pub(crate) use set::FieldSet;

use serde_json::Value;

/// Which part of an object a write may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The main resource of a type with a status subresource: everything but `status`.
    MainWithoutStatus,
    /// The main resource of a type without a status subresource: everything.
    Whole,
    /// The `/status` subresource: only `status`.
    Status,
}

impl Scope {
    /// The subresource name recorded in `managedFields`.
    pub(crate) fn subresource(self) -> Option<&'static str> {
        match self {
            Self::Status => Some("status"),
            Self::MainWithoutStatus | Self::Whole => None,
        }
    }
}

/// Metadata fields the server owns; they never appear in field sets.
const SYSTEM_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// The part of `obj` that field ownership is computed over for `scope`:
/// no `apiVersion`, `kind` or server-owned metadata, and `status` kept or
/// dropped according to the scope.
pub(crate) fn ownable_part(obj: &Value, scope: Scope) -> Value {
    let mut out = serde_json::Map::new();
    let Some(map) = obj.as_object() else {
        return Value::Object(out);
    };
    for (k, v) in map {
        match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) | ("status", Scope::MainWithoutStatus) => {}
            ("status", _) => {
                out.insert(k.clone(), v.clone());
            }
            (_, Scope::Status) => {}
            ("metadata", _) => {
                if let Some(meta) = v.as_object() {
                    let kept: serde_json::Map<String, Value> = meta
                        .iter()
                        .filter(|(mk, _)| !SYSTEM_METADATA.contains(&mk.as_str()))
                        .map(|(mk, mv)| (mk.clone(), mv.clone()))
                        .collect();
                    if !kept.is_empty() {
                        out.insert(k.clone(), Value::Object(kept));
                    }
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}
