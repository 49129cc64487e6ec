//! The download cache, byte-compatible with `huggingface_hub` 2.x (`hub-protocol.md` §6.1):
//!
//! ```text
//! <cache>/CACHEDIR.TAG
//! <cache>/.locks/models--alice--mlp/<etag>.lock
//! <cache>/models--alice--mlp/blobs/<etag>                      sha256 (LFS) or git sha1
//! <cache>/models--alice--mlp/refs/<revision>                   40-hex commit, no newline
//! <cache>/models--alice--mlp/snapshots/<commit>/<path>         relative symlink to the blob
//! <cache>/models--alice--mlp/.no_exist/<commit>/<path>         empty: absent at that commit
//! <cache>/models--alice--mlp/trees/<commit>.json               the tree listing of a commit
//! ```
//!
//! Every path that comes from a server is checked before it touches the disk, so a listing
//! cannot make hubmix write outside the repository's folder.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use hubmix_protocol::path::validate_path;

use crate::error::HubError;
use crate::files::open_no_follow;
use crate::repo::{RepoId, is_commit_id};

/// The content of `CACHEDIR.TAG` (the signature is fixed by the Cache Directory Tagging spec).
const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by hubmix (huggingface_hub-compatible).\n\
# For information about cache directory tags, see: https://bford.info/cachedir/\n";

/// Checks that an ETag can name a blob file.
fn validate_etag(etag: &str) -> Result<(), HubError> {
    if etag.is_empty()
        || etag.len() > 128
        || !etag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(HubError::InvalidResponse {
            url: String::new(),
            reason: format!("ETag {etag:?} cannot name a cache file"),
        });
    }
    Ok(())
}

/// One repository's folder in the cache.
#[derive(Debug, Clone)]
pub(crate) struct RepoCache {
    cache_dir: PathBuf,
    root: PathBuf,
    locks: PathBuf,
}

/// A file of a cached tree listing (`trees/<commit>.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct CachedFile {
    pub size: u64,
    pub blob_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lfs_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lfs_size: Option<u64>,
}

impl CachedFile {
    /// The blob name of this file in the cache.
    pub(crate) fn etag(&self) -> &str {
        self.lfs_sha256.as_deref().unwrap_or(&self.blob_id)
    }
}

/// `trees/<commit>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CachedTree {
    pub format_version: u32,
    pub files: BTreeMap<String, CachedFile>,
}

/// An exclusive lock on one blob, released on drop (or when the process dies).
#[derive(Debug)]
pub(crate) struct BlobLock {
    _file: File,
}

impl RepoCache {
    pub(crate) fn new(cache_dir: &Path, repo: &RepoId) -> Self {
        let folder = repo.cache_folder();
        RepoCache {
            cache_dir: cache_dir.to_owned(),
            root: cache_dir.join(&folder),
            locks: cache_dir.join(".locks").join(folder),
        }
    }

    /// A cache whose repository folder is `root` itself (`blobs/`, `trees/`, `.locks/` and
    /// `CACHEDIR.TAG` directly inside): the bookkeeping folder of a local-dir download.
    pub(crate) fn at(root: &Path) -> Self {
        RepoCache {
            cache_dir: root.to_owned(),
            root: root.to_owned(),
            locks: root.join(".locks"),
        }
    }

    /// `blobs/<etag>`.
    pub(crate) fn blob_path(&self, etag: &str) -> Result<PathBuf, HubError> {
        validate_etag(etag)?;
        Ok(self.root.join("blobs").join(etag))
    }

    /// `blobs/<etag>.incomplete`: a download in progress, resumable by whoever holds the lock.
    pub(crate) fn incomplete_path(&self, etag: &str) -> Result<PathBuf, HubError> {
        validate_etag(etag)?;
        Ok(self.root.join("blobs").join(format!("{etag}.incomplete")))
    }

    /// `snapshots/<commit>`.
    pub(crate) fn snapshot_dir(&self, commit: &str) -> Result<PathBuf, HubError> {
        check_commit(commit)?;
        Ok(self.root.join("snapshots").join(commit))
    }

