//! Typed views of CDE API bodies.
//!
//! Every field is optional and every list treats `null` as empty: the key set of the version
//! object is known from a single documented example, so the models must survive additions,
//! omissions and nulls. Unknown keys are ignored. Configuration objects (`config`,
//! `dev_config`, `prod_config`) are kept as raw JSON, because the operator compares them
//! structurally and must not lose keys it does not know.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use uuid::Uuid;

/// `null` or a missing key become the type's default (used for lists).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `{"message", "resource"?, "data"?}` — the single-object envelope.
#[derive(Clone, Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default = "Option::default")]
    pub data: Option<T>,
}

/// `{"message"}` — the body of message-only successes.
#[derive(Clone, Debug, Deserialize)]
pub struct MessageBody {
    #[serde(default)]
    pub message: Option<String>,
}

/// `{"data": [...], "metadata": {...}}` — a paged list.
#[derive(Clone, Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub data: Vec<T>,
    #[serde(default)]
    pub metadata: Option<PageMetadata>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PageMetadata {
    #[serde(default)]
    pub from: Option<u64>,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub total: Option<u64>,
    /// Type undocumented (only `null` seen).
    #[serde(default)]
    pub next: Option<Value>,
}

/// `{"message", "errors"}` — error bodies. `errors` is `[]` for business rules and an object
/// keyed by field for validation errors; 401/403/404 bodies carry only `message`.
#[derive(Clone, Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub errors: Option<Value>,
}

/// A connector with all of its versions (`GET /connectors/{publicId}`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Connector {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default, rename = "type")]
    pub connector_type: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub readme: Option<String>,
    #[serde(default)]
    pub flow: Option<String>,
    #[serde(default)]
    pub main_version_number: Option<i64>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub integrator: Option<String>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub versions: Vec<Version>,
}

impl Connector {
    /// The version whose full version string has the major part `major` (`"2.0.1"` for 2).
    pub fn version(&self, major: u32) -> Option<&Version> {
        self.versions.iter().find(|v| v.major() == Some(major))
    }
}

/// One connector version, with its platform references and config snapshots.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Version {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub readme: Option<String>,
    /// Full semver string, e.g. `1.0.0`.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub logo: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub deleted_at: Option<String>,
    #[serde(default)]
    pub state: Option<VersionState>,
    #[serde(default)]
    pub config: Option<Value>,
    #[serde(default, rename = "platform_dev_reference")]
    pub dev_reference: Option<DevReference>,
    #[serde(default, rename = "platform_prod_reference")]
    pub prod_reference: Option<ProdReference>,
    #[serde(default, rename = "prod_config")]
    pub prod_config: Option<Value>,
    #[serde(default, rename = "dev_config")]
    pub dev_config: Option<Value>,
}

impl Version {
    /// The major part of the version string, if it parses.
    pub fn major(&self) -> Option<u32> {
        self.version.as_deref()?.split('.').next()?.parse().ok()
    }
}

/// `platform_dev_reference`: integer ids of the dev-side platform objects.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DevReference {
    #[serde(default)]
    pub account: Option<i64>,
    #[serde(default)]
    pub project: Option<i64>,
    #[serde(default)]
    pub executable: Option<i64>,
    #[serde(default)]
    pub platform_connector: Option<i64>,
    #[serde(default)]
    pub site: Option<i64>,
    #[serde(default)]
    pub site_processing_cluster: Option<i64>,
    /// Stays null even right after an assignment: not proof of one.
    #[serde(default)]
    pub assigned_to_site: Option<i64>,
    #[serde(default)]
    pub runtime: Option<Runtime>,
}

/// `platform_prod_reference`: prod scope, grants and platform objects (its own shape).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProdReference {
    #[serde(default)]
    pub executable: Option<i64>,
    #[serde(default)]
    pub platform_connector: Option<i64>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub target_accounts: Vec<i64>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub target_projects: Vec<i64>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub target_sites: Vec<i64>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub enabled_for_accounts: Vec<i64>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub enabled_for_projects: Vec<i64>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub enabled_for_sites: Vec<i64>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub assigned_to_sites: Vec<i64>,
    #[serde(default)]
    pub released: Option<bool>,
    /// Only `null` has ever been seen; kept opaque.
    #[serde(default)]
    pub version: Option<Value>,
    #[serde(default)]
    pub runtime: Option<Runtime>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Runtime {
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

/// A version's `state`: an open enum, since the full set is not documented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionState {
    Created,
    Updating,
    Updated,
    Building,
    Built,
    SynchronizingToDev,
    SynchronizedToDev,
    SynchronizingToProd,
    SynchronizedToProd,
    ResynchronizingToProd,
    /// A value this client does not know; treated as busy.
    Other(String),
}

