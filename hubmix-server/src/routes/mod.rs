//! HTTP routing: one handler module per resource; [`crate::api::parse`] decides which.
//!
//! Every request goes through [`dispatch`]: parse the route, refuse a declared body larger than
//! the route takes, authenticate, hold writes to the per-token rate limit, call the handler, map
//! its error (in one place, [`ApiError`]'s `IntoResponse`), drop what the handler left of the
//! request body (so that a client still sending reads the answer), and log one line without
//! tokens or query strings.

mod discussions;
mod lfs;
mod meta;
mod refs;
mod repos;
mod resolve;
mod tree;
mod upload;

pub(crate) use resolve::ByteRange;

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use hubmix_protocol::headers;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{self, BodyKind, Route};
use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::limits::{Limit, Limits};

/// Largest paths-info form body (the number of paths is held to its own limit).
const MAX_FORM_BODY: usize = 4 * 1024 * 1024;

/// The router: everything goes to [`dispatch`].
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new().fallback(dispatch).with_state(app)
}

/// What every handler gets besides its route arguments.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The authenticated caller, if any.
    pub who: Option<Principal>,
    /// Base for absolute URLs in answers.
    pub base: String,
    /// The raw request path (still percent-encoded), for pagination links.
    pub raw_path: String,
    pub headers: HeaderMap,
    query: Vec<(String, String)>,
}

impl Ctx {
    /// The first value of query parameter `key`.
    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of query parameter `key`, in order (`filter=a&filter=b`).
    pub(crate) fn query_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.query
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter: `1`, `true`, `True` (as the different clients send them).
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.query(key)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    }

    /// Entries for this page of a listing: the `limit` query parameter, clamped to `1..=max`;
    /// `max` without one.
    pub(crate) fn page_size(&self, max: usize) -> Result<usize, ApiError> {
        match self.query("limit") {
            None => Ok(max),
            Some(v) => v
                .parse::<usize>()
                .map(|n| n.clamp(1, max))
                .map_err(|_| ApiError::BadRequest(format!("limit {v:?} is not a count"))),
        }
    }

    /// The authenticated caller's name, or an error asking for a token.
    pub(crate) fn user(&self) -> Result<&str, ApiError> {
        self.who.as_ref().map(|p| p.user.as_str()).ok_or_else(|| {
            ApiError::Unauthorized("this call needs a token: send `Authorization: Bearer <token>`".into())
        })
    }
}

