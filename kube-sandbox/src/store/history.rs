//! The watch history: a bounded ring buffer of recent changes, and the rule
//! for which starting revisions can still be replayed.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;

use crate::catalog::GroupResource;

/// The revision the sandbox starts counting from; the first write gets the
/// next one.
///
/// Starting well above 1 means small revisions such as `"1"`, which clients
/// sometimes pass to mean "some old point in time", were never served by
/// this sandbox. They read as compacted: a watch from them answers
/// `410 Gone`, exactly as a long-running real cluster would, so the
/// relist-on-410 paths of clients get exercised. Every revision from this one
/// upward is replayable until the ring buffer overflows.
pub(crate) const INITIAL_REVISION: u64 = 1_000;

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One committed change, as watchers see it.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub revision: u64,
    pub resource: GroupResource,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub kind: ChangeKind,
    /// The object after the change (for deletions: its last state, carrying
    /// the deletion's revision).
    pub object: Value,
    /// The object before a modification, so selector-filtered watches can
    /// turn "stopped matching" into DELETED and "started matching" into ADDED.
    pub previous: Option<Value>,
}

/// Bounded history of changes.
#[derive(Clone, Debug)]
pub(crate) struct History {
    changes: VecDeque<Arc<Change>>,
    capacity: usize,
    /// Oldest revision a watch may start from: every change after it is retained.
    floor: u64,
}

impl History {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            changes: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            floor: INITIAL_REVISION,
        }
    }

    pub(crate) fn push(&mut self, change: Arc<Change>) {
        if self.changes.len() == self.capacity {
            if let Some(evicted) = self.changes.pop_front() {
                self.floor = evicted.revision;
            }
        }
        self.changes.push_back(change);
    }

    /// The oldest revision a watch can start from.
    pub(crate) fn floor(&self) -> u64 {
        self.floor
    }

    /// Changes after `revision`, oldest first, or `None` when some of them
    /// were already evicted (the caller answers 410 Gone).
    pub(crate) fn since(&self, revision: u64) -> Option<Vec<Arc<Change>>> {
        if revision < self.floor {
            return None;
        }
        Some(
            self.changes
                .iter()
                .filter(|c| c.revision > revision)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(revision: u64) -> Arc<Change> {
        Arc::new(Change {
            revision,
            resource: GroupResource::new("", "configmaps"),
            namespace: "default".into(),
            kind: ChangeKind::Added,
            object: Value::Null,
            previous: None,
        })
    }

    #[test]
    fn revisions_below_the_start_and_evicted_ones_are_gone() {
        let mut h = History::new(2);
        assert!(
            h.since(1).is_none(),
            "never-served revision reads as compacted"
        );
        assert_eq!(h.since(INITIAL_REVISION).map(|c| c.len()), Some(0));
        for r in 1..=3 {
            h.push(change(INITIAL_REVISION + r));
        }
        assert!(
            h.since(INITIAL_REVISION).is_none(),
            "first change was evicted"
        );
        let replay = h.since(INITIAL_REVISION + 1).unwrap_or_default();
        assert_eq!(
            replay.iter().map(|c| c.revision).collect::<Vec<_>>(),
            vec![1002, 1003]
        );
    }
}
