//! Plan: the pure decision of what to do next.
//!
//! `plan(desired, observed, history)` never touches the network or the clock; it reads what
//! the last GET showed and what the operator itself recorded (its last call, a call that may
//! still be in flight) and returns exactly one [`Step`]. Everything the operator does to the
//! CDE API is decided here, which is why the table in the tests covers every desired state
//! against every remote situation.
//!
//! The order of the CDE pipeline is fixed by the API: runtime sync, dev site, publish on the
//! platform, assign to the dev site, and only then production. A version that is not built
//! yet waits: building is a developer action this operator deliberately does not take.

use std::time::Duration;

use crate::cde::models::{JobStatus, VersionState};
use crate::resource::DesiredState;

use super::observe::Observed;
use super::operation::Operation;

/// How long a recorded in-flight call is trusted to still be running. Inside this window a
/// restarted operator re-observes instead of issuing the same call again.
pub const PENDING_GRACE: Duration = Duration::from_secs(120);

/// The message the CDE API answers a rollback of a never-prod-synced version with (documented);
/// reported as is so users can search for it.
pub const NOT_PREVIOUSLY_SYNCED_TO_PROD: &str =
    "Operation is only allowed for connectors that were previously synchronized to production";

/// The one thing to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The remote version is where the declaration wants it.
    Converged,
    /// Issue this mutation, then observe again soon.
    Call(Operation),
    /// Nothing to call now; look again later.
    Wait { why: WaitReason, pace: Pace },
    /// Progress needs a change by someone (the spec, the remote configuration, a build).
    Blocked(Blocker),
}

/// How soon to look again after a [`Step::Wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Remote work is in flight: seconds, with backoff.
    Soon,
    /// Someone else must act first: the object's interval.
    Interval,
}

/// Why the plan is waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// The remote version is in a transitional state.
    RemoteBusy(String),
    /// The version is `created`/`updated`: a build must happen first.
    WaitingForBuild(String),
    /// The dev site job started by the last call has not finished.
    DevSiteJob,
    /// A call recorded as pending may still be running (operator restart or a second replica).
    PendingOperation(Operation),
}

/// Why the plan cannot progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// `rolled-back` was declared for a version without a legacy executable.
    NotAMigrationVersion,
    /// `rolled-back` was declared for a version that never reached production.
    NotPreviouslySyncedToProd,
    /// The dev site job failed.
    DevSiteJobFailed,
    /// The last call succeeded but the signal that asked for it did not change.
    NoProgress(Operation),
}

impl Blocker {
    /// Condition reason (CamelCase).
    pub fn reason(&self) -> &'static str {
        match self {
            Blocker::NotAMigrationVersion => "NotAMigrationVersion",
            Blocker::NotPreviouslySyncedToProd => "NotPreviouslySyncedToProd",
            Blocker::DevSiteJobFailed => "DevSiteJobFailed",
            Blocker::NoProgress(_) => "NoProgress",
        }
    }

    /// Condition message: what is wrong and what would unblock it.
    pub fn message(&self) -> String {
        match self {
            Blocker::NotAMigrationVersion => "desiredState is rolled-back, but the version has no config.migration.legacy-executable: there is nothing to roll back to".to_owned(),
            Blocker::NotPreviouslySyncedToProd => format!("cannot roll back: {NOT_PREVIOUSLY_SYNCED_TO_PROD}"),
            Blocker::DevSiteJobFailed => "the CDE background job that creates the dev project and site failed; fix the dev account, then set the cde.productsup.com/requested-at annotation to retry".to_owned(),
            Blocker::NoProgress(op) => format!(
                "the last call ({op}: {}) succeeded but the CDE API still reports the condition that asked for it; it is tried again after the interval, or now when the cde.productsup.com/requested-at annotation changes",
                op.describe()
            ),
        }
    }
}

/// The operator's own record, read back from status, that the GET cannot show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The last call that succeeded.
    pub last_success: Option<LastCall>,
    /// Status of the dev site job of the last `ensure-dev-site`, when it was looked up.
    pub dev_site_job: Option<JobStatus>,
    /// A call recorded as about to be issued and never recorded as finished.
    pub pending: Option<PendingCall>,
    /// The user asked for a fresh attempt (a new requested-at token).
    pub retry_requested: bool,
    /// How long after a successful call the same call counts as a repeat (the object's
    /// interval): a call whose effect does not show is retried at most once per window.
    pub guard_window: Duration,
}

/// A successful call as recorded in `status.lastOperation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastCall {
    pub operation: Operation,
    /// Whether it was decided for the object's current generation.
    pub same_generation: bool,
    /// Time since it finished.
    pub age: Duration,
}

/// A call recorded in `status.pendingOperation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCall {
    pub operation: Operation,
    pub age: Duration,
}

impl History {
    fn last_was(&self, op: Operation) -> bool {
        self.last_success
            .as_ref()
            .is_some_and(|l| l.operation == op)
    }

    /// The progress guard: the same call again within the guard window, for the same
    /// generation, without the user asking for a retry, would only repeat a non-idempotent
    /// POST whose effect does not show. Outside the window the call is tried again, so
    /// drift that recurs later is still repaired.
    fn would_repeat(&self, op: Operation) -> bool {
        !self.retry_requested
            && self.last_success.as_ref().is_some_and(|l| {
                l.operation == op && l.same_generation && l.age < self.guard_window
            })
    }

