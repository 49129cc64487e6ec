//! The one retry policy of the client: which failures are worth another attempt, and how long to
//! wait before it.
//!
//! A [`Retry`] is the budget of one operation: a request ([`Http::send`](super::http::Http::send)
//! makes one per call), or a whole download, whose requests and body reads draw on the same
//! budget ([`Http::send_with`](super::http::Http::send_with)). A download that receives bytes
//! before it breaks starts a fresh count ([`Retry::progressed`]) and resumes from what it has.
//!
//! Transient: the connection failed, timed out or broke off; the server answered 408, 429 or
//! 5xx. Everything else is final at once: other 4xx answers (a 416 included), integrity
//! failures, local I/O errors, answers that are not the Hub protocol. The wait is what the server
//! asks for when it says (a 429's `RateLimit` with no request left: until the window resets,
//! plus a second, as `huggingface_hub` waits; else `Retry-After`, in seconds or as a date), else
//! the policy's backoff, capped by [`RetryPolicy::max_delay`] either way: a server cannot make
//! the client wait longer, whatever it sends.

use std::time::{Duration, SystemTime};

use hubmix_protocol::headers;
use ureq::Body;
use ureq::http::Response;

use super::http::header;
use crate::error::HubError;
use crate::settings::RetryPolicy;

/// The retries left to one operation under the client's [`RetryPolicy`].
#[derive(Debug, Clone)]
pub(crate) struct Retry {
    policy: RetryPolicy,
    /// Failed attempts since the start or the last progress.
    failures: u32,
}

impl Retry {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Retry { policy, failures: 0 }
    }

    /// After a failed attempt: when `error` is transient and retries remain, waits for the next
    /// attempt and returns `Ok`; otherwise gives `error` back, unchanged, as the operation's
    /// error.
    pub(crate) fn again(&mut self, error: HubError) -> Result<(), HubError> {
        if is_transient(&error) && self.wait(None, &error) {
            Ok(())
        } else {
            Err(error)
        }
    }

    /// After an answer with an error status: whether to send the request again (having waited,
    /// as the server's `Retry-After` asks if it does). `false`: the answer is the outcome.
    pub(crate) fn again_after_answer(&mut self, response: &Response<Body>) -> bool {
        let status = response.status().as_u16();
        is_transient_status(status) && self.wait(retry_after(response), &format_args!("HTTP {status}"))
    }

    /// After an attempt that ended without an error but incomplete (a body shorter than
    /// announced): waits for the next attempt if retries remain.
    pub(crate) fn again_after_short_answer(&mut self) -> bool {
        self.wait(None, &"the answer ended early")
    }

    /// The attempt made progress (bytes arrived and were kept): the next failure counts as the
    /// first.
    pub(crate) fn progressed(&mut self) {
        self.failures = 0;
    }

    /// Sleeps before the next attempt if the budget allows one.
    fn wait(&mut self, retry_after: Option<Duration>, why: &dyn std::fmt::Display) -> bool {
        if self.failures >= self.policy.max_retries {
            return false;
        }
        self.failures += 1;
        let delay = self.delay(retry_after);
        tracing::debug!(
            "{why}: retry {} of {} in {delay:?}",
            self.failures,
            self.policy.max_retries
        );
        std::thread::sleep(delay);
        true
    }

    /// The wait before the next attempt (numbered by `self.failures`).
    fn delay(&self, retry_after: Option<Duration>) -> Duration {
        retry_after
            .unwrap_or_else(|| self.policy.backoff(self.failures))
            .min(self.policy.max_delay)
    }
}

/// Whether another attempt may succeed where this one failed.
pub(crate) fn is_transient(error: &HubError) -> bool {
    match error {
        HubError::Network { source, .. } => {
            if let Some(e) = source.downcast_ref::<ureq::Error>() {
                is_transient_ureq(e)
            } else if let Some(e) = source.downcast_ref::<std::io::Error>() {
                // A body read: ureq reports its own errors inside an `io::Error`.
                e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<ureq::Error>())
                    .is_none_or(is_transient_ureq)
            } else {
                false
            }
        }
        HubError::Http { status, .. } => is_transient_status(*status),
        _ => false,
    }
}

/// 408, 429 and 5xx: the server may answer differently later.
pub(crate) fn is_transient_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// Connection-level failures; not a bad URL, a TLS certificate, a redirect loop or a limit.
fn is_transient_ureq(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Protocol(_)
    )
}

