//! Observe: turn one CDE version object into the signals the plan decides on.
//!
//! Pure: the GET happens in the reconciler; this module only reads the answer. The signals
//! follow the CDE SPEC's convergence section; where a signal rests on a convention of the
//! simulator rather than on documented behaviour, its doc says so.

use serde_json::Value;

use crate::cde::models::{config, Version, VersionState};

/// Top-level config keys ignored when comparing `config` with a snapshot: bookkeeping that
/// is not deployable configuration.
pub const DEFAULT_IGNORED_CONFIG_KEYS: &[&str] = &["update-progress"];

/// What the last GET says about the declared version, reduced to the facts the plan needs.
// NB: each flag is one independent signal of the CDE convergence procedure; an enum would
// hide which combinations the plan distinguishes.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub state: VersionState,
    /// Full version string, e.g. `2.0.1`.
    pub version: Option<String>,
    /// Dev project and site exist.
    pub dev_site: bool,
    /// The dev platform connector exists.
    pub dev_on_platform: bool,
    /// `dev_config` is missing or differs from `config`.
    pub dev_stale: bool,
    /// The version was synchronized to production at some point.
    pub prod_ever: bool,
    /// `prod_config` (the backup recreate re-applies) exists.
    pub prod_backup: bool,
    /// Prod executable and platform connector both exist.
    pub prod_on_platform: bool,
    /// `prod_config` differs from `config`.
    pub prod_stale: bool,
    /// `config.migration.legacy-executable`, for migration versions.
    pub legacy_executable: Option<i64>,
    /// Prod runs the legacy executable.
    ///
    /// NB: this rests on a convention of the simulator (a rollback points the prod executable
    /// at the legacy one). The live API shows no trace of a rollback, so against it this stays
    /// false and the reconciler relies on its own record of the rollback it issued.
    pub rolled_back: bool,
    pub dev_platform_connector: Option<i64>,
    pub prod_platform_connector: Option<i64>,
    pub prod_executable: Option<i64>,
    pub vcs_commit: Option<String>,
}

impl Observed {
    /// Asynchronous work is in flight remotely; mutations would be refused.
    pub fn busy(&self) -> bool {
        self.state.is_transitional()
    }

    /// Prod was backed up but its platform objects are gone.
    pub fn prod_missing(&self) -> bool {
        self.prod_backup && !self.prod_on_platform
    }
}

/// Derives the signals from one version object. `ignored_keys` are dropped from both sides
/// before configs are compared.
pub fn observe(version: &Version, ignored_keys: &[String]) -> Observed {
    let empty = Value::Null;
    let config = version.config.as_ref().unwrap_or(&empty);
    let dev = version.dev_reference.clone().unwrap_or_default();
    let prod = version.prod_reference.clone().unwrap_or_default();

    let differs = |snapshot: Option<&Value>| match snapshot {
        None | Some(Value::Null) => true,
        Some(snapshot) => !config::same(config, snapshot, ignored_keys),
    };
    let prod_backup = matches!(&version.prod_config, Some(v) if !v.is_null());
    let legacy_executable = config::legacy_executable(config);

    Observed {
        state: version
            .state
            .clone()
            .unwrap_or_else(|| VersionState::Other("unknown".to_owned())),
        version: version.version.clone(),
        dev_site: dev.project.is_some() && dev.site.is_some(),
        dev_on_platform: dev.platform_connector.is_some(),
        dev_stale: differs(version.dev_config.as_ref()),
        prod_ever: prod_backup || prod.platform_connector.is_some(),
        prod_backup,
        prod_on_platform: prod.executable.is_some() && prod.platform_connector.is_some(),
        prod_stale: prod_backup && differs(version.prod_config.as_ref()),
        legacy_executable,
        rolled_back: legacy_executable.is_some() && prod.executable == legacy_executable,
        dev_platform_connector: dev.platform_connector,
        prod_platform_connector: prod.platform_connector,
        prod_executable: prod.executable,
        vcs_commit: config::latest_commit(config).map(str::to_owned),
    }
}

/// The default ignore list as owned strings.
pub fn default_ignored_keys() -> Vec<String> {
    DEFAULT_IGNORED_CONFIG_KEYS
        .iter()
        .map(|k| (*k).to_owned())
        .collect()
}
