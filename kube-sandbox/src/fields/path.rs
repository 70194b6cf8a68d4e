//! Reading and removing the value a [`FieldPath`] points at inside an object.

use serde_json::{Map, Value};

use super::set::{canonical, PathElement};

fn matches_key(item: &Value, key: &str) -> bool {
    let Ok(key) = serde_json::from_str::<Map<String, Value>>(key) else {
        return false;
    };
    key.iter().all(|(k, v)| item.get(k) == Some(v))
}

fn step<'a>(value: &'a Value, el: &PathElement) -> Option<&'a Value> {
    match el {
        PathElement::Field(f) => value.get(f),
        PathElement::Key(k) => value.as_array()?.iter().find(|i| matches_key(i, k)),
        PathElement::Value(v) => value.as_array()?.iter().find(|i| canonical(i) == *v),
    }
}

/// The value at `path`, if present.
pub(crate) fn get<'a>(value: &'a Value, path: &[PathElement]) -> Option<&'a Value> {
    path.iter().try_fold(value, step)
}

/// Removes the field or list item at `path`; returns whether anything was removed.
pub(crate) fn remove(value: &mut Value, path: &[PathElement]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for el in parents {
        let next = match el {
            PathElement::Field(f) => node.get_mut(f),
            PathElement::Key(k) => node
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| matches_key(i, k))),
            PathElement::Value(v) => node
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| canonical(i) == *v)),
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    match last {
        PathElement::Field(f) => node.as_object_mut().and_then(|m| m.remove(f)).is_some(),
        PathElement::Key(k) => remove_item(node, |i| matches_key(i, k)),
        PathElement::Value(v) => remove_item(node, |i| canonical(i) == *v),
    }
}

fn remove_item(list: &mut Value, pred: impl Fn(&Value) -> bool) -> bool {
    let Some(items) = list.as_array_mut() else {
        return false;
    };
    let before = items.len();
    items.retain(|i| !pred(i));
    items.len() != before
}

/// Whether `a` and `b` agree at `path`. For list items only presence counts:
/// owning an item means owning its existence, its fields are separate paths.
pub(crate) fn same_at(a: &Value, b: &Value, path: &[PathElement]) -> bool {
    let (x, y) = (get(a, path), get(b, path));
    match path.last() {
        Some(PathElement::Key(_) | PathElement::Value(_)) => x.is_some() == y.is_some(),
        _ => x == y,
    }
}
