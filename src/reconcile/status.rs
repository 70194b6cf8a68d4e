//! Report: the whole status as a pure function of what this pass saw, decided and did.
//!
//! This is the one place that decides `Ready`, `Reconciling` and `Stalled` and moves
//! `observedGeneration`. Conditions follow the kstatus conventions Argo CD and Flux read:
//! `Ready=True` when converged; `Reconciling=True` while work is in flight; `Stalled=True`
//! when nothing will change without a human. A condition that does not hold is left out
//! (absent reads as False), and `lastTransitionTime` is carried over unless the condition's
//! status flips, so an unchanged situation produces a byte-identical status — which the
//! reconciler then does not write.

use std::time::Duration;

use crate::cde::error::CdeError;
use crate::resource::{
    Condition, ConnectorVersionStatus, DesiredState, InvalidSpec, LastOperation, PendingOperation,
    RemoteStatus,
};

use super::observe::Observed;
use super::operation::Operation;
use super::plan::{Step, WaitReason};

pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";

/// What happened in this pass, as far as conditions are concerned.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// The plan's step, when no call was made.
    Planned(&'a Step),
    /// A call was made; its result.
    Called {
        operation: Operation,
        error: Option<&'a CdeError>,
    },
    /// `spec.suspend` is true.
    Suspended,
    /// The spec does not validate.
    InvalidSpec(&'a InvalidSpec),
    /// Another, older object declares the same connector version.
    Conflict { winner: &'a str },
    /// The token could not be had: missing or unusable (`transient: false`), or the read of
    /// the Secret failed and is retried (`transient: true`).
    Credentials { message: &'a str, transient: bool },
    /// Reading the connector failed.
    ObserveFailed(&'a CdeError),
}

/// Everything the status is computed from.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub generation: i64,
    pub previous: &'a ConnectorVersionStatus,
    pub desired: Option<DesiredState>,
    pub observed: Option<&'a Observed>,
    /// The rollback is in effect as far as the operator's own record goes.
    pub rollback_recorded: bool,
    pub outcome: Outcome<'a>,
    pub pending: Option<&'a PendingOperation>,
    pub last_operation: Option<&'a LastOperation>,
    pub requested_at: Option<&'a str>,
    /// The object's drift re-check period, quoted in messages.
    pub interval: Duration,
    /// RFC 3339 timestamp for conditions that change now.
    pub now: &'a str,
}

/// Condition status values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn as_str(self) -> &'static str {
        match self {
            Truth::True => "True",
            Truth::False => "False",
            Truth::Unknown => "Unknown",
        }
    }
}

/// The three conditions before timestamps: Ready always, the other two only when true.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub ready: (Truth, String, String),
    pub reconciling: Option<(String, String)>,
    pub stalled: Option<(String, String)>,
}

impl Verdict {
    fn ready(reason: &str, message: String) -> Self {
        Self {
            ready: (Truth::True, reason.to_owned(), message),
            reconciling: None,
            stalled: None,
        }
    }

    fn progressing(reason: &str, message: String) -> Self {
        Self {
            ready: (Truth::False, reason.to_owned(), message.clone()),
            reconciling: Some((reason.to_owned(), message)),
            stalled: None,
        }
    }

    fn waiting(reason: &str, message: String) -> Self {
        Self {
            ready: (Truth::False, reason.to_owned(), message),
            reconciling: None,
            stalled: None,
        }
    }

    fn stalled(reason: &str, message: String) -> Self {
        Self {
            ready: (Truth::False, reason.to_owned(), message.clone()),
            reconciling: None,
            stalled: Some((reason.to_owned(), message)),
        }
    }

    /// Whether this verdict says Stalled (used to emit an Event on the transition).
    pub fn is_stalled(&self) -> bool {
        self.stalled.is_some()
    }
}

