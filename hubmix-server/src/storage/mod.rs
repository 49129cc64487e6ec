//! Storage: repositories, their history and file contents.
//!
//! [`Store`] is the small interface the HTTP handlers use. Metadata (repositories, commits and
//! their git trees, refs, LFS objects, discussions) lives in SQLite; file contents live in the
//! [`BlobStore`]. Methods are synchronous: handlers call them on the blocking pool.
//! [`gc`] removes the blobs nothing uses any more.

mod blobs;
mod commits;
mod discussions;
pub(crate) mod gc;
mod migrate;
mod multipart;
mod refs;
mod repos;
mod schema;
mod trees;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

pub(crate) use blobs::{BlobStore, Sink, TempBlob};
pub(crate) use commits::{CommitRow, CommitTarget, FileOp, NewCommit};
pub(crate) use discussions::Discussion;
pub(crate) use multipart::CompleteError;
pub(crate) use refs::{RefKind, parse_full_ref};
pub(crate) use repos::{Gate, RepoOrder, RepoRow};
pub(crate) use trees::TreeItem;

use crate::hashing;

/// What can go wrong in storage, in terms the API layer maps to answers.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("repository not found")]
    RepoNotFound,
    #[error("repository exists")]
    RepoExists,
    #[error("revision not found: {0}")]
    RevisionNotFound(String),
    #[error("{0} already exists")]
    RefExists(String),
    #[error("no such file: {0}")]
    DeletedEntryNotFound(String),
    #[error("parent commit {expected} is not the head {head}")]
    ParentMismatch { expected: String, head: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// A file in a commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub path: String,
    pub size: u64,
    /// SHA-256 of the content: the blob's name in the store, and the LFS oid.
    pub sha256: String,
    /// The git object id: the blob sha1 of the content, or of the LFS pointer.
    pub git_oid: String,
    pub lfs: bool,
}

impl Entry {
    /// A regular (git-stored) file.
    pub(crate) fn regular(path: String, content: &[u8], sha256: String) -> Self {
        Entry {
            path,
            size: content.len() as u64,
            sha256,
            git_oid: hashing::git_blob_sha1(content),
            lfs: false,
        }
    }

    /// An LFS file.
    pub(crate) fn lfs(path: String, sha256: String, size: u64) -> Self {
        let git_oid = hashing::lfs_git_oid(&sha256, size);
        Entry {
            path,
            size,
            sha256,
            git_oid,
            lfs: true,
        }
    }

    /// The identity the client caches under: sha256 for LFS files, the git blob id otherwise.
    pub(crate) fn etag(&self) -> &str {
        if self.lfs { &self.sha256 } else { &self.git_oid }
    }
}

/// The database's file name under the root.
const DATABASE: &str = "hub.sqlite3";

/// The metadata database and the blob store.
#[derive(Debug)]
pub(crate) struct Store {
    db: Mutex<Connection>,
    pub blobs: BlobStore,
}

impl Store {
    /// Opens (creating, or converting from an older schema) the store under `root`, and removes
    /// what a crash left in its temporary area: only the one server that serves `root` may open
    /// it so.
    pub(crate) fn open(root: &Path) -> StoreResult<Self> {
        let store = Self::open_shared(root)?;
        store.blobs.clear_temp()?;
        Ok(store)
    }

    /// Opens the store under `root` beside a server that may be serving it (garbage
    /// collection): its temporary area is left alone.
    fn open_shared(root: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(root)?;
        let blobs = BlobStore::open(root)?;
        let conn = schema::open(&root.join(DATABASE))?;
        Ok(Store {
            db: Mutex::new(conn),
            blobs,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-applied change: every change is a
        // transaction that rolls back when dropped. So a poisoned lock is safe to take.
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Random bytes as hex, for ids.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    hex::encode(buf)
}

/// A store in a temporary folder with one repository, `alice/demo`, for the storage tests.
#[cfg(test)]
fn test_store() -> (tempfile::TempDir, Store, RepoRow) {
    use crate::repo_id::{RepoId, RepoType};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id = RepoId::new(RepoType::Model, "alice", "demo").unwrap();
    let repo = store.create_repo(&id, false, "alice").unwrap();
    (dir, store, repo)
}
