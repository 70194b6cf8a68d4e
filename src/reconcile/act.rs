//! Act: issue one remote mutation, guarded by an optimistically locked pending record.
//!
//! The pending record is written first; if the write loses the lock (another replica, or a
//! cache behind the server) no call is made. The call is issued exactly once, never retried
//! here, and its outcome is recorded in `lastOperation` — re-read and recorded again if the
//! object changed meanwhile, because a call that happened must not be forgotten.

use kube::{
    runtime::{
        controller::Action,
        events::{Event, EventType},
    },
    Resource,
};
use tracing::{info, warn};
use uuid::Uuid;

use crate::cde::{CdeError, Token};
use crate::resource::{Declaration, LastOperation, PendingOperation};

use super::{
    observe::Observed,
    operation::Operation,
    pipeline::{
        history_rollback, now, Pass, ReconcileError, OUTCOME_FAILED, OUTCOME_SUCCEEDED,
        OUTCOME_UNKNOWN,
    },
    plan::History,
    report::summarize,
    status::{Facts, Outcome},
};

/// How often the record of a call that happened is retried after losing the lock.
const RECORD_ATTEMPTS: usize = 3;

impl Pass<'_> {
    /// Act: record the call as pending (optimistically locked), issue it once, record how it
    /// ended, and report.
    pub(super) async fn call(
        &mut self,
        operation: Operation,
        declaration: &Declaration,
        observed: &Observed,
        history: &History,
        token: &Token,
    ) -> Result<Action, ReconcileError> {
        let pending = PendingOperation {
            name: operation.name().to_owned(),
            id: Uuid::new_v4().to_string(),
            started: now(),
            generation: self.generation,
        };
        let mut with_pending = self.previous.clone();
        with_pending.pending_operation = Some(pending.clone());
        // NB: this write is the lock. If another replica or a newer pass changed the object
        // since it was read, the write fails and no call is made.
        if self.write_status(&with_pending).await?.is_none() {
            return Ok(Action::requeue(self.ctx.settings.poll));
        }
        self.previous = with_pending;

        info!(operation = %operation, remote_state = %observed.state, "calling the CDE API");
        let result = self
            .ctx
            .cde
            .mutate(
                operation.endpoint(),
                declaration.connector,
                declaration.major,
                token,
            )
            .await;
        let finished = now();
        // NB: without an answer (or after a 5xx) the CDE may have acted. The pending record
        // stays, so the next passes observe for the grace window instead of calling again.
        let effect_unknown = result.as_ref().err().is_some_and(CdeError::effect_unknown);
        let last = LastOperation {
            name: operation.name().to_owned(),
            outcome: match &result {
                Ok(_) => OUTCOME_SUCCEEDED,
                Err(_) if effect_unknown => OUTCOME_UNKNOWN,
                Err(_) => OUTCOME_FAILED,
            }
            .to_owned(),
            message: match &result {
                Ok(o) => o.message.clone().unwrap_or_default(),
                Err(e) => e.to_string(),
            },
            finished: finished.clone(),
            generation: self.generation,
            job_id: result.as_ref().ok().and_then(|o| o.job_id.clone()),
        };
        self.publish_call_event(operation, result.as_ref().err())
            .await;

        let error = result.as_ref().err();
        let rollback_recorded = operation == Operation::MigrationRollback && error.is_none()
            || history_rollback(history);

        // NB: the call happened, so its record must land. If another writer changed the object
        // since the pending write, re-read it and record again on top of what is there.
        for _ in 0..RECORD_ATTEMPTS {
            let facts = Facts {
                desired: Some(declaration.desired),
                observed: Some(observed),
                rollback_recorded,
                interval: declaration.interval,
                pending: effect_unknown.then_some(&pending),
                last_operation: Some(&last),
                ..self.facts(Outcome::Called { operation, error }, &finished)
            };
            let summary = summarize(&facts);
            if self.report(summary).await?.is_some() {
                break;
            }
            self.reload().await?;
        }

        Ok(match error {
            None => {
                self.ctx.polls.reset(&self.key);
                Action::requeue(self.ctx.settings.poll)
            }
            Some(e) => self.after_error(e, declaration.interval),
        })
    }

    async fn publish_call_event(&self, operation: Operation, error: Option<&CdeError>) {
        let event = match error {
            None => Event {
                type_: EventType::Normal,
                reason: operation.reason().to_owned(),
                note: Some(format!("called {operation}: {}", operation.describe())),
                action: "CallCdeApi".to_owned(),
                secondary: None,
            },
            Some(e) => Event {
                type_: EventType::Warning,
                reason: format!("{}Failed", operation.reason()),
                note: Some(if e.effect_unknown() {
                    format!("{operation}: {e}; the CDE may still have acted")
                } else {
                    format!("{operation} failed: {e}")
                }),
                action: "CallCdeApi".to_owned(),
                secondary: None,
            },
        };
        self.publish(&event).await;
    }

    pub(super) async fn publish(&self, event: &Event) {
        if let Err(e) = self
            .ctx
            .recorder
            .publish(event, &self.obj.object_ref(&()))
            .await
        {
            warn!(error = %e, reason = %event.reason, "could not publish an Event");
        }
    }
}
