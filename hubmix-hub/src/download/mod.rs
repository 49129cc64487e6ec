//! Downloads into the shared cache: one file ([`HubClient::hub_download`]) or a whole revision
//! ([`HubClient::snapshot_download`]).
//!
//! A revision is resolved to a commit once per call and every byte then comes from that commit.
//! Each blob is fetched under a per-blob file lock (several processes can ask for the same file:
//! one downloads, the others wait and reuse it), into `blobs/<etag>.incomplete` so that an
//! interrupted download resumes with `Range`, hashed on the way, and renamed into `blobs/` only
//! when its hash matches the ETag (sha256 for LFS files, the git blob sha1 otherwise). Large files
//! are fetched in parallel ranges when the server accepts ranges.

pub(crate) mod cache;
pub mod local_dir;
pub mod plan;

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use ureq::Body;
use ureq::http::{Method, Response, StatusCode};

use crate::cache_verify::{ContentHasher, HashAlgorithm};
use crate::client::HubClient;
use crate::download::cache::{CachedFile, CachedTree, RepoCache};
use crate::error::{HubError, strip_query};
use crate::files::open_no_follow;
use crate::patterns::PathFilter;
use crate::repo::{DEFAULT_REVISION, IntoRepoRef, RepoRef, is_commit_id, revision_of};
use crate::transport::http::{Call, Context, check, header, join_url};
use crate::transport::progress::Progress;
use hubmix_protocol::headers;
use hubmix_protocol::wire::{self, ErrorCode};

/// Reads past the bytes a body was bounded to, once, when the body announced exactly that many
/// (`announced`): ureq keeps a connection for the next request only when a read sees its body
/// end, which a reader bounded to the body's length (`take`) never asks for, and that read then
/// returns at once. Without it, every file of a snapshot opened a connection of its own. A
/// body that announced more than was asked for is not read on (its connection is dropped).
fn end_body(bounded: std::io::Take<impl Read>, announced: bool) {
    if announced {
        let _ = bounded.into_inner().read(&mut [0u8; 1]);
    }
}

/// Read buffer of a download stream; also the block a sequential download writes and hashes.
const CHUNK: usize = 1 << 20;
/// Smallest range of a parallel download.
const MIN_PART_BYTES: u64 = 1024 * 1024;
/// Longest redirect chain of a metadata request.
const MAX_HOPS: usize = 10;
/// Sequential downloads at least this large (or of unknown size) hash on a helper thread.
const BACKGROUND_HASH_BYTES: u64 = 1024 * 1024;
/// This many blocks of [`CHUNK`] bytes may wait for the hashing thread: enough to ride out a few
/// scheduler time slices on a busy machine (with 512 KiB the two threads kept waiting for each
/// other), little memory.
const HASH_QUEUE: usize = 8;
/// A sequential download flushes what it wrote to disk every this many bytes ([`Flusher`]).
const FLUSH_BYTES: u64 = 32 * 1024 * 1024;

/// Options of [`HubClient::hub_download`]. The token is the client's: for another one, call
/// with [`HubClient::with_token`].
#[derive(Debug, Clone, Default)]
pub struct DownloadOptions {
    /// Branch, tag, commit or `refs/pr/N`, when the repo reference has none (both given and
    /// different is an error, see [`crate::repo::revision_of`]).
    pub revision: Option<String>,
    /// Download again even if cached.
    pub force_download: bool,
    /// Never touch the network: the cache or an error.
    pub local_files_only: bool,
    /// Another cache folder than the client's.
    pub cache_dir: Option<PathBuf>,
}

impl DownloadOptions {
    /// At this revision.
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }

    /// Download even if cached.
    pub fn force_download(mut self, force: bool) -> Self {
        self.force_download = force;
        self
    }

    /// From the cache only.
    pub fn local_files_only(mut self, only: bool) -> Self {
        self.local_files_only = only;
        self
    }

    /// Into this cache folder.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Why downloads are off, if they are: `HF_HUB_OFFLINE` (in `settings`), or
    /// `local_files_only`.
    pub(crate) fn offline_reason(&self, settings: &crate::Settings) -> Option<&'static str> {
        if settings.offline {
            Some("HF_HUB_OFFLINE is set")
        } else if self.local_files_only {
            Some("local_files_only")
        } else {
            None
        }
    }
}

/// Options of [`HubClient::snapshot_download`].
#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    /// The common download options.
    pub download: DownloadOptions,
    /// Only paths matching one of these (fnmatch; none means all).
    pub allow: Vec<String>,
    /// Not paths matching one of these.
    pub ignore: Vec<String>,
}

impl SnapshotOptions {
    /// At this revision.
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.download.revision = Some(revision.into());
        self
    }

    /// Only these patterns.
    pub fn allow<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.allow = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Not these patterns.
    pub fn ignore<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.ignore = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// With these download options.
    pub fn download(mut self, options: DownloadOptions) -> Self {
        self.download = options;
        self
    }
}

/// What a metadata request says about a file.
#[derive(Debug, Clone)]
struct FileMeta {
    commit: String,
    etag: String,
    size: Option<u64>,
    /// Where to GET the bytes.
    url: String,
    /// Whether the server said it accepts ranges.
    ranges: bool,
}

