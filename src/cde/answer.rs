//! Reading CDE answers: bounded bodies, envelopes, and what a mutation's success says.
//!
//! Reads are strict (a 2xx without the expected `data` is a [`CdeError::Decode`]); mutation
//! answers are lenient, because the mutation has already happened and the caller observes the
//! version again anyway. Deliberately absent: error bodies, which
//! [`classify`](super::error::classify) reads.

use serde::de::DeserializeOwned;
use tracing::warn;
use uuid::Uuid;

use super::{
    endpoints::Endpoint,
    error::{transport_error, CdeError},
    models::{Envelope, JobAccepted, Version},
};

/// Answers larger than this are refused rather than buffered (a connector with every version is
/// a few tens of kilobytes).
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// What a successful mutation answered. Every field is optional: the assumed endpoints have
/// undocumented bodies, and the caller re-observes the version anyway.
#[derive(Clone, Debug, Default)]
pub struct MutationOutcome {
    /// The envelope's `message`, e.g. `Connector assigned to dev site.`.
    pub message: Option<String>,
    /// The background job to poll with [`CdeClient::show_state`](super::CdeClient::show_state):
    /// `data.state.uuid`, which `ensure-dev-site` returns.
    pub job_id: Option<String>,
    /// The version, when the body carries one in `data`.
    pub version: Option<Version>,
}

/// Reads the body, refusing answers larger than [`MAX_BODY_BYTES`].
pub(crate) async fn read_body(
    endpoint: Endpoint,
    mut response: reqwest::Response,
) -> Result<Vec<u8>, CdeError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(CdeError::Decode {
                endpoint: endpoint.name(),
                message: format!("answer larger than {MAX_BODY_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `data` of a single-object envelope; a missing `data` is a decode error.
pub(crate) fn decode_data<T: DeserializeOwned>(
    endpoint: Endpoint,
    body: &[u8],
) -> Result<T, CdeError> {
    let decode = |message: String| CdeError::Decode {
        endpoint: endpoint.name(),
        message,
    };
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(|e| decode(e.to_string()))?;
    envelope
        .data
        .ok_or_else(|| decode("the answer has no `data`".to_owned()))
}

/// Reads what a mutation's 2xx answer says, tolerating any body.
pub(crate) fn mutation_outcome(
    endpoint: Endpoint,
    connector: Uuid,
    major: u32,
    body: &[u8],
) -> MutationOutcome {
    if body.iter().all(u8::is_ascii_whitespace) {
        return MutationOutcome::default();
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope<serde_json::Value>>(body) else {
        warn!(
            endpoint = endpoint.name(),
            %connector,
            version = major,
            bytes = body.len(),
            "CDE accepted the mutation but its answer is not a JSON envelope; ignoring the body"
        );
        return MutationOutcome::default();
    };

    let data = envelope.data.unwrap_or_default();
    let job_id = serde_json::from_value::<JobAccepted>(data.clone())
        .ok()
        .and_then(|accepted| accepted.state)
        .and_then(|state| state.uuid);
    // Every field of `Version` is optional, so only an object with a version string counts.
    let version = data
        .get("version")
        .is_some_and(serde_json::Value::is_string)
        .then(|| serde_json::from_value::<Version>(data).ok())
        .flatten();
    MutationOutcome {
        message: envelope.message,
        job_id,
        version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_bodies_of_any_shape_are_accepted() {
        let read = |body: &[u8]| mutation_outcome(Endpoint::EnsureDevSite, Uuid::nil(), 1, body);
        let accepted = read(
            br#"{"message":"Platform Site will be created in the background.","data":{"state":{"uuid":"j-1"}}}"#,
        );
        assert_eq!(accepted.job_id.as_deref(), Some("j-1"));
        assert!(accepted.version.is_none());

        let with_version =
            read(br#"{"message":"ok","data":{"version":"2.0.1","state":"updated"}}"#);
        assert_eq!(with_version.version.and_then(|v| v.major()), Some(2));

        for body in [&b""[..], b"  \n", b"<html>ok</html>", b"[1,2]"] {
            let outcome = read(body);
            assert!(
                outcome.message.is_none() && outcome.job_id.is_none() && outcome.version.is_none()
            );
        }
    }
}
