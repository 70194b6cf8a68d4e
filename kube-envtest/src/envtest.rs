//! [`Envtest`]: one etcd and one kube-apiserver on 127.0.0.1, from start to shutdown.
//!
//! Start: locate the binaries → make a temporary directory → generate certificates, the
//! service-account key and the token file → start etcd and wait for its port → start
//! kube-apiserver → write the admin kubeconfig → wait until `/readyz` answers `ok`.
//! Shutdown, explicit or on drop: kube-apiserver first, then etcd, each by PID (SIGTERM, then
//! SIGKILL after a grace period), then the directory goes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::binaries::Binaries;
use crate::error::EnvtestError;
use crate::flags::{self, Layout, Ports};
use crate::kubeconfig::{self, Cluster, Identity};
use crate::pki::ServerPki;
use crate::process::{self, ServerProcess, STOP_GRACE};
use crate::startup::{wait_for_port, wait_until_ready};
use crate::users::{self, TokenUser};

/// The user behind [`Envtest::client`] and the admin kubeconfig.
pub const ADMIN_USER: &str = "envtest-admin";

/// How often a start is tried when a server loses its port to another process.
const START_ATTEMPTS: u32 = 3;

/// How an envtest is started. `EnvtestOptions::default()` finds the binaries the way
/// [`Binaries::locate`] does and adds no users.
#[derive(Debug, Clone)]
pub struct EnvtestOptions {
    /// Directory holding `kube-apiserver` and `etcd`; `None` looks in `KUBE_ENVTEST_BIN_DIR`,
    /// then in the build script's cache.
    pub binaries_dir: Option<PathBuf>,
    /// Static token users besides the admin. The server reads them once, at start.
    pub users: Vec<TokenUser>,
    /// Flags appended to kube-apiserver's command line; a flag repeated here wins.
    pub extra_apiserver_args: Vec<String>,
    /// How long [`Envtest::start`] waits for `/readyz` (per attempt).
    pub startup_timeout: Duration,
    /// Leave the directory (logs, certificates, kubeconfig, etcd data) in place after
    /// shutdown. A failed start always leaves it, so its logs can be read.
    pub keep_dir: bool,
}

impl Default for EnvtestOptions {
    fn default() -> Self {
        Self {
            binaries_dir: None,
            users: Vec::new(),
            extra_apiserver_args: Vec::new(),
            startup_timeout: Duration::from_secs(90),
            keep_dir: false,
        }
    }
}

/// A running etcd and kube-apiserver.
///
/// Each one costs a few hundred MB of memory and several seconds to start; a test binary
/// that needs many should start few. Dropping the value stops both processes and blocks the
/// dropping thread until they are reaped (kube-apiserver's graceful stop takes about a
/// second; at most twice the 5 s grace period).
///
/// Limitation: the processes are stopped from `Drop`, which does not run when the test
/// process itself is killed (SIGKILL, `abort`); the servers then outlive it. Their PIDs are
/// written to the file `pids` in [`Envtest::dir`], to stop them by hand in that case.
pub struct Envtest {
    pub(crate) layout: Layout,
    /// Held for its `Drop`, which removes the directory; `None` when the directory is kept.
    _dir: Option<TempDir>,
    pub(crate) cluster: Cluster,
    pub(crate) admin: TokenUser,
    pub(crate) admin_client: kube::Client,
    apiserver: ServerProcess,
    etcd: ServerProcess,
}

/// What [`Envtest::launch`] hands back: everything of an [`Envtest`] but its directory.
struct Launched {
    cluster: Cluster,
    admin: TokenUser,
    admin_client: kube::Client,
    apiserver: ServerProcess,
    etcd: ServerProcess,
}

impl std::fmt::Debug for Envtest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envtest")
            .field("server", &self.cluster.server)
            .field("dir", &self.layout.dir)
            .field("apiserver_pid", &self.apiserver.pid())
            .field("etcd_pid", &self.etcd.pid())
            .finish_non_exhaustive()
    }
}

