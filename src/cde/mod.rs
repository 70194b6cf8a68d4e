//! The CDE API: endpoint table, body models, typed errors and the HTTP client.
//!
//! Nothing outside this module knows a CDE path or a CDE message string.

mod answer;
pub mod client;
pub mod config;
pub mod endpoints;
pub mod error;
pub mod limiter;
pub mod models;
pub mod single_flight;
pub mod token;

pub use client::{CdeClient, ClientConfig, MutationOutcome};
pub use error::{classify, CdeError};
pub use token::{Token, TokenError};
