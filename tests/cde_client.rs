//! The CDE client against a scripted mock server on 127.0.0.1: what it sends, what it retries,
//! what it shares, and how failures surface.
//!
//! Each test starts its own axum server on an ephemeral port. The server records every request
//! and answers from a script (a function of the request number), optionally after a delay.

use std::{
    future::IntoFuture,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::Response,
    Router,
};
use cde_operator::cde::{endpoints::Endpoint, CdeClient, CdeError, ClientConfig, Token};
use futures::{future::join_all, stream::FuturesUnordered, StreamExt};
use uuid::Uuid;

const CONNECTOR: Uuid = Uuid::from_u128(0x0190_f1a2_3b4c_7d5e_8f60_7a8b_9c0d_1e2f);
const SECRET: &str = "s3cr3t-t0ken.value";

/// What the mock saw.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    authorization: Option<String>,
    at: Instant,
}

/// What the mock answers.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Script = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

struct MockState {
    seen: Mutex<Vec<Seen>>,
    script: Box<Script>,
}

/// A running mock server; stopped when dropped.
struct Mock {
    base_url: String,
    state: Arc<MockState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Mock {
    async fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Self {
        let state = Arc::new(MockState {
            seen: Mutex::new(Vec::new()),
            script: Box::new(script),
        });
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let serve = axum::serve(listener, app).into_future();
        let server = tokio::spawn(async move {
            serve.await.unwrap();
        });
        Self {
            base_url,
            state,
            server,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.state.seen.lock().unwrap().len()
    }

    fn config(&self) -> ClientConfig {
        ClientConfig {
            retry_backoff: Duration::from_millis(20),
            ..ClientConfig::new(&self.base_url)
        }
    }

    fn client(&self) -> CdeClient {
        CdeClient::new(self.config()).unwrap()
    }
}

async fn answer(
    State(state): State<Arc<MockState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let seen = Seen {
        method,
        path: uri.path().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        at: Instant::now(),
    };
    let reply = {
        let mut log = state.seen.lock().unwrap();
        let reply = (state.script)(log.len(), &seen);
        log.push(seen);
        reply
    };
    tokio::time::sleep(reply.delay).await;

    let mut response = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    if !reply.body.is_empty() {
        response = response.header("content-type", "application/json");
    }
    response.body(Body::from(reply.body)).unwrap()
}

fn fixture(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/cde-api/fixtures")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn connector_body() -> String {
    fixture("connector-show.v1-prod.v2-updated.json")
}

fn token() -> Token {
    Token::new(format!("{SECRET}\n")).unwrap()
}

fn count_of(client: &CdeClient, endpoint: &str, status: &str) -> u64 {
    client
        .request_counts()
        .get(&(endpoint.to_owned(), status.to_owned()))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn bearer_token_is_sent_and_the_connector_decoded() {
    let mock = Mock::start(|_, _| Reply::new(200, connector_body())).await;

    let connector = mock
        .client()
        .show_connector(CONNECTOR, &token())
        .await
        .unwrap();

    assert_eq!(connector.id, Some(CONNECTOR));
    assert_eq!(connector.versions.len(), 2);
    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, Method::GET);
    assert_eq!(seen[0].path, format!("/connectors/{CONNECTOR}"));
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {SECRET}").as_str())
    );
}

#[tokio::test]
async fn token_never_appears_in_errors_or_debug_output() {
    // A misbehaving server that quotes the Authorization header back in every field it can.
    let mock = Mock::start(|n, seen| {
        let echoed = seen.authorization.clone().unwrap_or_default();
        let body = serde_json::json!({ "message": format!("bad header {echoed}"), "errors": { echoed.clone(): echoed } });
        Reply::new(if n == 0 { 400 } else { 401 }, body.to_string())
    })
    .await;
    let client = mock.client();

    let rejected = client
        .mutate(Endpoint::SyncRuntime, CONNECTOR, 1, &token())
        .await
        .unwrap_err();
    let unauthorized = client
        .show_connector(CONNECTOR, &token())
        .await
        .unwrap_err();
    assert_eq!(rejected.reason(), "Rejected");
    assert_eq!(unauthorized.reason(), "Unauthorized");

    for err in [&rejected, &unauthorized] {
        let shown = format!("{err} | {err:?}");
        assert!(!shown.contains(SECRET), "token leaked: {shown}");
        assert!(
            shown.contains("***"),
            "the echo is visibly redacted: {shown}"
        );
    }
    let debug = format!("{client:?} {:?} {:?}", mock.config(), token());
    assert!(!debug.contains(SECRET), "{debug}");
}

#[tokio::test]
async fn read_retries_a_503_then_succeeds() {
    let mock = Mock::start(|n, _| match n {
        0 => Reply::new(503, "<html>Service Unavailable</html>"),
        _ => Reply::new(200, connector_body()),
    })
    .await;
    let client = mock.client();

    let connector = client.show_connector(CONNECTOR, &token()).await.unwrap();

    assert_eq!(connector.versions.len(), 2);
    assert_eq!(mock.count(), 2);
    assert_eq!(count_of(&client, "show-connector", "503"), 1);
    assert_eq!(count_of(&client, "show-connector", "200"), 1);
}

#[tokio::test]
async fn read_gives_up_after_the_configured_attempts() {
    let mock = Mock::start(|_, _| Reply::new(502, "")).await;
    let client = CdeClient::new(ClientConfig {
        get_attempts: 3,
        ..mock.config()
    })
    .unwrap();

    let err = client
        .show_connector(CONNECTOR, &token())
        .await
        .unwrap_err();

    assert!(
        matches!(err, CdeError::Server { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(mock.count(), 3);
}

#[tokio::test]
async fn read_waits_for_the_servers_retry_after() {
    let mock = Mock::start(|n, _| match n {
        0 => Reply::new(429, r#"{"message":"Too Many Requests"}"#).header("retry-after", "1"),
        _ => Reply::new(200, connector_body()),
    })
    .await;

    mock.client()
        .show_connector(CONNECTOR, &token())
        .await
        .unwrap();

    let seen = mock.seen();
    assert_eq!(seen.len(), 2);
    // The backoff alone would be ~20 ms; the second try must wait for the server's second.
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_secs(1), "second try after {gap:?}");
}

#[tokio::test]
async fn retry_after_beyond_the_cap_is_returned_instead_of_waited() {
    let mock = Mock::start(|_, _| Reply::new(429, "").header("retry-after", "120")).await;

    let err = mock
        .client()
        .show_connector(CONNECTOR, &token())
        .await
        .unwrap_err();

    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert!(err.is_retryable());
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn mutation_is_not_retried_on_503() {
    let mock = Mock::start(|_, _| Reply::new(503, "")).await;
    let client = mock.client();

    let err = client
        .mutate(Endpoint::SyncToProd, CONNECTOR, 2, &token())
        .await
        .unwrap_err();

    assert!(
        matches!(err, CdeError::Server { status: 503, .. }),
        "{err:?}"
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 1, "exactly one call");
    assert_eq!(seen[0].method, Method::POST);
    assert_eq!(
        seen[0].path,
        format!("/connectors/{CONNECTOR}/versions/2/sync-prod")
    );
    assert_eq!(count_of(&client, "sync-prod", "503"), 1);
}

#[tokio::test]
async fn wrong_state_refusal_of_a_mutation_is_typed_and_sent_once() {
    let mock =
        Mock::start(|_, _| Reply::new(409, fixture("errors/transition-not-allowed.json"))).await;

    let err = mock
        .client()
        .mutate(Endpoint::SyncRuntime, CONNECTOR, 1, &token())
        .await
        .unwrap_err();

    assert!(
        matches!(&err, CdeError::WrongState { state, .. } if state == "resynchronizing-to-prod"),
        "{err:?}"
    );
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn ensure_dev_site_returns_the_job_to_poll() {
    let mock = Mock::start(|n, _| match n {
        0 => Reply::new(202, fixture("platform-dev-site.accepted.json")),
        _ => Reply::new(200, fixture("state.show.done.json")),
    })
    .await;
    let client = mock.client();

    let outcome = client
        .mutate(Endpoint::EnsureDevSite, CONNECTOR, 1, &token())
        .await
        .unwrap();
    let job_id = outcome.job_id.expect("job id");
    let job = client.show_state(&job_id, &token()).await.unwrap();

    assert_eq!(job_id, "0190f1b0-5c6d-7e8f-9a0b-1c2d3e4f5a6b");
    assert_eq!(
        outcome.message.as_deref(),
        Some("Platform Site will be created in the background.")
    );
    assert_eq!(
        job.id.as_deref(),
        Some("0190f1b1-1111-7222-8333-444455556666")
    );
    let paths: Vec<String> = mock.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        [
            format!("/connectors/{CONNECTOR}/versions/1/platform-dev-site"),
            format!("/states/{job_id}")
        ]
    );
}

#[tokio::test]
async fn mutation_answers_with_a_version_or_no_body_both_succeed() {
    let mock = Mock::start(|n, _| match n {
        0 => Reply::new(200, fixture("version.migration-rollback.json")),
        _ => Reply::new(204, ""),
    })
    .await;
    let client = mock.client();

    let with_version = client
        .mutate(Endpoint::MigrationRollback, CONNECTOR, 1, &token())
        .await
        .unwrap();
    let empty = client
        .mutate(Endpoint::PublishToPlatform, CONNECTOR, 1, &token())
        .await
        .unwrap();

    let version = with_version.version.expect("version in the body");
    assert_eq!(version.prod_reference.and_then(|p| p.executable), Some(812));
    assert!(empty.message.is_none() && empty.job_id.is_none() && empty.version.is_none());
}

#[tokio::test]
async fn a_read_endpoint_is_refused_as_a_mutation_without_a_request() {
    let mock = Mock::start(|_, _| Reply::new(200, "")).await;

    let err = mock
        .client()
        .mutate(Endpoint::ShowConnector, CONNECTOR, 1, &token())
        .await
        .unwrap_err();

    assert_eq!(err.reason(), "InvalidConfiguration");
    assert_eq!(mock.count(), 0);
}

#[tokio::test]
async fn a_job_id_that_could_change_the_path_is_refused_without_a_request() {
    let mock = Mock::start(|_, _| Reply::new(200, fixture("state.show.done.json"))).await;

    let err = mock
        .client()
        .show_state("../connectors", &token())
        .await
        .unwrap_err();

    assert_eq!(err.reason(), "InvalidConfiguration");
    assert_eq!(mock.count(), 0);
}

#[tokio::test]
async fn concurrent_reads_of_one_connector_share_one_request() {
    let mock =
        Mock::start(|_, _| Reply::new(200, connector_body()).after(Duration::from_millis(200)))
            .await;
    let client = mock.client();
    let token = token();

    let results = join_all((0..10).map(|_| client.show_connector(CONNECTOR, &token))).await;

    assert_eq!(mock.count(), 1, "one request for ten callers");
    let first = results[0].as_ref().unwrap();
    for result in &results {
        assert!(
            Arc::ptr_eq(first, result.as_ref().unwrap()),
            "every caller gets the shared answer"
        );
    }

    client.show_connector(CONNECTOR, &token).await.unwrap();
    assert_eq!(
        mock.count(),
        2,
        "a read after the shared one finished is sent anew"
    );
}

#[tokio::test]
async fn concurrent_reads_with_different_tokens_are_not_shared() {
    let mock =
        Mock::start(|_, _| Reply::new(200, connector_body()).after(Duration::from_millis(100)))
            .await;
    let client = mock.client();
    let (a, b) = (
        Token::new("token-a").unwrap(),
        Token::new("token-b").unwrap(),
    );

    let (ra, rb) = tokio::join!(
        client.show_connector(CONNECTOR, &a),
        client.show_connector(CONNECTOR, &b)
    );

    ra.unwrap();
    rb.unwrap();
    let mut sent: Vec<String> = mock
        .seen()
        .into_iter()
        .filter_map(|s| s.authorization)
        .collect();
    sent.sort();
    assert_eq!(sent, ["Bearer token-a", "Bearer token-b"]);
}

#[tokio::test]
async fn request_timeout_becomes_a_timed_out_transport_error() {
    let mock =
        Mock::start(|_, _| Reply::new(200, connector_body()).after(Duration::from_secs(5))).await;
    let client = CdeClient::new(ClientConfig {
        request_timeout: Duration::from_millis(200),
        get_attempts: 1,
        ..mock.config()
    })
    .unwrap();

    let err = client
        .show_connector(CONNECTOR, &token())
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            CdeError::Transport {
                timed_out: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(count_of(&client, "show-connector", "error"), 1);
}

#[tokio::test]
async fn refused_connection_is_a_transport_error_that_did_not_time_out() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = CdeClient::new(ClientConfig {
        get_attempts: 1,
        ..ClientConfig::new(base_url)
    })
    .unwrap();

    let err = client
        .show_state("0190f1b0-5c6d-7e8f-9a0b-1c2d3e4f5a6b", &token())
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            CdeError::Transport {
                timed_out: false,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn undecodable_200_body_is_a_decode_error_and_not_retried() {
    let mock = Mock::start(|n, _| match n {
        0 => Reply::new(200, "this is not json"),
        _ => Reply::new(200, r#"{"message":"successful operation"}"#),
    })
    .await;
    let client = mock.client();

    let not_json = client
        .show_connector(CONNECTOR, &token())
        .await
        .unwrap_err();
    let no_data = client
        .show_connector(CONNECTOR, &token())
        .await
        .unwrap_err();

    for err in [not_json, no_data] {
        assert!(
            matches!(
                err,
                CdeError::Decode {
                    endpoint: "show-connector",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_terminal());
    }
    assert_eq!(mock.count(), 2, "one request per call");
}

#[tokio::test]
async fn rate_limiter_holds_requests_beyond_the_burst() {
    let mock = Mock::start(|_, _| Reply::new(200, fixture("state.show.done.json"))).await;
    // Two requests may start at once; the third waits two seconds for a refill.
    let client = CdeClient::new(ClientConfig {
        rate_limit_per_second: 0.5,
        burst: 2,
        ..mock.config()
    })
    .unwrap();

    let mut calls: FuturesUnordered<_> = (0..3)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.show_state(&format!("job-{i}"), &token()).await })
        })
        .collect();

    calls.next().await.unwrap().unwrap().unwrap();
    calls.next().await.unwrap().unwrap().unwrap();
    assert_eq!(
        mock.count(),
        2,
        "the third request is still waiting for the bucket"
    );

    calls.next().await.unwrap().unwrap().unwrap();
    let seen = mock.seen();
    assert_eq!(seen.len(), 3, "the bucket delays, it never refuses");
    assert!(seen[2].at > seen[1].at && seen[2].at > seen[0].at);
}
