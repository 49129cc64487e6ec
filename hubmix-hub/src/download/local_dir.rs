//! Downloads into a plain folder (`hf download --local-dir`): real files at their repository
//! paths, no symlinks, no shared cache, with the bookkeeping Python's `huggingface_hub` keeps
//! there, so that either tool skips the files the other fetched:
//!
//! ```text
//! <dir>/<path>                                          the file
//! <dir>/.cache/huggingface/.gitignore                   "*"
//! <dir>/.cache/huggingface/CACHEDIR.TAG
//! <dir>/.cache/huggingface/download/<path>.metadata     commit, etag, time (3 lines)
//! <dir>/.cache/huggingface/download/<path>.lock         taken while the file is checked or written
//! <dir>/.cache/huggingface/trees/<commit>.json          the commit's tree listing
//! <dir>/.cache/huggingface/blobs/<etag>.incomplete      hubmix's download in progress (resumed)
//! ```
//!
//! A file is up to date when its `.metadata` is valid (the file is not newer than the record,
//! give or take a second, as Python checks) and names the wanted commit or the file's ETag.
//! Without a valid record, a file whose bytes hash to the ETag (sha256 for LFS files, the git
//! blob sha1 for the others) is kept and recorded. Anything else is downloaded, copied from the
//! shared cache when it holds the file, else fetched and verified like any download.
//!
//! ```
//! use hubmix_hub::{CommitOperation, CommitOptions, HubClient, SnapshotOptions};
//! # let dir = tempfile::tempdir()?;
//! # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
//! #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
//! let hub = HubClient::builder().endpoint(server.url()).token("hf_alice").cache_dir(dir.path().join("cache")).build()?;
//! hub.create_repo("alice/mlp", &Default::default())?;
//! hub.create_commit("alice/mlp", &[CommitOperation::add_bytes("config.json", b"{}".to_vec())], &CommitOptions::new("Add"))?;
//! let out = dir.path().join("mlp");
//! hub.snapshot_to_local_dir("alice/mlp", &out, &SnapshotOptions::default())?;
//! assert_eq!(std::fs::read(out.join("config.json"))?, b"{}");
//! let record = hubmix_hub::download::local_dir::read_metadata(&out, "config.json")?.unwrap();
//! assert_eq!(record.etag, "9e26dfeeb6e641a33dae4961196235bdb965b21b"); // git blob sha1 of "{}"
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use hubmix_protocol::path::validate_path;

use super::cache::{CachedFile, CachedTree, RepoCache};
use super::{FileMeta, Job, SnapshotOptions, Verifier, cache_may_answer, is_whole};
use crate::client::HubClient;
use crate::download::DownloadOptions;
use crate::error::HubError;
use crate::files::open_no_follow;
use crate::patterns::PathFilter;
use crate::repo::{IntoRepoRef, is_commit_id};
use crate::transport::progress::Progress;

/// The content of `.cache/huggingface/CACHEDIR.TAG`, as Python writes it.
const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by huggingface_hub.\n\
# For information about cache directory tags, see:\n\
#\thttps://bford.info/cachedir/\n";

/// Longest `.metadata` file read (three short lines).
const MAX_METADATA_BYTES: u64 = 4096;

/// What `.cache/huggingface/download/<path>.metadata` records about a downloaded file.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalFileMetadata {
    /// The commit the file was downloaded from.
    pub commit: String,
    /// Its ETag: sha256 (LFS) or git blob sha1.
    pub etag: String,
    /// When the record was written (Unix seconds).
    pub timestamp: f64,
}

/// The record of `path` in the local folder `dir`, when it is valid: readable, and the file
/// exists and is not newer than the record by more than a second (Python's rule). An unreadable
/// record is removed, as Python does.
pub fn read_metadata(dir: &Path, path: &str) -> Result<Option<LocalFileMetadata>, HubError> {
    LocalDir::new(dir)?.read_metadata(path)
}

/// A local folder and its bookkeeping.
struct LocalDir {
    root: PathBuf,
    /// `<root>/.cache/huggingface`.
    meta: PathBuf,
}

