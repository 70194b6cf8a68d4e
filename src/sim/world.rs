//! Everything the simulated CDE holds — connectors, versions, background jobs, the platform
//! id counters — and the answers to the CDE routes.
//!
//! Time-based work is settled lazily: every access first calls [`World::settle`], which
//! finishes each transition and job whose due time has passed, stamping it with its due
//! time. A version therefore leaves `synchronizing-to-dev` exactly `transition_delay` after
//! the call whether or not anyone looks in between; nobody has to poll for progress.

use std::collections::{BTreeMap, HashMap};

use axum::{
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    machine::{self, Now},
    refusal::Refusal,
    version::{
        cde_timestamp, JobCompletion, JobStatus, PlatformIds, SimConnector, SimJob, SimVersion,
    },
    SimConfig,
};
use crate::cde::endpoints::Endpoint;

/// Name of the dev-site background job. The real action name is undocumented; this is the
/// placeholder the fixtures use.
pub const DEV_SITE_JOB: &str = "placeholder_dev_site_job";

/// The simulated CDE's data.
#[derive(Clone, Debug, Default)]
pub struct World {
    pub connectors: BTreeMap<Uuid, SimConnector>,
    pub jobs: HashMap<Uuid, SimJob>,
    pub ids: PlatformIds,
}

/// Path parameters of a CDE route, by placeholder name.
pub type PathParams = HashMap<String, String>;

/// A successful answer of a CDE route.
#[derive(Debug)]
pub enum Answer {
    /// `{"message"}`.
    Message(&'static str),
    /// `{"message", "data": {"state": {"uuid"}}}` — an accepted background job.
    JobAccepted { message: &'static str, job: Uuid },
    /// `{"message", "resource"?, "data": <Version>}`.
    Version {
        message: &'static str,
        resource: Option<&'static str>,
        version: Box<SimVersion>,
    },
    /// `{"message", "resource": "connector", "data": <Connector>}`.
    Connector(Box<SimConnector>),
    /// `{"message", "resource": "connector", "data": <Job>}` — the documented label quirk.
    Job(Box<SimJob>),
}

#[derive(Serialize)]
struct Envelope<T: Serialize> {
    message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'static str>,
    data: T,
}

const SUCCESSFUL: &str = "successful operation";

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self {
            Answer::Message(message) => Json(json!({ "message": message })).into_response(),
            Answer::JobAccepted { message, job } => Json(json!({
                "message": message,
                "data": { "state": { "uuid": job } }
            }))
            .into_response(),
            Answer::Version {
                message,
                resource,
                version,
            } => Json(Envelope {
                message,
                resource,
                data: version,
            })
            .into_response(),
            Answer::Connector(connector) => Json(Envelope {
                message: SUCCESSFUL,
                resource: Some("connector"),
                data: connector,
            })
            .into_response(),
            Answer::Job(job) => Json(Envelope {
                message: SUCCESSFUL,
                resource: Some("connector"),
                data: job,
            })
            .into_response(),
        }
    }
}

impl World {
    /// Finishes every transition and job that is due at `now`.
    pub fn settle(&mut self, now: tokio::time::Instant) {
        for connector in self.connectors.values_mut() {
            for version in &mut connector.versions {
                machine::complete_if_due(version, &mut self.ids, now);
            }
        }

        let due: Vec<(Uuid, JobCompletion)> = self
            .jobs
            .iter_mut()
            .filter(|(_, job)| job.completion.as_ref().is_some_and(|c| c.due <= now))
            .filter_map(|(id, job)| Some((*id, job.completion.take()?)))
            .collect();
        for (id, completion) in due {
            self.finish_dev_site_job(id, &completion);
        }
    }

    /// The end of a dev-site job: create the dev project and site where missing.
    fn finish_dev_site_job(&mut self, id: Uuid, completion: &JobCompletion) {
        let version = self
            .connectors
            .get_mut(&completion.connector)
            .and_then(|c| c.version_mut(completion.major));
        let outcome = match version {
            Some(v) if !completion.fail => {
                v.dev.project.get_or_insert_with(|| self.ids.new_project());
                let site = *v.dev.site.get_or_insert_with(|| self.ids.new_site());
                Some(json!({ "site": site }))
            }
            // The version vanished (the seed was replaced) or the job is meant to fail.
            _ => None,
        };
        if let Some(job) = self.jobs.get_mut(&id) {
            match outcome {
                Some(data) => {
                    job.status = JobStatus::Done;
                    job.data = data;
                }
                None => job.status = JobStatus::Failed,
            }
        }
    }

