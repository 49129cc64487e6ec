//! Git trees (see [`super::schema`]): building a commit's tree from its parent's and its
//! changes, and reading trees — one path, one page of a listing, every file.
//!
//! A commit loads only the folders on the paths it changes, applies its operations to them in
//! memory, and writes them back bottom-up: each changed folder becomes a new tree (unless the
//! repository already has an identical one), every other folder stays the tree it was. Reads walk
//! down from the root one indexed lookup per folder, and a page of a listing reads about as many
//! rows as it returns.

use std::collections::{BTreeMap, VecDeque};

use rusqlite::{Connection, OptionalExtension, params};

use super::commits::FileOp;
use super::{Entry, Store, StoreError, StoreResult};
use crate::hashing::{self, TreeEntry};

/// A stored tree: its row and its git id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeRef {
    pub id: i64,
    pub oid: String,
}

/// A file or a folder of a tree, with its full path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TreeItem {
    File(Entry),
    Folder { path: String, tree: TreeRef },
}

impl TreeItem {
    /// Where a listing resumes after this item: its path, with a `/` appended for a folder.
    pub(crate) fn cursor(&self) -> String {
        match self {
            TreeItem::File(e) => e.path.clone(),
            TreeItem::Folder { path, .. } => format!("{path}/"),
        }
    }
}

/// A page of a listing, and the cursor of the next one when there is more.
#[derive(Debug, Clone)]
pub(crate) struct TreePage {
    pub items: Vec<TreeItem>,
    pub next: Option<String>,
}

/// A node of a folder being changed.
#[derive(Debug)]
enum Node {
    File(Entry),
    /// A folder the commit does not change (so far): the tree it is.
    Stored(TreeRef),
    /// A folder the commit changes, loaded.
    Open(Folder),
}

/// A folder being changed: its children by name.
#[derive(Debug, Default)]
pub(super) struct Folder {
    items: BTreeMap<String, Node>,
}

impl Folder {
    /// The folder stored as `tree`, loaded.
    pub(super) fn load(conn: &Connection, tree: i64) -> StoreResult<Folder> {
        let mut stmt = conn.prepare_cached(ITEMS_OF)?;
        let mut rows = stmt.query(params![tree])?;
        let mut items = BTreeMap::new();
        while let Some(row) = rows.next()? {
            let (name, node) = match read_item(row, "")? {
                TreeItem::File(e) => (e.path.clone(), Node::File(e)),
                TreeItem::Folder { path, tree } => (path, Node::Stored(tree)),
            };
            items.insert(name, node);
        }
        Ok(Folder { items })
    }

    /// Applies one operation, loading the stored folders on its way.
    pub(super) fn apply(&mut self, conn: &Connection, op: &FileOp) -> StoreResult<()> {
        match op {
            FileOp::Add(e) => self.add(conn, e.clone()),
            FileOp::Delete(path) => {
                let (dirs, name) = split(path);
                match self.find(conn, &dirs)? {
                    Some(folder) if matches!(folder.items.get(name), Some(Node::File(_))) => {
                        folder.items.remove(name);
                        Ok(())
                    }
                    _ => Err(StoreError::DeletedEntryNotFound(path.clone())),
                }
            }
            FileOp::DeleteFolder(path) => {
                let (dirs, name) = split(path);
                match self.find(conn, &dirs)? {
                    Some(folder) if folder.items.get(name).is_some_and(Node::is_folder) => {
                        folder.items.remove(name);
                        Ok(())
                    }
                    _ => Err(StoreError::DeletedEntryNotFound(path.clone())),
                }
            }
        }
    }

