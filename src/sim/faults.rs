//! Fault injection: latency, random 5xx / 429 / dropped connections, and scripted answers.
//!
//! Faults apply to CDE routes only, never to the `/_sim/` hooks, and are decided before
//! authentication, the way a proxy or an overloaded server would fail. A faulted request is
//! still counted in the request log. Random faults draw from the thread's RNG; tests that need
//! determinism use rates of 0 or 1, or scripted faults, which fire exactly `times` times and
//! then disappear, so a fault test always ends by itself.

use std::time::Duration;

use axum::{
    body::Body,
    http::{header::RETRY_AFTER, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cde::endpoints::Endpoint;

/// The faults currently injected. `Faults::default()` injects none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default, deny_unknown_fields)]
pub struct Faults {
    /// Added before every CDE answer (JSON: milliseconds, `latency-ms`).
    #[serde(rename = "latency-ms", with = "millis")]
    pub latency: Duration,
    /// Share (0.0–1.0) of CDE requests answered `500`.
    pub server_error_rate: f64,
    /// Share (0.0–1.0) of CDE requests answered `429` with `Retry-After: retry-after-secs`.
    pub rate_limit_rate: f64,
    pub retry_after_secs: u64,
    /// Share (0.0–1.0) of CDE requests whose connection is closed without an answer.
    pub drop_rate: f64,
    /// The next this-many background jobs end `failed` without creating anything.
    pub fail_next_jobs: u32,
    /// One-off answers, consulted in order before the random faults.
    pub scripted: Vec<ScriptedFault>,
}

/// "The next `times` requests to `endpoint` (any CDE endpoint when `None`) get `action`."
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScriptedFault {
    #[serde(default, with = "endpoint_name")]
    pub endpoint: Option<Endpoint>,
    #[serde(default = "once")]
    pub times: u32,
    pub action: FaultAction,
}

fn once() -> u32 {
    1
}

/// What a fault does to a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum FaultAction {
    /// Answer with this status and body (default body: `{"message": <reason phrase>}`),
    /// with a `Retry-After` header when `retry_after_secs` is set.
    Respond {
        status: u16,
        #[serde(default)]
        body: Option<Value>,
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Close the connection without an answer.
    Drop,
    /// Wait this long, then answer normally (JSON: `{"kind": "delay", "ms": …}`).
    Delay {
        #[serde(with = "millis")]
        ms: Duration,
    },
}

impl ScriptedFault {
    /// The next `times` requests to `endpoint` get `status` with `body`.
    pub fn respond(
        endpoint: Option<Endpoint>,
        times: u32,
        status: u16,
        body: Option<Value>,
    ) -> Self {
        let action = FaultAction::Respond {
            status,
            body,
            retry_after_secs: None,
        };
        Self {
            endpoint,
            times,
            action,
        }
    }

    /// The next `times` requests to `endpoint` get `429` with `Retry-After: retry_after_secs`.
    pub fn rate_limited(endpoint: Option<Endpoint>, times: u32, retry_after_secs: u64) -> Self {
        let action = FaultAction::Respond {
            status: 429,
            body: None,
            retry_after_secs: Some(retry_after_secs),
        };
        Self {
            endpoint,
            times,
            action,
        }
    }

    /// The next `times` requests to `endpoint` are refused as if the version were in `state`.
    pub fn wrong_state(endpoint: Option<Endpoint>, times: u32, state: &str) -> Self {
        let body = json!({
            "message": format!("Transition is not allowed, entity is {state}."),
            "errors": [],
        });
        Self::respond(endpoint, times, 400, Some(body))
    }

    /// The next `times` requests to `endpoint` lose their connection.
    pub fn drop_connection(endpoint: Option<Endpoint>, times: u32) -> Self {
        Self {
            endpoint,
            times,
            action: FaultAction::Drop,
        }
    }

    /// The next `times` requests to `endpoint` are answered `delay` late.
    pub fn delay(endpoint: Option<Endpoint>, times: u32, delay: Duration) -> Self {
        Self {
            endpoint,
            times,
            action: FaultAction::Delay { ms: delay },
        }
    }
}

/// What fault injection decided for one request.
#[derive(Debug, Default)]
pub struct Decision {
    /// Wait this long first.
    pub delay: Duration,
    /// Then answer this way instead of normally (`None`: answer normally).
    pub interruption: Option<Interruption>,
}

/// A fault that replaces the normal answer.
#[derive(Debug)]
pub enum Interruption {
    Respond {
        status: StatusCode,
        body: Value,
        retry_after_secs: Option<u64>,
    },
    Drop,
}

impl Faults {
    /// Why these faults cannot be injected, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("server-error-rate", self.server_error_rate),
            ("rate-limit-rate", self.rate_limit_rate),
            ("drop-rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must lie between 0 and 1, not {rate}"));
            }
        }
        self.scripted.iter().try_for_each(ScriptedFault::validate)
    }

    /// Decides the fault for one request to `endpoint`, consuming a scripted entry if one
    /// applies.
    pub(crate) fn decide(&mut self, endpoint: Endpoint) -> Decision {
        let mut decision = Decision {
            delay: self.latency,
            interruption: None,
        };

        if let Some(index) = self
            .scripted
            .iter()
            .position(|f| f.endpoint.is_none_or(|e| e == endpoint))
        {
            let fault = &mut self.scripted[index];
            let action = fault.action.clone();
            fault.times = fault.times.saturating_sub(1);
            if fault.times == 0 {
                self.scripted.remove(index);
            }
            decision.interruption = match action {
                FaultAction::Delay { ms } => {
                    decision.delay += ms;
                    None
                }
                FaultAction::Drop => Some(Interruption::Drop),
                FaultAction::Respond {
                    status,
                    body,
                    retry_after_secs,
                } => Some(Interruption::respond(status, body, retry_after_secs)),
            };
            return decision;
        }

        let mut rng = rand::rng();
        decision.interruption = if rng.random_bool(self.drop_rate) {
            Some(Interruption::Drop)
        } else if rng.random_bool(self.rate_limit_rate) {
            Some(Interruption::respond(
                429,
                None,
                Some(self.retry_after_secs),
            ))
        } else if rng.random_bool(self.server_error_rate) {
            Some(Interruption::respond(500, None, None))
        } else {
            None
        };
        decision
    }

    /// Whether the next background job must fail; counts it down.
    pub(crate) fn take_job_failure(&mut self) -> bool {
        let fail = self.fail_next_jobs > 0;
        self.fail_next_jobs = self.fail_next_jobs.saturating_sub(1);
        fail
    }
}

