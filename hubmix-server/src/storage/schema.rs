//! The SQLite schema. Every change to a repository is one transaction, so the database is the
//! single point of truth for what exists: a ref only ever names a commit whose tree rows were
//! written in the same or an earlier transaction, and whose blobs were on disk before that.

pub(super) const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;

CREATE TABLE IF NOT EXISTS repos (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    private     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    UNIQUE (kind, namespace, name)
);

-- Immutable commits; `seq` orders commits of one repository by creation.
CREATE TABLE IF NOT EXISTS commits (
    oid         TEXT PRIMARY KEY,
    repo        INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    parent      TEXT,
    title       TEXT NOT NULL,
    message     TEXT NOT NULL,
    author      TEXT NOT NULL,
    date        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS commits_by_repo ON commits (repo);

-- The full tree of every commit: one row per file.
CREATE TABLE IF NOT EXISTS entries (
    commit_oid  TEXT NOT NULL REFERENCES commits(oid) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    git_oid     TEXT NOT NULL,
    lfs         INTEGER NOT NULL,
    PRIMARY KEY (commit_oid, path)
) WITHOUT ROWID;

-- Branches ('branch'), tags ('tag') and pull requests ('pr', name = the number).
CREATE TABLE IF NOT EXISTS refs (
    repo        INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    target      TEXT NOT NULL REFERENCES commits(oid),
    PRIMARY KEY (repo, kind, name)
) WITHOUT ROWID;

-- LFS objects uploaded to (and so usable by) a repository.
CREATE TABLE IF NOT EXISTS lfs_objects (
    repo        INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    oid         TEXT NOT NULL,
    size        INTEGER NOT NULL,
    PRIMARY KEY (repo, oid)
) WITHOUT ROWID;

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
