//! Checking cached and downloaded files against the hashes that name them.
//!
//! Every file of a Hub repository is named by a hash of its content ([`HashAlgorithm`]): the
//! SHA-256 for a file stored with Git LFS (64 hex digits), else its git blob id (40 hex digits:
//! the SHA-1 of `blob <size>\0` followed by the content). The cache shared with Python's
//! `huggingface_hub` stores each file under that name, its ETag (`<repo>/blobs/<etag>`), and
//! links each revision's files to their blobs (`<repo>/snapshots/<commit>/<path>`). So:
//!
//! - [`HubClient::verify_repo`] checks one revision, in the cache or in a `local_dir` folder,
//!   against the Hub's list of files, as `hf cache verify` does (`huggingface_hub`'s
//!   `verify_repo_checksums`): files whose content does not match, files the Hub has and the
//!   folder lacks, files the folder has and the Hub lacks.
//! - [`verify_cache`] checks the whole cache offline: every blob is hashed again and compared
//!   with its name, every snapshot link is followed (a link to a blob that is gone is a missing
//!   file), and what is wrong is reported per repository and revision.
//!
//! Files are streamed through a fixed buffer, one per thread, and hashed on every core: memory
//! stays bounded whatever the sizes. Nothing found in the cache is trusted: a link that leads
//! out of the cache is not followed, a name that is not a hash is not guessed at, a special
//! file (a FIFO, a folder) is not read, and a file that cannot be read is reported, not a
//! reason to stop.
//!
//! ```
//! use hubmix_hub::cache_verify::{HashAlgorithm, ProblemKind, verify_cache};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A cache with one file, stored as a download stores it.
//! let cache = tempfile::tempdir()?;
//! let repo = cache.path().join("models--alice--mlp");
//! let etag = HashAlgorithm::GitSha1.hash_bytes(b"{}");
//! let commit = "0123456789abcdef0123456789abcdef01234567";
//! std::fs::create_dir_all(repo.join("blobs"))?;
//! std::fs::create_dir_all(repo.join("snapshots").join(commit))?;
//! std::fs::write(repo.join("blobs").join(&etag), b"{}")?;
//! # #[cfg(unix)]
//! std::os::unix::fs::symlink(format!("../../blobs/{etag}"), repo.join("snapshots").join(commit).join("config.json"))?;
//! # #[cfg(not(unix))]
//! # std::fs::write(repo.join("snapshots").join(commit).join("config.json"), b"{}")?;
//! assert!(!verify_cache(cache.path())?.failed());
//!
//! // The same number of bytes, one of them changed: found.
//! std::fs::write(repo.join("blobs").join(&etag), b"[]")?;
//! let report = verify_cache(cache.path())?;
//! assert!(report.failed());
//! let problem = &report.repos[0].problems[0];
//! assert!(matches!(problem.kind, ProblemKind::Corrupt { .. }));
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::cache_scan::{
    CacheWarning, IncompleteFile, incomplete_in, is_not_a_repo, parse_repo_folder, read_refs, walk,
};
use crate::client::HubClient;
use crate::error::HubError;
use crate::info::TreeEntry;
use crate::patterns::PathFilter;
use crate::repo::{DEFAULT_REVISION, IntoRepoRef, RepoId, RepoType, is_commit_id};
use crate::upload::DEFAULT_IGNORE_PATTERNS;

/// The buffer each hashing thread streams files through.
const BUFFER_BYTES: usize = 1 << 20;

/// The deepest folder nesting followed in a folder being verified.
const MAX_DEPTH: usize = 64;

/// How a file's content is named on the Hub and in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 of the content (64 hex digits): files stored with Git LFS.
    Sha256,
    /// The git blob id (40 hex digits): SHA-1 of `blob <size>\0` followed by the content.
    GitSha1,
}

impl HashAlgorithm {
    /// The algorithm of a hash by its form (64 or 40 hex digits, any case): how a blob's name in
    /// the cache says which hash it is. `None` for anything else.
    ///
    /// ```
    /// use hubmix_hub::cache_verify::HashAlgorithm;
    ///
    /// assert_eq!(HashAlgorithm::of_hash(&"a".repeat(64)), Some(HashAlgorithm::Sha256));
    /// assert_eq!(HashAlgorithm::of_hash(&"A".repeat(40)), Some(HashAlgorithm::GitSha1));
    /// assert_eq!(HashAlgorithm::of_hash("config.json"), None);
    /// assert_eq!(HashAlgorithm::of_hash(&"g".repeat(40)), None);
    /// ```
    pub fn of_hash(hash: &str) -> Option<Self> {
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        match hash.len() {
            64 => Some(HashAlgorithm::Sha256),
            40 => Some(HashAlgorithm::GitSha1),
            _ => None,
        }
    }

    /// `sha256` or `git-sha1`, as `huggingface_hub` names them.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::GitSha1 => "git-sha1",
        }
    }

    /// The hash of `bytes`, in lowercase hex.
    ///
    /// ```
    /// use hubmix_hub::cache_verify::HashAlgorithm;
    ///
    /// // `git hash-object` of an empty file, and `sha256sum` of one.
    /// assert_eq!(HashAlgorithm::GitSha1.hash_bytes(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    /// assert_eq!(
    ///     HashAlgorithm::Sha256.hash_bytes(b""),
    ///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// );
    /// ```
    pub fn hash_bytes(self, bytes: &[u8]) -> String {
        let mut hasher = ContentHasher::new(self, bytes.len() as u64);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The hash of the file at `path` (links followed), streamed through a fixed buffer.
    ///
    /// # Errors
    ///
    /// [`HubError::Io`] when it cannot be opened or read, is not a regular file (a folder, a
    /// FIFO), or changes size while it is read.
    pub fn hash_file(self, path: &Path) -> Result<String, HubError> {
        let mut buf = vec![0; BUFFER_BYTES];
        hash_file_with(self, path, &mut buf).map(|(hash, _)| hash)
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hash being computed with one of the [`HashAlgorithm`]s.
pub(crate) enum ContentHasher {
    /// SHA-256.
    Sha256(Sha256),
    /// The git blob id, its header already in.
    GitSha1(Sha1),
}

impl ContentHasher {
    /// A hasher for content of `size` bytes (the git blob header needs the size up front).
    pub(crate) fn new(algorithm: HashAlgorithm, size: u64) -> Self {
        match algorithm {
            HashAlgorithm::Sha256 => ContentHasher::Sha256(Sha256::new()),
            HashAlgorithm::GitSha1 => ContentHasher::GitSha1(git_blob_hasher(size)),
        }
    }

    /// Adds bytes.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            ContentHasher::Sha256(h) => h.update(bytes),
            ContentHasher::GitSha1(h) => h.update(bytes),
        }
    }

    /// The hash, in lowercase hex.
    pub(crate) fn finish(self) -> String {
        match self {
            ContentHasher::Sha256(h) => hex::encode(h.finalize()),
            ContentHasher::GitSha1(h) => hex::encode(h.finalize()),
        }
    }
}

