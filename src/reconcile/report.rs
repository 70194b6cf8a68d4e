//! Report: write the status a pass computed — only when it changed — and announce a new stall.
//!
//! Every write is a server-side apply of the whole status by one field manager, locked on the
//! resourceVersion the pass read: a write based on a stale object fails instead of undoing
//! someone else's record.

use kube::{
    api::{Api, Patch, PatchParams},
    runtime::events::{Event, EventType},
    Resource, ResourceExt,
};
use serde_json::json;
use tracing::{debug, info};

use crate::resource::{ConnectorVersion, ConnectorVersionStatus};

use super::{
    context::FIELD_MANAGER,
    pipeline::{Pass, ReconcileError},
    status::{is_stalled, next_status, verdict, Facts, Verdict},
};

/// The status a pass computed and its verdict, detached from the facts' borrows.
pub(super) fn summarize(facts: &Facts<'_>) -> (ConnectorVersionStatus, Verdict) {
    (next_status(facts), verdict(facts))
}

impl Pass<'_> {
    /// Report: compute the status, write it when it changed, emit an Event when the object
    /// becomes Stalled. `Ok(None)` means the write lost the optimistic lock.
    pub(super) async fn report(
        &mut self,
        (next, v): (ConnectorVersionStatus, Verdict),
    ) -> Result<Option<()>, ReconcileError> {
        self.ctx
            .metrics
            .set_conditions(&self.namespace, &self.obj.name_any(), &next);
        if next == self.previous {
            return Ok(Some(()));
        }

        let was_stalled = is_stalled(&self.previous);
        let ready = &next.conditions[0];
        if self
            .previous
            .conditions
            .first()
            .map(|c| (&c.status, &c.reason))
            != Some((&ready.status, &ready.reason))
        {
            info!(ready = %ready.status, reason = %ready.reason, detail = %ready.message, "condition changed");
        }

        if self.write_status(&next).await?.is_none() {
            return Ok(None);
        }
        if v.is_stalled() && !was_stalled {
            if let Some((reason, message)) = &v.stalled {
                self.publish(&Event {
                    type_: EventType::Warning,
                    reason: reason.clone(),
                    note: Some(message.clone()),
                    action: "Stall".to_owned(),
                    secondary: None,
                })
                .await;
            }
        }
        self.previous = next;
        Ok(Some(()))
    }

    /// Re-reads the object, for a write that lost the optimistic lock.
    pub(super) async fn reload(&mut self) -> Result<(), ReconcileError> {
        let api: Api<ConnectorVersion> = Api::namespaced(self.ctx.kube.clone(), &self.namespace);
        let fresh = api.get_status(&self.obj.name_any()).await?;
        self.previous = fresh.status.unwrap_or_default();
        self.resource_version = fresh.metadata.resource_version;
        Ok(())
    }

    /// Server-side apply of the whole status, locked on the resourceVersion this pass read.
    /// `Ok(None)` when the lock was lost (HTTP 409).
    pub(super) async fn write_status(
        &mut self,
        status: &ConnectorVersionStatus,
    ) -> Result<Option<()>, ReconcileError> {
        let api: Api<ConnectorVersion> = Api::namespaced(self.ctx.kube.clone(), &self.namespace);
        let patch = json!({
            "apiVersion": ConnectorVersion::api_version(&()),
            "kind": ConnectorVersion::kind(&()),
            "metadata": { "resourceVersion": self.resource_version },
            "status": status,
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match api
            .patch_status(&self.obj.name_any(), &params, &Patch::Apply(&patch))
            .await
        {
            Ok(written) => {
                self.resource_version = written.metadata.resource_version;
                Ok(Some(()))
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {
                debug!("status write lost the optimistic lock; looking again soon");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}
