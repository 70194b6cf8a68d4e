//! The simulator's records of connectors, versions and background jobs.
//!
//! Each record serializes to exactly the documented JSON object, keys in the documented
//! order (SPEC §4; the field order of these structs *is* the key order, and `config`
//! objects keep their own order because the crate enables the `preserve_order` feature of `serde_json`).
//! Simulator-only bookkeeping (a pending transition, a remembered prod executable) sits in
//! `#[serde(skip)]` fields and never reaches the wire.

use serde::{Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use crate::cde::models::VersionState;

/// Runtime environment every simulated version uses (the only one the docs name).
pub const RUNTIME_ENVIRONMENT: &str = "bin-docker-wrapper";

/// A connector with all of its versions, as `GET /connectors/{publicId}` shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SimConnector {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub connector_type: String,
    pub name: String,
    pub description: Option<String>,
    pub readme: Option<String>,
    pub flow: String,
    pub main_version_number: Option<u32>,
    pub owner: Uuid,
    pub integrator: Uuid,
    pub versions: Vec<SimVersion>,
}

impl SimConnector {
    /// The version a `{connectorVersion}` path segment names: a major number, `latest`
    /// (the highest major) or `main` (`main-version-number`, absent when that is null).
    pub fn resolve_mut(&mut self, selector: &str) -> Option<&mut SimVersion> {
        let major = match selector {
            "latest" => self.versions.iter().map(|v| v.major).max()?,
            "main" => self.main_version_number?,
            digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().ok()?
            }
            _ => return None,
        };
        self.version_mut(major)
    }

    /// The version with this major number.
    pub fn version_mut(&mut self, major: u32) -> Option<&mut SimVersion> {
        self.versions.iter_mut().find(|v| v.major == major)
    }
}

/// One connector version: the documented object plus the simulator's bookkeeping.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SimVersion {
    pub name: String,
    pub description: Option<String>,
    pub readme: Option<String>,
    pub version: String,
    pub logo: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    #[serde(serialize_with = "state_as_str")]
    pub state: VersionState,
    pub config: Value,
    #[serde(rename = "platform_dev_reference")]
    pub dev: DevReference,
    #[serde(rename = "platform_prod_reference")]
    pub prod: ProdReference,
    #[serde(rename = "prod_config")]
    pub prod_config: Option<Value>,
    #[serde(rename = "dev_config")]
    pub dev_config: Option<Value>,

    /// The major number (the first part of `version`), kept as a number for lookups.
    #[serde(skip)]
    pub major: u32,
    /// Work that completes on its own after a delay; the version shows a transitional state
    /// until then.
    #[serde(skip)]
    pub pending: Option<PendingTransition>,
    /// The CDE-managed prod executable a migration rollback replaced with the legacy one, so
    /// a recreate or re-sync can put the same id back.
    #[serde(skip)]
    pub managed_prod_executable: Option<i64>,
}

impl SimVersion {
    /// `config.migration.legacy-executable`, when this is a migration version.
    pub fn legacy_executable(&self) -> Option<i64> {
        crate::cde::models::config::legacy_executable(&self.config)
    }

    /// Whether prod was ever synced: a backup exists or a prod platform connector does
    /// (SPEC §7.3 `prod_ever`; the rollback precondition).
    pub fn prod_ever(&self) -> bool {
        self.prod_config.is_some() || self.prod.platform_connector.is_some()
    }

    /// Whether the dev project and site both exist.
    pub fn has_dev_site(&self) -> bool {
        self.dev.project.is_some() && self.dev.site.is_some()
    }
}

fn state_as_str<S: Serializer>(state: &VersionState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

/// `platform_dev_reference` (SPEC §4.4), every key always present.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DevReference {
    pub account: Option<i64>,
    pub project: Option<i64>,
    pub executable: Option<i64>,
    pub platform_connector: Option<i64>,
    pub site: Option<i64>,
    pub site_processing_cluster: Option<i64>,
    /// Stays null even after an assignment, as in the documented example.
    pub assigned_to_site: Option<i64>,
    pub assigned_to_channel: Option<i64>,
    pub assigned_to_channel_site: Option<i64>,
    pub assigned_to_channel_site_destination: Option<i64>,
    pub runtime: Runtime,
}