/// What a local copy is worth.
#[derive(Debug, PartialEq, Eq)]
enum Local {
    /// Recorded for this commit: nothing to do.
    Current,
    /// The right bytes, recorded for another commit or not at all: record it.
    Record,
    /// Missing, changed or unknown: download it.
    Fetch,
}

impl LocalDir {
    fn new(root: &Path) -> Result<Self, HubError> {
        let root = std::path::absolute(root).map_err(HubError::io("resolving", root))?;
        let meta = root.join(".cache").join("huggingface");
        Ok(LocalDir { root, meta })
    }

    /// Creates the bookkeeping folder with its `.gitignore` and `CACHEDIR.TAG`.
    fn prepare(&self) -> Result<(), HubError> {
        for (name, content) in [(".gitignore", "*"), ("CACHEDIR.TAG", CACHEDIR_TAG)] {
            let path = self.meta.join(name);
            if !path.exists() {
                crate::files::write_atomic(&path, content.as_bytes())?;
            }
        }
        Ok(())
    }

    /// The bookkeeping of blobs in progress and tree listings.
    fn cache(&self) -> RepoCache {
        RepoCache::at(&self.meta)
    }

    fn file(&self, path: &str) -> Result<PathBuf, HubError> {
        validate_path(path)?;
        Ok(self.root.join(path))
    }

    /// `download/<path>.<suffix>`.
    fn record(&self, path: &str, suffix: &str) -> Result<PathBuf, HubError> {
        validate_path(path)?;
        Ok(self.meta.join("download").join(format!("{path}.{suffix}")))
    }

    /// Holds `<path>.lock` (the lock Python's `huggingface_hub` takes for the same file).
    fn lock(&self, path: &str) -> Result<File, HubError> {
        let lock = self.record(path, "lock")?;
        let parent = lock.parent().expect("record paths have a parent");
        fs::create_dir_all(parent).map_err(HubError::io("creating", parent))?;
        let file = open_no_follow(File::options().create(true).truncate(false).write(true), &lock)
            .map_err(HubError::io("opening", &lock))?;
        file.lock().map_err(HubError::io("locking", &lock))?;
        Ok(file)
    }