    /// Answers one CDE request. `fail_job` says whether a background job started by this
    /// request must end `failed` (fault injection).
    pub fn answer(
        &mut self,
        endpoint: Endpoint,
        params: &PathParams,
        config: &SimConfig,
        now: Now,
        fail_job: impl FnOnce() -> bool,
    ) -> Result<Answer, Refusal> {
        self.settle(now.instant);
        let delay = config.transition_delay;
        match endpoint {
            Endpoint::ShowConnector => {
                let connector = connector_in(&mut self.connectors, params)?;
                Ok(Answer::Connector(Box::new(connector.clone())))
            }
            Endpoint::ShowState => {
                let id = uuid_param(params, "stateId", "state")?;
                let job = self.jobs.get(&id).ok_or(Refusal::StateNotFound)?;
                Ok(Answer::Job(Box::new(job.clone())))
            }
            Endpoint::SyncRuntime => {
                let v = version_in(&mut self.connectors, params)?;
                machine::sync_runtime(v, &config.runtime_version, now)?;
                Ok(Answer::Message(
                    "Successfully synchronized the version of the connector with runtime.",
                ))
            }
            Endpoint::EnsureDevSite => self.ensure_dev_site(params, config, now, fail_job),
            Endpoint::PublishToPlatform => {
                let v = version_in(&mut self.connectors, params)?;
                machine::publish_to_platform(v, now, delay)?;
                Ok(version_answer(
                    "Connector will be created or updated on the platform.",
                    v,
                ))
            }
            Endpoint::AssignToDevSite => {
                let v = version_in(&mut self.connectors, params)?;
                machine::assign_to_dev_site(v, now)?;
                Ok(version_answer("Connector assigned to dev site.", v))
            }
            Endpoint::SyncToProd => {
                let v = version_in(&mut self.connectors, params)?;
                machine::sync_to_prod(v, now, delay)?;
                Ok(version_answer(
                    "Connector will be synchronized to production.",
                    v,
                ))
            }
            Endpoint::RecreateFromProdBackup => {
                let v = version_in(&mut self.connectors, params)?;
                machine::recreate_from_prod_backup(v, &mut self.ids, now)?;
                Ok(version_answer(
                    "Connector recreated on the platform from the production backup.",
                    v,
                ))
            }
            Endpoint::MigrationRollback => {
                let v = version_in(&mut self.connectors, params)?;
                machine::migration_rollback(v, now)?;
                // Documented: this success body has no `resource` key.
                Ok(Answer::Version {
                    message: SUCCESSFUL,
                    resource: None,
                    version: Box::new(v.clone()),
                })
            }
        }
    }

    /// `POST V/platform-dev-site`: starts a job that creates the dev project and site after
    /// the job delay (or does nothing visible if both exist).
    fn ensure_dev_site(
        &mut self,
        params: &PathParams,
        config: &SimConfig,
        now: Now,
        fail_job: impl FnOnce() -> bool,
    ) -> Result<Answer, Refusal> {
        let connector = connector_in(&mut self.connectors, params)?;
        let (id_of_connector, owner) = (connector.id, connector.owner);
        let v = resolve_in(connector, params)?;
        machine::check_ensure_dev_site(v)?;

        let major = v.major;
        let id = Uuid::now_v7();
        let job = SimJob {
            id,
            status: JobStatus::Pending,
            name: DEV_SITE_JOB.to_owned(),
            owner,
            created: cde_timestamp(now.wall),
            config: json!({
                "connectorPublicId": id_of_connector,
                "versionNumber": major,
                "vcs": { "token": "***" },
            }),
            data: json!([]),
            completion: Some(JobCompletion {
                due: now.instant + config.job_delay,
                connector: id_of_connector,
                major,
                fail: fail_job(),
            }),
        };
        self.jobs.insert(id, job);
        Ok(Answer::JobAccepted {
            message: "Platform Site will be created in the background.",
            job: id,
        })
    }
}

fn version_answer(message: &'static str, v: &SimVersion) -> Answer {
    Answer::Version {
        message,
        resource: Some("connector-version"),
        version: Box::new(v.clone()),
    }
}

fn connector_in<'w>(
    connectors: &'w mut BTreeMap<Uuid, SimConnector>,
    params: &PathParams,
) -> Result<&'w mut SimConnector, Refusal> {
    let id = uuid_param(params, "publicId", "connector")?;
    connectors.get_mut(&id).ok_or(Refusal::ConnectorNotFound)
}

fn version_in<'w>(
    connectors: &'w mut BTreeMap<Uuid, SimConnector>,
    params: &PathParams,
) -> Result<&'w mut SimVersion, Refusal> {
    resolve_in(connector_in(connectors, params)?, params)
}

fn resolve_in<'c>(
    connector: &'c mut SimConnector,
    params: &PathParams,
) -> Result<&'c mut SimVersion, Refusal> {
    let selector = params.get("connectorVersion").map_or("", String::as_str);
    connector
        .resolve_mut(selector)
        .ok_or(Refusal::VersionNotFound)
}

/// A UUID path parameter; `field` is how a malformed one is named in the `Bad request.` body.
fn uuid_param(params: &PathParams, name: &str, field: &'static str) -> Result<Uuid, Refusal> {
    params
        .get(name)
        .and_then(|raw| Uuid::try_parse(raw).ok())
        .ok_or(Refusal::InvalidUuid { field })
}
