//! The command lines of etcd and kube-apiserver, as pure functions of where the files are and
//! which ports were chosen.
//!
//! Every listener is on 127.0.0.1. The API server authenticates with static bearer tokens
//! and service-account tokens, authorizes with RBAC (members of `system:masters` bypass it,
//! as on any cluster), signs service-account tokens with a key of its own, and runs the
//! default admission plugins. No controller-manager or scheduler runs beside it: nothing
//! creates default `ServiceAccounts`, finishes namespace deletion, collects garbage or
//! schedules Pods.

use std::path::{Path, PathBuf};

/// The issuer written into service-account tokens, the one most clusters use.
pub(crate) const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Files of one envtest inside its directory.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) dir: PathBuf,
}

impl Layout {
    pub(crate) fn etcd_data(&self) -> PathBuf {
        self.dir.join("etcd-data")
    }
    pub(crate) fn etcd_log(&self) -> PathBuf {
        self.dir.join("etcd.log")
    }
    pub(crate) fn apiserver_log(&self) -> PathBuf {
        self.dir.join("kube-apiserver.log")
    }
    pub(crate) fn ca_certificate(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    pub(crate) fn serving_certificate(&self) -> PathBuf {
        self.dir.join("apiserver.crt")
    }
    pub(crate) fn serving_key(&self) -> PathBuf {
        self.dir.join("apiserver.key")
    }
    pub(crate) fn service_account_key(&self) -> PathBuf {
        self.dir.join("service-account.key")
    }
    pub(crate) fn service_account_public_key(&self) -> PathBuf {
        self.dir.join("service-account.pub")
    }
    pub(crate) fn token_file(&self) -> PathBuf {
        self.dir.join("tokens.csv")
    }
    pub(crate) fn admin_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }
}

/// The ports of one start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    pub(crate) etcd_client: u16,
    pub(crate) etcd_peer: u16,
    pub(crate) apiserver: u16,
}

fn path_flag(name: &str, path: &Path) -> String {
    format!("--{name}={}", path.display())
}

/// etcd as a single member, on loopback only, without fsync (the data is thrown away).
pub(crate) fn etcd_args(layout: &Layout, ports: Ports) -> Vec<String> {
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    vec![
        "--name=envtest".to_owned(),
        path_flag("data-dir", &layout.etcd_data()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=envtest={peer}"),
        "--unsafe-no-fsync=true".to_owned(),
        "--log-level=warn".to_owned(),
    ]
}

/// kube-apiserver on 127.0.0.1 with TLS, static tokens, RBAC and service-account signing;
/// `extra` is appended, so a repeated flag there wins.
pub(crate) fn apiserver_args(layout: &Layout, ports: Ports, extra: &[String]) -> Vec<String> {
    let mut args = vec![
        "--advertise-address=127.0.0.1".to_owned(),
        // The reconciler of the `kubernetes` Service's endpoints refuses a loopback address;
        // nothing here routes to that Service, so it gets no endpoints.
        "--endpoint-reconciler-type=none".to_owned(),
        "--bind-address=127.0.0.1".to_owned(),
        format!("--secure-port={}", ports.apiserver),
        path_flag("tls-cert-file", &layout.serving_certificate()),
        path_flag("tls-private-key-file", &layout.serving_key()),
        // Only used when no serving certificate is given; keeps any write inside the dir.
        path_flag("cert-dir", &layout.dir.join("generated-certs")),
        format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
        path_flag("token-auth-file", &layout.token_file()),
        "--authorization-mode=RBAC".to_owned(),
        format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}"),
        path_flag(
            "service-account-key-file",
            &layout.service_account_public_key(),
        ),
        path_flag(
            "service-account-signing-key-file",
            &layout.service_account_key(),
        ),
        // Addresses for Services of type ClusterIP; allocated in etcd, never routed.
        "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
        "--allow-privileged=true".to_owned(),
    ];
    args.extend_from_slice(extra);
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            dir: PathBuf::from("/tmp/envtest-x"),
        }
    }

    const PORTS: Ports = Ports {
        etcd_client: 10001,
        etcd_peer: 10002,
        apiserver: 10003,
    };

    #[test]
    fn every_listener_is_on_loopback() {
        let args = [
            etcd_args(&layout(), PORTS),
            apiserver_args(&layout(), PORTS, &[]),
        ]
        .concat();
        for arg in &args {
            if arg.contains("://") && !arg.contains("svc.cluster.local") {
                assert!(arg.contains("://127.0.0.1:"), "{arg}");
            }
            if arg.starts_with("--bind-address") || arg.starts_with("--advertise-address") {
                assert!(arg.ends_with("=127.0.0.1"), "{arg}");
            }
        }
    }

    #[test]
    fn apiserver_uses_tokens_rbac_and_the_service_account_key() {
        let args = apiserver_args(&layout(), PORTS, &[]);
        for expected in [
            "--secure-port=10003",
            "--etcd-servers=http://127.0.0.1:10001",
            "--authorization-mode=RBAC",
            "--token-auth-file=/tmp/envtest-x/tokens.csv",
            "--service-account-signing-key-file=/tmp/envtest-x/service-account.key",
        ] {
            assert!(args.iter().any(|arg| arg == expected), "missing {expected}");
        }
    }

    #[test]
    fn extra_flags_come_last() {
        let args = apiserver_args(&layout(), PORTS, &["--v=4".to_owned()]);
        assert_eq!(args.last().map(String::as_str), Some("--v=4"));
    }
}
