//! Deletion and the side effects of storing or removing special objects:
//! finalizers holding a deletion, namespaces (bootstrap, refusing content
//! while terminating, cascading their contents), and CRDs (serving and
//! unserving their custom resources).
//!
//! Limitation: namespace deletion is simplified. The namespace turns
//! `Terminating`, every object in it is deleted at once (objects with
//! finalizers get a `deletionTimestamp` and stay until their finalizers are
//! gone), and the namespace disappears as soon as it is empty; there is no
//! `spec.finalizers` / namespace controller step.
//!
//! Limitation: deleting a CRD removes it and all its custom resources
//! immediately, ignoring the resources' finalizers; the real server waits
//! for them behind the `customresourcecleanup` finalizer.
//!
//! Limitation: there is no garbage collector; `ownerReferences` are stored
//! but dependents are never deleted, and `propagationPolicy` is ignored.

use serde_json::{json, Value};

use super::meta::{self, meta_mut, meta_str};
use super::write::{conflict, Ownership};
use super::{ChangeKind, Location, ObjectKey, State};
use crate::catalog::{accept_crd, resource_type_from_crd, GroupResource, ResourceType};
use crate::error::ApiError;

/// `DeleteOptions.preconditions`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

/// Outcome of a DELETE.
#[derive(Clone, Debug)]
pub(crate) struct Deleted {
    /// The object after the call: its last state when removed, or with
    /// `deletionTimestamp` set when finalizers hold it.
    pub object: Value,
    /// Whether the object is gone.
    pub removed: bool,
}

const NAMESPACES: (&str, &str) = ("", "namespaces");
const CRDS: (&str, &str) = ("apiextensions.k8s.io", "customresourcedefinitions");
/// Namespaces the real server refuses to delete.
const PROTECTED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

fn is(gr: &GroupResource, which: (&str, &str)) -> bool {
    gr.group == which.0 && gr.resource == which.1
}

impl State {
    pub(super) fn bootstrap_namespaces(&mut self) {
        let Some(rt) = self
            .catalog
            .lookup(NAMESPACES.0, "v1", NAMESPACES.1)
            .cloned()
        else {
            return;
        };
        let loc = Location {
            rt: &rt,
            version: "v1",
            namespace: None,
        };
        for name in ["default", "kube-system"] {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            // Cannot fail on a fresh store: valid names, no duplicates, no namespace checks.
            let _ = self.create_object(
                &loc,
                ns,
                Ownership::Update {
                    manager: "kube-apiserver",
                },
            );
        }
    }

