//! The log of requests that reached a CDE route, with counts per method and endpoint.
//!
//! Every request that matched a CDE route is recorded the moment it arrives — before fault
//! injection and authentication — so refused, faulted and abandoned requests all count.
//! Requests to `/_sim/` hooks and to unknown paths are not recorded. Tests use the counts to
//! assert call budgets ("exactly one `GET show-connector` per interval").

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::cde::endpoints::Endpoint;

/// At most this many records are kept; older ones are forgotten (counts are not).
const LOG_CAPACITY: usize = 10_000;

/// One request to a CDE route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RequestRecord {
    /// Arrival order, from 1; keeps counting when the log is reset.
    pub seq: u64,
    pub method: String,
    /// The endpoint's stable name, e.g. `show-connector`.
    pub endpoint: &'static str,
    pub path: String,
    /// The status answered; `None` while in flight, or when the connection was dropped or the
    /// client went away first.
    pub status: Option<u16>,
}

impl RequestRecord {
    /// The key of this request in [`Simulator::request_counts`], e.g. `GET show-connector`.
    ///
    /// [`Simulator::request_counts`]: super::Simulator::request_counts
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.endpoint)
    }
}

/// Records and counts of CDE requests since the last reset.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    last_seq: u64,
    records: VecDeque<RequestRecord>,
    counts: BTreeMap<String, u64>,
}

impl RequestLog {
    /// Records an arriving request; returns its sequence number for [`RequestLog::finish`].
    pub fn arrive(&mut self, method: &str, endpoint: Endpoint, path: &str) -> u64 {
        self.last_seq += 1;
        let record = RequestRecord {
            seq: self.last_seq,
            method: method.to_owned(),
            endpoint: endpoint.name(),
            path: path.to_owned(),
            status: None,
        };
        *self.counts.entry(record.key()).or_default() += 1;
        if self.records.len() == LOG_CAPACITY {
            self.records.pop_front();
        }
        self.records.push_back(record);
        self.last_seq
    }

    /// Notes the status answered to request `seq` (no-op if it was reset or forgotten since).
    pub fn finish(&mut self, seq: u64, status: u16) {
        if let Some(record) = self.records.iter_mut().rev().find(|r| r.seq == seq) {
            record.status = Some(status);
        }
    }

    /// Requests per `"METHOD endpoint-name"` since the last reset.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.clone()
    }

    /// The most recent records (up to 10 000), oldest first.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.records.iter().cloned().collect()
    }

    /// Forgets records and counts; sequence numbers keep increasing.
    pub fn reset(&mut self) {
        self.records.clear();
        self.counts.clear();
    }
}