impl Envtest {
    /// Starts etcd and kube-apiserver and returns once the API server reports ready.
    ///
    /// Fails with [`EnvtestError::Binaries`] naming the build script when the binaries are
    /// missing; tests that want to skip instead call [`Binaries::locate_or_skip`] first. Must be
    /// called inside a Tokio runtime, and the clients it hands out belong to that runtime.
    pub async fn start(options: EnvtestOptions) -> Result<Self, EnvtestError> {
        let binaries = match &options.binaries_dir {
            Some(dir) => Binaries::in_dir(dir)?,
            None => Binaries::locate()?,
        };
        let mut attempt = 1;
        loop {
            match Self::start_once(&binaries, &options).await {
                Err(error) if error.is_port_clash() && attempt < START_ATTEMPTS => {
                    tracing::warn!(attempt, %error, "envtest port taken; starting again");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn start_once(
        binaries: &Binaries,
        options: &EnvtestOptions,
    ) -> Result<Self, EnvtestError> {
        let dir = tempfile::Builder::new()
            .prefix("kube-envtest-")
            .tempdir()
            .map_err(|source| EnvtestError::Io {
                action: "create a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        let layout = Layout {
            dir: dir.path().to_path_buf(),
        };

        match Self::launch(binaries, options, &layout).await {
            Ok(Launched {
                cluster,
                admin,
                admin_client,
                apiserver,
                etcd,
            }) => Ok(Self {
                _dir: if options.keep_dir {
                    let _ = dir.keep();
                    None
                } else {
                    Some(dir)
                },
                layout,
                cluster,
                admin,
                admin_client,
                apiserver,
                etcd,
            }),
            Err(error) => {
                // The logs named in the error stay readable, except after a port clash,
                // which the caller retries.
                if !error.is_port_clash() {
                    let _ = dir.keep();
                }
                Err(error)
            }
        }
    }

    async fn launch(
        binaries: &Binaries,
        options: &EnvtestOptions,
        layout: &Layout,
    ) -> Result<Launched, EnvtestError> {
        let pki = ServerPki::generate()?;
        write(&layout.ca_certificate(), &pki.ca_certificate_pem)?;
        write(&layout.serving_certificate(), &pki.serving.certificate_pem)?;
        write(&layout.serving_key(), &pki.serving.key_pem)?;
        write(&layout.service_account_key(), &pki.service_account_key_pem)?;
        write(
            &layout.service_account_public_key(),
            &pki.service_account_public_key_pem,
        )?;

        let admin = TokenUser::new(
            ADMIN_USER,
            uuid::Uuid::new_v4().simple().to_string(),
            ["system:masters"],
        );
        let all_users: Vec<TokenUser> = std::iter::once(admin.clone())
            .chain(options.users.iter().cloned())
            .collect();
        write(&layout.token_file(), &users::token_file(&all_users)?)?;

        let [etcd_client, etcd_peer, apiserver_port] =
            process::free_ports::<3>().map_err(|source| EnvtestError::Io {
                action: "find free ports on",
                path: PathBuf::from("127.0.0.1"),
                source,
            })?;
        let ports = Ports {
            etcd_client,
            etcd_peer,
            apiserver: apiserver_port,
        };

        let mut etcd = spawn(
            "etcd",
            &binaries.etcd,
            &flags::etcd_args(layout, ports),
            layout.etcd_log(),
        )?;
        wait_for_port(&mut etcd, ports.etcd_client, options.startup_timeout).await?;

        let mut apiserver = spawn(
            "kube-apiserver",
            &binaries.kube_apiserver,
            &flags::apiserver_args(layout, ports, &options.extra_apiserver_args),
            layout.apiserver_log(),
        )?;
        let cluster = Cluster {
            server: format!("https://127.0.0.1:{apiserver_port}"),
            ca_certificate_pem: pki.ca_certificate_pem,
        };
        let admin_kubeconfig =
            kubeconfig::document(&cluster, ADMIN_USER, &Identity::Token(&admin.token));
        write(&layout.admin_kubeconfig(), &admin_kubeconfig.to_string())?;
        let admin_client = kubeconfig::client(admin_kubeconfig).await?;

        let pids = format!(
            "kube-apiserver {}\netcd {}\n",
            apiserver.pid().unwrap_or_default(),
            etcd.pid().unwrap_or_default()
        );
        write(&layout.dir.join("pids"), &pids)?;

        wait_until_ready(
            &admin_client,
            &mut apiserver,
            &mut etcd,
            options.startup_timeout,
        )
        .await?;
        tracing::info!(
            server = %cluster.server,
            apiserver_pid = apiserver.pid(),
            etcd_pid = etcd.pid(),
            dir = %layout.dir.display(),
            "envtest ready"
        );
        Ok(Launched {
            cluster,
            admin,
            admin_client,
            apiserver,
            etcd,
        })
    }

    /// The admin kubeconfig (user `envtest-admin` in `system:masters`), for kubectl and
    /// for processes started by a test.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.layout.admin_kubeconfig()
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.cluster.server
    }

    /// The directory with the logs (`etcd.log`, `kube-apiserver.log`), certificates and
    /// kubeconfig. Removed at shutdown unless [`EnvtestOptions::keep_dir`] was set.
    pub fn dir(&self) -> &Path {
        &self.layout.dir
    }

    /// PIDs of kube-apiserver and etcd, `None` once stopped.
    pub fn pids(&self) -> (Option<u32>, Option<u32>) {
        (self.apiserver.pid(), self.etcd.pid())
    }

    /// Stops kube-apiserver, then etcd, and removes the directory unless it is kept.
    /// Blocks until both processes are reaped.
    pub fn shutdown(mut self) -> Result<(), EnvtestError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), EnvtestError> {
        let apiserver = self.apiserver.stop(STOP_GRACE);
        let etcd = self.etcd.stop(STOP_GRACE);
        apiserver.map_err(|source| EnvtestError::Stop {
            process: "kube-apiserver",
            source,
        })?;
        etcd.map_err(|source| EnvtestError::Stop {
            process: "etcd",
            source,
        })
    }
}

impl Drop for Envtest {
    fn drop(&mut self) {
        // NB: the processes must be gone before the TempDir field removes their directory.
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "envtest did not stop cleanly");
        }
    }
}

pub(crate) fn write(path: &Path, contents: &str) -> Result<(), EnvtestError> {
    std::fs::write(path, contents).map_err(|source| EnvtestError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

fn spawn(
    name: &'static str,
    program: &Path,
    args: &[String],
    log: PathBuf,
) -> Result<ServerProcess, EnvtestError> {
    ServerProcess::spawn(name, program, args, log).map_err(|source| EnvtestError::Spawn {
        program: program.to_path_buf(),
        source,
    })
}
