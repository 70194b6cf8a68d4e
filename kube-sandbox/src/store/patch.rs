//! Patches (merge, strategic merge, JSON patch) and server-side apply:
//! each turns a request into a candidate object, then hands it to the
//! shared commit in [`super::write`].

use serde_json::{Map, Value};

use super::meta::{self, meta_mut, meta_str};
use super::write::{check_type, conflict, invalid, scope, set_field, Ownership};
use super::{Location, State};
use crate::error::ApiError;
use crate::fields::apply::{apply, ApplyRequest};
use crate::fields::managed;
use crate::fields::{ownable_part, ListTypes};

/// A non-apply patch body, by content type.
#[derive(Debug)]
pub(crate) enum PatchBody {
    /// `application/merge-patch+json` (RFC 7386).
    Merge(Value),
    /// `application/strategic-merge-patch+json`.
    ///
    /// Limitation: applied as a JSON merge patch after dropping `$`-directives
    /// (`$patch`, `$setElementOrder/...`, `$retainKeys`); lists are replaced
    /// rather than merged by their patch merge keys.
    StrategicMerge(Value),
    /// `application/json-patch+json` (RFC 6902); a failed `test` rejects the patch.
    Json(json_patch::Patch),
}

/// Applies RFC 6902 operations one by one. A `test` for `null` passes when
/// the path is absent, as in the real server (kube-runtime's `finalizer()`
/// relies on it to add the first finalizer).
fn apply_json_patch(doc: &mut Value, ops: &json_patch::Patch) -> Result<(), String> {
    for op in &ops.0 {
        if let json_patch::PatchOperation::Test(test) = op {
            if test.value.is_null() {
                return_if_mismatch(doc.pointer(test.path.as_str()), &test.path)?;
                continue;
            }
        }
        json_patch::patch(doc, std::slice::from_ref(op)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn return_if_mismatch(found: Option<&Value>, path: &impl std::fmt::Display) -> Result<(), String> {
    match found {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(format!(
            "test operation failed at path {path}: value is not null"
        )),
    }
}

/// Removes `$`-prefixed strategic-merge directives, recursively.
fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
impl State {
    pub(crate) fn patch(
        &mut self,
        loc: &Location<'_>,
        name: &str,
        patch: &PatchBody,
        manager: &str,
        status: bool,
    ) -> Result<Value, ApiError> {
        let scope = scope(loc.rt, status)?;
        let old = self.stored(loc, name).ok_or_else(|| loc.not_found(name))?;
        let mut doc = loc.present(old.clone());
        match patch {
            PatchBody::Merge(p) => json_patch::merge(&mut doc, p),
            PatchBody::StrategicMerge(p) => json_patch::merge(&mut doc, &strip_directives(p)),
            PatchBody::Json(ops) => apply_json_patch(&mut doc, ops).map_err(|e| {
                invalid(
                    loc,
                    name,
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?,
        }
        loc.rt.to_storage(&mut doc);
        self.commit_update(
            loc,
            name,
            old,
            doc,
            scope,
            Ownership::Update { manager },
            false,
        )
    }

    /// Server-side apply (`application/apply-patch+yaml`); creates the object
    /// when missing (not through `/status`).
    #[allow(clippy::too_many_arguments)] // One flat call from the HTTP layer reads better than a one-use struct.
    pub(crate) fn apply(
        &mut self,
        loc: &Location<'_>,
        name: &str,
        config: &Value,
        manager: &str,
        force: bool,
        status: bool,
    ) -> Result<Value, ApiError> {
        let scope = scope(loc.rt, status)?;
        if !config.is_object() {
            return Err(ApiError::BadRequest(
                "apply configuration must be an object".into(),
            ));
        }
        if config.get("apiVersion").is_none() || config.get("kind").is_none() {
            return Err(ApiError::BadRequest(
                "apiVersion and kind must be set in an apply configuration".into(),
            ));
        }
        check_type(loc, config)?;
        if let Some(n) = meta_str(config, "name").filter(|n| *n != name) {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        let old = self.stored(loc, name);
        if let (Some(want), Some(old)) = (meta_str(config, "resourceVersion"), &old) {
            if Some(want) != meta_str(old, "resourceVersion") {
                return Err(conflict(loc, name));
            }
        }

        let lists = ListTypes::new(loc.rt.schemas.get(loc.version));
        let mut stored_shape = config.clone();
        loc.rt.to_storage(&mut stored_shape);
        let part = ownable_part(&stored_shape, scope);
        let now = meta::now();
        let api_version = loc.rt.api_version(loc.version);
        let request = ApplyRequest {
            manager,
            subresource: scope.subresource(),
            force,
            config: &part,
            api_version: &api_version,
            now: &now,
        };
        let to_conflict = |conflicts| ApiError::ApplyConflict {
            resource: loc.rt.group_resource(),
            name: name.to_owned(),
            conflicts,
        };
        match old {
            None if status => Err(loc.not_found(name)),
            None => {
                let applied = apply(&Value::Object(Map::new()), Vec::new(), &request, lists)
                    .map_err(to_conflict)?;
                let mut obj = applied.object;
                set_field(
                    &mut obj,
                    "apiVersion",
                    Some(Value::String(api_version.clone())),
                );
                set_field(&mut obj, "kind", Some(Value::String(loc.rt.kind.clone())));
                meta_mut(&mut obj).insert("name".into(), Value::String(name.to_owned()));
                if let Some(ns) = meta_str(config, "namespace") {
                    meta_mut(&mut obj).insert("namespace".into(), Value::String(ns.to_owned()));
                }
                self.create_object(loc, obj, Ownership::Entries(applied.entries))
            }
            Some(old) => {
                let applied =
                    apply(&old, managed::read(&old), &request, lists).map_err(to_conflict)?;
                self.commit_update(
                    loc,
                    name,
                    old,
                    applied.object,
                    scope,
                    Ownership::Entries(applied.entries),
                    false,
                )
            }
        }
    }
}
