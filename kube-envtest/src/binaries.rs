//! Where the kube-apiserver and etcd binaries come from.
//!
//! Neither binary is in git. `kube-envtest/build-binaries.sh` builds kube-apiserver from the
//! Go module `k8s.io/kubernetes` and copies etcd out of the `etcd-bin-vendored-linux-amd64`
//! crate, both into one cache directory per Kubernetes version:
//! `${CDE_ENVTEST_CACHE:-$HOME/.cache/cde-operator/envtest}/<version>/`.
//!
//! [`Binaries::locate`] looks in `KUBE_ENVTEST_BIN_DIR` first and in that cache directory
//! second; when neither holds both binaries the error names the script to run.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// The Kubernetes release the build script builds unless told otherwise. It must equal the
/// `k8s.io/kubernetes` requirement in `kube-envtest/apiserver/go.mod` (a unit test checks).
pub const KUBERNETES_VERSION: &str = "v1.37.2";

/// Names a directory that holds `kube-apiserver` and `etcd`; it wins over the cache.
pub const BIN_DIR_ENV: &str = "KUBE_ENVTEST_BIN_DIR";

/// Overrides the cache root (`$HOME/.cache/cde-operator/envtest` otherwise).
pub const CACHE_ENV: &str = "CDE_ENVTEST_CACHE";

/// Overrides [`KUBERNETES_VERSION`] when choosing the cache subdirectory, as it does for the
/// build script.
pub const VERSION_ENV: &str = "CDE_ENVTEST_K8S_VERSION";

/// The script that fills the cache, relative to the repository root.
pub const BUILD_SCRIPT: &str = "kube-envtest/build-binaries.sh";

const APISERVER_FILE: &str = "kube-apiserver";
const ETCD_FILE: &str = "etcd";

/// Failures to find or install the binaries. None of them goes away by retrying: a human
/// has to run the build script or fix the directory it points at.
#[derive(Debug, Error)]
pub enum BinariesError {
    #[error(
        "{missing} not found in {dir} (taken from {source_of_dir}); \
         build the binaries with `{BUILD_SCRIPT}` and run again"
    )]
    Missing {
        missing: &'static str,
        dir: PathBuf,
        source_of_dir: &'static str,
    },

    #[error(
        "no place to look for the envtest binaries: neither {BIN_DIR_ENV}, {CACHE_ENV} nor HOME \
         is set; build them with `{BUILD_SCRIPT}` and set {BIN_DIR_ENV} to the directory it prints"
    )]
    NowhereToLook,

    #[error("the vendored etcd binary exists for Linux on x86-64 only")]
    UnsupportedPlatform,

    #[error("cannot install etcd into {dest}: {source}")]
    Install {
        dest: PathBuf,
        source: std::io::Error,
    },
}

/// Paths of the two executables the harness starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub kube_apiserver: PathBuf,
    pub etcd: PathBuf,
}

impl Binaries {
    /// Both binaries from `dir`; fails naming the first one that is missing.
    pub fn in_dir(dir: &Path) -> Result<Self, BinariesError> {
        Self::in_dir_from(dir, "the caller")
    }

    /// Finds the binaries the way tests do: `KUBE_ENVTEST_BIN_DIR` when set, otherwise the
    /// cache directory of the build script.
    ///
    /// A set but wrong `KUBE_ENVTEST_BIN_DIR` is an error; the cache is not consulted then,
    /// so a typo does not silently run other binaries.
    pub fn locate() -> Result<Self, BinariesError> {
        if let Some(dir) = std::env::var_os(BIN_DIR_ENV).filter(|dir| !dir.is_empty()) {
            return Self::in_dir_from(Path::new(&dir), BIN_DIR_ENV);
        }
        let dir = default_cache_dir().ok_or(BinariesError::NowhereToLook)?;
        Self::in_dir_from(&dir, "the build script's cache directory")
    }

