//! A real kube-apiserver and etcd on 127.0.0.1, for tests and by hand — the second test tier
//! beside kube-sandbox, for what only a real server checks: the CRD's structural schema, CEL
//! validation, server-side apply, RBAC, admission.
//!
//! ```no_run
//! # async fn example() -> Result<(), kube_envtest::EnvtestError> {
//! use kube_envtest::{Envtest, EnvtestOptions};
//!
//! let envtest = Envtest::start(EnvtestOptions::default()).await?;
//! let admin = envtest.client();                       // system:masters
//! let alice = envtest.client_as("alice", &["team-a"]).await?; // RBAC applies
//! println!("KUBECONFIG={}", envtest.kubeconfig_path().display());
//! envtest.shutdown()?;
//! # Ok(()) }
//! ```
//!
//! The binaries are not in git: `kube-envtest/build-binaries.sh` builds them into a cache
//! directory (see [`binaries`]). [`Envtest::start`] fails with a message naming that script
//! when they are missing.
//!
//! Tests of this tier are opt-in: they start with [`Binaries::locate_or_skip`], run when the
//! binaries are found (`KUBE_ENVTEST_BIN_DIR` set, or the cache filled by the script) and
//! otherwise print why they were skipped and pass, so `cargo test` passes on a machine
//! without Go. A set `KUBE_ENVTEST_BIN_DIR` that holds no binaries fails them instead.
//!
//! Identities: the admin (static token, `system:masters`); static token users given in
//! [`EnvtestOptions::users`]; any user and groups through impersonation
//! ([`Envtest::client_as`]); `ServiceAccounts` through the `TokenRequest` API
//! ([`Envtest::service_account_token`]).

pub mod binaries;
mod envtest;
mod error;
mod flags;
mod identities;
mod kubeconfig;
mod pki;
mod process;
mod startup;
mod users;

pub use binaries::Binaries;
pub use envtest::{Envtest, EnvtestOptions, ADMIN_USER};
pub use error::EnvtestError;
pub use kubeconfig::ClientBuildError;
pub use users::{InvalidTokenUser, TokenUser};