/// Whether an error leaves the cached copy as the best answer.
fn cache_may_answer(e: &HubError) -> bool {
    match e {
        HubError::Network { .. }
        | HubError::Offline { .. }
        | HubError::RepoNotFound { .. }
        | HubError::Gated { .. }
        | HubError::Unauthorized { .. }
        | HubError::InvalidResponse { .. } => true,
        HubError::Http { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// Everything one call works with.
struct Job<'a> {
    client: HubClient,
    repo: &'a RepoRef,
    cache: RepoCache,
    revision: String,
    options: &'a DownloadOptions,
}

impl<'a> Job<'a> {
    fn new(client: &HubClient, repo: &'a RepoRef, options: &'a DownloadOptions) -> Result<Self, HubError> {
        let client = client.clone();
        let cache_dir = options
            .cache_dir
            .clone()
            .unwrap_or_else(|| client.settings().cache_dir.clone());
        let revision =
            revision_of(repo, options.revision.as_deref())?.unwrap_or_else(|| DEFAULT_REVISION.into());
        Ok(Job {
            cache: RepoCache::new(&cache_dir, &repo.id),
            client,
            repo,
            revision,
            options,
        })
    }

    fn offline_reason(&self) -> Option<&'static str> {
        self.options.offline_reason(self.client.settings())
    }

    fn context(&self, path: Option<&str>) -> Context {
        Context {
            repo: self.repo.id.to_string(),
            revision: Some(self.revision.clone()),
            path: path.map(str::to_owned),
        }
    }

    /// The cached copy of `path` at this job's revision.
    fn cached_file(&self, path: &str, why: &'static str) -> Result<PathBuf, HubError> {
        if let Some(commit) = self.cache.commit_for(&self.revision)? {
            let snap = self.cache.snapshot_path(&commit, path)?;
            if snap.exists() {
                return Ok(snap);
            }
            if self.cache.no_exist_path(&commit, path)?.exists() {
                return Err(HubError::EntryNotFound {
                    repo: self.repo.id.to_string(),
                    revision: self.revision.clone(),
                    path: path.into(),
                });
            }
        }
        Err(HubError::NotCached {
            repo: self.repo.id.to_string(),
            revision: self.revision.clone(),
            what: path.to_owned(),
            why,
        })
    }

    /// `HEAD /resolve/` with the Hub's redirect rules: same-origin redirects are followed with
    /// the token; a redirect elsewhere is not, its headers are the metadata and its target is
    /// fetched without the token.
    fn metadata(&self, path: &str, retry: bool) -> Result<FileMeta, HubError> {
        let settings = self.client.settings();
        let mut url = self.client.resolve_url(&self.repo.id, &self.revision, path);
        for _ in 0..MAX_HOPS {
            let mut call = Call::new(Method::HEAD, url.clone()).header("accept-encoding", "identity");
            call.follow_redirects = false;
            call.retry = retry;
            call.timeout = Some(settings.etag_timeout);
            call.auth = self.client.http().is_endpoint(&url);
            let response = self.client.http().send(&call)?;
            let headers = response.headers();
            let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let commit = get(wire::REPO_COMMIT);
            if response.status().is_redirection()
                && let Some(location) = get("location")
            {
                let target = join_url(&url, &location);
                if self.client.http().is_endpoint(&target) {
                    url = target;
                    continue;
                }
                url = target; // fetched without the token; the 3xx carries the metadata
            } else if response.status() == StatusCode::NOT_FOUND
                && get(wire::ERROR_CODE).as_deref() == Some(ErrorCode::EntryNotFound.as_str())
                && let Some(commit) = commit.as_deref().filter(|c| is_commit_id(c))
            {
                self.cache.write_ref(&self.revision, commit)?;
                self.cache.mark_missing(commit, path)?;
            }
            let ranges = get("accept-ranges").is_some_and(|v| v.contains("bytes"));
            let etag = get(wire::LINKED_ETAG)
                .or_else(|| get(headers::ETAG))
                .and_then(|e| headers::parse_etag(&e).map(str::to_owned));
            let size = get(wire::LINKED_SIZE).or_else(|| {
                (!response.status().is_redirection())
                    .then(|| get(headers::CONTENT_LENGTH))
                    .flatten()
            });
            let response = check(response, &url, &self.context(Some(path)))?;
            drop(response);
            let invalid = |what: &str| HubError::InvalidResponse {
                url: strip_query(&url),
                reason: format!("the answer has no {what}"),
            };
            let commit = commit
                .filter(|c| is_commit_id(c))
                .ok_or_else(|| invalid("X-Repo-Commit"))?;
            let etag = etag.filter(|e| !e.is_empty()).ok_or_else(|| invalid("ETag"))?;
            // The bytes come from the commit, not from a branch that may move meanwhile.
            let url = if self.client.http().is_endpoint(&url) && url.contains("/resolve/") {
                self.client.resolve_url(&self.repo.id, &commit, path)
            } else {
                url
            };
            return Ok(FileMeta {
                commit,
                etag,
                size: size.and_then(|s| headers::parse_length(&s)),
                url,
                ranges,
            });
        }
        Err(HubError::InvalidResponse {
            url: strip_query(&url),
            reason: format!("more than {MAX_HOPS} redirects"),
        })
    }

    /// Makes sure `blobs/<etag>` holds the verified bytes.
    fn fetch_blob(&self, meta: &FileMeta, label: &str) -> Result<PathBuf, HubError> {
        let blob = self.cache.blob_path(&meta.etag)?;
        if is_whole(&blob, meta.size) && !self.options.force_download {
            return Ok(blob);
        }
        let _lock = self.cache.lock(&meta.etag)?;
        if is_whole(&blob, meta.size) && !self.options.force_download {
            return Ok(blob); // another process finished it while we waited
        }
        let incomplete = self.cache.incomplete_path(&meta.etag)?;
        let dir = incomplete.parent().expect("blob paths have a parent");
        fs::create_dir_all(dir).map_err(HubError::io("creating", dir))?;
        let progress = Progress::bytes(self.client.settings(), meta.size.unwrap_or(0), label);
        let parallel = meta.ranges
            && meta
                .size
                .is_some_and(|s| s >= self.client.settings().parallel_threshold)
            && self.client.settings().max_workers > 1
            && !incomplete.exists();
        let result = if parallel {
            self.fetch_parallel(meta, &incomplete, &progress)
        } else {
            self.fetch_sequential(meta, &incomplete, &progress)
        };
        progress.finish();
        if let Err(e) = result {
            // Bytes that do not fit the file, or a resume the server cannot satisfy or answers
            // with other bytes: start over next time.
            if matches!(e, HubError::Integrity { .. } | HubError::InvalidResponse { .. })
                || e.status() == Some(416)
            {
                let _ = fs::remove_file(&incomplete);
            }
            return Err(e);
        }
        fs::rename(&incomplete, &blob).map_err(HubError::io("moving the download into", &blob))?;
        Ok(blob)
    }

    /// Whether downloads are flushed to disk (see [`crate::Settings::durable_downloads`]).
    fn durable(&self) -> bool {
        self.client.settings().durable_downloads
    }

    /// One stream, resumed with `Range` after a cut or a stall, hashed as it arrives (on a helper
    /// thread for large files, see [`Landing`] and [`Hashing`]).
    fn fetch_sequential(
        &self,
        meta: &FileMeta,
        incomplete: &Path,
        progress: &Progress,
    ) -> Result<(), HubError> {
        let http = self.client.http();
        let settings = self.client.settings();
        let file = open_no_follow(File::options().create(true).append(true).read(true), incomplete)
            .map_err(HubError::io("opening", incomplete))?;
        let mut landing = Landing::new(file, incomplete, meta, self.durable())?;
        progress.set(landing.received());
        // One budget for the requests and the body: a stream that delivers bytes refills it.
        let mut retry = http.retry();
        loop {
            if meta.size == Some(landing.received()) {
                break;
            }
            let mut call = Call::new(Method::GET, meta.url.clone()).header("accept-encoding", "identity");
            call.auth = http.is_endpoint(&meta.url);
            call.timeout = Some(settings.download_timeout);
            if landing.received() > 0 {
                call = call.header("range", format!("bytes={}-", landing.received()));
            }
            let attempt = http
                .send_with(&call, &mut retry)
                .and_then(|r| check(r, &meta.url, &self.context(None)));
            let mut response = match attempt {
                Ok(r) => r,
                Err(e) => {
                    retry.again(e)?;
                    continue;
                }
            };
            if landing.received() > 0 && response.status() != StatusCode::PARTIAL_CONTENT {
                // The server ignored the range: start over.
                landing.restart()?;
                progress.set(0);
            }
            // Never more than the file's remaining bytes, whatever the body holds.
            let bound = body_bound(&response, landing.received(), meta)?;
            let announced = bound.is_some() && announced_length(&response) == bound;
            let mut reader = response
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .reader()
                .take(bound.unwrap_or(u64::MAX));
            let mut progressed = false;
            let outcome = loop {
                match reader.read(landing.space()) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        landing.filled(n)?;
                        progress.inc(n as u64);
                        progressed = true;
                    }
                    Err(e) => break Err(e),
                }
            };
            if outcome.is_ok() {
                end_body(reader, announced);
            }
            // Whether it ended or broke, what came is kept: a resume starts after it.
            landing.write_block()?;
            let have = landing.received();
            if progressed {
                retry.progressed();
            }
            match outcome {
                Ok(()) if meta.size.is_none_or(|s| s == have) => break,
                // The body ended early, cleanly: resume; if the server keeps doing so, it lacks
                // the bytes.
                Ok(()) => {
                    if !retry.again_after_short_answer() {
                        return Err(HubError::Integrity {
                            path: meta.etag.clone(),
                            expected: format!("{} bytes", meta.size.unwrap_or(0)),
                            actual: format!("{have} bytes"),
                        });
                    }
                }
                // Cut or stalled: resume from what is on disk (kept for a later call as well
                // when the retries are spent).
                Err(e) => {
                    tracing::debug!("download of {} broke off at byte {have}: {e}", meta.etag);
                    retry.again(HubError::network(&meta.url, e))?;
                }
            }
        }
        landing.finish()
    }

    /// Parallel ranges into a preallocated file, then one hashing pass.
    fn fetch_parallel(
        &self,
        meta: &FileMeta,
        incomplete: &Path,
        progress: &Progress,
    ) -> Result<(), HubError> {
        let size = meta.size.expect("parallel downloads know their size");
        let file = open_no_follow(
            File::options().create(true).write(true).truncate(true),
            incomplete,
        )
        .map_err(HubError::io("creating", incomplete))?;
        file.set_len(size)
            .map_err(HubError::io("allocating", incomplete))?;
        let settings = self.client.settings();
        let parts = (settings.max_workers as u64)
            .min(size.div_ceil(MIN_PART_BYTES))
            .max(1);
        let part = size.div_ceil(parts);
        let ranges: Vec<(u64, u64)> = (0..parts)
            .map(|i| (i * part, ((i + 1) * part).min(size)))
            .collect();
        let fetched = crate::transport::parallel::try_map(&ranges, ranges.len(), |&(start, end)| {
            self.fetch_range(meta, &file, start, end, progress)
        });
        if let Err(e) = fetched {
            let _ = fs::remove_file(incomplete);
            return Err(e);
        }
        if self.durable() {
            file.sync_all().map_err(HubError::io("writing", incomplete))?;
        }
        Verifier::new(&meta.etag, Some(size)).finish_with_file(&meta.etag, size, incomplete)
    }

    /// Bytes `start..end` of the file into `file` at their offset, resuming after failures.
    fn fetch_range(
        &self,
        meta: &FileMeta,
        file: &File,
        start: u64,
        end: u64,
        progress: &Progress,
    ) -> Result<(), HubError> {
        let http = self.client.http();
        let settings = self.client.settings();
        let mut at = start;
        // One budget for the requests and the body: a range that delivers bytes refills it.
        let mut retry = http.retry();
        let mut buf = vec![0u8; CHUNK];
        while at < end {
            let mut call = Call::new(Method::GET, meta.url.clone())
                .header("accept-encoding", "identity")
                .header("range", format!("bytes={at}-{}", end - 1));
            call.auth = http.is_endpoint(&meta.url);
            call.timeout = Some(settings.download_timeout);
            let answer = http
                .send_with(&call, &mut retry)
                .and_then(|r| check(r, &meta.url, &self.context(None)));
            // A 416 or any other final error ends here, typed; transient ones are retried.
            let mut response = match answer {
                Ok(r) if r.status() == StatusCode::PARTIAL_CONTENT => r,
                Ok(r) => {
                    return Err(HubError::InvalidResponse {
                        url: strip_query(&meta.url),
                        reason: format!("a range request was answered with {}", r.status()),
                    });
                }
                Err(e) => {
                    retry.again(e)?;
                    continue;
                }
            };
            check_content_range(&response, at, meta)?;
            let announced = announced_length(&response) == Some(end - at);
            // The range's bytes and no more, however long the body is.
            let mut reader = response
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .reader()
                .take(end - at);
            let mut progressed = false;
            let outcome = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        crate::files::write_all_at(file, &buf[..n], at)
                            .map_err(HubError::io("writing", Path::new(&meta.etag)))?;
                        at += n as u64;
                        progress.inc(n as u64);
                        progressed = true;
                    }
                    Err(e) => break Err(e),
                }
            };
            if outcome.is_ok() {
                end_body(reader, announced);
            }
            if progressed {
                retry.progressed();
            }
            // Cut short or stalled: ask for the rest (`at..end`).
            match outcome {
                Ok(()) if at == end => {}
                Ok(()) => {
                    if !retry.again_after_short_answer() {
                        return Err(HubError::Integrity {
                            path: meta.etag.clone(),
                            expected: format!("bytes {start}..{end}"),
                            actual: format!("the range ended at byte {at}"),
                        });
                    }
                }
                Err(e) => {
                    tracing::debug!(
                        "range {start}..{end} of {} broke off at byte {at}: {e}",
                        meta.etag
                    );
                    retry.again(HubError::network(&meta.url, e))?;
                }
            }
        }
        Ok(())
    }

    /// Fetches `path` (metadata already known) into the cache and links it into the snapshot.
    fn fetch_file(&self, meta: &FileMeta, path: &str) -> Result<PathBuf, HubError> {
        let snap = self.cache.snapshot_path(&meta.commit, path)?;
        // `is_whole` follows the snapshot's link to its blob.
        if is_whole(&snap, meta.size) && !self.options.force_download {
            return Ok(snap);
        }
        self.fetch_blob(meta, path)?;
        self.cache.link(&meta.commit, path, &meta.etag)
    }
}

