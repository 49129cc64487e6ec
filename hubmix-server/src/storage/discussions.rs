//! Discussions and pull requests (`refs/pr/N`).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::refs::resolve_in;
use super::{RepoRow, Store, StoreResult};
use crate::time;

/// A discussion or pull request.
#[derive(Debug, Clone)]
pub(crate) struct Discussion {
    pub num: u64,
    pub title: String,
    pub is_pr: bool,
    pub status: String,
    pub author: String,
    pub created_at: String,
    /// The ref a pull request targets, e.g. `refs/heads/main`.
    pub base: String,
}

/// Adds discussion number max+1 (numbers are shared by discussions and PRs) and returns it.
pub(super) fn insert_discussion(
    tx: &Connection,
    repo: i64,
    title: &str,
    description: &str,
    author: &str,
    is_pr: bool,
    base: &str,
) -> StoreResult<u64> {
    let num: i64 = tx.query_row(
        "SELECT COALESCE(MAX(num), 0) + 1 FROM discussions WHERE repo = ?1",
        params![repo],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO discussions (repo, num, title, description, is_pr, status, author, created_at, base)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            repo,
            num,
            title,
            description,
            is_pr,
            "open",
            author,
            time::now_iso(),
            base
        ],
    )?;
    Ok(num as u64)
}

impl Store {
    /// Opens a discussion; with `pr_base` a pull request, whose ref `refs/pr/N` starts at the
    /// head of that branch.
    pub(crate) fn create_discussion(
        &self,
        repo: &RepoRow,
        title: &str,
        description: &str,
        author: &str,
        pr_base: Option<&str>,
    ) -> StoreResult<u64> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let num = match pr_base {
            Some(branch) => {
                let head = resolve_in(&tx, repo.key, branch)?;
                let num = insert_discussion(
                    &tx,
                    repo.key,
                    title,
                    description,
                    author,
                    true,
                    &format!("refs/heads/{branch}"),
                )?;
                tx.execute(
                    "INSERT INTO refs (repo, kind, name, target) VALUES (?1, 'pr', ?2, ?3)",
                    params![repo.key, num.to_string(), head],
                )?;
                num
            }
            None => insert_discussion(&tx, repo.key, title, description, author, false, "")?,
        };
        tx.commit()?;
        Ok(num)
    }

    /// Discussion `num` of `repo`.
    pub(crate) fn discussion(&self, repo: &RepoRow, num: u64) -> StoreResult<Option<Discussion>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT num, title, is_pr, status, author, created_at, base
                 FROM discussions WHERE repo = ?1 AND num = ?2",
                params![repo.key, num as i64],
                discussion_from_row,
            )
            .optional()?)
    }

    /// All discussions of `repo`, newest first.
    pub(crate) fn discussions(&self, repo: &RepoRow) -> StoreResult<Vec<Discussion>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT num, title, is_pr, status, author, created_at, base
             FROM discussions WHERE repo = ?1 ORDER BY num DESC",
        )?;
        let rows = stmt
            .query_map(params![repo.key], discussion_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The size of LFS object `oid` if it was uploaded to `repo`.
    pub(crate) fn lfs_object(&self, repo: &RepoRow, oid: &str) -> StoreResult<Option<u64>> {
        let conn = self.conn();
        let size: Option<i64> = conn
            .query_row(
                "SELECT size FROM lfs_objects WHERE repo = ?1 AND oid = ?2",
                params![repo.key, oid],
                |r| r.get(0),
            )
            .optional()?;
        Ok(size.map(|s| s as u64))
    }

    /// Records that LFS object `oid` (already in the blob store) belongs to `repo`, uploaded now
    /// (again, maybe: garbage collection keeps it a grace period from now).
    pub(crate) fn add_lfs_object(&self, repo: &RepoRow, oid: &str, size: u64) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO lfs_objects (repo, oid, size, uploaded_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (repo, oid) DO UPDATE SET uploaded_at = excluded.uploaded_at",
            params![repo.key, oid, size as i64, time::unix_seconds()],
        )?;
        Ok(())
    }
}

fn discussion_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Discussion> {
    Ok(Discussion {
        num: r.get::<_, i64>(0)? as u64,
        title: r.get(1)?,
        is_pr: r.get(2)?,
        status: r.get(3)?,
        author: r.get(4)?,
        created_at: r.get(5)?,
        base: r.get(6)?,
    })
}
