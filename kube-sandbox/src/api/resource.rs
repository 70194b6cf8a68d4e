//! Requests to resource URLs: verb selection, body decoding, dispatch to the
//! store, rendering (JSON or Table), and one request-log record per request.
//!
//! Limitation: `resourceVersion`/`resourceVersionMatch` on GET and LIST are
//! accepted but ignored (the latest state is always served), and pages after
//! the first of a `limit`/`continue` list read the current state rather than
//! a snapshot taken with the first page.
//!
//! Limitation: there is no authentication or authorization (any or no bearer
//! token is accepted), no admission, and `gracePeriodSeconds` is ignored.

use std::sync::Arc;

use axum::http::{header, HeaderMap, Method};
use axum::response::Response;
use serde_json::{json, Value};

use super::path::ResourcePath;
use super::query::Query;
use super::table::{self, IncludeObject};
use super::{error_response, json_response, watch, App};
use crate::catalog::ResourceType;
use crate::error::ApiError;
use crate::request_log::{RecordedRequest, Verb};
use crate::selector::{FieldSelector, Filter, LabelSelector};
use crate::store::{Location, ObjectKey, PatchBody, Preconditions, State};

/// Content types of PATCH bodies.
const APPLY: &str = "application/apply-patch+yaml";
const MERGE: &str = "application/merge-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