/// A SHA-1 fed with the git blob header of content of `size` bytes: `blob <size>\0`.
pub(crate) fn git_blob_hasher(size: u64) -> Sha1 {
    let mut h = Sha1::new();
    h.update(format!("blob {size}\0").as_bytes());
    h
}

/// Opens a regular file for reading, refusing anything else without blocking on it (a FIFO is
/// opened non-blocking, then refused).
fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Hashes the file at `path` through `buf`; returns the hash and the size.
fn hash_file_with(algorithm: HashAlgorithm, path: &Path, buf: &mut [u8]) -> Result<(String, u64), HubError> {
    let io_error = HubError::io("reading", path);
    let mut file = match open_regular(path) {
        Ok(file) => file,
        Err(e) => return Err(io_error(e)),
    };
    let size = match file.metadata() {
        Ok(meta) => meta.len(),
        Err(e) => return Err(io_error(e)),
    };
    let mut hasher = ContentHasher::new(algorithm, size);
    let mut read = 0u64;
    loop {
        match file.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                read += n as u64;
                if read > size {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e)),
        }
    }
    if read != size {
        return Err(io_error(io::Error::other(format!(
            "it changed while it was read ({size} bytes, then {read})"
        ))));
    }
    Ok((hasher.finish(), size))
}

/// A file to hash.
struct HashJob {
    path: PathBuf,
    algorithm: HashAlgorithm,
    /// Its size when listed: the largest files start first, so no core waits on one at the end.
    size_hint: u64,
}

/// The hash of a file and the size read, or why it could not be read.
type Hashed = Result<(String, u64), HubError>;

/// Hashes every job on up to one thread per core; the results are in the jobs' order.
fn hash_all(jobs: &[HashJob]) -> Vec<Hashed> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].size_hint));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let workers = cores.min(jobs.len()).max(1);
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Hashed)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = vec![0; BUFFER_BYTES];
                    let mut done = Vec::new();
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let job = &jobs[i];
                        done.push((i, hash_file_with(job.algorithm, &job.path, &mut buf)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, result)| result).collect()
}

// ---------------------------------------------------------------------------------------------
// One revision against the Hub.

/// Where [`HubClient::verify_repo`] finds the local files.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The cache to look in (default: the client's, `HF_HUB_CACHE`).
    pub cache_dir: Option<PathBuf>,
    /// A folder to verify instead of the cache (a `local_dir` download); not with `cache_dir`.
    pub local_dir: Option<PathBuf>,
}

impl VerifyOptions {
    /// Looks in this cache.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Verifies this folder instead of the cache.
    pub fn local_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.local_dir = Some(dir.into());
        self
    }
}

/// What [`HubClient::verify_repo`] found, with `huggingface_hub`'s `FolderVerification` fields.
/// Paths are relative to [`verified_path`](Self::verified_path), `/`-separated and sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoVerification {
    /// The revision compared with: the cached commit, or for a folder the revision asked for
    /// (default `main`).
    pub revision: String,
    /// The folder verified: the snapshot folder in the cache, or the local folder.
    pub verified_path: PathBuf,
    /// How many files were hashed and compared.
    pub checked_count: usize,
    /// The files whose content does not match.
    pub mismatches: Vec<Mismatch>,
    /// Files of the revision on the Hub that the folder lacks (in the cache: not downloaded, or
    /// linked to a blob that is gone).
    pub missing_paths: Vec<String>,
    /// Files of the folder that the revision on the Hub lacks.
    pub extra_paths: Vec<String>,
    /// Files of both that could not be hashed: unreadable, or (in the cache) a link that leads
    /// out of the cache.
    pub unverified: Vec<Unverified>,
}

/// A file whose content does not match the Hub's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Its path in the repository.
    pub path: String,
    /// The Hub's hash.
    pub expected: String,
    /// The hash of the local content.
    pub actual: String,
    /// Which hash.
    pub algorithm: HashAlgorithm,
}

/// A file that could not be verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    /// Its path in the repository.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The files of a local folder by repository path: the file to hash, or why it is not hashed.
type LocalFiles = BTreeMap<String, Result<PathBuf, String>>;

impl HubClient {
    /// Verifies one revision of `repo` (`alice/mlp@v1`; default: the cached `main`, else the
    /// only cached revision) against the Hub's list of its files, as `hf cache verify` does.
    ///
    /// The local files are the snapshot folder of that revision in the cache, or the
    /// [`VerifyOptions::local_dir`] folder (without its `.git/` and `.cache/huggingface/`). A file
    /// stored with Git LFS is compared by SHA-256, any other by git blob id. Missing and extra
    /// files are reported, not errors.
    ///
    /// ```
    /// use hubmix_hub::cache_verify::VerifyOptions;
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// hub.create_repo("alice/mlp", &Default::default())?;
    /// let snapshot = hub.snapshot_download("alice/mlp", &Default::default())?;
    /// let report = hub.verify_repo("alice/mlp", &VerifyOptions::default())?;
    /// assert_eq!((report.checked_count, report.verified_path), (1, snapshot.canonicalize()?));
    /// assert!(report.mismatches.is_empty() && report.missing_paths.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`HubError::NotInCache`] when the repository, the revision or its snapshot is not in the
    /// cache; [`HubError::InvalidArgument`] for a `local_dir` that is not a folder, both
    /// `cache_dir` and `local_dir`, or a cache holding several revisions and no `main`; the
    /// errors of [`HubClient::list_tree`].
    pub fn verify_repo(
        &self,
        repo: impl IntoRepoRef,
        options: &VerifyOptions,
    ) -> Result<RepoVerification, HubError> {
        let repo = repo.into_repo_ref()?;
        let (root, revision, cache_root) = match (&options.local_dir, &options.cache_dir) {
            (Some(_), Some(_)) => {
                return Err(HubError::InvalidArgument {
                    name: "local_dir".into(),
                    reason: "give either a local folder or a cache folder, not both".into(),
                });
            }
            (Some(dir), None) => {
                let root = fs::canonicalize(dir).ok().filter(|r| r.is_dir()).ok_or_else(|| {
                    HubError::InvalidArgument {
                        name: "local_dir".into(),
                        reason: format!("{} does not exist or is not a folder", dir.display()),
                    }
                })?;
                let revision = repo.revision_or_main().to_owned();
                (root, revision, None)
            }
            (None, cache_dir) => {
                let cache_dir = cache_dir.as_ref().unwrap_or(&self.settings().cache_dir);
                let (root, commit, cache_root) =
                    cached_snapshot(cache_dir, &repo.id, repo.revision.as_deref())?;
                (root, commit, Some(cache_root))
            }
        };
        let local = local_files(&root, cache_root.as_deref())?;
        let remote = self.list_tree(&repo.id, &revision, None, true)?;
        Ok(compare(&remote, local, revision, root))
    }
}

