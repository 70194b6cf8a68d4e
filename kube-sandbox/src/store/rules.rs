//! The rules every write shares, as pure functions over JSON objects: naming
//! and stamping new objects, update preconditions, status scoping,
//! server-owned metadata, frozen finalizers, generation, and managed fields.
//! [`super::write`] strings them together into commits.

use serde_json::Value;

use super::meta::{self, meta_mut, meta_str};
use super::write::{conflict, invalid, set_field, Ownership};
use super::Location;
use crate::catalog::ResourceType;
use crate::error::ApiError;
use crate::fields::managed;
use crate::fields::{ownable_part, FieldSet, ListTypes, Scope};

/// Server-owned metadata copied from the stored object on every update.
const PRESERVED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "generateName",
    "managedFields",
];

/// The scope of a main-resource write for `rt`.
pub(super) fn main_scope(rt: &ResourceType) -> Scope {
    if rt.status_subresource {
        Scope::MainWithoutStatus
    } else {
        Scope::Whole
    }
}

/// The namespace a new object lands in: the request's, which the body may repeat but not contradict.
pub(super) fn namespace_for_create(
    loc: &Location<'_>,
    obj: &Value,
) -> Result<Option<String>, ApiError> {
    if !loc.rt.namespaced {
        return Ok(None);
    }
    let ns = loc.namespace.ok_or_else(|| {
        ApiError::MethodNotAllowed("namespaced objects are created in a namespace".into())
    })?;
    if meta_str(obj, "namespace").is_some_and(|n| n != ns) {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    Ok(Some(ns.to_owned()))
}

/// `metadata.name`, or `generateName` plus a random suffix; validated.
pub(super) fn name_for_create(loc: &Location<'_>, obj: &Value) -> Result<String, ApiError> {
    let name = match (
        meta_str(obj, "name").filter(|n| !n.is_empty()),
        meta_str(obj, "generateName"),
    ) {
        (Some(n), _) => n.to_owned(),
        (None, Some(prefix)) => format!("{prefix}{}", meta::name_suffix()),
        (None, None) => {
            return Err(invalid(
                loc,
                "",
                "metadata.name: Required value: name or generateName is required",
            ))
        }
    };
    match meta::invalid_name(&name, loc.rt.plural == "namespaces") {
        Some(why) => Err(invalid(loc, &name, why)),
        None => Ok(name),
    }
}

/// Sets the server-owned metadata of a new object and drops what a client
/// may not set on create (status, when the type has a status subresource).
pub(super) fn stamp_created(
    obj: &mut Value,
    rt: &ResourceType,
    name: &str,
    namespace: Option<&str>,
    now: &str,
) {
    let m = meta_mut(obj);
    m.insert("name".into(), Value::String(name.to_owned()));
    match namespace {
        Some(ns) => m.insert("namespace".into(), Value::String(ns.to_owned())),
        None => m.remove("namespace"),
    };
    m.insert("uid".into(), Value::String(meta::new_uid()));
    m.insert("creationTimestamp".into(), Value::String(now.to_owned()));
    for f in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
        "resourceVersion",
    ] {
        m.remove(f);
    }
    if rt.tracks_generation {
        m.insert("generation".into(), Value::from(1));
    } else {
        m.remove("generation");
    }
    if rt.status_subresource {
        set_field(obj, "status", None);
    }
    set_field(
        obj,
        "apiVersion",
        Some(Value::String(rt.storage_api_version())),
    );
    set_field(obj, "kind", Some(Value::String(rt.kind.clone())));
}

