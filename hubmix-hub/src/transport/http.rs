//! The HTTP layer: one configured agent, the token only for the endpoint's origin, a user agent
//! that names hubmix, retries under the one policy of [`super::retry`], and the mapping of the
//! Hub's `X-Error-Code` / `X-Error-Message` answers to [`HubError`]s.
//!
//! Redirects are followed here, one hop at a time, never by ureq: each hop gets the token only
//! when its URL has the endpoint's exact origin (scheme, host and port), so a redirect to a blob
//! host on another port of the same machine, or to `https` from `http`, never carries it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ureq::config::RedirectAuthHeaders;
use ureq::http::{Method, Request, Response, StatusCode};
use ureq::{Agent, Body, SendBody};

use super::retry::Retry;
use crate::error::{HubError, strip_query};
use crate::settings::{RetryPolicy, Settings, Token};

/// Largest JSON answer read into memory: a repository's information with 100,000 files is
/// about 15 MiB.
const MAX_JSON_ANSWER: u64 = 64 * 1024 * 1024;
/// Longest redirect chain a request follows.
const MAX_REDIRECTS: usize = 10;
/// Longest error body kept for a message.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Opens a fresh stream of a request body (once per attempt, so that retries resend it).
pub(crate) type OpenBody = Arc<dyn Fn() -> std::io::Result<Box<dyn Read + Send>> + Send + Sync>;

/// What a request sends.
pub(crate) enum Payload {
    Empty,
    Bytes(Vec<u8>, &'static str),
    /// `len` bytes of a file from `offset`, streamed.
    File {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
    /// A streamed body of `len` bytes.
    Stream {
        open: OpenBody,
        len: u64,
        content_type: Option<&'static str>,
    },
}

impl Payload {
    /// The number of bytes sent (`None`: no body at all).
    pub(crate) fn content_length(&self) -> Option<u64> {
        match self {
            Payload::Empty => None,
            Payload::Bytes(bytes, _) => Some(bytes.len() as u64),
            Payload::File { len, .. } | Payload::Stream { len, .. } => Some(*len),
        }
    }

    /// The `Content-Type` to send, if the payload names one.
    pub(crate) fn content_type(&self) -> Option<&'static str> {
        match self {
            Payload::Bytes(_, content_type) => Some(content_type),
            Payload::Stream { content_type, .. } => *content_type,
            Payload::Empty | Payload::File { .. } => None,
        }
    }

    /// A fresh stream of the body (one per attempt).
    pub(crate) fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Payload::Empty => Box::new(std::io::empty()),
            Payload::Bytes(bytes, _) => Box::new(std::io::Cursor::new(bytes.clone())),
            Payload::File { path, offset, len } => {
                let mut file = File::open(path)?;
                file.seek(SeekFrom::Start(*offset))?;
                Box::new(file.take(*len))
            }
            Payload::Stream { open, .. } => open()?,
        })
    }
}

/// One request, re-buildable for retries.
pub(crate) struct Call {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub payload: Payload,
    /// Retry connection errors, 5xx and 429 (only for idempotent calls).
    pub retry: bool,
    /// Follow redirects (else a 3xx comes back as the answer).
    pub follow_redirects: bool,
    /// Overall timeout of waiting for the answer's head, and per read.
    pub timeout: Option<Duration>,
    /// Send the token (only ever to the endpoint's origin).
    pub auth: bool,
}

impl Call {
    pub(crate) fn new(method: Method, url: impl Into<String>) -> Self {
        Call {
            method,
            url: url.into(),
            headers: Vec::new(),
            payload: Payload::Empty,
            retry: true,
            follow_redirects: true,
            timeout: None,
            auth: true,
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn json(mut self, value: &serde_json::Value) -> Self {
        self.payload = Payload::Bytes(
            serde_json::to_vec(value).expect("JSON values serialize"),
            "application/json",
        );
        self
    }

    pub(crate) fn body(mut self, bytes: Vec<u8>, content_type: &'static str) -> Self {
        self.payload = Payload::Bytes(bytes, content_type);
        self
    }

    pub(crate) fn no_retry(mut self) -> Self {
        self.retry = false;
        self
    }
}

/// What an error answer is about, for the typed error.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub repo: String,
    pub revision: Option<String>,
    pub path: Option<String>,
}

/// The configured client side of HTTP.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    agent: Agent,
    endpoint_origin: Origin,
    token: Option<Token>,
    user_agent: String,
    retry: RetryPolicy,
    offline: bool,
}

