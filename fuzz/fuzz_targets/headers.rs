//! The HTTP headers a client acts on (`hubmix_protocol::headers`): never a panic, results within
//! their documented bounds, and what is read back from a formatter is what was written.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use hubmix_protocol::headers::{
    self, MAX_WAIT, format_etag, format_next_link, format_rate_limit, format_retry_after,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(retry) = headers::parse_retry_after(value) {
        let wait = retry.delay_from(UNIX_EPOCH);
        assert!(wait <= MAX_WAIT, "{value:?}");
        let again = headers::parse_retry_after(&format_retry_after(wait)).expect("a formatted wait reads back");
        assert_eq!(again.delay_from(UNIX_EPOCH), Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).min(MAX_WAIT));
    }
    if let Some(limit) = headers::parse_rate_limit(value) {
        assert!(limit.reset <= MAX_WAIT, "{value:?}");
        assert!(limit.policy.len() <= value.len(), "{value:?}");
        assert_eq!(headers::parse_rate_limit(&format_rate_limit(&limit)), Some(limit));
    }
    if let Some(url) = headers::parse_next_link(value) {
        assert!(value.contains(url), "{value:?}");
        assert_eq!(headers::parse_next_link(&format_next_link(url)), Some(url));
    }
    if let Some(range) = headers::parse_content_range(value) {
        assert!(range.first <= range.last, "{value:?}");
        assert!(range.complete_length.is_none_or(|n| range.last < n), "{value:?}");
        assert_eq!(headers::parse_content_range(&range.to_string()), Some(range));
    }
    if let Some(n) = headers::parse_length(value) {
        assert_eq!(headers::parse_length(&n.to_string()), Some(n));
    }
    if let Some(tag) = headers::parse_etag(value) {
        assert!(value.contains(tag), "{value:?}");
        assert_eq!(headers::parse_etag(&format_etag(tag)), Some(tag));
    }
});
