//! Garbage collection: removes the blobs that nothing uses any more — contents of commits that
//! failed after their inline files were stored, of deleted repositories, LFS objects uploaded but
//! never committed — and the part folders of abandoned multipart uploads.
//!
//! A blob is in use when a tree item names it, when an LFS upload of it is younger than the grace
//! period, or when the blob file itself was modified within it (written, or stored again by an
//! upload of the same content: see [`super::blobs`]). Collection runs beside a serving server:
//!
//! 1. From a read snapshot of the database, it lists the blobs that are not in use, merging the
//!    sorted names the trees use with the sorted blob files (memory: one fan-out folder's names).
//! 2. Under the database's write lock (an `IMMEDIATE` transaction, which every commit takes too),
//!    it looks again at each candidate — trees written since the snapshot (their ids are larger:
//!    `AUTOINCREMENT`), recent LFS uploads, the file's time — and deletes it.
//!
//! A commit checks, under the same lock, that every blob it names exists. So a commit that
//! reuses a blob either comes first (and the blob is in use in step 2) or finds it gone and
//! answers "upload it again": never a commit that names a missing blob.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::blobs::idle_for;
use super::{Store, StoreError, StoreResult};
use crate::config::ServerConfig;
use crate::time;

/// Default grace period: unused blobs, LFS uploads and multipart parts younger than this are kept
/// (24 hours).
pub const DEFAULT_GC_GRACE: Duration = Duration::from_secs(24 * 3600);
/// Default interval of a server's garbage collection (one hour).
pub const DEFAULT_GC_INTERVAL: Duration = Duration::from_secs(3600);

/// How garbage collection runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcOptions {
    /// Report what would be removed, and remove nothing.
    pub dry_run: bool,
    /// Blobs, LFS uploads and multipart parts younger than this are kept even when nothing uses
    /// them: a commit may be about to. Default [`DEFAULT_GC_GRACE`].
    pub grace: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            dry_run: false,
            grace: DEFAULT_GC_GRACE,
        }
    }
}

/// A blob garbage collection removed (or would remove, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedBlob {
    /// Its SHA-256, its name in the blob store.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
}

/// What a garbage collection removed (or would remove, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Whether this was a dry run, which removed nothing.
    pub dry_run: bool,
    /// The blobs, by name.
    pub blobs: Vec<RemovedBlob>,
    /// Their total size.
    pub bytes_freed: u64,
    /// Records of LFS uploads whose object went with its blob.
    pub lfs_uploads: usize,
    /// The part folders of abandoned multipart uploads.
    pub part_folders: Vec<PathBuf>,
}

impl fmt::Display for GcReport {
    /// One line per removal, then a summary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would remove" } else { "removed" };
        for blob in &self.blobs {
            writeln!(f, "{verb} blob {} ({} bytes)", blob.sha256, blob.bytes)?;
        }
        for folder in &self.part_folders {
            writeln!(f, "{verb} abandoned upload parts {}", folder.display())?;
        }
        write!(
            f,
            "{verb} {} blobs, {} bytes, and {} abandoned multipart uploads",
            self.blobs.len(),
            self.bytes_freed,
            self.part_folders.len()
        )
    }
}

/// Why garbage collection stopped.
#[derive(Debug, thiserror::Error)]
#[error("garbage collection under {}: {source}", root.display())]
pub struct GcError {
    root: PathBuf,
    source: StoreError,
}

/// Collects the garbage of the hub whose data folder is `root` (see the module
/// documentation). Safe while a server serves `root`, in this process or another.
pub fn collect_garbage(root: &Path, options: &GcOptions) -> Result<GcReport, GcError> {
    let run = || Store::open_shared(root)?.collect_garbage(options);
    run().map_err(|source| GcError {
        root: root.to_owned(),
        source,
    })
}

/// Runs garbage collection every [`ServerConfig::gc_interval`] (never if zero) with its grace
/// period, for as long as the server runs; a failure is logged and tried again next time.
pub(crate) fn run_periodically(config: &ServerConfig) -> impl Future<Output = ()> + Send + 'static {
    let (root, interval) = (config.root.clone(), config.gc_interval);
    let options = GcOptions {
        dry_run: false,
        grace: config.gc_grace,
    };
    async move {
        if interval.is_zero() {
            return;
        }
        loop {
            tokio::time::sleep(interval).await;
            let (root, options) = (root.clone(), options.clone());
            match tokio::task::spawn_blocking(move || collect_garbage(&root, &options)).await {
                Ok(Ok(report)) if report.blobs.is_empty() && report.part_folders.is_empty() => {}
                Ok(Ok(report)) => tracing::info!(
                    "garbage collection removed {} blobs ({} bytes) and {} abandoned multipart uploads",
                    report.blobs.len(),
                    report.bytes_freed,
                    report.part_folders.len()
                ),
                Ok(Err(e)) => tracing::warn!("{e}"),
                Err(e) => tracing::warn!("garbage collection task failed: {e}"),
            }
        }
    }
}

