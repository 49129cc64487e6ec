//! Git LFS uploads (`hub-protocol.md` §5.3): the batch API tells which objects the Hub lacks
//! and where to send them — one `PUT` (`basic`), or parts plus a completion call
//! (`multipart`) — then each upload is confirmed with `verify`.
//!
//! Objects the Hub already has get no upload action and are skipped, which is what makes an
//! interrupted push cheap to run again. Transfers run on `max_workers` threads, parts of one
//! object included, each streamed from its file. A failed `PUT` is retried (with backoff) on its
//! own: the other parts are not sent again. The transfer URLs authorise themselves, so the token
//! is never sent to them.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use ureq::http::Method;

use crate::client::HubClient;
use crate::commit::Content;
use crate::error::HubError;
use crate::http::{Call, Context};
use crate::parallel::try_map;
use crate::progress::Progress;
use crate::repo::RepoId;

/// Objects per batch call (as `huggingface_hub`).
const BATCH_SIZE: usize = 256;
/// The LFS media type, for requests and answers.
const LFS_JSON: &str = "application/vnd.git-lfs+json";

/// An object to upload: its SHA-256, size and content.
pub(crate) struct LfsObject {
    pub oid: String,
    pub size: u64,
    pub content: Content,
}

#[derive(Deserialize)]
struct BatchAnswer {
    objects: Vec<AnswerObject>,
}

#[derive(Deserialize)]
struct AnswerObject {
    oid: String,
    #[serde(default)]
    actions: Option<Actions>,
    error: Option<ObjectError>,
}

#[derive(Deserialize)]
struct ObjectError {
    #[serde(default)]
    code: u16,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Actions {
    upload: Option<Action>,
    verify: Option<Action>,
}

#[derive(Deserialize)]
struct Action {
    href: String,
    #[serde(default)]
    header: Map<String, Value>,
}

/// One object's upload: where its parts go, and how it is finished.
struct Job<'a> {
    object: &'a LfsObject,
    /// The completion URL of a multipart upload (`None`: a single `PUT`).
    complete: Option<String>,
    verify: Option<String>,
}

/// One `PUT`: a whole object or one part.
struct Transfer {
    job: usize,
    url: String,
    offset: u64,
    len: u64,
}

