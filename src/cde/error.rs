//! Typed CDE errors, and the one function that turns an HTTP answer into one.
//!
//! The CDE reports refusals as `{"message", "errors"}` bodies whose status codes are not
//! documented (SPEC §1.2, OPEN-QUESTIONS Q2). [`classify`] therefore decides by the message
//! text first — wrong state, the prod precondition, the "not found" texts — and only then by
//! status. Each variant knows whether waiting can help ([`CdeError::is_retryable`]) and names
//! itself for conditions and metrics ([`CdeError::reason`]).
//!
//! Deliberately absent: any knowledge of which endpoint failed (the client adds that through
//! logs and metrics) and any text that could carry the bearer token; the client scrubs the token
//! from every error with [`CdeError::redact`] before returning it.

use std::time::Duration;

use serde_json::Value;

use super::models::ErrorBody;

/// Prefix of the wrong-state refusal; the state follows, up to the final `.`.
const WRONG_STATE_PREFIX: &str = "Transition is not allowed, entity is ";
/// The refusal of rollback (documented) and recreate (assumed) on a never-prod-synced version.
/// Documented without a final period.
const NOT_PREVIOUSLY_IN_PROD: &str =
    "Operation is only allowed for connectors that were previously synchronized to production";
const CONNECTOR_NOT_FOUND: &str = "Connector not found.";
const VERSION_NOT_FOUND: &str = "Connector does not have specified version.";
const STATE_NOT_FOUND: &str = "State not found.";
const LAST_STATE_NOT_FOUND: &str = "Last state was not found based on query parameters.";
const UNAUTHORIZED: &str = "You have to be authorized to access this resource.";
const ACCESS_DENIED: &str = "Access denied for user.";

/// A failed CDE call.
///
/// Terminal variants need a change by a human (a new token, a fixed spec, a different remote
/// state) before the same call can succeed; retryable ones may succeed later unchanged. No
/// variant ever contains the bearer token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CdeError {
    /// 401: the token is missing, expired or not accepted. Terminal until the Secret changes.
    #[error("the CDE did not accept the bearer token: {message}")]
    Unauthorized { message: String },

    /// 403: the token's user may not touch this connector. Terminal.
    #[error("the CDE denied access: {message}")]
    Forbidden { message: String },

    /// `Connector not found.`: no connector with this id is visible to the token. Terminal.
    #[error("connector not found: {message}")]
    ConnectorNotFound { message: String },

    /// `Connector does not have specified version.`: the connector exists, the major does not.
    /// Terminal (the operator does not create versions).
    #[error("connector version not found: {message}")]
    VersionNotFound { message: String },

    /// `State not found.` or `Last state was not found …`: a background job id that the CDE does
    /// not know (any more). Terminal for that id; the caller should re-observe the version.
    #[error("background job not found: {message}")]
    JobNotFound { message: String },

    /// `Transition is not allowed, entity is <state>.`: the version is in a state that refuses
    /// this action, usually because asynchronous work is still running. Retryable after
    /// re-observing the version: never repeat the call without a fresh GET.
    #[error("the version is {state} and refused the action: {message}")]
    WrongState { state: String, message: String },

    /// `Operation is only allowed for connectors that were previously synchronized to
    /// production`: rollback or recreate on a version that was never in prod. Terminal.
    #[error("refused, the version was never synchronized to production: {message}")]
    PreconditionRefused { message: String },

    /// Any other refusal: remaining 4xx business or validation errors (`Dev account is
    /// missing.`, `Bad request.` with field errors), 4xx answers without a JSON body (usually
    /// a wrong base URL or path), and unexpected 1xx/3xx answers. Terminal.
    #[error("the CDE rejected the request (HTTP {status}): {message}{}", field_errors(errors.as_ref()))]
    Rejected {
        status: u16,
        message: String,
        errors: Option<Value>,
    },

    /// 429. Retryable after `retry_after` when the server said, else after a backoff.
    #[error("rate limited by the CDE{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },

    /// 5xx. Retryable. For a mutation the effect is unknown: re-observe before deciding again.
    #[error("CDE server error (HTTP {status}){}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Server {
        status: u16,
        message: Option<String>,
    },

    /// No HTTP answer: connect failure, reset or timeout. Retryable. For a mutation the effect
    /// is unknown: the request may have been processed before the connection failed.
    #[error("could not reach the CDE{}: {message}", if *timed_out { " (timed out)" } else { "" })]
    Transport { message: String, timed_out: bool },

    /// A 2xx answer to a read whose body does not fit the model. Terminal: the same body will
    /// not decode on the next try; it needs a model fix.
    #[error("undecodable answer from {endpoint}: {message}")]
    Decode {
        endpoint: &'static str,
        message: String,
    },

    /// The client was configured or called in a way that cannot work (bad base URL, zero
    /// attempts, a read endpoint passed as a mutation, a job id that is not a plain
    /// identifier). No request was sent. Terminal.
    #[error("invalid CDE client configuration: {message}")]
    InvalidConfig { message: String },
}

