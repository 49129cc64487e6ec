//! Commits: applying a change as one transaction, reading trees, walking history.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::discussions::insert_discussion;
use super::refs::{RefKind, ref_target, resolve_in};
use super::{Entry, RepoRow, Store, StoreError, StoreResult, entry_from_row, folder_range, random_hex};
use crate::failpoint::{self, Point};
use crate::{hashing, time};

/// Where a commit goes.
#[derive(Debug, Clone)]
pub(crate) enum CommitTarget {
    /// On top of an existing branch.
    Branch(String),
    /// On top of an existing pull request ref `refs/pr/N`.
    Pr(u64),
    /// A new pull request against the commit `base` resolves to.
    NewPr { base: String },
    /// A new branch with a root commit (a new repository's first commit).
    NewBranch(String),
}

/// One change to the tree.
#[derive(Debug, Clone)]
pub(crate) enum FileOp {
    /// Add or replace a file; its content is already in the blob store.
    Add(Entry),
    /// Delete a file, which must exist.
    Delete(String),
    /// Delete everything below a folder, which must hold something.
    DeleteFolder(String),
}

/// A commit to make.
#[derive(Debug, Clone)]
pub(crate) struct NewCommit {
    pub author: String,
    pub title: String,
    pub message: String,
    /// The commit the caller based its change on (5 to 40 hex digits); for a branch or PR
    /// target the head must still be this commit.
    pub parent_commit: Option<String>,
    pub ops: Vec<FileOp>,
}

/// A commit as stored.
#[derive(Debug, Clone)]
pub(crate) struct CommitRow {
    pub oid: String,
    pub parent: Option<String>,
    pub title: String,
    pub message: String,
    pub author: String,
    pub date: String,
}

/// What a commit produced: its id, and the pull request number when it opened one.
#[derive(Debug, Clone)]
pub(crate) struct CommitOutcome {
    pub oid: String,
    pub pr_num: Option<u64>,
}

/// Files the server reads for itself (the card, the `.gitignore`) are not read above this size.
pub(super) const MAX_SMALL_TEXT: u64 = 1024 * 1024;

