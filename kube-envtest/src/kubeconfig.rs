//! Kubeconfigs for the envtest server, and clients built from them.
//!
//! Every identity — the admin, a static token user, a `ServiceAccount` token, an impersonated
//! user — is a kubeconfig document first; a [`kube::Client`] is built from that document the
//! way kube-rs builds one from a file, so a test exercises the same TLS and auth code the
//! operator uses against a real cluster. Documents are JSON, which every kubeconfig reader
//! accepts as YAML.

use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{json, Value};

/// Where the server is and which authority signed its certificate.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    /// `https://127.0.0.1:PORT`.
    pub(crate) server: String,
    pub(crate) ca_certificate_pem: String,
}

/// Who the client authenticates as.
pub(crate) enum Identity<'a> {
    /// A bearer token: a static token user's, or a `ServiceAccount` token.
    Token(&'a str),
    /// The admin's token with `Impersonate-User`/`Impersonate-Group` headers: the server
    /// authorizes every request as `user` in `groups`.
    Impersonating {
        admin_token: &'a str,
        user: &'a str,
        groups: &'a [String],
    },
}

/// A complete kubeconfig with one cluster, one user and one current context, whose
/// default namespace is `default`.
pub(crate) fn document(cluster: &Cluster, user_name: &str, identity: &Identity<'_>) -> Value {
    let user = match identity {
        Identity::Token(token) => json!({ "token": token }),
        Identity::Impersonating {
            admin_token,
            user,
            groups,
        } => json!({ "token": admin_token, "as": user, "as-groups": groups }),
    };
    let ca_data =
        base64::engine::general_purpose::STANDARD.encode(cluster.ca_certificate_pem.as_bytes());
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "envtest",
            "cluster": { "server": cluster.server, "certificate-authority-data": ca_data },
        }],
        "users": [{ "name": user_name, "user": user }],
        "contexts": [{
            "name": "envtest",
            "context": { "cluster": "envtest", "user": user_name, "namespace": "default" },
        }],
        "current-context": "envtest",
    })
}

/// Why a client could not be built from a kubeconfig document. Terminal: the document is
/// generated here, so either is a bug in this crate or in the TLS setup of the process.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("the generated kubeconfig does not parse: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the generated kubeconfig is refused by kube-rs: {0}")]
    Load(#[from] kube::config::KubeconfigError),
    #[error("kube-rs cannot build a client: {0}")]
    Build(#[from] kube::Error),
}

/// A client for the identity the document describes.
pub(crate) async fn client(document: Value) -> Result<kube::Client, ClientBuildError> {
    let kubeconfig: Kubeconfig = serde_json::from_value(document)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Cluster {
        Cluster {
            server: "https://127.0.0.1:6443".to_owned(),
            ca_certificate_pem: "PEM".to_owned(),
        }
    }

    #[test]
    fn token_document_is_a_kubeconfig_kube_rs_reads() {
        let document = document(&cluster(), "admin", &Identity::Token("secret-token"));
        let kubeconfig: Kubeconfig = serde_json::from_value(document).unwrap();
        assert_eq!(kubeconfig.current_context.as_deref(), Some("envtest"));
        let user = kubeconfig.auth_infos[0].auth_info.as_ref().unwrap();
        assert!(user.token.is_some());
        assert_eq!(user.impersonate, None);
    }

    #[test]
    fn impersonating_document_names_user_and_groups() {
        let groups = vec!["team-a".to_owned()];
        let document = document(
            &cluster(),
            "alice",
            &Identity::Impersonating {
                admin_token: "admin-token",
                user: "alice",
                groups: &groups,
            },
        );
        let kubeconfig: Kubeconfig = serde_json::from_value(document).unwrap();
        let user = kubeconfig.auth_infos[0].auth_info.as_ref().unwrap();
        assert_eq!(user.impersonate.as_deref(), Some("alice"));
        assert_eq!(user.impersonate_groups, Some(groups));
    }
}