    /// For tests of the real-server tier, which are opt-in: the binaries when they are
    /// found; otherwise `None` after printing a line that says the test named `test` was
    /// skipped and why. The line goes straight to stderr, past the test harness's capture,
    /// so a skip is visible in a normal `cargo test` run.
    ///
    /// # Panics
    ///
    /// When `KUBE_ENVTEST_BIN_DIR` is set but does not hold both binaries: whoever set it
    /// asked for the tier, and a silent skip would hide that it did not run.
    pub fn locate_or_skip(test: &str) -> Option<Self> {
        use std::io::Write as _;

        match Self::locate() {
            Ok(binaries) => Some(binaries),
            Err(error) if std::env::var_os(BIN_DIR_ENV).is_some_and(|dir| !dir.is_empty()) => {
                panic!("{BIN_DIR_ENV} is set, so {test} must run, but: {error}")
            }
            Err(error) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test}: the real-server tier is opt-in and its binaries are missing \
                     ({error})"
                );
                None
            }
        }
    }

    fn in_dir_from(dir: &Path, source_of_dir: &'static str) -> Result<Self, BinariesError> {
        let kube_apiserver = dir.join(APISERVER_FILE);
        let etcd = dir.join(ETCD_FILE);
        for (missing, path) in [(APISERVER_FILE, &kube_apiserver), (ETCD_FILE, &etcd)] {
            if !path.is_file() {
                return Err(BinariesError::Missing {
                    missing,
                    dir: dir.to_path_buf(),
                    source_of_dir,
                });
            }
        }
        Ok(Self {
            kube_apiserver,
            etcd,
        })
    }
}

/// `${CDE_ENVTEST_CACHE:-$HOME/.cache/cde-operator/envtest}/<version>`, the directory the
/// build script writes; `None` when neither variable is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    let root = match std::env::var_os(CACHE_ENV).filter(|dir| !dir.is_empty()) {
        Some(root) => PathBuf::from(root),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/cde-operator/envtest"),
    };
    let version = std::env::var(VERSION_ENV)
        .ok()
        .filter(|version| !version.is_empty())
        .unwrap_or_else(|| KUBERNETES_VERSION.to_owned());
    Some(root.join(version))
}

/// Copies the etcd binary shipped by the `etcd-bin-vendored-linux-amd64` crate to
/// `dest_dir/etcd` and returns that path.
///
/// The copy goes to a temporary name first and is renamed into place, so a concurrent reader
/// never sees half a binary. Repeating the call replaces the file with the same bytes.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub fn install_vendored_etcd(dest_dir: &Path) -> Result<PathBuf, BinariesError> {
    // NB: the crate's function returns `Result<_, Infallible>`; the path points into the
    // crate's own source directory in Cargo's registry.
    let Ok(source) = etcd_bin_vendored_linux_amd64::etcd_bin_path();
    install_executable(source, dest_dir, ETCD_FILE)
}

/// The vendored etcd exists for Linux on x86-64 only; elsewhere this always fails.
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub fn install_vendored_etcd(_dest_dir: &Path) -> Result<PathBuf, BinariesError> {
    Err(BinariesError::UnsupportedPlatform)
}

#[cfg_attr(
    not(all(target_os = "linux", target_arch = "x86_64")),
    allow(
        dead_code,
        reason = "only the vendored etcd is installed, and only on Linux x86-64"
    )
)]
fn install_executable(
    source: &Path,
    dest_dir: &Path,
    name: &str,
) -> Result<PathBuf, BinariesError> {
    let dest = dest_dir.join(name);
    let partial = dest_dir.join(format!(".{name}.partial"));
    let install_error = |source| BinariesError::Install {
        dest: dest.clone(),
        source,
    };

    std::fs::create_dir_all(dest_dir).map_err(install_error)?;
    std::fs::copy(source, &partial).map_err(install_error)?;
    make_executable(&partial).map_err(install_error)?;
    std::fs::rename(&partial, &dest).map_err(install_error)?;
    Ok(dest)
}

fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_the_go_module_requirement() {
        let go_mod = include_str!("../apiserver/go.mod");
        let required = go_mod
            .lines()
            .map(str::trim)
            .map(|line| line.trim_start_matches("require").trim())
            .find_map(|line| line.strip_prefix("k8s.io/kubernetes "))
            .map(|rest| rest.split_whitespace().next().unwrap_or_default());
        assert_eq!(required, Some(KUBERNETES_VERSION));
    }

    #[test]
    fn a_missing_binary_names_the_build_script() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("etcd"), b"").unwrap();
        let error = Binaries::in_dir(dir.path()).unwrap_err().to_string();
        assert!(error.contains("kube-apiserver not found"), "{error}");
        assert!(error.contains(BUILD_SCRIPT), "{error}");
    }

    #[test]
    fn both_binaries_present_are_found() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["etcd", "kube-apiserver"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let found = Binaries::in_dir(dir.path()).unwrap();
        assert_eq!(found.etcd, dir.path().join("etcd"));
        assert_eq!(found.kube_apiserver, dir.path().join("kube-apiserver"));
    }
}
