//! The standard HTTP headers of the Hub's answers that a client acts on, read and written by one
//! set of functions for client and server: how long to wait before a retry (`Retry-After`,
//! `RateLimit`), where the next page of a listing is (`Link`), which bytes a range answer holds
//! (`Content-Range`), how long a file is (`Content-Length`, [`crate::wire::LINKED_SIZE`]) and
//! what its ETag names (`ETag`, [`crate::wire::LINKED_ETAG`]).
//!
//! Every `parse_*` function takes a header value as it arrived, from anyone: it never panics,
//! answers `None` for anything it cannot read, and its answer is bounded (no wait longer than
//! [`MAX_WAIT`], no string longer than the value). Each `format_*` function writes what its
//! parser reads back.
//!
//! ```
//! use std::time::Duration;
//! use hubmix_protocol::headers::{self, ContentRange, RetryAfter};
//!
//! assert_eq!(headers::parse_retry_after("120"), Some(RetryAfter::Delay(Duration::from_secs(120))));
//! assert_eq!(headers::parse_retry_after("soon"), None);
//! assert_eq!(
//!     headers::parse_next_link(r#"<https://hub.example/api/models?cursor=2>; rel="next""#),
//!     Some("https://hub.example/api/models?cursor=2")
//! );
//! let range = headers::parse_content_range("bytes 10-19/100").unwrap();
//! assert_eq!((range.first, range.last, range.complete_length), (10, 19, Some(100)));
//! assert_eq!(headers::parse_length("4096"), Some(4096));
//! assert_eq!(headers::parse_etag(r#"W/"abc""#), Some("abc"));
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

/// How long to wait before asking again (`Retry-After`): seconds or an HTTP date.
pub const RETRY_AFTER: &str = "retry-after";
/// The IETF draft rate-limit header (`RateLimit: "api";r=0;t=55`) that the Hub sends with a 429.
pub const RATE_LIMIT: &str = "ratelimit";
/// The rate limit's policy (IETF draft `RateLimit-Policy`): `"<kind>";"api";q=<requests>;w=<window
/// seconds>`.
pub const RATE_LIMIT_POLICY: &str = "ratelimit-policy";
/// Links of an answer; a listing's next page is the one with `rel="next"`.
pub const LINK: &str = "link";
/// Which bytes of the file a `206 Partial Content` answer holds.
pub const CONTENT_RANGE: &str = "content-range";
/// The length of an answer's body.
pub const CONTENT_LENGTH: &str = "content-length";
/// The version of the file an answer is about.
pub const ETAG: &str = "etag";

/// The longest wait a `Retry-After` or `RateLimit` header is read as (about 136 years): longer
/// values, however large, are read as this one. A client caps it further with its own policy.
pub const MAX_WAIT: Duration = Duration::from_secs(u32::MAX as u64);

/// Longest number of decimal digits of an integer in a structured header (RFC 8941 §3.3.1).
const MAX_INTEGER_DIGITS: usize = 15;

/// The value with optional white space (spaces and tabs, RFC 9110 §5.6.3) around it removed.
fn trim_ows(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// A run of decimal digits as a `u64` (`None`: empty, another character, or too large).
fn digits(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A whole number of seconds, rounded up, as the headers write waits.
fn whole_seconds(delay: Duration) -> u64 {
    delay.as_secs() + u64::from(delay.subsec_nanos() > 0)
}

/// What a `Retry-After` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// A delay (`Retry-After: 120`), at most [`MAX_WAIT`].
    Delay(Duration),
    /// A moment (`Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`).
    At(SystemTime),
}

impl RetryAfter {
    /// The wait this asks for, counted from `now`: zero for a moment already past, at most
    /// [`MAX_WAIT`].
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hubmix_protocol::headers::parse_retry_after;
    ///
    /// let at = parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT").unwrap();
    /// assert_eq!(at.delay_from(UNIX_EPOCH), Duration::from_secs(60));
    /// assert_eq!(at.delay_from(UNIX_EPOCH + Duration::from_secs(3600)), Duration::ZERO);
    /// ```
    pub fn delay_from(self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Delay(delay) => delay.min(MAX_WAIT),
            RetryAfter::At(moment) => moment.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_WAIT),
        }
    }
}

