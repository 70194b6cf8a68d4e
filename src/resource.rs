//! The `ConnectorVersion` custom resource: what a user declares (spec) and what the operator
//! reports (status).
//!
//! The spec holds user intent only and is kept as the user wrote it; [`ConnectorVersionSpec::validate`]
//! turns it into a typed [`Declaration`] or explains what is wrong. The same invariants are
//! enforced at admission by the CRD's schema and CEL rules, but the operator checks them too:
//! a server that does not enforce the schema (the sandbox, or a CRD installed by hand) must not
//! make it call the CDE API with nonsense.
//!
//! NB: the spec fields are plain strings and integers on purpose. A typed field (a UUID, an
//! enum) would make one malformed object fail to decode, and kube's watcher would then fail
//! the whole list — one bad object would stop reconciliation of every object.

use std::{fmt, time::Duration};

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// API group of the resource.
pub const GROUP: &str = "cde.productsup.com";
/// Annotation that forces a reconcile; its value is echoed to `status.lastHandledReconcileAt`.
pub const REQUESTED_AT_ANNOTATION: &str = "cde.productsup.com/requested-at";
/// Drift re-check period when `spec.interval` is not set.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);
/// The shortest accepted `spec.interval`; anything faster would hammer the CDE API.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest accepted `spec.interval` (one week): drift should be seen within days, and the
/// bound keeps every timer computation far from overflow.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The largest accepted major version.
pub const MAX_VERSION: i64 = 1_000_000;

/// Declares which deployment stage one major version of a CDE connector belongs in.
// NB: clippy reads the repeated `type_ = …` inside separate `printcolumn(…)` groups as one
// attribute given twice; they are different columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "cde.productsup.com",
    version = "v1alpha1",
    kind = "ConnectorVersion",
    namespaced,
    shortname = "cv",
    category = "cde",
    status = "ConnectorVersionStatus",
    derive = "PartialEq",
    doc = "Declares which deployment stage (dev, prod, rolled-back) one major version of a Productsup CDE connector belongs in.",
    printcolumn(name = "Desired", type_ = "string", json_path = ".spec.desiredState"),
    printcolumn(name = "Version", type_ = "integer", json_path = ".spec.version"),
    printcolumn(name = "Remote", type_ = "string", json_path = ".status.remote.state"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorVersionSpec {
    /// Public id (UUID) of the CDE connector.
    #[x_kube(validation = Rule::new("self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')").message("connectorId must be a UUID such as 0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f"))]
    pub connector_id: String,

    /// Major version number (1 for 1.0.5). `latest` and `main` are not accepted: a
    /// declaration pins one version.
    // Limitation: a non-integer here makes the object undecodable on a server that does not
    // enforce the schema (the sandbox); a real API server refuses it at admission.
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1000000").message("version must be a major version number from 1 to 1000000"))]
    pub version: i64,

    /// `dev`, `prod` or `rolled-back` (migration versions only).
    #[x_kube(validation = Rule::new("self in ['dev', 'prod', 'rolled-back']").message("desiredState must be one of dev, prod, rolled-back"))]
    pub desired_state: String,

    /// Where the CDE bearer token comes from. Optional when the operator has a default token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,

    /// When true, nothing is called on the CDE API and the status says Suspended.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,

    /// Drift re-check period, e.g. `10m`, `90s`, `1h` (default 10m, jittered by ±10%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(s|m|h))+$') && duration(self) >= duration('1s') && duration(self) <= duration('168h')").message("interval must be a duration from 1s to 168h, such as 30s, 10m or 1h"))]
    pub interval: Option<String>,
}

/// The CRD as YAML, exactly as `cde-operator crd` prints it and `crds/` stores it.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    use kube::CustomResourceExt;
    let header =
        "# Generated by `cde-operator crd`; do not edit. A test fails when this file is stale.\n";
    Ok(format!(
        "{header}{}",
        serde_yaml::to_string(&ConnectorVersion::crd())?
    ))
}

/// Reference to the Secret holding the CDE bearer token.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub secret_ref: SecretKeyRef,
}

