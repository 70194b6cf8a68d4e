//! The generated `config` of seeded versions, and how config changes merge into one.
//!
//! A seed names a version's state and flags, not its configuration; this module supplies a
//! complete `config` with every documented key in the documented order (SPEC §4.3), shaped by
//! the connector type, so seeds stay short and every version object is whole.

use serde_json::{json, Value};

use super::seed::{SeedConnector, SeedState, SeedVersion};

/// A complete `config` (SPEC §4.3, keys in the documented order) for a seeded version.
pub fn generated_config(c: &SeedConnector, v: &SeedVersion, commit: Option<&str>) -> Value {
    let configured = v.state != SeedState::Created;
    let slug: String = c
        .name
        .to_ascii_lowercase()
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    let of_type = |t: &str, value: Value| {
        if c.connector_type == t {
            value
        } else {
            Value::Null
        }
    };

    json!({
        "update-progress": if configured { json!(["application-config", "vcs-config"]) } else { json!([]) },
        "secret-registrations": [],
        "authentication-registrations": [],
        "authentication-registrations-additional-fields": [],
        "application": if configured {
            json!({ "command": "node", "arguments": "dist/cli.js run", "health-check": "--version" })
        } else {
            Value::Null
        },
        "vcs": if configured {
            json!({
                "authorization": "basic",
                "url": format!("https://git.example.test/{slug}.git"),
                "branch": "main",
                "username": "ci-bot",
                "deploy-key-public": null,
                "latest-commit": commit,
            })
        } else {
            Value::Null
        },
        "docker": { "image-name": null, "image-tag": null, "registry-url": null },
        "individuals": [],
        "migration": v.legacy_executable.map(|id| json!({ "legacy-executable": id })),
        "execution": {
            "execution-mode": "as-env-variables",
            "container-api-image": "registry.example.test/cde/container-api:2.3.0",
            "docker-host": null,
            "container-api": { "image": null, "version-constraint": "^2.3" }
        },
        "export": of_type("export", json!({
            "channels": [],
            "channel-config": [],
            "feedback-file-enabled": false,
            "feedback-file-source-connection-column": null,
            "feedback-file-target-connection-column": null,
            "feedback-application-config": null
        })),
        "data-service": of_type("data-service", json!({
            "column-prefix": null,
            "service-type": null,
            "stages": [],
            "max-usage": null,
            "service-category": null,
            "datasource": null
        })),
        "datasource": of_type("datasource", json!({ "categories": [] })),
        "buckets": [],
        "feature-flags": [],
        "container-api-config": null
    })
}

/// Merges `patch` into `target`: objects key by key (new keys go last), anything else —
/// `null` included — replaces. Unlike JSON merge patch, `null` does not delete: config keys
/// are always present and `null` is a meaningful value (e.g. `"migration": null`).
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_scalars_and_nulls_and_recurses_into_objects() {
        let mut config =
            json!({ "a": { "b": 1, "c": 2 }, "migration": { "legacy-executable": 3 } });
        merge(
            &mut config,
            &json!({ "a": { "c": 5 }, "migration": null, "d": [] }),
        );
        assert_eq!(
            config,
            json!({ "a": { "b": 1, "c": 5 }, "migration": null, "d": [] })
        );
    }
}