/// Reads a `Retry-After` value: a number of seconds (`120`; a fraction such as `0.5` is taken
/// too) or an HTTP date (all three forms of RFC 9110 §5.6.7). Negative numbers, `NaN`,
/// exponents and anything else are `None`; a number of seconds beyond [`MAX_WAIT`] is read as
/// [`MAX_WAIT`].
///
/// ```
/// use std::time::Duration;
/// use hubmix_protocol::headers::{MAX_WAIT, RetryAfter, parse_retry_after};
///
/// assert_eq!(parse_retry_after(" 0.5 "), Some(RetryAfter::Delay(Duration::from_millis(500))));
/// assert_eq!(parse_retry_after("99999999999999999999999"), Some(RetryAfter::Delay(MAX_WAIT)));
/// assert!(matches!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(RetryAfter::At(_))));
/// for garbage in ["-1", "1e20", "NaN", "inf", "", "tomorrow"] {
///     assert_eq!(parse_retry_after(garbage), None, "{garbage}");
/// }
/// ```
pub fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = trim_ows(value);
    let numeric = value.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !value.is_empty() && numeric {
        let seconds: f64 = value.parse().ok()?;
        let delay = Duration::try_from_secs_f64(seconds.min(MAX_WAIT.as_secs_f64())).ok()?;
        return Some(RetryAfter::Delay(delay));
    }
    httpdate::parse_http_date(value).ok().map(RetryAfter::At)
}

/// Writes a `Retry-After` value: `delay` in whole seconds, rounded up.
///
/// ```
/// use std::time::Duration;
/// use hubmix_protocol::headers::format_retry_after;
///
/// assert_eq!(format_retry_after(Duration::from_millis(1500)), "2");
/// ```
pub fn format_retry_after(delay: Duration) -> String {
    whole_seconds(delay).to_string()
}

/// One quota of a `RateLimit` header (IETF draft `RateLimit: "api";r=0;t=55`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// The quota's name (`api`, `resolvers`, …).
    pub policy: String,
    /// Requests left in the window (`r`).
    pub remaining: u64,
    /// Time until the window resets (`t`), in whole seconds, at most [`MAX_WAIT`].
    pub reset: Duration,
}

/// Reads a `RateLimit` value: the first item with a name and both `r` (requests left) and `t`
/// (seconds until the reset) parameters, as `huggingface_hub` reads it. Numbers have at most
/// 15 digits (RFC 8941 integers).
///
/// ```
/// use std::time::Duration;
/// use hubmix_protocol::headers::parse_rate_limit;
///
/// let limit = parse_rate_limit(r#""api";r=0;t=55"#).unwrap();
/// assert_eq!((limit.policy.as_str(), limit.remaining, limit.reset), ("api", 0, Duration::from_secs(55)));
/// assert_eq!(parse_rate_limit(r#""api";r=0"#), None);
/// // A reset beyond `MAX_WAIT` is read as `MAX_WAIT` (found by fuzzing).
/// let far = parse_rate_limit(r#""api";r=0;t=55777777777"#).unwrap();
/// assert_eq!(far.reset, hubmix_protocol::headers::MAX_WAIT);
/// ```
pub fn parse_rate_limit(value: &str) -> Option<RateLimit> {
    value.split(',').find_map(|item| {
        let mut parts = item.split(';');
        let name = trim_ows(parts.next()?);
        let policy = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(quoted) if !quoted.contains(['"', '\\']) => quoted,
            Some(_) => return None,
            None if is_token(name) => name,
            None => return None,
        };
        let (mut remaining, mut reset) = (None, None);
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                continue; // a boolean parameter
            };
            let number = || {
                Some(trim_ows(value))
                    .filter(|v| v.len() <= MAX_INTEGER_DIGITS)
                    .and_then(digits)
            };
            match trim_ows(key) {
                "r" => remaining = Some(number()?),
                "t" => reset = Some(Duration::from_secs(number()?).min(MAX_WAIT)),
                _ => {}
            }
        }
        Some(RateLimit {
            policy: policy.to_owned(),
            remaining: remaining?,
            reset: reset?,
        })
    })
}

/// Writes a `RateLimit` value for one quota (the reset in whole seconds, rounded up).
///
/// ```
/// use std::time::Duration;
/// use hubmix_protocol::headers::{RateLimit, format_rate_limit};
///
/// let limit = RateLimit { policy: "api".into(), remaining: 0, reset: Duration::from_secs(55) };
/// assert_eq!(format_rate_limit(&limit), r#""api";r=0;t=55"#);
/// ```
pub fn format_rate_limit(limit: &RateLimit) -> String {
    format!(
        "\"{}\";r={};t={}",
        limit.policy,
        limit.remaining,
        whole_seconds(limit.reset)
    )
}