    /// Adds or replaces the file `entry.path`. A path cannot be both a file and a folder.
    pub(super) fn add(&mut self, conn: &Connection, entry: Entry) -> StoreResult<()> {
        if entry.path.split('/').any(str::is_empty) {
            return Err(StoreError::Invalid(format!(
                "cannot add {:?}: a path has no empty parts",
                entry.path
            )));
        }
        let (dirs, name) = split(&entry.path);
        let mut folder = self;
        let mut end = 0;
        for dir in dirs {
            end += dir.len() + 1;
            let node = folder
                .items
                .entry(dir.to_owned())
                .or_insert_with(|| Node::Open(Folder::default()));
            if let Node::Stored(tree) = node {
                *node = Node::Open(Folder::load(conn, tree.id)?);
            }
            folder = match node {
                Node::Open(f) => f,
                _ => {
                    return Err(StoreError::Invalid(format!(
                        "cannot add {}: {} is a file",
                        entry.path,
                        &entry.path[..end - 1]
                    )));
                }
            };
        }
        if folder.items.get(name).is_some_and(Node::is_folder) {
            return Err(StoreError::Invalid(format!(
                "cannot add {}: it is a folder",
                entry.path
            )));
        }
        folder.items.insert(name.to_owned(), Node::File(entry));
        Ok(())
    }

    /// The folder at `dirs` below this one, if there is one (loaded).
    fn find<'a>(&'a mut self, conn: &Connection, dirs: &[&str]) -> StoreResult<Option<&'a mut Folder>> {
        let mut folder = self;
        for dir in dirs {
            let Some(node) = folder.items.get_mut(*dir) else {
                return Ok(None);
            };
            if let Node::Stored(tree) = node {
                *node = Node::Open(Folder::load(conn, tree.id)?);
            }
            folder = match node {
                Node::Open(f) => f,
                _ => return Ok(None),
            };
        }
        Ok(Some(folder))
    }

    /// Whether the folder holds no file (folders emptied by deletions do not count).
    fn is_empty(&self) -> bool {
        self.items
            .values()
            .all(|n| matches!(n, Node::Open(f) if f.is_empty()))
    }

    /// Writes the folder as the root tree of a commit of `repo` (an empty tree if it holds
    /// nothing).
    pub(super) fn write_root(self, conn: &Connection, repo: i64) -> StoreResult<TreeRef> {
        let items = self.write_children(conn, repo)?;
        store_tree(conn, repo, items)
    }

    /// Writes the folder and its changed subfolders as trees of `repo`, children first; `None`
    /// for a folder that holds nothing (a folder exists only through its files).
    fn write(self, conn: &Connection, repo: i64) -> StoreResult<Option<TreeRef>> {
        let items = self.write_children(conn, repo)?;
        if items.is_empty() {
            return Ok(None);
        }
        store_tree(conn, repo, items).map(Some)
    }

    /// Writes the changed subfolders; returns what the folder holds, by name.
    fn write_children(self, conn: &Connection, repo: i64) -> StoreResult<Vec<(String, Written)>> {
        let mut items = Vec::with_capacity(self.items.len());
        for (name, node) in self.items {
            let written = match node {
                Node::File(e) => Written::File(e),
                Node::Stored(tree) => Written::Folder(tree),
                Node::Open(folder) => match folder.write(conn, repo)? {
                    Some(tree) => Written::Folder(tree),
                    None => continue,
                },
            };
            items.push((name, written));
        }
        Ok(items)
    }
}

/// A child of a folder being written.
#[derive(Debug)]
enum Written {
    File(Entry),
    Folder(TreeRef),
}

impl Written {
    /// Its key in the folder: the name, with a `/` appended for a folder (git's order).
    fn key(&self, name: &str) -> String {
        match self {
            Written::File(_) => name.to_owned(),
            Written::Folder(_) => format!("{name}/"),
        }
    }
}

impl Node {
    /// Whether this is a folder that holds something.
    fn is_folder(&self) -> bool {
        match self {
            Node::File(_) => false,
            Node::Stored(_) => true,
            Node::Open(f) => !f.is_empty(),
        }
    }
}

/// A path's folders and its last part.
fn split(path: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    (parts, name)
}