impl CdeError {
    /// Whether the same call may succeed later without a change by a human.
    ///
    /// True for rate limits, 5xx, transport failures and wrong-state refusals. For the last,
    /// "later" means after the version has been observed again; the client never retries
    /// a mutation itself.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CdeError::RateLimited { .. }
                | CdeError::Server { .. }
                | CdeError::Transport { .. }
                | CdeError::WrongState { .. }
        )
    }

    /// The opposite of [`is_retryable`](Self::is_retryable): only a change (token, spec, remote
    /// state made by someone else, a model fix) can make the call succeed.
    pub fn is_terminal(&self) -> bool {
        !self.is_retryable()
    }

    /// Whether a mutation that failed this way may still have taken effect: no answer came
    /// (timeout, dropped connection), or a server error arrived after the CDE may have acted.
    /// Refusals (4xx, including 429) mean the CDE did not act.
    pub fn effect_unknown(&self) -> bool {
        matches!(self, CdeError::Transport { .. } | CdeError::Server { .. })
    }

    /// How long the server asked the caller to wait, from a `Retry-After` header on a 429.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CdeError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// A CamelCase name for the variant, used as a Kubernetes condition reason and as a
    /// metric label. Stable: dashboards and alerts depend on these strings.
    pub fn reason(&self) -> &'static str {
        match self {
            CdeError::Unauthorized { .. } => "Unauthorized",
            CdeError::Forbidden { .. } => "Forbidden",
            CdeError::ConnectorNotFound { .. } => "ConnectorNotFound",
            CdeError::VersionNotFound { .. } => "VersionNotFound",
            CdeError::JobNotFound { .. } => "JobNotFound",
            CdeError::WrongState { .. } => "WrongState",
            CdeError::PreconditionRefused { .. } => "PreconditionRefused",
            CdeError::Rejected { .. } => "Rejected",
            CdeError::RateLimited { .. } => "RateLimited",
            CdeError::Server { .. } => "ServerError",
            CdeError::Transport { .. } => "TransportError",
            CdeError::Decode { .. } => "UndecodableResponse",
            CdeError::InvalidConfig { .. } => "InvalidConfiguration",
        }
    }

    /// The error with every occurrence of `secret` in its texts replaced by `***`.
    ///
    /// The client applies this with the bearer token to every error it returns: server
    /// messages, transport errors and serde excerpts all quote input the client does not
    /// control, and a proxy that echoes request headers must not leak the token into a
    /// status condition.
    #[must_use]
    pub fn redact(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let scrub = |text: String| {
            if text.contains(secret) {
                text.replace(secret, "***")
            } else {
                text
            }
        };
        match self {
            CdeError::Unauthorized { message } => CdeError::Unauthorized {
                message: scrub(message),
            },
            CdeError::Forbidden { message } => CdeError::Forbidden {
                message: scrub(message),
            },
            CdeError::ConnectorNotFound { message } => CdeError::ConnectorNotFound {
                message: scrub(message),
            },
            CdeError::VersionNotFound { message } => CdeError::VersionNotFound {
                message: scrub(message),
            },
            CdeError::JobNotFound { message } => CdeError::JobNotFound {
                message: scrub(message),
            },
            CdeError::WrongState { state, message } => CdeError::WrongState {
                state: scrub(state),
                message: scrub(message),
            },
            CdeError::PreconditionRefused { message } => CdeError::PreconditionRefused {
                message: scrub(message),
            },
            CdeError::Rejected {
                status,
                message,
                errors,
            } => CdeError::Rejected {
                status,
                message: scrub(message),
                errors: errors.map(|e| redact_value(e, secret)),
            },
            CdeError::Server { status, message } => CdeError::Server {
                status,
                message: message.map(scrub),
            },
            CdeError::Transport { message, timed_out } => CdeError::Transport {
                message: scrub(message),
                timed_out,
            },
            CdeError::Decode { endpoint, message } => CdeError::Decode {
                endpoint,
                message: scrub(message),
            },
            CdeError::InvalidConfig { message } => CdeError::InvalidConfig {
                message: scrub(message),
            },
            other @ CdeError::RateLimited { .. } => other,
        }
    }
}

