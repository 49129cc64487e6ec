//! The database schema: a hub of the first schema (a flat file list per commit), and one of the
//! second (no `gated` setting), converted when the server opens them; repository keys that are
//! never reused.

use std::path::Path;

use hubmix_server::ServerConfig;
use rusqlite::{Connection, params};
use serde_json::Value;

use crate::support::{ALICE, Hub, Repo, pattern, sha256_hex, users};

/// The schema hubmix-server wrote before trees (version 0), as it was.
const SCHEMA_0: &str = r#"
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

/// A commit id of schema-0 rows: `tag` repeated.
fn oid(tag: &str) -> String {
    tag.repeat(40 / tag.len())
}

/// The database of the hub under `root`.
fn db(root: &Path) -> Connection {
    Connection::open(root.join("hub.sqlite3")).expect("open the database")
}

/// The key of repository `name` (any type).
fn key_of(root: &Path, name: &str) -> i64 {
    db(root)
        .query_row("SELECT id FROM repos WHERE name = ?1", [name], |r| r.get(0))
        .expect("a repository key")
}

/// Writes the blob of `content` under `root`, as the server stores it; returns its SHA-256.
fn put_blob(root: &Path, content: &[u8]) -> String {
    let sha = sha256_hex(content);
    let dir = root.join("blobs/sha256").join(&sha[..2]);
    std::fs::create_dir_all(&dir).expect("blob folder");
    std::fs::write(dir.join(&sha), content).expect("blob");
    sha
}

/// The git blob id of `content` (of the LFS pointer for LFS files).
fn git_oid(content: &[u8], lfs: bool) -> String {
    if lfs {
        let sha = sha256_hex(content);
        let pointer = format!(
            "version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {}\n",
            content.len()
        );
        return crate::support::git_sha1(pointer.as_bytes());
    }
    crate::support::git_sha1(content)
}

/// Fills `root` with a hub of schema 0: `alice/old` (key 7: three commits, a tag, a pull
/// request, an LFS file) and the dataset `alice/rows` (key 3).
fn write_schema_0(root: &Path, weights: &[u8]) {
    let conn = db(root);
    conn.execute_batch(SCHEMA_0).expect("schema 0");
    let repo = "INSERT INTO repos (id, kind, namespace, name, private, created_at, object_id)
                VALUES (?1, ?2, 'alice', ?3, 0, ?4, ?5)";
    conn.execute(
        repo,
        params![
            7,
            "model",
            "old",
            "2024-01-01T00:00:00.000Z",
            "0123456789abcdef01234567"
        ],
    )
    .expect("repo");
    conn.execute(
        repo,
        params![
            3,
            "dataset",
            "rows",
            "2024-02-01T00:00:00.000Z",
            "76543210fedcba9876543210"
        ],
    )
    .expect("repo");
    let commit = |oid: &str, repo: i64, parent: Option<&str>, date: &str| {
        conn.execute(
            "INSERT INTO commits (oid, repo, parent, title, message, author, date)
             VALUES (?1, ?2, ?3, ?1, '', 'alice', ?4)",
            params![oid, repo, parent, date],
        )
        .expect("commit");
    };
    let file = |commit: &str, path: &str, content: &[u8], lfs: bool| {
        let sha = put_blob(root, content);
        conn.execute(
            "INSERT INTO entries (commit_oid, path, size, sha256, git_oid, lfs) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![commit, path, content.len() as i64, sha, git_oid(content, lfs), lfs],
        )
        .expect("entry");
    };
    let (c1, c2, c3, d1) = (oid("c1"), oid("c2"), oid("c3"), oid("d1"));
    commit(&c1, 7, None, "2024-01-01T00:00:00.000Z");
    commit(&c2, 7, Some(&c1), "2024-01-02T00:00:00.000Z");
    commit(&c3, 7, Some(&c2), "2024-01-03T00:00:00.000Z");
    commit(&d1, 3, None, "2024-02-01T00:00:00.000Z");
    for c in [&c1, &c2, &c3, &d1] {
        file(
            c,
            ".gitattributes",
            b"*.bin filter=lfs diff=lfs merge=lfs -text\n",
            false,
        );
    }
    file(&c1, "a.txt", b"a one\n", false);
    for c in [&c2, &c3] {
        file(c, "a.txt", b"a two\n", false);
        file(c, "dir/b.txt", b"b\n", false);
        file(c, "dir/sub/c.txt", b"c\n", false);
        file(c, "w.bin", weights, true);
    }
    file(&c3, "pr.txt", b"pr\n", false);
    conn.execute_batch(&format!(
        "INSERT INTO refs VALUES (7, 'branch', 'main', '{c2}');
         INSERT INTO refs VALUES (7, 'tag', 'v1', '{c1}');
         INSERT INTO refs VALUES (7, 'pr', '1', '{c3}');
         INSERT INTO refs VALUES (3, 'branch', 'main', '{d1}');
         INSERT INTO lfs_objects VALUES (7, '{}', {});
         INSERT INTO discussions VALUES (7, 1, 'a change', '', 1, 'open', 'alice',
                                         '2024-01-03T00:00:00.000Z', 'refs/heads/main');",
        sha256_hex(weights),
        weights.len()
    ))
    .expect("refs, objects, discussions");
}

/// The `oid` of the listing item `path` at the root of `repo`'s `main`.
fn folder_oid(items: &Value, path: &str) -> String {
    items
        .as_array()
        .expect("listing")
        .iter()
        .find(|i| i["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in {items}"))["oid"]
        .as_str()
        .expect("oid")
        .to_owned()
}