impl ScriptedFault {
    fn validate(&self) -> Result<(), String> {
        match &self.action {
            FaultAction::Respond { status, .. } if StatusCode::from_u16(*status).is_err() => {
                Err(format!("{status} is not an HTTP status code"))
            }
            _ => Ok(()),
        }
    }
}

impl Interruption {
    /// `status` (a code that [`Faults::validate`] let through; 500 otherwise) with `body`, or
    /// `{"message": <reason phrase>}` when there is none.
    fn respond(status: u16, body: Option<Value>, retry_after_secs: Option<u64>) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = body.unwrap_or_else(
            || json!({ "message": status.canonical_reason().unwrap_or("Injected fault.") }),
        );
        Interruption::Respond {
            status,
            body,
            retry_after_secs,
        }
    }
}

impl IntoResponse for Interruption {
    fn into_response(self) -> Response {
        match self {
            Interruption::Respond {
                status,
                body,
                retry_after_secs,
            } => {
                let mut response = (status, Json(body)).into_response();
                if let Some(secs) = retry_after_secs {
                    response
                        .headers_mut()
                        .insert(RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
            Interruption::Drop => dropped_connection(),
        }
    }
}

/// A response whose body fails before its first byte: hyper then closes the connection
/// without sending a status line, so the client sees the connection drop.
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by fault injection",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// Serde for a `Duration` as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Serde for an optional [`Endpoint`] as its stable name (`"sync-prod"`).
mod endpoint_name {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use crate::cde::endpoints::Endpoint;

    // serde's `with` hands the field over by reference; the signature is not ours to choose.
    #[allow(clippy::trivially_copy_pass_by_ref, clippy::ref_option)]
    pub fn serialize<S: Serializer>(e: &Option<Endpoint>, s: S) -> Result<S::Ok, S::Error> {
        match e {
            Some(e) => s.serialize_str(e.name()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Endpoint>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|name| name.parse().map_err(D::Error::custom))
            .transpose()
    }
}
