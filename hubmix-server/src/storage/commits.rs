//! Commits: applying a change as one transaction, walking history.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::discussions::insert_discussion;
use super::refs::{RefKind, ref_target, resolve_in};
use super::trees::{Folder, root_tree};
use super::{BlobStore, Entry, RepoRow, Store, StoreError, StoreResult, random_hex};
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
    /// Makes a commit, atomically: the trees, the commit and the ref move in one transaction,
    /// and the ref moves only if it still points where it did (compare-and-swap).
    pub(crate) fn commit(
        &self,
        repo: &RepoRow,
        target: CommitTarget,
        new: &NewCommit,
    ) -> StoreResult<CommitOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = apply_commit(&tx, &self.blobs, repo, target, new)?;
        tx.commit()?;
        Ok(outcome)
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

    /// History from `start` backwards (newest first), at most `limit` commits: one indexed
    /// lookup per commit.
    pub(crate) fn log(&self, start: &str, limit: usize) -> StoreResult<Vec<CommitRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT oid, parent, title, message, author, date FROM commits WHERE oid = ?1")?;
        let mut rows = Vec::new();
        let mut next = Some(start.to_owned());
        while rows.len() < limit
            && let Some(oid) = next
        {
            let Some(row) = stmt.query_row(params![oid], commit_from_row).optional()? else {
                break;
            };
            next = row.parent.clone();
            rows.push(row);
        }
        Ok(rows)
    }

    /// The commit `skip` commits before `start` in its history, if the history is that long.
    pub(crate) fn ancestor(&self, start: &str, skip: usize) -> StoreResult<Option<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT parent FROM commits WHERE oid = ?1")?;
        let mut oid = start.to_owned();
        for _ in 0..skip {
            match stmt
                .query_row(params![oid], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten()
            {
                Some(parent) => oid = parent,
                None => return Ok(None),
            }
        }
        Ok(Some(oid))
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

/// Makes the commit `new` inside the transaction `tx` (see [`Store::commit`]).
pub(super) fn apply_commit(
    tx: &Connection,
    blobs: &BlobStore,
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

    for op in &new.ops {
        if let FileOp::Add(e) = op
            && !blobs.exists(&e.sha256)
        {
            // Checked under the database's write lock, which garbage collection holds while it
            // deletes: a commit never names a blob that is gone.
            return Err(StoreError::Invalid(format!(
                "the content of {} (sha256 {}) is no longer stored: upload it again",
                e.path, e.sha256
            )));
        }
    }
    // The new tree: the parent's, with the folders on the changed paths rewritten.
    let root = match &parent {
        Some(parent) if new.ops.is_empty() => root_tree(tx, parent)?,
        _ => {
            let mut root = match &parent {
                Some(parent) => Folder::load(tx, root_tree(tx, parent)?)?,
                None => Folder::default(),
            };
            for op in &new.ops {
                root.apply(tx, op)?;
            }
            root.write_root(tx, repo.key)?.id
        }
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
        "INSERT INTO commits (oid, repo, parent, root_tree, title, message, author, date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            oid,
            repo.key,
            parent,
            root,
            new.title,
            new.message,
            new.author,
            date
        ],
    )?;
    failpoint::hit(Point::CommitBeforeRefUpdate);

    let moves_main = matches!(&target, CommitTarget::Branch(b) | CommitTarget::NewBranch(b) if b == "main");
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
    if moves_main {
        tx.execute(
            "UPDATE repos SET last_modified = ?1 WHERE id = ?2",
            params![date, repo.key],
        )?;
    }
    Ok(CommitOutcome { oid, pr_num })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::test_store as store;

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

    /// How many trees and tree items the database holds.
    fn tree_rows(store: &Store) -> (i64, i64) {
        let count = |table: &str| -> i64 {
            store
                .conn()
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        (count("trees"), count("tree_items"))
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
            .log(&c.oid, 10)
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
        let before = tree_rows(&store);
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
            assert_eq!(tree_rows(&store), before, "{why}: tree rows were left");
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
