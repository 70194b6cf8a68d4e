//! Conversion between `events.k8s.io/v1` Events and the core `v1` Events
//! they are stored as, so both APIs (and `kubectl describe`) see the same
//! events, as on a real cluster.
//!
//! Limitation: only the renamed fields are converted; `managedFields` keep
//! the core field names, and no defaults are filled in either direction.

use serde_json::Value;

/// `(events.k8s.io/v1 name, core v1 name)` of every field whose name differs.
const RENAMED: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
];

fn rename(obj: &mut Value, pairs: impl Iterator<Item = (&'static str, &'static str)>) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    for (from, to) in pairs {
        if let Some(v) = map.remove(from) {
            map.insert(to.to_owned(), v);
        }
    }
}

/// An `events.k8s.io/v1` Event in core `v1` shape. Idempotent on core-shaped input.
pub(crate) fn to_core(obj: &mut Value) {
    rename(obj, RENAMED.iter().copied());
}

/// A stored core `v1` Event in `events.k8s.io/v1` shape.
pub(crate) fn from_core(obj: &mut Value) {
    rename(obj, RENAMED.iter().map(|(new, core)| (*core, *new)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renamed_fields_round_trip() {
        let new_style = json!({"regarding": {"name": "w"}, "note": "hi", "reason": "R", "reportingController": "c"});
        let mut core = new_style.clone();
        to_core(&mut core);
        assert_eq!(
            core,
            json!({"involvedObject": {"name": "w"}, "message": "hi", "reason": "R", "reportingComponent": "c"})
        );
        let mut back = core.clone();
        to_core(&mut core);
        assert_eq!(core, back, "to_core is idempotent");
        from_core(&mut back);
        assert_eq!(back, new_style);
    }
}
