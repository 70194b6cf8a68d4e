//! `cde-operator plan -f FILE`: what the operator would do next for some objects, read-only.
//!
//! For CI checks of a `GitOps` change before it merges. It reads the CDE API with the default
//! token (it has no cluster, so it cannot read the objects' Secrets) and plans with an empty
//! history: the operator's own record (last call, pending call) lives in the cluster.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::cde::{CdeClient, CdeError};
use crate::reconcile::{
    credentials::{default_token, DefaultToken},
    observe::{default_ignored_keys, observe},
    plan::{plan, History, Step, WaitReason},
};
use crate::resource::ConnectorVersion;

/// A problem with the input file itself.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("document {index} is not valid YAML: {message}")]
    Yaml { index: usize, message: String },
    #[error("document {index} ({name}) is not a valid ConnectorVersion: {message}")]
    Object {
        index: usize,
        name: String,
        message: String,
    },
    #[error("the file holds no ConnectorVersion")]
    Empty,
}

/// The rendered plan, and how many objects could not be planned because the CDE API could
/// not be read for them (the command then exits non-zero: a CI check must not pass blind).
#[derive(Clone, Debug)]
pub struct Preview {
    pub table: String,
    pub unreadable: usize,
}

/// Plans every `ConnectorVersion` in `yaml` and renders one line per object.
pub async fn preview(
    yaml: &str,
    cde: &CdeClient,
    default: &DefaultToken,
) -> Result<Preview, PreviewError> {
    let objects = parse(yaml)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<12} {:<24} NEXT",
        "NAME", "DESIRED", "REMOTE"
    );
    let mut unreadable = 0;
    for obj in &objects {
        let name = obj.metadata.name.clone().unwrap_or_default();
        let (remote, next, read) = next_for(obj, cde, default).await;
        unreadable += usize::from(!read);
        let _ = writeln!(
            out,
            "{name:<28} {:<12} {remote:<24} {next}",
            obj.spec.desired_state
        );
    }
    Ok(Preview {
        table: out,
        unreadable,
    })
}

fn parse(yaml: &str) -> Result<Vec<ConnectorVersion>, PreviewError> {
    let mut objects = Vec::new();
    for (index, doc) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let value = serde_yaml::Value::deserialize(doc).map_err(|e| PreviewError::Yaml {
            index,
            message: e.to_string(),
        })?;
        if value.is_null() || value.get("kind").and_then(|k| k.as_str()) != Some("ConnectorVersion")
        {
            continue;
        }
        let name = value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or("?")
            .to_owned();
        let obj: ConnectorVersion =
            serde_yaml::from_value(value).map_err(|e| PreviewError::Object {
                index,
                name,
                message: e.to_string(),
            })?;
        objects.push(obj);
    }
    if objects.is_empty() {
        return Err(PreviewError::Empty);
    }
    Ok(objects)
}

async fn next_for(
    obj: &ConnectorVersion,
    cde: &CdeClient,
    default: &DefaultToken,
) -> (String, String, bool) {
    let declaration = match obj.spec.validate() {
        Ok(d) => d,
        Err(e) => return ("-".into(), format!("refused: {e}"), true),
    };
    if declaration.suspend {
        return ("-".into(), "nothing (suspended)".into(), true);
    }
    // Limitation: the Secret lives in the cluster; the preview always uses the default token.
    let token = match default_token(default).await {
        Ok(t) => t,
        Err(e) => return ("-".into(), format!("cannot read the CDE API: {e}"), false),
    };
    let connector = match cde.show_connector(declaration.connector, &token).await {
        Ok(c) => c,
        Err(e) => {
            // The CDE answered that the connector is not there: a plan, not a blind spot.
            let answered = matches!(
                e,
                CdeError::ConnectorNotFound { .. } | CdeError::VersionNotFound { .. }
            );
            return ("-".into(), format!("stalled: {e}"), answered);
        }
    };
    let Some(version) = connector.version(declaration.major) else {
        return (
            "-".into(),
            format!(
                "stalled: the connector has no version {}",
                declaration.major
            ),
            true,
        );
    };
    let observed = observe(version, &default_ignored_keys());
    let history = History {
        guard_window: declaration.interval,
        ..History::default()
    };
    let next = match plan(declaration.desired, &observed, &history) {
        Step::Converged => "nothing (converged)".to_owned(),
        Step::Call(op) => format!("call {op}: {}", op.describe()),
        Step::Wait {
            why: WaitReason::WaitingForBuild(s),
            ..
        } => format!("wait: version is {s} and must be built first"),
        Step::Wait { why, .. } => format!("wait: {why:?}"),
        Step::Blocked(b) => format!("stalled: {}", b.message()),
    };
    (observed.state.to_string(), next, true)
}
