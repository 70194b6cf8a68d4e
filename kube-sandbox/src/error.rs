//! Error types at the crate's two boundaries: [`SandboxError`] for starting a
//! sandbox (public), and [`ApiError`] for one API request, rendered as the
//! `kind: Status` body a real kube-apiserver would send.

use serde_json::{json, Map, Value};

use crate::catalog::GroupResource;

/// Starting or serving a sandbox failed. All variants are terminal for the
/// sandbox being started: retrying with the same arguments fails the same way,
/// except [`SandboxError::Bind`] when the port was only briefly taken.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The listening socket could not be opened (port in use, not loopback, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// The sandbox refuses to listen anywhere but the loopback interface.
    #[error("refusing to listen on non-loopback address {0}")]
    NotLoopback(std::net::SocketAddr),
}

/// One field another manager owns, reported in an apply conflict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldConflict {
    pub manager: String,
    /// Field path in the real server's notation, e.g. `.spec.size`.
    pub field: String,
}

/// Why one API request failed. Each variant maps to the HTTP code and
/// `reason` the real server uses for the same situation; [`ApiError::reason`]
/// doubles as a stable label for logs.
///
/// Only `Conflict` (re-read, then retry) and `Gone` (relist, then watch
/// again) are fixed by the client retrying; every other variant is terminal
/// for the request as sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{resource} {name:?} not found")]
    NotFound {
        resource: GroupResource,
        name: String,
    },
    #[error("{resource} {name:?} already exists")]
    AlreadyExists {
        resource: GroupResource,
        name: String,
    },
    #[error("Operation cannot be fulfilled on {resource} {name:?}: {message}")]
    Conflict {
        resource: GroupResource,
        name: String,
        message: String,
    },
    #[error("Apply failed with {} conflict{}: {}", .conflicts.len(), if .conflicts.len() == 1 { "" } else { "s" }, describe_conflicts(.conflicts))]
    ApplyConflict {
        resource: GroupResource,
        name: String,
        conflicts: Vec<FieldConflict>,
    },
    #[error("{} {name:?} is invalid: {message}", qualified_kind(kind, &.resource.group))]
    Invalid {
        resource: GroupResource,
        kind: String,
        name: String,
        message: String,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the server could not find the requested resource")]
    PathNotFound,
    #[error("{0}")]
    Internal(String),
}

fn qualified_kind(kind: &str, group: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    }
}

fn describe_conflicts(conflicts: &[FieldConflict]) -> String {
    let mut by_manager: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in conflicts {
        match by_manager.iter_mut().find(|(m, _)| *m == c.manager) {
            Some((_, fields)) => fields.push(&c.field),
            None => by_manager.push((&c.manager, vec![&c.field])),
        }
    }
    by_manager
        .iter()
        .map(|(manager, fields)| match fields.as_slice() {
            [one] => format!("conflict with {manager:?}: {one}"),
            many => format!(
                "conflicts with {manager:?}:\n{}",
                many.iter()
                    .map(|f| format!("- {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl ApiError {
    pub(crate) fn code(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::PathNotFound => 404,
            Self::AlreadyExists { .. } | Self::Conflict { .. } | Self::ApplyConflict { .. } => 409,
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::Forbidden(_) => 403,
            Self::Gone(_) => 410,
            Self::MethodNotAllowed(_) => 405,
            Self::UnsupportedMediaType(_) => 415,
            Self::Internal(_) => 500,
        }
    }

    /// The `reason` field of the Status body.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::PathNotFound => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } | Self::ApplyConflict { .. } => "Conflict",
            Self::Invalid { .. } => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::Forbidden(_) => "Forbidden",
            Self::Gone(_) => "Expired",
            Self::MethodNotAllowed(_) => "MethodNotAllowed",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::Internal(_) => "InternalError",
        }
    }

    fn details(&self) -> Option<Value> {
        let (resource, name, kind) = match self {
            Self::NotFound { resource, name }
            | Self::AlreadyExists { resource, name }
            | Self::Conflict { resource, name, .. }
            | Self::ApplyConflict { resource, name, .. } => (resource, name, &resource.resource),
            Self::Invalid {
                resource,
                name,
                kind,
                ..
            } => (resource, name, kind),
            _ => return None,
        };
        let mut details = Map::new();
        details.insert("name".into(), json!(name));
        if !resource.group.is_empty() {
            details.insert("group".into(), json!(resource.group));
        }
        details.insert("kind".into(), json!(kind));
        if let Self::ApplyConflict { conflicts, .. } = self {
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|c| {
                    json!({
                        "reason": "FieldManagerConflict",
                        "message": format!("conflict with {:?}", c.manager),
                        "field": c.field,
                    })
                })
                .collect();
            details.insert("causes".into(), Value::Array(causes));
        }
        if let Self::Invalid { message, .. } = self {
            details.insert(
                "causes".into(),
                json!([{ "reason": "FieldValueInvalid", "message": message }]),
            );
        }
        Some(Value::Object(details))
    }

    /// The `kind: Status` body for this error.
    pub(crate) fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        if let (Some(details), Some(obj)) = (self.details(), status.as_object_mut()) {
            obj.insert("details".into(), details);
        }
        status
    }
}
