//! Seeds: the JSON format that fills the simulator with connectors and versions.
//!
//! A seed describes each version by its stable state and a few flags; the simulator derives
//! a consistent, complete version object from them (platform ids allocated, snapshots equal
//! to `config` where the fixtures have them). The format:
//!
//! ```text
//! {
//!   "connectors": [
//!     {
//!       "id": "0190f1c4-6d7e-7f80-9a1b-2c3d4e5f6a7b",  // required, UUID
//!       "type": "datasource",            // required: datasource, export, data-service, …
//!       "name": "Acme Legacy Feed Bridge", // required; versions copy it
//!       "description": null,             // optional (default null), copied to versions
//!       "readme": null,                  // optional (default null), copied to versions
//!       "flow": "migration",             // optional, default "default"
//!       "main-version-number": null,     // optional; what the `main` selector resolves to
//!       "owner": "…uuid…",               // optional, default a fixed owner
//!       "integrator": "…uuid…",          // optional, default the owner
//!       "versions": [
//!         {
//!           "major": 1,                  // required, >= 1
//!           "state": "synchronized-to-prod", // required: created, updated, built,
//!                                        //   synchronized-to-dev or synchronized-to-prod
//!           "version": "1.0.0",          // optional full version string, default "<major>.0.0"
//!           "dev-account": true,         // optional: true (allocate, default), false (none), or an id
//!           "dev-site": true,            // optional: dev project + site exist;
//!                                        //   default true when the version was synced to dev
//!           "prod-synced": true,         // optional: prod backup, prod ids and runtime exist;
//!                                        //   default true exactly for synchronized-to-prod
//!           "legacy-executable": 812,    // optional: a migration version (config.migration)
//!           "prod-platform-missing": false, // optional: prod executable and platform-connector
//!                                        //   null while prod_config is kept (needs prod-synced)
//!           "rolled-back": false,        // optional: prod executable = legacy executable
//!                                        //   (simulator convention; needs prod-synced and legacy)
//!           "config": { "individuals": [] }, // optional: merged over the generated config
//!           "created-at": "2025-03-04T09:15:00+01:00", // optional
//!           "updated-at": "2025-03-05T16:40:12+01:00"  // optional
//!         }
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! A version counts as synced to dev when its state is `synchronized-to-*` or it was synced to
//! prod (prod requires dev first); it then has a dev platform connector, a runtime version
//! and `dev_config` = `config`. Contradictory flags (a `synchronized-to-prod` version that is
//! not `prod-synced`, a dev site without a dev account, …) are refused with the reason.
//! `config` merges like the config hook: objects key by key, anything else (null included)
//! replaces.

use std::{collections::HashSet, path::Path};

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{
    template::{generated_config, merge},
    version::{DevReference, PlatformIds, ProdReference, Runtime, SimConnector, SimVersion},
    world::World,
};
use crate::cde::models::VersionState;

/// The owner of seeded connectors that name none (the fixtures' owner).
const DEFAULT_OWNER: Uuid = Uuid::from_u128(0x0190_f1a2_0000_7aaa_8bbb_1111_2222_3333);
const DEFAULT_TIMESTAMP: &str = "2025-03-04T09:15:00+01:00";

/// The content of a seed file (see the module documentation for the format).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Seed {
    pub connectors: Vec<SeedConnector>,
}

/// One connector of a seed.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SeedConnector {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub connector_type: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub readme: Option<String>,
    #[serde(default = "default_flow")]
    pub flow: String,
    #[serde(default)]
    pub main_version_number: Option<u32>,
    #[serde(default)]
    pub owner: Option<Uuid>,
    #[serde(default)]
    pub integrator: Option<Uuid>,
    pub versions: Vec<SeedVersion>,
}

fn default_flow() -> String {
    "default".to_owned()
}

/// One version of a seeded connector.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SeedVersion {
    pub major: u32,
    pub state: SeedState,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub dev_account: DevAccount,
    #[serde(default)]
    pub dev_site: Option<bool>,
    #[serde(default)]
    pub prod_synced: Option<bool>,
    #[serde(default)]
    pub legacy_executable: Option<i64>,
    #[serde(default)]
    pub prod_platform_missing: bool,
    #[serde(default)]
    pub rolled_back: bool,
    #[serde(default)]
    pub config: Option<Value>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The stable states a seed may put a version in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeedState {
    Created,
    Updated,
    Built,
    SynchronizedToDev,
    SynchronizedToProd,
}