/// A key of a Secret in the object's own namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

/// The deployment stage a version should be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DesiredState {
    Dev,
    Prod,
    /// The platform runs the legacy executable the migration version replaces.
    RolledBack,
}

impl DesiredState {
    pub fn as_str(self) -> &'static str {
        match self {
            DesiredState::Dev => "dev",
            DesiredState::Prod => "prod",
            DesiredState::RolledBack => "rolled-back",
        }
    }
}

impl fmt::Display for DesiredState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Declaration {
    pub connector: Uuid,
    pub major: u32,
    pub desired: DesiredState,
    pub secret: Option<SecretKeyRef>,
    pub suspend: bool,
    pub interval: Duration,
}

/// Every problem found in a spec, in field order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid spec: {}", .0.join("; "))]
pub struct InvalidSpec(pub Vec<String>);

impl ConnectorVersionSpec {
    /// Checks the invariants the CRD schema states and returns the typed declaration.
    ///
    /// All problems are reported at once, so a user fixes them in one edit.
    pub fn validate(&self) -> Result<Declaration, InvalidSpec> {
        let mut problems = Vec::new();

        let connector = Uuid::parse_str(&self.connector_id)
            .ok()
            .filter(|_| self.connector_id.len() == 36);
        if connector.is_none() {
            problems.push(format!("connectorId {:?} is not a UUID", self.connector_id));
        }

        let major = u32::try_from(self.version)
            .ok()
            .filter(|v| (1..=MAX_VERSION).contains(&i64::from(*v)));
        if major.is_none() {
            problems.push(format!(
                "version {} is not a major version number from 1 to {MAX_VERSION}",
                self.version
            ));
        }

        let desired = match self.desired_state.as_str() {
            "dev" => Some(DesiredState::Dev),
            "prod" => Some(DesiredState::Prod),
            "rolled-back" => Some(DesiredState::RolledBack),
            other => {
                problems.push(format!(
                    "desiredState {other:?} is not one of dev, prod, rolled-back"
                ));
                None
            }
        };

        let interval = match self.interval.as_deref() {
            None => Some(DEFAULT_INTERVAL),
            Some(text) => match humantime::parse_duration(text) {
                Ok(d) if (MIN_INTERVAL..=MAX_INTERVAL).contains(&d) => Some(d),
                Ok(_) => {
                    problems.push(format!("interval {text:?} is not between 1s and 168h"));
                    None
                }
                Err(_) => {
                    problems.push(format!(
                        "interval {text:?} is not a duration such as 30s, 10m or 1h"
                    ));
                    None
                }
            },
        };

        if let Some(c) = &self.credentials {
            if c.secret_ref.name.is_empty() || c.secret_ref.key.is_empty() {
                problems.push("credentials.secretRef needs both name and key".to_owned());
            }
        }

        match (connector, major, desired, interval) {
            (Some(connector), Some(major), Some(desired), Some(interval))
                if problems.is_empty() =>
            {
                Ok(Declaration {
                    connector,
                    major,
                    desired,
                    secret: self.credentials.as_ref().map(|c| c.secret_ref.clone()),
                    suspend: self.suspend,
                    interval,
                })
            }
            _ => Err(InvalidSpec(problems)),
        }
    }
}

/// What the operator learned and decided. Written only by the operator.
///
/// NB: every field decodes leniently (defaults for missing keys): a status damaged by hand or
/// by a faulty server must not make the object undecodable, which would stall the watch of
/// every object.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorVersionStatus {
    /// The generation the status describes; -1 until the operator has looked at the object.
    #[serde(default = "never_observed")]
    pub observed_generation: i64,

    /// `Ready`, `Reconciling` and `Stalled`, in the `metav1.Condition` shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// What the last read of the CDE API showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteStatus>,

    /// A remote call that was about to be issued and has not been recorded as finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_operation: Option<PendingOperation>,

    /// The last remote call issued and how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<LastOperation>,

    /// The last handled value of the `cde.productsup.com/requested-at` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