fn verb(method: &Method, target: &ResourcePath, query: &Query) -> Option<Verb> {
    let named = target.name.is_some();
    Some(match (method.as_str(), named) {
        ("GET", _) if query.watch => Verb::Watch,
        ("GET", true) => Verb::Get,
        ("GET", false) => Verb::List,
        ("POST", false) => Verb::Create,
        ("PUT", true) => Verb::Update,
        ("PATCH", true) => Verb::Patch,
        ("DELETE", true) => Verb::Delete,
        ("DELETE", false) => Verb::DeleteCollection,
        _ => return None,
    })
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Field manager of a non-apply write: the `fieldManager` parameter, else
/// the User-Agent up to its first `/`, as the real server derives it.
fn manager(query: &Query, headers: &HeaderMap) -> String {
    query.field_manager.clone().unwrap_or_else(|| {
        let agent = header_str(headers, header::USER_AGENT);
        let prefix = agent.split('/').next().unwrap_or_default().trim();
        if prefix.is_empty() {
            "unknown".to_owned()
        } else {
            prefix.to_owned()
        }
    })
}

/// Handles one resource request and records it in the request log.
pub(super) fn handle(
    app: &Arc<App>,
    method: &Method,
    target: &ResourcePath,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Some(verb) = verb(method, target, query) else {
        return error_response(&ApiError::MethodNotAllowed(format!(
            "{method} is not allowed here"
        )));
    };
    let content_type = header_str(headers, header::CONTENT_TYPE);
    let response = match resolve(app, target) {
        Err(e) => error_response(&e),
        Ok(rt) if verb == Verb::Watch => {
            let include = table::wants_table(header_str(headers, header::ACCEPT))
                .then(|| IncludeObject::parse(query.include_object.as_deref()));
            watch::serve(app, rt, target, query, include).unwrap_or_else(|e| error_response(&e))
        }
        Ok(rt) => match run(app, &rt, verb, target, query, headers, body) {
            Ok((code, value)) => json_response(code, &value),
            Err(e) => error_response(&e),
        },
    };
    let status = response.status().as_u16();
    if verb.is_write() {
        tracing::info!(verb = %verb, resource = %target.plural, subresource = ?target.subresource, namespace = ?target.namespace, object = ?target.name, status, "write");
    } else {
        tracing::debug!(verb = %verb, resource = %target.plural, namespace = ?target.namespace, object = ?target.name, status, "read");
    }
    app.log.record(RecordedRequest {
        verb,
        group: target.group.clone(),
        version: target.version.clone(),
        resource: target.plural.clone(),
        subresource: target.subresource.clone(),
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        field_manager: query.field_manager.clone(),
        patch_type: (verb == Verb::Patch).then(|| content_type.to_owned()),
        status,
    });
    response
}

/// The served type behind a resource URL, checking scope and subresource.
fn resolve(app: &App, target: &ResourcePath) -> Result<ResourceType, ApiError> {
    let rt = app
        .store
        .resolve(&target.group, &target.version, &target.plural)
        .ok_or(ApiError::PathNotFound)?;
    if !rt.namespaced && target.namespace.is_some() {
        return Err(ApiError::PathNotFound);
    }
    match target.subresource.as_deref() {
        None => Ok(rt),
        Some("status") if rt.status_subresource => Ok(rt),
        Some(_) => Err(ApiError::PathNotFound),
    }
}

pub(super) fn filter(query: &Query, resource: &str) -> Result<Filter, ApiError> {
    Ok(Filter {
        labels: LabelSelector::parse(query.label_selector.as_deref().unwrap_or_default())
            .map_err(|e| ApiError::BadRequest(format!("unable to parse requirement: {e}")))?,
        fields: FieldSelector::parse(
            query.field_selector.as_deref().unwrap_or_default(),
            resource,
        )
        .map_err(ApiError::BadRequest)?,
    })
}

fn decode(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    let parsed = if content_type.contains("yaml") {
        serde_json::from_slice(body).or_else(|_| {
            let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())
        })
    } else if content_type.contains("protobuf") {
        // Limitation: no protobuf. kubectl's imperative `create` commands for built-in
        // types send protobuf and fail with 415; `kubectl apply -f`/`create -f` send JSON.
        return Err(ApiError::UnsupportedMediaType(format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml; got {content_type}")));
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| ApiError::BadRequest(format!("the request body could not be decoded: {e}")))
}

fn decode_object(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    match decode(content_type, body)? {
        v @ Value::Object(_) => Ok(v),
        _ => Err(ApiError::BadRequest(
            "the request body must be an object".into(),
        )),
    }
}

fn required_name(target: &ResourcePath) -> &str {
    target.name.as_deref().unwrap_or_default()
}

#[allow(clippy::too_many_lines)] // One match arm per verb; splitting it would scatter the dispatch table.
fn run(
    app: &App,
    rt: &ResourceType,
    verb: Verb,
    target: &ResourcePath,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let loc = Location {
        rt,
        version: &target.version,
        namespace: target.namespace.as_deref(),
    };
    let table = table::wants_table(header_str(headers, header::ACCEPT))
        .then(|| IncludeObject::parse(query.include_object.as_deref()));
    let content_type = header_str(headers, header::CONTENT_TYPE);
    let status = target.subresource.as_deref() == Some("status");
    let name = required_name(target);
    let manager = manager(query, headers);

    let mut guard = app.store.lock();
    // dryRun=All works on a detached copy: same answers, nothing stored or watched.
    let mut detached;
    let state: &mut State = if query.dry_run && verb.is_write() {
        detached = guard.detached();
        &mut detached
    } else {
        &mut guard
    };

    match verb {
        Verb::Get => {
            let obj = state.get(&loc, name)?;
            Ok((
                200,
                match table {
                    Some(include) => table::render(
                        rt,
                        &[obj],
                        &json!({"resourceVersion": state.revision().to_string()}),
                        include,
                    ),
                    None => obj,
                },
            ))
        }
        Verb::List => list(state, &loc, query, table),
        Verb::Create => {
            let obj = decode_object(content_type, body)?;
            Ok((201, state.create(&loc, obj, &manager)?))
        }
        Verb::Update => {
            let obj = decode_object(content_type, body)?;
            Ok((200, state.replace(&loc, name, obj, &manager, status)?))
        }
        Verb::Patch => {
            let media = content_type.split(';').next().unwrap_or_default().trim();
            if media == APPLY {
                let field_manager = query.field_manager.as_deref().ok_or_else(|| {
                    ApiError::BadRequest(
                        "PATCH requests with apply-patch+yaml must specify fieldManager".into(),
                    )
                })?;
                let config = decode_object("application/yaml", body)?;
                let existed = state.get(&loc, name).is_ok();
                let obj = state.apply(&loc, name, &config, field_manager, query.force, status)?;
                return Ok((if existed { 200 } else { 201 }, obj));
            }
            let patch = match media {
                MERGE => PatchBody::Merge(decode(content_type, body)?),
                STRATEGIC => PatchBody::StrategicMerge(decode(content_type, body)?),
                JSON_PATCH => PatchBody::Json(
                    serde_json::from_slice(body)
                        .map_err(|e| ApiError::BadRequest(format!("invalid JSON patch: {e}")))?,
                ),
                other => {
                    return Err(ApiError::UnsupportedMediaType(format!(
                        "the body of the request was in an unknown format - accepted media types include: {JSON_PATCH}, {MERGE}, {APPLY}, {STRATEGIC}; got {other:?}"
                    )))
                }
            };
            Ok((200, state.patch(&loc, name, &patch, &manager, status)?))
        }
        Verb::Delete => {
            let pre = preconditions(body)?;
            let deleted = state.delete(&loc, name, &pre)?;
            if deleted.removed && !rt.returns_deleted_object {
                let uid = deleted
                    .object
                    .pointer("/metadata/uid")
                    .cloned()
                    .unwrap_or(Value::Null);
                Ok((
                    200,
                    json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": uid},
                    }),
                ))
            } else {
                Ok((200, deleted.object))
            }
        }
        Verb::DeleteCollection => {
            let filter = filter(query, &rt.plural)?;
            let names: Vec<(ObjectKey, Value)> = state
                .list(&loc, None)
                .into_iter()
                .filter(|(_, o)| filter.matches(o))
                .collect();
            let mut items = Vec::new();
            for (key, _) in names {
                let loc = Location {
                    namespace: Some(key.namespace.as_str()).filter(|n| !n.is_empty()),
                    ..loc
                };
                items.push(
                    state
                        .delete(&loc, &key.name, &Preconditions::default())?
                        .object,
                );
            }
            Ok((
                200,
                json!({
                    "apiVersion": rt.api_version(&target.version), "kind": rt.list_kind,
                    "metadata": {"resourceVersion": state.revision().to_string()}, "items": items,
                }),
            ))
        }
        Verb::Watch => Err(ApiError::Internal("watch is served as a stream".into())),
    }
}