/// Stores the tree of `repo` that holds `items`, unless the repository has an identical one
/// already; returns it.
fn store_tree(conn: &Connection, repo: i64, mut items: Vec<(String, Written)>) -> StoreResult<TreeRef> {
    items.sort_by_cached_key(|(name, item)| item.key(name));
    let oid = hashing::git_tree_sha1(items.iter().map(|(name, item)| match item {
        Written::File(e) => TreeEntry {
            folder: false,
            name,
            oid: &e.git_oid,
        },
        Written::Folder(t) => TreeEntry {
            folder: true,
            name,
            oid: &t.oid,
        },
    }))
    .map_err(|e| StoreError::Invalid(format!("a tree of repository {repo} is corrupt: {e}")))?;
    let inserted = conn
        .prepare_cached("INSERT INTO trees (repo, oid) VALUES (?1, ?2) ON CONFLICT (repo, oid) DO NOTHING")?
        .execute(params![repo, oid])?;
    if inserted == 0 {
        let id = conn
            .prepare_cached("SELECT id FROM trees WHERE repo = ?1 AND oid = ?2")?
            .query_row(params![repo, oid], |r| r.get(0))?;
        return Ok(TreeRef { id, oid });
    }
    let id = conn.last_insert_rowid();
    let mut insert = conn.prepare_cached(
        "INSERT INTO tree_items (tree, key, oid, subtree, size, sha256, lfs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (name, item) in &items {
        let key = item.key(name);
        match item {
            Written::File(e) => insert.execute(params![
                id,
                key,
                e.git_oid,
                None::<i64>,
                e.size as i64,
                e.sha256,
                e.lfs
            ])?,
            Written::Folder(t) => insert.execute(params![
                id,
                key,
                t.oid,
                t.id,
                None::<i64>,
                None::<String>,
                None::<bool>
            ])?,
        };
    }
    Ok(TreeRef { id, oid })
}

/// Every item of a folder.
const ITEMS_OF: &str = "SELECT key, oid, subtree, size, sha256, lfs FROM tree_items WHERE tree = ?1";
/// The subtree of a folder's item, by key.
const SUBTREE: &str = "SELECT subtree FROM tree_items WHERE tree = ?1 AND key = ?2";
/// The item of a folder named `?2`, a file or a folder.
const ITEM_NAMED: &str = "SELECT key, oid, subtree, size, sha256, lfs FROM tree_items
     WHERE tree = ?1 AND key IN (?2, ?2 || '/')";
/// The next items of a folder after a key.
const ITEMS_AFTER: &str = "SELECT key, oid, subtree, size, sha256, lfs FROM tree_items
     WHERE tree = ?1 AND key > ?2 ORDER BY key LIMIT ?3";

/// Reads a `tree_items` row (`key, oid, subtree, size, sha256, lfs`) of the folder at `prefix`
/// (`""` or ending in `/`).
fn read_item(row: &rusqlite::Row<'_>, prefix: &str) -> rusqlite::Result<TreeItem> {
    let key: String = row.get(0)?;
    let oid: String = row.get(1)?;
    Ok(match row.get::<_, Option<i64>>(2)? {
        Some(id) => TreeItem::Folder {
            path: format!("{prefix}{}", key.strip_suffix('/').unwrap_or(&key)),
            tree: TreeRef { id, oid },
        },
        None => TreeItem::File(Entry {
            path: format!("{prefix}{key}"),
            size: row.get::<_, i64>(3)? as u64,
            sha256: row.get(4)?,
            git_oid: oid,
            lfs: row.get(5)?,
        }),
    })
}

/// The root tree of `commit`.
pub(super) fn root_tree(conn: &Connection, commit: &str) -> StoreResult<i64> {
    conn.prepare_cached("SELECT root_tree FROM commits WHERE oid = ?1")?
        .query_row(params![commit], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::RevisionNotFound(commit.to_owned()))
}

