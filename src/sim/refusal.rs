//! The error answers the simulator gives, in the CDE's documented shapes (SPEC §1.1–1.2).
//!
//! Business-rule refusals carry `"errors": []`, validation errors an object keyed by field,
//! and 401/403/404 bodies only a `message`. Status codes follow OPEN-QUESTIONS Q2: 400 for
//! every refusal, whether wrong-state or precondition. Messages marked *invented* below are
//! not in the CDE documentation; the client must not rely on them.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use crate::cde::models::VersionState;

/// Why the simulator refuses a request to a CDE route.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Missing or wrong bearer token (only when the simulator has a token configured).
    #[error("You have to be authorized to access this resource.")]
    Unauthorized,
    /// A path parameter that must be a UUID is not one. `field` names it in `errors`.
    #[error("Bad request.")]
    InvalidUuid { field: &'static str },
    #[error("Connector not found.")]
    ConnectorNotFound,
    /// The connector exists but `{connectorVersion}` does not resolve (also for a selector
    /// that is neither a number, `latest` nor `main`).
    #[error("Connector does not have specified version.")]
    VersionNotFound,
    #[error("State not found.")]
    StateNotFound,
    /// The action is not allowed from the version's current state, transitional or not.
    #[error("Transition is not allowed, entity is {}.", .0.as_str())]
    WrongState(VersionState),
    /// Rollback on a version never synced to prod; recreate without a prod backup.
    /// The documented message has no final period.
    #[error(
        "Operation is only allowed for connectors that were previously synchronized to production"
    )]
    NeverSyncedToProd,
    #[error("Dev account is missing.")]
    DevAccountMissing,
    /// Invented: create/update on the platform without a dev project and site.
    #[error("Dev site is missing.")]
    DevSiteMissing,
    /// Invented: assignment to the dev site before the connector is on the dev platform.
    #[error("Connector is not on the dev platform.")]
    NotOnDevPlatform,
    /// Invented text in the generic validation shape: rollback of a version without
    /// `config.migration` (the CDE documents no refusal for it).
    #[error("Bad request.")]
    NotAMigration,
}

impl Refusal {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
            Refusal::ConnectorNotFound | Refusal::VersionNotFound | Refusal::StateNotFound => {
                StatusCode::NOT_FOUND
            }
            Refusal::InvalidUuid { .. }
            | Refusal::WrongState(_)
            | Refusal::NeverSyncedToProd
            | Refusal::DevAccountMissing
            | Refusal::DevSiteMissing
            | Refusal::NotOnDevPlatform
            | Refusal::NotAMigration => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON body of this refusal.
    pub fn body(&self) -> Value {
        let message = self.to_string();
        match self {
            Refusal::Unauthorized
            | Refusal::ConnectorNotFound
            | Refusal::VersionNotFound
            | Refusal::StateNotFound => json!({ "message": message }),
            Refusal::InvalidUuid { field } => {
                json!({ "message": message, "errors": { *field: "This is not a valid UUID." } })
            }
            Refusal::NotAMigration => json!({
                "message": message,
                "errors": { "migration": "This version does not replace a legacy executable." }
            }),
            Refusal::WrongState(_)
            | Refusal::NeverSyncedToProd
            | Refusal::DevAccountMissing
            | Refusal::DevSiteMissing
            | Refusal::NotOnDevPlatform => json!({ "message": message, "errors": [] }),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
