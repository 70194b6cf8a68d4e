//! One reconcile pass: validate → observe → plan, then [`super::act`] and [`super::report`].
//!
//! Early returns at the top handle what needs no remote call: deletion (the remote version is
//! left as it is), an invalid spec, suspension, a conflict with an older object, missing
//! credentials. Then one GET, the pure plan, at most one mutation, and one status write —
//! skipped when the status did not change, so a converged object costs one GET and no
//! Kubernetes write per interval.

use std::{sync::Arc, time::Duration};

use jiff::Timestamp;
use kube::{runtime::controller::Action, ResourceExt};
use tracing::{debug, warn, Instrument};

use crate::cde::{models::JobStatus, CdeError, Token};
use crate::resource::{
    ConnectorVersion, ConnectorVersionStatus, Declaration, REQUESTED_AT_ANNOTATION,
};

use super::{
    backoff::{after_failure, exponential, jittered},
    conflict::older_claimant,
    context::Context,
    credentials::{token_for, CredentialsError},
    observe::{observe, Observed},
    operation::Operation,
    plan::{plan, History, LastCall, Pace, PendingCall, Step},
    report::summarize,
    status::{Facts, Outcome},
};

/// What can make a pass fail outright (rather than be reported in status).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Writing status or reading the object's Secret failed at the Kubernetes API.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl ReconcileError {
    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Kube(_) => "KubernetesApi",
        }
    }
}

/// Entry point for the controller: one pass over one object.
pub async fn reconcile(
    obj: Arc<ConnectorVersion>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let span = tracing::info_span!(
        "reconcile",
        object = %format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()),
        connector = %obj.spec.connector_id,
        version = obj.spec.version,
    );
    let started = std::time::Instant::now();
    let result = Pass::new(&obj, &ctx).run().instrument(span).await;
    ctx.metrics.reconciled(started.elapsed());
    if let Err(e) = &result {
        ctx.metrics.failed(e.reason());
    }
    result
}

/// The controller's error policy: retry with per-object exponential backoff.
// NB: the signature is the one kube-runtime's Controller::run expects.
#[allow(clippy::needless_pass_by_value)]
pub fn error_policy(
    obj: Arc<ConnectorVersion>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let key = object_key(&obj);
    let streak = ctx.failures.bump(&key);
    let delay = exponential(ctx.settings.failure_base, streak, ctx.settings.failure_max);
    warn!(object = %key, error = %error, retry_in = ?delay, "reconcile failed; retrying");
    Action::requeue(delay)
}

fn object_key(obj: &ConnectorVersion) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Now, truncated to whole seconds (the precision of `metav1.Condition` times).
///
/// NB: truncated, never rounded: a time rounded up lies in the future, and an age computed
/// from it would be negative.
pub(super) fn now() -> String {
    let now = Timestamp::now();
    Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

/// Time since an RFC 3339 timestamp written by this operator: zero for a time in the future
/// (clock skew between replicas), and "very old" for one that does not parse.
fn age_since(rfc3339: &str) -> Duration {
    let Ok(then) = rfc3339.parse::<Timestamp>() else {
        return Duration::MAX;
    };
    Timestamp::now()
        .duration_since(then)
        .try_into()
        .unwrap_or(Duration::ZERO)
}

pub(super) struct Pass<'a> {
    pub(super) obj: &'a ConnectorVersion,
    pub(super) ctx: &'a Context,
    pub(super) key: String,
    pub(super) namespace: String,
    pub(super) generation: i64,
    pub(super) previous: ConnectorVersionStatus,
    pub(super) requested_at: Option<String>,
    /// The resourceVersion the next status write must match.
    pub(super) resource_version: Option<String>,
}

impl<'a> Pass<'a> {
    fn new(obj: &'a ConnectorVersion, ctx: &'a Context) -> Self {
        Self {
            obj,
            ctx,
            key: object_key(obj),
            namespace: obj.namespace().unwrap_or_default(),
            generation: obj.metadata.generation.unwrap_or(0),
            previous: obj.status.clone().unwrap_or_default(),
            requested_at: obj.annotations().get(REQUESTED_AT_ANNOTATION).cloned(),
            resource_version: obj.metadata.resource_version.clone(),
        }
    }