impl SeedState {
    fn version_state(self) -> VersionState {
        match self {
            SeedState::Created => VersionState::Created,
            SeedState::Updated => VersionState::Updated,
            SeedState::Built => VersionState::Built,
            SeedState::SynchronizedToDev => VersionState::SynchronizedToDev,
            SeedState::SynchronizedToProd => VersionState::SynchronizedToProd,
        }
    }
}

/// `dev-account`: `true` allocates an id, `false` leaves it null, a number is used as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum DevAccount {
    Present(bool),
    Id(i64),
}

impl Default for DevAccount {
    fn default() -> Self {
        DevAccount::Present(true)
    }
}

/// A seed that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("seed does not match the seed format: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("connector {0} appears twice in the seed")]
    DuplicateConnector(Uuid),
    #[error("connector {connector}, version {major}: {reason}")]
    Version {
        connector: Uuid,
        major: u32,
        reason: &'static str,
    },
}

impl Seed {
    /// Parses a seed from JSON text.
    pub fn from_json(text: &str) -> Result<Self, SeedError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Reads and parses a seed file.
    pub fn from_file(path: &Path) -> Result<Self, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// The built-in demo seed (`src/sim/demo-seed.json`).
    ///
    /// # Panics
    ///
    /// Never: the embedded file is checked by a unit test.
    pub fn demo() -> Self {
        // NB: the embedded file is fixed at compile time and the unit test
        // `demo_seed_parses_and_loads` parses and loads it, so this cannot fail at run time.
        Self::from_json(include_str!("demo-seed.json")).expect("the embedded demo seed is valid")
    }

    /// Builds the simulator's world from this seed. `runtime_version` is what synced versions
    /// show as their runtime version.
    pub(crate) fn to_world(&self, runtime_version: &str) -> Result<World, SeedError> {
        let mut world = World::default();
        let mut seen = HashSet::new();
        for c in &self.connectors {
            if !seen.insert(c.id) {
                return Err(SeedError::DuplicateConnector(c.id));
            }
            for v in &c.versions {
                reserve_fixed_ids(&mut world.ids, v);
            }
        }

        for c in &self.connectors {
            let mut majors = HashSet::new();
            let mut versions = Vec::with_capacity(c.versions.len());
            for v in &c.versions {
                if !majors.insert(v.major) {
                    return Err(version_error(c, v, "the major version appears twice"));
                }
                versions.push(build_version(c, v, &mut world.ids, runtime_version)?);
            }
            let owner = c.owner.unwrap_or(DEFAULT_OWNER);
            let connector = SimConnector {
                id: c.id,
                connector_type: c.connector_type.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                readme: c.readme.clone(),
                flow: c.flow.clone(),
                main_version_number: c.main_version_number,
                owner,
                integrator: c.integrator.unwrap_or(owner),
                versions,
            };
            world.connectors.insert(c.id, connector);
        }
        Ok(world)
    }
}

/// Ids the seed fixes (accounts, legacy executables) must never be handed out again.
fn reserve_fixed_ids(ids: &mut PlatformIds, v: &SeedVersion) {
    if let DevAccount::Id(id) = v.dev_account {
        ids.account = ids.account.max(id + 1);
    }
    if let Some(id) = v.legacy_executable {
        ids.executable = ids.executable.max(id + 1);
    }
}

fn version_error(c: &SeedConnector, v: &SeedVersion, reason: &'static str) -> SeedError {
    SeedError::Version {
        connector: c.id,
        major: v.major,
        reason,
    }
}

/// What the flags of a seeded version add up to, checked for contradictions.
struct Shape {
    dev_synced: bool,
    dev_site: bool,
    prod_synced: bool,
}