/// Whether `name` is a non-empty token of letters, digits and `_-.` (a quota's bare name).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Reads a `Link` value (RFC 8288) and gives the target of the first link whose `rel` names
/// `next`, as written between `<` and `>` (it may be relative: resolve it against the page's
/// URL). Commas and semicolons inside quoted parameters do not split links.
///
/// ```
/// use hubmix_protocol::headers::parse_next_link;
///
/// let value = r#"<http://h/p?c=1>; rel="prev", <http://h/p?c=3>; title="a, b"; rel="next""#;
/// assert_eq!(parse_next_link(value), Some("http://h/p?c=3"));
/// assert_eq!(parse_next_link("<http://h/p>; rel=prev"), None);
/// ```
pub fn parse_next_link(value: &str) -> Option<&str> {
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let (target, after) = rest.strip_prefix('<')?.split_once('>')?;
        let (mut params, next) = split_unquoted(after, ',');
        while !params.is_empty() {
            let (param, more) = split_unquoted(params, ';');
            if is_rel_next(param) {
                return Some(target);
            }
            params = more;
        }
        rest = next;
    }
}

/// Whether a link parameter is `rel` with `next` among its values.
fn is_rel_next(param: &str) -> bool {
    param.split_once('=').is_some_and(|(key, value)| {
        trim_ows(key).eq_ignore_ascii_case("rel")
            && trim_ows(value)
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
    })
}

/// Writes a `Link` value that points to the next page at `url`.
///
/// ```
/// use hubmix_protocol::headers::{format_next_link, parse_next_link};
///
/// let value = format_next_link("http://h/api/models?cursor=50");
/// assert_eq!(value, r#"<http://h/api/models?cursor=50>; rel="next""#);
/// assert_eq!(parse_next_link(&value), Some("http://h/api/models?cursor=50"));
/// ```
pub fn format_next_link(url: &str) -> String {
    format!("<{url}>; rel=\"next\"")
}

/// Splits `value` at the first `separator` outside a quoted string: (before, after it).
fn split_unquoted(value: &str, separator: char) -> (&str, &str) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => return (&value[..i], &value[i + c.len_utf8()..]),
            _ => {}
        }
    }
    (value, "")
}

/// The bytes a `206 Partial Content` answer holds (`Content-Range: bytes 10-19/100`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// Offset of the first byte.
    pub first: u64,
    /// Offset of the last byte (inclusive): at least `first`.
    pub last: u64,
    /// The whole file's length, when the server says (`None` for `*`): more than `last`.
    pub complete_length: Option<u64>,
}

impl ContentRange {
    /// How many bytes the range holds.
    pub fn byte_count(&self) -> u64 {
        self.last.saturating_sub(self.first).saturating_add(1)
    }
}

impl fmt::Display for ContentRange {
    /// The header value: `bytes 10-19/100` (or `bytes 10-19/*`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}-{}/", self.first, self.last)?;
        match self.complete_length {
            Some(length) => write!(f, "{length}"),
            None => f.write_str("*"),
        }
    }
}

/// Reads a `Content-Range` value of a satisfied range (`bytes first-last/length`, the length
/// possibly `*`). A range whose end comes before its start, or that reaches past the length, is
/// `None`; so is the unsatisfied form `bytes */length`.
///
/// ```
/// use hubmix_protocol::headers::parse_content_range;
///
/// let range = parse_content_range("bytes 0-9/*").unwrap();
/// assert_eq!((range.byte_count(), range.complete_length), (10, None));
/// assert_eq!(range.to_string(), "bytes 0-9/*");
/// assert_eq!(parse_content_range("bytes 5-2/10"), None);
/// assert_eq!(parse_content_range("bytes 0-10/10"), None);
/// ```
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
    let value = trim_ows(value);
    let (unit, rest) = value.split_once(' ')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let (range, length) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last) = (digits(first)?, digits(last)?);
    let complete_length = match length {
        "*" => None,
        length => Some(digits(length)?),
    };
    let fits = first <= last && complete_length.is_none_or(|length| last < length);
    fits.then_some(ContentRange {
        first,
        last,
        complete_length,
    })
}

