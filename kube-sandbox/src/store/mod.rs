//! The object store: every object of every served type, one global revision
//! counter, the watch history, and the catalog of types (which changes when
//! CRDs are written).
//!
//! All state sits behind one mutex. Every operation is short and synchronous,
//! so a single lock keeps revisions, history and broadcast order identical
//! without any cross-structure invariants to maintain. Writes live in
//! [`write`] (create/update/patch/apply) and [`lifecycle`] (delete,
//! finalizers, namespace and CRD side effects), with patches and
//! server-side apply in [`patch`].

mod history;
mod lifecycle;
pub(crate) mod meta;
mod patch;
mod rules;
mod write;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::catalog::{Catalog, GroupResource, ResourceType};
use crate::error::ApiError;

pub(crate) use history::{Change, ChangeKind, INITIAL_REVISION};
pub(crate) use lifecycle::Preconditions;
pub(crate) use patch::PatchBody;

/// Where an object lives inside its collection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ObjectKey {
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

/// A collection as addressed by one request: the type, the API version the
/// client speaks, and the namespace (`None` for cluster-scoped types and for
/// all-namespaces lists and watches).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Location<'a> {
    pub rt: &'a ResourceType,
    pub version: &'a str,
    pub namespace: Option<&'a str>,
}

impl Location<'_> {
    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey {
            namespace: if self.rt.namespaced {
                self.namespace.unwrap_or_default().to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        }
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound {
            resource: self.rt.group_resource(),
            name: name.to_owned(),
        }
    }

    /// `obj` as the client's API version sees it.
    ///
    /// Limitation: versions of a CRD share storage without conversion; only
    /// `apiVersion` is rewritten.
    pub(crate) fn present(&self, mut obj: Value) -> Value {
        self.rt.to_view(&mut obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "apiVersion".into(),
                Value::String(self.rt.api_version(self.version)),
            );
            m.insert("kind".into(), Value::String(self.rt.kind.clone()));
        }
        obj
    }
}

pub(crate) type Collection = BTreeMap<ObjectKey, Value>;

pub(crate) struct State {
    revision: u64,
    catalog: Catalog,
    objects: BTreeMap<GroupResource, Collection>,
    history: history::History,
    changes: broadcast::Sender<Arc<Change>>,
}

/// Where a watch starts.
pub(crate) struct WatchStart {
    /// Current objects to send as synthetic ADDED events first (when starting
    /// from "now" or when initial events were requested).
    pub initial: Vec<Value>,
    /// Retained changes after the requested revision.
    pub replay: Vec<Arc<Change>>,
    /// Live changes; subscribed under the same lock, so nothing falls between
    /// `replay` and this.
    pub live: broadcast::Receiver<Arc<Change>>,
    /// The revision everything above reflects.
    pub revision: u64,
}

/// The shared store handle.
pub(crate) struct Store {
    state: Mutex<State>,
}

impl Store {
    /// A store with the built-in types and the `default` and `kube-system` namespaces.
    pub(crate) fn new(history_capacity: usize) -> Self {
        // Live-change buffer per watcher: a watcher that falls this far behind gets 410.
        let (changes, _) = broadcast::channel(4096);
        let store = Self {
            state: Mutex::new(State {
                revision: INITIAL_REVISION,
                catalog: Catalog::with_builtins(),
                objects: BTreeMap::new(),
                history: history::History::new(history_capacity),
                changes,
            }),
        };
        store.lock().bootstrap_namespaces();
        store
    }

    /// The state lock. A panic while holding it cannot leave the maps half
    /// written in a way later requests would misread (each write inserts a
    /// finished object), so a poisoned lock is used as is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn resolve(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.lock().catalog.lookup(group, version, plural).cloned()
    }

    pub(crate) fn catalog(&self) -> Catalog {
        self.lock().catalog.clone()
    }
}

impl State {
    /// A detached copy for `dryRun=All`: same objects, catalog and revision,
    /// its own change channel, so nothing done to it is stored or watched.
    pub(crate) fn detached(&self) -> State {
        State {
            revision: self.revision,
            catalog: self.catalog.clone(),
            objects: self.objects.clone(),
            history: self.history.clone(),
            changes: broadcast::channel(1).0,
        }
    }

    fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    fn collection(&mut self, gr: &GroupResource) -> &mut Collection {
        self.objects.entry(gr.clone()).or_default()
    }

    /// Records a committed change for history and live watchers.
    fn emit(
        &mut self,
        resource: GroupResource,
        namespace: &str,
        kind: ChangeKind,
        object: Value,
        previous: Option<Value>,
    ) {
        let change = Arc::new(Change {
            revision: self.revision,
            resource,
            namespace: namespace.to_owned(),
            kind,
            object,
            previous,
        });
        self.history.push(Arc::clone(&change));
        // No receivers is fine: nobody is watching.
        let _ = self.changes.send(change);
    }

    pub(crate) fn get(&self, loc: &Location<'_>, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&loc.rt.storage_resource())
            .and_then(|c| c.get(&loc.key(name)))
            .map(|o| loc.present(o.clone()))
            .ok_or_else(|| loc.not_found(name))
    }

    /// Objects of the collection in (namespace, name) order, after `after` when given.
    pub(crate) fn list(
        &self,
        loc: &Location<'_>,
        after: Option<&ObjectKey>,
    ) -> Vec<(ObjectKey, Value)> {
        let Some(collection) = self.objects.get(&loc.rt.storage_resource()) else {
            return Vec::new();
        };
        collection
            .iter()
            .filter(|(k, _)| !loc.rt.namespaced || loc.namespace.is_none_or(|ns| k.namespace == ns))
            .filter(|(k, _)| after.is_none_or(|a| *k > a))
            .map(|(k, o)| (k.clone(), loc.present(o.clone())))
            .collect()
    }

    /// Sets up a watch from `from` (`None`: from now, with synthetic ADDED
    /// events for current objects; `initial_events`: the same, whatever
    /// `from` says). Answers 410 Gone when the history no longer reaches
    /// back to `from`.
    pub(crate) fn watch(
        &self,
        loc: &Location<'_>,
        from: Option<u64>,
        initial_events: bool,
    ) -> Result<WatchStart, ApiError> {
        let gr = loc.rt.storage_resource();
        let (initial, replay) = match from {
            Some(rv) if !initial_events => {
                let replay = self.history.since(rv).ok_or_else(|| {
                    ApiError::Gone(format!(
                        "too old resource version: {rv} ({})",
                        self.history.floor()
                    ))
                })?;
                (
                    Vec::new(),
                    replay.into_iter().filter(|c| c.resource == gr).collect(),
                )
            }
            _ => (
                self.list(loc, None).into_iter().map(|(_, o)| o).collect(),
                Vec::new(),
            ),
        };
        Ok(WatchStart {
            initial,
            replay,
            live: self.changes.subscribe(),
            revision: self.revision,
        })
    }
}