#[test]
fn a_hub_of_the_first_schema_is_converted_when_opened() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let weights = pattern(3000, 5);
    write_schema_0(dir.path(), &weights);
    let server = hubmix_server::spawn(users(ServerConfig::new(dir.path()))).expect("server starts");
    let hub = Hub { server, dir };
    let root = hub.dir.path();
    let alice = hub.client(ALICE);
    let old = Repo::model("alice/old");

    // Every revision lists and serves what it held.
    assert_eq!(
        alice.files(&old, "main"),
        [".gitattributes", "a.txt", "dir/b.txt", "dir/sub/c.txt", "w.bin"]
    );
    assert_eq!(alice.download(&old, "main", "a.txt"), b"a two\n");
    assert_eq!(alice.download(&old, "v1", "a.txt"), b"a one\n");
    assert_eq!(alice.files(&old, "v1"), [".gitattributes", "a.txt"]);
    assert_eq!(alice.download(&old, "refs%2Fpr%2F1", "pr.txt"), b"pr\n");
    let lfs = alice.get(&old.resolve("main", "w.bin"));
    lfs.assert_status(200);
    assert_eq!(lfs.body, weights);
    assert_eq!(lfs.header("x-repo-commit"), Some(oid("c2").as_str()));
    let history: Vec<String> = alice
        .get(&old.api("/commits/main"))
        .ok_json()
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(history, [oid("c2"), oid("c1")]);
    let info = alice.get(&old.api("")).ok_json();
    assert_eq!(info["sha"], oid("c2"));
    assert_eq!(info["_id"], "0123456789abcdef01234567");
    let discussions = alice.get(&old.api("/discussions")).ok_json();
    assert_eq!(discussions["discussions"][0]["num"], 1);
    assert_eq!(
        alice.files(&Repo::dataset("alice/rows"), "main"),
        [".gitattributes"]
    );
    // The uploaded LFS object is still the repository's: the batch does not ask for it.
    let answer = alice
        .batch(&old, &[(&sha256_hex(&weights), weights.len() as u64)], &["basic"])
        .ok_json();
    assert!(answer["objects"][0].get("actions").is_none(), "{answer}");

    // Folder ids are git tree ids: the same folder committed afresh has the same id.
    let fresh = Repo::model("alice/fresh");
    alice.create(&fresh);
    alice.commit_files(&fresh, &[("dir/b.txt", b"b\n"), ("dir/sub/c.txt", b"c\n")]);
    let listing = |repo: &Repo| alice.get(&repo.api("/tree/main")).ok_json();
    assert_eq!(
        folder_oid(&listing(&old), "dir"),
        folder_oid(&listing(&fresh), "dir")
    );

    // Commits go on from the converted trees.
    alice.commit_files(&old, &[("dir/sub/d.txt", b"d\n")]);
    assert_eq!(
        alice.files(&old, "main"),
        [
            ".gitattributes",
            "a.txt",
            "dir/b.txt",
            "dir/sub/c.txt",
            "dir/sub/d.txt",
            "w.bin"
        ]
    );

    // The keys are kept, and a new repository gets a key never used.
    let conn = db(root);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, 2);
    let flat: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'v0_%' OR name = 'entries'",
            [],
            |r| r.get(0),
        )
        .expect("tables");
    assert_eq!(flat, 0, "the old tables are gone");
    assert_eq!((key_of(root, "old"), key_of(root, "rows")), (7, 3));
    assert_eq!(key_of(root, "fresh"), 8);
}

#[test]
fn repository_keys_are_never_reused() {
    let hub = Hub::start();
    let root = hub.dir.path();
    let alice = hub.client(ALICE);
    let (first, second) = (Repo::model("alice/first"), Repo::model("alice/second"));
    alice.create(&first);
    let deleted = key_of(root, "first");
    alice
        .json("DELETE", "/api/repos/delete", &first.body())
        .assert_status(200);
    alice.create(&second);
    assert!(key_of(root, "second") > deleted);
    // Recreated under the same name: a new key, and a new permanent id.
    let before = alice.get(&second.api("")).ok_json()["_id"].clone();
    alice
        .json("DELETE", "/api/repos/delete", &second.body())
        .assert_status(200);
    alice.create(&second);
    assert!(key_of(root, "second") > deleted + 1);
    assert_ne!(alice.get(&second.api("")).ok_json()["_id"], before);
}

#[test]
fn a_hub_of_schema_1_gains_the_gated_setting() {
    let hub = Hub::start();
    let repo = Repo::model("alice/kept");
    hub.client(ALICE).create(&repo);
    hub.client(ALICE).commit_files(&repo, &[("a.txt", b"a\n")]);
    let Hub { server, dir } = hub;
    drop(server);
    // Back to schema 1, as its servers left it: no `gated` column.
    db(dir.path())
        .execute_batch("ALTER TABLE repos DROP COLUMN gated; PRAGMA user_version = 1;")
        .expect("schema 1");

    let server = hubmix_server::spawn(users(ServerConfig::new(dir.path()))).expect("server starts");
    let hub = Hub { server, dir };
    let alice = hub.client(ALICE);
    let info = alice.get(&repo.api("")).ok_json();
    assert_eq!(info["gated"], false, "{info}");
    assert_eq!(alice.download(&repo, "main", "a.txt"), b"a\n");
    alice
        .json(
            "PUT",
            &repo.api("/settings"),
            &serde_json::json!({"gated": "manual"}),
        )
        .assert_status(200);
    assert_eq!(alice.get(&repo.api("")).ok_json()["gated"], "manual");
    let conn = db(hub.dir.path());
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, 2);
    // The column admits only the Hub's values.
    assert!(
        conn.execute("UPDATE repos SET gated = 'sometimes'", []).is_err(),
        "the CHECK constraint holds"
    );
}