/// Replaces `secret` in every string (keys included) of a JSON value.
fn redact_value(value: Value, secret: &str) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace(secret, "***")),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| redact_value(v, secret)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.replace(secret, "***"), redact_value(v, secret)))
                .collect(),
        ),
        other => other,
    }
}

/// ` (field: text, …)` for validation errors; empty for `[]`, `{}` or none.
fn field_errors(errors: Option<&Value>) -> String {
    match errors {
        Some(Value::Object(map)) if !map.is_empty() => {
            let fields: Vec<String> = map
                .iter()
                .map(|(field, text)| match text {
                    Value::String(s) => format!("{field}: {s}"),
                    other => format!("{field}: {other}"),
                })
                .collect();
            format!(" ({})", fields.join("; "))
        }
        Some(Value::Array(items)) if !items.is_empty() => {
            format!(" ({})", Value::Array(items.clone()))
        }
        _ => String::new(),
    }
}

/// Turns a non-2xx CDE answer into a [`CdeError`].
///
/// `body` is the raw response body and `retry_after` the raw `Retry-After` header, if any.
/// The decision, in order:
///
/// 1. a JSON `message` the CDE documents decides the variant, whatever the status (the status
///    codes are undocumented): the wrong-state prefix, the prod precondition (with or without a
///    final period), the "not found" texts of connectors, versions and background jobs, and the
///    401/403 texts;
/// 2. otherwise the status: 429 is [`CdeError::RateLimited`] (with the parsed `Retry-After`),
///    5xx is [`CdeError::Server`] (keeping any message), 401 and 403 are
///    [`CdeError::Unauthorized`] and [`CdeError::Forbidden`], and anything else becomes
///    [`CdeError::Rejected`] with the message and field errors.
///
/// A 4xx body that is not a JSON object with a `message` still classifies by status; its
/// message then says so instead of quoting the body. Never returns [`CdeError::Decode`],
/// [`CdeError::Transport`] or [`CdeError::InvalidConfig`]: those are decided by the client.
pub fn classify(status: u16, body: &[u8], retry_after: Option<&str>) -> CdeError {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let message = parsed.as_ref().and_then(|b| b.message.clone());

    if let Some(known) = message.as_deref().and_then(by_message) {
        return known;
    }

    match (status, message) {
        (429, _) => CdeError::RateLimited {
            retry_after: retry_after.and_then(|v| parse_retry_after(v, jiff::Timestamp::now())),
        },
        (500..=599, message) => CdeError::Server { status, message },
        (_, Some(message)) => by_status(status, message, parsed.and_then(|b| b.errors)),
        (_, None) => by_status(status, describe_unreadable_body(status, body), None),
    }
}