impl Store {
    /// Makes a commit, atomically: the tree rows, the commit and the ref move in one
    /// transaction, and the ref moves only if it still points where it did (compare-and-swap).
    pub(crate) fn commit(
        &self,
        repo: &RepoRow,
        target: CommitTarget,
        new: &NewCommit,
    ) -> StoreResult<CommitOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = Self::apply_commit(&tx, repo, target, new)?;
        tx.commit()?;
        Ok(outcome)
    }

    pub(super) fn apply_commit(
        tx: &Connection,
        repo: &RepoRow,
        target: CommitTarget,
        new: &NewCommit,
    ) -> StoreResult<CommitOutcome> {
        let expected = new.parent_commit.as_deref().map(str::to_ascii_lowercase);
        let head_of = |kind: RefKind, name: &str, shown: String| -> StoreResult<String> {
            let head = ref_target(tx, repo.key, kind, name)?.ok_or(StoreError::RevisionNotFound(shown))?;
            match &expected {
                Some(e) if !head.starts_with(e.as_str()) => Err(StoreError::ParentMismatch {
                    expected: e.clone(),
                    head,
                }),
                _ => Ok(head),
            }
        };
        let (parent, moved_ref) = match &target {
            CommitTarget::Branch(name) => {
                let head = head_of(RefKind::Branch, name, name.clone())?;
                (Some(head.clone()), Some((RefKind::Branch, name.clone(), head)))
            }
            CommitTarget::Pr(num) => {
                let name = num.to_string();
                let head = head_of(RefKind::Pr, &name, format!("refs/pr/{num}"))?;
                (Some(head.clone()), Some((RefKind::Pr, name, head)))
            }
            CommitTarget::NewPr { base } => {
                let from = expected.as_deref().unwrap_or(base);
                (Some(resolve_in(tx, repo.key, from)?), None)
            }
            CommitTarget::NewBranch(_) => (None, None),
        };

        let date = time::now_iso();
        let oid = hashing::sha1_hex(&[
            repo.key.to_string().as_bytes(),
            parent.as_deref().unwrap_or("").as_bytes(),
            date.as_bytes(),
            new.title.as_bytes(),
            random_hex(16).as_bytes(),
        ]);
        tx.execute(
            "INSERT INTO commits (oid, repo, parent, title, message, author, date)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![oid, repo.key, parent, new.title, new.message, new.author, date],
        )?;
        if let Some(parent) = &parent {
            tx.execute(
                "INSERT INTO entries (commit_oid, path, size, sha256, git_oid, lfs)
                 SELECT ?1, path, size, sha256, git_oid, lfs FROM entries WHERE commit_oid = ?2",
                params![oid, parent],
            )?;
        }
        for op in &new.ops {
            apply_op(tx, &oid, op)?;
        }
        failpoint::hit(Point::CommitBeforeRefUpdate);

        let pr_num = match (target, moved_ref) {
            (_, Some((kind, name, head))) => {
                let moved = tx.execute(
                    "UPDATE refs SET target = ?1 WHERE repo = ?2 AND kind = ?3 AND name = ?4 AND target = ?5",
                    params![oid, repo.key, kind.as_str(), name, head],
                )?;
                if moved != 1 {
                    let now = ref_target(tx, repo.key, kind, &name)?.unwrap_or_default();
                    return Err(StoreError::ParentMismatch {
                        expected: head,
                        head: now,
                    });
                }
                None
            }
            (CommitTarget::NewPr { base }, None) => {
                let is_branch = ref_target(tx, repo.key, RefKind::Branch, &base)?.is_some();
                let base_ref = if is_branch {
                    format!("refs/heads/{base}")
                } else {
                    base
                };
                let num = insert_discussion(
                    tx,
                    repo.key,
                    &new.title,
                    &new.message,
                    &new.author,
                    true,
                    &base_ref,
                )?;
                tx.execute(
                    "INSERT INTO refs (repo, kind, name, target) VALUES (?1, 'pr', ?2, ?3)",
                    params![repo.key, num.to_string(), oid],
                )?;
                Some(num)
            }
            (CommitTarget::NewBranch(name), None) => {
                tx.execute(
                    "INSERT INTO refs (repo, kind, name, target) VALUES (?1, 'branch', ?2, ?3)",
                    params![repo.key, name, oid],
                )?;
                None
            }
            _ => unreachable!("branch and PR targets always move a ref"),
        };
        Ok(CommitOutcome { oid, pr_num })
    }

    /// Every file of `commit`, sorted by path.
    pub(crate) fn entries(&self, commit: &str) -> StoreResult<Vec<Entry>> {
        self.entries_between(commit, "", "\u{10FFFF}")
    }

    /// Every file below `folder` in `commit`, sorted by path.
    pub(crate) fn entries_under(&self, commit: &str, folder: &str) -> StoreResult<Vec<Entry>> {
        let (lo, hi) = folder_range(folder);
        self.entries_between(commit, &lo, &hi)
    }

    fn entries_between(&self, commit: &str, lo: &str, hi: &str) -> StoreResult<Vec<Entry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT path, size, sha256, git_oid, lfs FROM entries
             WHERE commit_oid = ?1 AND path >= ?2 AND path < ?3 ORDER BY path",
        )?;
        let rows = stmt
            .query_map(params![commit, lo, hi], entry_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The file at `path` in `commit`.
    pub(crate) fn entry(&self, commit: &str, path: &str) -> StoreResult<Option<Entry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT path, size, sha256, git_oid, lfs FROM entries WHERE commit_oid = ?1 AND path = ?2",
        )?;
        Ok(stmt.query_row(params![commit, path], entry_from_row).optional()?)
    }

    /// The text of the small file at `path` in `commit` (the card, the `.gitignore`): `None`
    /// when it is absent, larger than [`MAX_SMALL_TEXT`], or not UTF-8.
    pub(crate) fn small_text(&self, commit: &str, path: &str) -> StoreResult<Option<String>> {
        Ok(self.entry(commit, path)?.and_then(|e| self.text_of(&e)))
    }

    /// The text of `entry` (see [`small_text`](Self::small_text)).
    pub(crate) fn text_of(&self, entry: &Entry) -> Option<String> {
        (entry.size <= MAX_SMALL_TEXT)
            .then(|| std::fs::read_to_string(self.blobs.path(&entry.sha256)).ok())
            .flatten()
    }

    /// The commit `oid`.
    pub(crate) fn commit_row(&self, oid: &str) -> StoreResult<Option<CommitRow>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT oid, parent, title, message, author, date FROM commits WHERE oid = ?1",
                params![oid],
                commit_from_row,
            )
            .optional()?)
    }

    /// History from `head` backwards (newest first): `limit` commits after skipping `offset`.
    pub(crate) fn log(&self, head: &str, offset: usize, limit: usize) -> StoreResult<Vec<CommitRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "WITH RECURSIVE chain(oid, depth) AS (
                 SELECT ?1, 0
                 UNION ALL
                 SELECT c.parent, chain.depth + 1 FROM commits c JOIN chain ON c.oid = chain.oid
                 WHERE c.parent IS NOT NULL
             )
             SELECT c.oid, c.parent, c.title, c.message, c.author, c.date
             FROM chain JOIN commits c ON c.oid = chain.oid
             ORDER BY chain.depth LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt
            .query_map(params![head, limit as i64, offset as i64], commit_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

fn commit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CommitRow> {
    Ok(CommitRow {
        oid: r.get(0)?,
        parent: r.get(1)?,
        title: r.get(2)?,
        message: r.get(3)?,
        author: r.get(4)?,
        date: r.get(5)?,
    })
}

/// Applies one operation to the tree of `commit` (being built inside the transaction).
fn apply_op(tx: &Connection, commit: &str, op: &FileOp) -> StoreResult<()> {
    match op {
        FileOp::Add(e) => {
            // A path cannot be both a file and a folder.
            let mut prefix = String::new();
            for segment in e
                .path
                .split('/')
                .collect::<Vec<_>>()
                .split_last()
                .map(|(_, init)| init)
                .unwrap_or(&[])
            {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(segment);
                if exists(tx, commit, &prefix)? {
                    return Err(StoreError::Invalid(format!(
                        "cannot add {}: {prefix} is a file",
                        e.path
                    )));
                }
            }
            let (lo, hi) = folder_range(&e.path);
            let is_folder: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM entries WHERE commit_oid = ?1 AND path >= ?2 AND path < ?3)",
                params![commit, lo, hi],
                |r| r.get(0),
            )?;
            if is_folder {
                return Err(StoreError::Invalid(format!(
                    "cannot add {}: it is a folder",
                    e.path
                )));
            }
            tx.execute(
                "INSERT OR REPLACE INTO entries (commit_oid, path, size, sha256, git_oid, lfs)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![commit, e.path, e.size as i64, e.sha256, e.git_oid, e.lfs],
            )?;
        }
        FileOp::Delete(path) => {
            let n = tx.execute(
                "DELETE FROM entries WHERE commit_oid = ?1 AND path = ?2",
                params![commit, path],
            )?;
            if n == 0 {
                return Err(StoreError::DeletedEntryNotFound(path.clone()));
            }
        }
        FileOp::DeleteFolder(folder) => {
            let (lo, hi) = folder_range(folder);
            let n = tx.execute(
                "DELETE FROM entries WHERE commit_oid = ?1 AND path >= ?2 AND path < ?3",
                params![commit, lo, hi],
            )?;
            if n == 0 {
                return Err(StoreError::DeletedEntryNotFound(folder.clone()));
            }
        }
    }
    Ok(())
}