/// Checks downloaded bytes against the ETag: sha256 (64 hex) or git blob sha1 (40 hex).
enum Verifier {
    Hashing(ContentHasher),
    /// The size was unknown up front: the git header needs it, so hash the file at the end.
    Deferred,
    /// An ETag of neither form: nothing to compare with.
    Opaque,
}

impl Verifier {
    fn new(etag: &str, size: Option<u64>) -> Self {
        match (HashAlgorithm::of_hash(etag), size) {
            (Some(HashAlgorithm::Sha256), size) => {
                Verifier::Hashing(ContentHasher::new(HashAlgorithm::Sha256, size.unwrap_or(0)))
            }
            (Some(HashAlgorithm::GitSha1), Some(size)) => {
                Verifier::Hashing(ContentHasher::new(HashAlgorithm::GitSha1, size))
            }
            (Some(HashAlgorithm::GitSha1), None) => Verifier::Deferred,
            (None, _) => Verifier::Opaque,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        if let Verifier::Hashing(h) = self {
            h.update(bytes);
        }
    }

    /// Hashes the whole of `file` (written out of order, or of a size learnt only at the end),
    /// then checks it.
    fn finish_with_file(mut self, etag: &str, size: u64, file: &Path) -> Result<(), HubError> {
        let mut reader =
            open_no_follow(File::options().read(true), file).map_err(HubError::io("reading", file))?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = reader.read(&mut buf).map_err(HubError::io("reading", file))?;
            if n == 0 {
                break;
            }
            self.update(&buf[..n]);
        }
        self.finish(etag, size, file)
    }