/// Reads a length (`Content-Length`, [`crate::wire::LINKED_SIZE`]): decimal digits only (no
/// sign, no list), at most `u64::MAX`.
///
/// ```
/// use hubmix_protocol::headers::parse_length;
///
/// assert_eq!(parse_length(" 12 "), Some(12));
/// for bad in ["", "-1", "+1", "1,1", "0x10", "18446744073709551616"] {
///     assert_eq!(parse_length(bad), None, "{bad}");
/// }
/// ```
pub fn parse_length(value: &str) -> Option<u64> {
    digits(trim_ows(value))
}

/// Reads an ETag (`ETag`, [`crate::wire::LINKED_ETAG`]) as the Hub's clients compare it: without
/// the weak marker `W/` and the quotes. `None` when nothing is left.
///
/// ```
/// use hubmix_protocol::headers::{format_etag, parse_etag};
///
/// assert_eq!(parse_etag(r#""5891b5b5""#), Some("5891b5b5"));
/// assert_eq!(parse_etag("5891b5b5"), Some("5891b5b5"));
/// assert_eq!(parse_etag(r#"W/"""#), None);
/// assert_eq!(parse_etag(&format_etag("abc")), Some("abc"));
/// ```
pub fn parse_etag(value: &str) -> Option<&str> {
    let value = value.trim();
    let tag = value.strip_prefix("W/").unwrap_or(value).trim_matches('"');
    (!tag.is_empty()).then_some(tag)
}