/// Scheme, host and port of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse() {
                Ok(port) => (h, port),
                Err(_) => (authority, default_port),
            },
            _ => (authority, default_port),
        };
        Some(Origin {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl Http {
    pub(crate) fn new(settings: &Settings) -> Result<Self, HubError> {
        let proxy = match &settings.proxy {
            Some(url) => Some(ureq::Proxy::new(url).map_err(|e| HubError::InvalidSetting {
                name: "proxy".into(),
                reason: format!("{url:?}: {e}"),
            })?),
            None => ureq::Proxy::try_from_env(),
        };
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed by hand (`send_once`); should ureq ever follow one, it sends
            // no token on.
            .redirect_auth_headers(RedirectAuthHeaders::Never)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            // A connection kept for each worker (ureq keeps 3 per host): a snapshot's files
            // then reuse them instead of connecting anew.
            .max_idle_connections_per_host(settings.max_workers.max(3))
            .max_idle_connections(settings.max_workers.max(3) * 2)
            .proxy(proxy)
            .build()
            .into();
        let endpoint_origin = Origin::of(&settings.endpoint).ok_or_else(|| HubError::InvalidSetting {
            name: "HF_ENDPOINT".into(),
            reason: format!("{:?} is not an http(s) URL", settings.endpoint),
        })?;
        let user_agent = user_agent(settings);
        Ok(Http {
            agent,
            endpoint_origin,
            token: settings.token.clone(),
            user_agent,
            retry: settings.retry,
            offline: settings.offline,
        })
    }

    /// Whether a token is configured.
    pub(crate) fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether `url` is on the endpoint's origin (so it may see the token).
    pub(crate) fn is_endpoint(&self, url: &str) -> bool {
        Origin::of(url).is_some_and(|o| o == self.endpoint_origin)
    }

    /// A fresh retry budget under the client's policy, for an operation of several requests
    /// (a download and its resumes): pass it to [`Http::send_with`] and use it for the
    /// operation's own failures too.
    pub(crate) fn retry(&self) -> Retry {
        Retry::new(self.retry)
    }

    /// Sends `call`, retrying transient failures if allowed. Any status comes back as `Ok`
    /// (after retries, the answer of the last attempt); see [`check`].
    pub(crate) fn send(&self, call: &Call) -> Result<Response<Body>, HubError> {
        self.send_with(call, &mut self.retry())
    }

    /// [`Http::send`], drawing retries from `retry`.
    pub(crate) fn send_with(&self, call: &Call, retry: &mut Retry) -> Result<Response<Body>, HubError> {
        if self.offline {
            return Err(HubError::Offline {
                url: strip_query(&call.url),
            });
        }
        loop {
            match self.send_once(call) {
                Ok(response) => {
                    if call.retry && retry.again_after_answer(&response) {
                        continue;
                    }
                    return Ok(response);
                }
                Err(e) => {
                    let e = HubError::network(&call.url, e);
                    if call.retry {
                        retry.again(e)?;
                    } else {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// One attempt: the request, then (if the call follows redirects) each hop of its redirect
    /// chain, the token only to the endpoint's origin.
    fn send_once(&self, call: &Call) -> Result<Response<Body>, ureq::Error> {
        let mut url = call.url.clone();
        let mut method = call.method.clone();
        let mut with_body = true;
        for _ in 0..=MAX_REDIRECTS {
            let response = self.send_hop(call, &method, &url, with_body)?;
            let status = response.status();
            let location = header(&response, "location");
            let (true, true, Some(location)) = (call.follow_redirects, status.is_redirection(), location)
            else {
                return Ok(response);
            };
            let target = join_url(&url, location);
            // 301, 302 and 303 turn a request with a body into a GET without one, as browsers
            // and ureq do; 307 and 308 repeat it.
            if status == StatusCode::SEE_OTHER
                || (matches!(status.as_u16(), 301 | 302) && !matches!(method, Method::GET | Method::HEAD))
            {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                with_body = false;
            }
            tracing::debug!("{} redirects to {}", strip_query(&url), strip_query(&target));
            url = target;
        }
        Err(ureq::Error::TooManyRedirects)
    }

    /// One request of `call` to `url`, with no redirect followed.
    fn send_hop(
        &self,
        call: &Call,
        method: &Method,
        url: &str,
        with_body: bool,
    ) -> Result<Response<Body>, ureq::Error> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(url)
            .header("user-agent", &self.user_agent);
        if call.auth
            && let Some(token) = &self.token
            && self.is_endpoint(url)
        {
            builder = builder.header("authorization", format!("Bearer {}", token.secret()));
        }
        for (name, value) in &call.headers {
            builder = builder.header(*name, value);
        }
        let body = match call.payload.content_length().filter(|_| with_body) {
            Some(len) => {
                if let Some(content_type) = call.payload.content_type() {
                    builder = builder.header("content-type", content_type);
                }
                builder = builder.header("content-length", len.to_string());
                SendBody::from_owned_reader(call.payload.open()?)
            }
            None => SendBody::none(),
        };
        let request = builder.body(body).map_err(ureq::Error::Http)?;
        let request = self
            .agent
            .configure_request(request)
            .max_redirects(0)
            .timeout_recv_response(call.timeout)
            .timeout_recv_body(None)
            .timeout_per_read(call.timeout)
            .build();
        self.agent.run(request)
    }

    /// Sends `call` and turns an error status into a typed error.
    pub(crate) fn call(&self, call: &Call, ctx: &Context) -> Result<Response<Body>, HubError> {
        let response = self.send(call)?;
        check(response, &call.url, ctx)
    }

    /// Sends `call` and parses the JSON answer.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        call: &Call,
        ctx: &Context,
    ) -> Result<T, HubError> {
        let mut response = self.call(call, ctx)?;
        read_json(&mut response, &call.url)
    }
}

/// What a ranged GET ([`Http::get_range`]) brought back.
#[derive(Debug)]
pub(crate) struct RangeAnswer {
    /// The bytes asked for: all of them, or fewer when the file ends first.
    pub bytes: Vec<u8>,
    /// The whole file's size, as the answer states it.
    pub total: u64,
}

impl Http {
    /// Bytes `start..start + len` of the file at `url` (fewer when the file ends before), and
    /// the file's size, with one `Range` request (redirects followed, the token only to the
    /// endpoint's origin, transient failures retried, errors typed by [`check`] with `ctx`).
    ///
    /// Memory and reads are bounded by what is asked, whatever the server does: a `206` is read
    /// up to `len` bytes after its `Content-Range` is checked; a `200` (a server that ignores
    /// ranges sends the whole file) is read only up to `start + len` bytes, its head dropped,
    /// and the connection closed on the rest; a `416` is a file shorter than `start + 1` bytes.
    pub(crate) fn get_range(
        &self,
        url: &str,
        start: u64,
        len: u64,
        ctx: &Context,
    ) -> Result<RangeAnswer, HubError> {
        let invalid = |reason: String| HubError::InvalidResponse {
            url: strip_query(url),
            reason,
        };
        let end = start
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or_else(|| invalid(format!("asked for {len} bytes from byte {start}")))?;
        let want = usize::try_from(end).map_err(|_| invalid(format!("{end} bytes do not fit in memory")))?;
        let mut call = Call::new(Method::GET, url)
            .header("accept-encoding", "identity")
            .header("range", format!("bytes={start}-{}", end - 1));
        call.auth = self.is_endpoint(url);
        let mut retry = self.retry();
        loop {
            let response = self.send_with(&call, &mut retry)?;
            let status = response.status();
            if status == StatusCode::RANGE_NOT_SATISFIABLE {
                // `bytes */<size>`: the file ends before `start`.
                let total = header(&response, hubmix_protocol::headers::CONTENT_RANGE)
                    .and_then(|v| v.trim().strip_prefix("bytes */"))
                    .and_then(hubmix_protocol::headers::parse_length)
                    .filter(|total| *total <= start)
                    .ok_or_else(|| invalid(format!("a range from byte {start} was refused with no size")))?;
                return Ok(RangeAnswer {
                    bytes: Vec::new(),
                    total,
                });
            }
            let mut response = check(response, url, ctx)?;
            let (skip, total) = match status {
                StatusCode::PARTIAL_CONTENT => {
                    let value = header(&response, hubmix_protocol::headers::CONTENT_RANGE).unwrap_or("");
                    let range = hubmix_protocol::headers::parse_content_range(value)
                        .filter(|r| r.first == start)
                        .ok_or_else(|| {
                            invalid(format!(
                                "asked for bytes {start}-{}, the answer holds {value:?}",
                                end - 1
                            ))
                        })?;
                    let total = range.complete_length.ok_or_else(|| {
                        invalid(format!(
                            "the answer's range {value:?} does not give the file's size"
                        ))
                    })?;
                    (0, total)
                }
                StatusCode::OK => {
                    let encoded = header(&response, "content-encoding")
                        .is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
                    let total = header(&response, hubmix_protocol::headers::CONTENT_LENGTH)
                        .and_then(hubmix_protocol::headers::parse_length)
                        .filter(|_| !encoded)
                        .ok_or_else(|| {
                            invalid("the server ignored the range and did not give the file's size".into())
                        })?;
                    (start, total)
                }
                other => return Err(invalid(format!("a range request was answered with {other}"))),
            };
            let expected = total.min(end).saturating_sub(start);
            let mut bytes = Vec::with_capacity((expected as usize).min(want));
            let read = response
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .reader()
                .take(skip + len)
                .read_to_end(&mut bytes);
            match read {
                Ok(_) if bytes.len() as u64 >= skip + expected => {
                    bytes.drain(..skip as usize);
                    bytes.truncate(expected as usize);
                    return Ok(RangeAnswer { bytes, total });
                }
                Ok(_) => {
                    if !retry.again_after_short_answer() {
                        return Err(invalid(format!(
                            "the answer ended after {} of {expected} bytes",
                            (bytes.len() as u64).saturating_sub(skip)
                        )));
                    }
                }
                Err(e) => retry.again(HubError::network(url, e))?,
            }
        }
    }
}

/// `hubmix/<version>; <library>/<version>...`: who is calling, for the Hub's
/// statistics (a framework such as Burn, and the caller's library, are added with the client
/// builder's `user_agent`).
fn user_agent(settings: &Settings) -> String {
    let mut agent = format!("hubmix/{}", env!("CARGO_PKG_VERSION"));
    for (name, version) in &settings.user_agent {
        agent.push_str(&format!("; {name}/{version}"));
    }
    agent
}

/// Parses a JSON answer.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    response: &mut Response<Body>,
    url: &str,
) -> Result<T, HubError> {
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_JSON_ANSWER)
        .read_to_vec()
        .map_err(|e| HubError::network(url, e))?;
    serde_json::from_slice(&bytes).map_err(|e| HubError::InvalidResponse {
        url: strip_query(url),
        reason: format!("not the expected JSON: {e}"),
    })
}

/// A header of `response` as text (`None`: absent, or not visible ASCII).
pub(crate) fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Resolves a `Location` (or a `Link` target) against the URL it came with: an absolute
/// `http(s)` URL as it is, a scheme-relative `//host/path` with the base's scheme, an absolute
/// path on the base's origin, anything else relative to the base's folder (the base itself when
/// empty).
pub(crate) fn join_url(base: &str, location: &str) -> String {
    let location = location.trim();
    let lower = location.get(..8).unwrap_or(location).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if location.is_empty() {
        base.split('#').next().unwrap_or(base).to_owned()
    } else if let Some(elsewhere) = location.strip_prefix("//") {
        format!("{scheme}://{elsewhere}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.split(['?', '#']).next().unwrap_or(base);
        let dir = match path.rsplit_once('/') {
            Some((dir, _)) if dir.len() > scheme.len() + 2 => dir.to_owned(),
            _ => format!("{scheme}://{authority}"),
        };
        format!("{dir}/{location}")
    }
}

/// Passes a success through; turns an error answer into the matching [`HubError`].
pub(crate) fn check(
    mut response: Response<Body>,
    url: &str,
    ctx: &Context,
) -> Result<Response<Body>, HubError> {
    use hubmix_protocol::wire::{self, ErrorCode};

    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let code = header(&response, wire::ERROR_CODE).and_then(ErrorCode::parse);
    let header_message = header(&response, wire::ERROR_MESSAGE).map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_ERROR_BODY)
        .read_to_string()
        .unwrap_or_default();
    let message = error_message(header_message, &body, status);
    let repo = ctx.repo.clone();
    let revision = || {
        ctx.revision
            .clone()
            .unwrap_or_else(|| crate::repo::DEFAULT_REVISION.into())
    };
    Err(match code {
        Some(ErrorCode::RepoNotFound) => HubError::RepoNotFound { repo },
        Some(ErrorCode::RevisionNotFound) => HubError::RevisionNotFound {
            repo,
            revision: revision(),
        },
        Some(ErrorCode::EntryNotFound) => HubError::EntryNotFound {
            repo,
            revision: revision(),
            path: ctx.path.clone().unwrap_or(message),
        },
        Some(ErrorCode::GatedRepo) => HubError::Gated { repo },
        _ => match status.as_u16() {
            401 => HubError::Unauthorized { message },
            403 => HubError::Forbidden { message },
            409 | 412 => HubError::Conflict { message },
            status => HubError::Http {
                status,
                url: strip_query(url),
                message,
            },
        },
    })
}

/// The server's explanation: `X-Error-Message`, else the JSON `error`, else the body text.
fn error_message(header_message: Option<String>, body: &str, status: StatusCode) -> String {
    if let Some(m) = header_message.filter(|m| !m.is_empty()) {
        return m;
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        match &v["error"] {
            serde_json::Value::String(s) => return s.clone(),
            serde_json::Value::Array(a) => {
                return a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; ");
            }
            _ => {}
        }
    }
    let text: String = body.chars().take(500).collect();
    if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let o = Origin::of("http://127.0.0.1:8080/api/x?y=1").unwrap();
        assert_eq!(
            (o.scheme.as_str(), o.host.as_str(), o.port),
            ("http", "127.0.0.1", 8080)
        );
        assert_eq!(Origin::of("https://Huggingface.co/a").unwrap().port, 443);
        assert_ne!(Origin::of("http://a.com"), Origin::of("https://a.com"));
        assert_ne!(
            Origin::of("http://127.0.0.1:1/"),
            Origin::of("http://localhost:1/")
        );
        assert_eq!(Origin::of("http://[::1]:9/x").unwrap().host, "[::1]");
    }

    #[test]
    fn the_token_goes_to_the_exact_origin_only() {
        let mut settings = Settings::from_vars(&|_| None).unwrap();
        settings.endpoint = "http://127.0.0.1:8080".into();
        let http = Http::new(&settings).unwrap();
        assert!(http.is_endpoint("http://127.0.0.1:8080/alice/f/resolve/main/a"));
        for elsewhere in [
            "http://127.0.0.1:8081/x",
            "https://127.0.0.1:8080/x",
            "http://127.0.0.1/x",
            "http://localhost:8080/x",
            "http://127.0.0.1:8080@evil:8080/x",
            "ftp://127.0.0.1:8080/x",
        ] {
            assert!(!http.is_endpoint(elsewhere), "{elsewhere}");
        }
    }

    #[test]
    fn locations_resolve_against_the_url_they_came_with() {
        let base = "http://h:1/a/b/c?q=1#f";
        assert_eq!(join_url(base, "/x/y?s=2"), "http://h:1/x/y?s=2");
        assert_eq!(join_url(base, "d"), "http://h:1/a/b/d");
        assert_eq!(join_url(base, "https://cdn/x"), "https://cdn/x");
        assert_eq!(join_url(base, "HTTPS://cdn/x"), "HTTPS://cdn/x");
        assert_eq!(join_url(base, "//cdn:2/x"), "http://cdn:2/x");
        assert_eq!(join_url(base, ""), "http://h:1/a/b/c?q=1");
        // "://" inside a relative reference does not make it absolute.
        assert_eq!(
            join_url(base, "/p?next=http://evil/"),
            "http://h:1/p?next=http://evil/"
        );
        assert_eq!(join_url("http://h:1", "d"), "http://h:1/d");
    }

    #[test]
    fn user_agent_names_hubmix_and_the_libraries() {
        let mut settings = Settings::from_vars(&|_| None).unwrap();
        settings.user_agent.push(("mylib".into(), "1.2".into()));
        let agent = user_agent(&settings);
        assert!(
            agent.starts_with(&format!("hubmix/{}", env!("CARGO_PKG_VERSION"))),
            "{agent}"
        );
        assert!(agent.ends_with("; mylib/1.2"), "{agent}");
    }

    #[test]
    fn messages() {
        let m = |h: Option<&str>, b: &str| error_message(h.map(str::to_owned), b, StatusCode::BAD_REQUEST);
        assert_eq!(m(Some("nope"), "{}"), "nope");
        assert_eq!(m(None, r#"{"error": "bad"}"#), "bad");
        assert_eq!(m(None, r#"{"error": ["a", "b"]}"#), "a; b");
        assert_eq!(m(None, ""), "Bad Request");
        assert_eq!(strip_query("http://h/p?sig=secret"), "http://h/p");
    }
}
