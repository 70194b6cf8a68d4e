//! The status computation: conditions per outcome, transition times, no-op stability.

use std::time::Duration;

use cde_operator::cde::error::CdeError;
use cde_operator::cde::models::VersionState;
use cde_operator::reconcile::observe::Observed;
use cde_operator::reconcile::operation::Operation;
use cde_operator::reconcile::plan::{Blocker, Pace, Step, WaitReason};
use cde_operator::reconcile::status::{next_status, Facts, Outcome};
use cde_operator::resource::{ConnectorVersionStatus, DesiredState, InvalidSpec};

fn observed() -> Observed {
    Observed {
        state: VersionState::SynchronizedToProd,
        version: Some("1.0.3".into()),
        dev_site: true,
        dev_on_platform: true,
        dev_stale: false,
        prod_ever: true,
        prod_backup: true,
        prod_on_platform: true,
        prod_stale: false,
        legacy_executable: None,
        rolled_back: false,
        dev_platform_connector: Some(4417),
        prod_platform_connector: Some(4418),
        prod_executable: Some(6105),
        vcs_commit: Some("4f2c9e1".into()),
    }
}

fn facts<'a>(
    previous: &'a ConnectorVersionStatus,
    observed: Option<&'a Observed>,
    outcome: Outcome<'a>,
    now: &'a str,
) -> Facts<'a> {
    Facts {
        generation: 3,
        previous,
        desired: Some(DesiredState::Prod),
        observed,
        rollback_recorded: false,
        outcome,
        pending: None,
        last_operation: None,
        requested_at: None,
        interval: Duration::from_secs(600),
        now,
    }
}

fn cond<'a>(
    s: &'a ConnectorVersionStatus,
    t: &str,
) -> Option<&'a cde_operator::resource::Condition> {
    s.conditions.iter().find(|c| c.type_ == t)
}

#[test]
fn converged_is_ready_true_without_reconciling_or_stalled() {
    let prev = ConnectorVersionStatus::default();
    let o = observed();
    let s = next_status(&facts(
        &prev,
        Some(&o),
        Outcome::Planned(&Step::Converged),
        "T1",
    ));
    assert_eq!(s.observed_generation, 3);
    let ready = cond(&s, "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Converged")
    );
    assert!(
        ready.message.contains("1.0.3 is deployed on production"),
        "{}",
        ready.message
    );
    assert!(cond(&s, "Reconciling").is_none());
    assert!(cond(&s, "Stalled").is_none());
    assert_eq!(s.remote.unwrap().prod_executable, Some(6105));
}

#[test]
fn unchanged_situation_gives_an_identical_status_so_nothing_is_written() {
    let prev = ConnectorVersionStatus::default();
    let o = observed();
    let first = next_status(&facts(
        &prev,
        Some(&o),
        Outcome::Planned(&Step::Converged),
        "T1",
    ));
    let second = next_status(&facts(
        &first,
        Some(&o),
        Outcome::Planned(&Step::Converged),
        "T2",
    ));
    assert_eq!(first, second);
}

#[test]
fn transition_time_moves_only_when_the_condition_status_flips() {
    let prev = ConnectorVersionStatus::default();
    let o = observed();
    let busy = Step::Wait {
        why: WaitReason::RemoteBusy("resynchronizing-to-prod".into()),
        pace: Pace::Soon,
    };
    let s1 = next_status(&facts(&prev, Some(&o), Outcome::Planned(&busy), "T1"));
    let s2 = next_status(&facts(
        &s1,
        Some(&o),
        Outcome::Called {
            operation: Operation::SyncToProd,
            error: None,
        },
        "T2",
    ));
    assert_eq!(
        cond(&s2, "Ready").unwrap().last_transition_time,
        "T1",
        "Ready stayed False"
    );
    assert_eq!(cond(&s2, "Ready").unwrap().reason, "SyncToProd");
    let s3 = next_status(&facts(
        &s2,
        Some(&o),
        Outcome::Planned(&Step::Converged),
        "T3",
    ));
    assert_eq!(
        cond(&s3, "Ready").unwrap().last_transition_time,
        "T3",
        "Ready flipped to True"
    );
}

#[test]
fn waiting_for_build_is_not_ready_and_not_stalled() {
    let prev = ConnectorVersionStatus::default();
    let o = Observed {
        state: VersionState::Updated,
        ..observed()
    };
    let wait = Step::Wait {
        why: WaitReason::WaitingForBuild("updated".into()),
        pace: Pace::Interval,
    };
    let s = next_status(&facts(&prev, Some(&o), Outcome::Planned(&wait), "T1"));
    assert_eq!(cond(&s, "Ready").unwrap().status, "False");
    assert_eq!(cond(&s, "Ready").unwrap().reason, "WaitingForBuild");
    assert!(cond(&s, "Stalled").is_none());
    assert!(cond(&s, "Reconciling").is_none());
}

