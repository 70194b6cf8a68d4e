//! Contract tests: every documented CDE body in `shared/cde-api/fixtures` decodes into the
//! client's models, and every documented error body maps to the right [`CdeError`] through the
//! same [`classify`] the client uses.
//!
//! The fixtures live beside this repository (`../shared/cde-api/fixtures` from the crate root),
//! as in CI. A fixture file that no table below knows fails the walk, so adding one forces a
//! decision about its model.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use cde_operator::cde::{
    classify,
    models::{
        config, Connector, Envelope, ErrorBody, Job, JobAccepted, JobStatus, MessageBody, Page,
        Version, VersionState,
    },
    CdeError,
};

/// The model a success fixture decodes into.
#[derive(Clone, Copy, Debug)]
enum Model {
    ConnectorEnvelope,
    ConnectorPage,
    VersionEnvelope,
    JobAcceptedEnvelope,
    JobEnvelope,
    JobPage,
    Message,
}

/// Success fixtures by file-name prefix. Every top-level `*.json` must match exactly one.
const SUCCESS_MODELS: &[(&str, Model)] = &[
    ("connector-create.", Model::ConnectorEnvelope),
    ("connector-show.", Model::ConnectorEnvelope),
    ("connector-move-to-bin.", Model::ConnectorEnvelope),
    ("connector-list.", Model::ConnectorPage),
    ("version.", Model::VersionEnvelope),
    ("platform-dev-site.", Model::JobAcceptedEnvelope),
    ("state.show.", Model::JobEnvelope),
    ("state.latest-for-action.", Model::JobEnvelope),
    ("state.list.", Model::JobPage),
    ("sync-runtime.", Model::Message),
    ("runtime-prod.", Model::Message),
    ("secret-registrations.", Model::Message),
    ("authentication-registrations.", Model::Message),
    ("individual-config-add.", Model::Message),
    ("vcs-validate.", Model::Message),
];

/// Error fixtures: file, the status the CDE is believed to send (README, "≈Status"), and the
/// reason of the error the client must report. Every file in `errors/` must be listed.
const ERROR_CASES: &[(&str, u16, &str)] = &[
    ("access-denied.json", 403, "Forbidden"),
    ("background-action-unknown.json", 400, "Rejected"),
    ("bad-request.blank-fields.json", 400, "Rejected"),
    ("bad-request.invalid-uuid.json", 400, "Rejected"),
    ("bad-request.secret-registrations.json", 400, "Rejected"),
    ("connector-actively-used.json", 400, "Rejected"),
    ("connector-not-found.json", 404, "ConnectorNotFound"),
    ("connector-not-released.json", 400, "Rejected"),
    ("dev-account-missing.json", 400, "Rejected"),
    ("invalid-user-identifier.json", 400, "Rejected"),
    ("last-state-not-found.json", 404, "JobNotFound"),
    ("missing-runtime-version.json", 400, "Rejected"),
    (
        "not-previously-synchronized-to-prod.json",
        400,
        "PreconditionRefused",
    ),
    ("state-not-found.json", 404, "JobNotFound"),
    ("transition-not-allowed.json", 400, "WrongState"),
    ("unauthorized.json", 401, "Unauthorized"),
    ("version-not-found.json", 404, "VersionNotFound"),
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cde-api/fixtures")
}

fn json_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| Path::new(name).extension().is_some_and(|ext| ext == "json"))
        .collect();
    names.sort();
    names
}

fn read(relative: &str) -> Vec<u8> {
    let path = fixtures_dir().join(relative);
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn decode<T: serde::de::DeserializeOwned>(relative: &str) -> T {
    serde_json::from_slice(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} does not decode: {e}"))
}

fn connector(file: &str) -> Connector {
    decode::<Envelope<Connector>>(file)
        .data
        .unwrap_or_else(|| panic!("{file} has no data"))
}

fn version(file: &str) -> Version {
    decode::<Envelope<Version>>(file)
        .data
        .unwrap_or_else(|| panic!("{file} has no data"))
}

fn model_for(name: &str) -> Model {
    let matches: Vec<Model> = SUCCESS_MODELS
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, model)| *model)
        .collect();
    match matches.as_slice() {
        [model] => *model,
        [] => panic!("fixture {name} is not in SUCCESS_MODELS: decide which model it decodes into"),
        _ => panic!("fixture {name} matches several prefixes in SUCCESS_MODELS"),
    }
}

