//! One in-flight request per key: concurrent callers with the same key share its result.
//!
//! Objects that declare different versions of one connector all read the same
//! `GET /connectors/{id}`; when their reconciles overlap, only the first sends it. Deliberately
//! absent: caching. An entry lives only while its request runs, so a caller that arrives after
//! the answer sends a new request and sees fresh remote state.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Mutex, PoisonError},
};

use futures::{
    future::{BoxFuture, Shared, WeakShared},
    FutureExt,
};

/// Shares one running future per key among concurrent callers.
pub struct SingleFlight<K, T> {
    state: Mutex<Flights<K, T>>,
}

struct Flights<K, T> {
    /// Weak, so that a request whose callers have all gone away is dropped (and cancelled)
    /// instead of being kept alive by the table.
    running: HashMap<K, (u64, WeakShared<BoxFuture<'static, T>>)>,
    next_id: u64,
}

impl<K, T> Default for SingleFlight<K, T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(Flights {
                running: HashMap::new(),
                next_id: 0,
            }),
        }
    }
}

impl<K, T> SingleFlight<K, T>
where
    K: Eq + Hash + Clone,
    T: Clone + Send + Sync + 'static,
{
    /// Runs `start()` for `key`, or joins the run already in flight for it, and returns its
    /// result.
    ///
    /// `start` is called only when no run for `key` is in flight. The run is driven by whichever
    /// caller polls it: if the caller that started it is cancelled, the others carry on, and if
    /// every caller is cancelled, the run is dropped. Trap: a caller arriving in the instant
    /// between the end of a run and its removal from the table receives that just-finished
    /// result.
    pub async fn run(&self, key: K, start: impl FnOnce() -> BoxFuture<'static, T>) -> T {
        let (id, flight) = self.join_or_start(&key, start);

        let result = flight.await;

        // NB: the lock only guards the table, never an await, so a poisoned lock is still usable.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state
            .running
            .get(&key)
            .is_some_and(|(running, _)| *running == id)
        {
            state.running.remove(&key);
        }
        result
    }

    fn join_or_start(
        &self,
        key: &K,
        start: impl FnOnce() -> BoxFuture<'static, T>,
    ) -> (u64, Shared<BoxFuture<'static, T>>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);

        if let Some((id, weak)) = state.running.get(key) {
            if let Some(flight) = weak.upgrade() {
                return (*id, flight);
            }
        }

        // Runs abandoned by all their callers leave dead entries; drop them while we are here.
        state
            .running
            .retain(|_, (_, weak)| weak.upgrade().is_some());

        let flight = start().shared();
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1);
        // `downgrade` is `None` only for a finished run, and this one has not been polled yet.
        if let Some(weak) = flight.downgrade() {
            state.running.insert(key.clone(), (id, weak));
        }
        (id, flight)
    }

    /// Keys with a run in flight right now (for tests and diagnostics).
    pub fn in_flight(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .running
            .values()
            .filter(|(_, weak)| weak.upgrade().is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
        time::Duration,
    };

    use futures::future::join_all;

    use super::*;

    fn counted(starts: &Arc<AtomicUsize>, value: u32) -> BoxFuture<'static, u32> {
        starts.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            value
        }
        .boxed()
    }

    #[tokio::test]
    async fn concurrent_callers_with_one_key_share_one_run() {
        let flights = SingleFlight::<&str, u32>::default();
        let starts = Arc::new(AtomicUsize::new(0));

        let results = join_all((0..5).map(|i| {
            let starts = &starts;
            flights.run("a", move || counted(starts, i))
        }))
        .await;

        assert_eq!(starts.load(Ordering::SeqCst), 1);
        assert_eq!(results, vec![0; 5]);
        assert_eq!(flights.in_flight(), 0, "finished runs leave the table");
    }

    #[tokio::test]
    async fn different_keys_and_later_callers_start_their_own_run() {
        let flights = SingleFlight::<&str, u32>::default();
        let starts = Arc::new(AtomicUsize::new(0));

        let (a, b) = tokio::join!(
            flights.run("a", || counted(&starts, 1)),
            flights.run("b", || counted(&starts, 2))
        );
        let again = flights.run("a", || counted(&starts, 3)).await;

        assert_eq!((a, b, again), (1, 2, 3));
        assert_eq!(starts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_run_abandoned_by_every_caller_is_not_joined_later() {
        let flights = SingleFlight::<&str, u32>::default();
        let starts = Arc::new(AtomicUsize::new(0));

        let abandoned = tokio::time::timeout(
            Duration::from_millis(1),
            flights.run("a", || {
                async { std::future::pending::<u32>().await }.boxed()
            }),
        )
        .await;
        assert!(abandoned.is_err());

        let fresh = flights.run("a", || counted(&starts, 7)).await;
        assert_eq!(fresh, 7);
        assert_eq!(starts.load(Ordering::SeqCst), 1);
    }
}
