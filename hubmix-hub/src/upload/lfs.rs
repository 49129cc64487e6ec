//! Git LFS uploads (`hub-protocol.md` §5.3): the batch API tells which objects the Hub lacks
//! and where to send them — one `PUT` (`basic`), or parts plus a completion call
//! (`multipart`) — then each upload is confirmed with `verify`.
//!
//! Objects the Hub already has get no upload action and are skipped, which is what makes an
//! interrupted push cheap to run again. Transfers run on `max_workers` threads, parts of one
//! object included, each streamed from its file. A failed `PUT` is retried (with backoff) on its
//! own: the other parts are not sent again. The transfer URLs authorise themselves, so the token
//! is never sent to them.

use hubmix_protocol::types::{
    BatchAnswer, BatchRequest, CompletedPart, LfsObject, LfsOperation, LfsRef, MultipartCompletion,
    MultipartParts, Transfer,
};
use ureq::http::Method;

use crate::client::HubClient;
use crate::error::HubError;
use crate::repo::RepoId;
use crate::transport::http::{Call, Context};
use crate::transport::parallel::try_map;
use crate::transport::progress::Progress;
use crate::upload::content::Content;

/// Objects per batch call (as `huggingface_hub`).
const BATCH_SIZE: usize = 256;
/// The LFS media type, for requests and answers.
const LFS_JSON: &str = "application/vnd.git-lfs+json";

/// An object to upload: its SHA-256, size and content.
pub(crate) struct LfsUpload {
    pub oid: String,
    pub size: u64,
    pub content: Content,
}

impl LfsUpload {
    /// The object as the batch and verify calls name it.
    fn lfs_object(&self) -> LfsObject {
        LfsObject {
            oid: self.oid.clone(),
            size: self.size,
        }
    }
}

/// A JSON body as the LFS API takes it.
fn lfs_body(call: Call, body: &impl serde::Serialize) -> Call {
    call.header("accept", LFS_JSON).body(
        serde_json::to_vec(body).expect("request bodies serialize"),
        LFS_JSON,
    )
}

/// One object's upload: where its parts go, and how it is finished.
struct Job<'a> {
    object: &'a LfsUpload,
    /// The completion URL of a multipart upload (`None`: a single `PUT`).
    complete: Option<String>,
    verify: Option<String>,
}

/// One `PUT`: a whole object or one part.
struct Put {
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
    objects: &[LfsUpload],
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
                let parts = transfers
                    .iter()
                    .zip(&etags)
                    .filter(|(t, _)| t.job == j)
                    .zip(1..)
                    .map(|((t, etag), part_number)| {
                        let etag = etag.as_ref().ok_or_else(|| HubError::InvalidResponse {
                            url: crate::error::strip_query(&t.url),
                            reason: "the part upload was answered without an ETag".into(),
                        })?;
                        Ok(CompletedPart {
                            part_number,
                            etag: etag.clone(),
                        })
                    })
                    .collect::<Result<_, HubError>>()?;
                let completion = MultipartCompletion {
                    oid: job.object.oid.clone(),
                    parts,
                };
                let mut call = lfs_body(Call::new(Method::POST, url), &completion);
                call.auth = false;
                client.http().call(&call, &ctx)?;
            }
            if let Some(url) = &job.verify {
                let body = serde_json::to_value(job.object.lfs_object()).expect("request bodies serialize");
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
    objects: &'a [LfsUpload],
    ctx: &Context,
) -> Result<(Vec<Job<'a>>, Vec<Put>), HubError> {
    let url = format!(
        "{}/{}.git/info/lfs/objects/batch",
        client.settings().endpoint,
        repo.url_path()
    );
    let request = BatchRequest {
        operation: LfsOperation::Upload,
        transfers: vec![Transfer::Basic, Transfer::Multipart],
        objects: objects.iter().map(LfsUpload::lfs_object).collect(),
        hash_algo: Some("sha256".into()),
        git_ref: ref_name.map(|name| LfsRef {
            name: name.to_owned(),
        }),
    };
    let call = lfs_body(Call::new(Method::POST, &url), &request);
    let answer: BatchAnswer = client.http().json(&call, ctx)?;
    let invalid = |reason: String| HubError::InvalidResponse {
        url: crate::error::strip_query(&url),
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
        let complete = match upload.multipart_parts() {
            None => {
                transfers.push(Put {
                    job,
                    url: upload.href.clone(),
                    offset: 0,
                    len: object.size,
                });
                None
            }
            Some(parts) => {
                let MultipartParts { chunk_size, urls } = parts.map_err(&invalid)?;
                if urls.len() as u64 != object.size.div_ceil(chunk_size) {
                    return Err(invalid(format!(
                        "{} parts of {chunk_size} bytes cannot hold object {} of {} bytes",
                        urls.len(),
                        object.oid,
                        object.size
                    )));
                }
                for (i, part_url) in urls.into_iter().enumerate() {
                    let offset = i as u64 * chunk_size;
                    transfers.push(Put {
                        job,
                        url: part_url,
                        offset,
                        len: chunk_size.min(object.size - offset),
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
            url: crate::error::strip_query(&url),
            message: format!("the Hub refused LFS objects: {}", list.join("; ")),
        });
    }
    Ok((jobs, transfers))
}
