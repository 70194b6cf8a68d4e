//! Server-side apply of one manager's configuration onto a live object.
//!
//! The steps, in order: find conflicts (another manager owns a field the
//! configuration sets to a different value), refuse or force them, merge the
//! configuration in, remove fields this manager applied before but no longer
//! does (unless someone else still owns them), and record the manager's new
//! field set.
//!
//! Limitation: a manager conflicts only with entries of *other* manager names;
//! its own `Update` entries silently hand fields over.

use serde_json::Value;

use super::list_type::{ListKind, ListTypes, Seg};
use super::managed::{ManagedEntry, Operation};
use super::path;
use super::set::{display_path, item_key, FieldSet, PathElement};
use crate::error::FieldConflict;

/// One apply request, already cut to the scope it may touch.
pub(crate) struct ApplyRequest<'a> {
    pub manager: &'a str,
    pub subresource: Option<&'a str>,
    pub force: bool,
    /// The ownable part of the applied configuration (see [`super::ownable_part`]).
    pub config: &'a Value,
    pub api_version: &'a str,
    pub now: &'a str,
}

/// Result of a successful apply: the merged object and the new entries.
/// Callers still prune the entries against the final object.
pub(crate) struct Applied {
    pub object: Value,
    pub entries: Vec<ManagedEntry>,
}

/// Applies `req` to `live` (which may be an empty skeleton for a create).
///
/// Returns the conflicts when there are some and `force` is false.
pub(crate) fn apply(
    live: &Value,
    mut entries: Vec<ManagedEntry>,
    req: &ApplyRequest<'_>,
    lists: ListTypes<'_>,
) -> Result<Applied, Vec<FieldConflict>> {
    let config = strip_nulls(req.config);
    let applied = FieldSet::of_value(&config, lists);

    // Conflicts: another manager owns a field we set, and the values differ.
    let mut conflicts = Vec::new();
    let mut conflicting_paths = Vec::new();
    for p in applied.paths() {
        for e in entries.iter().filter(|e| e.manager != req.manager) {
            if e.set.contains(&p) && !path::same_at(live, &config, &p) {
                conflicts.push(FieldConflict {
                    manager: e.manager.clone(),
                    field: display_path(&p),
                });
                conflicting_paths.push(p.clone());
            }
        }
    }
    if !conflicts.is_empty() && !req.force {
        return Err(conflicts);
    }

    // Forced fields leave their previous owners; our own other entries give up what we apply.
    let mut forced = FieldSet::default();
    for p in &conflicting_paths {
        forced.insert(p);
    }
    for e in &mut entries {
        if e.manager != req.manager {
            e.set = e.set.difference(&forced);
        } else if !e.is(req.manager, Operation::Apply, req.subresource) {
            e.set = e.set.difference(&applied);
        }
    }

    let previous = entries
        .iter()
        .find(|e| e.is(req.manager, Operation::Apply, req.subresource))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let mut object = live.clone();
    merge(&mut object, &config, lists, &mut Vec::new());

    // Fields we stopped applying go away unless another entry still owns them (deepest first).
    let mut dropped = previous.difference(&applied).paths();
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in dropped {
        let owned_elsewhere = entries
            .iter()
            .filter(|e| !e.is(req.manager, Operation::Apply, req.subresource))
            .any(|e| e.set.contains(&p));
        if !owned_elsewhere {
            path::remove(&mut object, &p);
            prune_empty_parents(&mut object, &p, &entries, req, &applied);
        }
    }

    match entries
        .iter_mut()
        .find(|e| e.is(req.manager, Operation::Apply, req.subresource))
    {
        Some(e) if e.set == applied => {}
        Some(e) => {
            e.set = applied;
            req.now.clone_into(&mut e.time);
            req.api_version.clone_into(&mut e.api_version);
        }
        None => entries.push(ManagedEntry {
            manager: req.manager.to_owned(),
            operation: Operation::Apply,
            subresource: req.subresource.map(str::to_owned),
            api_version: req.api_version.to_owned(),
            time: req.now.to_owned(),
            set: applied,
        }),
    }
    entries.retain(|e| !e.set.is_empty());
    Ok(Applied { object, entries })
}