async fn dispatch(State(app): State<Arc<App>>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let expects_continue = parts
        .headers
        .get(axum::http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (body, unread) = RequestBody::new(body);
    let response = match handle(&app, parts, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    unread.drain(expects_continue).await;
    tracing::info!(
        "{method} {path} -> {} in {:.1} ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

async fn handle(app: &Arc<App>, parts: axum::http::request::Parts, body: Body) -> Result<Response, ApiError> {
    let route = api::parse(&parts.method, parts.uri.path())?;
    check_declared_length(&app.config.limits, route.body_kind(), &parts.headers)?;
    let ctx = Ctx {
        who: app.auth.authenticate(&parts.headers)?,
        base: app.base_url(&parts.headers),
        raw_path: parts.uri.path().to_owned(),
        query: query_pairs(parts.uri.query().unwrap_or("")).collect(),
        headers: parts.headers,
    };
    if route.is_write()
        && let Some(who) = &ctx.who
    {
        app.writes.admit(who.token)?;
    }
    match route {
        Route::Metrics => Ok(meta::metrics(app)),
        Route::WhoAmI => meta::whoami(app, &ctx),
        Route::AgentHarnesses => Ok(meta::agent_harnesses()),
        Route::ValidateYaml => meta::validate_yaml(app, body).await,
        Route::Xet => Err(meta::xet_unsupported()),
        Route::ListRepos { kind } => repos::list(app, &ctx, kind).await,
        Route::CreateRepo => repos::create(app, &ctx, body).await,
        Route::MoveRepo => repos::move_repo(app, &ctx, body).await,
        Route::DeleteRepo => repos::delete(app, &ctx, body).await,
        Route::RepoInfo { repo, rev } => repos::info(app, &ctx, repo, rev).await,
        Route::Settings { repo } => repos::settings(app, &ctx, repo, body).await,
        Route::Tree { repo, rev, folder } => tree::tree(app, &ctx, repo, rev, folder).await,
        Route::PathsInfo { repo, rev } => tree::paths_info(app, &ctx, repo, rev, body).await,
        Route::Refs { repo } => refs::list(app, &ctx, repo).await,
        Route::Commits { repo, rev } => refs::commits(app, &ctx, repo, rev).await,
        Route::CreateBranch { repo, branch } => refs::create_branch(app, &ctx, repo, branch, body).await,
        Route::DeleteBranch { repo, branch } => refs::delete_branch(app, &ctx, repo, branch).await,
        Route::CreateTag { repo, rev } => refs::create_tag(app, &ctx, repo, rev, body).await,
        Route::DeleteTag { repo, tag } => refs::delete_tag(app, &ctx, repo, tag).await,
        Route::Preupload { repo, rev } => upload::preupload(app, &ctx, repo, rev, body).await,
        Route::Commit { repo, rev } => upload::commit(app, &ctx, repo, rev, body).await,
        Route::ListDiscussions { repo } => discussions::list(app, &ctx, repo).await,
        Route::CreateDiscussion { repo } => discussions::create(app, &ctx, repo, body).await,
        Route::Discussion { repo, num } => discussions::details(app, &ctx, repo, num).await,
        Route::Resolve {
            repo,
            rev,
            path,
            head_only,
        } => resolve::resolve(app, &ctx, repo, rev, path, head_only).await,
        Route::LfsBatch { repo } => lfs::batch(app, &ctx, repo, body).await,
        Route::LfsTransfer { step, repo_key, oid } => {
            lfs::transfer(app, &ctx, step, repo_key, oid, body).await
        }
    }
}

/// Most bytes of an unread request body that are read and dropped so the client sees the answer.
const DRAIN_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Longest time spent dropping an unread request body.
const DRAIN_MAX_TIME: Duration = Duration::from_secs(30);

/// The request body, shared between the handler and [`dispatch`]: what the handler leaves unread
/// (it refused the request early, or stopped at an over-long line) is read and dropped before the
/// answer goes out. Otherwise the connection closes under a client still sending, which then sees
/// a broken pipe instead of the error.
struct RequestBody {
    slot: Arc<Mutex<Unread>>,
}

struct Unread {
    stream: Option<BodyDataStream>,
    /// Whether the handler asked for any of the body.
    polled: bool,
}

impl RequestBody {
    /// The body to give the handler, and the handle that drains what it leaves.
    fn new(body: Body) -> (Body, RequestBody) {
        let slot = Arc::new(Mutex::new(Unread {
            stream: Some(body.into_data_stream()),
            polled: false,
        }));
        let shared = SharedBody {
            slot: Arc::clone(&slot),
        };
        (Body::from_stream(shared), RequestBody { slot })
    }

    /// Reads and drops the rest of the body, within bounds. A client that sent
    /// `Expect: 100-continue` and was never asked for the body has not sent it: nothing to do.
    async fn drain(self, expects_continue: bool) {
        let stream = {
            let mut unread = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            if expects_continue && !unread.polled {
                return;
            }
            unread.stream.take()
        };
        let Some(mut stream) = stream else { return };
        let mut dropped = 0u64;
        let _ = tokio::time::timeout(DRAIN_MAX_TIME, async {
            while let Some(Ok(chunk)) = stream.next().await {
                dropped += chunk.len() as u64;
                if dropped > DRAIN_MAX_BYTES {
                    break;
                }
            }
        })
        .await;
    }
}

/// The handler's view of a [`RequestBody`].
struct SharedBody {
    slot: Arc<Mutex<Unread>>,
}

impl Stream for SharedBody {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut unread = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        unread.polled = true;
        match unread.stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

/// Refuses a request whose declared `Content-Length` is more than its route reads, before
/// anything is read or looked up.
fn check_declared_length(limits: &Limits, kind: BodyKind, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(len) = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Ok(());
    };
    match kind {
        BodyKind::Json if len > limits.max_json_bytes as u64 => {
            Err(limits.exceeded(Limit::JsonBytes, format_args!("the request body is {len} bytes")))
        }
        BodyKind::Commit if len > limits.max_commit_bytes => Err(limits.exceeded(
            Limit::CommitBytes,
            format_args!("the commit body is {len} bytes (send large files through LFS)"),
        )),
        BodyKind::Form if len > MAX_FORM_BODY as u64 => Err(form_too_large(limits)),
        _ => Ok(()),
    }
}

fn form_too_large(limits: &Limits) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the paths-info form is larger than {MAX_FORM_BODY} bytes: ask about at most {} paths per request",
        limits.max_paths_per_request
    ))
}

/// Decodes a query string (`+` is a space) into pairs, one at a time.
fn query_pairs(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    q.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k), form_decode(v))
    })
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Reads a whole body of at most `limit` bytes; `too_large` is the refusal of a longer one,
/// made as soon as the bytes read pass the limit.
async fn read_body(
    body: Body,
    limit: usize,
    too_large: impl FnOnce() -> ApiError,
) -> Result<Vec<u8>, ApiError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the request body was cut off: {e}")))?;
        if chunk.len() > limit - bytes.len() {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads a JSON body within `limits` (size, then nesting, before it is parsed); an empty body
/// reads as `{}`.
async fn read_json<T: DeserializeOwned>(limits: &Limits, body: Body) -> Result<T, ApiError> {
    let bytes = read_body(body, limits.max_json_bytes, || {
        limits.exceeded(Limit::JsonBytes, "the request body is too large")
    })
    .await?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    limits.check_json_depth(bytes, "the JSON body")?;
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// Reads the distinct paths of a paths-info form (`paths=a&paths=b`, `paths[]` too), refusing more
/// than `limits.max_paths_per_request` as soon as there are.
async fn read_paths_form(limits: &Limits, body: Body) -> Result<Vec<String>, ApiError> {
    let form = read_body(body, MAX_FORM_BODY, || form_too_large(limits)).await?;
    let form =
        std::str::from_utf8(&form).map_err(|_| ApiError::BadRequest("the form body is not UTF-8".into()))?;
    // Distinct paths, in the order first asked: a path repeated costs nothing more.
    let mut paths = Vec::new();
    let mut seen = HashSet::new();
    for (key, value) in query_pairs(form) {
        if key == "paths" || key == "paths[]" {
            let path = value.trim_matches('/');
            if seen.contains(path) {
                continue;
            }
            if paths.len() == limits.max_paths_per_request {
                return Err(limits.exceeded(
                    Limit::PathsPerRequest,
                    "the paths-info request asks about too many paths",
                ));
            }
            seen.insert(path.to_owned());
            paths.push(path.to_owned());
        }
    }
    Ok(paths)
}

/// A JSON answer.
fn json(body: impl Serialize) -> Response {
    axum::Json(body).into_response()
}

/// The absolute link to the next page of a listing, as a `Link` header value: the request's URL
/// with `cursor` set to `next_cursor` (and no page number `p`).
fn next_link(ctx: &Ctx, next_cursor: &str) -> String {
    let mut query: Vec<String> = ctx
        .query
        .iter()
        .filter(|(k, _)| k != "cursor" && k != "p")
        .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
        .collect();
    query.push(format!("cursor={}", encode_query(next_cursor)));
    headers::format_next_link(&format!("{}{}?{}", ctx.base, ctx.raw_path, query.join("&")))
}

fn encode_query(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A JSON page with its `Link` header.
fn json_page(items: Vec<impl Serialize>, link: Option<String>) -> Response {
    let mut response = json(items);
    if let Some(link) = link
        && let Ok(value) = link.parse()
    {
        response.headers_mut().insert(axum::http::header::LINK, value);
    }
    response
}
