//! A token bucket shared by every request the client sends.
//!
//! The CDE documents no rate limit, so the operator brings its own: at most `burst` requests at
//! once, refilled at `per_second`. Callers wait for a slot; the bucket never refuses one.
//! Deliberately absent: per-connector or per-token buckets (one operator, one global budget) and
//! any fairness beyond the order in which callers reserve.

use std::{
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// A token bucket that hands out waits instead of refusals.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Slots available now; negative while callers are queued for slots not yet refilled.
    available: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    /// A full bucket of `burst` slots, refilled at `per_second`.
    ///
    /// `per_second` must be finite and positive and `burst` at least 1; the client validates its
    /// configuration before building one. Values outside that range are clamped to one slot per
    /// hour and a burst of one, which is slow but never divides by zero.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self::starting_at(per_second, burst, Instant::now())
    }

    fn starting_at(per_second: f64, burst: u32, now: Instant) -> Self {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1.0 / 3600.0
        };
        let burst = f64::from(burst.max(1));
        Self {
            per_second,
            burst,
            bucket: Mutex::new(Bucket {
                available: burst,
                refilled_at: now,
            }),
        }
    }

    /// Waits until the caller may send one request.
    ///
    /// Each caller reserves its slot before waiting, so callers are served in the order they
    /// arrive. Trap: a caller cancelled while it waits does not return its slot; the bucket just
    /// runs one request slower for a moment.
    pub async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes one slot at `now` and returns how long until it is really free.
    fn reserve(&self, now: Instant) -> Duration {
        // NB: the lock only guards arithmetic, never an await, so a poisoned lock still holds
        // consistent numbers.
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);

        let refill = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64()
            * self.per_second;
        bucket.available = (bucket.available + refill).min(self.burst);
        bucket.refilled_at = bucket.refilled_at.max(now);

        bucket.available -= 1.0;
        if bucket.available >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.available / self.per_second)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn burst_passes_at_once_and_the_rest_queue_at_the_refill_rate() {
        let t0 = Instant::now();
        let limiter = RateLimiter::starting_at(4.0, 3, t0);

        let waits: Vec<Duration> = (0..6).map(|_| limiter.reserve(t0)).collect();

        assert_eq!(waits, [ms(0), ms(0), ms(0), ms(250), ms(500), ms(750)]);
    }

    #[test]
    fn slots_refill_while_time_passes() {
        let t0 = Instant::now();
        let limiter = RateLimiter::starting_at(4.0, 1, t0);

        assert_eq!(limiter.reserve(t0), ms(0));
        assert_eq!(
            limiter.reserve(t0 + ms(100)),
            ms(150),
            "the slot refills at 250 ms"
        );
        assert_eq!(
            limiter.reserve(t0 + ms(500)),
            ms(0),
            "queued slot paid, one refilled since"
        );
    }

    #[test]
    fn an_idle_bucket_refills_only_up_to_the_burst() {
        let t0 = Instant::now();
        let limiter = RateLimiter::starting_at(4.0, 2, t0);
        let later = t0 + Duration::from_secs(60);

        let waits: Vec<Duration> = (0..3).map(|_| limiter.reserve(later)).collect();

        assert_eq!(waits, [ms(0), ms(0), ms(250)]);
    }

    #[test]
    fn nonsense_rates_are_clamped_instead_of_dividing_by_zero() {
        let t0 = Instant::now();
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let limiter = RateLimiter::starting_at(rate, 0, t0);
            assert_eq!(limiter.reserve(t0), ms(0));
            assert_eq!(
                limiter.reserve(t0),
                Duration::from_secs(3600),
                "rate {rate}"
            );
        }
    }
}