/// The snapshot folder of `revision` (default: `main`, else the only snapshot) of `repo` in
/// `cache_dir`, the commit, and the cache's canonical path; as `huggingface_hub`'s
/// `resolve_local_root`.
fn cached_snapshot(
    cache_dir: &Path,
    repo: &RepoId,
    revision: Option<&str>,
) -> Result<(PathBuf, String, PathBuf), HubError> {
    let not_in_cache = |what: String, path: PathBuf| HubError::NotInCache {
        repo: repo.to_string(),
        what,
        path,
    };
    let cache_root = fs::canonicalize(cache_dir)
        .map_err(|_| not_in_cache("the repository".into(), cache_dir.join(repo.cache_folder())))?;
    let folder = cache_root.join(repo.cache_folder());
    if !folder.is_dir() {
        return Err(not_in_cache("the repository".into(), folder));
    }
    let read_ref = |name: &str| -> Option<String> {
        let commit = fs::read(folder.join("refs").join(name)).ok()?;
        let commit = String::from_utf8(commit).ok()?.trim().to_owned();
        is_commit_id(&commit).then_some(commit)
    };
    let commit = match revision {
        Some(rev) if is_commit_id(rev) => rev.to_ascii_lowercase(),
        Some(rev) => {
            // A ref name from the user: it must stay inside `refs/`.
            hubmix_protocol::path::validate_path(rev).map_err(|_| HubError::InvalidRevision {
                revision: rev.to_owned(),
                reason: "cannot name a ref in the cache".into(),
            })?;
            read_ref(rev)
                .ok_or_else(|| not_in_cache(format!("revision {rev:?}"), folder.join("refs").join(rev)))?
        }
        None => match read_ref(DEFAULT_REVISION) {
            Some(commit) => commit,
            None => {
                let snapshots = folder.join("snapshots");
                let candidates: Vec<String> = fs::read_dir(&snapshots)
                    .map_err(|_| not_in_cache("a snapshot".into(), snapshots.clone()))?
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                    .filter(|name| is_commit_id(name))
                    .collect();
                match <[String; 1]>::try_from(candidates) {
                    Ok([only]) => only,
                    Err(_) => {
                        return Err(HubError::InvalidArgument {
                            name: "revision".into(),
                            reason: format!(
                                "the cache holds no ref 'main' of {repo} and not exactly one snapshot of it: give the revision"
                            ),
                        });
                    }
                }
            }
        },
    };
    let snapshot = folder.join("snapshots").join(&commit);
    if !snapshot.is_dir() {
        return Err(not_in_cache(format!("revision {commit}"), snapshot));
    }
    Ok((snapshot, commit, cache_root))
}

