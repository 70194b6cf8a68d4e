//! Small helpers over an object's `metadata`: timestamps, uids, generated
//! names, name validation, finalizers, and the "did the spec change" test
//! behind `metadata.generation`.

use serde_json::{Map, Value};

/// Current time as the API's `Time` format (`2006-01-02T15:04:05Z`).
pub(crate) fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub(crate) fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Five random characters for `generateName`, from the alphabet the real
/// server uses (no vowels, no look-alike digits).
pub(crate) fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// `metadata` of `obj`, created empty when missing. Non-object input is
/// replaced by an empty object first, so the result always exists.
pub(crate) fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let Value::Object(map) = obj else {
        unreachable!("`obj` was made an object just above")
    };
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let Value::Object(meta) = meta else {
        unreachable!("`metadata` was made an object just above")
    };
    meta
}

pub(crate) fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

pub(crate) fn finalizers(obj: &Value) -> Vec<&str> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

pub(crate) fn is_terminating(obj: &Value) -> bool {
    meta_str(obj, "deletionTimestamp").is_some()
}

/// Why `name` is not a valid object name, if it is not. Namespaces must be
/// DNS labels; everything else DNS subdomains.
pub(crate) fn invalid_name(name: &str, dns_label: bool) -> Option<String> {
    let max = if dns_label { 63 } else { 253 };
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (!dns_label && c == '.')
    };
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty()
        || name.len() > max
        || !name.chars().all(allowed)
        || !edge_ok(name.chars().next())
        || !edge_ok(name.chars().last())
    {
        let what = if dns_label {
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        } else {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        };
        return Some(format!("metadata.name: Invalid value: {name:?}: {what}"));
    }
    None
}

/// Whether anything outside `metadata` (and outside `status` when the type
/// has a status subresource) differs: the rule for bumping `generation`.
pub(crate) fn spec_changed(old: &Value, new: &Value, status_subresource: bool) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| {
                        k.as_str() != "metadata"
                            && k.as_str() != "apiVersion"
                            && k.as_str() != "kind"
                            && !(status_subresource && k.as_str() == "status")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    strip(old) != strip(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_validated_like_dns_subdomains_and_labels() {
        let cases = [
            ("w-basic", false, true),
            ("widgets.probe.example.com", false, true),
            ("widgets.probe.example.com", true, false),
            ("Upper", false, false),
            ("-lead", false, false),
            ("", false, false),
        ];
        for (name, label, ok) in cases {
            assert_eq!(
                invalid_name(name, label).is_none(),
                ok,
                "{name} label={label}"
            );
        }
    }

    #[test]
    fn generation_ignores_metadata_and_status_only_with_subresource() {
        let old = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"x": 1}, "status": {"p": 1}});
        let meta_only =
            json!({"metadata": {"labels": {"a": "c"}}, "spec": {"x": 1}, "status": {"p": 1}});
        let status_only =
            json!({"metadata": {"labels": {"a": "b"}}, "spec": {"x": 1}, "status": {"p": 2}});
        assert!(!spec_changed(&old, &meta_only, true));
        assert!(!spec_changed(&old, &status_only, true));
        assert!(spec_changed(&old, &status_only, false));
    }

    #[test]
    fn generated_suffixes_have_five_allowed_characters() {
        let s = name_suffix();
        assert_eq!(s.len(), 5);
        assert!(invalid_name(&format!("x-{s}"), true).is_none());
    }
}