/// Writes an ETag header value: `tag` in quotes (a strong ETag).
pub fn format_etag(tag: &str) -> String {
    format!("\"{tag}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Anything a header value could hold, and more: any Unicode, biased towards the
    /// characters the parsers split on.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ \t,;=<>\"\\\\/*0-9a-zA-Z.:-]{0,64}",
            "[0-9. ]{0,40}",
            // Near-dates: every field of the three HTTP date forms, in and out of range.
            "(Mon|Sun|Sunday), [0-9]{1,2}[ -](Jan|Feb|Dec|Foo)[ -][0-9]{2,5} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
            "(Sun|Mon) (Nov|Feb) [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}",
        ]
    }

    proptest! {
        #[test]
        fn retry_after_never_panics_and_is_bounded(v in value(), now in 0u64..=u32::MAX as u64) {
            if let Some(r) = parse_retry_after(&v) {
                let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now);
                prop_assert!(r.delay_from(now) <= MAX_WAIT);
                prop_assert!(r.delay_from(SystemTime::UNIX_EPOCH) <= MAX_WAIT);
            }
        }

        #[test]
        fn retry_after_seconds_round_trip(ms in any::<u64>()) {
            let delay = Duration::from_millis(ms);
            let parsed = parse_retry_after(&format_retry_after(delay));
            let whole = Duration::from_secs(whole_seconds(delay)).min(MAX_WAIT);
            prop_assert_eq!(parsed, Some(RetryAfter::Delay(whole)));
        }

        #[test]
        fn retry_after_dates_round_trip(secs in 0u64..253_402_300_799) {
            // Up to 9999-12-31T23:59:59Z, the last moment an HTTP date can name.
            let moment = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let parsed = parse_retry_after(&httpdate::fmt_http_date(moment));
            prop_assert_eq!(parsed, Some(RetryAfter::At(moment)));
        }

        #[test]
        fn rate_limit_never_panics_and_is_bounded(v in value()) {
            if let Some(limit) = parse_rate_limit(&v) {
                prop_assert!(limit.policy.len() <= v.len());
                prop_assert!(limit.remaining < 10u64.pow(MAX_INTEGER_DIGITS as u32));
                prop_assert!(limit.reset <= MAX_WAIT);
            }
        }

        #[test]
        fn rate_limit_round_trips(
            policy in "[a-z_]{1,16}",
            remaining in 0u64..999_999_999_999_999,
            reset in 0u64..999_999_999_999_999,
        ) {
            let limit = RateLimit { policy, remaining, reset: Duration::from_secs(reset) };
            // A reset past `MAX_WAIT` reads back as `MAX_WAIT`.
            let expected = RateLimit { reset: limit.reset.min(MAX_WAIT), ..limit.clone() };
            prop_assert_eq!(parse_rate_limit(&format_rate_limit(&limit)), Some(expected));
        }

        #[test]
        fn next_link_never_panics_and_is_part_of_the_value(v in value()) {
            if let Some(target) = parse_next_link(&v) {
                let quoted = format!("<{target}>");
                prop_assert!(v.contains(&quoted));
            }
        }

        #[test]
        fn next_link_round_trips(url in "[^<>]{0,80}", before in "(<[a-z:/]{0,10}>; rel=prev, )?") {
            let value = format!("{before}{}", format_next_link(&url));
            prop_assert_eq!(parse_next_link(&value), Some(url.as_str()));
        }

        #[test]
        fn content_range_never_panics_and_is_consistent(v in value()) {
            if let Some(range) = parse_content_range(&v) {
                prop_assert!(range.first <= range.last);
                prop_assert!(range.complete_length.is_none_or(|l| range.last < l));
                prop_assert!(range.byte_count() >= 1);
            }
        }

        #[test]
        fn content_range_round_trips(first in any::<u64>(), len in any::<u64>(), extra in proptest::option::of(any::<u64>())) {
            let last = first.saturating_add(len);
            let complete_length = extra.map(|e| last.saturating_add(e).saturating_add(1)).filter(|l| *l > last);
            let range = ContentRange { first, last, complete_length };
            prop_assert_eq!(parse_content_range(&range.to_string()), Some(range));
        }

        #[test]
        fn lengths_are_digits_only(v in value()) {
            if let Some(n) = parse_length(&v) {
                prop_assert_eq!(trim_ows(&v).parse::<u64>().ok(), Some(n));
                prop_assert!(trim_ows(&v).bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn lengths_round_trip(n in any::<u64>()) {
            prop_assert_eq!(parse_length(&n.to_string()), Some(n));
        }

        #[test]
        fn etags_never_panic_and_are_part_of_the_value(v in value()) {
            if let Some(tag) = parse_etag(&v) {
                prop_assert!(!tag.is_empty() && v.contains(tag));
            }
        }

        #[test]
        fn etags_round_trip(tag in "[^\"]{1,64}") {
            let value = format_etag(&tag);
            prop_assert_eq!(parse_etag(&value), Some(tag.as_str()));
        }
    }

    #[test]
    fn hostile_retry_after_values() {
        for v in ["1e20", "-0.5", "NaN", "inf", "1.5.5", ".", "0x10", "١٢", "  "] {
            assert_eq!(parse_retry_after(v), None, "{v:?}");
        }
        assert_eq!(
            parse_retry_after("1000000000000000000000000000000"),
            Some(RetryAfter::Delay(MAX_WAIT))
        );
        // The last date an HTTP date can name is far off, yet bounded.
        let far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT").unwrap();
        assert_eq!(far.delay_from(SystemTime::UNIX_EPOCH), MAX_WAIT);
        // The two obsolete forms are dates too.
        for v in ["Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            assert!(matches!(parse_retry_after(v), Some(RetryAfter::At(_))), "{v}");
        }
    }

    #[test]
    fn rate_limits_as_huggingface_hub_reads_them() {
        let limit = parse_rate_limit(r#""resolvers";r=12;t=300, "api";r=0;t=55"#).unwrap();
        assert_eq!(limit.policy, "resolvers");
        assert_eq!(parse_rate_limit(r#"api;r=0;t=1"#).unwrap().policy, "api");
        assert_eq!(parse_rate_limit(r#""api";r=0;t=1000000000000000"#), None);
        assert_eq!(parse_rate_limit(r#""api";r=-1;t=5"#), None);
        assert_eq!(parse_rate_limit(r#""a"b";r=0;t=5"#), None);
    }

    #[test]
    fn next_links_in_the_shapes_servers_send() {
        assert_eq!(parse_next_link("<http://h/n>;rel=next"), Some("http://h/n"));
        assert_eq!(
            parse_next_link(r#"<http://h/n>; REL="prev next""#),
            Some("http://h/n")
        );
        assert_eq!(
            parse_next_link(r#"<http://h/a,b>; rel="next""#),
            Some("http://h/a,b")
        );
        assert_eq!(parse_next_link(r#"<http://h/p>; title="x; rel=next""#), None);
        assert_eq!(parse_next_link("http://h/n; rel=next"), None);
        assert_eq!(parse_next_link("<http://h/n; rel=next"), None);
    }
}