/// `DeleteOptions.preconditions` from an optional JSON body.
fn preconditions(body: &[u8]) -> Result<Preconditions, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Preconditions::default());
    }
    let opts: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?;
    let field = |f: &str| {
        opts.pointer(&format!("/preconditions/{f}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(Preconditions {
        uid: field("uid"),
        resource_version: field("resourceVersion"),
    })
}

/// Continue tokens are `revision/namespace/name` of the last item served.
fn parse_continue(token: &str) -> Result<(String, ObjectKey), ApiError> {
    let mut parts = token.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(rv), Some(namespace), Some(name)) if !rv.is_empty() => Ok((
            rv.to_owned(),
            ObjectKey {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
        )),
        _ => Err(ApiError::BadRequest(format!(
            "invalid continue token {token:?}"
        ))),
    }
}

fn list(
    state: &State,
    loc: &Location<'_>,
    query: &Query,
    table: Option<IncludeObject>,
) -> Result<(u16, Value), ApiError> {
    let filter = filter(query, &loc.rt.plural)?;
    let (revision, after) = match &query.continue_token {
        Some(token) => {
            let (rv, key) = parse_continue(token)?;
            (rv, Some(key))
        }
        None => (state.revision().to_string(), None),
    };
    let mut items: Vec<(ObjectKey, Value)> = state
        .list(loc, after.as_ref())
        .into_iter()
        .filter(|(_, o)| filter.matches(o))
        .collect();
    let mut meta = json!({ "resourceVersion": revision });
    if let Some(limit) = query.limit.filter(|l| items.len() > *l) {
        let remaining = items.len() - limit;
        items.truncate(limit);
        if let (Some((last, _)), Some(m)) = (items.last(), meta.as_object_mut()) {
            m.insert(
                "continue".into(),
                json!(format!("{revision}/{}/{}", last.namespace, last.name)),
            );
            m.insert("remainingItemCount".into(), json!(remaining));
        }
    }
    let objects: Vec<Value> = items.into_iter().map(|(_, o)| o).collect();
    Ok((
        200,
        match table {
            Some(include) => table::render(loc.rt, &objects, &meta, include),
            None => json!({
                "apiVersion": loc.rt.api_version(loc.version),
                "kind": loc.rt.list_kind,
                "metadata": meta,
                "items": objects,
            }),
        },
    ))
}
