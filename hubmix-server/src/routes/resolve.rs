//! Downloads: `HEAD`/`GET /{prefix}{repo}/resolve/{rev}/{path}`, with ranges.
//!
//! The bytes are served directly, streamed from the blob file, with the headers the client
//! needs: `X-Repo-Commit`, a quoted `ETag` (git blob sha1, or sha256 for LFS files),
//! `X-Linked-Etag`/`X-Linked-Size` for LFS files, and the real `Content-Length` on `HEAD` too.
//! With the blob host on ([`crate::cdn`]), LFS files are answered instead with a `302` to their
//! signed URL there, carrying the same headers, as the Hub redirects them to its CDN.

use std::fs::File;
use std::io::{self, Read, SeekFrom};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::response::Builder;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::io::AsyncSeekExt;

use super::Ctx;
use crate::app::App;
use crate::cdn;
use crate::error::ApiError;
use crate::repo_id::RepoId;
use crate::storage::Entry;
use hubmix_protocol::wire;

/// Read size of the download stream.
const STREAM_CHUNK: usize = 256 * 1024;

/// A byte range `start..=end` of a file of `total` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    /// Parses a single-range `Range` header against a file of `total` bytes. `Ok(None)`: serve the
    /// whole file (a form this server does not split, such as several ranges).
    pub(crate) fn parse(value: &str, total: u64) -> Result<Option<ByteRange>, ApiError> {
        let Some(spec) = value.trim().strip_prefix("bytes=") else {
            return Ok(None);
        };
        if spec.contains(',') {
            return Ok(None);
        }
        let (a, b) = spec
            .split_once('-')
            .ok_or(ApiError::RangeNotSatisfiable { total })?;
        let (a, b) = (a.trim(), b.trim());
        let unsatisfiable = ApiError::RangeNotSatisfiable { total };
        let range = if a.is_empty() {
            let n: u64 = b.parse().map_err(|_| ApiError::RangeNotSatisfiable { total })?;
            if n == 0 || total == 0 {
                return Err(unsatisfiable);
            }
            ByteRange {
                start: total.saturating_sub(n),
                end: total - 1,
            }
        } else {
            let start: u64 = a.parse().map_err(|_| ApiError::RangeNotSatisfiable { total })?;
            let end = if b.is_empty() {
                total.saturating_sub(1)
            } else {
                b.parse().map_err(|_| ApiError::RangeNotSatisfiable { total })?
            };
            if start >= total || end < start {
                return Err(unsatisfiable);
            }
            ByteRange {
                start,
                end: end.min(total - 1),
            }
        };
        Ok(Some(range))
    }
}

/// Serves one file of a revision.
pub(super) async fn resolve(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
    path: String,
    head_only: bool,
) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let lookup = path.clone();
    let wanted = rev.clone();
    let (commit, entry) = app
        .run(move |a| {
            let commit = a.store.resolve(&repo, &wanted)?;
            let entry = a.store.entry(&commit, &lookup)?;
            Ok((commit, entry))
        })
        .await?;
    let Some(entry) = entry else {
        return Err(ApiError::EntryNotFound {
            path,
            rev,
            commit: Some(commit),
        });
    };
    if entry.lfs
        && let Some(port) = app.cdn_port
    {
        return file_headers(Response::builder(), &entry, &commit)
            .status(StatusCode::FOUND)
            .header(
                header::LOCATION,
                cdn::blob_url(app, &ctx.base, port, &entry.sha256),
            )
            .header(header::CONTENT_LENGTH, 0)
            .body(Body::empty())
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    let total = entry.size;
    let range = match ctx.headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(v) => ByteRange::parse(v, total)?,
        None => None,
    };
    let (status, start, len) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.start, r.end - r.start + 1),
        None => (StatusCode::OK, 0, total),
    };

    let mut response = file_headers(Response::builder(), &entry, &commit)
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len);
    if let Some(r) = &range {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{total}", r.start, r.end),
        );
    }
    let body = if head_only {
        Body::empty()
    } else {
        let mut file = tokio::fs::File::open(app.store.blobs.path(&entry.sha256))
            .await
            .map_err(|e| ApiError::Internal(format!("blob of {}: {e}", entry.path)))?;
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        file_body(file.into_std().await, len)
    };
    let mut response = response
        .body(body)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // Keep the real length on HEAD as well (frameworks like to reset it to 0).
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        response.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
    Ok(response)
}

/// What every answer about a file says, the bytes or a redirect to them: `ETag`, `X-Repo-Commit`,
/// `Accept-Ranges`, and for LFS files `X-Linked-Etag` and `X-Linked-Size`.
fn file_headers(builder: Builder, entry: &Entry, commit: &str) -> Builder {
    let builder = builder
        .header(header::ETAG, format!("\"{}\"", entry.etag()))
        .header(wire::REPO_COMMIT, commit)
        .header(header::ACCEPT_RANGES, "bytes");
    if !entry.lfs {
        return builder;
    }
    builder
        .header(wire::LINKED_ETAG, format!("\"{}\"", entry.sha256))
        .header(wire::LINKED_SIZE, entry.size)
}

/// Streams the next `len` bytes of `file`, [`STREAM_CHUNK`] at a time, each read on the blocking
/// pool straight into the buffer that is sent. (`tokio::fs::File` would read into its own buffer
/// and copy from there, which costs about as much CPU as sending the bytes.)
fn file_body(file: File, len: u64) -> Body {
    Body::from_stream(futures_util::stream::try_unfold(
        (file, len),
        |(file, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let (file, chunk) = tokio::task::spawn_blocking(move || {
                let n = left.min(STREAM_CHUNK as u64);
                let mut chunk = Vec::with_capacity(n as usize);
                (&file).take(n).read_to_end(&mut chunk)?;
                Ok::<_, io::Error>((file, chunk))
            })
            .await
            .map_err(io::Error::other)??;
            if chunk.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob is shorter than its recorded size",
                ));
            }
            let left = left - chunk.len() as u64;
            Ok(Some((Bytes::from(chunk), (file, left))))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |s: &str| ByteRange::parse(s, 100);
        assert_eq!(r("bytes=0-9").unwrap(), Some(ByteRange { start: 0, end: 9 }));
        assert_eq!(r("bytes=90-").unwrap(), Some(ByteRange { start: 90, end: 99 }));
        assert_eq!(r("bytes=-10").unwrap(), Some(ByteRange { start: 90, end: 99 }));
        assert_eq!(r("bytes=95-200").unwrap(), Some(ByteRange { start: 95, end: 99 }));
        assert_eq!(r("bytes=0-1,5-6").unwrap(), None);
        assert!(r("bytes=100-").is_err());
        assert!(r("bytes=5-2").is_err());
        assert!(r("bytes=x-").is_err());
    }
}
