//! When to look again: per-object streaks and the requeue arithmetic.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// Per-object counters (consecutive failures, consecutive polls), keyed by `namespace/name`.
#[derive(Debug, Default)]
pub struct Streaks(Mutex<HashMap<String, u32>>);

impl Streaks {
    /// Increments and returns the new streak for `key` (1 on the first call).
    pub fn bump(&self, key: &str) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(key.to_owned()).or_default();
        *n = n.saturating_add(1);
        *n
    }

    /// Resets the streak for `key`.
    pub fn reset(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// `base * 2^(streak-1)`, capped at `max`.
pub fn exponential(base: Duration, streak: u32, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(streak.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(max)
}

/// `interval` moved by up to ±10%, so objects created together do not poll together.
/// `unit` is a uniformly random number in [0, 1).
pub fn jittered(interval: Duration, unit: f64) -> Duration {
    let spread = interval.as_secs_f64() * 0.1;
    let seconds = interval.as_secs_f64() + spread * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    // NB: validated intervals are far below the limit; anything else falls back unjittered
    // rather than panicking.
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(interval)
}

/// The delay after a retryable failure: exponential per object, but never shorter than the
/// server's `Retry-After`.
pub fn after_failure(
    base: Duration,
    streak: u32,
    max: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let backoff = exponential(base, streak, max);
    retry_after.map_or(backoff, |r| backoff.max(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_failure_up_to_the_cap() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(300);
        let seen: Vec<u64> = (1..=11)
            .map(|n| exponential(base, n, max).as_secs())
            .collect();
        assert_eq!(seen, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn retry_after_wins_when_longer_than_the_backoff() {
        let d = after_failure(
            Duration::from_secs(1),
            1,
            Duration::from_secs(300),
            Some(Duration::from_secs(42)),
        );
        assert_eq!(d, Duration::from_secs(42));
    }

    #[test]
    fn jitter_of_a_huge_interval_does_not_panic() {
        assert_eq!(jittered(Duration::MAX, 0.99), Duration::MAX);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let i = Duration::from_secs(600);
        assert_eq!(jittered(i, 0.0), Duration::from_secs(540));
        assert_eq!(jittered(i, 0.5), Duration::from_secs(600));
        assert!(jittered(i, 0.999_999) <= Duration::from_secs(660));
    }

    #[test]
    fn streaks_count_per_object_and_reset() {
        let s = Streaks::default();
        assert_eq!(s.bump("a/x"), 1);
        assert_eq!(s.bump("a/x"), 2);
        assert_eq!(s.bump("a/y"), 1);
        s.reset("a/x");
        assert_eq!(s.bump("a/x"), 1);
    }
}
