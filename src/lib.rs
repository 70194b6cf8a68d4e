//! cde-operator: keeps Productsup CDE connector versions in the deployment stage a cluster
//! declares.
//!
//! The layout follows the reconcile pipeline: [`resource`] is what users write, [`cde`] is the
//! remote API (one endpoint table, typed errors, the HTTP client), [`reconcile`] decides and
//! acts (observe → plan → act → report, with the decision and the status pure), and
//! [`controller`] wires it to kube-runtime, behind [`leader`] election. [`sim`] is a stateful CDE simulator for tests and
//! the demo; [`demo`] runs everything on a local sandbox; [`preview`] is the read-only
//! `plan` command; [`telemetry`] holds logs, metrics and health.

pub mod cde;
pub mod controller;
pub mod demo;
pub mod leader;
pub mod preview;
pub mod reconcile;
pub mod resource;
pub mod sim;
pub mod telemetry;