    /// `snapshots/<commit>/<path>`.
    pub(crate) fn snapshot_path(&self, commit: &str, path: &str) -> Result<PathBuf, HubError> {
        validate_path(path)?;
        Ok(self.snapshot_dir(commit)?.join(path))
    }

    /// The commit `revision` names in the cache: itself if it is a commit id, else `refs/<revision>`.
    pub(crate) fn commit_for(&self, revision: &str) -> Result<Option<String>, HubError> {
        if is_commit_id(revision) {
            return Ok(Some(revision.to_ascii_lowercase()));
        }
        validate_path(revision).map_err(|_| HubError::InvalidRevision {
            revision: revision.to_owned(),
            reason: "cannot be stored as a ref in the cache".into(),
        })?;
        let path = self.root.join("refs").join(revision);
        match fs::read_to_string(&path) {
            Ok(s) if is_commit_id(s.trim()) => Ok(Some(s.trim().to_owned())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Ok(None),
            Err(e) => Err(HubError::io("reading", path)(e)),
        }
    }

    /// Records `refs/<revision>` = `commit` (atomically, only when it changed; never for a
    /// revision that is itself a commit id).
    pub(crate) fn write_ref(&self, revision: &str, commit: &str) -> Result<(), HubError> {
        check_commit(commit)?;
        if is_commit_id(revision) || self.commit_for(revision)?.as_deref() == Some(commit) {
            return Ok(());
        }
        let path = self.root.join("refs").join(revision);
        crate::files::write_atomic(&path, commit.as_bytes())
    }

    /// Points `snapshots/<commit>/<path>` at `blobs/<etag>` with a relative symlink.
    pub(crate) fn link(&self, commit: &str, path: &str, etag: &str) -> Result<PathBuf, HubError> {
        let link = self.snapshot_path(commit, path)?;
        let blob = self.blob_path(etag)?;
        let parent = link.parent().expect("snapshot paths have a parent");
        fs::create_dir_all(parent).map_err(HubError::io("creating", parent))?;
        // From snapshots/<commit>/<a/b/c> up to the repository folder: 2 + depth levels.
        let depth = path.matches('/').count() + 2;
        let mut target = PathBuf::new();
        for _ in 0..depth {
            target.push("..");
        }
        target.push("blobs");
        target.push(blob.file_name().expect("blob paths have a name"));
        let temp = parent.join(format!(
            ".{}.{}.tmp",
            link.file_name().and_then(|n| n.to_str()).unwrap_or("link"),
            crate::files::random_suffix()
        ));
        make_link(&target, &blob, &temp)?;
        fs::rename(&temp, &link).map_err(|e| {
            let _ = fs::remove_file(&temp);
            HubError::io("linking", &link)(e)
        })?;
        Ok(link)
    }

    /// `.no_exist/<commit>/<path>`: the file is known to be absent at that commit.
    pub(crate) fn no_exist_path(&self, commit: &str, path: &str) -> Result<PathBuf, HubError> {
        check_commit(commit)?;
        validate_path(path)?;
        Ok(self.root.join(".no_exist").join(commit).join(path))
    }

    /// Records that `path` does not exist at `commit`.
    pub(crate) fn mark_missing(&self, commit: &str, path: &str) -> Result<(), HubError> {
        let marker = self.no_exist_path(commit, path)?;
        let parent = marker.parent().expect("marker paths have a parent");
        fs::create_dir_all(parent).map_err(HubError::io("creating", parent))?;
        open_no_follow(File::options().create(true).write(true).truncate(true), &marker)
            .map_err(HubError::io("creating", &marker))?;
        Ok(())
    }

    /// Takes the lock of blob `etag`, waiting for another process that holds it.
    pub(crate) fn lock(&self, etag: &str) -> Result<BlobLock, HubError> {
        validate_etag(etag)?;
        fs::create_dir_all(&self.locks).map_err(HubError::io("creating", &self.locks))?;
        self.ensure_tag()?;
        let path = self.locks.join(format!("{etag}.lock"));
        let file = open_no_follow(File::options().create(true).truncate(false).write(true), &path)
            .map_err(HubError::io("opening", &path))?;
        file.lock().map_err(HubError::io("locking", &path))?;
        Ok(BlobLock { _file: file })
    }

    /// The cached tree listing of `commit`.
    pub(crate) fn read_tree(&self, commit: &str) -> Result<Option<CachedTree>, HubError> {
        check_commit(commit)?;
        let path = self.root.join("trees").join(format!("{commit}.json"));
        match fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(HubError::io("reading", path)(e)),
        }
    }