    fn read_metadata(&self, path: &str) -> Result<Option<LocalFileMetadata>, HubError> {
        let record = self.record(path, "metadata")?;
        let mut text = String::new();
        match open_no_follow(File::options().read(true), &record) {
            Ok(f) => {
                if f.take(MAX_METADATA_BYTES).read_to_string(&mut text).is_err() {
                    text.clear();
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(HubError::io("reading", &record)(e)),
        }
        let mut lines = text.lines().map(str::trim);
        let parsed = match (lines.next(), lines.next(), lines.next()) {
            (Some(commit), Some(etag), Some(time)) => {
                time.parse::<f64>().ok().map(|timestamp| LocalFileMetadata {
                    commit: commit.to_owned(),
                    etag: etag.to_owned(),
                    timestamp,
                })
            }
            _ => None,
        };
        let Some(metadata) = parsed else {
            tracing::warn!("invalid metadata file {}: removed", record.display());
            let _ = fs::remove_file(&record);
            return Ok(None);
        };
        let modified = fs::metadata(self.file(path)?)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        Ok(modified
            .filter(|m| m.as_secs_f64() - 1.0 <= metadata.timestamp)
            .map(|_| metadata))
    }

    /// Records `path` as downloaded from `commit` with `etag`, now (after the file is in place).
    fn write_metadata(&self, path: &str, commit: &str, etag: &str) -> Result<(), HubError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let record = self.record(path, "metadata")?;
        crate::files::write_atomic(&record, format!("{commit}\n{etag}\n{now}\n").as_bytes())
    }

    /// What the local copy of `path` is worth for `commit` / `etag` / `size`. Without a valid
    /// record and with `hash`, the file's bytes are checked against the ETag.
    fn state(&self, path: &str, commit: &str, etag: &str, size: u64, hash: bool) -> Result<Local, HubError> {
        let file = self.file(path)?;
        let Ok(found) = fs::symlink_metadata(&file) else {
            return Ok(Local::Fetch);
        };
        if !found.is_file() {
            return Ok(Local::Fetch);
        }
        if let Some(record) = self.read_metadata(path)? {
            return Ok(if record.commit == commit {
                Local::Current
            } else if record.etag == etag {
                Local::Record
            } else {
                Local::Fetch
            });
        }
        let hashable = etag.bytes().all(|b| b.is_ascii_hexdigit()) && matches!(etag.len(), 40 | 64);
        if hash
            && hashable
            && found.len() == size
            && Verifier::new(etag, Some(size))
                .finish_with_file(etag, size, &file)
                .is_ok()
        {
            return Ok(Local::Record);
        }
        Ok(Local::Fetch)
    }

    /// Brings the files `paths` (all with the blob `meta.etag`) up to date.
    fn update(
        &self,
        job: &Job<'_>,
        shared: &RepoCache,
        meta: &FileMeta,
        paths: &[&str],
    ) -> Result<(), HubError> {
        let force = job.options.force_download;
        let size = meta.size.unwrap_or(0);
        let mut stale = Vec::new();
        for &path in paths {
            let _lock = self.lock(path)?;
            match self.state(path, &meta.commit, &meta.etag, size, meta.size.is_some())? {
                _ if force => stale.push(path),
                Local::Current => {}
                Local::Record => self.write_metadata(path, &meta.commit, &meta.etag)?,
                Local::Fetch => stale.push(path),
            }
        }
        let Some((last, first)) = stale.split_last() else {
            return Ok(());
        };
        // The shared cache's copy, when it has the file whole; else a download.
        let cached = shared.snapshot_path(&meta.commit, last)?;
        let (source, owned) = if !force && is_whole(&cached, meta.size) {
            (cached, false)
        } else {
            (job.fetch_blob(meta, last)?, true)
        };
        for &path in first {
            self.place(path, &source, false, meta)?;
        }
        self.place(last, &source, owned, meta)
    }

    /// Puts `source` at `path` (moved when `owned`, else copied through a temporary file) and
    /// records it.
    fn place(&self, path: &str, source: &Path, owned: bool, meta: &FileMeta) -> Result<(), HubError> {
        let _lock = self.lock(path)?;
        let dest = self.file(path)?;
        let parent = dest.parent().expect("file paths have a parent");
        fs::create_dir_all(parent).map_err(HubError::io("creating", parent))?;
        if owned {
            fs::rename(source, &dest).map_err(HubError::io("moving the download to", &dest))?;
        } else {
            let temp = parent.join(format!(
                ".{}.{}.tmp",
                dest.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
                crate::files::random_suffix()
            ));
            let copied = fs::copy(source, &temp).and_then(|_| fs::rename(&temp, &dest));
            if let Err(e) = copied {
                let _ = fs::remove_file(&temp);
                return Err(HubError::io("copying into", &dest)(e));
            }
        }
        self.write_metadata(path, &meta.commit, &meta.etag)
    }
}

impl HubClient {
    /// Downloads every file of a revision (filtered by allow / ignore patterns) into the plain
    /// folder `local_dir`, skipping those already there (fetched by hubmix or by Python's
    /// `huggingface_hub`, see the [module](self)), and returns the folder (absolute).
    ///
    /// Offline, or when the Hub cannot be reached, an existing folder is returned as it is.
    pub fn snapshot_to_local_dir(
        &self,
        repo: impl IntoRepoRef,
        local_dir: impl AsRef<Path>,
        options: &SnapshotOptions,
    ) -> Result<PathBuf, HubError> {
        let repo = repo.into_repo_ref()?;
        let filter = PathFilter::new(&options.allow, &options.ignore)?;
        let job = Job::new(self, &repo, &options.download)?;
        let local = LocalDir::new(local_dir.as_ref())?;
        if let Some(why) = job.offline_reason() {
            return if local.root.is_dir() {
                Ok(local.root)
            } else {
                Err(HubError::NotCached {
                    repo: repo.id.to_string(),
                    revision: job.revision.clone(),
                    what: "the snapshot".into(),
                    why,
                })
            };
        }
        let commit = match self.local_dir_commit(&job) {
            Ok(commit) => commit,
            Err(e) if cache_may_answer(&e) && local.root.is_dir() => {
                tracing::warn!(
                    "the Hub cannot be reached ({e}): {} is used as it is",
                    local.root.display()
                );
                return Ok(local.root);
            }
            Err(e) => return Err(e),
        };
        local.prepare()?;
        let tree = local_tree(self, &local, &job, &commit, true)?;
        // Files with the same bytes are fetched once.
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (path, file) in tree.files.iter().filter(|(p, _)| filter.matches(p)) {
            groups.entry(file.etag()).or_default().push(path);
        }
        let groups: Vec<(&CachedFile, Vec<&str>)> = groups
            .into_values()
            .map(|paths| (&tree.files[paths[0]], paths))
            .collect();
        let staging = Job {
            client: job.client.clone(),
            repo: job.repo,
            cache: local.cache(),
            revision: commit.clone(),
            options: job.options,
        };
        let count = groups.iter().map(|(_, paths)| paths.len() as u64).sum();
        let progress = Progress::files(self.settings(), count, &repo.id.to_string());
        let done =
            crate::transport::parallel::try_map(&groups, self.settings().max_workers, |(file, paths)| {
                let meta = FileMeta {
                    commit: commit.clone(),
                    etag: file.etag().to_owned(),
                    size: Some(file.lfs_size.unwrap_or(file.size)),
                    url: self.resolve_url(&repo.id, &commit, paths[0]),
                    ranges: true,
                };
                local.update(&staging, &job.cache, &meta, paths)?;
                progress.inc(paths.len() as u64);
                Ok(())
            });
        progress.finish();
        done?;
        Ok(local.root)
    }

