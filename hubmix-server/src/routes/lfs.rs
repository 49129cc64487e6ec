//! Git LFS: the batch API (which objects to upload, and where) and the transfer URLs it hands
//! out — a single `PUT` (`basic`), or parts plus a completion call (`multipart`), then `verify`.
//!
//! The Python client sends the transfers without any credentials, so the URLs carry their own
//! authorisation: an HMAC of the step (upload, which part, complete, verify), the repository's
//! permanent id, the object id, its size and an expiry ([`crate::app::LfsGrant`]); an URL is
//! good for its one step until it expires, and never for a repository created since under the
//! same name or database key. Uploaded bytes are
//! streamed to disk: a whole object hashed on the way, the parts of a multipart upload each at its
//! offset in the object's file, hashed in one pass on completion ([`crate::storage`]'s
//! `multipart`). An object enters the blob store only once its size and SHA-256 match what the
//! batch announced.

use std::io;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hubmix_protocol::types::{
    BatchAnswer, BatchObject, BatchRequest, Empty, LfsAction, LfsActions, LfsObjectError, LfsOperation,
    Message, MultipartCompletion, Transfer,
};
use tokio::sync::mpsc;

use super::{Ctx, json, read_json};
use crate::api::{LFS_TRANSFER_PREFIX, LfsStep};
use crate::app::{App, LfsGrant};
use crate::error::ApiError;
use crate::limits::{Limit, Limits, MAX_LFS_PARTS};
use crate::repo_id::RepoId;
use crate::storage::{CompleteError, RepoRow, Sink, TempBlob};
use crate::time::{format_millis, unix_now};

/// Whether `s` is a SHA-256 in lowercase hex, the only oid form accepted.
pub(super) fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `POST /{prefix}{repo}.git/info/lfs/objects/batch`.
pub(super) async fn batch(app: &Arc<App>, ctx: &Ctx, id: RepoId, body: Body) -> Result<Response, ApiError> {
    let req: BatchRequest = read_json(&app.config.limits, body).await?;
    if req.operation != LfsOperation::Upload {
        return Err(ApiError::BadRequest(
            "LFS operation \"download\" is not supported: download files through /resolve/".into(),
        ));
    }
    // Uploading only makes objects available to later commits, which check write access
    // themselves; contributors who open pull requests upload too.
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    app.auth.check_contributor(ctx.who.as_ref())?;
    let multipart_ok = req.transfers.contains(&Transfer::Multipart);
    let part_size = app.config.lfs_part_size;
    let row = repo.clone();
    let oids: Vec<(String, u64)> = req.objects.iter().map(|o| (o.oid.clone(), o.size)).collect();
    let present = app
        .run(move |a| {
            oids.iter()
                .map(|(oid, size)| {
                    let present = is_sha256(oid)
                        && a.store.lfs_object(&row, oid)? == Some(*size)
                        && a.store.blobs.exists(oid);
                    if present {
                        // The client now counts on it for its commit: garbage collection keeps
                        // it a grace period from now, as after an upload.
                        a.store.add_lfs_object(&row, oid, *size)?;
                    }
                    Ok(present)
                })
                .collect::<Result<Vec<bool>, _>>()
        })
        .await?;
    let mut any_multipart = false;
    let expires = unix_now().saturating_add(app.config.lfs_url_lifetime.as_secs());
    let objects: Vec<BatchObject> = req
        .objects
        .iter()
        .zip(present)
        .map(|(o, present)| {
            // No actions: the server has the object already.
            let stored = BatchObject {
                oid: o.oid.clone(),
                size: o.size,
                authenticated: None,
                actions: None,
                error: None,
            };
            if !is_sha256(&o.oid) {
                let error = LfsObjectError {
                    code: 422,
                    message: "oid must be a sha256 in lowercase hex".into(),
                };
                return BatchObject {
                    error: Some(error),
                    ..stored
                };
            }
            if present {
                return stored;
            }
            if let Some(message) = too_large(&app.config.limits, o.size, multipart_ok, part_size) {
                return BatchObject {
                    error: Some(LfsObjectError { code: 422, message }),
                    ..stored
                };
            }
            let url = |step: LfsStep, part: Option<u64>| {
                let grant = LfsGrant {
                    step,
                    part,
                    repo: &repo.object_id,
                    oid: &o.oid,
                    size: o.size,
                    expires,
                };
                let sig = app.sign_lfs(&grant);
                let part = part.map(|n| format!("&part={n}")).unwrap_or_default();
                format!(
                    "{}{LFS_TRANSFER_PREFIX}/{}/{}/{}?size={}{part}&exp={expires}&sig={sig}",
                    ctx.base,
                    step.segment(),
                    repo.key,
                    o.oid,
                    o.size
                )
            };
            let upload = if multipart_ok && o.size > part_size {
                any_multipart = true;
                let parts = (1..=o.size.div_ceil(part_size)).map(|n| url(LfsStep::Upload, Some(n)));
                LfsAction::multipart(url(LfsStep::Complete, None), part_size, parts)
            } else {
                LfsAction::basic(url(LfsStep::Upload, None))
            };
            let actions = LfsActions {
                upload: Some(upload),
                verify: Some(LfsAction::basic(url(LfsStep::Verify, None))),
            };
            BatchObject {
                authenticated: Some(true),
                actions: Some(actions),
                ..stored
            }
        })
        .collect();
    let transfer = if any_multipart {
        Transfer::Multipart
    } else {
        Transfer::Basic
    };
    let mut response = json(BatchAnswer {
        transfer: Some(transfer),
        objects,
    });
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.git-lfs+json"),
    );
    Ok(response)
}