    fn finish(self, etag: &str, size: u64, file: &Path) -> Result<(), HubError> {
        let actual = match self {
            Verifier::Hashing(h) => h.finish(),
            Verifier::Deferred => return Verifier::new(etag, Some(size)).finish_with_file(etag, size, file),
            Verifier::Opaque => {
                tracing::warn!(
                    "ETag {etag:?} is neither a sha256 nor a git sha1: the download is not verified"
                );
                return Ok(());
            }
        };
        if actual.eq_ignore_ascii_case(etag) {
            Ok(())
        } else {
            Err(HubError::Integrity {
                path: file.display().to_string(),
                expected: etag.to_owned(),
                actual,
            })
        }
    }
}

/// The receiving end of a sequential download. The body is read into a block of [`CHUNK`]
/// bytes; a full block (or what there is when the stream ends or breaks) is appended to the
/// `.incomplete` file and then handed, as it is, to the [`Hashing`]: bytes go from the socket
/// to the file and the hash without a copy in between.
struct Landing<'a> {
    file: File,
    path: &'a Path,
    etag: &'a str,
    size: Option<u64>,
    durable: bool,
    /// The block being filled, always [`CHUNK`] long, and how much of it holds received bytes.
    block: Vec<u8>,
    used: usize,
    /// Bytes in the file.
    written: u64,
    hashing: Hashing,
    flusher: Flusher,
}

