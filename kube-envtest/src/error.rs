//! Everything [`crate::Envtest`] can fail with.

use std::path::PathBuf;
use std::time::Duration;

use crate::binaries::BinariesError;
use crate::kubeconfig::ClientBuildError;
use crate::users::InvalidTokenUser;

/// Errors of starting, using and stopping an envtest.
///
/// Only [`EnvtestError::is_port_clash`] errors are worth retrying, and [`crate::Envtest::start`]
/// already does; every other variant needs a change to the binaries, the options or the
/// machine.
#[derive(Debug, thiserror::Error)]
pub enum EnvtestError {
    /// The binaries are not built (the message names the script that builds them).
    #[error(transparent)]
    Binaries(#[from] BinariesError),

    #[error(transparent)]
    InvalidTokenUser(#[from] InvalidTokenUser),

    #[error("cannot generate the envtest certificates: {0}")]
    Certificates(#[from] rcgen::Error),

    /// Creating the directory or writing one of its files failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot start {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },

    /// A server process ended before the API server became ready.
    #[error("{process} exited during startup ({status}); the end of {log}:\n{tail}")]
    Exited {
        process: &'static str,
        status: String,
        log: PathBuf,
        tail: String,
    },

    /// `/readyz` did not answer `ok` in time.
    #[error(
        "kube-apiserver was not ready after {waited:?} (last answer: {last_answer}); \
         the end of {log}:\n{tail}"
    )]
    NotReady {
        waited: Duration,
        last_answer: String,
        log: PathBuf,
        tail: String,
    },

    #[error(transparent)]
    Client(#[from] ClientBuildError),

    /// A request the harness itself makes (for example a `TokenRequest`) failed.
    #[error("{action}: {source}")]
    Api { action: String, source: kube::Error },

    #[error("the TokenRequest for ServiceAccount {namespace}/{name} returned no token")]
    NoToken { namespace: String, name: String },

    #[error("cannot stop {process}: {source}")]
    Stop {
        process: &'static str,
        source: std::io::Error,
    },
}

impl EnvtestError {
    /// A server lost the race for a port chosen a moment before it started; a new start
    /// with new ports normally succeeds.
    pub fn is_port_clash(&self) -> bool {
        matches!(self, Self::Exited { tail, .. } if tail.contains("address already in use"))
    }
}
