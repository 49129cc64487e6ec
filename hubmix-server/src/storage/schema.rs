//! The SQLite schema and its version. Every change to a repository is one transaction, so the
//! database is the single point of truth for what exists: a ref only ever names a commit whose
//! trees were written in the same or an earlier transaction, and whose blobs were on disk before
//! that.
//!
//! The version is `PRAGMA user_version`: 0 is the first schema (a flat `entries` table, one row
//! per file per commit), 1 added git trees, 2 the repositories' `gated` setting; [`VERSION`] is
//! this one. Opening an older database converts it ([`super::migrate`]) in one transaction.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::{StoreError, StoreResult, migrate};

/// The schema version this server writes.
pub(super) const VERSION: i64 = 2;

/// The settings of every connection.
const PRAGMAS: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
";

/// The tables of schema [`VERSION`].
///
/// Trees are git's: a folder is a `trees` row, identified within its repository by its git tree
/// id (`oid`, the SHA-1 of the git tree object), and its children are `tree_items` rows. A commit
/// names its root tree; a commit that changes one file writes new trees only for the folders on
/// that file's path, and points at the unchanged ones (identical trees are stored once per
/// repository). Items are ordered by `key`: a file's name, or a folder's name followed by `/` —
/// git's order. A depth-first walk that lists each folder's items in that order therefore lists
/// full paths in byte order, with a `/` appended to each folder's path: that is the order of
/// recursive listings, and a path so written is a cursor to resume after.
pub(super) const SCHEMA: &str = r#"
-- AUTOINCREMENT: the key of a deleted repository is never given to another one.
-- `object_id` is the repository's permanent, random id (the Hub's `_id`); `last_modified` the
-- date of the head of `main` (the order of `sort=lastModified`); `gated` how access requests are
-- granted, NULL when it is not gated (schema 2, see `migrate::add_gated`).
CREATE TABLE IF NOT EXISTS repos (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    namespace     TEXT NOT NULL,
    name          TEXT NOT NULL,
    private       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    object_id     TEXT NOT NULL UNIQUE,
    last_modified TEXT NOT NULL,
    gated         TEXT CHECK (gated IN ('auto', 'manual')),
    UNIQUE (kind, namespace, name)
);
-- The orders of listings (`Store::repo_page`), of all namespaces and of one.
CREATE INDEX IF NOT EXISTS repos_by_created ON repos (kind, created_at, namespace, name);
CREATE INDEX IF NOT EXISTS repos_by_modified ON repos (kind, last_modified, namespace, name);
CREATE INDEX IF NOT EXISTS repos_by_namespace_created ON repos (kind, namespace, created_at, name);
CREATE INDEX IF NOT EXISTS repos_by_namespace_modified ON repos (kind, namespace, last_modified, name);

-- Folders. AUTOINCREMENT: a tree written after another has a larger id (garbage collection
-- relies on it to find what was written while it looked).
CREATE TABLE IF NOT EXISTS trees (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo        INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    oid         TEXT NOT NULL,
    UNIQUE (repo, oid)
);

-- The children of a folder. `oid` is the git object id: the blob id of a file (of its LFS
-- pointer for an LFS file), the tree id of a folder. Files have `size`, `sha256` (the blob's name
-- in the store) and `lfs`; folders have `subtree` (a tree of the same repository).
CREATE TABLE IF NOT EXISTS tree_items (
    tree        INTEGER NOT NULL REFERENCES trees(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    oid         TEXT NOT NULL,
    subtree     INTEGER,
    size        INTEGER,
    sha256      TEXT,
    lfs         INTEGER,
    PRIMARY KEY (tree, key),
    CHECK ((subtree IS NULL) = (sha256 IS NOT NULL))
) WITHOUT ROWID;

-- Immutable commits.
CREATE TABLE IF NOT EXISTS commits (
    oid         TEXT PRIMARY KEY,
    repo        INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    parent      TEXT,
    root_tree   INTEGER NOT NULL,
    title       TEXT NOT NULL,
    message     TEXT NOT NULL,
    author      TEXT NOT NULL,
    date        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS commits_by_repo ON commits (repo);

-- Branches ('branch'), tags ('tag') and pull requests ('pr', name = the number).
CREATE TABLE IF NOT EXISTS refs (
    repo        INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    target      TEXT NOT NULL REFERENCES commits(oid),
    PRIMARY KEY (repo, kind, name)
) WITHOUT ROWID;
-- Deleting a commit (with its repository) checks that no ref names it: by this index, not a scan.
CREATE INDEX IF NOT EXISTS refs_by_target ON refs (target);

-- LFS objects uploaded to (and so usable by) a repository; `uploaded_at` in seconds since the
-- Unix epoch (an object no commit uses is kept for a grace period after it).
CREATE TABLE IF NOT EXISTS lfs_objects (
    repo        INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    oid         TEXT NOT NULL,
    size        INTEGER NOT NULL,
    uploaded_at INTEGER NOT NULL,
    PRIMARY KEY (repo, oid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lfs_objects_by_oid ON lfs_objects (oid);

CREATE TABLE IF NOT EXISTS discussions (
    repo        INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    num         INTEGER NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    is_pr       INTEGER NOT NULL,
    status      TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    base        TEXT NOT NULL,
    PRIMARY KEY (repo, num)
) WITHOUT ROWID;
"#;

/// Opens (creating) the database at `path`: sets the connection up, creates the tables of a new
/// database, converts one of an older schema.
pub(super) fn open(path: &Path) -> StoreResult<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.execute_batch(PRAGMAS)?;
    if version(&conn)? != VERSION {
        upgrade(&mut conn)?;
    }
    Ok(conn)
}

fn version(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database to [`VERSION`], in one transaction (which also keeps two processes that
/// open it at once from both doing it).
fn upgrade(conn: &mut Connection) -> StoreResult<()> {
    // Tables are renamed and recreated: references must not be checked (nor rewritten) on the
    // way. The pragma is a no-op inside a transaction, hence here.
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        match version(&tx)? {
            VERSION => return Ok(()),
            0 if has_table(&tx, "entries")? => migrate::from_flat_entries(&tx)?,
            0 => tx.execute_batch(SCHEMA)?,
            1 => migrate::add_gated(&tx)?,
            newer => {
                return Err(StoreError::Invalid(format!(
                    "the database has schema version {newer}, newer than this hubmix-server's \
                     ({VERSION}): run a newer hubmix-server on it"
                )));
            }
        }
        tx.pragma_update(None, "user_version", VERSION)?;
        tx.commit()?;
        Ok(())
    })();
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    result
}

fn has_table(conn: &Connection, name: &str) -> StoreResult<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}