impl<'a> Landing<'a> {
    /// Takes over `file` (opened for appending), hashing what an earlier attempt left in it.
    fn new(file: File, path: &'a Path, meta: &'a FileMeta, durable: bool) -> Result<Self, HubError> {
        let mut written = file.metadata().map_err(HubError::io("reading", path))?.len();
        if meta.size.is_some_and(|s| written > s) {
            file.set_len(0).map_err(HubError::io("truncating", path))?;
            written = 0;
        }
        let mut landing = Landing {
            flusher: Flusher::start(&file, meta.size, durable),
            hashing: Hashing::new(&meta.etag, meta.size),
            file,
            path,
            etag: &meta.etag,
            size: meta.size,
            durable,
            block: vec![0; CHUNK],
            used: 0,
            written,
        };
        // Resume: the bytes already on disk count towards the hash.
        let mut earlier = (&landing.file).take(written);
        loop {
            let n = earlier
                .read(&mut landing.block)
                .map_err(HubError::io("reading", path))?;
            if n == 0 {
                break;
            }
            landing.block = landing.hashing.feed(std::mem::take(&mut landing.block), n);
        }
        Ok(landing)
    }

    /// Bytes received so far (written or still in the block).
    fn received(&self) -> u64 {
        self.written + self.used as u64
    }

    /// Where the next bytes are to be read into.
    fn space(&mut self) -> &mut [u8] {
        &mut self.block[self.used..]
    }

    /// Notes that `n` bytes were read into [`Self::space`]; writes the block once it is full.
    fn filled(&mut self, n: usize) -> Result<(), HubError> {
        self.used += n;
        if self.used == self.block.len() {
            self.write_block()?;
        }
        Ok(())
    }

    /// Appends the received bytes of the block to the file and hands them to the hasher.
    fn write_block(&mut self) -> Result<(), HubError> {
        if self.used == 0 {
            return Ok(());
        }
        self.file
            .write_all(&self.block[..self.used])
            .map_err(HubError::io("writing", self.path))?;
        self.flusher.wrote(self.written, self.written + self.used as u64);
        self.written += self.used as u64;
        self.block = self.hashing.feed(std::mem::take(&mut self.block), self.used);
        self.used = 0;
        Ok(())
    }

    /// Drops everything received: the server ignored a `Range`, the body starts over.
    fn restart(&mut self) -> Result<(), HubError> {
        self.file
            .set_len(0)
            .map_err(HubError::io("truncating", self.path))?;
        self.written = 0;
        self.used = 0;
        self.hashing = Hashing::new(self.etag, self.size);
        Ok(())
    }

    /// Writes the rest, flushes it to disk for durable downloads, and checks the hash.
    fn finish(mut self) -> Result<(), HubError> {
        self.write_block()?;
        self.flusher
            .finish()
            .map_err(HubError::io("writing", self.path))?;
        if self.durable {
            self.file.sync_all().map_err(HubError::io("writing", self.path))?;
        }
        self.hashing.finish(self.etag, self.written, self.path)
    }
}

/// A [`Verifier`] fed as the bytes arrive: on the calling thread for small files, on a helper
/// thread for large ones. SHA-256 costs about as much CPU as receiving and writing the bytes
/// together (~1 GB/s even with SHA-NI), so hashing inline caps one stream at about half the speed
/// of a fast link; on a helper thread it overlaps them (`hubmix/benches/download.rs`).
enum Hashing {
    Inline(Verifier),
    Background {
        /// Blocks to hash, with how many of their bytes count. Bounded: a slow hasher slows the
        /// download, memory stays flat.
        queue: SyncSender<(Vec<u8>, usize)>,
        /// Blocks the hasher is done with, reused so that a block costs no allocation.
        spare: Receiver<Vec<u8>>,
        hasher: JoinHandle<Verifier>,
    },
}

