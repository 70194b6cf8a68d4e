//! Watch streams: newline-delimited JSON events (`ADDED`, `MODIFIED`,
//! `DELETED`, `BOOKMARK`, `ERROR`) written by one task per watch.
//!
//! A watch starts from a revision (replaying retained history), or from now
//! with synthetic ADDED events for current objects (`resourceVersion` empty
//! or `"0"`, or `sendInitialEvents=true`, which ends the initial batch with a
//! BOOKMARK annotated `k8s.io/initial-events-end`). A revision the history no
//! longer reaches is answered like the real server: HTTP 200 and a single
//! ERROR event carrying a 410 `Expired` Status, so clients relist.
//!
//! Selectors are applied per event with the object's previous state: an
//! object that stops matching is reported DELETED, one that starts matching
//! ADDED.
//!
//! Limitation: without `timeoutSeconds` a watch lasts 30 minutes (the real
//! server picks a random time between 30 and 60).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{interval_at, sleep_until, Instant};

use super::path::ResourcePath;
use super::query::Query;
use super::resource::filter;
use super::table::{self, IncludeObject};
use super::App;
use crate::catalog::ResourceType;
use crate::error::ApiError;
use crate::selector::Filter;
use crate::store::{Change, ChangeKind, Location, WatchStart};

const DEFAULT_TIMEOUT: Duration = Duration::from_mins(30);
/// Events buffered per watch before the writer waits for the client.
const STREAM_BUFFER: usize = 256;

/// One running watch.
struct Watch {
    rt: ResourceType,
    version: String,
    namespace: Option<String>,
    name: Option<String>,
    filter: Filter,
    table: Option<IncludeObject>,
    bookmarks: bool,
    tx: mpsc::Sender<Bytes>,
}

fn line(value: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn expired_event(message: &str) -> Value {
    json!({"type": "ERROR", "object": ApiError::Gone(message.to_owned()).to_status()})
}

/// Starts a watch and returns the streaming response.
pub(super) fn serve(
    app: &Arc<App>,
    rt: ResourceType,
    target: &ResourcePath,
    query: &Query,
    table: Option<IncludeObject>,
) -> Result<Response, ApiError> {
    let filter = filter(query, &rt.plural)?;
    let from = match query.resource_version.as_deref() {
        None | Some("" | "0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resource version {rv:?}")))?,
        ),
    };
    let loc = Location {
        rt: &rt,
        version: &target.version,
        namespace: target.namespace.as_deref(),
    };
    let start = app
        .store
        .lock()
        .watch(&loc, from, query.send_initial_events);

    let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    match start {
        Err(ApiError::Gone(message)) => {
            // Buffer has room: the channel is new and this is its only message.
            let _ = tx.try_send(line(&expired_event(&message)));
        }
        Err(e) => return Err(e),
        Ok(start) => {
            let watch = Watch {
                version: target.version.clone(),
                namespace: target.namespace.clone(),
                name: target.name.clone(),
                rt,
                filter,
                table,
                bookmarks: query.allow_watch_bookmarks,
                tx,
            };
            let timeout = query
                .timeout_seconds
                .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
            let initial_end = query.send_initial_events;
            tokio::spawn(watch.run(
                start,
                initial_end,
                timeout,
                app.bookmark_interval,
                app.shutdown.clone(),
            ));
        }
    }
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

impl Watch {
    fn loc(&self) -> Location<'_> {
        Location {
            rt: &self.rt,
            version: &self.version,
            namespace: self.namespace.as_deref(),
        }
    }

    fn matches(&self, obj: &Value) -> bool {
        let name_ok = self
            .name
            .as_deref()
            .is_none_or(|n| obj.pointer("/metadata/name").and_then(Value::as_str) == Some(n));
        name_ok && self.filter.matches(obj)
    }

    fn event(&self, kind: &str, obj: Value) -> Bytes {
        let object = match self.table {
            Some(include) => {
                let rv = obj
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                table::render(&self.rt, &[obj], &json!({"resourceVersion": rv}), include)
            }
            None => obj,
        };
        line(&json!({"type": kind, "object": object}))
    }

    fn bookmark(&self, revision: u64, initial_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(&json!({
            "type": "BOOKMARK",
            "object": {"apiVersion": self.rt.api_version(&self.version), "kind": self.rt.kind, "metadata": metadata},
        }))
    }

    /// The event a change produces for this watch, if any.
    fn translate(&self, change: &Change) -> Option<Bytes> {
        if change.resource != self.rt.storage_resource() {
            return None;
        }
        if let Some(ns) = &self.namespace {
            if self.rt.namespaced && change.namespace != *ns {
                return None;
            }
        }
        let object = self.loc().present(change.object.clone());
        let now = self.matches(&object);
        let before = change
            .previous
            .as_ref()
            .is_some_and(|p| self.matches(&self.loc().present(p.clone())));
        let kind = match change.kind {
            ChangeKind::Modified if now && before => "MODIFIED",
            ChangeKind::Added | ChangeKind::Modified if now => "ADDED",
            ChangeKind::Modified if before => "DELETED",
            ChangeKind::Deleted if now => "DELETED",
            _ => return None,
        };
        Some(self.event(kind, object))
    }

    async fn send(&self, bytes: Bytes) -> bool {
        self.tx.send(bytes).await.is_ok()
    }

    async fn run(
        self,
        start: WatchStart,
        initial_end: bool,
        timeout: Duration,
        bookmark_interval: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let WatchStart {
            initial,
            replay,
            mut live,
            revision,
        } = start;
        for obj in initial.into_iter().filter(|o| self.matches(o)) {
            if !self.send(self.event("ADDED", obj)).await {
                return;
            }
        }
        if initial_end && !self.send(self.bookmark(revision, true)).await {
            return;
        }
        for change in &replay {
            if let Some(ev) = self.translate(change) {
                if !self.send(ev).await {
                    return;
                }
            }
        }

        // Everything up to `last` has been delivered (or filtered out); bookmarks promise exactly that.
        let mut last = revision;
        let deadline = Instant::now() + timeout;
        let mut ticker = interval_at(Instant::now() + bookmark_interval, bookmark_interval);
        loop {
            tokio::select! {
                () = sleep_until(deadline) => break,
                _ = shutdown.changed() => break,
                () = self.tx.closed() => break,
                _ = ticker.tick(), if self.bookmarks => {
                    if !self.send(self.bookmark(last, false)).await {
                        break;
                    }
                }
                received = live.recv() => match received {
                    Ok(change) => {
                        if change.revision <= last {
                            continue;
                        }
                        last = change.revision;
                        if let Some(ev) = self.translate(&change) {
                            if !self.send(ev).await {
                                break;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = self.send(line(&expired_event("the watch fell too far behind; relist"))).await;
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    }
}
