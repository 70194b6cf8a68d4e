//! The catalog of resource types the sandbox serves: the fixed built-ins plus
//! one entry per stored `CustomResourceDefinition`.
//!
//! The catalog answers "is `/apis/{group}/{version}/{plural}` a thing?" for the
//! router and discovery, and carries the per-type behaviour switches the store
//! needs (status subresource, generation tracking, unconditional updates).
//! It holds no objects; the store owns those.

mod builtin;
mod crd;
mod events;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

pub(crate) use crd::{accept_crd, resource_type_from_crd};

/// Identity of a stored collection: the API group (empty for the core group)
/// and the plural resource name. Versions share storage, so they are not part
/// of the identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group, `""` for the core (`/api/v1`) group.
    pub group: String,
    /// Plural resource name as it appears in URLs, e.g. `configmaps`.
    pub resource: String,
}

impl GroupResource {
    pub(crate) fn new(group: &str, resource: &str) -> Self {
        Self {
            group: group.to_owned(),
            resource: resource.to_owned(),
        }
    }
}

impl fmt::Display for GroupResource {
    /// Formats like the real server's qualified resource: `secrets`, `widgets.example.com`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// Where a type's objects live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Storage {
    /// In the type's own collection, as served.
    Own,
    /// In the core `v1` Events collection, converted on the way in and out
    /// (`events.k8s.io/v1` Events).
    CoreEvents,
}

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// Everything the sandbox knows about one served resource type.
#[derive(Clone, Debug)]
#[allow(clippy::struct_excessive_bools)] // Independent per-type switches, not states of one machine.
pub(crate) struct ResourceType {
    pub group: String,
    /// Served versions; the first one is the storage version.
    pub versions: Vec<String>,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    /// Whether `metadata.generation` is maintained (custom resources and CRDs).
    pub tracks_generation: bool,
    /// Whether PUT without `metadata.resourceVersion` is accepted (true for the
    /// core types, false for custom resources, as in the real server).
    pub unconditional_update: bool,
    /// Whether an immediate DELETE answers with the object (custom resources)
    /// or with a `Status` (built-ins).
    pub returns_deleted_object: bool,
    /// Printer columns of the storage version.
    pub printer_columns: Vec<PrinterColumn>,
    /// Served from a `CustomResourceDefinition` (as opposed to built into the server).
    pub custom: bool,
    /// `openAPIV3Schema` per version, used only to find list types for apply.
    pub schemas: BTreeMap<String, Value>,
    pub storage: Storage,
}

impl ResourceType {
    pub(crate) fn group_resource(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    /// The collection the objects are stored in (differs from
    /// [`ResourceType::group_resource`] only for converted views).
    pub(crate) fn storage_resource(&self) -> GroupResource {
        match self.storage {
            Storage::Own => self.group_resource(),
            Storage::CoreEvents => GroupResource::new("", "events"),
        }
    }

    /// `apiVersion` of stored objects.
    pub(crate) fn storage_api_version(&self) -> String {
        match self.storage {
            Storage::Own => self.api_version(self.storage_version()),
            Storage::CoreEvents => "v1".to_owned(),
        }
    }

    /// A stored object as this type serves it (`apiVersion`/`kind` are set by the caller).
    pub(crate) fn to_view(&self, obj: &mut Value) {
        if self.storage == Storage::CoreEvents {
            events::from_core(obj);
        }
    }

    /// A served-shape object as it is stored.
    pub(crate) fn to_storage(&self, obj: &mut Value) {
        if self.storage == Storage::CoreEvents {
            events::to_core(obj);
        }
    }

    pub(crate) fn storage_version(&self) -> &str {
        // Invariant: every constructor puts at least one version in the list.
        self.versions.first().map_or("v1", String::as_str)
    }

    pub(crate) fn serves(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v == version)
    }

    /// `apiVersion` string for `version` of this type: `v1` or `group/v1`.
    pub(crate) fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_owned()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// Verbs listed in discovery for the main resource.
    pub(crate) fn verbs() -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

/// The set of served types, keyed by group and plural.
#[derive(Clone, Debug)]
pub(crate) struct Catalog {
    types: BTreeMap<GroupResource, ResourceType>,
}

impl Catalog {
    /// A catalog with only the built-in types.
    pub(crate) fn with_builtins() -> Self {
        let types = builtin::types()
            .into_iter()
            .map(|t| (t.group_resource(), t))
            .collect();
        Self { types }
    }

    /// The type served at `group`/`version`/`plural`, if that version is served.
    pub(crate) fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&GroupResource::new(group, plural))
            .filter(|t| t.serves(version))
    }

    /// Adds or replaces a type; used when a CRD is stored.
    pub(crate) fn register(&mut self, rt: ResourceType) {
        self.types.insert(rt.group_resource(), rt);
    }

    pub(crate) fn unregister(&mut self, gr: &GroupResource) {
        self.types.remove(gr);
    }

    /// Groups other than core, each with its served versions (storage version first).
    pub(crate) fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in self.types.values().filter(|t| !t.group.is_empty()) {
            let versions = groups.entry(t.group.clone()).or_default();
            for v in &t.versions {
                if !versions.contains(v) {
                    versions.push(v.clone());
                }
            }
        }
        groups
    }

    /// Types served in `group`/`version`, for an `APIResourceList`.
    pub(crate) fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ResourceType> + 'a {
        self.types
            .values()
            .filter(move |t| t.group == group && t.serves(version))
    }
}