/// The files below `root` by `/`-separated path, without `.git/` and `.cache/huggingface/`,
/// as `huggingface_hub`'s `collect_local_files`: links to files are followed (a broken one is
/// no file), links to folders and special files are left out. With `cache_root`, a link that
/// leads out of it is listed with the reason it is not followed.
fn local_files(root: &Path, cache_root: Option<&Path>) -> Result<LocalFiles, HubError> {
    let filter = PathFilter::new(&[] as &[&str], &DEFAULT_IGNORE_PATTERNS)?;
    let mut files = LocalFiles::new();
    let mut pending = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = pending.pop() {
        if depth > MAX_DEPTH {
            return Err(HubError::InvalidPath {
                path: dir.display().to_string(),
                reason: format!("folders nested deeper than {MAX_DEPTH}"),
            });
        }
        for entry in fs::read_dir(&dir).map_err(HubError::io("listing", &dir))? {
            let entry = entry.map_err(HubError::io("listing", &dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(HubError::io("reading", &path))?;
            if kind.is_dir() {
                pending.push((path, depth + 1));
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if !filter.matches(&name) {
                continue;
            }
            let file = if kind.is_symlink() {
                match fs::canonicalize(&path) {
                    Err(_) => continue,
                    Ok(target) if !target.is_file() => continue,
                    Ok(target) if cache_root.is_some_and(|c| !target.starts_with(c)) => Err(format!(
                        "it links out of the cache, to {}: not followed",
                        target.display()
                    )),
                    Ok(target) => Ok(target),
                }
            } else if kind.is_file() {
                Ok(path.clone())
            } else {
                continue;
            };
            let file = if relative.to_str().is_none() {
                Err("its name is not valid UTF-8".to_owned())
            } else {
                file
            };
            files.insert(name, file);
        }
    }
    Ok(files)
}

/// Compares the local files with the Hub's tree, as `huggingface_hub`'s `verify_maps`.
fn compare(remote: &[TreeEntry], local: LocalFiles, revision: String, root: PathBuf) -> RepoVerification {
    let remote: BTreeMap<&str, &TreeEntry> = remote
        .iter()
        .filter(|e| e.is_file())
        .map(|e| (e.path.as_str(), e))
        .collect();
    let missing_paths = remote
        .keys()
        .filter(|p| !local.contains_key(**p))
        .map(|p| (*p).to_owned())
        .collect();
    let extra_paths = local
        .keys()
        .filter(|p| !remote.contains_key(p.as_str()))
        .cloned()
        .collect();
    let mut unverified = Vec::new();
    let mut checks = Vec::new();
    let mut jobs = Vec::new();
    for (path, file) in &local {
        let Some(entry) = remote.get(path.as_str()) else {
            continue;
        };
        match file {
            Err(reason) => unverified.push(Unverified {
                path: path.clone(),
                reason: reason.clone(),
            }),
            Ok(file) => {
                let (algorithm, expected) = match &entry.lfs {
                    Some(lfs) => (HashAlgorithm::Sha256, lfs.oid.to_ascii_lowercase()),
                    None => (HashAlgorithm::GitSha1, entry.oid.to_ascii_lowercase()),
                };
                checks.push((path.clone(), expected));
                jobs.push(HashJob {
                    path: file.clone(),
                    algorithm,
                    size_hint: entry.size,
                });
            }
        }
    }
    let mut mismatches = Vec::new();
    let mut checked_count = 0;
    for (((path, expected), job), result) in checks.into_iter().zip(&jobs).zip(hash_all(&jobs)) {
        match result {
            Ok((actual, _)) => {
                checked_count += 1;
                if actual != expected {
                    mismatches.push(Mismatch {
                        path,
                        expected,
                        actual,
                        algorithm: job.algorithm,
                    });
                }
            }
            Err(e) => unverified.push(Unverified {
                path,
                reason: e.to_string(),
            }),
        }
    }
    unverified.sort_by(|a, b| a.path.cmp(&b.path));
    RepoVerification {
        revision,
        verified_path: root,
        checked_count,
        mismatches,
        missing_paths,
        extra_paths,
        unverified,
    }
}

// ---------------------------------------------------------------------------------------------
// The whole cache, offline.

/// What [`verify_cache`] found.
#[derive(Debug, Clone, Default)]
pub struct CacheVerification {
    /// The cache folder (canonical).
    pub cache_dir: PathBuf,
    /// Every repository folder verified, sorted by [`VerifiedRepo::cache_id`].
    pub repos: Vec<VerifiedRepo>,
    /// Folders (or parts of them) that could not be verified at all, and why: a top-level entry
    /// that is not a repository folder, a snapshot folder that cannot be listed, ...
    pub warnings: Vec<CacheWarning>,
    /// Interrupted downloads (`*/blobs/*.incomplete`): not verified, as they are not finished.
    pub incomplete_files: Vec<IncompleteFile>,
}

impl CacheVerification {
    /// Every problem, with its repository.
    pub fn problems(&self) -> impl Iterator<Item = (&VerifiedRepo, &CacheProblem)> {
        self.repos
            .iter()
            .flat_map(|repo| repo.problems.iter().map(move |p| (repo, p)))
    }

    /// Whether a file is corrupt, missing, unreadable or leads out of the cache (anything but
    /// a file that cannot be checked offline, [`ProblemKind::Unverifiable`]).
    pub fn failed(&self) -> bool {
        self.problems().any(|(_, p)| p.kind.is_failure())
    }
}

/// One verified repository folder.
#[derive(Debug, Clone)]
pub struct VerifiedRepo {
    /// Its type.
    pub repo_type: RepoType,
    /// `owner/name` (or `name`).
    pub repo_id: String,
    /// `<cache>/<type>s--<owner>--<name>`.
    pub repo_path: PathBuf,
    /// Its revisions (snapshot folders), sorted by commit.
    pub revisions: Vec<VerifiedRevision>,
    /// How many blobs were hashed.
    pub blobs_checked: usize,
    /// How many bytes were hashed.
    pub bytes_checked: u64,
    /// What is wrong, sorted by revision (blobs no snapshot uses first) and path.
    pub problems: Vec<CacheProblem>,
}

impl VerifiedRepo {
    /// `"{type}/{repo_id}"`, e.g. `model/gpt2`: how `hf cache ls` and `hf cache rm` name it.
    pub fn cache_id(&self) -> String {
        format!("{}/{}", self.repo_type.as_str(), self.repo_id)
    }
}

/// One verified revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRevision {
    /// The commit (the snapshot folder's name).
    pub commit_hash: String,
    /// The refs naming it (`main`, `refs/pr/1`).
    pub refs: BTreeSet<String>,
    /// How many files its snapshot holds.
    pub files: usize,
}

/// A file of the cache that is not as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheProblem {
    /// The revision whose snapshot holds the file; `None` for a blob no snapshot links to.
    pub revision: Option<String>,
    /// The file's path in the repository; `None` for a blob no snapshot links to.
    pub path_in_repo: Option<String>,
    /// The snapshot entry, or the blob.
    pub path: PathBuf,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong with a file of the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Its content does not match the hash it is stored under.
    Corrupt {
        /// The hash its name gives.
        expected: String,
        /// The hash of its content.
        actual: String,
        /// Which hash.
        algorithm: HashAlgorithm,
    },
    /// It links to a blob that is not there.
    Missing {
        /// The blob the link names.
        blob: PathBuf,
    },
    /// It could not be read (permissions, not a regular file, an I/O error).
    Unreadable {
        /// The error.
        reason: String,
    },
    /// It links out of the cache: not followed.
    OutsideCache {
        /// Where the link leads.
        target: PathBuf,
    },
    /// It cannot be checked offline: a blob whose name is not a hash, a snapshot file that is a
    /// copy rather than a link to a blob, a link to something that is not a blob. Not a failure.
    Unverifiable {
        /// Why.
        reason: String,
    },
}

impl ProblemKind {
    /// Whether this makes a verification fail (all but [`ProblemKind::Unverifiable`]).
    pub fn is_failure(&self) -> bool {
        !matches!(self, ProblemKind::Unverifiable { .. })
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::Corrupt {
                expected,
                actual,
                algorithm,
            } => write!(f, "expected {expected} ({algorithm}), got {actual}"),
            ProblemKind::Missing { blob } => write!(f, "its blob {} is missing", blob.display()),
            ProblemKind::Unreadable { reason } => write!(f, "cannot be read: {reason}"),
            ProblemKind::OutsideCache { target } => {
                write!(f, "links out of the cache, to {}: not followed", target.display())
            }
            ProblemKind::Unverifiable { reason } => write!(f, "cannot be checked offline: {reason}"),
        }
    }
}

/// What a blob entry of a repository turned out to be before hashing.
#[derive(Debug, Clone)]
enum Blob {
    /// To hash: job index, expected hash.
    Hash(usize, String),
    /// Already known to be wrong.
    Problem(ProblemKind),
}