    /// Downloads one file of a repository into the plain folder `local_dir` (at
    /// `local_dir/<path>`, skipped when already there, see the [module](self)) and returns its
    /// path (absolute).
    ///
    /// Offline, or when the Hub cannot be reached, a file already there is returned as it is;
    /// none is [`HubError::NotCached`].
    pub fn hub_download_to_local_dir(
        &self,
        repo: impl IntoRepoRef,
        path: &str,
        local_dir: impl AsRef<Path>,
        options: &DownloadOptions,
    ) -> Result<PathBuf, HubError> {
        let repo = repo.into_repo_ref()?;
        validate_path(path)?;
        let job = Job::new(self, &repo, options)?;
        let local = LocalDir::new(local_dir.as_ref())?;
        let dest = local.file(path)?;
        if is_commit_id(&job.revision)
            && !options.force_download
            && local
                .read_metadata(path)?
                .is_some_and(|r| r.commit.eq_ignore_ascii_case(&job.revision))
        {
            return Ok(dest);
        }
        let offline = |why: &'static str| {
            if dest.is_file() {
                Ok(dest.clone())
            } else {
                Err(HubError::NotCached {
                    repo: repo.id.to_string(),
                    revision: job.revision.clone(),
                    what: path.to_owned(),
                    why,
                })
            }
        };
        if let Some(why) = job.offline_reason() {
            return offline(why);
        }
        let meta = match job.metadata(path, false) {
            Ok(meta) => meta,
            Err(e) if cache_may_answer(&e) && dest.is_file() && !options.force_download => {
                tracing::warn!("the Hub cannot be reached ({e}): the local {path} is used as it is");
                return Ok(dest);
            }
            Err(HubError::Network { .. } | HubError::Http { .. }) => job.metadata(path, true)?,
            Err(e) => return Err(e),
        };
        local.prepare()?;
        let staging = Job {
            client: job.client.clone(),
            repo: job.repo,
            cache: local.cache(),
            revision: meta.commit.clone(),
            options,
        };
        local.update(&staging, &job.cache, &meta, &[path])?;
        Ok(dest)
    }

