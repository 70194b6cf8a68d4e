//! The plan, as one table: every desired state against every remote situation of the CDE
//! convergence procedure, plus the operator's own record (last call, pending call).

use std::time::Duration;

use cde_operator::cde::models::{JobStatus, VersionState};
use cde_operator::reconcile::observe::Observed;
use cde_operator::reconcile::operation::Operation::{self, *};
use cde_operator::reconcile::plan::{
    plan, Blocker, History, LastCall, Pace, PendingCall, Step, WaitReason,
};
use cde_operator::resource::DesiredState::{self, Dev, Prod, RolledBack};

const WINDOW: Duration = Duration::from_secs(600);

fn remote(state: &str) -> Observed {
    Observed {
        state: VersionState::from(state),
        version: Some("1.0.0".into()),
        dev_site: false,
        dev_on_platform: false,
        dev_stale: true,
        prod_ever: false,
        prod_backup: false,
        prod_on_platform: false,
        prod_stale: false,
        legacy_executable: None,
        rolled_back: false,
        dev_platform_connector: None,
        prod_platform_connector: None,
        prod_executable: None,
        vcs_commit: None,
    }
}

/// A version converged on dev.
fn on_dev() -> Observed {
    Observed {
        dev_site: true,
        dev_on_platform: true,
        dev_stale: false,
        ..remote("synchronized-to-dev")
    }
}

/// A version converged on prod.
fn on_prod() -> Observed {
    Observed {
        prod_ever: true,
        prod_backup: true,
        prod_on_platform: true,
        ..Observed {
            state: VersionState::SynchronizedToProd,
            ..on_dev()
        }
    }
}

fn migration(o: Observed) -> Observed {
    Observed {
        legacy_executable: Some(812),
        ..o
    }
}

fn none() -> History {
    History {
        guard_window: WINDOW,
        ..History::default()
    }
}

/// The last successful call, `age` ago, for the current generation.
fn after(op: Operation, age_secs: u64) -> History {
    History {
        last_success: Some(LastCall {
            operation: op,
            same_generation: true,
            age: Duration::from_secs(age_secs),
        }),
        ..none()
    }
}

fn call(op: Operation) -> Step {
    Step::Call(op)
}

fn soon(why: WaitReason) -> Step {
    Step::Wait {
        why,
        pace: Pace::Soon,
    }
}

fn busy(state: &str) -> Step {
    soon(WaitReason::RemoteBusy(state.into()))
}

fn waiting_for_build(state: &str) -> Step {
    Step::Wait {
        why: WaitReason::WaitingForBuild(state.into()),
        pace: Pace::Interval,
    }
}

fn blocked(b: Blocker) -> Step {
    Step::Blocked(b)
}

