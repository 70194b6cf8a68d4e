//! The CDE API: endpoint table, body models, typed errors and the HTTP client.
//!
//! Nothing outside this module knows a CDE path or a CDE message string.

pub mod endpoints;
pub mod models;