fn shape(c: &SeedConnector, v: &SeedVersion) -> Result<Shape, SeedError> {
    let err = |reason| Err(version_error(c, v, reason));
    let prod_synced = v
        .prod_synced
        .unwrap_or(v.state == SeedState::SynchronizedToProd);
    let dev_synced = prod_synced
        || matches!(
            v.state,
            SeedState::SynchronizedToDev | SeedState::SynchronizedToProd
        );
    let dev_site = v.dev_site.unwrap_or(dev_synced);

    if v.major == 0 {
        return err("major versions start at 1");
    }
    if v.state == SeedState::SynchronizedToProd && !prod_synced {
        return err("a synchronized-to-prod version must be prod-synced");
    }
    if v.state == SeedState::Created && prod_synced {
        return err("a created version was never built, so it cannot have been synced to prod");
    }
    if dev_synced && !dev_site {
        return err("a version synced to dev has a dev site");
    }
    if dev_site && v.dev_account == DevAccount::Present(false) {
        return err("a dev site needs a dev account");
    }
    if v.prod_platform_missing && !prod_synced {
        return err("prod-platform-missing needs prod-synced");
    }
    if v.rolled_back && (v.legacy_executable.is_none() || !prod_synced) {
        return err("rolled-back needs legacy-executable and prod-synced");
    }
    if v.rolled_back && v.prod_platform_missing {
        return err("rolled-back and prod-platform-missing exclude each other");
    }
    if v.config.as_ref().is_some_and(|c| !c.is_object()) {
        return err("config must be an object");
    }
    if v.version
        .as_ref()
        .is_some_and(|s| !s.starts_with(&format!("{}.", v.major)))
    {
        return err("version must start with the major number and a dot");
    }
    Ok(Shape {
        dev_synced,
        dev_site,
        prod_synced,
    })
}

fn build_version(
    c: &SeedConnector,
    v: &SeedVersion,
    ids: &mut PlatformIds,
    runtime_version: &str,
) -> Result<SimVersion, SeedError> {
    let shape = shape(c, v)?;
    let built_once =
        shape.prod_synced || !matches!(v.state, SeedState::Created | SeedState::Updated);
    let commit = built_once.then(|| format!("{:032x}{:08x}", c.id.as_u128(), v.major));

    let mut config = generated_config(c, v, commit.as_deref());
    if let Some(patch) = &v.config {
        merge(&mut config, patch);
    }

    let mut dev = DevReference {
        account: match v.dev_account {
            DevAccount::Present(true) => Some(ids.new_account()),
            DevAccount::Present(false) => None,
            DevAccount::Id(id) => Some(id),
        },
        ..DevReference::default()
    };
    if shape.dev_site {
        dev.project = Some(ids.new_project());
        dev.site = Some(ids.new_site());
    }
    if shape.dev_synced {
        dev.platform_connector = Some(ids.new_platform_connector());
        dev.runtime.version = Some(runtime_version.to_owned());
    }

    let mut prod = ProdReference::default();
    let mut managed_prod_executable = None;
    if shape.prod_synced {
        prod.runtime = Runtime {
            version: Some(runtime_version.to_owned()),
            ..Runtime::default()
        };
        if !v.prod_platform_missing {
            let managed = ids.new_executable();
            if v.rolled_back {
                managed_prod_executable = Some(managed);
                prod.executable = v.legacy_executable;
            } else {
                prod.executable = Some(managed);
            }
            prod.platform_connector = Some(ids.new_platform_connector());
        }
    }

    let created_at = v
        .created_at
        .clone()
        .unwrap_or_else(|| DEFAULT_TIMESTAMP.to_owned());
    Ok(SimVersion {
        name: c.name.clone(),
        description: c.description.clone(),
        readme: c.readme.clone(),
        version: v
            .version
            .clone()
            .unwrap_or_else(|| format!("{}.0.0", v.major)),
        logo: None,
        updated_at: v.updated_at.clone().unwrap_or_else(|| created_at.clone()),
        created_at,
        deleted_at: None,
        state: v.state.version_state(),
        dev_config: shape.dev_synced.then(|| config.clone()),
        prod_config: shape.prod_synced.then(|| config.clone()),
        config,
        dev,
        prod,
        major: v.major,
        pending: None,
        managed_prod_executable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_seed_parses_and_loads() {
        let world = Seed::demo().to_world("3.1.0").unwrap();
        assert_eq!(world.connectors.len(), 5);
    }

    #[test]
    fn contradictory_flags_are_refused_with_the_reason() {
        let seed = Seed::from_json(
            r#"{"connectors":[{"id":"0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f","type":"datasource",
                "name":"X","versions":[{"major":1,"state":"synchronized-to-dev","rolled-back":true}]}]}"#,
        )
        .unwrap();
        let err = seed.to_world("3.1.0").unwrap_err();
        assert!(
            err.to_string()
                .contains("rolled-back needs legacy-executable"),
            "{err}"
        );
    }
}