fn exists(tx: &Connection, commit: &str, path: &str) -> StoreResult<bool> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM entries WHERE commit_oid = ?1 AND path = ?2)",
        params![commit, path],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo_id::{RepoId, RepoType};

    fn store() -> (tempfile::TempDir, Store, RepoRow) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = RepoId::new(RepoType::Model, "alice", "demo").unwrap();
        let repo = store.create_repo(&id, false, "alice").unwrap();
        (dir, store, repo)
    }

    fn add(store: &Store, path: &str, content: &[u8]) -> FileOp {
        let sha = store.blobs.put_bytes(content).unwrap();
        FileOp::Add(Entry::regular(path.into(), content, sha))
    }

    fn change(title: &str, parent: Option<&str>, ops: Vec<FileOp>) -> NewCommit {
        NewCommit {
            author: "alice".into(),
            title: title.into(),
            message: String::new(),
            parent_commit: parent.map(str::to_owned),
            ops,
        }
    }

    fn commit_count(store: &Store) -> i64 {
        store
            .conn()
            .query_row("SELECT COUNT(*) FROM commits", [], |r| r.get(0))
            .unwrap()
    }

    fn paths(store: &Store, commit: &str) -> Vec<String> {
        store
            .entries(commit)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn parent_commit_is_compared_and_swapped() {
        let (_dir, store, repo) = store();
        let main = || CommitTarget::Branch("main".into());
        let initial = store.resolve(&repo, "main").unwrap();
        let a = store
            .commit(
                &repo,
                main(),
                &change("a", Some(&initial), vec![add(&store, "a", b"a")]),
            )
            .unwrap();
        assert_eq!(store.resolve(&repo, "main").unwrap(), a.oid);

        // Based on the old head: refused, and nothing of it is stored.
        let stale = store.commit(
            &repo,
            main(),
            &change("b", Some(&initial), vec![add(&store, "b", b"b")]),
        );
        match stale {
            Err(StoreError::ParentMismatch { expected, head }) => {
                assert_eq!(expected, initial);
                assert_eq!(head, a.oid);
            }
            other => panic!("expected a parent mismatch, got {other:?}"),
        }
        assert_eq!(store.resolve(&repo, "main").unwrap(), a.oid);
        assert_eq!(commit_count(&store), 2);
        assert_eq!(paths(&store, &a.oid), [".gitattributes", "a"]);

        // A prefix of the head (any case) is the head; no parent at all builds on the head.
        let upper = a.oid[..10].to_ascii_uppercase();
        let b = store
            .commit(
                &repo,
                main(),
                &change("b", Some(&upper), vec![add(&store, "b", b"b")]),
            )
            .unwrap();
        let c = store
            .commit(&repo, main(), &change("c", None, vec![add(&store, "c", b"c")]))
            .unwrap();
        assert_eq!(
            store.commit_row(&c.oid).unwrap().unwrap().parent.as_deref(),
            Some(b.oid.as_str())
        );
        assert_eq!(paths(&store, &c.oid), [".gitattributes", "a", "b", "c"]);
        let log: Vec<String> = store
            .log(&c.oid, 0, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.oid)
            .collect();
        assert_eq!(log, [c.oid.clone(), b.oid, a.oid, initial]);
    }

    #[test]
    fn pull_request_refs_are_compared_and_swapped_too() {
        let (_dir, store, repo) = store();
        let initial = store.resolve(&repo, "main").unwrap();
        let pr = store
            .commit(
                &repo,
                CommitTarget::NewPr { base: "main".into() },
                &change("pr", None, vec![add(&store, "p", b"p")]),
            )
            .unwrap();
        assert_eq!(pr.pr_num, Some(1));
        assert_eq!(
            store.resolve(&repo, "main").unwrap(),
            initial,
            "a PR leaves main alone"
        );
        let stale = store.commit(
            &repo,
            CommitTarget::Pr(1),
            &change("more", Some(&initial), vec![add(&store, "q", b"q")]),
        );
        assert!(
            matches!(stale, Err(StoreError::ParentMismatch { .. })),
            "{stale:?}"
        );
        assert_eq!(store.resolve(&repo, "refs/pr/1").unwrap(), pr.oid);
        let more = store
            .commit(
                &repo,
                CommitTarget::Pr(1),
                &change("more", Some(&pr.oid), vec![add(&store, "q", b"q")]),
            )
            .unwrap();
        assert_eq!(store.resolve(&repo, "refs/pr/1").unwrap(), more.oid);
        assert!(matches!(
            store.commit(&repo, CommitTarget::Pr(2), &change("x", None, vec![])),
            Err(StoreError::RevisionNotFound(_))
        ));
    }

    #[test]
    fn a_failing_operation_rolls_the_whole_commit_back() {
        let (_dir, store, repo) = store();
        let head = store.resolve(&repo, "main").unwrap();
        for (ops, why) in [
            (
                vec![add(&store, "ok", b"ok"), FileOp::Delete("missing".into())],
                "delete of a missing file",
            ),
            (
                vec![add(&store, "ok", b"ok"), FileOp::DeleteFolder("missing".into())],
                "delete of a missing folder",
            ),
            (
                vec![add(&store, "f", b"f"), add(&store, "f/g", b"g")],
                "a file below a file",
            ),
            (
                vec![add(&store, "d/x", b"x"), add(&store, "d", b"d")],
                "a file over a folder",
            ),
        ] {
            let result = store.commit(
                &repo,
                CommitTarget::Branch("main".into()),
                &change(why, None, ops),
            );
            assert!(result.is_err(), "{why}: {result:?}");
            assert_eq!(store.resolve(&repo, "main").unwrap(), head, "{why}");
            assert_eq!(commit_count(&store), 1, "{why}: a commit row was left");
            let rows: i64 = store
                .conn()
                .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
                .unwrap();
            assert_eq!(rows, 1, "{why}: tree rows were left");
        }
    }

    #[test]
    fn folder_deletion_stops_at_the_folder_boundary() {
        let (_dir, store, repo) = store();
        let ops = vec![
            add(&store, "dir/a", b"a"),
            add(&store, "dir/sub/b", b"b"),
            add(&store, "dir.txt", b"c"),
            add(&store, "dirx/d", b"d"),
        ];
        store
            .commit(
                &repo,
                CommitTarget::Branch("main".into()),
                &change("add", None, ops),
            )
            .unwrap();
        let done = store
            .commit(
                &repo,
                CommitTarget::Branch("main".into()),
                &change("rm", None, vec![FileOp::DeleteFolder("dir".into())]),
            )
            .unwrap();
        assert_eq!(paths(&store, &done.oid), [".gitattributes", "dir.txt", "dirx/d"]);
    }
}
