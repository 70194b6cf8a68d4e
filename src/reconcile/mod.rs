//! The reconcile pipeline: observe → plan → act → report.
//!
//! `observe`, `plan` and `status` are pure and never see a client; `act` and the pipeline in
//! this module do the I/O.

pub mod act;
pub mod backoff;
pub mod conflict;
pub mod context;
pub mod credentials;
pub mod observe;
pub mod operation;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod status;
