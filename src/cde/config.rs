//! How the CDE client reaches the API and how hard it may push it.
//!
//! Plain settings with the defaults the operator ships, checked once when the client is built.
//! Deliberately absent: credentials. Tokens are passed per call, so a configuration can be
//! printed, logged and compared without leaking anything.

use std::time::Duration;

use super::{endpoints::Endpoints, error::CdeError};

/// How to reach the CDE and how hard to push it. Holds no credentials.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Scheme, host and optional path prefix, e.g. `https://cde.staging.productsup.com` or
    /// `http://127.0.0.1:8080`. A trailing slash is ignored.
    pub base_url: String,
    /// Method and path of every endpoint (defaults plus overrides).
    pub endpoints: Endpoints,
    /// Limit for one request from connect to the last body byte. Default 15 s.
    pub request_timeout: Duration,
    /// Tries per read, the first included (at least 1). Default 3. Mutations are always sent once.
    pub get_attempts: u32,
    /// Refill rate of the global token bucket, in requests per second. Default 10.
    pub rate_limit_per_second: f64,
    /// Size of the global token bucket: requests that may start at once. Default 20.
    pub burst: u32,
    /// Wait before the second try of a read; doubled for each further try, ±20 % jitter.
    /// Default 200 ms.
    pub retry_backoff: Duration,
    /// Longest wait between two tries of a read, for backoff and for a server's `Retry-After`.
    /// A `Retry-After` longer than this ends the retries and returns
    /// [`CdeError::RateLimited`], so that the caller requeues instead of holding a worker.
    /// Default 10 s.
    pub max_retry_wait: Duration,
}

/// Bounds of the rate limit: below one call in about 17 minutes the limiter's waits would
/// stop being meaningful, and the float arithmetic of the bucket must stay finite.
const MIN_RATE: f64 = 0.001;
const MAX_RATE: f64 = 1_000_000.0;

impl ClientConfig {
    /// The defaults above, for the CDE at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            endpoints: Endpoints::default(),
            request_timeout: Duration::from_secs(15),
            get_attempts: 3,
            rate_limit_per_second: 10.0,
            burst: 20,
            retry_backoff: Duration::from_millis(200),
            max_retry_wait: Duration::from_secs(10),
        }
    }

    /// The base URL without its trailing slash after checking every setting, or why the
    /// configuration cannot work.
    pub(crate) fn validated_base_url(&self) -> Result<String, CdeError> {
        self.check_limits()?;
        self.checked_base_url()
    }

    fn checked_base_url(&self) -> Result<String, CdeError> {
        let invalid = |why: &str| CdeError::InvalidConfig {
            message: format!("base URL {:?} {why}", self.base_url),
        };
        let url = reqwest::Url::parse(&self.base_url).map_err(|_| invalid("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must use http or https"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry credentials"));
        }
        Ok(self.base_url.trim_end_matches('/').to_owned())
    }

    fn check_limits(&self) -> Result<(), CdeError> {
        let problem = if self.get_attempts == 0 {
            Some("get_attempts must be at least 1")
        } else if !(self.rate_limit_per_second.is_finite()
            && (MIN_RATE..=MAX_RATE).contains(&self.rate_limit_per_second))
        {
            Some("rate_limit_per_second must be between 0.001 and 1000000")
        } else if self.burst == 0 {
            Some("burst must be at least 1")
        } else if self.request_timeout.is_zero() {
            Some("request_timeout must be longer than zero")
        } else {
            None
        };
        problem.map_or(Ok(()), |message| {
            Err(CdeError::InvalidConfig {
                message: message.to_owned(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configuration_is_refused_before_any_request() {
        type Tweak = fn(&mut ClientConfig);
        let cases: [(&str, Tweak); 7] = [
            ("not a url", |_| {}),
            ("ftp://cde.example", |_| {}),
            ("https://user:pw@cde.example", |_| {}),
            ("https://cde.example", |c| c.get_attempts = 0),
            ("https://cde.example", |c| {
                c.rate_limit_per_second = f64::NAN;
            }),
            ("https://cde.example", |c| c.burst = 0),
            ("https://cde.example", |c| {
                c.request_timeout = Duration::ZERO;
            }),
        ];
        for (url, tweak) in cases {
            let mut config = ClientConfig::new(url);
            tweak(&mut config);
            let err = config.validated_base_url().unwrap_err();
            assert_eq!(err.reason(), "InvalidConfiguration", "{url}: {err}");
        }
    }

    #[test]
    fn trailing_slash_of_the_base_url_is_ignored() {
        let config = ClientConfig::new("http://127.0.0.1:8080/");
        assert_eq!(
            config.validated_base_url().unwrap(),
            "http://127.0.0.1:8080"
        );
    }
}