/// The wait an error answer asks for: on a 429 whose `RateLimit` has no request left, until the
/// window resets plus a second (as `huggingface_hub`); else its `Retry-After`. Unbounded here:
/// [`Retry::delay`] caps it.
fn retry_after(response: &Response<Body>) -> Option<Duration> {
    let limit = (response.status().as_u16() == 429)
        .then(|| header(response, headers::RATE_LIMIT).and_then(headers::parse_rate_limit))
        .flatten()
        .filter(|limit| limit.remaining == 0);
    if let Some(limit) = limit {
        return Some(limit.reset.saturating_add(Duration::from_secs(1)));
    }
    let value = header(response, headers::RETRY_AFTER)?;
    Some(headers::parse_retry_after(value)?.delay_from(SystemTime::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        }
    }

    fn http(status: u16) -> HubError {
        HubError::Http {
            status,
            url: "http://h/x".into(),
            message: "m".into(),
        }
    }

    fn network(source: impl std::error::Error + Send + Sync + 'static) -> HubError {
        HubError::Network {
            url: "http://h/x".into(),
            source: Box::new(source),
        }
    }

    #[test]
    fn what_is_transient() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient(&http(status)), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 412, 416, 422] {
            assert!(!is_transient(&http(status)), "{status}");
        }
        assert!(is_transient(&network(ureq::Error::ConnectionFailed)));
        assert!(is_transient(&network(ureq::Error::HostNotFound)));
        assert!(!is_transient(&network(ureq::Error::BadUri("x".into()))));
        assert!(!is_transient(&network(ureq::Error::TooManyRedirects)));
        // Body reads: plain I/O errors, and ureq's errors inside an io::Error.
        assert!(is_transient(&network(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(is_transient(&network(ureq::Error::ConnectionFailed.into_io())));
        assert!(!is_transient(&network(ureq::Error::TooManyRedirects.into_io())));
        let integrity = HubError::Integrity {
            path: "p".into(),
            expected: "a".into(),
            actual: "b".into(),
        };
        assert!(!is_transient(&integrity));
        let local = HubError::Io {
            action: "writing",
            path: "p".into(),
            source: std::io::ErrorKind::StorageFull.into(),
        };
        assert!(!is_transient(&local));
    }

    #[test]
    fn the_budget_is_spent_then_the_last_error_comes_back() {
        let mut retry = Retry::new(policy(2));
        assert!(retry.again(http(503)).is_ok());
        assert!(retry.again(network(ureq::Error::ConnectionFailed)).is_ok());
        match retry.again(http(503)) {
            Err(HubError::Http { status: 503, .. }) => {}
            other => panic!("expected the 503 back, got {other:?}"),
        }
        // Progress refills it.
        retry.progressed();
        assert!(retry.again_after_short_answer());
        // A final error is given back at once, whatever is left.
        let mut retry = Retry::new(policy(5));
        assert!(matches!(
            retry.again(http(416)),
            Err(HubError::Http { status: 416, .. })
        ));
        assert_eq!(retry.failures, 0, "nothing was spent on it");
    }

    #[test]
    fn no_retries_at_all() {
        let mut retry = Retry::new(policy(0));
        assert!(retry.again(http(500)).is_err());
        assert!(!retry.again_after_short_answer());
    }

    #[test]
    fn waits_follow_retry_after_within_the_cap() {
        let mut retry = Retry::new(RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        });
        retry.failures = 1;
        assert_eq!(retry.delay(None), Duration::from_millis(100));
        assert_eq!(retry.delay(Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(retry.delay(Some(Duration::from_secs(1))), Duration::from_secs(1));
        assert_eq!(
            retry.delay(Some(Duration::from_secs(3600))),
            Duration::from_secs(2)
        );
        retry.failures = 3;
        assert_eq!(retry.delay(None), Duration::from_millis(400));
        let answer = |status: u16, name: &str, value: &str| {
            Response::builder()
                .status(status)
                .header(name, value)
                .body(Body::builder().data(""))
                .unwrap()
        };
        let after = |value: &str| retry_after(&answer(503, "retry-after", value));
        assert_eq!(after("3"), Some(Duration::from_secs(3)));
        assert_eq!(after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(after("-1"), None);
        assert_eq!(after("1e20"), None);
        // A date: the time until then, nothing for one past.
        assert_eq!(after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        assert!(after(&soon).is_some_and(|d| d > Duration::from_secs(28) && d <= Duration::from_secs(30)));
        // Huge waits are capped by the policy, whatever their form.
        for huge in ["99999999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            assert_eq!(retry.delay(after(huge)), Duration::from_secs(2), "{huge}");
        }
        // A 429's RateLimit without requests left: until the reset, plus a second.
        let limited = |status, value: &str| retry_after(&answer(status, "ratelimit", value));
        assert_eq!(limited(429, r#""api";r=0;t=55"#), Some(Duration::from_secs(56)));
        assert_eq!(limited(429, r#""api";r=3;t=55"#), None);
        assert_eq!(limited(503, r#""api";r=0;t=55"#), None);
        assert_eq!(
            retry.delay(limited(429, r#""api";r=0;t=999999999999999"#)),
            Duration::from_secs(2)
        );
    }
}