/// What is at `path` below the tree `root`: one indexed lookup per folder on the way.
fn lookup(conn: &Connection, root: i64, path: &str) -> StoreResult<Option<TreeItem>> {
    if path.is_empty() {
        return Ok(None);
    }
    let (dirs, name) = split(path);
    let mut subtree = conn.prepare_cached(SUBTREE)?;
    let mut tree = root;
    let mut prefix_len = 0;
    for dir in dirs {
        match subtree
            .query_row(params![tree, format!("{dir}/")], |r| r.get::<_, Option<i64>>(0))
            .optional()?
        {
            Some(Some(t)) => tree = t,
            _ => return Ok(None),
        }
        prefix_len += dir.len() + 1;
    }
    let prefix = &path[..prefix_len];
    let mut leaf = conn.prepare_cached(ITEM_NAMED)?;
    Ok(leaf
        .query_row(params![tree, name], |r| read_item(r, prefix))
        .optional()?)
}

/// The rows a [`Walk`] reads at once from one folder, at most.
const WALK_BATCH: usize = 256;

/// A walk of a tree in listing order (depth-first when recursive), resumable after a cursor. It
/// holds, per folder it is in, the next few rows: reading a page costs the page's rows plus at
/// most a batch per level.
struct Walk<'c> {
    conn: &'c Connection,
    recursive: bool,
    batch: usize,
    stack: Vec<Frame>,
}

/// A folder the walk is in.
struct Frame {
    tree: i64,
    /// The folder's path, `""` or ending in `/`.
    prefix: String,
    /// The key of the last item taken.
    after: String,
    /// Rows read but not yet taken.
    rows: VecDeque<(String, TreeItem)>,
    /// Whether the folder may have rows after `rows`.
    more: bool,
}

impl Frame {
    fn new(tree: i64, prefix: String, after: String) -> Self {
        Frame {
            tree,
            prefix,
            after,
            rows: VecDeque::new(),
            more: true,
        }
    }
}

impl<'c> Walk<'c> {
    /// A walk of `tree` (whose path is `prefix`) that starts after `after`, a cursor relative to
    /// it (`""`: from the start). Reading `batch` rows at a time.
    fn new(
        conn: &'c Connection,
        tree: i64,
        prefix: String,
        after: &str,
        recursive: bool,
        batch: usize,
    ) -> StoreResult<Self> {
        let mut stack = Vec::new();
        let (mut tree, mut prefix, mut rest) = (tree, prefix, after);
        // Into the folders the cursor names, each resuming after the folder below it.
        while let Some((dir, below)) = rest.split_once('/') {
            let key = format!("{dir}/");
            let sub: Option<i64> = if recursive {
                conn.prepare_cached(SUBTREE)?
                    .query_row(params![tree, key], |r| r.get(0))
                    .optional()?
                    .flatten()
            } else {
                None
            };
            let inner = format!("{prefix}{key}");
            stack.push(Frame::new(tree, std::mem::take(&mut prefix), key));
            match sub {
                Some(sub) => (tree, prefix, rest) = (sub, inner, below),
                // Not listed, or not there: the walk resumes after that folder.
                None => break,
            }
        }
        if rest.split_once('/').is_none() {
            stack.push(Frame::new(tree, prefix, rest.to_owned()));
        }
        Ok(Walk {
            conn,
            recursive,
            batch: batch.clamp(1, WALK_BATCH),
            stack,
        })
    }

    /// The next item, if any.
    fn next(&mut self) -> StoreResult<Option<TreeItem>> {
        loop {
            let Some(frame) = self.stack.last_mut() else {
                return Ok(None);
            };
            if frame.rows.is_empty() && frame.more {
                let mut stmt = self.conn.prepare_cached(ITEMS_AFTER)?;
                let mut rows = stmt.query(params![frame.tree, frame.after, self.batch as i64])?;
                while let Some(row) = rows.next()? {
                    frame
                        .rows
                        .push_back((row.get(0)?, read_item(row, &frame.prefix)?));
                }
                frame.more = frame.rows.len() == self.batch;
            }
            let Some((key, item)) = frame.rows.pop_front() else {
                self.stack.pop();
                continue;
            };
            frame.after = key;
            if self.recursive
                && let TreeItem::Folder { path, tree } = &item
            {
                let frame = Frame::new(tree.id, format!("{path}/"), String::new());
                self.stack.push(frame);
            }
            return Ok(Some(item));
        }
    }
}