    /// The commit of `job`'s revision, asked of the Hub (online; the shared cache is not
    /// written).
    fn local_dir_commit(&self, job: &Job<'_>) -> Result<String, HubError> {
        if is_commit_id(&job.revision) {
            return Ok(job.revision.to_ascii_lowercase());
        }
        let info = self.repo_info_at(&job.repo.id, Some(&job.revision))?;
        info.sha
            .filter(|s| is_commit_id(s))
            .ok_or_else(|| HubError::InvalidResponse {
                url: self.settings().endpoint.clone(),
                reason: "the revision answer has no commit sha".into(),
            })
    }
}

/// The tree of `commit`: from the local folder's listing, the shared cache's, or the Hub (then
/// kept in the local folder when `keep`).
fn local_tree(
    client: &HubClient,
    local: &LocalDir,
    job: &Job<'_>,
    commit: &str,
    keep: bool,
) -> Result<CachedTree, HubError> {
    if let Some(tree) = local.cache().read_tree(commit)? {
        return Ok(tree);
    }
    let tree = match job.cache.read_tree(commit)? {
        Some(tree) => tree,
        None => client.fetch_tree(&job.repo.id, commit)?,
    };
    if keep {
        local.cache().write_tree(commit, &tree)?;
    }
    Ok(tree)
}

/// Whether `path` in the local folder `dir` is recorded as downloaded from `commit` (a valid
/// record, see [`read_metadata`]): what a dry run counts as present.
pub(super) fn is_current(dir: &Path, path: &str, commit: &str, etag: &str) -> Result<bool, HubError> {
    let local = LocalDir::new(dir)?;
    Ok(matches!(
        local.read_metadata(path)?,
        Some(r) if r.commit == commit || r.etag == etag
    ) && local.file(path)?.is_file())
}

/// The tree of `commit` as a local-folder download would use it (for dry runs: nothing is
/// written).
pub(super) fn tree_for(
    client: &HubClient,
    dir: &Path,
    job: &Job<'_>,
    commit: &str,
) -> Result<CachedTree, HubError> {
    local_tree(client, &LocalDir::new(dir)?, job, commit, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "4ceb14a7c61b2c3a3320f4850ad9c7f57c4b378f";

    #[test]
    fn records_are_valid_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalDir::new(dir.path()).unwrap();
        fs::write(dir.path().join("a.txt"), b"hello\n").unwrap();
        assert_eq!(local.read_metadata("a.txt").unwrap(), None);
        let sha1 = "ce013625030ba8dba906f756967f9e9ca394464a";
        // No record: the bytes are checked.
        assert_eq!(local.state("a.txt", C, sha1, 6, true).unwrap(), Local::Record);
        assert_eq!(local.state("a.txt", C, sha1, 6, false).unwrap(), Local::Fetch);
        assert_eq!(
            local.state("a.txt", C, &"0".repeat(40), 6, true).unwrap(),
            Local::Fetch
        );
        local.write_metadata("a.txt", C, sha1).unwrap();
        let text = fs::read_to_string(dir.path().join(".cache/huggingface/download/a.txt.metadata")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(&lines[..2], [C, sha1]);
        assert!(lines[2].parse::<f64>().unwrap() > 1.7e9, "{text}");
        assert_eq!(local.state("a.txt", C, sha1, 6, true).unwrap(), Local::Current);
        assert_eq!(
            local.state("a.txt", &"1".repeat(40), sha1, 6, true).unwrap(),
            Local::Record
        );
        // A file changed after its record: the record no longer counts.
        let file = File::options()
            .write(true)
            .open(dir.path().join("a.txt"))
            .unwrap();
        file.set_modified(SystemTime::now() + std::time::Duration::from_secs(60))
            .unwrap();
        assert_eq!(local.read_metadata("a.txt").unwrap(), None);
        // An unreadable record is removed.
        let record = dir.path().join(".cache/huggingface/download/a.txt.metadata");
        fs::write(&record, "junk").unwrap();
        assert_eq!(local.read_metadata("a.txt").unwrap(), None);
        assert!(!record.exists());
        assert!(local.file("../x").is_err());
    }
}