/// Verifies every cached file of `cache_dir` offline: each blob is hashed again (on every core,
/// through fixed buffers) and compared with its name, each snapshot link is followed to its
/// blob. Interrupted downloads (`.incomplete`) are listed, not hashed.
///
/// See the [module's example](self).
///
/// # Errors
///
/// [`HubError::Io`] when `cache_dir` cannot be listed (it is missing, or not a folder). Anything
/// wrong inside it is reported in the [`CacheVerification`].
pub fn verify_cache(cache_dir: &Path) -> Result<CacheVerification, HubError> {
    let cache_root = fs::canonicalize(cache_dir).map_err(HubError::io("verifying the cache", cache_dir))?;
    let entries = fs::read_dir(&cache_root).map_err(HubError::io("verifying the cache", cache_dir))?;
    let mut report = CacheVerification {
        cache_dir: cache_root.clone(),
        ..CacheVerification::default()
    };
    let mut jobs = Vec::new();
    let mut job_of: HashMap<(PathBuf, HashAlgorithm), usize> = HashMap::new();
    // Per repository: its blobs by name, and its snapshot files (revision, path, entry, blob name
    // or problem).
    let mut pending = Vec::new();
    for entry in entries {
        let entry = entry.map_err(HubError::io("verifying the cache", cache_dir))?;
        let path = entry.path();
        incomplete_in(&path.join("blobs"), &mut report.incomplete_files);
        if is_not_a_repo(&path) {
            continue;
        }
        let parsed = if path.is_dir() {
            parse_repo_folder(&path)
        } else {
            Err(format!("Repo path is not a directory: {}", path.display()))
        };
        match parsed {
            Ok((repo_type, repo_id)) => {
                let repo = RepoScan::new(&cache_root, &path, &mut jobs, &mut job_of, &mut report.warnings);
                pending.push((repo_type, repo_id, path, repo));
            }
            Err(message) => report.warnings.push(CacheWarning { path, message }),
        }
    }
    let results = hash_all(&jobs);
    for (repo_type, repo_id, repo_path, scan) in pending {
        report
            .repos
            .push(scan.finish(repo_type, repo_id, repo_path, &jobs, &results));
    }
    report.repos.sort_by_key(VerifiedRepo::cache_id);
    report.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    report.incomplete_files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// A file of a snapshot: its path in the repository, its entry, and the name of the blob it links
/// to or what is wrong with it.
type SnapshotFile = (String, PathBuf, Result<String, ProblemKind>);

/// A repository folder listed, waiting for its blobs' hashes.
struct RepoScan {
    /// Blobs by name.
    blobs: BTreeMap<String, (PathBuf, Blob)>,
    /// Revisions and their files.
    revisions: Vec<(VerifiedRevision, Vec<SnapshotFile>)>,
}

impl RepoScan {
    /// Lists the blobs (queueing their hashing in `jobs`) and the snapshots of `repo_path`.
    fn new(
        cache_root: &Path,
        repo_path: &Path,
        jobs: &mut Vec<HashJob>,
        job_of: &mut HashMap<(PathBuf, HashAlgorithm), usize>,
        warnings: &mut Vec<CacheWarning>,
    ) -> Self {
        let mut scan = RepoScan {
            blobs: BTreeMap::new(),
            revisions: Vec::new(),
        };
        let blobs_dir = repo_path.join("blobs");
        if let Ok(entries) = fs::read_dir(&blobs_dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".incomplete") {
                    continue;
                }
                let blob = blob_entry(cache_root, &path, &name, jobs, job_of);
                scan.blobs.insert(name, (path, blob));
            }
        }
        let refs = read_refs(&repo_path.join("refs")).unwrap_or_else(|message| {
            warnings.push(CacheWarning {
                path: repo_path.join("refs"),
                message,
            });
            BTreeMap::new()
        });
        let snapshots = repo_path.join("snapshots");
        let Ok(entries) = fs::read_dir(&snapshots) else {
            return scan;
        };
        let mut revisions: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        revisions.sort();
        for revision_path in revisions {
            let commit_hash = revision_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !revision_path.is_dir() {
                warnings.push(CacheWarning {
                    message: format!(
                        "Snapshots folder corrupted. Found a file: {}",
                        revision_path.display()
                    ),
                    path: revision_path,
                });
                continue;
            }
            let mut entries = Vec::new();
            if let Err(message) = walk(&revision_path, &revision_path, 0, &mut entries) {
                warnings.push(CacheWarning {
                    path: revision_path,
                    message,
                });
                continue;
            }
            entries.sort();
            let files = entries
                .into_iter()
                .map(|(path_in_repo, file)| {
                    let blob = snapshot_entry(cache_root, &blobs_dir, &scan.blobs, &file);
                    (path_in_repo, file, blob)
                })
                .collect::<Vec<_>>();
            let revision = VerifiedRevision {
                refs: refs.get(&commit_hash).cloned().unwrap_or_default(),
                commit_hash,
                files: files.len(),
            };
            scan.revisions.push((revision, files));
        }
        scan
    }

    /// The repository's report, from the hashes of its blobs.
    fn finish(
        self,
        repo_type: RepoType,
        repo_id: String,
        repo_path: PathBuf,
        jobs: &[HashJob],
        results: &[Hashed],
    ) -> VerifiedRepo {
        let mut blobs_checked = 0;
        let mut bytes_checked = 0;
        // Each blob's verdict: `None` when it is sound.
        let verdicts: BTreeMap<&str, Option<ProblemKind>> = self
            .blobs
            .iter()
            .map(|(name, (_, blob))| {
                let verdict = match blob {
                    Blob::Problem(kind) => Some(kind.clone()),
                    Blob::Hash(job, expected) => match &results[*job] {
                        Ok((actual, size)) => {
                            blobs_checked += 1;
                            bytes_checked += size;
                            (actual != expected).then(|| ProblemKind::Corrupt {
                                expected: expected.clone(),
                                actual: actual.clone(),
                                algorithm: jobs[*job].algorithm,
                            })
                        }
                        Err(e) => Some(ProblemKind::Unreadable { reason: io_reason(e) }),
                    },
                };
                (name.as_str(), verdict)
            })
            .collect();
        let mut problems = Vec::new();
        let mut linked: BTreeSet<&str> = BTreeSet::new();
        for (revision, files) in &self.revisions {
            for (path_in_repo, file, blob) in files {
                let kind = match blob {
                    Err(kind) => Some(kind.clone()),
                    Ok(name) => {
                        linked.insert(name);
                        verdicts.get(name.as_str()).cloned().flatten()
                    }
                };
                if let Some(kind) = kind {
                    problems.push(CacheProblem {
                        revision: Some(revision.commit_hash.clone()),
                        path_in_repo: Some(path_in_repo.clone()),
                        path: file.clone(),
                        kind,
                    });
                }
            }
        }
        // Blobs no snapshot links to: their own problems, first.
        let unlinked = verdicts
            .iter()
            .filter(|(name, _)| !linked.contains(*name))
            .filter_map(|(name, verdict)| {
                Some(CacheProblem {
                    revision: None,
                    path_in_repo: None,
                    path: self.blobs[*name].0.clone(),
                    kind: verdict.clone()?,
                })
            });
        let problems: Vec<CacheProblem> = unlinked.chain(problems).collect();
        VerifiedRepo {
            repo_type,
            repo_id,
            repo_path,
            revisions: self.revisions.into_iter().map(|(r, _)| r).collect(),
            blobs_checked,
            bytes_checked,
            problems,
        }
    }
}

