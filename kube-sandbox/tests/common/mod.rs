//! Shared fixtures: a namespaced `Gizmo` custom resource with a status
//! subresource, and a sandbox with its CRD installed.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{CustomResource, CustomResourceExt};
use kube_sandbox::{Sandbox, SandboxOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "test.example.com", version = "v1", kind = "Gizmo", namespaced)]
#[kube(status = "GizmoStatus")]
pub struct GizmoSpec {
    pub size: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct GizmoStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

pub fn gizmo(name: &str, size: i32) -> Gizmo {
    Gizmo::new(name, GizmoSpec { size, color: None })
}

/// Installs the Gizmo CRD and returns an API for the `default` namespace.
pub async fn install_gizmos(sandbox: &Sandbox) -> Api<Gizmo> {
    let crds: Api<CustomResourceDefinition> = Api::all(sandbox.client());
    crds.patch(
        "gizmos.test.example.com",
        &PatchParams::apply("tests").force(),
        &Patch::Apply(Gizmo::crd()),
    )
    .await
    .expect("CRD applies");
    Api::default_namespaced(sandbox.client())
}

pub async fn sandbox_with_gizmos() -> (Sandbox, Api<Gizmo>) {
    sandbox_with_options(SandboxOptions::default()).await
}

pub async fn sandbox_with_options(options: SandboxOptions) -> (Sandbox, Api<Gizmo>) {
    let sandbox = Sandbox::start_with(options).await.expect("sandbox starts");
    let gizmos = install_gizmos(&sandbox).await;
    (sandbox, gizmos)
}

pub async fn create(api: &Api<Gizmo>, name: &str, size: i32) -> Gizmo {
    api.create(&PostParams::default(), &gizmo(name, size))
        .await
        .expect("create succeeds")
}

pub fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Polls `check` every 50 ms for up to 10 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