impl Hashing {
    fn new(etag: &str, size: Option<u64>) -> Self {
        let verifier = Verifier::new(etag, size);
        let hashes = matches!(verifier, Verifier::Hashing(_));
        if !hashes || size.is_some_and(|s| s < BACKGROUND_HASH_BYTES) {
            return Hashing::Inline(verifier);
        }
        let (queue, blocks) = mpsc::sync_channel::<(Vec<u8>, usize)>(HASH_QUEUE);
        let (done, spare) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("hubmix-hash".into())
            .spawn(move || {
                let mut verifier = verifier;
                for (block, len) in blocks {
                    verifier.update(&block[..len]);
                    let _ = done.send(block);
                }
                verifier
            });
        match spawned {
            Ok(hasher) => Hashing::Background { queue, spare, hasher },
            Err(_) => Hashing::Inline(Verifier::new(etag, size)),
        }
    }

    /// Hashes the first `len` bytes of `block`; returns a block of the same length to fill next
    /// (`block` itself when hashing inline, else one the hasher is done with).
    fn feed(&mut self, block: Vec<u8>, len: usize) -> Vec<u8> {
        match self {
            Hashing::Inline(verifier) => {
                verifier.update(&block[..len]);
                block
            }
            Hashing::Background { queue, spare, .. } => {
                let next = spare.try_recv().unwrap_or_else(|_| vec![0; block.len()]);
                // Fails only if the hasher panicked, which `finish` reports.
                let _ = queue.send((block, len));
                next
            }
        }
    }