/// After `removed` went away, removes the maps above it that are now empty and that nobody
/// else still has fields in, as the real server does when the last owned child of a map is
/// dropped (`status.pendingOperation: {}` must not linger).
fn prune_empty_parents(
    object: &mut Value,
    removed: &[PathElement],
    entries: &[ManagedEntry],
    req: &ApplyRequest<'_>,
    applied: &FieldSet,
) {
    for len in (1..removed.len()).rev() {
        let parent = &removed[..len];
        if !matches!(parent.last(), Some(PathElement::Field(_))) {
            return;
        }
        let empty_map = path::get(object, parent)
            .is_some_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty));
        let still_owned = applied.paths().iter().any(|p| p.starts_with(parent))
            || entries
                .iter()
                .filter(|e| !e.is(req.manager, Operation::Apply, req.subresource))
                .any(|e| {
                    e.set
                        .paths()
                        .iter()
                        .any(|p| p.starts_with(parent) && p.len() > len)
                });
        if !empty_map || still_owned {
            return;
        }
        path::remove(object, parent);
    }
}

/// Removes `null` map values; an applied `null` is treated as "not set".
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Merges `config` into `live`: maps field by field, lists by their [`ListKind`].
pub(crate) fn merge(live: &mut Value, config: &Value, lists: ListTypes<'_>, segs: &mut Vec<Seg>) {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            for (k, cv) in c {
                segs.push(Seg::Field(k.clone()));
                match l.get_mut(k) {
                    Some(lv) => merge(lv, cv, lists, segs),
                    None => {
                        l.insert(k.clone(), cv.clone());
                    }
                }
                segs.pop();
            }
        }
        (Value::Array(l), Value::Array(c)) => match lists.kind(segs) {
            ListKind::Set => {
                for item in c {
                    if !l.contains(item) {
                        l.push(item.clone());
                    }
                }
            }
            ListKind::Map(keys) => {
                let keyed = c
                    .iter()
                    .chain(l.iter())
                    .all(|i| item_key(i, &keys).is_some());
                if !keyed {
                    l.clone_from(c);
                    return;
                }
                segs.push(Seg::Item);
                for ci in c {
                    let key = item_key(ci, &keys);
                    match l.iter_mut().find(|li| item_key(li, &keys) == key) {
                        Some(li) => merge(li, ci, lists, segs),
                        None => l.push(ci.clone()),
                    }
                }
                segs.pop();
            }
            ListKind::Atomic => l.clone_from(c),
        },
        (l, c) => *l = c.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req<'a>(manager: &'a str, config: &'a Value, force: bool) -> ApplyRequest<'a> {
        ApplyRequest {
            manager,
            subresource: None,
            force,
            config,
            api_version: "v1",
            now: "2024-01-01T00:00:00Z",
        }
    }

    #[test]
    fn second_manager_setting_a_different_value_conflicts_unless_forced() {
        let lists = ListTypes::default();
        let a = json!({"spec": {"size": 1}});
        let first = apply(&json!({}), Vec::new(), &req("a", &a, false), lists).unwrap();
        let b = json!({"spec": {"size": 2}});
        let conflicts = apply(
            &first.object,
            first.entries.clone(),
            &req("b", &b, false),
            lists,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            conflicts,
            vec![FieldConflict {
                manager: "a".into(),
                field: ".spec.size".into()
            }]
        );

        let forced = apply(&first.object, first.entries, &req("b", &b, true), lists).unwrap();
        assert_eq!(forced.object, json!({"spec": {"size": 2}}));
        assert_eq!(forced.entries.len(), 1, "a lost its only field");
        assert_eq!(forced.entries[0].manager, "b");
    }

    #[test]
    fn same_value_is_shared_and_dropped_fields_survive_while_co_owned() {
        let lists = ListTypes::default();
        let both = json!({"spec": {"size": 1, "color": "red"}});
        let a = apply(&json!({}), Vec::new(), &req("a", &both, false), lists).unwrap();
        let size_only = json!({"spec": {"size": 1}});
        let b = apply(&a.object, a.entries, &req("b", &size_only, false), lists).unwrap();
        // a stops applying size: b still owns it, so it stays; a stops applying color: removed.
        let empty = json!({"spec": {}});
        let a2 = apply(&b.object, b.entries, &req("a", &empty, false), lists).unwrap();
        assert_eq!(a2.object, json!({"spec": {"size": 1}}));
    }

    #[test]
    fn conditions_merge_by_type_and_finalizers_by_value() {
        let lists = ListTypes::default();
        let live = json!({
            "metadata": {"finalizers": ["x"]},
            "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Synced", "status": "True"}]}
        });
        let config = json!({
            "metadata": {"finalizers": ["y"]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        });
        let out = apply(&live, Vec::new(), &req("a", &config, false), lists).unwrap();
        assert_eq!(out.object["metadata"]["finalizers"], json!(["x", "y"]));
        assert_eq!(
            out.object["status"]["conditions"],
            json!([{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}])
        );
    }
}
