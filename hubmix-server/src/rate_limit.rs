//! The per-token limit on writes: a token bucket for each configured token (so memory is
//! bounded by the configuration, not by the callers). Writes are the calls that change a
//! repository or create one ([`crate::api::Route::is_write`]); reads are not limited.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::TokenId;
use crate::error::ApiError;

/// Default writes per minute per token, on average.
pub const DEFAULT_WRITES_PER_MINUTE: u32 = 300;
/// Default writes a token may make at once, before the average applies.
pub const DEFAULT_WRITE_BURST: u32 = 300;

/// How many writes a token may make: `per_minute` on average, up to `burst` at once. A
/// `per_minute` of 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WriteRate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for WriteRate {
    fn default() -> Self {
        WriteRate {
            per_minute: DEFAULT_WRITES_PER_MINUTE,
            burst: DEFAULT_WRITE_BURST,
        }
    }
}

/// The buckets of every token.
#[derive(Debug)]
pub(crate) struct WriteLimiter {
    rate: WriteRate,
    buckets: Vec<Mutex<Bucket>>,
}

/// Writes a token has left, as of `at`.
#[derive(Debug)]
struct Bucket {
    left: f64,
    at: Instant,
}

impl WriteLimiter {
    /// Full buckets for `tokens` tokens.
    pub(crate) fn new(rate: WriteRate, tokens: usize) -> Self {
        let now = Instant::now();
        let buckets = (0..tokens)
            .map(|_| {
                Mutex::new(Bucket {
                    left: f64::from(rate.burst.max(1)),
                    at: now,
                })
            })
            .collect();
        WriteLimiter { rate, buckets }
    }

    /// Takes one write from `token`'s bucket, or refuses with `429` and when to retry.
    pub(crate) fn admit(&self, token: TokenId) -> Result<(), ApiError> {
        self.admit_at(token, Instant::now())
    }

    fn admit_at(&self, token: TokenId, now: Instant) -> Result<(), ApiError> {
        let WriteRate { per_minute, burst } = self.rate;
        let Some(bucket) = self.buckets.get(token.0).filter(|_| per_minute > 0) else {
            return Ok(());
        };
        let per_second = f64::from(per_minute) / 60.0;
        let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.left = (bucket.left + elapsed * per_second).min(f64::from(burst.max(1)));
        bucket.at = now;
        if bucket.left >= 1.0 {
            bucket.left -= 1.0;
            return Ok(());
        }
        let wait = Duration::from_secs_f64((1.0 - bucket.left) / per_second);
        let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Err(ApiError::TooManyRequests {
            message: format!(
                "too many writes with this token: this hub takes at most {per_minute} writes a minute per token, \
                 {burst} at once (--writes-per-minute and --write-burst raise it); retry in {retry_after_secs} s"
            ),
            retry_after_secs,
            per_minute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(result: Result<(), ApiError>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(ApiError::TooManyRequests { retry_after_secs, .. }) => Some(retry_after_secs),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn a_burst_then_the_average() {
        let limiter = WriteLimiter::new(
            WriteRate {
                per_minute: 60,
                burst: 3,
            },
            2,
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(retry_after(limiter.admit_at(TokenId(0), t0)), None);
        }
        assert_eq!(retry_after(limiter.admit_at(TokenId(0), t0)), Some(1));
        // Another token has its own bucket.
        assert_eq!(retry_after(limiter.admit_at(TokenId(1), t0)), None);
        // One write a second comes back; never more than the burst.
        let t1 = t0 + Duration::from_millis(1500);
        assert_eq!(retry_after(limiter.admit_at(TokenId(0), t1)), None);
        assert_eq!(retry_after(limiter.admit_at(TokenId(0), t1)), Some(1));
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(retry_after(limiter.admit_at(TokenId(0), later)), None);
        }
        assert_eq!(retry_after(limiter.admit_at(TokenId(0), later)), Some(1));
    }

    #[test]
    fn zero_per_minute_turns_it_off() {
        let limiter = WriteLimiter::new(
            WriteRate {
                per_minute: 0,
                burst: 1,
            },
            1,
        );
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(retry_after(limiter.admit_at(TokenId(0), now)), None);
        }
    }

    #[test]
    fn slow_rates_say_how_long_to_wait() {
        let limiter = WriteLimiter::new(
            WriteRate {
                per_minute: 2,
                burst: 1,
            },
            1,
        );
        let now = Instant::now();
        assert_eq!(retry_after(limiter.admit_at(TokenId(0), now)), None);
        assert_eq!(retry_after(limiter.admit_at(TokenId(0), now)), Some(30));
    }
}