/// What step 1 found: the candidates, and what step 2 needs to look again.
#[derive(Debug)]
struct Unused {
    /// Blobs (name, size) that nothing used in the snapshot, idle for the grace period.
    blobs: Vec<(String, u64)>,
    /// The largest tree id in the snapshot.
    newest_tree: i64,
    /// LFS uploads after this time (seconds since the epoch) are in use.
    cutoff: i64,
}

impl Store {
    /// See [`collect_garbage`].
    fn collect_garbage(&self, options: &GcOptions) -> StoreResult<GcReport> {
        let unused = self.unused_blobs(options.grace)?;
        let mut report = self.remove_unused(unused, options)?;
        report.part_folders = self.blobs.abandoned_parts(options.grace)?;
        if !options.dry_run {
            for folder in &report.part_folders {
                match fs::remove_dir_all(folder) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        Ok(report)
    }

    /// Step 1, from one read snapshot: the blobs that nothing used then and that are idle for
    /// `grace`.
    fn unused_blobs(&self, grace: Duration) -> StoreResult<Unused> {
        let cutoff = time::unix_now().saturating_sub(grace.as_secs()) as i64;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let newest_tree: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) FROM trees", [], |r| r.get(0))?;
        let mut stmt = tx.prepare(
            "SELECT sha256 FROM tree_items WHERE sha256 IS NOT NULL
             UNION SELECT oid FROM lfs_objects WHERE uploaded_at > ?1
             ORDER BY 1",
        )?;
        let mut used = stmt.query(params![cutoff])?;
        let mut next_used: Option<String> = used.next()?.map(|r| r.get(0)).transpose()?;
        let mut blobs = Vec::new();
        for name in self.blobs.names()? {
            let name = name?;
            while next_used.as_ref().is_some_and(|u| *u < name) {
                next_used = used.next()?.map(|r| r.get(0)).transpose()?;
            }
            if next_used.as_ref() == Some(&name) {
                continue;
            }
            match fs::metadata(self.blobs.path(&name)) {
                Ok(meta) if idle_for(&meta) >= grace => blobs.push((name, meta.len())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Unused {
            blobs,
            newest_tree,
            cutoff,
        })
    }

    /// Step 2, under the write lock: removes each candidate that is still unused (not named
    /// by a tree written since, not uploaded since, not stored again since), and forgets the
    /// LFS uploads of what it removes. The lock is taken for [`REMOVE_BATCH`] candidates at a
    /// time, so that commits wait for a batch at most.
    fn remove_unused(&self, unused: Unused, options: &GcOptions) -> StoreResult<GcReport> {
        let mut report = GcReport {
            dry_run: options.dry_run,
            ..GcReport::default()
        };
        for batch in unused.blobs.chunks(REMOVE_BATCH) {
            self.remove_batch(batch, &unused, options, &mut report)?;
        }
        Ok(report)
    }

    /// [`remove_unused`](Self::remove_unused) for one batch of candidates, in one transaction.
    fn remove_batch(
        &self,
        batch: &[(String, u64)],
        unused: &Unused,
        options: &GcOptions,
        report: &mut GcReport,
    ) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut used_since: HashSet<String> = HashSet::new();
        {
            let mut stmt =
                tx.prepare("SELECT sha256 FROM tree_items WHERE tree > ?1 AND sha256 IS NOT NULL")?;
            let mut rows = stmt.query(params![unused.newest_tree])?;
            while let Some(row) = rows.next()? {
                used_since.insert(row.get(0)?);
            }
        }
        let mut uploaded =
            tx.prepare("SELECT 1 FROM lfs_objects WHERE oid = ?1 AND uploaded_at > ?2 LIMIT 1")?;
        let mut forget = tx.prepare("DELETE FROM lfs_objects WHERE oid = ?1")?;
        for (sha256, bytes) in batch {
            if used_since.contains(sha256)
                || uploaded
                    .query_row(params![sha256, unused.cutoff], |_| Ok(()))
                    .optional()?
                    .is_some()
            {
                continue;
            }
            let path = self.blobs.path(sha256);
            match fs::metadata(&path) {
                Ok(meta) if idle_for(&meta) >= options.grace => {}
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
            if !options.dry_run {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            report.lfs_uploads += forget.execute(params![sha256])?;
            report.bytes_freed += bytes;
            report.blobs.push(RemovedBlob {
                sha256: sha256.clone(),
                bytes: *bytes,
            });
        }
        drop((uploaded, forget));
        if options.dry_run {
            tx.rollback()?;
        } else {
            tx.commit()?;
        }
        Ok(())
    }
}

/// Candidates looked at again and removed under one hold of the write lock, at most.
const REMOVE_BATCH: usize = 1000;

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::time::SystemTime;

    use super::*;
    use crate::storage::test_store as store;
    use crate::storage::{CommitTarget, Entry, FileOp, NewCommit, RepoRow};

    const HOUR: Duration = Duration::from_secs(3600);

    /// Stores `content` as a blob last touched two hours ago; returns its name.
    fn old_blob(store: &Store, content: &[u8]) -> String {
        let sha = store.blobs.put_bytes(content).unwrap();
        let file = File::open(store.blobs.path(&sha)).unwrap();
        file.set_modified(SystemTime::now() - 2 * HOUR).unwrap();
        sha
    }

    /// Commits `path` with `content`, whose blob `sha` the store has (or had).
    fn commit(store: &Store, repo: &RepoRow, path: &str, content: &[u8], sha: &str) -> StoreResult<String> {
        let new = NewCommit {
            author: "alice".into(),
            title: "add".into(),
            message: String::new(),
            parent_commit: None,
            ops: vec![FileOp::Add(Entry::regular(path.into(), content, sha.into()))],
        };
        let target = CommitTarget::Branch("main".into());
        store.commit(repo, target, &new).map(|o| o.oid)
    }

    fn names(report: &GcReport) -> Vec<&str> {
        report.blobs.iter().map(|b| b.sha256.as_str()).collect()
    }

    #[test]
    fn a_blob_used_while_collection_looks_is_kept() {
        let (_dir, store, repo) = store();
        let options = GcOptions {
            dry_run: false,
            grace: HOUR,
        };

        // Step 1 finds the blob unused; a commit uses it (without storing it again, so its time
        // stays old); step 2 keeps it, because a tree written since names it.
        let reused = old_blob(&store, b"reused");
        let unused = store.unused_blobs(options.grace).unwrap();
        assert!(unused.blobs.iter().any(|(s, _)| *s == reused));
        let head = commit(&store, &repo, "reused.txt", b"reused", &reused).unwrap();
        let report = store.remove_unused(unused, &options).unwrap();
        assert!(report.blobs.is_empty(), "{report:?}");
        assert!(store.blobs.exists(&reused));
        assert_eq!(store.entry(&head, "reused.txt").unwrap().unwrap().sha256, reused);

        // Stored again (an upload of the same content) between the steps: kept.
        let again = old_blob(&store, b"again");
        let unused = store.unused_blobs(options.grace).unwrap();
        store.blobs.put_bytes(b"again").unwrap();
        assert!(store.remove_unused(unused, &options).unwrap().blobs.is_empty());
        assert!(store.blobs.exists(&again));

        // Collected first: the commit that names it afterwards fails and asks for it again,
        // and the branch stays where it was.
        let late = old_blob(&store, b"late");
        let unused = store.unused_blobs(options.grace).unwrap();
        assert_eq!(
            names(&store.remove_unused(unused, &options).unwrap()),
            [late.as_str()]
        );
        match commit(&store, &repo, "late.txt", b"late", &late) {
            Err(StoreError::Invalid(message)) => assert!(message.contains("upload it again"), "{message}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(store.resolve(&repo, "main").unwrap(), head);
    }

    #[test]
    fn young_blobs_are_kept_for_the_grace_period() {
        let (_dir, store, _repo) = store();
        let young = store.blobs.put_bytes(b"young").unwrap();
        let old = old_blob(&store, b"old");
        let report = store
            .collect_garbage(&GcOptions {
                dry_run: false,
                grace: HOUR,
            })
            .unwrap();
        assert_eq!(names(&report), [old.as_str()]);
        assert_eq!(report.bytes_freed, 3);
        assert!(store.blobs.exists(&young) && !store.blobs.exists(&old));
    }
}