    /// Caches the tree listing of `commit`.
    pub(crate) fn write_tree(&self, commit: &str, tree: &CachedTree) -> Result<(), HubError> {
        check_commit(commit)?;
        let path = self.root.join("trees").join(format!("{commit}.json"));
        crate::files::write_atomic(&path, &serde_json::to_vec(tree).expect("trees serialize"))
    }

    /// Writes `CACHEDIR.TAG` at the cache root if it is missing.
    fn ensure_tag(&self) -> Result<(), HubError> {
        let tag = self.cache_dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            crate::files::write_atomic(&tag, CACHEDIR_TAG.as_bytes())?;
        }
        Ok(())
    }
}

fn check_commit(commit: &str) -> Result<(), HubError> {
    if is_commit_id(commit) {
        Ok(())
    } else {
        Err(HubError::InvalidResponse {
            url: String::new(),
            reason: format!("{commit:?} is not a 40-hex commit id"),
        })
    }
}

#[cfg(unix)]
fn make_link(target: &Path, _blob: &Path, at: &Path) -> Result<(), HubError> {
    std::os::unix::fs::symlink(target, at).map_err(HubError::io("linking", at))
}

#[cfg(not(unix))]
fn make_link(_target: &Path, blob: &Path, at: &Path) -> Result<(), HubError> {
    // Without symlinks the blob is copied into the snapshot, as huggingface_hub does.
    fs::copy(blob, at)
        .map(|_| ())
        .map_err(HubError::io("copying", at))
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "4ceb14a7c61b2c3a3320f4850ad9c7f57c4b378f";

    #[test]
    fn layout_matches_huggingface_hub() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RepoCache::new(dir.path(), &RepoId::new("alice/mlp").unwrap());
        let blob = cache.blob_path("abc123").unwrap();
        assert_eq!(blob, dir.path().join("models--alice--mlp/blobs/abc123"));
        fs::create_dir_all(blob.parent().unwrap()).unwrap();
        fs::write(&blob, b"x").unwrap();
        let link = cache.link(C, "a/b/c.txt", "abc123").unwrap();
        assert_eq!(
            fs::read_link(&link).unwrap(),
            PathBuf::from("../../../../blobs/abc123")
        );
        assert_eq!(fs::read(&link).unwrap(), b"x");
        cache.write_ref("feature/x", C).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("models--alice--mlp/refs/feature/x")).unwrap(),
            C
        );
        assert_eq!(cache.commit_for("feature/x").unwrap().as_deref(), Some(C));
        cache.write_ref(C, C).unwrap();
        assert!(!dir.path().join("models--alice--mlp/refs").join(C).exists());
        let _lock = cache.lock("abc123").unwrap();
        assert!(dir.path().join(".locks/models--alice--mlp/abc123.lock").exists());
        assert!(
            fs::read_to_string(dir.path().join("CACHEDIR.TAG"))
                .unwrap()
                .starts_with("Signature: 8a477f597d28d172789f06886806bc55")
        );
    }

    #[test]
    fn refuses_paths_that_escape() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RepoCache::new(dir.path(), &RepoId::new("alice/mlp").unwrap());
        for bad in ["../x", "a/../../x", "/etc/passwd", "a\\b", "", "a//b", "./a"] {
            assert!(
                matches!(cache.snapshot_path(C, bad), Err(HubError::InvalidPath { .. })),
                "{bad:?}"
            );
        }
        assert!(cache.blob_path("../../x").is_err());
        assert!(cache.snapshot_dir("../x").is_err());
        assert!(cache.commit_for("../../etc").is_err());
    }
}