/// The transfer URLs: `PUT upload` (whole object or `?part=N`), `POST complete`, `POST verify`.
pub(super) async fn transfer(
    app: &Arc<App>,
    ctx: &Ctx,
    step: LfsStep,
    repo_key: i64,
    oid: String,
    body: Body,
) -> Result<Response, ApiError> {
    let number = |key: &str| ctx.query(key).and_then(|v| v.parse::<u64>().ok());
    let size =
        number("size").ok_or_else(|| ApiError::BadRequest("the transfer URL lacks its size".into()))?;
    let expires = number("exp").unwrap_or(0);
    // The part a part URL was signed for: any other part number fails the signature.
    let part = match (step, ctx.query("part")) {
        (LfsStep::Upload, Some(p)) => Some(
            p.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("part {p:?} is not a part number")))?,
        ),
        _ => None,
    };
    let sig = ctx.query("sig").unwrap_or("").to_owned();
    let invalid = || {
        ApiError::Forbidden(
            "the transfer URL's signature is not valid: ask the batch API for a new one".into(),
        )
    };
    if !is_sha256(&oid) {
        return Err(invalid());
    }
    // No repository under this key: no signature can be valid (and no existence is told).
    let repo = app
        .run(move |a| a.store.repo_by_key(repo_key))
        .await?
        .ok_or_else(invalid)?;
    let grant = LfsGrant {
        step,
        part,
        repo: &repo.object_id,
        oid: &oid,
        size,
        expires,
    };
    if !app.verify_lfs(&grant, &sig) {
        return Err(invalid());
    }
    if unix_now() > expires {
        return Err(ApiError::Forbidden(format!(
            "the transfer URL expired at {}: ask the batch API (POST .../info/lfs/objects/batch) again for new URLs",
            format_millis(
                i64::try_from(expires)
                    .unwrap_or(i64::MAX / 1000)
                    .saturating_mul(1000)
            )
        )));
    }
    let part_size = app.config.lfs_part_size;
    match step {
        LfsStep::Upload => match part {
            None => {
                let temp = receive(app, body, size, move |a| a.store.blobs.writer(Some(size))).await?;
                store_object(app, &repo, &oid, size, temp).await?;
                Ok(etag_response(&oid))
            }
            Some(n) => {
                let parts = size.div_ceil(part_size);
                if !(1..=parts).contains(&n) {
                    return Err(ApiError::BadRequest(format!(
                        "part {n} is not between 1 and {parts}"
                    )));
                }
                let offset = (n - 1) * part_size;
                let expected = part_size.min(size - offset);
                let name = upload_name(&repo, &oid);
                receive(app, body, expected, move |a| {
                    a.store.blobs.multipart(&name).part(n, offset, expected)
                })
                .await?;
                Ok(etag_response(&format!("{oid}-{n}")))
            }
        },
        LfsStep::Complete => {
            let req: MultipartCompletion = read_json(&app.config.limits, body).await?;
            if req.oid != oid {
                return Err(ApiError::BadRequest(format!(
                    "the completion names {} but the URL is for {oid}",
                    req.oid
                )));
            }
            // Already assembled (this is a retry whose first answer was lost): done.
            if stored_size(app, &repo, &oid).await? == Some(size) {
                return Ok(json(Message::new("ok")));
            }
            let parts = size.div_ceil(part_size);
            let name = upload_name(&repo, &oid);
            let completed = app
                .run(move |a| Ok(a.store.blobs.multipart(&name).complete(&a.store.blobs, parts)))
                .await?;
            let temp = completed.map_err(|e| match e {
                CompleteError::MissingPart(_) => ApiError::BadRequest(format!("{oid}: {e}")),
                CompleteError::Io(e) => ApiError::Internal(format!("completing the upload of {oid}: {e}")),
            })?;
            // Refused or stored, the upload is over: its parts are gone with its folder.
            store_object(app, &repo, &oid, size, temp).await?;
            Ok(json(Message::new("ok")))
        }
        LfsStep::Verify => match stored_size(app, &repo, &oid).await? {
            Some(s) if s == size => Ok(json(Message::new("ok"))),
            _ => Err(ApiError::NotFound(format!(
                "object {oid} ({size} bytes) has not been uploaded"
            ))),
        },
    }
}

