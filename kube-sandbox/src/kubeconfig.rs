//! The kubeconfig that points `kubectl` and kube clients at a sandbox.

use std::fmt::Write as _;

/// Name used for the cluster, user and context entries.
pub(crate) const CONTEXT: &str = "kube-sandbox";

/// A kubeconfig with one cluster/context/user, namespace `default`, and no
/// credentials (the sandbox accepts any or none).
pub(crate) fn render(url: &str) -> String {
    let mut yaml = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        yaml,
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {url:?}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
    namespace: default
current-context: {CONTEXT}
users:
- name: {CONTEXT}
  user: {{}}
preferences: {{}}
"
    );
    yaml
}
