//! `metadata.managedFields` entries, and how a non-apply write moves ownership:
//! the writer takes every field it changed, from whoever owned it before.

use serde_json::{json, Value};

use super::path::same_at;
use super::set::FieldSet;

/// The `operation` of a managed fields entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ManagedEntry {
    pub manager: String,
    pub operation: Operation,
    pub subresource: Option<String>,
    pub api_version: String,
    pub time: String,
    pub set: FieldSet,
}

impl ManagedEntry {
    pub(crate) fn is(
        &self,
        manager: &str,
        operation: Operation,
        subresource: Option<&str>,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }
}

/// The entries stored on `obj`; malformed entries are skipped.
pub(crate) fn read(obj: &Value) -> Vec<ManagedEntry> {
    let Some(entries) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let operation = match e.get("operation")?.as_str()? {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return None,
            };
            Some(ManagedEntry {
                manager: e.get("manager")?.as_str()?.to_owned(),
                operation,
                subresource: e
                    .get("subresource")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                api_version: e
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                time: e
                    .get("time")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                set: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
            })
        })
        .collect()
}

/// Stores `entries` as `metadata.managedFields` (removing it when empty).
pub(crate) fn write(obj: &mut Value, entries: &[ManagedEntry]) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if entries.is_empty() {
        meta.remove("managedFields");
        return;
    }
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation.as_str(),
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": e.set.to_fields_v1(),
            });
            if let (Some(sub), Some(m)) = (&e.subresource, v.as_object_mut()) {
                m.insert("subresource".to_owned(), json!(sub));
            }
            v
        })
        .collect();
    meta.insert("managedFields".to_owned(), Value::Array(list));
}

/// Fields of `new_fields` (the fields of `new`) whose value differs in `old`.
pub(crate) fn changed_fields(old: &Value, new: &Value, new_fields: &FieldSet) -> FieldSet {
    let mut changed = FieldSet::default();
    for p in new_fields.paths() {
        if !same_at(old, new, &p) {
            changed.insert(&p);
        }
    }
    changed
}

/// Records a non-apply write by `manager`: it owns `changed` from now on, and
/// every other entry loses those fields. Nothing happens when `changed` is empty.
pub(crate) fn record_update(
    entries: &mut Vec<ManagedEntry>,
    manager: &str,
    subresource: Option<&str>,
    changed: &FieldSet,
    api_version: &str,
    now: &str,
) {
    if changed.is_empty() {
        return;
    }
    for e in entries.iter_mut() {
        if !e.is(manager, Operation::Update, subresource) {
            let kept = e.set.difference(changed);
            if kept != e.set {
                e.set = kept;
            }
        }
    }
    match entries
        .iter_mut()
        .find(|e| e.is(manager, Operation::Update, subresource))
    {
        Some(e) => {
            e.set = e.set.union(changed);
            now.clone_into(&mut e.time);
            api_version.clone_into(&mut e.api_version);
        }
        None => entries.push(ManagedEntry {
            manager: manager.to_owned(),
            operation: Operation::Update,
            subresource: subresource.map(str::to_owned),
            api_version: api_version.to_owned(),
            time: now.to_owned(),
            set: changed.clone(),
        }),
    }
    entries.retain(|e| !e.set.is_empty());
}

/// Drops ownership of fields the object no longer has, and entries left empty.
pub(crate) fn prune(entries: &mut Vec<ManagedEntry>, object_fields: &FieldSet) {
    for e in entries.iter_mut() {
        let kept = e.set.intersection(object_fields);
        if kept != e.set {
            e.set = kept;
        }
    }
    entries.retain(|e| !e.set.is_empty());
}