/// Optimistic concurrency and identity checks of an update.
pub(super) fn check_update(
    loc: &Location<'_>,
    name: &str,
    old: &Value,
    candidate: &Value,
    require_rv: bool,
) -> Result<(), ApiError> {
    if !candidate.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    }
    match meta_str(candidate, "resourceVersion") {
        Some(rv) if Some(rv) != meta_str(old, "resourceVersion") => {
            return Err(conflict(loc, name))
        }
        None if require_rv => {
            return Err(invalid(
                loc,
                name,
                "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
            ))
        }
        _ => {}
    }
    if let Some(n) = meta_str(candidate, "name").filter(|n| *n != name) {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    if loc.rt.namespaced
        && meta_str(candidate, "namespace").is_some_and(|n| Some(n) != meta_str(old, "namespace"))
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    Ok(())
}

/// The object an update would store: `/status` changes only status, the
/// main resource never changes status when a subresource exists, and
/// server-owned metadata always comes from `old`.
///
/// Limitation: metadata changes sent to `/status` (labels, annotations,
/// finalizers) are ignored; only `.status` is taken.
pub(super) fn scoped_update(old: &Value, candidate: Value, scope: Scope) -> Value {
    let mut new = match scope {
        Scope::Status => {
            let mut n = old.clone();
            set_field(&mut n, "status", candidate.get("status").cloned());
            n
        }
        Scope::MainWithoutStatus => {
            let mut n = candidate;
            set_field(&mut n, "status", old.get("status").cloned());
            n
        }
        Scope::Whole => candidate,
    };
    set_field(&mut new, "apiVersion", old.get("apiVersion").cloned());
    set_field(&mut new, "kind", old.get("kind").cloned());
    let old_meta = old
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let m = meta_mut(&mut new);
    for f in PRESERVED_METADATA.iter().chain(&["resourceVersion"]) {
        match old_meta.get(*f) {
            Some(v) => m.insert((*f).to_owned(), v.clone()),
            None => m.remove(*f),
        };
    }
    m.remove("selfLink");
    new
}

/// While an object is being deleted its finalizers may only shrink.
pub(super) fn check_finalizers_frozen(
    loc: &Location<'_>,
    name: &str,
    old: &Value,
    new: &Value,
) -> Result<(), ApiError> {
    if !meta::is_terminating(old) {
        return Ok(());
    }
    let before = meta::finalizers(old);
    if meta::finalizers(new).iter().any(|f| !before.contains(f)) {
        return Err(invalid(
            loc,
            name,
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted",
        ));
    }
    Ok(())
}

/// Bumps `metadata.generation` when the spec (see [`meta::spec_changed`]) changed.
pub(super) fn bump_generation(rt: &ResourceType, old: &Value, new: &mut Value) {
    if rt.tracks_generation && meta::spec_changed(old, new, rt.status_subresource) {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        meta_mut(new).insert("generation".into(), Value::from(generation));
    }
}

/// Computes and stores `metadata.managedFields` of `new`: the writer's
/// ownership (changed fields for updates, everything set for creates, or the
/// entries apply computed), pruned to the fields `new` still has.
pub(super) fn settle_ownership(
    loc: &Location<'_>,
    scope: Scope,
    old: Option<&Value>,
    new: &mut Value,
    ownership: Ownership<'_>,
    now: &str,
) {
    let lists = ListTypes::new(loc.rt.schemas.get(loc.version));
    let mut entries = match ownership {
        Ownership::Update { manager } => {
            let mut entries = old.map(managed::read).unwrap_or_default();
            let new_part = ownable_part(new, scope);
            let new_fields = FieldSet::of_value(&new_part, lists);
            let changed = match old {
                Some(old) => {
                    managed::changed_fields(&ownable_part(old, scope), &new_part, &new_fields)
                }
                None => new_fields,
            };
            let api_version = loc.rt.api_version(loc.version);
            managed::record_update(
                &mut entries,
                manager,
                scope.subresource(),
                &changed,
                &api_version,
                now,
            );
            entries
        }
        Ownership::Entries(entries) => entries,
    };
    managed::prune(
        &mut entries,
        &FieldSet::of_value(&ownable_part(new, Scope::Whole), lists),
    );
    managed::write(new, &entries);
}