/// `platform_prod_reference` (SPEC §4.5): its own shape, not a mirror of the dev one.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProdReference {
    pub executable: Option<i64>,
    pub platform_connector: Option<i64>,
    pub target_accounts: Vec<i64>,
    pub target_projects: Vec<i64>,
    pub target_sites: Vec<i64>,
    pub enabled_for_accounts: Vec<i64>,
    pub enabled_for_projects: Vec<i64>,
    pub enabled_for_sites: Vec<i64>,
    pub assigned_to_sites: Vec<i64>,
    pub released: bool,
    /// Only `null` has ever been documented.
    pub version: Option<Value>,
    pub runtime: Runtime,
}

/// `{environment, version}` of a dev or prod runtime.
#[derive(Clone, Debug, Serialize)]
pub struct Runtime {
    pub environment: String,
    pub version: Option<String>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            environment: RUNTIME_ENVIRONMENT.to_owned(),
            version: None,
        }
    }
}

/// Work started by a call that the version finishes on its own once `due` has passed.
#[derive(Clone, Debug)]
pub struct PendingTransition {
    pub due: tokio::time::Instant,
    /// Wall-clock time of `due`, written to `updated-at` on completion.
    pub due_wall: jiff::Timestamp,
    pub work: PendingWork,
}

/// What a transitional state is waiting to finish.
#[derive(Clone, Debug)]
pub enum PendingWork {
    /// Create/update on the platform (`synchronizing-to-dev`). `config` is the configuration
    /// at the time of the call; it becomes `dev_config`. `then` is the stable state to return
    /// to (`synchronized-to-prod` stays where it was).
    PublishToDev { config: Value, then: VersionState },
    /// First sync or re-sync to prod; `config` becomes `prod_config`.
    SyncToProd { config: Value },
    /// A build started by the simulator's build hook.
    Build,
}

/// A background job ("state" in CDE terms, SPEC §4.7).
#[derive(Clone, Debug, Serialize)]
pub struct SimJob {
    pub id: Uuid,
    pub status: JobStatus,
    pub name: String,
    pub owner: Uuid,
    pub created: String,
    pub config: Value,
    /// `[]` while pending or failed, `{"site": …}` once done.
    pub data: Value,

    /// When the job finishes, and how.
    #[serde(skip)]
    pub completion: Option<JobCompletion>,
}

/// A background job's status as the CDE spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    Pending,
    Done,
    Failed,
}

/// The pending end of a dev-site job.
#[derive(Clone, Debug)]
pub struct JobCompletion {
    pub due: tokio::time::Instant,
    pub connector: Uuid,
    pub major: u32,
    /// Fault injection: the job ends `failed` and creates nothing.
    pub fail: bool,
}

/// Allocator of the integer ids of platform objects. Each kind counts up from its own base
/// (bases as in the fixtures, so ids read like the documented examples) and never reuses an
/// id the seed already holds.
#[derive(Clone, Debug)]
pub struct PlatformIds {
    /// The next id to hand out, per kind of platform object.
    pub account: i64,
    pub project: i64,
    pub site: i64,
    pub executable: i64,
    pub platform_connector: i64,
}

impl Default for PlatformIds {
    fn default() -> Self {
        Self {
            account: 5101,
            project: 7201,
            site: 930_301,
            executable: 6101,
            platform_connector: 4401,
        }
    }
}

impl PlatformIds {
    fn take(counter: &mut i64) -> i64 {
        let id = *counter;
        *counter += 1;
        id
    }

    pub fn new_account(&mut self) -> i64 {
        Self::take(&mut self.account)
    }

    pub fn new_project(&mut self) -> i64 {
        Self::take(&mut self.project)
    }

    pub fn new_site(&mut self) -> i64 {
        Self::take(&mut self.site)
    }

    pub fn new_executable(&mut self) -> i64 {
        Self::take(&mut self.executable)
    }

    pub fn new_platform_connector(&mut self) -> i64 {
        Self::take(&mut self.platform_connector)
    }
}

/// A timestamp as the CDE writes it: RFC 3339 with a numeric offset, never `Z`.
pub fn cde_timestamp(at: jiff::Timestamp) -> String {
    at.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}