impl VersionState {
    pub fn as_str(&self) -> &str {
        match self {
            VersionState::Created => "created",
            VersionState::Updating => "updating",
            VersionState::Updated => "updated",
            VersionState::Building => "building",
            VersionState::Built => "built",
            VersionState::SynchronizingToDev => "synchronizing-to-dev",
            VersionState::SynchronizedToDev => "synchronized-to-dev",
            VersionState::SynchronizingToProd => "synchronizing-to-prod",
            VersionState::SynchronizedToProd => "synchronized-to-prod",
            VersionState::ResynchronizingToProd => "resynchronizing-to-prod",
            VersionState::Other(s) => s,
        }
    }

    /// Asynchronous work is in flight: any state whose verb ends in `-ing` (`updating`,
    /// `resynchronizing-to-prod`), and any state this client does not know.
    pub fn is_transitional(&self) -> bool {
        matches!(self, VersionState::Other(_))
            || self
                .as_str()
                .split('-')
                .next()
                .is_some_and(|verb| verb.ends_with("ing"))
    }
}

impl From<&str> for VersionState {
    fn from(s: &str) -> Self {
        match s {
            "created" => VersionState::Created,
            "updating" => VersionState::Updating,
            "updated" => VersionState::Updated,
            "building" => VersionState::Building,
            "built" => VersionState::Built,
            "synchronizing-to-dev" => VersionState::SynchronizingToDev,
            "synchronized-to-dev" => VersionState::SynchronizedToDev,
            "synchronizing-to-prod" => VersionState::SynchronizingToProd,
            "synchronized-to-prod" => VersionState::SynchronizedToProd,
            "resynchronizing-to-prod" => VersionState::ResynchronizingToProd,
            other => VersionState::Other(other.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for VersionState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(VersionState::from(s.as_str()))
    }
}

impl std::fmt::Display for VersionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A background job ("state" in CDE terms).
#[derive(Clone, Debug, Deserialize)]
pub struct Job {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<JobStatus>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub config: Option<Value>,
    #[serde(default)]
    pub data: Option<Value>,
}

/// A job's status: `pending`, `done`, `failed`, or something new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Done,
    Failed,
    Other(String),
}

impl<'de> Deserialize<'de> for JobStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "pending" => JobStatus::Pending,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            _ => JobStatus::Other(s),
        })
    }
}

/// The `data` of `POST V/platform-dev-site`: `{"state": {"uuid": …}}`.
#[derive(Clone, Debug, Deserialize)]
pub struct JobAccepted {
    #[serde(default)]
    pub state: Option<JobRef>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct JobRef {
    #[serde(default)]
    pub uuid: Option<String>,
}

/// `GET V/authentication-registrations` entries.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AuthenticationRegistration {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub fields: Vec<String>,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub additional_fields: Vec<String>,
}

/// Typed reads of a raw configuration object (`config`, `dev_config`, `prod_config`).
pub mod config {
    use serde_json::Value;

    /// `config.migration.legacy-executable`, when the version is a migration version.
    pub fn legacy_executable(config: &Value) -> Option<i64> {
        config.get("migration")?.get("legacy-executable")?.as_i64()
    }

    /// `config.vcs.latest-commit`, the commit the last build checked out.
    pub fn latest_commit(config: &Value) -> Option<&str> {
        config.get("vcs")?.get("latest-commit")?.as_str()
    }

    /// The config with the top-level keys in `ignore` removed, for structural comparison.
    pub fn normalized(config: &Value, ignore: &[String]) -> Value {
        match config {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| !ignore.iter().any(|i| i == *k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Whether two configs are equal once the ignored keys are removed from both.
    pub fn same(a: &Value, b: &Value, ignore: &[String]) -> bool {
        normalized(a, ignore) == normalized(b, ignore)
    }
}
