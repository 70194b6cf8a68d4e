//! An in-process Kubernetes API server for tests, demos and local use with
//! `kubectl`.
//!
//! [`Sandbox::start`] serves plain HTTP on 127.0.0.1 with a JSON object
//! store behind it: discovery, the built-in types an operator touches
//! (namespaces, secrets, configmaps, service accounts, events, leases),
//! `CustomResourceDefinitions` and the custom resources they define, with
//! resource versions, generations, finalizers, status subresources, merge /
//! JSON / server-side-apply patches with field ownership, watches with
//! bookmarks and 410 Gone, and Table output for `kubectl get`.
//!
//! [`Sandbox::requests`] records every API call so tests can assert, for
//! example, that a controller makes no writes in its steady state.
//!
//! Deliberately absent: authentication and authorization, admission,
//! schema validation/pruning/defaulting, garbage collection, protobuf, and
//! any workload controllers. Each approximation is marked `Limitation:` where
//! it lives and listed in the crate README.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube::api::{Api, PostParams};
//!
//! let sandbox = kube_sandbox::Sandbox::start().await?;
//! let mark = sandbox.requests().mark();
//! let cms: Api<ConfigMap> = Api::default_namespaced(sandbox.client());
//! let mut cm = ConfigMap::default();
//! cm.metadata.name = Some("demo".into());
//! cms.create(&PostParams::default(), &cm).await?;
//! assert_eq!(sandbox.requests().since(mark).writes_to("configmaps"), 1);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod catalog;
mod error;
mod fields;
mod jsonpath;
mod kubeconfig;
mod request_log;
mod sandbox;
mod selector;
mod store;

pub use error::SandboxError;
pub use request_log::{RecordedRequest, RequestLog, RequestMark, Requests, Verb};
pub use sandbox::{Sandbox, SandboxOptions};