/// Why an object of `size` bytes cannot be uploaded here, if it cannot: larger than the hub
/// takes, or in more than [`MAX_LFS_PARTS`] parts (or one part larger than a part, without
/// multipart). Checked before any URL is made, so a crafted size costs nothing.
fn too_large(limits: &Limits, size: u64, multipart: bool, part_size: u64) -> Option<String> {
    if size > limits.max_lfs_object_bytes {
        return Some(limits.message(Limit::LfsObjectBytes, format_args!("the object is {size} bytes")));
    }
    if multipart && size.div_ceil(part_size) > MAX_LFS_PARTS {
        return Some(format!(
            "the object is {size} bytes: more than {MAX_LFS_PARTS} parts of {part_size} bytes (--lfs-part-size makes larger parts)"
        ));
    }
    None
}

/// The size of object `oid` if the repository has it stored.
async fn stored_size(app: &Arc<App>, repo: &RepoRow, oid: &str) -> Result<Option<u64>, ApiError> {
    let row = repo.clone();
    let oid = oid.to_owned();
    app.run(move |a| {
        Ok(a.store
            .lfs_object(&row, &oid)?
            .filter(|_| a.store.blobs.exists(&oid)))
    })
    .await
}

fn etag_response(etag: &str) -> Response {
    let mut response = json(Empty {}).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// The name of the multipart upload of `oid` to `repo`: under the repository's permanent id,
/// which no later repository shares.
fn upload_name(repo: &RepoRow, oid: &str) -> String {
    format!("{}-{oid}", repo.object_id)
}

/// Checks a received object against its announced size and hash, then stores it and records
/// it for the repository.
async fn store_object(
    app: &Arc<App>,
    repo: &RepoRow,
    oid: &str,
    size: u64,
    temp: TempBlob,
) -> Result<(), ApiError> {
    if temp.size != size || temp.sha256 != oid {
        return Err(ApiError::BadRequest(format!(
            "the uploaded bytes do not match the object: expected sha256 {oid} and {size} bytes, got sha256 {} and {} bytes",
            temp.sha256, temp.size
        )));
    }
    let row = repo.clone();
    let oid = oid.to_owned();
    app.run(move |a| {
        a.store.blobs.commit(temp)?;
        a.store.add_lfs_object(&row, &oid, size)
    })
    .await
}

/// Streams a request body into the sink that `open` makes, on the blocking pool, refusing more
/// than `expected` bytes.
async fn receive<S, F>(app: &Arc<App>, body: Body, expected: u64, open: F) -> Result<S::Done, ApiError>
where
    S: Sink,
    S::Done: Send + 'static,
    F: FnOnce(&App) -> io::Result<S> + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(16);
    let writer = {
        let app = Arc::clone(app);
        tokio::task::spawn_blocking(move || {
            let mut blob = open(&app)?;
            let mut left = expected;
            while let Some(chunk) = rx.blocking_recv() {
                let chunk = chunk?;
                left = left.checked_sub(chunk.len() as u64).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "more bytes than the object's announced size",
                    )
                })?;
                blob.write(&chunk)?;
            }
            blob.finish()
        })
    };
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let item = chunk.map_err(|e| io::Error::new(io::ErrorKind::ConnectionAborted, e.to_string()));
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            break; // the writer stopped (too many bytes, disk error), or the client went away
        }
    }
    drop(tx);
    match writer.await {
        Ok(Ok(temp)) => Ok(temp),
        Ok(Err(e))
            if e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::ConnectionAborted =>
        {
            Err(ApiError::BadRequest(format!("upload refused: {e}")))
        }
        Ok(Err(e)) => Err(ApiError::Internal(format!("writing the upload: {e}"))),
        Err(e) => Err(ApiError::Internal(format!("upload task failed: {e}"))),
    }
}