/// Decodes one success fixture and checks the parts every body of its kind must have.
fn decode_success(name: &str, model: Model) {
    match model {
        Model::ConnectorEnvelope => {
            let c = connector(name);
            assert!(c.id.is_some(), "{name}: connector id");
        }
        Model::ConnectorPage => {
            let page: Page<Connector> = decode(name);
            assert!(!page.data.is_empty(), "{name}: list entries");
            assert!(
                page.data.iter().all(|c| c.id.is_some()),
                "{name}: connector ids"
            );
            assert!(page.metadata.is_some(), "{name}: paging metadata");
        }
        Model::VersionEnvelope => {
            let v = version(name);
            assert!(v.major().is_some(), "{name}: version string");
            assert!(v.state.is_some(), "{name}: state");
            assert!(v.config.is_some(), "{name}: config");
        }
        Model::JobAcceptedEnvelope => {
            let accepted: Envelope<JobAccepted> = decode(name);
            let uuid = accepted.data.and_then(|d| d.state).and_then(|s| s.uuid);
            assert!(uuid.is_some(), "{name}: job uuid");
        }
        Model::JobEnvelope => {
            let job = decode::<Envelope<Job>>(name).data.expect("job data");
            assert!(
                job.id.is_some() && job.status.is_some(),
                "{name}: job id and status"
            );
        }
        Model::JobPage => {
            let page: Page<Job> = decode(name);
            assert!(!page.data.is_empty(), "{name}: jobs");
            assert!(
                page.data.iter().all(|j| j.status.is_some()),
                "{name}: job status"
            );
        }
        Model::Message => {
            let body: MessageBody = decode(name);
            assert!(
                body.message.is_some_and(|m| !m.is_empty()),
                "{name}: message"
            );
        }
    }
}

#[test]
fn every_success_fixture_decodes_into_its_model() {
    let names = json_files(&fixtures_dir());
    assert!(
        names.len() >= SUCCESS_MODELS.len(),
        "fixtures missing: found {names:?}"
    );
    for name in &names {
        decode_success(name, model_for(name));
    }
    for (prefix, _) in SUCCESS_MODELS {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "no fixture for prefix {prefix}: remove it from SUCCESS_MODELS or restore the file"
        );
    }
}

#[test]
fn every_error_fixture_maps_to_its_error() {
    let errors_dir = fixtures_dir().join("errors");
    let names = json_files(&errors_dir);
    for name in &names {
        assert!(
            ERROR_CASES.iter().any(|(file, _, _)| file == name),
            "error fixture {name} is not in ERROR_CASES: decide which error it is"
        );
    }

    for (file, status, reason) in ERROR_CASES {
        assert!(
            names.iter().any(|n| n == file),
            "ERROR_CASES lists {file}, which does not exist"
        );
        let body = read(&format!("errors/{file}"));
        let parsed: ErrorBody =
            serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{file}: {e}"));
        let message = parsed.message.expect("every error body has a message");

        let err = classify(*status, &body, None);
        assert_eq!(err.reason(), *reason, "{file} (HTTP {status}) gave {err:?}");
        assert!(
            err.to_string().contains(message.trim_end_matches('.')),
            "{file}: message kept in {err}"
        );
    }
}

#[test]
fn refusals_known_by_text_do_not_depend_on_the_status_code() {
    for (file, _, reason) in ERROR_CASES
        .iter()
        .filter(|(_, _, reason)| *reason != "Rejected")
    {
        let body = read(&format!("errors/{file}"));
        for status in [400, 404, 409, 422] {
            assert_eq!(
                classify(status, &body, None).reason(),
                *reason,
                "{file} with HTTP {status}"
            );
        }
    }
}