    pub(super) fn facts<'f>(&'f self, outcome: Outcome<'f>, now: &'f str) -> Facts<'f> {
        Facts {
            generation: self.generation,
            previous: &self.previous,
            desired: None,
            observed: None,
            rollback_recorded: false,
            outcome,
            pending: self.previous.pending_operation.as_ref(),
            last_operation: self.previous.last_operation.as_ref(),
            requested_at: self.requested_at.as_deref(),
            interval: crate::resource::DEFAULT_INTERVAL,
            now,
        }
    }

    async fn run(mut self) -> Result<Action, ReconcileError> {
        // Deletion orphans the remote version: nothing to clean up, nothing to call.
        if self.obj.metadata.deletion_timestamp.is_some() {
            self.ctx
                .metrics
                .forget(&self.namespace, &self.obj.name_any());
            return Ok(Action::await_change());
        }

        let declaration = match self.obj.spec.validate() {
            Ok(d) => d,
            Err(invalid) => {
                let now = now();
                let facts = self.facts(Outcome::InvalidSpec(&invalid), &now);
                let summary = summarize(&facts);
                return self.report(summary).await.map(|_| Action::await_change());
            }
        };
        let interval = declaration.interval;

        if declaration.suspend {
            let now = now();
            let mut facts = self.facts(Outcome::Suspended, &now);
            facts.interval = interval;
            let summary = summarize(&facts);
            return self.report(summary).await.map(|_| Action::await_change());
        }

        let cached = self.ctx.store.state();
        if let Some(winner) =
            older_claimant(self.obj, &declaration, cached.iter().map(AsRef::as_ref))
        {
            let now = now();
            let mut facts = self.facts(Outcome::Conflict { winner: &winner }, &now);
            facts.interval = interval;
            // Limitation: the loser is not woken when the winner goes away; it re-checks.
            let recheck = self.ctx.settings.recheck.min(interval);
            let summary = summarize(&facts);
            return self.report(summary).await.map(|_| Action::requeue(recheck));
        }

        // Limitation: Secrets are not watched. A rotated token is read on the next pass and a
        // missing Secret is re-checked after `recheck`.
        let token = match token_for(
            &self.ctx.kube,
            &self.namespace,
            declaration.secret.as_ref(),
            &self.ctx.default_token,
        )
        .await
        {
            Ok(t) => t,
            Err(e) => {
                let now = now();
                let message = e.to_string();
                // A failed read of an existing Secret is the API server's hiccup, not a
                // missing credential: retry it like any transient failure.
                let transient = matches!(e, CredentialsError::Read { .. });
                let mut facts = self.facts(
                    Outcome::Credentials {
                        message: &message,
                        transient,
                    },
                    &now,
                );
                facts.interval = interval;
                let summary = summarize(&facts);
                let again = if transient {
                    let streak = self.ctx.failures.bump(&self.key);
                    exponential(
                        self.ctx.settings.failure_base,
                        streak,
                        self.ctx.settings.failure_max,
                    )
                } else {
                    self.ctx.settings.recheck.min(interval)
                };
                return self.report(summary).await.map(|_| Action::requeue(again));
            }
        };

        self.converge(&declaration, &token).await
    }

    async fn converge(
        &mut self,
        declaration: &Declaration,
        token: &Token,
    ) -> Result<Action, ReconcileError> {
        let connector = match self
            .ctx
            .cde
            .show_connector(declaration.connector, token)
            .await
        {
            Ok(c) => c,
            Err(e) => return self.observe_failed(declaration, &e).await,
        };
        let Some(version) = connector.version(declaration.major) else {
            let e = CdeError::VersionNotFound {
                message: format!("the connector has no version {}", declaration.major),
            };
            return self.observe_failed(declaration, &e).await;
        };
        self.ctx.failures.reset(&self.key);

        let observed = observe(version, &self.ctx.settings.ignored_config_keys);
        let history = self.history(declaration, &observed, token).await;
        let step = plan(declaration.desired, &observed, &history);
        debug!(remote_state = %observed.state, ?step, "planned");

        if let Step::Call(operation) = step {
            return self
                .call(operation, declaration, &observed, &history, token)
                .await;
        }

        let now = now();
        let facts = Facts {
            desired: Some(declaration.desired),
            observed: Some(&observed),
            rollback_recorded: history_rollback(&history),
            interval: declaration.interval,
            // The plan moved past a call recorded as pending: it happened (or is moot).
            pending: match (&step, &self.previous.pending_operation) {
                (Step::Wait { .. }, p) => p.as_ref(),
                _ => None,
            },
            ..self.facts(Outcome::Planned(&step), &now)
        };
        let summary = summarize(&facts);
        if self.report(summary).await?.is_none() {
            return Ok(Action::requeue(self.ctx.settings.poll));
        }

        Ok(match step {
            Step::Wait {
                pace: Pace::Soon, ..
            } => {
                let streak = self.ctx.polls.bump(&self.key);
                Action::requeue(exponential(
                    self.ctx.settings.poll,
                    streak,
                    self.ctx.settings.max_poll,
                ))
            }
            Step::Converged
            | Step::Wait {
                pace: Pace::Interval,
                ..
            }
            | Step::Blocked(_)
            | Step::Call(_) => {
                self.ctx.polls.reset(&self.key);
                Action::requeue(jittered(declaration.interval, rand::random::<f64>()))
            }
        })
    }

    /// The operator's own record, read back from status, plus the dev site job when the plan
    /// needs it.
    async fn history(
        &self,
        declaration: &Declaration,
        observed: &Observed,
        token: &Token,
    ) -> History {
        let last = self.previous.last_operation.as_ref();
        let last_success = last
            .filter(|l| l.outcome == OUTCOME_SUCCEEDED)
            .and_then(|l| {
                Some(LastCall {
                    operation: Operation::from_name(&l.name)?,
                    same_generation: l.generation == self.generation,
                    age: age_since(&l.finished),
                })
            });
        let pending = self.previous.pending_operation.as_ref().and_then(|p| {
            Some(PendingCall {
                operation: Operation::from_name(&p.name)?,
                age: age_since(&p.started),
            })
        });

        let mut dev_site_job = None;
        if let (Some(l), false) = (last, observed.dev_site) {
            if l.name == Operation::EnsureDevSite.name() && l.outcome == OUTCOME_SUCCEEDED {
                if let Some(job) = &l.job_id {
                    dev_site_job = match self.ctx.cde.show_state(job, token).await {
                        Ok(j) => j.status,
                        // The CDE forgot the job: treat it as finished, so the plan decides
                        // whether to start another.
                        Err(CdeError::JobNotFound { .. }) => Some(JobStatus::Done),
                        Err(e) => {
                            warn!(error = %e, job = %job, "could not read the dev site job; waiting");
                            None
                        }
                    };
                }
            }
        }

        History {
            last_success,
            dev_site_job,
            pending,
            retry_requested: self.requested_at.is_some()
                && self.requested_at != self.previous.last_handled_reconcile_at,
            guard_window: declaration.interval,
        }
    }

    async fn observe_failed(
        &mut self,
        declaration: &Declaration,
        e: &CdeError,
    ) -> Result<Action, ReconcileError> {
        let now = now();
        let mut facts = self.facts(Outcome::ObserveFailed(e), &now);
        facts.desired = Some(declaration.desired);
        facts.interval = declaration.interval;
        let summary = summarize(&facts);
        if self.report(summary).await?.is_none() {
            return Ok(Action::requeue(self.ctx.settings.poll));
        }
        Ok(self.after_error(e, declaration.interval))
    }

    pub(super) fn after_error(&self, e: &CdeError, interval: Duration) -> Action {
        if e.is_retryable() {
            let streak = self.ctx.failures.bump(&self.key);
            let delay = after_failure(
                self.ctx.settings.failure_base,
                streak,
                self.ctx.settings.failure_max,
                e.retry_after(),
            );
            warn!(error = %e, retry_in = ?delay, "CDE call failed; retrying");
            Action::requeue(delay)
        } else {
            self.ctx.failures.reset(&self.key);
            // Terminal: no hot loop. A spec change or a manual request brings it back sooner.
            Action::requeue(jittered(interval, rand::random::<f64>()))
        }
    }
}

pub(super) const OUTCOME_SUCCEEDED: &str = "Succeeded";
pub(super) const OUTCOME_FAILED: &str = "Failed";
/// The call got no answer, or a server error: the CDE may or may not have acted.
pub(super) const OUTCOME_UNKNOWN: &str = "Unknown";

pub(super) fn history_rollback(history: &History) -> bool {
    history
        .last_success
        .as_ref()
        .is_some_and(|l| l.operation == Operation::MigrationRollback)
}
