//! The version state machine: what each action requires and what it changes.
//!
//! Every function here works on one [`SimVersion`] and either refuses with the documented
//! body or applies its effect. Guards follow SPEC §6 and §8 with OPEN-QUESTIONS Q5: any
//! mutation of a version in a transitional (`-ing`) state is refused with
//! `Transition is not allowed, entity is <state>.`, and so is an action whose precondition
//! state is not met. Work that takes time (create/update on the platform, sync to prod, a
//! build) puts the version in a transitional state with a [`PendingTransition`]; [`complete`]
//! finishes it once its time has come.
//!
//! Deliberately absent: any requirement that sync-runtime ran before the dev steps (Q5
//! assumes the pipeline order, but nothing observable records a runtime sync except
//! `runtime.version`, and a rebuilt version keeps it).

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::{
    refusal::Refusal,
    version::{cde_timestamp, PendingTransition, PendingWork, PlatformIds, SimVersion},
};
use crate::cde::models::VersionState;

/// The moment a call is handled, on both clocks: the monotonic one decides when pending work
/// is due, the wall clock is what `updated-at` shows.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub instant: tokio::time::Instant,
    pub wall: jiff::Timestamp,
}

impl Now {
    pub fn current() -> Self {
        Self {
            instant: tokio::time::Instant::now(),
            wall: jiff::Timestamp::now(),
        }
    }

    /// Pending work that becomes due `delay` from now.
    fn pending(self, delay: Duration, work: PendingWork) -> PendingTransition {
        // NB: a delay too large for the wall clock (centuries) cannot come from a sane
        // configuration; the wall time then just stays at now.
        let due_wall = jiff::SignedDuration::try_from(delay)
            .ok()
            .and_then(|d| self.wall.checked_add(d).ok())
            .unwrap_or(self.wall);
        PendingTransition {
            due: self.instant + delay,
            due_wall,
            work,
        }
    }
}

const BUILT_OR_SYNCED: [VersionState; 3] = [
    VersionState::Built,
    VersionState::SynchronizedToDev,
    VersionState::SynchronizedToProd,
];
const SYNCED: [VersionState; 2] = [
    VersionState::SynchronizedToDev,
    VersionState::SynchronizedToProd,
];

fn refuse_if_transitional(v: &SimVersion) -> Result<(), Refusal> {
    if v.state.is_transitional() {
        return Err(Refusal::WrongState(v.state.clone()));
    }
    Ok(())
}

fn require_state(v: &SimVersion, allowed: &[VersionState]) -> Result<(), Refusal> {
    refuse_if_transitional(v)?;
    if !allowed.contains(&v.state) {
        return Err(Refusal::WrongState(v.state.clone()));
    }
    Ok(())
}

fn touch(v: &mut SimVersion, now: Now) {
    v.updated_at = cde_timestamp(now.wall);
}

/// `POST V/sync-runtime`: needs a built or synced version; sets the dev runtime version when
/// it is still null (a refresh of a set one changes nothing visible).
pub fn sync_runtime(v: &mut SimVersion, runtime_version: &str, now: Now) -> Result<(), Refusal> {
    require_state(v, &BUILT_OR_SYNCED)?;
    v.dev
        .runtime
        .version
        .get_or_insert_with(|| runtime_version.to_owned());
    touch(v, now);
    Ok(())
}

/// The guard of `POST V/platform-dev-site`: a built or synced version with a dev account.
/// The effect (a background job) belongs to the world, which owns the jobs.
pub fn check_ensure_dev_site(v: &SimVersion) -> Result<(), Refusal> {
    require_state(v, &BUILT_OR_SYNCED)?;
    if v.dev.account.is_none() {
        return Err(Refusal::DevAccountMissing);
    }
    Ok(())
}

/// `POST V/platform` (create or update on the platform, the dev sync): needs a built or
/// synced version with a dev site. The version is `synchronizing-to-dev` for `delay`; then the
/// dev platform connector exists, `dev_config` is the config *as of this call*, and the state
/// is `synchronized-to-dev` (or back to `synchronized-to-prod` if it was there).
pub fn publish_to_platform(v: &mut SimVersion, now: Now, delay: Duration) -> Result<(), Refusal> {
    require_state(v, &BUILT_OR_SYNCED)?;
    if !v.has_dev_site() {
        return Err(Refusal::DevSiteMissing);
    }

    let then = if v.state == VersionState::SynchronizedToProd {
        VersionState::SynchronizedToProd
    } else {
        VersionState::SynchronizedToDev
    };
    let work = PendingWork::PublishToDev {
        config: v.config.clone(),
        then,
    };
    v.state = VersionState::SynchronizingToDev;
    v.pending = Some(now.pending(delay, work));
    touch(v, now);
    Ok(())
}