impl Store {
    /// The file at `path` in `commit`.
    pub(crate) fn entry(&self, commit: &str, path: &str) -> StoreResult<Option<Entry>> {
        let conn = self.conn();
        let root = root_tree(&conn, commit)?;
        Ok(match lookup(&conn, root, path)? {
            Some(TreeItem::File(e)) => Some(e),
            _ => None,
        })
    }

    /// The files and folders of `commit` at `paths`, in that order; missing paths are left out.
    pub(crate) fn paths_info(&self, commit: &str, paths: &[String]) -> StoreResult<Vec<TreeItem>> {
        let conn = self.conn();
        let root = root_tree(&conn, commit)?;
        let mut found = Vec::new();
        for path in paths {
            found.extend(lookup(&conn, root, path)?);
        }
        Ok(found)
    }

    /// Every file of `commit`, in listing order.
    pub(crate) fn entries(&self, commit: &str) -> StoreResult<Vec<Entry>> {
        let conn = self.conn();
        let root = root_tree(&conn, commit)?;
        let mut walk = Walk::new(&conn, root, String::new(), "", true, WALK_BATCH)?;
        let mut files = Vec::new();
        while let Some(item) = walk.next()? {
            if let TreeItem::File(e) = item {
                files.push(e);
            }
        }
        Ok(files)
    }