    /// A rollback is in effect as far as the operator's own record goes. Needed because the
    /// live API does not show one.
    ///
    /// Limitation: only the last call is remembered, so a rollback done by someone else is
    /// not seen, and any later recorded call replaces the record.
    fn rollback_recorded(&self) -> bool {
        self.last_was(Operation::MigrationRollback)
    }
}

/// Decides the next step. See the module docs.
pub fn plan(desired: DesiredState, observed: &Observed, history: &History) -> Step {
    let step = decide(desired, observed, history);

    // NB: a pending record means the previous pass never saw its call finish (crash, restart,
    // or another replica). Inside the grace window, calling again could double a POST.
    if let (Step::Call(op), Some(pending)) = (&step, &history.pending) {
        if pending.operation == *op && pending.age < PENDING_GRACE {
            return Step::Wait {
                why: WaitReason::PendingOperation(*op),
                pace: Pace::Soon,
            };
        }
    }
    step
}

fn decide(desired: DesiredState, observed: &Observed, history: &History) -> Step {
    if observed.busy() {
        return Step::Wait {
            why: WaitReason::RemoteBusy(observed.state.to_string()),
            pace: Pace::Soon,
        };
    }
    match desired {
        DesiredState::Dev => dev_step(observed, history).unwrap_or(Step::Converged),
        DesiredState::Prod => prod_step(observed, history),
        DesiredState::RolledBack => rollback_step(observed, history),
    }
}

/// The next dev step, or `None` when dev is converged.
fn dev_step(observed: &Observed, history: &History) -> Option<Step> {
    match &observed.state {
        VersionState::Created | VersionState::Updated => Some(Step::Wait {
            why: WaitReason::WaitingForBuild(observed.state.to_string()),
            pace: Pace::Interval,
        }),

        // A fresh build: runtime sync, dev site, publish — in that order, remembered through
        // the last call because `built` does not change until publish.
        // Limitation: after a failed call the record is lost and the sequence starts again at
        // the runtime sync, which the CDE documents as a harmless refresh.
        VersionState::Built => Some(match history.last_success.as_ref().map(|l| l.operation) {
            Some(Operation::SyncRuntime) if observed.dev_site => {
                Step::Call(Operation::PublishToPlatform)
            }
            Some(Operation::SyncRuntime) => Step::Call(Operation::EnsureDevSite),
            Some(Operation::EnsureDevSite) => after_dev_site_call(observed, history),
            Some(Operation::PublishToPlatform)
                if history.would_repeat(Operation::PublishToPlatform) =>
            {
                Step::Blocked(Blocker::NoProgress(Operation::PublishToPlatform))
            }
            _ => Step::Call(Operation::SyncRuntime),
        }),

        VersionState::SynchronizedToDev | VersionState::SynchronizedToProd => {
            if !observed.dev_site {
                return Some(if history.last_was(Operation::EnsureDevSite) {
                    after_dev_site_call(observed, history)
                } else {
                    Step::Call(Operation::EnsureDevSite)
                });
            }
            if !observed.dev_on_platform || observed.dev_stale {
                return Some(guarded(Operation::PublishToPlatform, history));
            }
            // The assignment leaves no trace in the GET: it always follows a publish.
            if history.last_was(Operation::PublishToPlatform) {
                return Some(Step::Call(Operation::AssignToDevSite));
            }
            None
        }

        other => Some(Step::Wait {
            why: WaitReason::RemoteBusy(other.to_string()),
            pace: Pace::Soon,
        }),
    }
}

fn after_dev_site_call(observed: &Observed, history: &History) -> Step {
    if observed.dev_site {
        return Step::Call(Operation::PublishToPlatform);
    }
    match history.dev_site_job {
        Some(JobStatus::Failed) => Step::Blocked(Blocker::DevSiteJobFailed),
        Some(JobStatus::Done) if history.would_repeat(Operation::EnsureDevSite) => {
            Step::Blocked(Blocker::NoProgress(Operation::EnsureDevSite))
        }
        Some(JobStatus::Done) => Step::Call(Operation::EnsureDevSite),
        _ => Step::Wait {
            why: WaitReason::DevSiteJob,
            pace: Pace::Soon,
        },
    }
}

fn prod_step(observed: &Observed, history: &History) -> Step {
    let rolled_back = observed.rolled_back || history.rollback_recorded();

    // Restore from the backup first: it brings prod back without a build or a dev sync.
    // Limitation: a recreate the CDE refuses with the precondition message stalls (and is
    // retried each interval) instead of falling back to a new prod sync.
    if (rolled_back || observed.prod_missing()) && observed.prod_backup {
        return guarded(Operation::RecreateFromProdBackup, history);
    }

    // The CDE pipeline requires dev before prod.
    if let Some(step) = dev_step(observed, history) {
        return step;
    }

    if !observed.prod_ever
        || observed.state != VersionState::SynchronizedToProd
        || observed.prod_stale
        || rolled_back
    {
        return guarded(Operation::SyncToProd, history);
    }
    Step::Converged
}

fn rollback_step(observed: &Observed, history: &History) -> Step {
    if observed.legacy_executable.is_none() {
        return Step::Blocked(Blocker::NotAMigrationVersion);
    }
    if !observed.prod_ever {
        return Step::Blocked(Blocker::NotPreviouslySyncedToProd);
    }
    if observed.rolled_back || history.rollback_recorded() {
        return Step::Converged;
    }
    Step::Call(Operation::MigrationRollback)
}

fn guarded(op: Operation, history: &History) -> Step {
    if history.would_repeat(op) {
        Step::Blocked(Blocker::NoProgress(op))
    } else {
        Step::Call(op)
    }
}