    /// Refuses content in a namespace that does not exist or is terminating.
    pub(super) fn check_namespace_open(
        &self,
        loc: &Location<'_>,
        ns: &str,
    ) -> Result<(), ApiError> {
        let gr = GroupResource::new(NAMESPACES.0, NAMESPACES.1);
        let key = ObjectKey {
            namespace: String::new(),
            name: ns.to_owned(),
        };
        match self.objects.get(&gr).and_then(|c| c.get(&key)) {
            None => Err(ApiError::NotFound {
                resource: gr,
                name: ns.to_owned(),
            }),
            Some(n) if meta::is_terminating(n) => Err(ApiError::Forbidden(format!(
                "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                loc.rt.group_resource()
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Type-specific preparation before a create or main-resource update:
    /// namespaces get their phase, CRDs are validated and accepted.
    ///
    /// Limitation: a CRD's `NamesAccepted`/`Established` status is written in
    /// the same revision as the CRD itself, not by a later controller write,
    /// so the CRD is served as soon as the create returns.
    pub(super) fn prepare_special(
        loc: &Location<'_>,
        name: &str,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        let gr = loc.rt.group_resource();
        if is(&gr, NAMESPACES) {
            let phase = if meta::is_terminating(obj) {
                "Terminating"
            } else {
                "Active"
            };
            if let Some(m) = obj.as_object_mut() {
                m.insert("status".into(), json!({ "phase": phase }));
            }
        } else if is(&gr, CRDS) {
            let rt = resource_type_from_crd(obj).map_err(|e| ApiError::Invalid {
                resource: gr.clone(),
                kind: loc.rt.kind.clone(),
                name: name.to_owned(),
                message: e.to_string(),
            })?;
            accept_crd(obj, &rt, old.and_then(|o| o.get("status")), &meta::now());
        }
        Ok(())
    }

    /// Side effects of storing `obj`: a CRD starts (or keeps) being served.
    pub(super) fn after_stored(&mut self, rt: &ResourceType, obj: &Value) {
        if is(&rt.group_resource(), CRDS) {
            if let Ok(served) = resource_type_from_crd(obj) {
                self.catalog.register(served);
            }
        }
    }

    /// Removes a stored object whose final state (with its deletion
    /// revision) is `obj`, emits DELETED, and runs the removal side effects.
    pub(super) fn drop_object(&mut self, gr: &GroupResource, key: &ObjectKey, obj: &Value) {
        self.collection(gr).remove(key);
        self.emit(
            gr.clone(),
            &key.namespace,
            ChangeKind::Deleted,
            obj.clone(),
            None,
        );
        self.after_removed(gr, key, obj);
    }

    fn remove_now(&mut self, gr: &GroupResource, key: &ObjectKey, mut obj: Value) -> Value {
        let revision = self.next_revision();
        meta_mut(&mut obj).insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
        self.drop_object(gr, key, &obj);
        obj
    }

    fn mark_terminating(&mut self, gr: &GroupResource, key: &ObjectKey, mut obj: Value) -> Value {
        if meta::is_terminating(&obj) {
            return obj;
        }
        let previous = obj.clone();
        let revision = self.next_revision();
        {
            let m = meta_mut(&mut obj);
            m.insert("deletionTimestamp".into(), Value::String(meta::now()));
            m.insert("deletionGracePeriodSeconds".into(), Value::from(0));
            m.insert(
                "resourceVersion".into(),
                Value::String(revision.to_string()),
            );
        }
        if is(gr, NAMESPACES) {
            if let Some(m) = obj.as_object_mut() {
                m.insert("status".into(), json!({"phase": "Terminating"}));
            }
        }
        self.collection(gr).insert(key.clone(), obj.clone());
        self.emit(
            gr.clone(),
            &key.namespace,
            ChangeKind::Modified,
            obj.clone(),
            Some(previous),
        );
        obj
    }

    fn after_removed(&mut self, gr: &GroupResource, key: &ObjectKey, obj: &Value) {
        if is(gr, CRDS) {
            let group = obj
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let plural = obj
                .pointer("/spec/names/plural")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let served = GroupResource::new(group, plural);
            let instances: Vec<(ObjectKey, Value)> = self
                .objects
                .get(&served)
                .map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            for (k, v) in instances {
                self.remove_now(&served, &k, v);
            }
            self.objects.remove(&served);
            self.catalog.unregister(&served);
        }
        if !key.namespace.is_empty() {
            self.finish_namespace_if_empty(&key.namespace);
        }
    }

    fn namespace_is_empty(&self, ns: &str) -> bool {
        self.objects
            .values()
            .all(|c| c.keys().all(|k| k.namespace != ns))
    }

    fn finish_namespace_if_empty(&mut self, ns: &str) {
        let gr = GroupResource::new(NAMESPACES.0, NAMESPACES.1);
        let key = ObjectKey {
            namespace: String::new(),
            name: ns.to_owned(),
        };
        let Some(obj) = self.objects.get(&gr).and_then(|c| c.get(&key)).cloned() else {
            return;
        };
        if meta::is_terminating(&obj)
            && meta::finalizers(&obj).is_empty()
            && self.namespace_is_empty(ns)
        {
            self.remove_now(&gr, &key, obj);
        }
    }

    /// DELETE of one object.
    pub(crate) fn delete(
        &mut self,
        loc: &Location<'_>,
        name: &str,
        pre: &Preconditions,
    ) -> Result<Deleted, ApiError> {
        let gr = loc.rt.storage_resource();
        let key = loc.key(name);
        let old = self
            .objects
            .get(&gr)
            .and_then(|c| c.get(&key))
            .cloned()
            .ok_or_else(|| loc.not_found(name))?;
        if let Some(uid) = &pre.uid {
            let actual = meta_str(&old, "uid").unwrap_or_default();
            if uid != actual {
                return Err(ApiError::Conflict {
                    resource: gr,
                    name: name.to_owned(),
                    message: format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"),
                });
            }
        }
        if pre
            .resource_version
            .as_deref()
            .is_some_and(|rv| Some(rv) != meta_str(&old, "resourceVersion"))
        {
            return Err(conflict(loc, name));
        }

        if is(&gr, NAMESPACES) {
            if PROTECTED_NAMESPACES.contains(&name) {
                return Err(ApiError::Forbidden(format!(
                    "namespaces {name:?} is forbidden: this namespace may not be deleted"
                )));
            }
            // Like the real server, the answer is the namespace in its Terminating state,
            // even when it is already gone because it was empty.
            let terminating = self.mark_terminating(&gr, &key, old);
            self.delete_namespace_contents(name);
            self.finish_namespace_if_empty(name);
            return Ok(Deleted {
                object: loc.present(terminating),
                removed: false,
            });
        }

        if meta::finalizers(&old).is_empty() {
            let obj = self.remove_now(&gr, &key, old);
            Ok(Deleted {
                object: loc.present(obj),
                removed: true,
            })
        } else {
            let obj = self.mark_terminating(&gr, &key, old);
            Ok(Deleted {
                object: loc.present(obj),
                removed: false,
            })
        }
    }

    fn delete_namespace_contents(&mut self, ns: &str) {
        let contents: Vec<(GroupResource, ObjectKey, Value)> = self
            .objects
            .iter()
            .flat_map(|(gr, c)| {
                c.iter()
                    .filter(|(k, _)| k.namespace == ns)
                    .map(|(k, v)| (gr.clone(), k.clone(), v.clone()))
            })
            .collect();
        for (gr, key, obj) in contents {
            if meta::finalizers(&obj).is_empty() {
                self.remove_now(&gr, &key, obj);
            } else {
                self.mark_terminating(&gr, &key, obj);
            }
        }
    }
}