/// The error of an I/O failure, without the path the report names already.
fn io_reason(e: &HubError) -> String {
    match e {
        HubError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// A blob entry (`<repo>/blobs/<name>`): queued for hashing when its name is a hash and it
/// resolves to a file inside the cache (the shared blob store included); else what is wrong.
fn blob_entry(
    cache_root: &Path,
    path: &Path,
    name: &str,
    jobs: &mut Vec<HashJob>,
    job_of: &mut HashMap<(PathBuf, HashAlgorithm), usize>,
) -> Blob {
    let Some(algorithm) = HashAlgorithm::of_hash(name) else {
        return Blob::Problem(ProblemKind::Unverifiable {
            reason: "its name is not a hash (64 or 40 hex digits)".into(),
        });
    };
    let target = match fs::canonicalize(path) {
        Ok(target) => target,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let blob = fs::read_link(path).map_or_else(|_| path.to_path_buf(), |t| lexical_join(path, &t));
            return Blob::Problem(ProblemKind::Missing { blob });
        }
        Err(e) => {
            return Blob::Problem(ProblemKind::Unreadable {
                reason: e.to_string(),
            });
        }
    };
    if !target.starts_with(cache_root) {
        return Blob::Problem(ProblemKind::OutsideCache { target });
    }
    let size_hint = fs::metadata(&target).map_or(0, |m| m.len());
    let job = *job_of.entry((target.clone(), algorithm)).or_insert_with(|| {
        jobs.push(HashJob {
            path: target,
            algorithm,
            size_hint,
        });
        jobs.len() - 1
    });
    Blob::Hash(job, name.to_ascii_lowercase())
}

/// A snapshot entry: the name of the blob of `blobs_dir` it links to, or what is wrong with it.
fn snapshot_entry(
    cache_root: &Path,
    blobs_dir: &Path,
    blobs: &BTreeMap<String, (PathBuf, Blob)>,
    file: &Path,
) -> Result<String, ProblemKind> {
    let link = match fs::read_link(file) {
        Ok(link) => lexical_join(file, &link),
        Err(_) if file.is_file() => {
            return Err(ProblemKind::Unverifiable {
                reason: "it is a copy, not a link to a blob, so its hash is not known offline".into(),
            });
        }
        Err(_) => {
            return Err(ProblemKind::Unverifiable {
                reason: "it is not a file".into(),
            });
        }
    };
    // A link to a blob of the repository has the blob's verdict.
    if let Some(name) = link.file_name().and_then(|n| n.to_str())
        && link.parent() == Some(blobs_dir)
        && blobs.contains_key(name)
    {
        return Ok(name.to_owned());
    }
    match fs::canonicalize(file) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ProblemKind::Missing { blob: link }),
        Err(e) => Err(ProblemKind::Unreadable {
            reason: e.to_string(),
        }),
        Ok(target) if !target.starts_with(cache_root) => Err(ProblemKind::OutsideCache { target }),
        Ok(_) => Err(ProblemKind::Unverifiable {
            reason: format!("it links to {}, not to a blob of its repository", link.display()),
        }),
    }
}

