//! The HTTP client for the CDE API: reads with retries, mutations exactly once.
//!
//! Every request goes through the same steps: wait for the global [`RateLimiter`], render the
//! path from the [`Endpoints`] table, send it with the caller's bearer token, count it, and turn
//! the answer into a model or a [`CdeError`] via [`classify`]. Reads of a connector are shared
//! between concurrent callers ([`SingleFlight`]) and retried on transient failures; mutations are
//! sent once and never retried here, because the CDE has no idempotency keys: the reconciler
//! observes the version again and decides anew.
//!
//! Deliberately absent: token acquisition (the caller passes a [`Token`] per call, re-read from
//! its Secret), caching of answers, redirects (a redirect means a wrong base URL, and following
//! one would turn a POST into a GET), and any endpoint the operator does not use.

use std::{
    collections::BTreeMap,
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use futures::FutureExt;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use tracing::{debug, warn};
use uuid::Uuid;

pub use super::{answer::MutationOutcome, config::ClientConfig};
use super::{
    answer::{decode_data, mutation_outcome, read_body},
    endpoints::{Endpoint, Endpoints, Method, Target},
    error::{classify, error_chain, transport_error, CdeError},
    limiter::RateLimiter,
    models::{Connector, Job},
    single_flight::SingleFlight,
    token::Token,
};

/// A CDE API client. Cheap to clone: clones share the HTTP connection pool, the rate limiter,
/// the single-flight table and the request counters.
#[derive(Clone)]
pub struct CdeClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    config: ClientConfig,
    limiter: RateLimiter,
    connectors: SingleFlight<(Uuid, Token), Result<Arc<Connector>, CdeError>>,
    counts: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl fmt::Debug for CdeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CdeClient")
            .field("base_url", &self.inner.base_url)
            .field("request_timeout", &self.inner.config.request_timeout)
            .field("get_attempts", &self.inner.config.get_attempts)
            .finish_non_exhaustive()
    }
}

/// One request about to be sent: what it is for (for logs and metrics) and where it goes.
struct Call<'a> {
    endpoint: Endpoint,
    connector: Option<Uuid>,
    major: Option<u32>,
    job: Option<&'a str>,
    method: Method,
    path: String,
    token: &'a Token,
}