    /// A page of at most `limit` items of the folder `folder` of `commit` (`""`: the root),
    /// with everything below it when `recursive`, starting after the cursor `after` (see
    /// [`TreeItem::cursor`]). `None` when there is no such folder.
    pub(crate) fn tree_page(
        &self,
        commit: &str,
        folder: &str,
        recursive: bool,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Option<TreePage>> {
        let conn = self.conn();
        let root = root_tree(&conn, commit)?;
        let (tree, prefix) = if folder.is_empty() {
            (root, String::new())
        } else {
            match lookup(&conn, root, folder)? {
                Some(TreeItem::Folder { path, tree }) => (tree.id, format!("{path}/")),
                _ => return Ok(None),
            }
        };
        let after = match after {
            None => "",
            Some(cursor) => cursor
                .strip_prefix(prefix.as_str())
                .filter(|rest| !rest.is_empty())
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "the cursor {cursor:?} is not a path in {folder:?}: start from the first page"
                    ))
                })?,
        };
        let limit = limit.max(1);
        let mut walk = Walk::new(&conn, tree, prefix, after, recursive, limit + 1)?;
        // One more than the page tells whether there is a next one.
        let mut items = Vec::with_capacity(limit.min(WALK_BATCH) + 1);
        while items.len() <= limit
            && let Some(item) = walk.next()?
        {
            items.push(item);
        }
        let next = (items.len() > limit).then(|| {
            items.truncate(limit);
            items.last().map(TreeItem::cursor)
        });
        Ok(Some(TreePage {
            items,
            next: next.flatten(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;
    use crate::storage::test_store as store;
    use crate::storage::{CommitTarget, NewCommit, RepoRow};

    /// Commits `ops` to `main`; returns the commit.
    fn commit(store: &Store, repo: &RepoRow, ops: Vec<FileOp>) -> String {
        let new = NewCommit {
            author: "alice".into(),
            title: "change".into(),
            message: String::new(),
            parent_commit: None,
            ops,
        };
        let target = CommitTarget::Branch("main".into());
        store.commit(repo, target, &new).unwrap().oid
    }

    /// Adds of `paths`, all with `content`.
    fn adds<'a>(store: &Store, paths: impl IntoIterator<Item = &'a str>, content: &[u8]) -> Vec<FileOp> {
        let sha = store.blobs.put_bytes(content).unwrap();
        paths
            .into_iter()
            .map(|p| FileOp::Add(Entry::regular(p.to_owned(), content, sha.clone())))
            .collect()
    }

    fn count(store: &Store, table: &str) -> i64 {
        store
            .conn()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// Every item of a listing, read `page` at a time through the cursors.
    fn all_pages(store: &Store, commit: &str, folder: &str, recursive: bool, page: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let got = store
                .tree_page(commit, folder, recursive, after.as_deref(), page)
                .unwrap()
                .expect("the folder exists");
            assert!(got.items.len() <= page);
            out.extend(got.items.iter().map(TreeItem::cursor));
            match got.next {
                Some(next) => {
                    assert_eq!(Some(&next), out.last(), "the cursor is the last item");
                    after = Some(next);
                }
                None => return out,
            }
        }
    }

    #[test]
    fn a_commit_stores_only_the_folders_it_changes() {
        let (_dir, store, repo) = store();
        let mut ops = Vec::new();
        for d in 0..40 {
            let paths: Vec<String> = (0..50).map(|f| format!("d{d:02}/f{f:02}")).collect();
            ops.extend(adds(
                &store,
                paths.iter().map(String::as_str),
                format!("{d}").as_bytes(),
            ));
        }
        let first = commit(&store, &repo, ops);
        assert_eq!(store.entries(&first).unwrap().len(), 2001);
        let rows = |store: &Store| (count(store, "trees"), count(store, "tree_items"));

        // One file of 2001: the root (.gitattributes and 40 folders) and its folder (50 files).
        let before = rows(&store);
        commit(&store, &repo, adds(&store, ["d17/f03"], b"changed"));
        assert_eq!(rows(&store), (before.0 + 2, before.1 + 41 + 50));

        // Back as it was: the trees exist already, nothing is written.
        let before = rows(&store);
        let back = commit(&store, &repo, adds(&store, ["d17/f03"], b"17"));
        assert_eq!(rows(&store), before);
        let root_of = |commit: &str| root_tree(&store.conn(), commit).unwrap();
        assert_eq!(root_of(&back), root_of(&first));

        // A folder deleted: only the root changes.
        let before = rows(&store);
        commit(&store, &repo, vec![FileOp::DeleteFolder("d03".into())]);
        assert_eq!(rows(&store), (before.0 + 1, before.1 + 40));
    }

    #[test]
    fn folder_ids_are_git_tree_ids() {
        let (_dir, store, repo) = store();
        // `git write-tree` of a.txt ("hello\n"), a/x ("c"), a0 ("x"): ac16cc0e…, a: 329975e1….
        let mut ops = vec![FileOp::Delete(".gitattributes".into())];
        ops.extend(adds(&store, ["a.txt"], b"hello\n"));
        ops.extend(adds(&store, ["a/x"], b"c"));
        ops.extend(adds(&store, ["a0"], b"x"));
        let head = commit(&store, &repo, ops);
        let root: String = store
            .conn()
            .query_row(
                "SELECT t.oid FROM commits c JOIN trees t ON t.id = c.root_tree WHERE c.oid = ?1",
                [&head],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(root, "ac16cc0edfff843a153090799e12857947b0e6df");
        let page = store.tree_page(&head, "", false, None, 10).unwrap().unwrap();
        let listed: Vec<(String, String)> = page
            .items
            .iter()
            .map(|i| match i {
                TreeItem::File(e) => (e.path.clone(), e.git_oid.clone()),
                TreeItem::Folder { path, tree } => (path.clone(), tree.oid.clone()),
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("a.txt".into(), "ce013625030ba8dba906f756967f9e9ca394464a".into()),
                ("a".into(), "329975e10186a4e38265b7ecc9c1d924722e3883".into()),
                ("a0".into(), "c1b0730e0133447badcfd47fd144e254807b06e1".into()),
            ]
        );
    }

    #[test]
    fn listings_resume_after_any_cursor_in_path_order() {
        let (_dir, store, repo) = store();
        let paths = [
            "a.txt", "a/x", "a/b/c", "a/b/d", "a/b0", "a!b", "a0", "b/c/d/e", "b/c.txt", "z",
        ];
        let head = commit(&store, &repo, adds(&store, paths, b"x"));
        // Depth-first in git's order: paths in byte order, a folder's as "path/".
        let mut expected: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        expected.extend(["a/", "a/b/", "b/", "b/c/", "b/c/d/"].map(str::to_owned));
        expected.push(".gitattributes".into());
        expected.sort();
        let everything = all_pages(&store, &head, "", true, 100);
        assert_eq!(everything, expected);
        for page in [1, 2, 3, 7] {
            assert_eq!(
                all_pages(&store, &head, "", true, page),
                expected,
                "pages of {page}"
            );
        }
        // From after any item: the rest.
        for (i, cursor) in expected.iter().enumerate() {
            let rest = store
                .tree_page(&head, "", true, Some(cursor), 100)
                .unwrap()
                .unwrap();
            let rest: Vec<String> = rest.items.iter().map(TreeItem::cursor).collect();
            assert_eq!(rest, expected[i + 1..], "after {cursor}");
        }
        // One folder, recursive or not.
        assert_eq!(
            all_pages(&store, &head, "a", true, 2),
            ["a/b/", "a/b/c", "a/b/d", "a/b0", "a/x"]
        );
        assert_eq!(all_pages(&store, &head, "a", false, 1), ["a/b/", "a/b0", "a/x"]);
        assert_eq!(
            all_pages(&store, &head, "", false, 2),
            [".gitattributes", "a!b", "a.txt", "a/", "a0", "b/", "z"]
        );
        // Not a folder; a cursor from elsewhere.
        assert!(store.tree_page(&head, "a.txt", true, None, 5).unwrap().is_none());
        assert!(store.tree_page(&head, "nope", true, None, 5).unwrap().is_none());
        assert!(matches!(
            store.tree_page(&head, "a", true, Some("b/c.txt"), 5),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn a_page_reads_about_as_many_rows_as_it_returns() {
        let statements = [SUBTREE, ITEM_NAMED, ITEMS_AFTER];
        // Virtual-machine steps and full-scan steps of the listing's statements in `list`.
        let cost = |store: &Store, list: &dyn Fn()| -> (i32, i32) {
            for sql in statements {
                let conn = store.conn();
                let stmt = conn.prepare_cached(sql).unwrap();
                stmt.reset_status(StatementStatus::VmStep);
                stmt.reset_status(StatementStatus::FullscanStep);
            }
            list();
            statements.iter().fold((0, 0), |(vm, scan), sql| {
                let conn = store.conn();
                let stmt = conn.prepare_cached(sql).unwrap();
                (
                    vm + stmt.get_status(StatementStatus::VmStep),
                    scan + stmt.get_status(StatementStatus::FullscanStep),
                )
            })
        };
        let mut costs = Vec::new();
        for files in [30, 3000] {
            let (_dir, store, repo) = store();
            let paths: Vec<String> = (0..files).map(|i| format!("top/mid{}/f{i:05}", i % 3)).collect();
            let head = commit(
                &store,
                &repo,
                adds(&store, paths.iter().map(String::as_str), b"x"),
            );
            let cursor = format!("top/mid1/f{:05}", files / 2 + 1);
            let page = || {
                let got = store
                    .tree_page(&head, "top", true, Some(&cursor), 7)
                    .unwrap()
                    .unwrap();
                assert_eq!(got.items.len(), 7);
            };
            costs.push(cost(&store, &page));
        }
        let [(small, small_scans), (large, large_scans)] = costs[..] else {
            unreachable!()
        };
        assert_eq!((small_scans, large_scans), (0, 0), "no full scan");
        assert!(
            large <= small + small / 2,
            "a page of 7 among 3000 files costs {large} steps, among 30 {small}"
        );
    }
}
