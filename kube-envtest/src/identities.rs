//! Who a test can be against an [`Envtest`]: the admin, a bearer token (a static token user's
//! or a `ServiceAccount`'s), or any user and groups through impersonation — as clients, or as
//! a kubeconfig file for a process the test starts.

use std::path::Path;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};

use crate::envtest::{write, Envtest};
use crate::error::EnvtestError;
use crate::kubeconfig::{self, Identity};

impl Envtest {
    /// A client acting as the admin; RBAC does not apply to it (`system:masters`).
    pub fn client(&self) -> kube::Client {
        self.admin_client.clone()
    }

    /// A client that sends `token` as its bearer token: a static token user's or a
    /// `ServiceAccount` token. An unknown token is not refused here but by the server (401).
    pub async fn client_for_token(&self, token: &str) -> Result<kube::Client, EnvtestError> {
        let document = kubeconfig::document(&self.cluster, "token-user", &Identity::Token(token));
        Ok(kubeconfig::client(document).await?)
    }

    /// A client the server treats as `user` in `groups` (plus `system:authenticated`),
    /// through impersonation by the admin. RBAC applies to the impersonated identity, so
    /// this tests roles without a token file entry; the server's audit trail, not RBAC, is
    /// what tells it apart from a real login.
    pub async fn client_as(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<kube::Client, EnvtestError> {
        let groups: Vec<String> = groups.iter().map(|&group| group.to_owned()).collect();
        let identity = Identity::Impersonating {
            admin_token: &self.admin.token,
            user,
            groups: &groups,
        };
        Ok(kubeconfig::client(kubeconfig::document(&self.cluster, user, &identity)).await?)
    }

    /// A token for the `ServiceAccount` `namespace/name`, issued by the server through the
    /// `TokenRequest` API (the `ServiceAccount` must exist; nothing here creates it). The token
    /// is valid for the server's default lifetime, an hour or more.
    pub async fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<String, EnvtestError> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client(), namespace);
        let action = || format!("TokenRequest for ServiceAccount {namespace}/{name}");
        let response = accounts
            .create_token_request(name, &PostParams::default(), &TokenRequest::default())
            .await
            .map_err(|source| EnvtestError::Api {
                action: action(),
                source,
            })?;
        response
            .status
            .and_then(|status| status.token)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| EnvtestError::NoToken {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            })
    }

    /// A client authenticated as the `ServiceAccount` `namespace/name`; RBAC as granted to it.
    pub async fn client_for_service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<kube::Client, EnvtestError> {
        let token = self.service_account_token(namespace, name).await?;
        self.client_for_token(&token).await
    }

    /// Writes a kubeconfig that authenticates with `token` to `path`, for a process a test
    /// starts (for example the operator, with a `ServiceAccount` token).
    pub fn write_kubeconfig_for_token(&self, token: &str, path: &Path) -> Result<(), EnvtestError> {
        let document = kubeconfig::document(&self.cluster, "token-user", &Identity::Token(token));
        write(path, &document.to_string())
    }
}