/// Uploads the objects the Hub lacks. `ref_name` is the branch the commit will go to (`None`
/// for a pull request).
pub(crate) fn upload_objects(
    client: &HubClient,
    repo: &RepoId,
    ref_name: Option<&str>,
    objects: &[LfsObject],
) -> Result<(), HubError> {
    let ctx = Context {
        repo: repo.to_string(),
        revision: ref_name.map(str::to_owned),
        path: None,
    };
    let workers = client.settings().max_workers;
    for chunk in objects.chunks(BATCH_SIZE) {
        let (jobs, transfers) = plan(client, repo, ref_name, chunk, &ctx)?;
        let progress = Progress::bytes(
            client.settings(),
            transfers.iter().map(|t| t.len).sum(),
            &match jobs.len() {
                1 => "Uploading 1 LFS file".to_owned(),
                n => format!("Uploading {n} LFS files"),
            },
        );
        let sent = try_map(&transfers, workers, |t| {
            let object = jobs[t.job].object;
            let mut call = Call::new(Method::PUT, &t.url);
            call.auth = false;
            call.payload = progress.track(object.content.payload(t.offset, t.len));
            let response = client.http().call(&call, &ctx)?;
            let etag = response.headers().get("etag").and_then(|v| v.to_str().ok());
            Ok(etag.filter(|e| !e.is_empty()).map(str::to_owned))
        });
        progress.finish();
        let etags = sent?;
        let indices: Vec<usize> = (0..jobs.len()).collect();
        try_map(&indices, workers, |&j| {
            let job = &jobs[j];
            if let Some(url) = &job.complete {
                let parts: Vec<Value> = transfers
                    .iter()
                    .zip(&etags)
                    .filter(|(t, _)| t.job == j)
                    .enumerate()
                    .map(|(i, (t, etag))| {
                        let etag = etag.as_ref().ok_or_else(|| HubError::InvalidResponse {
                            url: crate::http::strip_query(&t.url),
                            reason: "the part upload was answered without an ETag".into(),
                        })?;
                        Ok(json!({"partNumber": i + 1, "etag": etag}))
                    })
                    .collect::<Result<_, HubError>>()?;
                let mut call = Call::new(Method::POST, url).header("accept", LFS_JSON).body(
                    serde_json::to_vec(&json!({"oid": job.object.oid, "parts": parts}))
                        .expect("JSON serializes"),
                    LFS_JSON,
                );
                call.auth = false;
                client.http().call(&call, &ctx)?;
            }
            if let Some(url) = &job.verify {
                let body = json!({"oid": job.object.oid, "size": job.object.size});
                client
                    .http()
                    .call(&Call::new(Method::POST, url).json(&body), &ctx)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Asks the batch API about `objects`; returns the uploads to make and their `PUT`s.
fn plan<'a>(
    client: &HubClient,
    repo: &RepoId,
    ref_name: Option<&str>,
    objects: &'a [LfsObject],
    ctx: &Context,
) -> Result<(Vec<Job<'a>>, Vec<Transfer>), HubError> {
    let url = format!(
        "{}/{}.git/info/lfs/objects/batch",
        client.settings().endpoint,
        repo.url_path()
    );
    let mut request = json!({
        "operation": "upload",
        "transfers": ["basic", "multipart"],
        "objects": objects.iter().map(|o| json!({"oid": o.oid, "size": o.size})).collect::<Vec<_>>(),
        "hash_algo": "sha256",
    });
    if let Some(name) = ref_name {
        request["ref"] = json!({ "name": name });
    }
    let call = Call::new(Method::POST, &url)
        .header("accept", LFS_JSON)
        .body(serde_json::to_vec(&request).expect("JSON serializes"), LFS_JSON);
    let answer: BatchAnswer = client.http().json(&call, ctx)?;
    let invalid = |reason: String| HubError::InvalidResponse {
        url: url.clone(),
        reason,
    };

    let mut jobs = Vec::new();
    let mut transfers = Vec::new();
    let mut errors = Vec::new();
    for object in objects {
        let answered = answer
            .objects
            .iter()
            .find(|a| a.oid == object.oid)
            .ok_or_else(|| {
                invalid(format!(
                    "the LFS batch answer does not mention object {}",
                    object.oid
                ))
            })?;
        if let Some(e) = &answered.error {
            errors.push((
                e.code,
                format!("{} ({} bytes): {}", object.oid, object.size, e.message),
            ));
            continue;
        }
        let Some(actions) = &answered.actions else {
            tracing::debug!("LFS object {} is already on the Hub", object.oid);
            continue;
        };
        let Some(upload) = &actions.upload else {
            continue;
        };
        let job = jobs.len();
        let complete = match upload.header.get("chunk_size") {
            None => {
                transfers.push(Transfer {
                    job,
                    url: upload.href.clone(),
                    offset: 0,
                    len: object.size,
                });
                None
            }
            Some(chunk) => {
                let chunk = match chunk {
                    Value::String(s) => s.parse().ok(),
                    v => v.as_u64(),
                }
                .filter(|c| *c > 0)
                .ok_or_else(|| invalid(format!("chunk_size {chunk} is not a positive number")))?;
                let mut parts: Vec<(u64, &str)> = upload
                    .header
                    .iter()
                    .filter(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
                    .map(|(k, v)| {
                        let url = v
                            .as_str()
                            .ok_or_else(|| invalid(format!("part {k} has no URL")))?;
                        Ok((
                            k.parse()
                                .map_err(|_| invalid(format!("part number {k} is too large")))?,
                            url,
                        ))
                    })
                    .collect::<Result<_, HubError>>()?;
                parts.sort_by_key(|(n, _)| *n);
                if parts.len() as u64 != object.size.div_ceil(chunk) {
                    return Err(invalid(format!(
                        "{} parts of {chunk} bytes cannot hold object {} of {} bytes",
                        parts.len(),
                        object.oid,
                        object.size
                    )));
                }
                for (i, (_, part_url)) in parts.iter().enumerate() {
                    let offset = i as u64 * chunk;
                    transfers.push(Transfer {
                        job,
                        url: (*part_url).to_owned(),
                        offset,
                        len: chunk.min(object.size - offset),
                    });
                }
                Some(upload.href.clone())
            }
        };
        jobs.push(Job {
            object,
            complete,
            verify: actions.verify.as_ref().map(|v| v.href.clone()),
        });
    }
    if let Some((status, _)) = errors.first() {
        let list: Vec<&str> = errors.iter().map(|(_, e)| e.as_str()).collect();
        return Err(HubError::Http {
            status: *status,
            url,
            message: format!("the Hub refused LFS objects: {}", list.join("; ")),
        });
    }
    Ok((jobs, transfers))
}