/// `POST V/assign-to-sites/dev`: needs a synced version whose platform connector and dev
/// site exist. Changes nothing visible: `assigned-to-site` stays null, as documented.
pub fn assign_to_dev_site(v: &mut SimVersion, now: Now) -> Result<(), Refusal> {
    require_state(v, &SYNCED)?;
    if !v.has_dev_site() {
        return Err(Refusal::DevSiteMissing);
    }
    if v.dev.platform_connector.is_none() {
        return Err(Refusal::NotOnDevPlatform);
    }
    touch(v, now);
    Ok(())
}

/// `POST V/sync-prod`: from `synchronized-to-dev` or `synchronized-to-prod`. A version that
/// was never in prod goes through `synchronizing-to-prod`, one that was through
/// `resynchronizing-to-prod`; either lasts `delay`.
pub fn sync_to_prod(v: &mut SimVersion, now: Now, delay: Duration) -> Result<(), Refusal> {
    require_state(v, &SYNCED)?;

    v.state = if v.prod_ever() {
        VersionState::ResynchronizingToProd
    } else {
        VersionState::SynchronizingToProd
    };
    let work = PendingWork::SyncToProd {
        config: v.config.clone(),
    };
    v.pending = Some(now.pending(delay, work));
    touch(v, now);
    Ok(())
}

/// `POST V/platform/recreate`: needs a prod backup (`prod_config`). Re-creates the prod
/// executable (the CDE-managed one, never the legacy one) and platform connector where they
/// are missing; `state` and `prod_config` stay as they are.
pub fn recreate_from_prod_backup(
    v: &mut SimVersion,
    ids: &mut PlatformIds,
    now: Now,
) -> Result<(), Refusal> {
    refuse_if_transitional(v)?;
    if v.prod_config.is_none() {
        return Err(Refusal::NeverSyncedToProd);
    }
    restore_managed_prod_objects(v, ids);
    touch(v, now);
    Ok(())
}

/// `POST V/migration/rollback`: needs `config.migration` and an earlier prod sync. Then the
/// **simulator convention**: the prod executable becomes the legacy executable; nothing else
/// changes. Rolling back twice is harmless.
pub fn migration_rollback(v: &mut SimVersion, now: Now) -> Result<(), Refusal> {
    refuse_if_transitional(v)?;
    let Some(legacy) = v.legacy_executable() else {
        return Err(Refusal::NotAMigration);
    };
    if !v.prod_ever() {
        return Err(Refusal::NeverSyncedToProd);
    }

    if let Some(current) = v.prod.executable.filter(|id| *id != legacy) {
        v.managed_prod_executable = Some(current);
    }
    v.prod.executable = Some(legacy);
    touch(v, now);
    Ok(())
}

/// Test hook: a build of any stable version, `building` for `delay`, then `built` with a new
/// `vcs.latest-commit`. Prod and dev references are left alone (OPEN-QUESTIONS Q6).
pub fn build(v: &mut SimVersion, now: Now, delay: Duration) -> Result<(), Refusal> {
    refuse_if_transitional(v)?;
    v.state = VersionState::Building;
    v.pending = Some(now.pending(delay, PendingWork::Build));
    touch(v, now);
    Ok(())
}

/// Finishes the version's pending work if it is due at `now`. Returns whether it did.
pub fn complete_if_due(
    v: &mut SimVersion,
    ids: &mut PlatformIds,
    now: tokio::time::Instant,
) -> bool {
    let Some(pending) = v.pending.take_if(|p| p.due <= now) else {
        return false;
    };
    match pending.work {
        PendingWork::PublishToDev { config, then } => {
            v.dev
                .platform_connector
                .get_or_insert_with(|| ids.new_platform_connector());
            v.dev_config = Some(config);
            v.state = then;
        }
        PendingWork::SyncToProd { config } => {
            v.prod_config = Some(config);
            restore_managed_prod_objects(v, ids);
            if v.prod.runtime.version.is_none() {
                v.prod.runtime.version.clone_from(&v.dev.runtime.version);
            }
            v.state = VersionState::SynchronizedToProd;
        }
        PendingWork::Build => {
            if let Some(Value::Object(vcs)) = v.config.get_mut("vcs") {
                vcs.insert("latest-commit".to_owned(), Value::String(fake_commit()));
            }
            v.state = VersionState::Built;
        }
    }
    v.updated_at = cde_timestamp(pending.due_wall);
    true
}

/// Puts the CDE-managed prod executable and the prod platform connector back: the id a
/// rollback set aside if there is one, a new id where an object is missing.
fn restore_managed_prod_objects(v: &mut SimVersion, ids: &mut PlatformIds) {
    let legacy = v.legacy_executable();
    if v.prod.executable.is_none() || v.prod.executable == legacy {
        let managed = v.managed_prod_executable.take();
        v.prod.executable = Some(managed.unwrap_or_else(|| ids.new_executable()));
    }
    v.prod
        .platform_connector
        .get_or_insert_with(|| ids.new_platform_connector());
}

/// A 40-hex-digit string shaped like a git commit sha.
pub fn fake_commit() -> String {
    let mut hex = Uuid::new_v4().simple().to_string();
    hex.push_str(&Uuid::new_v4().simple().to_string()[..8]);
    hex
}
