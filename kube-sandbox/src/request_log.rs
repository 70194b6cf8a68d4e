//! The request log tests use to count API calls, above all writes.
//!
//! Every request to a resource path is recorded once, when its response is
//! ready (for watches: when the stream starts), whatever the outcome; the
//! HTTP status is kept so a test can tell failed writes apart. Discovery,
//! `/version` and other non-resource paths are not recorded.
//!
//! Typical use: take a [`RequestMark`], let the operator run for an interval,
//! then ask [`RequestLog::since`] how many writes happened and to what.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// Most records kept; older ones are dropped first (marks stay valid).
const MAX_RECORDS: usize = 100_000;

/// The kind of API call, named as in Kubernetes audit logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    /// POST, PUT, PATCH and DELETE are writes; GET (including list and watch) is not.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Patch | Self::Delete | Self::DeleteCollection
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded API call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub verb: Verb,
    /// API group, empty for the core group.
    pub group: String,
    pub version: String,
    /// Plural resource name, e.g. `connectorversions`, `events`, `leases`.
    pub resource: String,
    /// `status` for `/status` calls.
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The `fieldManager` query parameter, when the client sent one.
    pub field_manager: Option<String>,
    /// `Content-Type` of a PATCH, e.g. `application/apply-patch+yaml`.
    pub patch_type: Option<String>,
    /// HTTP status code of the response.
    pub status: u16,
}

impl RecordedRequest {
    pub fn is_write(&self) -> bool {
        self.verb.is_write()
    }

    /// `resource` or `resource/subresource`.
    pub fn target(&self) -> String {
        match &self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.clone(),
        }
    }
}

/// A position in the log; see [`RequestLog::since`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestMark(u64);

#[derive(Debug, Default)]
struct Inner {
    records: VecDeque<(u64, RecordedRequest)>,
    next: u64,
}

/// Shared handle to a sandbox's request log; clones see the same log.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Inner>>,
}

impl RequestLog {
    fn with_inner<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic elsewhere cannot leave a half-written record; use the data as is.
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        self.with_inner(|inner| {
            if inner.records.len() == MAX_RECORDS {
                inner.records.pop_front();
            }
            let seq = inner.next;
            inner.next += 1;
            inner.records.push_back((seq, request));
        });
    }

    /// The current position: later calls to [`RequestLog::since`] with it see
    /// only requests recorded after this call.
    pub fn mark(&self) -> RequestMark {
        self.with_inner(|inner| RequestMark(inner.next))
    }

    /// Requests recorded after `mark`.
    ///
    /// Trap: a request is recorded when its response is ready, so a write
    /// whose response the client has received is always included, but one
    /// still in flight when this is called is not.
    pub fn since(&self, mark: RequestMark) -> Requests {
        self.with_inner(|inner| Requests {
            records: inner
                .records
                .iter()
                .filter(|(seq, _)| *seq >= mark.0)
                .map(|(_, r)| r.clone())
                .collect(),
        })
    }

    /// Every retained request (the newest 100 000).
    pub fn snapshot(&self) -> Requests {
        self.since(RequestMark(0))
    }

    /// Forgets everything recorded so far.
    pub fn reset(&self) {
        self.with_inner(|inner| inner.records.clear());
    }
}

/// A snapshot of recorded requests with counting helpers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    records: Vec<RecordedRequest>,
}

impl Requests {
    pub fn records(&self) -> &[RecordedRequest] {
        &self.records
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Requests for which `pred` holds.
    pub fn count(&self, pred: impl Fn(&RecordedRequest) -> bool) -> usize {
        self.records.iter().filter(|r| pred(r)).count()
    }

    /// GET requests (get, list, watch).
    pub fn reads(&self) -> usize {
        self.count(|r| !r.is_write())
    }

    /// POST, PUT, PATCH and DELETE requests, to any resource or subresource.
    pub fn writes(&self) -> usize {
        self.count(RecordedRequest::is_write)
    }

    pub fn by_verb(&self, verb: Verb) -> usize {
        self.count(|r| r.verb == verb)
    }

    /// Writes to `resource` (plural), main resource and subresources together.
    pub fn writes_to(&self, resource: &str) -> usize {
        self.count(|r| r.is_write() && r.resource == resource)
    }

    /// Writes to `resource`'s `/status` subresource only.
    pub fn status_writes_to(&self, resource: &str) -> usize {
        self.count(|r| {
            r.is_write() && r.resource == resource && r.subresource.as_deref() == Some("status")
        })
    }

    /// Writes by field manager `manager` (as sent in `fieldManager`).
    pub fn writes_by_manager(&self, manager: &str) -> usize {
        self.count(|r| r.is_write() && r.field_manager.as_deref() == Some(manager))
    }

    /// Events created, through either `v1` or `events.k8s.io/v1`.
    pub fn events_created(&self) -> usize {
        self.count(|r| r.verb == Verb::Create && r.resource == "events")
    }

    /// Writes of any kind to `coordination.k8s.io` leases.
    pub fn lease_writes(&self) -> usize {
        self.count(|r| r.is_write() && r.resource == "leases")
    }

    /// Write counts keyed `"verb resource[/subresource]"`, for assertion messages.
    pub fn write_summary(&self) -> BTreeMap<String, usize> {
        let mut summary = BTreeMap::new();
        for r in self.records.iter().filter(|r| r.is_write()) {
            *summary
                .entry(format!("{} {}", r.verb, r.target()))
                .or_insert(0) += 1;
        }
        summary
    }
}

impl fmt::Display for Requests {
    /// One line per write kind with its count, then the read total.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (what, n) in self.write_summary() {
            writeln!(f, "{n:>5} {what}")?;
        }
        write!(f, "{:>5} reads", self.reads())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(verb: Verb, resource: &str, sub: Option<&str>) -> RecordedRequest {
        RecordedRequest {
            verb,
            group: String::new(),
            version: "v1".into(),
            resource: resource.into(),
            subresource: sub.map(Into::into),
            namespace: None,
            name: None,
            field_manager: None,
            patch_type: None,
            status: 200,
        }
    }

    #[test]
    fn marks_split_the_log_and_reset_keeps_marks_valid() {
        let log = RequestLog::default();
        log.record(request(Verb::List, "widgets", None));
        let mark = log.mark();
        log.record(request(Verb::Patch, "widgets", Some("status")));
        log.record(request(Verb::Create, "events", None));
        let since = log.since(mark);
        assert_eq!((since.reads(), since.writes()), (0, 2));
        assert_eq!(since.status_writes_to("widgets"), 1);
        assert_eq!(since.events_created(), 1);
        assert_eq!(log.snapshot().len(), 3);

        log.reset();
        let after_reset = log.mark();
        log.record(request(Verb::Get, "widgets", None));
        assert_eq!(log.since(after_reset).len(), 1);
        assert_eq!(
            log.since(mark).len(),
            1,
            "records from before the reset are gone"
        );
    }
}