#[test]
fn wrong_state_fixture_names_the_remote_state() {
    let err = classify(400, &read("errors/transition-not-allowed.json"), None);
    assert!(err.is_retryable());
    match err {
        CdeError::WrongState { state, message } => {
            assert_eq!(state, "resynchronizing-to-prod");
            assert_eq!(
                message,
                "Transition is not allowed, entity is resynchronizing-to-prod."
            );
        }
        other => panic!("expected WrongState, got {other:?}"),
    }
}

#[test]
fn validation_errors_keep_their_field_messages() {
    let err = classify(400, &read("errors/bad-request.blank-fields.json"), None);
    assert!(err.is_terminal());
    let CdeError::Rejected {
        status,
        message,
        errors,
    } = &err
    else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!((*status, message.as_str()), (400, "Bad request."));
    let errors = errors
        .as_ref()
        .and_then(|e| e.as_object())
        .expect("field errors");
    assert_eq!(errors["command-option"], "This value should not be blank.");
    assert!(
        err.to_string()
            .contains("field-name: This value should not be blank."),
        "{err}"
    );
}

#[test]
fn answers_without_a_documented_message_are_classified_by_status() {
    /// HTTP status, body, `Retry-After`, expected reason, expected `retry_after()`.
    type Case = (
        u16,
        &'static str,
        Option<&'static str>,
        &'static str,
        Option<Duration>,
    );
    let some = |secs| Some(Duration::from_secs(secs));
    let cases: &[Case] = &[
        (429, "", Some("3"), "RateLimited", some(3)),
        (
            429,
            r#"{"message":"Too Many Requests"}"#,
            None,
            "RateLimited",
            None,
        ),
        (429, "", Some("not a number"), "RateLimited", None),
        (
            500,
            r#"{"message":"Internal error"}"#,
            None,
            "ServerError",
            None,
        ),
        (502, "<html>Bad Gateway</html>", None, "ServerError", None),
        (503, "", Some("5"), "ServerError", None),
        (401, "", None, "Unauthorized", None),
        (403, "<html>Forbidden</html>", None, "Forbidden", None),
        (404, "<html>Not Found</html>", None, "Rejected", None),
        (
            404,
            r#"{"message":"No route found"}"#,
            None,
            "Rejected",
            None,
        ),
        (400, r#"["not", "an", "object"]"#, None, "Rejected", None),
        (302, "", None, "Rejected", None),
        (
            409,
            r#"{"message":"Transition is not allowed, entity is building.","errors":[]}"#,
            None,
            "WrongState",
            None,
        ),
        (
            500,
            r#"{"message":"Transition is not allowed, entity is building."}"#,
            None,
            "WrongState",
            None,
        ),
        (
            409,
            r#"{"message":"Operation is only allowed for connectors that were previously synchronized to production."}"#,
            None,
            "PreconditionRefused",
            None,
        ),
    ];
    for (status, body, retry_after, reason, wait) in cases {
        let err = classify(*status, body.as_bytes(), *retry_after);
        assert_eq!(err.reason(), *reason, "HTTP {status} {body:?} gave {err:?}");
        assert_eq!(err.retry_after(), *wait, "HTTP {status} {body:?}");
    }
}

#[test]
fn prod_version_and_updated_successor_read_as_documented() {
    let c = connector("connector-show.v1-prod.v2-updated.json");
    assert_eq!(c.versions.len(), 2);

    let v1 = c.version(1).expect("v1");
    assert_eq!(v1.state, Some(VersionState::SynchronizedToProd));
    let prod = v1.prod_reference.as_ref().expect("prod reference");
    assert_eq!(
        (prod.executable, prod.platform_connector),
        (Some(6105), Some(4418))
    );
    assert_eq!(prod.target_accounts, vec![5120]);
    assert_eq!(prod.assigned_to_sites, vec![940_112]);
    let ignore = ["update-progress".to_owned()];
    let (config_now, backup) = (
        v1.config.as_ref().unwrap(),
        v1.prod_config.as_ref().expect("prod backup"),
    );
    assert!(config::same(config_now, backup, &ignore));
    assert_eq!(
        v1.dev_reference.as_ref().and_then(|d| d.platform_connector),
        Some(4417)
    );

    let v2 = c.version(2).expect("v2");
    assert_eq!(v2.state, Some(VersionState::Updated));
    assert!(v2.prod_config.is_none() && v2.dev_config.is_none());
    assert!(c.version(3).is_none());
}

#[test]
fn rolled_back_migration_points_prod_at_the_legacy_executable() {
    let c = connector("connector-show.v1-migration-rolled-back.json");
    let v1 = c.version(1).expect("v1");
    let legacy = config::legacy_executable(v1.config.as_ref().unwrap());
    assert_eq!(legacy, Some(812));
    assert_eq!(
        v1.prod_reference.as_ref().and_then(|p| p.executable),
        Some(812)
    );

    let rollback = version("version.migration-rollback.json");
    assert_eq!(
        rollback.prod_reference.and_then(|p| p.executable),
        Some(812)
    );
}

#[test]
fn missing_prod_platform_objects_keep_the_prod_backup() {
    let c = connector("connector-show.v1-prod-platform-missing.json");
    let v1 = c.version(1).expect("v1");
    let prod = v1.prod_reference.as_ref().expect("prod reference");
    assert_eq!((prod.executable, prod.platform_connector), (None, None));
    assert!(v1.prod_config.is_some());
}

#[test]
fn new_and_binned_connectors_read_as_documented() {
    let created = connector("connector-create.created.json");
    let v1 = created.version(1).expect("v1");
    assert_eq!(v1.state, Some(VersionState::Created));
    assert!(v1.dev_config.is_none() && v1.prod_config.is_none());

    assert!(connector("connector-move-to-bin.json").versions.is_empty());
}

#[test]
fn version_bodies_carry_their_transitional_and_stable_states() {
    let cases = [
        ("version.updating.json", VersionState::Updating, true),
        (
            "version.updated.logo-upload.json",
            VersionState::Updated,
            false,
        ),
        (
            "version.synchronized-to-dev.assign-dev.json",
            VersionState::SynchronizedToDev,
            false,
        ),
        (
            "version.access-updated.json",
            VersionState::SynchronizedToProd,
            false,
        ),
    ];
    for (file, state, transitional) in cases {
        let v = version(file);
        assert_eq!(v.state.as_ref(), Some(&state), "{file}");
        assert_eq!(state.is_transitional(), transitional, "{file}");
    }
    assert_eq!(
        version("version.updated.logo-upload.json")
            .version
            .as_deref(),
        Some("1.0.1")
    );
}

#[test]
fn jobs_carry_their_id_and_status() {
    let accepted: Envelope<JobAccepted> = decode("platform-dev-site.accepted.json");
    let uuid = accepted.data.and_then(|d| d.state).and_then(|s| s.uuid);
    assert_eq!(
        uuid.as_deref(),
        Some("0190f1b0-5c6d-7e8f-9a0b-1c2d3e4f5a6b")
    );

    let done = decode::<Envelope<Job>>("state.show.done.json")
        .data
        .unwrap();
    assert_eq!(
        done.id.as_deref(),
        Some("0190f1b1-1111-7222-8333-444455556666")
    );
    assert_eq!(done.status, Some(JobStatus::Done));

    let pending = decode::<Envelope<Job>>("state.latest-for-action.json")
        .data
        .unwrap();
    assert_eq!(pending.status, Some(JobStatus::Pending));
    assert_eq!(
        pending.name.as_deref(),
        Some("update_to_docker_wrapper_version")
    );

    let list: Page<Job> = decode("state.list.version.json");
    assert_eq!(list.data[0].status, Some(JobStatus::Failed));
}