#[test]
fn plan_table() {
    let job = |status: JobStatus| History {
        dev_site_job: Some(status),
        ..after(EnsureDevSite, 5)
    };
    let pending = |op: Operation, age_secs: u64| History {
        pending: Some(PendingCall {
            operation: op,
            age: Duration::from_secs(age_secs),
        }),
        ..none()
    };
    let rolled_back_by_convention = Observed {
        rolled_back: true,
        prod_executable: Some(812),
        ..migration(on_prod())
    };
    let prod_objects_gone = Observed {
        prod_on_platform: false,
        ..on_prod()
    };

    #[rustfmt::skip]
    let table: Vec<(&str, DesiredState, Observed, History, Step)> = vec![
        // Transitional remote states: wait, whatever is desired.
        ("updating waits",                   Dev,        remote("updating"),                 none(), busy("updating")),
        ("building waits",                   Prod,       remote("building"),                 none(), busy("building")),
        ("synchronizing to dev waits",       Dev,        remote("synchronizing-to-dev"),     none(), busy("synchronizing-to-dev")),
        ("synchronizing to prod waits",      Prod,       remote("synchronizing-to-prod"),    none(), busy("synchronizing-to-prod")),
        ("resynchronizing to prod waits",    RolledBack, migration(Observed { state: VersionState::ResynchronizingToProd, ..on_prod() }), none(), busy("resynchronizing-to-prod")),
        ("unknown remote state waits",       Dev,        remote("exploded"),                 none(), busy("exploded")),

        // Not built yet: waiting (Ready=False), not stalled, at the slow pace.
        ("created waits for a build (dev)",  Dev,        remote("created"),                  none(), waiting_for_build("created")),
        ("updated waits for a build (prod)", Prod,       remote("updated"),                  none(), waiting_for_build("updated")),
        ("prod version edited and not rebuilt waits", Prod, Observed { state: VersionState::Updated, ..on_prod() }, none(), waiting_for_build("updated")),

        // Dev, from a fresh build, in pipeline order.
        ("built: runtime sync first",                Dev, remote("built"),                                   none(),                      call(SyncRuntime)),
        ("built after runtime sync: dev site",       Dev, remote("built"),                                   after(SyncRuntime, 5),       call(EnsureDevSite)),
        ("built after runtime sync, site exists: publish", Dev, Observed { dev_site: true, ..remote("built") }, after(SyncRuntime, 5), call(PublishToPlatform)),
        ("dev site job still running: wait",         Dev, remote("built"),                                   job(JobStatus::Pending),     soon(WaitReason::DevSiteJob)),
        ("dev site job unknown yet: wait",           Dev, remote("built"),                                   after(EnsureDevSite, 5),     soon(WaitReason::DevSiteJob)),
        ("dev site job failed: stalled",             Dev, remote("built"),                                   job(JobStatus::Failed),      blocked(Blocker::DevSiteJobFailed)),
        ("dev site job done without a site: no progress", Dev, remote("built"),                              job(JobStatus::Done),        blocked(Blocker::NoProgress(EnsureDevSite))),
        ("dev site appeared: publish",               Dev, Observed { dev_site: true, ..remote("built") },    after(EnsureDevSite, 5),     call(PublishToPlatform)),
        ("publish left it built: no progress",       Dev, Observed { dev_site: true, ..remote("built") },    after(PublishToPlatform, 5), blocked(Blocker::NoProgress(PublishToPlatform))),
        ("rebuilt long after the last publish: runtime sync again", Dev, Observed { dev_site: true, ..remote("built") }, after(AssignToDevSite, 5), call(SyncRuntime)),

        // Dev, on a synced version.
        ("published: assign to the dev site",        Dev, on_dev(),                                          after(PublishToPlatform, 5), call(AssignToDevSite)),
        ("dev converged",                            Dev, on_dev(),                                          after(AssignToDevSite, 5),   Step::Converged),
        ("dev converged with no record",             Dev, on_dev(),                                          none(),                      Step::Converged),
        ("dev stale after a config change: publish", Dev, Observed { dev_stale: true, ..on_dev() },          after(AssignToDevSite, 5),   call(PublishToPlatform)),
        ("dev stale right after publish: no progress", Dev, Observed { dev_stale: true, ..on_dev() },        after(PublishToPlatform, 5), blocked(Blocker::NoProgress(PublishToPlatform))),
        ("dev stale, publish long ago: publish again", Dev, Observed { dev_stale: true, ..on_dev() },        after(PublishToPlatform, 3600), call(PublishToPlatform)),
        ("dev platform connector gone: publish",     Dev, Observed { dev_on_platform: false, ..on_dev() },   none(),                      call(PublishToPlatform)),
        ("dev site gone: ensure it",                 Dev, Observed { dev_site: false, ..on_dev() },          none(),                      call(EnsureDevSite)),
        ("prod version desired on dev is converged", Dev, on_prod(),                                         none(),                      Step::Converged),

        // Prod.
        ("prod: dev first from a fresh build",       Prod, remote("built"),                                  none(),                      call(SyncRuntime)),
        ("prod: dev first when dev is stale",        Prod, Observed { dev_stale: true, ..on_dev() },         none(),                      call(PublishToPlatform)),
        ("prod: assign before prod",                 Prod, on_dev(),                                         after(PublishToPlatform, 5), call(AssignToDevSite)),
        ("prod: first sync to prod",                 Prod, on_dev(),                                         after(AssignToDevSite, 5),   call(SyncToProd)),
        ("prod converged",                           Prod, on_prod(),                                        after(SyncToProd, 5),        Step::Converged),
        ("prod config stale: re-sync",               Prod, Observed { prod_stale: true, ..on_prod() },       after(AssignToDevSite, 5),   call(SyncToProd)),
        ("prod config stale right after a sync: no progress", Prod, Observed { prod_stale: true, ..on_prod() }, after(SyncToProd, 5),  blocked(Blocker::NoProgress(SyncToProd))),
        ("prod platform objects gone: recreate",     Prod, prod_objects_gone.clone(),                        after(SyncToProd, 5),        call(RecreateFromProdBackup)),
        ("prod objects gone again much later: recreate again", Prod, prod_objects_gone.clone(),              after(RecreateFromProdBackup, 3600), call(RecreateFromProdBackup)),
        ("prod objects still gone right after recreate: no progress", Prod, prod_objects_gone,               after(RecreateFromProdBackup, 5), blocked(Blocker::NoProgress(RecreateFromProdBackup))),
        ("prod objects gone and dev stale: recreate first", Prod, Observed { prod_on_platform: false, dev_stale: true, ..on_prod() }, none(), call(RecreateFromProdBackup)),
        ("rolled back (seen), prod desired: recreate",   Prod, rolled_back_by_convention.clone(),            after(AssignToDevSite, 5),   call(RecreateFromProdBackup)),
        ("rolled back (recorded), prod desired: recreate", Prod, migration(on_prod()),                       after(MigrationRollback, 5), call(RecreateFromProdBackup)),
        ("rolled back without a backup: sync to prod",   Prod, Observed { prod_backup: false, ..rolled_back_by_convention.clone() }, none(), call(SyncToProd)),
        ("synced to dev after a prod sync: sync to prod", Prod, Observed { prod_ever: true, prod_backup: true, prod_on_platform: true, ..on_dev() }, none(), call(SyncToProd)),

        // Rolled back.
        ("rolled-back without a legacy executable: stalled", RolledBack, on_prod(),                          none(),                      blocked(Blocker::NotAMigrationVersion)),
        ("rolled-back, never prod-synced: stalled",  RolledBack, migration(on_dev()),                        none(),                      blocked(Blocker::NotPreviouslySyncedToProd)),
        ("rolled-back, never prod-synced, not built: stalled", RolledBack, migration(remote("updated")),     none(),                      blocked(Blocker::NotPreviouslySyncedToProd)),
        ("rolled-back: roll back",                   RolledBack, migration(on_prod()),                       none(),                      call(MigrationRollback)),
        ("rolled-back with only a prod connector: roll back", RolledBack, migration(Observed { prod_backup: false, ..on_prod() }), none(), call(MigrationRollback)),
        ("rolled back (seen): converged",            RolledBack, rolled_back_by_convention,                  none(),                      Step::Converged),
        ("rolled back (recorded): converged",        RolledBack, migration(on_prod()),                       after(MigrationRollback, 5), Step::Converged),
        ("recreated after a rollback, rolled-back again: roll back", RolledBack, migration(on_prod()),       after(RecreateFromProdBackup, 5), call(MigrationRollback)),

        // A call recorded as pending may still be in flight.
        ("pending same call inside the grace window: wait", Prod, on_dev(),                                  pending(SyncToProd, 10),     soon(WaitReason::PendingOperation(SyncToProd))),
        ("pending same call past the grace window: call",   Prod, on_dev(),                                  pending(SyncToProd, 600),    call(SyncToProd)),
        ("pending call of another kind: call",       RolledBack, migration(on_prod()),                       pending(RecreateFromProdBackup, 10), call(MigrationRollback)),
    ];

    let mut failures = Vec::new();
    for (name, desired, observed, history, expected) in table {
        let got = plan(desired, &observed, &history);
        if got != expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_manual_retry_lifts_the_progress_guard() {
    let history = History {
        retry_requested: true,
        ..after(SyncToProd, 5)
    };
    let observed = Observed {
        prod_stale: true,
        ..on_prod()
    };
    assert_eq!(plan(Prod, &observed, &history), Step::Call(SyncToProd));
}

#[test]
fn a_new_generation_lifts_the_progress_guard() {
    let history = History {
        last_success: Some(LastCall {
            operation: SyncToProd,
            same_generation: false,
            age: Duration::from_secs(5),
        }),
        ..none()
    };
    let observed = Observed {
        prod_stale: true,
        ..on_prod()
    };
    assert_eq!(plan(Prod, &observed, &history), Step::Call(SyncToProd));
}
