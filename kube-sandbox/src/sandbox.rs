//! [`Sandbox`]: starting, addressing and stopping one in-process API server.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, App};
use crate::error::SandboxError;
use crate::kubeconfig;
use crate::request_log::RequestLog;
use crate::store::Store;

/// How long [`Sandbox::shutdown`] waits for open connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Settings for [`Sandbox::start_with`].
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// Where to listen; must be a loopback address. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// How many changes the watch history keeps. Watches from a revision
    /// older than the retained window get `410 Gone`.
    pub history_capacity: usize,
    /// How often watches that allow bookmarks receive one.
    pub bookmark_interval: Duration,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            history_capacity: 10_000,
            bookmark_interval: Duration::from_secs(5),
        }
    }
}

/// A running API server on 127.0.0.1. It stops when dropped or on
/// [`Sandbox::shutdown`]; dropping only signals the stop, `shutdown` waits
/// for it.
pub struct Sandbox {
    addr: SocketAddr,
    log: RequestLog,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Starts a sandbox on a free port of 127.0.0.1.
    pub async fn start() -> Result<Sandbox, SandboxError> {
        Self::start_with(SandboxOptions::default()).await
    }

    /// Starts a sandbox on `addr`, which must be a loopback address.
    pub async fn start_on(addr: SocketAddr) -> Result<Sandbox, SandboxError> {
        Self::start_with(SandboxOptions {
            addr,
            ..SandboxOptions::default()
        })
        .await
    }

    /// Starts a sandbox with explicit options.
    pub async fn start_with(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        if !options.addr.ip().is_loopback() {
            return Err(SandboxError::NotLoopback(options.addr));
        }
        let bind = |source| SandboxError::Bind {
            addr: options.addr,
            source,
        };
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let (stop, stopped) = watch::channel(false);
        let log = RequestLog::default();
        let app = Arc::new(App {
            store: Store::new(options.history_capacity),
            log: log.clone(),
            bookmark_interval: options.bookmark_interval,
            server_address: addr.to_string(),
            shutdown: stopped.clone(),
        });
        let mut signal = stopped;
        let server = axum::serve(listener, api::router(app)).with_graceful_shutdown(async move {
            // Either the flag flips or the sender is gone; both mean stop.
            let _ = signal.wait_for(|stop| *stop).await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "kube-sandbox server failed");
            }
        });
        tracing::info!(%addr, "kube-sandbox listening");
        Ok(Sandbox {
            addr,
            log,
            stop,
            task: Some(task),
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube client for this sandbox with default namespace `default`.
    ///
    /// Trap: must be called inside a Tokio runtime (the client spawns its
    /// request buffer task there), and the client stops working once the
    /// sandbox is dropped.
    ///
    /// # Panics
    ///
    /// Never in practice: the only fallible step builds a URI from a socket
    /// address, which is always valid.
    pub fn client(&self) -> kube::Client {
        let uri = axum::http::Uri::builder()
            .scheme("http")
            .authority(self.addr.to_string())
            .path_and_query("/")
            .build()
            // A socket address is always a valid authority and "/" a valid path.
            .expect("http URI from a socket address is valid");
        let config = kube::Config::new(uri);
        let connector =
            hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
        let service = tower::ServiceBuilder::new()
            .layer(config.base_uri_layer())
            .service(connector);
        kube::Client::new(service, config.default_namespace)
    }

    /// A kubeconfig (context `kube-sandbox`, namespace `default`, no credentials).
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::render(&self.url())
    }

    /// Writes [`Sandbox::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// The request log (shared handle; it keeps counting while you hold it).
    pub fn requests(&self) -> RequestLog {
        self.log.clone()
    }

    /// Stops serving: open watches end, in-flight requests finish, and the
    /// call returns once the listener is closed (or after a 5 s grace period).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // No receivers left means the server already stopped.
        let _ = self.stop.send(true);
    }
}