impl CdeClient {
    /// Builds a client after checking the configuration.
    ///
    /// Fails with [`CdeError::InvalidConfig`] for a base URL that is not plain http(s), zero
    /// attempts, a zero timeout, or a rate limit that is not a positive number.
    pub fn new(config: ClientConfig) -> Result<Self, CdeError> {
        let base_url = config.validated_base_url()?;

        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cde-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CdeError::InvalidConfig {
                message: format!("cannot build the HTTP client: {}", error_chain(&e)),
            })?;

        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url,
                limiter: RateLimiter::new(config.rate_limit_per_second, config.burst),
                config,
                connectors: SingleFlight::default(),
                counts: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The endpoint table in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.config.endpoints
    }

    /// GET the connector with all of its versions.
    ///
    /// Concurrent calls for the same (connector, token) share ONE in-flight request
    /// (single-flight) and all get its result, errors included; a call that starts after that
    /// request has finished sends a new one. Transient failures (429, 5xx, transport) are
    /// retried up to `get_attempts` times inside that one shared request.
    pub async fn show_connector(
        &self,
        connector: Uuid,
        token: &Token,
    ) -> Result<Arc<Connector>, CdeError> {
        let client = self.clone();
        let owned = token.clone();
        let fetch = move || async move { client.fetch_connector(connector, &owned).await }.boxed();
        self.inner
            .connectors
            .run((connector, token.clone()), fetch)
            .await
    }

    /// GET one background job (`GET /states/{stateId}`), with the same retries as
    /// [`show_connector`](Self::show_connector) but no sharing.
    ///
    /// `state_id` usually comes from a CDE answer ([`MutationOutcome::job_id`]); an id with
    /// anything but ASCII letters, digits, `-` and `_` is refused with
    /// [`CdeError::InvalidConfig`] before any request, so it can never change the path.
    pub async fn show_state(&self, state_id: &str, token: &Token) -> Result<Job, CdeError> {
        let endpoint = Endpoint::ShowState;
        if !is_plain_id(state_id) {
            return Err(CdeError::InvalidConfig {
                message: format!("job id {state_id:?} is not a plain identifier"),
            });
        }
        let (method, path) = self.endpoints().render(endpoint, Target::State(state_id));
        let call = Call {
            endpoint,
            connector: None,
            major: None,
            job: Some(state_id),
            method,
            path,
            token,
        };
        let body = self.read(&call).await?;
        decode_data(endpoint, &body).map_err(|e| e.redact(token.expose()))
    }

    /// Issue one mutation exactly once (never retried here; the reconciler re-observes instead).
    ///
    /// Traps: a [`CdeError::Transport`] or [`CdeError::Server`] leaves the effect unknown (the
    /// CDE may have acted before the answer was lost), so re-observe before deciding again. A
    /// 2xx answer is a success whatever its body: an empty or unreadable body gives an empty
    /// [`MutationOutcome`] (logged at `warn` when unreadable) rather than an error, because the
    /// mutation has happened. Passing a read endpoint fails with [`CdeError::InvalidConfig`].
    pub async fn mutate(
        &self,
        endpoint: Endpoint,
        connector: Uuid,
        major: u32,
        token: &Token,
    ) -> Result<MutationOutcome, CdeError> {
        if !endpoint.is_mutation() {
            return Err(CdeError::InvalidConfig {
                message: format!("{endpoint} is a read, not a mutation"),
            });
        }
        let (method, path) = self
            .endpoints()
            .render(endpoint, Target::Version { connector, major });
        let call = Call {
            endpoint,
            connector: Some(connector),
            major: Some(major),
            job: None,
            method,
            path,
            token,
        };
        let body = self.send_once(&call).await?;
        Ok(mutation_outcome(endpoint, connector, major, &body))
    }

    /// Requests sent so far, by endpoint name and HTTP status ("error" when no response), for
    /// metrics. Every try of a retried read counts.
    pub fn request_counts(&self) -> BTreeMap<(String, String), u64> {
        let counts = self
            .inner
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts
            .iter()
            .map(|((endpoint, status), n)| (((*endpoint).to_owned(), status.clone()), *n))
            .collect()
    }

    async fn fetch_connector(
        &self,
        connector: Uuid,
        token: &Token,
    ) -> Result<Arc<Connector>, CdeError> {
        let endpoint = Endpoint::ShowConnector;
        let (method, path) = self
            .endpoints()
            .render(endpoint, Target::Connector(connector));
        let call = Call {
            endpoint,
            connector: Some(connector),
            major: None,
            job: None,
            method,
            path,
            token,
        };
        let body = self.read(&call).await?;
        decode_data(endpoint, &body)
            .map(Arc::new)
            .map_err(|e| e.redact(token.expose()))
    }

    /// Sends a read, retrying 429, 5xx and transport failures with backoff.
    async fn read(&self, call: &Call<'_>) -> Result<Vec<u8>, CdeError> {
        let mut attempt = 1;
        loop {
            let err = match self.send_once(call).await {
                Ok(body) => return Ok(body),
                Err(err) => err,
            };
            let transient = matches!(
                err,
                CdeError::RateLimited { .. } | CdeError::Server { .. } | CdeError::Transport { .. }
            );
            if !transient || attempt >= self.inner.config.get_attempts {
                return Err(err);
            }
            let Some(wait) = self.backoff(attempt, err.retry_after()) else {
                return Err(err);
            };
            warn!(
                endpoint = call.endpoint.name(),
                connector = call.connector.map(tracing::field::display),
                job = call.job,
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                reason = err.reason(),
                error = %err,
                "retrying CDE read"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// The wait before try `attempt + 1`: the server's `Retry-After` when given, else
    /// exponential backoff with jitter. `None` when the server asks for longer than
    /// `max_retry_wait`.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let cap = self.inner.config.max_retry_wait;
        if let Some(asked) = retry_after {
            return (asked <= cap).then_some(asked);
        }
        let doubled = self
            .inner
            .config
            .retry_backoff
            .saturating_mul(1 << (attempt - 1).min(16));
        Some(doubled.mul_f64(rand::random_range(0.8..1.2)).min(cap))
    }

    /// Sends one request and returns the body of a 2xx answer.
    async fn send_once(&self, call: &Call<'_>) -> Result<Vec<u8>, CdeError> {
        let secret = call.token.expose();
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {secret}")).map_err(|_| {
                CdeError::InvalidConfig {
                    message: "the bearer token cannot be sent as a header".to_owned(),
                }
            })?;
        authorization.set_sensitive(true);
        let method = match call.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
        };
        let mut request = self
            .inner
            .http
            .request(method, format!("{}{}", self.inner.base_url, call.path))
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json");
        if call.method != Method::Get {
            // An explicit empty body sends `Content-Length: 0`, which some proxies require on POST.
            request = request.body(Vec::new());
        }

        self.inner.limiter.acquire().await;
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                self.count(call.endpoint, "error".to_owned());
                Self::log_request(call, "error", started);
                return Err(transport_error(&e).redact(secret));
            }
        };

        let status = response.status().as_u16();
        self.count(call.endpoint, status.to_string());
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Self::log_request(call, &status.to_string(), started);
        let body = read_body(call.endpoint, response)
            .await
            .map_err(|e| e.redact(secret))?;

        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(classify(status, &body, retry_after.as_deref()).redact(secret))
        }
    }

    fn log_request(call: &Call<'_>, status: &str, started: Instant) {
        debug!(
            endpoint = call.endpoint.name(),
            method = call.method.as_str(),
            connector = call.connector.map(tracing::field::display),
            version = call.major,
            job = call.job,
            status,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "CDE request"
        );
    }

    fn count(&self, endpoint: Endpoint, status: String) {
        let mut counts = self
            .inner
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *counts.entry((endpoint.name(), status)).or_insert(0) += 1;
    }
}

/// Whether `id` is safe to put into a path as is. Job ids are UUIDs; anything with `/`, `.`, `%`
/// or `?` could leave `/states/` (URL parsing resolves `..` and `%2e%2e` alike).
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_job_ids_are_put_into_a_path() {
        assert!(is_plain_id("0190f1b0-5c6d-7e8f-9a0b-1c2d3e4f5a6b"));
        assert!(is_plain_id("job_1"));
        for unsafe_id in ["", "..", "%2e%2e", "a/b", "../connectors", "a?b=1", "a b"] {
            assert!(!is_plain_id(unsafe_id), "{unsafe_id:?}");
        }
    }
}
