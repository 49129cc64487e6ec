//! Conversion of a database of an older schema to the current one ([`super::schema`]), inside
//! the transaction that [`super::schema::open`] holds: from schema 0 — one `entries` row per file
//! per commit, repository keys that could be reused — and from schema 1, which had no `gated`
//! setting. Every key, id and date is kept.

use rusqlite::{Connection, params};

use super::schema::SCHEMA;
use super::trees::Folder;
use super::{Entry, StoreResult};
use crate::time;

/// Converts the tables of schema 0: each commit's flat file list becomes a git tree (identical
/// folders stored once per repository), then the old tables are dropped.
pub(super) fn from_flat_entries(tx: &Connection) -> StoreResult<()> {
    // Indexes keep their names through a rename: drop the one the new schema creates again.
    tx.execute_batch(
        "DROP INDEX IF EXISTS commits_by_repo;
         ALTER TABLE repos RENAME TO v0_repos;
         ALTER TABLE commits RENAME TO v0_commits;
         ALTER TABLE entries RENAME TO v0_entries;
         ALTER TABLE refs RENAME TO v0_refs;
         ALTER TABLE lfs_objects RENAME TO v0_lfs_objects;
         ALTER TABLE discussions RENAME TO v0_discussions;",
    )?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(
        "INSERT INTO repos (id, kind, namespace, name, private, created_at, object_id, last_modified)
         SELECT r.id, r.kind, r.namespace, r.name, r.private, r.created_at, r.object_id,
                COALESCE((SELECT c.date FROM v0_refs f JOIN v0_commits c ON c.oid = f.target
                          WHERE f.repo = r.id AND f.kind = 'branch' AND f.name = 'main'),
                         r.created_at)
         FROM v0_repos r;
         INSERT INTO refs (repo, kind, name, target) SELECT repo, kind, name, target FROM v0_refs;
         INSERT INTO discussions (repo, num, title, description, is_pr, status, author, created_at, base)
         SELECT repo, num, title, description, is_pr, status, author, created_at, base FROM v0_discussions;",
    )?;
    // Objects uploaded before the conversion get the grace period of a fresh upload.
    tx.execute(
        "INSERT INTO lfs_objects (repo, oid, size, uploaded_at)
         SELECT repo, oid, size, ?1 FROM v0_lfs_objects",
        params![time::unix_now() as i64],
    )?;

    let commits: Vec<(String, i64)> = tx
        .prepare("SELECT oid, repo FROM v0_commits ORDER BY repo")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut files = tx.prepare(
        "SELECT path, size, sha256, git_oid, lfs FROM v0_entries WHERE commit_oid = ?1 ORDER BY path",
    )?;
    for (oid, repo) in commits {
        let mut root = Folder::default();
        let mut rows = files.query(params![oid])?;
        while let Some(r) = rows.next()? {
            let entry = Entry {
                path: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                sha256: r.get(2)?,
                git_oid: r.get(3)?,
                lfs: r.get(4)?,
            };
            root.add(tx, entry)?;
        }
        let tree = root.write_root(tx, repo)?;
        tx.execute(
            "INSERT INTO commits (oid, repo, parent, root_tree, title, message, author, date)
             SELECT oid, repo, parent, ?2, title, message, author, date FROM v0_commits WHERE oid = ?1",
            params![oid, tree.id],
        )?;
    }
    drop(files);
    tx.execute_batch(
        "DROP TABLE v0_entries;
         DROP TABLE v0_refs;
         DROP TABLE v0_lfs_objects;
         DROP TABLE v0_discussions;
         DROP TABLE v0_commits;
         DROP TABLE v0_repos;",
    )?;
    Ok(())
}

/// Converts a database of schema 1: repositories gain their `gated` setting, none of them gated.
pub(super) fn add_gated(tx: &Connection) -> StoreResult<()> {
    tx.execute_batch("ALTER TABLE repos ADD COLUMN gated TEXT CHECK (gated IN ('auto', 'manual'));")?;
    Ok(())
}
