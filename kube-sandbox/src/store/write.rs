//! Create and replace, and the two commits every write ends in (patches and
//! apply in [`super::patch`] included): [`State::create_object`] for new objects and
//! [`State::commit_update`] for existing ones, which own the rules every
//! write shares (optimistic concurrency, status scoping, server-owned
//! metadata, generation, managed fields, no-op detection, finalizer-driven
//! removal).

use serde_json::Value;

use super::meta::{self, meta_mut};
use super::{rules, ChangeKind, Location, State};
use crate::catalog::ResourceType;
use crate::error::ApiError;
use crate::fields::managed::ManagedEntry;
use crate::fields::Scope;

/// Who gets ownership of what a write sets.
pub(super) enum Ownership<'a> {
    /// A non-apply write: `manager` takes the fields it changed.
    Update { manager: &'a str },
    /// Entries already computed by server-side apply.
    Entries(Vec<ManagedEntry>),
}

/// The scope a write to the main resource or `/status` may touch.
pub(crate) fn scope(rt: &ResourceType, status: bool) -> Result<Scope, ApiError> {
    match (status, rt.status_subresource) {
        (true, false) => Err(ApiError::PathNotFound),
        (true, true) => Ok(Scope::Status),
        (false, true) => Ok(Scope::MainWithoutStatus),
        (false, false) => Ok(Scope::Whole),
    }
}

pub(super) fn check_type(loc: &Location<'_>, obj: &Value) -> Result<(), ApiError> {
    let want_version = loc.rt.api_version(loc.version);
    if let Some(v) = obj.get("apiVersion").and_then(Value::as_str) {
        if v != want_version {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({v}) does not match the expected API version ({want_version})"
            )));
        }
    }
    if let Some(k) = obj.get("kind").and_then(Value::as_str) {
        if k != loc.rt.kind {
            return Err(ApiError::BadRequest(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                loc.rt.kind
            )));
        }
    }
    Ok(())
}

pub(super) fn invalid(loc: &Location<'_>, name: &str, message: impl Into<String>) -> ApiError {
    ApiError::Invalid {
        resource: loc.rt.group_resource(),
        kind: loc.rt.kind.clone(),
        name: name.to_owned(),
        message: message.into(),
    }
}

pub(super) fn set_field(obj: &mut Value, field: &str, value: Option<Value>) {
    if let Some(m) = obj.as_object_mut() {
        match value {
            Some(v) => m.insert(field.to_owned(), v),
            None => m.remove(field),
        };
    }
}

impl State {
    pub(super) fn stored(&self, loc: &Location<'_>, name: &str) -> Option<Value> {
        self.objects
            .get(&loc.rt.storage_resource())
            .and_then(|c| c.get(&loc.key(name)))
            .cloned()
    }

    /// POST: creates `body` in the collection.
    pub(crate) fn create(
        &mut self,
        loc: &Location<'_>,
        body: Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        self.create_object(loc, body, Ownership::Update { manager })
    }

    /// PUT on the main resource or `/status`.
    ///
    /// Limitation: PUT never creates; a missing object is 404 for every type.
    pub(crate) fn replace(
        &mut self,
        loc: &Location<'_>,
        name: &str,
        mut body: Value,
        manager: &str,
        status: bool,
    ) -> Result<Value, ApiError> {
        let scope = scope(loc.rt, status)?;
        let old = self.stored(loc, name).ok_or_else(|| loc.not_found(name))?;
        check_type(loc, &body)?;
        loc.rt.to_storage(&mut body);
        let require_rv = !loc.rt.unconditional_update;
        self.commit_update(
            loc,
            name,
            old,
            body,
            scope,
            Ownership::Update { manager },
            require_rv,
        )
    }

    /// Stores a new object: names it, checks its namespace, stamps
    /// server-owned metadata, records ownership, emits ADDED.
    pub(super) fn create_object(
        &mut self,
        loc: &Location<'_>,
        mut obj: Value,
        ownership: Ownership<'_>,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::BadRequest(
                "the request body must be a JSON object".into(),
            ));
        }
        check_type(loc, &obj)?;
        loc.rt.to_storage(&mut obj);
        let namespace = rules::namespace_for_create(loc, &obj)?;
        let name = rules::name_for_create(loc, &obj)?;
        if let Some(ns) = &namespace {
            self.check_namespace_open(loc, ns)?;
        }
        let key = loc.key(&name);
        let gr = loc.rt.storage_resource();
        if self.objects.get(&gr).is_some_and(|c| c.contains_key(&key)) {
            return Err(ApiError::AlreadyExists {
                resource: loc.rt.group_resource(),
                name,
            });
        }

        let now = meta::now();
        rules::stamp_created(&mut obj, loc.rt, &name, namespace.as_deref(), &now);
        Self::prepare_special(loc, &name, &mut obj, None)?;
        rules::settle_ownership(
            loc,
            rules::main_scope(loc.rt),
            None,
            &mut obj,
            ownership,
            &now,
        );

        let revision = self.next_revision();
        meta_mut(&mut obj).insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
        self.collection(&gr).insert(key.clone(), obj.clone());
        self.emit(gr, &key.namespace, ChangeKind::Added, obj.clone(), None);
        self.after_stored(loc.rt, &obj);
        Ok(loc.present(obj))
    }

    /// Stores `candidate` over `old` (both in stored form), applying the rules
    /// every update shares. An update that changes nothing is answered with
    /// the stored object and commits nothing (no new revision, no event).
    #[allow(clippy::too_many_arguments)] // Internal; each argument is one independent input of the commit.
    pub(super) fn commit_update(
        &mut self,
        loc: &Location<'_>,
        name: &str,
        old: Value,
        candidate: Value,
        scope: Scope,
        ownership: Ownership<'_>,
        require_rv: bool,
    ) -> Result<Value, ApiError> {
        rules::check_update(loc, name, &old, &candidate, require_rv)?;
        let mut new = rules::scoped_update(&old, candidate, scope);
        rules::check_finalizers_frozen(loc, name, &old, &new)?;
        if scope != Scope::Status {
            Self::prepare_special(loc, name, &mut new, Some(&old))?;
        }
        rules::bump_generation(loc.rt, &old, &mut new);
        rules::settle_ownership(loc, scope, Some(&old), &mut new, ownership, &meta::now());
        if new == old {
            return Ok(loc.present(old));
        }

        let revision = self.next_revision();
        meta_mut(&mut new).insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
        let key = loc.key(name);
        let gr = loc.rt.storage_resource();
        if meta::is_terminating(&new) && meta::finalizers(&new).is_empty() {
            // The last finalizer is gone: the pending deletion completes now.
            self.drop_object(&gr, &key, &new);
            return Ok(loc.present(new));
        }
        self.collection(&gr).insert(key.clone(), new.clone());
        self.emit(
            gr,
            &key.namespace,
            ChangeKind::Modified,
            new.clone(),
            Some(old),
        );
        self.after_stored(loc.rt, &new);
        Ok(loc.present(new))
    }
}

pub(super) fn conflict(loc: &Location<'_>, name: &str) -> ApiError {
    ApiError::Conflict {
        resource: loc.rt.group_resource(),
        name: name.to_owned(),
        message: "the object has been modified; please apply your changes to the latest version and try again".into(),
    }
}
