//! [`FieldSet`]: a set of field paths, and its `fieldsV1` JSON encoding
//! (`{"f:spec":{"f:size":{}}}`, list items as `k:{..}` or `v:..`, and `"."`
//! marking a node that is itself a member and has children).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::list_type::{ListKind, ListTypes, Seg};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PathElement {
    /// A map or struct field.
    Field(String),
    /// An item of a map-list, identified by its key fields as canonical JSON
    /// (`{"type":"Ready"}`).
    Key(String),
    /// An item of a set-list, identified by its canonical JSON value.
    Value(String),
}

pub(crate) type FieldPath = Vec<PathElement>;

/// Renders a path the way conflict messages show it: `.spec.size`,
/// `.status.conditions[type="Ready"].status`, `.metadata.finalizers[="x"]`.
pub(crate) fn display_path(path: &[PathElement]) -> String {
    let mut out = String::new();
    for el in path {
        match el {
            PathElement::Field(f) => {
                out.push('.');
                out.push_str(f);
            }
            PathElement::Key(k) => {
                let keys: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push('[');
                out.push_str(&parts.join(","));
                out.push(']');
            }
            PathElement::Value(v) => {
                out.push_str("[=");
                out.push_str(v);
                out.push(']');
            }
        }
    }
    out
}

/// A set of field paths. A node is a *member* when the path ending there is
/// in the set; inner nodes of struct fields are not members themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldSet {
    member: bool,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub(crate) fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    pub(crate) fn insert(&mut self, path: &[PathElement]) {
        match path.split_first() {
            None => self.member = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    pub(crate) fn contains(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Every member path, parents before their children.
    pub(crate) fn paths(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut FieldPath, out: &mut Vec<FieldPath>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (el, child) in &self.children {
            prefix.push(el.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    fn from_paths<'a>(paths: impl IntoIterator<Item = &'a FieldPath>) -> Self {
        let mut set = Self::default();
        for p in paths {
            set.insert(p);
        }
        set
    }

    pub(crate) fn union(&self, other: &Self) -> Self {
        let mut out = self.clone();
        for p in other.paths() {
            out.insert(&p);
        }
        out
    }

    /// Members of `self` that are not members of `other`.
    pub(crate) fn difference(&self, other: &Self) -> Self {
        let paths = self.paths();
        Self::from_paths(paths.iter().filter(|p| !other.contains(p)))
    }

    pub(crate) fn intersection(&self, other: &Self) -> Self {
        let paths = self.paths();
        Self::from_paths(paths.iter().filter(|p| other.contains(p)))
    }

    /// Decodes `fieldsV1`; unknown key prefixes are skipped.
    pub(crate) fn from_fields_v1(v: &Value) -> Self {
        let mut set = Self::default();
        let Some(map) = v.as_object() else {
            return set;
        };
        if map.is_empty() {
            set.member = true;
        }
        for (key, child) in map {
            if key == "." {
                set.member = true;
                continue;
            }
            let el = if let Some(f) = key.strip_prefix("f:") {
                PathElement::Field(f.to_owned())
            } else if let Some(k) = key.strip_prefix("k:") {
                PathElement::Key(k.to_owned())
            } else if let Some(v) = key.strip_prefix("v:") {
                PathElement::Value(v.to_owned())
            } else {
                continue;
            };
            set.children.insert(el, Self::from_fields_v1(child));
        }
        set
    }

    /// Encodes as `fieldsV1`.
    pub(crate) fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        let live_children: Vec<_> = self
            .children
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .collect();
        if self.member && !live_children.is_empty() {
            map.insert(".".to_owned(), Value::Object(Map::new()));
        }
        for (el, child) in live_children {
            let key = match el {
                PathElement::Field(f) => format!("f:{f}"),
                PathElement::Key(k) => format!("k:{k}"),
                PathElement::Value(v) => format!("v:{v}"),
            };
            map.insert(key, child.to_fields_v1());
        }
        Value::Object(map)
    }

    /// The fields present in `value` (already cut to an ownable part).
    pub(crate) fn of_value(value: &Value, lists: ListTypes<'_>) -> Self {
        let mut set = Self::default();
        if let Some(map) = value.as_object() {
            let mut segs = Vec::new();
            let mut path = Vec::new();
            for (k, v) in map {
                segs.push(Seg::Field(k.clone()));
                path.push(PathElement::Field(k.clone()));
                collect(v, lists, &mut segs, &mut path, &mut set);
                segs.pop();
                path.pop();
            }
        }
        set
    }
}

/// Canonical JSON text of a value; maps serialize with sorted keys.
pub(crate) fn canonical(v: &Value) -> String {
    v.to_string()
}

/// The key element identifying `item` in a map-list keyed by `keys`, if it has them all.
pub(crate) fn item_key(item: &Value, keys: &[String]) -> Option<PathElement> {
    let mut key = Map::new();
    for k in keys {
        key.insert(k.clone(), item.get(k)?.clone());
    }
    Some(PathElement::Key(canonical(&Value::Object(key))))
}

fn collect(
    value: &Value,
    lists: ListTypes<'_>,
    segs: &mut Vec<Seg>,
    path: &mut FieldPath,
    out: &mut FieldSet,
) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                segs.push(Seg::Field(k.clone()));
                path.push(PathElement::Field(k.clone()));
                collect(v, lists, segs, path, out);
                segs.pop();
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match lists.kind(segs) {
            ListKind::Set => {
                for item in items {
                    path.push(PathElement::Value(canonical(item)));
                    out.insert(path);
                    path.pop();
                }
            }
            ListKind::Map(keys) => {
                let item_keys: Option<Vec<PathElement>> =
                    items.iter().map(|i| item_key(i, &keys)).collect();
                let Some(item_keys) = item_keys else {
                    out.insert(path);
                    return;
                };
                segs.push(Seg::Item);
                for (item, key) in items.iter().zip(item_keys) {
                    path.push(key);
                    out.insert(path);
                    collect(item, lists, segs, path, out);
                    path.pop();
                }
                segs.pop();
            }
            ListKind::Atomic => out.insert(path),
        },
        _ => out.insert(path),
    }
}