fn never_observed() -> i64 {
    -1
}

/// A condition in the shape of `metav1.Condition`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    /// RFC 3339; moves only when `status` changes.
    #[serde(default)]
    pub last_transition_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The version as the CDE API last reported it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStatus {
    /// Remote state, e.g. `synchronized-to-prod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Full version string, e.g. `2.0.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_platform_connector: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prod_platform_connector: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prod_executable: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_executable: Option<i64>,
    /// Whether the version was ever synchronized to production.
    #[serde(default)]
    pub prod_ever_synced: bool,
    /// Whether a migration rollback is in effect.
    #[serde(default)]
    pub rollback_in_effect: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcs_commit: Option<String>,
}

/// A remote mutation about to be issued. Written (with optimistic locking) before the call
/// and cleared after it, so a restarted operator knows the call may already have happened.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PendingOperation {
    /// Endpoint name, e.g. `sync-prod`.
    #[serde(default)]
    pub name: String,
    /// Unique id of this attempt.
    #[serde(default)]
    pub id: String,
    /// RFC 3339.
    #[serde(default)]
    pub started: String,
    /// The generation the call was decided for.
    #[serde(default)]
    pub generation: i64,
}

/// The last remote mutation and its outcome.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LastOperation {
    /// Endpoint name, e.g. `sync-prod`.
    #[serde(default)]
    pub name: String,
    /// `Succeeded` or `Failed`.
    #[serde(default)]
    pub outcome: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// RFC 3339.
    #[serde(default)]
    pub finished: String,
    #[serde(default)]
    pub generation: i64,
    /// Background job the call started, when it answers with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(connector: &str, version: i64, desired: &str) -> ConnectorVersionSpec {
        ConnectorVersionSpec {
            connector_id: connector.to_owned(),
            version,
            desired_state: desired.to_owned(),
            credentials: None,
            suspend: false,
            interval: None,
        }
    }

    #[test]
    fn valid_spec_becomes_a_typed_declaration() {
        let d = spec("0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f", 2, "rolled-back")
            .validate()
            .unwrap();
        assert_eq!(d.major, 2);
        assert_eq!(d.desired, DesiredState::RolledBack);
        assert_eq!(d.interval, DEFAULT_INTERVAL);
    }

    #[test]
    fn every_problem_of_an_invalid_spec_is_reported_at_once() {
        let mut s = spec("not-a-uuid", 0, "staging");
        s.interval = Some("soon".into());
        let err = s.validate().unwrap_err();
        assert_eq!(err.0.len(), 4, "{err}");
        assert!(err
            .to_string()
            .contains("connectorId \"not-a-uuid\" is not a UUID"));
        assert!(err.to_string().contains("desiredState \"staging\""));
    }

    #[test]
    fn version_beyond_the_bound_is_refused() {
        assert!(
            spec("0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f", 4_294_967_296, "dev")
                .validate()
                .is_err()
        );
        assert!(
            spec("0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f", MAX_VERSION, "dev")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn uuid_without_hyphens_is_refused_like_the_cel_rule_does() {
        assert!(spec("0190f1a23b4c7d5e8f607a8b9c0d1e2f", 1, "dev")
            .validate()
            .is_err());
    }

    #[test]
    fn interval_outside_one_second_to_a_week_is_refused() {
        let mut s = spec("0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f", 1, "dev");
        s.interval = Some("500ms".into());
        assert!(s.validate().is_err());
        s.interval = Some("18446744073709551615s".into());
        assert!(
            s.validate().is_err(),
            "an interval that would overflow timers"
        );
        s.interval = Some("169h".into());
        assert!(s.validate().is_err());
        s.interval = Some("90s".into());
        assert_eq!(s.validate().unwrap().interval, Duration::from_secs(90));
    }

    #[test]
    fn a_status_without_observed_generation_reads_as_never_observed() {
        let s: ConnectorVersionStatus = serde_json::from_str("{}").unwrap();
        assert_eq!(s.observed_generation, -1);
    }
}