/// Where a link at `at` with target `target` points, `..` resolved without the file system.
fn lexical_join(at: &Path, target: &Path) -> PathBuf {
    let joined = at
        .parent()
        .map_or_else(|| target.to_path_buf(), |p| p.join(target));
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    use crate::info::{EntryKind, LfsInfo};

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// Stores `content` as a download does, under its hash (`lfs`: SHA-256, else the git blob
    /// id), linked from `snapshots/<commit>/<path>`; returns the blob's name.
    fn add_file(repo: &Path, commit: &str, path: &str, content: &[u8], lfs: bool) -> String {
        let algorithm = if lfs {
            HashAlgorithm::Sha256
        } else {
            HashAlgorithm::GitSha1
        };
        let etag = algorithm.hash_bytes(content);
        fs::create_dir_all(repo.join("blobs")).unwrap();
        fs::write(repo.join("blobs").join(&etag), content).unwrap();
        link(repo, commit, path, &format!("blobs/{etag}"));
        etag
    }

    /// Links `snapshots/<commit>/<path>` to `target` (relative to the repository folder).
    fn link(repo: &Path, commit: &str, path: &str, target: &str) {
        let at = repo.join("snapshots").join(commit).join(path);
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        let up = "../".repeat(path.matches('/').count() + 2);
        symlink(format!("{up}{target}"), at).unwrap();
    }

    #[test]
    fn git_blob_ids_and_sha256_are_the_hub_s() {
        // `printf 'hello\n' | git hash-object --stdin` and `| sha256sum`.
        assert_eq!(
            HashAlgorithm::GitSha1.hash_bytes(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(
            HashAlgorithm::Sha256.hash_bytes(b"hello\n"),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        // Streamed through a buffer smaller than the file: the same.
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..BUFFER_BYTES * 2 + 7).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("big");
        fs::write(&path, &big).unwrap();
        for algorithm in [HashAlgorithm::Sha256, HashAlgorithm::GitSha1] {
            let mut small = [0u8; 4096];
            let (hash, size) = hash_file_with(algorithm, &path, &mut small).unwrap();
            assert_eq!(
                (hash.as_str(), size),
                (algorithm.hash_bytes(&big).as_str(), big.len() as u64)
            );
            assert_eq!(algorithm.hash_file(&path).unwrap(), algorithm.hash_bytes(&big));
        }
        // A git blob id is not the SHA-1 of the bytes alone.
        assert_ne!(
            HashAlgorithm::GitSha1.hash_bytes(b"x"),
            hex::encode(Sha1::digest(b"x"))
        );
        assert_eq!(HashAlgorithm::of_hash(&"0".repeat(63)), None);
        assert_eq!(HashAlgorithm::of_hash(""), None);
        assert_eq!(HashAlgorithm::of_hash(&"é".repeat(20)), None, "40 bytes, not hex");
    }

    #[test]
    fn special_and_missing_files_are_io_errors_not_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
        for path in [fifo, dir.path().to_path_buf(), dir.path().join("nope")] {
            let e = HashAlgorithm::Sha256.hash_file(&path).unwrap_err();
            assert!(matches!(e, HubError::Io { .. }), "{path:?}: {e}");
        }
    }

    #[test]
    fn a_clean_cache_passes_and_every_damage_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let repo = root.join("models--alice--m");
        let config = add_file(&repo, A, "config.json", b"{\"d\": 8}", false);
        let weights_bytes = vec![7u8; 3000];
        let weights = add_file(&repo, A, "w/model.safetensors", &weights_bytes, true);
        add_file(&repo, B, "config.json", b"{\"d\": 8}", false);
        let notes = add_file(&repo, B, "notes.txt", b"notes\n", false);
        fs::create_dir_all(repo.join("refs")).unwrap();
        fs::write(repo.join("refs/main"), B).unwrap();
        fs::write(
            repo.join("blobs").join(format!("{}.incomplete", "c".repeat(64))),
            b"xx",
        )
        .unwrap();
        let other = root.join("datasets--org--d");
        add_file(&other, A, "data.csv", b"a,b\n", false);
        fs::create_dir_all(root.join(".locks")).unwrap();

        let clean = verify_cache(root).unwrap();
        assert!(!clean.failed(), "{:#?}", clean.repos);
        assert_eq!(clean.problems().count(), 0);
        assert_eq!(clean.incomplete_files.len(), 1, "listed, not hashed");
        let ids: Vec<String> = clean.repos.iter().map(VerifiedRepo::cache_id).collect();
        assert_eq!(ids, ["dataset/org/d", "model/alice/m"]);
        let m = &clean.repos[1];
        assert_eq!((m.blobs_checked, m.bytes_checked), (3, 8 + 3000 + 6));
        assert_eq!(m.revisions.len(), 2);
        assert_eq!(m.revisions[1].refs.iter().collect::<Vec<_>>(), ["main"]);
        assert_eq!(m.revisions[0].files, 2);

        // One byte changed, the length kept; a blob deleted; a blob no snapshot uses corrupted.
        let mut damaged = weights_bytes.clone();
        damaged[1500] ^= 1;
        fs::write(repo.join("blobs").join(&weights), &damaged).unwrap();
        fs::remove_file(repo.join("blobs").join(&notes)).unwrap();
        let orphan = HashAlgorithm::GitSha1.hash_bytes(b"old");
        fs::write(repo.join("blobs").join(&orphan), b"new").unwrap();

        let report = verify_cache(root).unwrap();
        assert!(report.failed());
        let m = &report.repos[1];
        let found: Vec<(Option<&str>, Option<&str>, &ProblemKind)> = m
            .problems
            .iter()
            .map(|p| (p.revision.as_deref(), p.path_in_repo.as_deref(), &p.kind))
            .collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert_eq!((found[0].0, found[0].1), (None, None), "the unlinked blob first");
        assert!(matches!(
            found[0].2,
            ProblemKind::Corrupt {
                algorithm: HashAlgorithm::GitSha1,
                ..
            }
        ));
        assert_eq!((found[1].0, found[1].1), (Some(A), Some("w/model.safetensors")));
        assert_eq!(
            found[1].2,
            &ProblemKind::Corrupt {
                expected: weights.clone(),
                actual: HashAlgorithm::Sha256.hash_bytes(&damaged),
                algorithm: HashAlgorithm::Sha256,
            }
        );
        assert_eq!((found[2].0, found[2].1), (Some(B), Some("notes.txt")));
        assert_eq!(
            found[2].2,
            &ProblemKind::Missing {
                blob: fs::canonicalize(&repo).unwrap().join("blobs").join(&notes)
            }
        );
        assert!(
            report.repos[0].problems.is_empty(),
            "the other repository is sound"
        );
        assert!(!config.is_empty());
    }

    #[test]
    fn hostile_entries_are_reported_never_followed_out_of_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        fs::write(&secret, b"secret").unwrap();
        let root = dir.path();
        let repo = root.join("models--alice--m");
        add_file(&repo, A, "ok.txt", b"ok", false);
        // A blob named by no hash, a blob that is a link out of the cache, a blob that is a FIFO,
        // a blob that is a folder.
        fs::write(repo.join("blobs/not-a-hash"), b"x").unwrap();
        let escaping = "e".repeat(64);
        symlink(&secret, repo.join("blobs").join(&escaping)).unwrap();
        let fifo = "f".repeat(40);
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            repo.join("blobs").join(&fifo),
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let folder = "d".repeat(40);
        fs::create_dir_all(repo.join("blobs").join(&folder)).unwrap();
        link(&repo, A, "escaping.bin", &format!("blobs/{escaping}"));
        link(&repo, A, "fifo.bin", &format!("blobs/{fifo}"));
        // Snapshot entries: a link straight out of the cache, a copy instead of a link.
        let snapshot = repo.join("snapshots").join(A);
        symlink(&secret, snapshot.join("direct")).unwrap();
        fs::write(snapshot.join("copy.txt"), b"copy").unwrap();
        // Top-level entries that are not repositories.
        fs::write(root.join("models--file"), b"").unwrap();
        fs::create_dir_all(root.join("nodashes")).unwrap();

        let report = verify_cache(root).unwrap();
        assert!(report.failed());
        assert_eq!(report.warnings.len(), 2, "{:#?}", report.warnings);
        let m = &report.repos[0];
        let kind_of = |path: &str| {
            m.problems
                .iter()
                .find(|p| p.path_in_repo.as_deref() == Some(path))
                .map(|p| p.kind.clone())
        };
        assert_eq!(kind_of("ok.txt"), None);
        assert!(
            matches!(kind_of("escaping.bin"), Some(ProblemKind::OutsideCache { target }) if target == fs::canonicalize(&secret).unwrap())
        );
        assert!(matches!(
            kind_of("direct"),
            Some(ProblemKind::OutsideCache { .. })
        ));
        assert!(
            matches!(kind_of("fifo.bin"), Some(ProblemKind::Unreadable { reason }) if reason.contains("not a regular file"))
        );
        assert!(matches!(
            kind_of("copy.txt"),
            Some(ProblemKind::Unverifiable { .. })
        ));
        let unlinked: Vec<&ProblemKind> = m
            .problems
            .iter()
            .filter(|p| p.revision.is_none())
            .map(|p| &p.kind)
            .collect();
        assert_eq!(unlinked.len(), 2, "{unlinked:#?}");
        assert!(
            unlinked
                .iter()
                .any(|k| matches!(k, ProblemKind::Unverifiable { .. }))
        );
        assert!(
            unlinked
                .iter()
                .any(|k| matches!(k, ProblemKind::Unreadable { .. }))
        );
        // Only unverifiable files: reported, not a failure.
        let tame = tempfile::tempdir().unwrap();
        let repo = tame.path().join("models--alice--m");
        add_file(&repo, A, "ok.txt", b"ok", false);
        fs::write(repo.join("blobs/not-a-hash"), b"x").unwrap();
        let report = verify_cache(tame.path()).unwrap();
        assert_eq!((report.failed(), report.problems().count()), (false, 1));
        // A missing cache is an error.
        assert!(matches!(
            verify_cache(&root.join("nope")),
            Err(HubError::Io { .. })
        ));
    }

    #[test]
    fn an_unreadable_blob_is_reported_and_the_rest_verified() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("models--alice--m");
        let etag = add_file(&repo, A, "locked.bin", b"locked", false);
        add_file(&repo, A, "open.txt", b"open", false);
        let blob = repo.join("blobs").join(&etag);
        fs::set_permissions(&blob, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read(&blob).is_ok() {
            eprintln!("skipped: this user (root) reads files whatever their permissions");
            return;
        }
        let report = verify_cache(dir.path()).unwrap();
        assert!(report.failed());
        let m = &report.repos[0];
        assert_eq!(m.blobs_checked, 1, "the readable blob is still verified");
        assert_eq!(m.problems.len(), 1);
        assert_eq!(m.problems[0].path_in_repo.as_deref(), Some("locked.bin"));
        assert!(
            matches!(&m.problems[0].kind, ProblemKind::Unreadable { reason } if reason.contains("ermission")),
            "{:?}",
            m.problems[0]
        );
    }

    #[test]
    fn a_revision_is_compared_with_the_hub_s_tree_as_hf_does() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("models--alice--m");
        let config = add_file(&repo, A, "config.json", b"{}", false);
        let weights = add_file(&repo, A, "model.bin", b"weights", true);
        add_file(&repo, A, "extra.txt", b"x", false);
        fs::create_dir_all(repo.join("snapshots").join(A).join(".git")).unwrap();
        fs::write(repo.join("snapshots").join(A).join(".git/config"), b"[core]").unwrap();
        fs::write(repo.join("snapshots").join(A).join("corrupt.txt"), b"changed").unwrap();
        let entry = |path: &str, oid: &str, lfs: Option<&str>| TreeEntry {
            kind: EntryKind::File,
            oid: oid.to_owned(),
            size: 1,
            path: path.to_owned(),
            lfs: lfs.map(|sha| LfsInfo {
                oid: sha.to_owned(),
                size: 1,
                pointer_size: 0,
            }),
            last_commit: None,
        };
        let remote = [
            entry("config.json", &config.to_uppercase(), None),
            entry("model.bin", &"0".repeat(40), Some(&weights)),
            entry(
                "corrupt.txt",
                &HashAlgorithm::GitSha1.hash_bytes(b"original"),
                None,
            ),
            entry("missing.txt", &"1".repeat(40), None),
            TreeEntry {
                kind: EntryKind::Directory,
                ..entry("folder", &"2".repeat(40), None)
            },
        ];
        let cache_root = fs::canonicalize(dir.path()).unwrap();
        let root = cache_root.join("models--alice--m/snapshots").join(A);
        let local = local_files(&root, Some(&cache_root)).unwrap();
        let report = compare(&remote, local, A.to_owned(), root.clone());
        assert_eq!(report.checked_count, 3);
        assert_eq!(report.mismatches.len(), 1);
        assert_eq!(report.mismatches[0].path, "corrupt.txt");
        assert_eq!(report.mismatches[0].algorithm, HashAlgorithm::GitSha1);
        assert_eq!(
            report.mismatches[0].actual,
            HashAlgorithm::GitSha1.hash_bytes(b"changed")
        );
        assert_eq!(report.missing_paths, ["missing.txt"]);
        assert_eq!(report.extra_paths, ["extra.txt"]);
        assert!(report.unverified.is_empty());

        // A link out of the cache is not followed; a dangling link is no file.
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("x"), b"{}").unwrap();
        fs::remove_file(root.join("config.json")).unwrap();
        symlink(outside.path().join("x"), root.join("config.json")).unwrap();
        fs::remove_file(repo.join("blobs").join(&weights)).unwrap();
        let local = local_files(&root, Some(&cache_root)).unwrap();
        let report = compare(&remote, local, A.to_owned(), root.clone());
        assert_eq!(report.unverified.len(), 1);
        assert_eq!(report.unverified[0].path, "config.json");
        assert_eq!(report.missing_paths, ["missing.txt", "model.bin"]);
        // A folder verified as a local dir follows its links wherever they go.
        let local = local_files(&root, None).unwrap();
        let report = compare(&remote, local, A.to_owned(), root);
        assert!(report.unverified.is_empty());
        assert_eq!(report.checked_count, 2);
    }

    #[test]
    fn the_cached_revision_is_resolved_as_hf_resolves_it() {
        let dir = tempfile::tempdir().unwrap();
        let id = RepoId::new("alice/m").unwrap();
        let repo = dir.path().join("models--alice--m");
        let missing = |r: Result<(PathBuf, String, PathBuf), HubError>| match r {
            Err(HubError::NotInCache { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(missing(cached_snapshot(dir.path(), &id, None)), "the repository");
        add_file(&repo, A, "f", b"a", false);
        add_file(&repo, B, "f", b"b", false);
        assert!(matches!(
            cached_snapshot(dir.path(), &id, None),
            Err(HubError::InvalidArgument { .. })
        ));
        assert_eq!(cached_snapshot(dir.path(), &id, Some(B)).unwrap().1, B);
        assert_eq!(
            missing(cached_snapshot(dir.path(), &id, Some("v1"))),
            "revision \"v1\""
        );
        assert!(matches!(
            cached_snapshot(dir.path(), &id, Some("../../x")),
            Err(HubError::InvalidRevision { .. })
        ));
        fs::create_dir_all(repo.join("refs")).unwrap();
        fs::write(repo.join("refs/main"), A).unwrap();
        let (root, commit, _) = cached_snapshot(dir.path(), &id, None).unwrap();
        assert_eq!(commit, A);
        assert!(root.ends_with(format!("snapshots/{A}")));
        fs::write(repo.join("refs/v2"), "c".repeat(40)).unwrap();
        assert!(missing(cached_snapshot(dir.path(), &id, Some("v2"))).starts_with("revision cccc"));
    }
}
