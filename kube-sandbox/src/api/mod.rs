//! The HTTP layer: one fallback handler that routes every path itself
//! (resource URLs depend on which CRDs exist, so static routes cannot
//! describe them), discovery documents, resource requests, watches, and
//! JSON/Table rendering. Every body is JSON; any or no bearer token is
//! accepted.

mod discovery;
mod openapi;
mod path;
mod query;
mod resource;
mod table;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

use crate::error::ApiError;
use crate::request_log::RequestLog;
use crate::store::Store;
use path::Route;

/// Largest request body accepted (CRDs with big schemas fit comfortably).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Everything a request handler needs.
pub(crate) struct App {
    pub store: Store,
    pub log: RequestLog,
    pub bookmark_interval: Duration,
    /// `host:port` reported in `/api`.
    pub server_address: String,
    /// Flips to `true` when the sandbox shuts down; open watches end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

pub(crate) fn json_response(code: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(bytes),
    )
        .into_response()
}

pub(crate) fn error_response(err: &ApiError) -> Response {
    json_response(err.code(), &err.to_status())
}

async fn dispatch(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = path::route(uri.path());
    if let Route::Resource(target) = route {
        let query = query::Query::parse(uri.query());
        return resource::handle(&app, &method, &target, &query, &headers, &body);
    }
    if method != Method::GET {
        return error_response(&ApiError::MethodNotAllowed(format!(
            "{method} is not supported on {}",
            uri.path()
        )));
    }
    let found = match route {
        Route::Version => Some(discovery::version()),
        Route::Health => return (StatusCode::OK, "ok").into_response(),
        Route::CoreVersions => Some(discovery::core_versions(&app.server_address)),
        Route::Groups => Some(discovery::groups(&app.store.catalog())),
        Route::Group(group) => discovery::group(&app.store.catalog(), &group),
        Route::Resources { group, version } => {
            discovery::resources(&app.store.catalog(), &group, &version)
        }
        Route::OpenApiIndex => Some(openapi::index(&app.store.catalog())),
        Route::OpenApi { group, version } => {
            openapi::group_version(&app.store.catalog(), &group, &version)
        }
        Route::Resource(_) | Route::Unknown => None,
    };
    match found {
        Some(doc) => json_response(200, &doc),
        None => error_response(&ApiError::PathNotFound),
    }
}