/// Decides the conditions for one pass.
pub fn verdict(facts: &Facts<'_>) -> Verdict {
    let remote_state = facts
        .observed
        .map_or_else(|| "unknown".to_owned(), |o| o.state.to_string());
    let version = facts
        .observed
        .and_then(|o| o.version.clone())
        .unwrap_or_else(|| "the version".to_owned());
    let interval = humantime::format_duration(facts.interval);

    match facts.outcome {
        Outcome::Suspended => Verdict {
            ready: (
                Truth::Unknown,
                "Suspended".to_owned(),
                "spec.suspend is true: the CDE API is not called".to_owned(),
            ),
            reconciling: None,
            stalled: None,
        },
        Outcome::InvalidSpec(e) => Verdict::stalled("InvalidSpec", e.to_string()),
        Outcome::Conflict { winner } => Verdict::stalled(
            "Conflict",
            format!("the same connector version is already declared by the older object {winner}; this object is ignored until that one is deleted or changed"),
        ),
        Outcome::Credentials { message, transient: true } => Verdict::progressing(
            "CredentialsUnavailable",
            format!("{message}; retrying with backoff"),
        ),
        Outcome::Credentials { message, transient: false } => {
            Verdict::stalled("CredentialsUnavailable", message.to_owned())
        }
        Outcome::ObserveFailed(e) => error_verdict(e, "reading the connector"),
        Outcome::Called { operation, error: Some(e) } if e.effect_unknown() => Verdict::progressing(
            e.reason(),
            format!("{operation}: {e}; the CDE may still have acted, so it is observed for up to two minutes before the call is made again"),
        ),
        Outcome::Called { operation, error: Some(e) } => error_verdict(e, operation.name()),
        Outcome::Called { operation, error: None } => Verdict::progressing(
            operation.reason(),
            format!("called {operation} ({}); waiting for the CDE API to show the effect", operation.describe()),
        ),
        Outcome::Planned(step) => match step {
            Step::Converged => Verdict::ready("Converged", converged_message(facts, &version, &remote_state)),
            // The reconciler turns a Call into Called; a Call reported as planned means the
            // call was not made in this pass (for example, the pending record could not be
            // written), so it is still in progress.
            Step::Call(op) => Verdict::progressing(op.reason(), format!("next: {op} ({})", op.describe())),
            Step::Wait { why, .. } => match why {
                WaitReason::RemoteBusy(state) => Verdict::progressing(
                    "RemoteBusy",
                    format!("the CDE reports {version} as {state}; waiting for it to finish"),
                ),
                WaitReason::WaitingForBuild(state) => Verdict::waiting(
                    "WaitingForBuild",
                    format!("{version} is {state}: it must be built in the CDE before it can be deployed; checked again every {interval}"),
                ),
                WaitReason::DevSiteJob => Verdict::progressing(
                    "WaitingForDevSite",
                    "the CDE is creating the dev project and site in the background".to_owned(),
                ),
                WaitReason::PendingOperation(op) => Verdict::progressing(
                    "PendingOperation",
                    format!("{op} was recorded as in flight and may still be running; observing before calling it again"),
                ),
            },
            Step::Blocked(b) => Verdict::stalled(b.reason(), b.message()),
        },
    }
}

fn converged_message(facts: &Facts<'_>, version: &str, remote_state: &str) -> String {
    match facts.desired {
        Some(DesiredState::Dev) => format!("{version} is deployed on dev ({remote_state})"),
        Some(DesiredState::Prod) => format!("{version} is deployed on production ({remote_state})"),
        Some(DesiredState::RolledBack) => {
            let legacy = facts
                .observed
                .and_then(|o| o.legacy_executable)
                .map_or_else(String::new, |id| format!(" {id}"));
            format!("production runs the legacy executable{legacy} instead of {version}")
        }
        None => format!("{version} is converged"),
    }
}

fn error_verdict(e: &CdeError, during: &str) -> Verdict {
    if e.is_retryable() {
        Verdict::progressing(e.reason(), format!("{during}: {e}; retrying with backoff"))
    } else {
        Verdict::stalled(e.reason(), format!("{during}: {e}"))
    }
}

/// The remote part of status, from the last observation.
pub fn remote_status(observed: &Observed, rollback_recorded: bool) -> RemoteStatus {
    RemoteStatus {
        state: Some(observed.state.to_string()),
        version: observed.version.clone(),
        dev_platform_connector: observed.dev_platform_connector,
        prod_platform_connector: observed.prod_platform_connector,
        prod_executable: observed.prod_executable,
        legacy_executable: observed.legacy_executable,
        prod_ever_synced: observed.prod_ever,
        rollback_in_effect: observed.legacy_executable.is_some()
            && (observed.rolled_back || rollback_recorded),
        vcs_commit: observed.vcs_commit.clone(),
    }
}

/// The complete next status.
pub fn next_status(facts: &Facts<'_>) -> ConnectorVersionStatus {
    let v = verdict(facts);
    let mut conditions = vec![condition(facts, READY, v.ready.0, &v.ready.1, &v.ready.2)];
    if let Some((reason, message)) = &v.reconciling {
        conditions.push(condition(facts, RECONCILING, Truth::True, reason, message));
    }
    if let Some((reason, message)) = &v.stalled {
        conditions.push(condition(facts, STALLED, Truth::True, reason, message));
    }

    ConnectorVersionStatus {
        observed_generation: facts.generation,
        conditions,
        // NB: when the GET failed, keep what was known rather than erasing it.
        remote: facts
            .observed
            .map(|o| remote_status(o, facts.rollback_recorded))
            .or_else(|| facts.previous.remote.clone()),
        pending_operation: facts.pending.cloned(),
        last_operation: facts.last_operation.cloned(),
        last_handled_reconcile_at: facts
            .requested_at
            .map(str::to_owned)
            .or_else(|| facts.previous.last_handled_reconcile_at.clone()),
    }
}

fn condition(
    facts: &Facts<'_>,
    type_: &str,
    truth: Truth,
    reason: &str,
    message: &str,
) -> Condition {
    let previous = facts.previous.conditions.iter().find(|c| c.type_ == type_);
    let last_transition_time = match previous {
        Some(p) if p.status == truth.as_str() => p.last_transition_time.clone(),
        _ => facts.now.to_owned(),
    };
    Condition {
        type_: type_.to_owned(),
        status: truth.as_str().to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        last_transition_time,
        observed_generation: Some(facts.generation),
    }
}

/// Whether `status` says Stalled.
pub fn is_stalled(status: &ConnectorVersionStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == STALLED && c.status == "True")
}