    /// Waits for the hasher (dropping a `Hashing` instead just lets its thread end).
    fn finish(self, etag: &str, size: u64, file: &Path) -> Result<(), HubError> {
        let verifier = match self {
            Hashing::Inline(verifier) => verifier,
            Hashing::Background { queue, hasher, .. } => {
                drop(queue); // ends the hasher's loop
                hasher
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
        };
        verifier.finish(etag, size, file)
    }
}

/// With durable downloads, flushes a file that is being written to disk on a helper thread,
/// every [`FLUSH_BYTES`], so that the `sync_all` before it is renamed into `blobs/` finds little
/// left to write:
/// left to the end, that flush took 0.6–1.1 s per GiB on the benchmark machine, with the network
/// idle meanwhile.
struct Flusher {
    /// Asks for a flush; `None` for files too small to need one.
    tick: Option<SyncSender<()>>,
    /// Ends with the first flush error, if any.
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Flusher {
    fn start(file: &File, size: Option<u64>, durable: bool) -> Self {
        let idle = Flusher {
            tick: None,
            thread: None,
        };
        if !durable || size.is_some_and(|s| s <= FLUSH_BYTES) {
            return idle;
        }
        let Ok(file) = file.try_clone() else { return idle };
        let (tick, ticks) = mpsc::sync_channel::<()>(1);
        let spawned = std::thread::Builder::new()
            .name("hubmix-flush".into())
            .spawn(move || ticks.iter().try_for_each(|()| file.sync_data()));
        match spawned {
            Ok(thread) => Flusher {
                tick: Some(tick),
                thread: Some(thread),
            },
            Err(_) => idle,
        }
    }

    /// Notes that the file grew from `before` to `after` bytes.
    fn wrote(&self, before: u64, after: u64) {
        if let Some(tick) = &self.tick
            && before / FLUSH_BYTES != after / FLUSH_BYTES
        {
            // Skipped while a flush is pending: that one writes these bytes as well.
            let _ = tick.try_send(());
        }
    }

    /// Waits for the flush in progress and returns the first flush error. (It must be reported
    /// here: the helper's handle shares the file description, so the final `sync_all` would not
    /// see a write-back error again.)
    fn finish(mut self) -> std::io::Result<()> {
        drop(self.tick.take());
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => Ok(()),
        }
    }
}

impl Drop for Flusher {
    /// On early returns: waits for the flush in progress, if any.
    fn drop(&mut self) {
        drop(self.tick.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether `blob` is in the cache whole: present, and as long as the Hub says (when it says).
/// A blob cut short (a power loss before its pages reached the disk) is fetched again.
fn is_whole(blob: &Path, size: Option<u64>) -> bool {
    match fs::metadata(blob) {
        Ok(m) => size.is_none_or(|s| m.len() == s),
        Err(_) => false,
    }
}

/// Checks a `206` answer's `Content-Range` (when it has one) against the request: the bytes of
/// this file (its size) from `offset` on.
fn check_content_range(response: &Response<Body>, offset: u64, meta: &FileMeta) -> Result<(), HubError> {
    let Some(value) = header(response, headers::CONTENT_RANGE) else {
        return Ok(());
    };
    let range = headers::parse_content_range(value);
    let fits = range.is_some_and(|r| {
        r.first == offset
            && r.complete_length
                .is_none_or(|length| meta.size.is_none_or(|s| s == length))
    });
    if fits {
        return Ok(());
    }
    let size = meta.size.map_or("*".to_owned(), |s| s.to_string());
    Err(HubError::InvalidResponse {
        url: strip_query(&meta.url),
        reason: format!("asked for bytes {offset}- of {size}, the answer holds {value:?}"),
    })
}

/// The body's length as its `Content-Length` announces it, unless it is compressed (in spite of
/// `Accept-Encoding: identity`, ureq decodes it: its length then says nothing of the file's).
fn announced_length(response: &Response<Body>) -> Option<u64> {
    let encoded = header(response, "content-encoding").is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
    header(response, headers::CONTENT_LENGTH)
        .and_then(headers::parse_length)
        .filter(|_| !encoded)
}

/// How many body bytes a download answer may deliver from byte `offset` of the file on: the
/// rest of the file when its size is known, else the answer's `Content-Length` (`None`: neither
/// is known). An answer that says it holds another number of bytes than the rest of the file is
/// refused before a byte is read; so is a `206` for other bytes.
fn body_bound(response: &Response<Body>, offset: u64, meta: &FileMeta) -> Result<Option<u64>, HubError> {
    if response.status() == StatusCode::PARTIAL_CONTENT {
        check_content_range(response, offset, meta)?;
    }
    let remaining = meta.size.map(|s| s.saturating_sub(offset));
    let length = announced_length(response);
    match (remaining, length) {
        (Some(remaining), Some(length)) if remaining != length => Err(HubError::Integrity {
            path: meta.etag.clone(),
            expected: format!("{remaining} more bytes"),
            actual: format!("an answer of {length} bytes"),
        }),
        _ => Ok(remaining.or(length)),
    }
}

impl HubClient {
    /// Downloads one file of a repository into the cache and returns its path there
    /// (`snapshots/<commit>/<path>`). `repo` may carry a revision (`"alice/mlp@v1"`).
    ///
    /// Offline (`HF_HUB_OFFLINE` or `local_files_only`) it answers from the cache by ref or
    /// commit, or fails with [`HubError::NotCached`]. Online, a cached copy is still returned
    /// when the Hub cannot be reached.
    pub fn hub_download(
        &self,
        repo: impl IntoRepoRef,
        path: &str,
        options: &DownloadOptions,
    ) -> Result<PathBuf, HubError> {
        let repo = repo.into_repo_ref()?;
        hubmix_protocol::path::validate_path(path)?;
        let job = Job::new(self, &repo, options)?;
        if is_commit_id(&job.revision) && !options.force_download {
            let snap = job
                .cache
                .snapshot_path(&job.revision.to_ascii_lowercase(), path)?;
            if snap.exists() {
                return Ok(snap);
            }
        }
        if let Some(why) = job.offline_reason() {
            return job.cached_file(path, why);
        }
        let meta = match job.metadata(path, false) {
            Ok(meta) => meta,
            Err(e) if cache_may_answer(&e) => match job.cached_file(path, "the Hub could not be reached") {
                Ok(cached) if !options.force_download => return Ok(cached),
                _ if matches!(e, HubError::Network { .. } | HubError::Http { .. }) => {
                    job.metadata(path, true)?
                }
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        job.cache.write_ref(&job.revision, &meta.commit)?;
        job.fetch_file(&meta, path)
    }

    /// The commit `repo`'s revision points at now (offline: the one the cache recorded).
    pub fn resolve_commit(
        &self,
        repo: impl IntoRepoRef,
        options: &DownloadOptions,
    ) -> Result<String, HubError> {
        let repo = repo.into_repo_ref()?;
        let job = Job::new(self, &repo, options)?;
        self.commit_of(&job)
    }

    fn commit_of(&self, job: &Job<'_>) -> Result<String, HubError> {
        if is_commit_id(&job.revision) {
            return Ok(job.revision.to_ascii_lowercase());
        }
        let from_cache = |why| {
            job.cache
                .commit_for(&job.revision)?
                .ok_or_else(|| HubError::NotCached {
                    repo: job.repo.id.to_string(),
                    revision: job.revision.clone(),
                    what: "the revision".into(),
                    why,
                })
        };
        if let Some(why) = job.offline_reason() {
            return from_cache(why);
        }
        match job.client.repo_info_at(&job.repo.id, Some(&job.revision)) {
            Ok(info) => {
                let sha = info
                    .sha
                    .filter(|s| is_commit_id(s))
                    .ok_or_else(|| HubError::InvalidResponse {
                        url: job.client.settings().endpoint.clone(),
                        reason: "the revision answer has no commit sha".into(),
                    })?;
                job.cache.write_ref(&job.revision, &sha)?;
                Ok(sha)
            }
            Err(e) if cache_may_answer(&e) => from_cache("the Hub could not be reached").map_err(|_| e),
            Err(e) => Err(e),
        }
    }

    /// The files of `commit`'s tree, each path checked, as `trees/<commit>.json` holds them.
    fn fetch_tree(&self, repo: &crate::repo::RepoId, commit: &str) -> Result<CachedTree, HubError> {
        let tree = self.list_tree(repo, commit, None, true)?;
        let mut files = std::collections::BTreeMap::new();
        for e in tree.into_iter().filter(|e| e.is_file()) {
            hubmix_protocol::path::validate_path(&e.path)?;
            let lfs = e.lfs.clone();
            files.insert(
                e.path.clone(),
                CachedFile {
                    size: e.size,
                    blob_id: e.oid.clone(),
                    lfs_sha256: lfs.as_ref().map(|l| l.oid.clone()),
                    lfs_size: lfs.map(|l| l.size),
                },
            );
        }
        Ok(CachedTree {
            format_version: 1,
            files,
        })
    }

    /// Downloads every file of a revision (filtered by allow / ignore patterns) into the cache,
    /// several at once, and returns the snapshot folder `snapshots/<commit>`.
    pub fn snapshot_download(
        &self,
        repo: impl IntoRepoRef,
        options: &SnapshotOptions,
    ) -> Result<PathBuf, HubError> {
        let repo = repo.into_repo_ref()?;
        let filter = PathFilter::new(&options.allow, &options.ignore)?;
        let job = Job::new(self, &repo, &options.download)?;
        let commit = self.commit_of(&job)?;
        let offline = job.offline_reason();
        let tree = match job.cache.read_tree(&commit)? {
            Some(tree) => tree,
            None if offline.is_some() => {
                let dir = job.cache.snapshot_dir(&commit)?;
                return if dir.is_dir() {
                    Ok(dir)
                } else {
                    Err(HubError::NotCached {
                        repo: repo.id.to_string(),
                        revision: job.revision.clone(),
                        what: "the snapshot".into(),
                        why: offline.unwrap_or("offline"),
                    })
                };
            }
            None => {
                let tree = job.client.fetch_tree(&repo.id, &commit)?;
                job.cache.write_tree(&commit, &tree)?;
                tree
            }
        };
        let wanted: Vec<(&String, &CachedFile)> =
            tree.files.iter().filter(|(p, _)| filter.matches(p)).collect();
        let dir = job.cache.snapshot_dir(&commit)?;
        if let Some(why) = offline {
            let missing = wanted.iter().filter(|(p, _)| !dir.join(p).exists()).count();
            return if missing == 0 {
                Ok(dir)
            } else {
                Err(HubError::NotCached {
                    repo: repo.id.to_string(),
                    revision: job.revision.clone(),
                    what: format!("{missing} file(s) of the snapshot"),
                    why,
                })
            };
        }
        fs::create_dir_all(&dir).map_err(HubError::io("creating", &dir))?;
        let progress = Progress::files(self.settings(), wanted.len() as u64, &repo.id.to_string());
        let fetched =
            crate::transport::parallel::try_map(&wanted, self.settings().max_workers, |(path, file)| {
                let meta = FileMeta {
                    commit: commit.clone(),
                    etag: file.etag().to_owned(),
                    size: Some(file.lfs_size.unwrap_or(file.size)),
                    url: job.client.resolve_url(&repo.id, &commit, path),
                    ranges: true,
                };
                job.fetch_file(&meta, path)?;
                progress.inc(1);
                Ok(())
            });
        progress.finish();
        fetched?;
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_against_what_was_asked() {
        let meta = |size| FileMeta {
            commit: "0".repeat(40),
            etag: "e".into(),
            size,
            url: "http://h/f?sig=s".into(),
            ranges: true,
        };
        let answer = |status: u16, headers: &[(&str, &str)]| {
            let mut b = ureq::http::Response::builder().status(status);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b.body(ureq::Body::builder().data("")).unwrap()
        };
        let bound = |status, headers: &[(&str, &str)], offset, size| {
            body_bound(&answer(status, headers), offset, &meta(size))
        };
        assert_eq!(bound(200, &[], 0, Some(10)).unwrap(), Some(10));
        assert_eq!(
            bound(200, &[("content-length", "10")], 0, None).unwrap(),
            Some(10)
        );
        assert_eq!(bound(200, &[], 0, None).unwrap(), None);
        let resumed = [("content-length", "6"), ("content-range", "bytes 4-9/10")];
        assert_eq!(bound(206, &resumed, 4, Some(10)).unwrap(), Some(6));
        // Longer or shorter than the file: refused before a byte is read.
        let e = bound(200, &[("content-length", "11")], 0, Some(10)).unwrap_err();
        assert!(matches!(e, HubError::Integrity { .. }), "{e}");
        // Compressed against our wish: the decoded bytes are bounded by the size alone.
        let gzip = [("content-length", "3"), ("content-encoding", "gzip")];
        assert_eq!(bound(200, &gzip, 0, Some(10)).unwrap(), Some(10));
        // Other bytes than asked for, or of another file.
        for range in ["bytes 0-9/10", "bytes 4-9/12"] {
            let e = bound(206, &[("content-range", range)], 4, Some(10)).unwrap_err();
            assert!(
                matches!(&e, HubError::InvalidResponse { reason, .. } if reason.contains(range)),
                "{e}"
            );
            assert!(!e.to_string().contains("sig="), "{e}");
        }
    }

    #[test]
    fn verifier_checks_both_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut v = Verifier::new("ce013625030ba8dba906f756967f9e9ca394464a", Some(6));
        v.update(b"hello\n");
        assert!(
            v.finish("ce013625030ba8dba906f756967f9e9ca394464a", 6, &p)
                .is_ok()
        );
        let sha = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
        let mut v = Verifier::new(sha, None);
        v.update(b"hellO\n");
        assert!(matches!(v.finish(sha, 6, &p), Err(HubError::Integrity { .. })));
        fs::write(&p, b"hello\n").unwrap();
        let v = Verifier::new("ce013625030ba8dba906f756967f9e9ca394464a", None);
        assert!(
            v.finish("ce013625030ba8dba906f756967f9e9ca394464a", 6, &p)
                .is_ok()
        );
    }
}