#[test]
fn blocked_rollback_is_stalled_with_the_api_message() {
    let prev = ConnectorVersionStatus::default();
    let o = observed();
    let step = Step::Blocked(Blocker::NotPreviouslySyncedToProd);
    let s = next_status(&facts(&prev, Some(&o), Outcome::Planned(&step), "T1"));
    let stalled = cond(&s, "Stalled").unwrap();
    assert_eq!(stalled.reason, "NotPreviouslySyncedToProd");
    assert!(stalled.message.contains(
        "Operation is only allowed for connectors that were previously synchronized to production"
    ));
}

#[test]
fn terminal_remote_error_stalls_and_retryable_one_reconciles() {
    let prev = ConnectorVersionStatus::default();
    let not_found = CdeError::ConnectorNotFound {
        message: "Connector not found.".into(),
    };
    let s = next_status(&facts(
        &prev,
        None,
        Outcome::ObserveFailed(&not_found),
        "T1",
    ));
    assert_eq!(cond(&s, "Stalled").unwrap().reason, "ConnectorNotFound");

    let server = CdeError::Server {
        status: 503,
        message: None,
    };
    let s = next_status(&facts(&prev, None, Outcome::ObserveFailed(&server), "T1"));
    assert!(cond(&s, "Stalled").is_none());
    assert_eq!(cond(&s, "Reconciling").unwrap().reason, "ServerError");
}

#[test]
fn a_failed_read_keeps_the_last_known_remote_view() {
    let prev = ConnectorVersionStatus::default();
    let o = observed();
    let s1 = next_status(&facts(
        &prev,
        Some(&o),
        Outcome::Planned(&Step::Converged),
        "T1",
    ));
    let e = CdeError::Transport {
        message: "connection reset".into(),
        timed_out: false,
    };
    let s2 = next_status(&facts(&s1, None, Outcome::ObserveFailed(&e), "T2"));
    assert_eq!(s2.remote, s1.remote);
}

#[test]
fn invalid_spec_and_suspend_are_reported_in_conditions() {
    let prev = ConnectorVersionStatus::default();
    let invalid = InvalidSpec(vec![
        "version 0 is not a major version number (1 or more)".into()
    ]);
    let s = next_status(&facts(&prev, None, Outcome::InvalidSpec(&invalid), "T1"));
    assert_eq!(cond(&s, "Stalled").unwrap().reason, "InvalidSpec");
    assert!(cond(&s, "Ready").unwrap().message.contains("version 0"));

    let s = next_status(&facts(&prev, None, Outcome::Suspended, "T1"));
    let ready = cond(&s, "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("Unknown", "Suspended")
    );
}

#[test]
fn the_requested_at_token_is_echoed_and_kept() {
    let prev = ConnectorVersionStatus::default();
    let o = observed();
    let mut f = facts(&prev, Some(&o), Outcome::Planned(&Step::Converged), "T1");
    f.requested_at = Some("2026-12-04T10:00:00Z");
    let s1 = next_status(&f);
    assert_eq!(
        s1.last_handled_reconcile_at.as_deref(),
        Some("2026-12-04T10:00:00Z")
    );
    let s2 = next_status(&facts(
        &s1,
        Some(&o),
        Outcome::Planned(&Step::Converged),
        "T2",
    ));
    assert_eq!(
        s2.last_handled_reconcile_at.as_deref(),
        Some("2026-12-04T10:00:00Z")
    );
}

#[test]
fn a_missing_secret_stalls_and_a_failed_read_of_one_keeps_reconciling() {
    let prev = ConnectorVersionStatus::default();
    let missing = Outcome::Credentials {
        message: "Secret team/cde-token was not found",
        transient: false,
    };
    let s = next_status(&facts(&prev, None, missing, "T1"));
    assert_eq!(
        cond(&s, "Stalled").unwrap().reason,
        "CredentialsUnavailable"
    );

    let hiccup = Outcome::Credentials {
        message: "reading Secret team/cde-token failed: connection reset",
        transient: true,
    };
    let s = next_status(&facts(&prev, None, hiccup, "T1"));
    assert!(cond(&s, "Stalled").is_none());
    assert_eq!(
        cond(&s, "Reconciling").unwrap().reason,
        "CredentialsUnavailable"
    );
}