/// The variants the CDE documents by message text.
fn by_message(message: &str) -> Option<CdeError> {
    let text = message.trim();
    let message = message.to_owned();

    if let Some(rest) = text.strip_prefix(WRONG_STATE_PREFIX) {
        // The state runs up to the final '.', e.g. "resynchronizing-to-prod".
        let state = rest
            .rsplit_once('.')
            .map_or(rest, |(state, _)| state)
            .trim()
            .to_owned();
        return Some(CdeError::WrongState { state, message });
    }
    // NB: documented without a final period; one added later must not turn a terminal refusal
    // into a generic one.
    if text.strip_suffix('.').unwrap_or(text) == NOT_PREVIOUSLY_IN_PROD {
        return Some(CdeError::PreconditionRefused { message });
    }
    match text {
        CONNECTOR_NOT_FOUND => Some(CdeError::ConnectorNotFound { message }),
        VERSION_NOT_FOUND => Some(CdeError::VersionNotFound { message }),
        STATE_NOT_FOUND | LAST_STATE_NOT_FOUND => Some(CdeError::JobNotFound { message }),
        UNAUTHORIZED => Some(CdeError::Unauthorized { message }),
        ACCESS_DENIED => Some(CdeError::Forbidden { message }),
        _ => None,
    }
}

/// The 4xx (and unexpected 1xx/3xx) variants decided by status alone.
fn by_status(status: u16, message: String, errors: Option<Value>) -> CdeError {
    match status {
        401 => CdeError::Unauthorized { message },
        403 => CdeError::Forbidden { message },
        _ => CdeError::Rejected {
            status,
            message,
            errors,
        },
    }
}

/// A message for a body without a JSON `message`: its size and kind, never its content
/// (a proxy's error page could quote request headers).
fn describe_unreadable_body(status: u16, body: &[u8]) -> String {
    let kind = if body.is_empty() {
        "an empty body".to_owned()
    } else if serde_json::from_slice::<Value>(body).is_ok() {
        format!("a JSON body of {} bytes", body.len())
    } else {
        format!("a non-JSON body of {} bytes", body.len())
    };
    let hint = match status {
        404 => "; is the base URL or endpoint path right?",
        300..=399 => "; redirects are not followed, is the base URL right?",
        _ => "",
    };
    format!("no message ({kind}){hint}")
}

/// Parses a `Retry-After` value: delay seconds, or an HTTP date (read relative to `now`).
///
/// A date in the past gives a zero wait. Unreadable values give `None`, so the caller falls back
/// to its own backoff instead of failing. Limitation: only the IMF-fixdate form
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) is read, not the obsolete RFC 850 and asctime forms that
/// RFC 9110 still asks recipients to accept; no server is known to send them.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let wait = at.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// A request that got no HTTP answer (or lost it while reading the body).
pub(crate) fn transport_error(e: &reqwest::Error) -> CdeError {
    CdeError::Transport {
        message: error_chain(e),
        timed_out: e.is_timeout(),
    }
}

/// An error and its sources, joined by `: ` (reqwest's own message hides the cause).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: jiff::Timestamp = "2026-05-11T12:00:00Z".parse().unwrap();
        let cases: [(&str, Option<Duration>); 6] = [
            ("7", Some(Duration::from_secs(7))),
            (" 0 ", Some(Duration::ZERO)),
            (
                "Mon, 11 May 2026 12:00:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Mon, 11 May 2026 11:59:00 GMT", Some(Duration::ZERO)),
            ("-3", None),
            ("soon", None),
        ];
        for (value, expected) in cases {
            assert_eq!(
                parse_retry_after(value, now),
                expected,
                "Retry-After: {value}"
            );
        }
    }

    #[test]
    fn wrong_state_is_parsed_up_to_the_final_period() {
        let err = classify(
            409,
            br#"{"message":"Transition is not allowed, entity is synchronizing-to-prod.","errors":[]}"#,
            None,
        );
        assert!(
            matches!(err, CdeError::WrongState { ref state, .. } if state == "synchronizing-to-prod")
        );
    }

    #[test]
    fn redact_scrubs_every_text_field() {
        let err = CdeError::Rejected {
            status: 400,
            message: "echo: Bearer t0k".to_owned(),
            errors: Some(serde_json::json!({"authorization": ["Bearer t0k"]})),
        }
        .redact("t0k");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("t0k"), "{shown}");
    }
}
