//! Repositories: create, look up, list, change settings (visibility, gating), delete.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, TransactionBehavior, params, params_from_iter};

use super::commits::{CommitTarget, FileOp, NewCommit, apply_commit};
use super::{Entry, Store, StoreError, StoreResult, random_hex};
use crate::repo_id::{RepoId, RepoType, repo_type_from_db};
use crate::time;

/// A repository as stored.
#[derive(Debug, Clone)]
pub(crate) struct RepoRow {
    /// The database key. Never reused: a recreated repository gets a new one.
    pub key: i64,
    pub id: RepoId,
    pub private: bool,
    pub created_at: String,
    /// The repository's permanent id: 24 random hex digits, unique, the `_id` the Hub shows. It
    /// stays the same when the repository is renamed or moved, and no other repository ever has
    /// it (a recreated one gets a new one), so a URL signed for it is good for it alone.
    pub object_id: String,
    /// Whether users must ask for access, and how it is granted (`None`: not gated). Stored and
    /// reported; access requests themselves are not implemented.
    pub gated: Option<Gate>,
}

/// How access to a gated repository is granted (the Hub's `gated`: `"auto"` or `"manual"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Every request is granted at once.
    Auto,
    /// The owners grant each request.
    Manual,
}

impl Gate {
    /// Its name, in the database and on the wire.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Gate::Auto => "auto",
            Gate::Manual => "manual",
        }
    }

    /// The gate a name gives, `None` for another name.
    pub(crate) fn from_name(name: &str) -> Option<Gate> {
        match name {
            "auto" => Some(Gate::Auto),
            "manual" => Some(Gate::Manual),
            _ => None,
        }
    }

    /// The `repos.gated` column (NULL: not gated; the schema admits no other value).
    fn from_db(value: Option<String>) -> Option<Gate> {
        value.as_deref().and_then(Gate::from_name)
    }
}

/// The orders of a repository listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RepoOrder {
    /// By id (`namespace/name`).
    Id,
    /// By creation time, then id.
    CreatedAt,
    /// By the date of the head of `main`, then id.
    LastModified,
}

impl RepoOrder {
    /// The columns of the order, each order indexed (after the kind, and the namespace when
    /// the listing is of one namespace, which the order then leaves out).
    fn columns(self, one_namespace: bool) -> &'static [&'static str] {
        match (self, one_namespace) {
            (RepoOrder::Id, false) => &["namespace", "name"],
            (RepoOrder::Id, true) => &["name"],
            (RepoOrder::CreatedAt, false) => &["created_at", "namespace", "name"],
            (RepoOrder::CreatedAt, true) => &["created_at", "name"],
            (RepoOrder::LastModified, false) => &["last_modified", "namespace", "name"],
            (RepoOrder::LastModified, true) => &["last_modified", "name"],
        }
    }
}

/// A repository of a listing, and the cursor that resumes the listing after it.
#[derive(Debug, Clone)]
pub(crate) struct ListedRepo {
    pub repo: RepoRow,
    pub cursor: String,
}

/// The `.gitattributes` every new repository starts with, as on huggingface.co.
pub(super) const INITIAL_GITATTRIBUTES: &str = "*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
";

impl Store {
    /// Creates a repository with one initial commit on `main` holding `.gitattributes`.
    pub(crate) fn create_repo(&self, id: &RepoId, private: bool, author: &str) -> StoreResult<RepoRow> {
        let content = INITIAL_GITATTRIBUTES.as_bytes();
        let sha = self.blobs.put_bytes(content)?;
        let entry = Entry::regular(".gitattributes".into(), content, sha);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = RepoRow {
            key: 0,
            id: id.clone(),
            private,
            created_at: time::now_iso(),
            object_id: random_hex(12),
            gated: None,
        };
        // A clash of the random `object_id` (2^-96) is an error, not a "repository exists".
        let inserted = tx.execute(
            "INSERT INTO repos (kind, namespace, name, private, created_at, object_id, last_modified)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5) ON CONFLICT (kind, namespace, name) DO NOTHING",
            params![
                id.kind.as_str(),
                id.namespace,
                id.name,
                private,
                row.created_at,
                row.object_id
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::RepoExists);
        }
        let row = RepoRow {
            key: tx.last_insert_rowid(),
            ..row
        };
        let initial = NewCommit {
            author: author.to_owned(),
            title: "initial commit".into(),
            message: String::new(),
            parent_commit: None,
            ops: vec![FileOp::Add(entry)],
        };
        apply_commit(
            &tx,
            &self.blobs,
            &row,
            CommitTarget::NewBranch("main".into()),
            &initial,
        )?;
        tx.commit()?;
        Ok(row)
    }

    /// The repository `id`, if it exists.
    pub(crate) fn repo(&self, id: &RepoId) -> StoreResult<Option<RepoRow>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, private, created_at, object_id, gated FROM repos
                 WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
                params![id.kind.as_str(), id.namespace, id.name],
                |r| {
                    Ok(RepoRow {
                        key: r.get(0)?,
                        id: id.clone(),
                        private: r.get(1)?,
                        created_at: r.get(2)?,
                        object_id: r.get(3)?,
                        gated: Gate::from_db(r.get(4)?),
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Gives `repo` the id `to` (of its kind): history, refs, LFS objects and discussions go
    /// with it. [`StoreError::RepoExists`] when `to` is taken.
    pub(crate) fn move_repo(&self, repo: &RepoRow, to: &RepoId) -> StoreResult<()> {
        let moved = self.conn().execute(
            "UPDATE OR IGNORE repos SET namespace = ?1, name = ?2 WHERE id = ?3",
            params![to.namespace, to.name, repo.key],
        )?;
        if moved == 0 {
            return Err(StoreError::RepoExists);
        }
        Ok(())
    }

    /// At most `limit` repositories of `kind` (of the namespace `author` only, if given), in
    /// `order` (reversed if `descending`), starting after the cursor `after` (from a
    /// [`ListedRepo`] of the same listing). One indexed range scan.
    pub(crate) fn repo_page(
        &self,
        kind: RepoType,
        author: Option<&str>,
        order: RepoOrder,
        descending: bool,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ListedRepo>> {
        let columns = order.columns(author.is_some());
        let sql = page_sql(order, descending, author.is_some(), after.is_some());
        let mut args: Vec<Value> = vec![Value::Text(kind.as_str().to_owned())];
        args.extend(author.map(|a| Value::Text(a.to_owned())));
        if let Some(cursor) = after {
            args.extend(decode_cursor(cursor, columns.len())?.into_iter().map(Value::Text));
        }
        args.push(Value::Integer(limit.min(i64::MAX as usize) as i64));

        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), |r| {
            let keys: Vec<String> = (7..7 + columns.len())
                .map(|i| r.get(i))
                .collect::<Result<_, _>>()?;
            Ok(ListedRepo {
                repo: RepoRow {
                    key: r.get(0)?,
                    id: RepoId {
                        kind,
                        namespace: r.get(1)?,
                        name: r.get(2)?,
                    },
                    private: r.get(3)?,
                    created_at: r.get(4)?,
                    object_id: r.get(5)?,
                    gated: Gate::from_db(r.get(6)?),
                },
                cursor: URL_SAFE_NO_PAD.encode(keys.join("\n")),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The repository with database key `key` (LFS transfer URLs carry the key).
    pub(crate) fn repo_by_key(&self, key: i64) -> StoreResult<Option<RepoRow>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT kind, namespace, name, private, created_at, object_id, gated FROM repos WHERE id = ?1",
                params![key],
                |r| {
                    Ok(RepoRow {
                        key,
                        id: RepoId {
                            kind: repo_type_from_db(&r.get::<_, String>(0)?),
                            namespace: r.get(1)?,
                            name: r.get(2)?,
                        },
                        private: r.get(3)?,
                        created_at: r.get(4)?,
                        object_id: r.get(5)?,
                        gated: Gate::from_db(r.get(6)?),
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Changes `repo`'s settings, in one transaction: its visibility when `private` is given,
    /// its gate when `gated` is (`Some(None)`: not gated any more).
    pub(crate) fn update_settings(
        &self,
        repo: &RepoRow,
        private: Option<bool>,
        gated: Option<Option<Gate>>,
    ) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(private) = private {
            tx.execute(
                "UPDATE repos SET private = ?1 WHERE id = ?2",
                params![private, repo.key],
            )?;
        }
        if let Some(gated) = gated {
            tx.execute(
                "UPDATE repos SET gated = ?1 WHERE id = ?2",
                params![gated.map(Gate::as_str), repo.key],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes a repository and its whole history (file contents stay in the blob store, which
    /// other repositories may share).
    pub(crate) fn delete_repo(&self, repo: &RepoRow) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM refs WHERE repo = ?1", params![repo.key])?;
        tx.execute("DELETE FROM repos WHERE id = ?1", params![repo.key])?;
        tx.commit()?;
        Ok(())
    }
}

/// The query of [`Store::repo_page`]: its parameters are the kind, the author if `by_author`,
/// the cursor's values if `after_cursor`, and the limit.
fn page_sql(order: RepoOrder, descending: bool, by_author: bool, after_cursor: bool) -> String {
    let columns = order.columns(by_author);
    let list = columns.join(", ");
    let mut sql = format!(
        "SELECT id, namespace, name, private, created_at, object_id, gated, {list} FROM repos WHERE kind = ?"
    );
    if by_author {
        sql.push_str(" AND namespace = ?");
    }
    let (compare, direction) = if descending { ("<", "DESC") } else { (">", "ASC") };
    if after_cursor {
        let marks = vec!["?"; columns.len()].join(", ");
        sql.push_str(&format!(" AND ({list}) {compare} ({marks})"));
    }
    let by: Vec<String> = columns.iter().map(|c| format!("{c} {direction}")).collect();
    sql.push_str(&format!(" ORDER BY {} LIMIT ?", by.join(", ")));
    sql
}

/// The values of a repository listing's cursor ([`ListedRepo::cursor`]), `count` of them.
fn decode_cursor(cursor: &str, count: usize) -> StoreResult<Vec<String>> {
    let invalid = || {
        StoreError::Invalid(format!(
            "the cursor {cursor:?} is not one of this listing: start from the first page"
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let values: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if values.len() != count {
        return Err(invalid());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_pages_are_index_range_scans() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let conn = store.conn();
        for order in [RepoOrder::Id, RepoOrder::CreatedAt, RepoOrder::LastModified] {
            for flags in 0..8 {
                let (descending, by_author, after) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
                let sql = page_sql(order, descending, by_author, after);
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let plan: Vec<String> = stmt
                    .query_map(
                        params_from_iter(std::iter::repeat_n("x", stmt.parameter_count())),
                        |r| r.get(3),
                    )
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let plan = plan.join("; ");
                assert!(plan.starts_with("SEARCH repos USING"), "{sql}: {plan}");
                assert!(!plan.contains("TEMP B-TREE"), "{sql}: sorted apart: {plan}");
            }
        }
    }

    #[test]
    fn cursors_of_another_listing_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for id in ["alice/a", "alice/b", "bob/c"] {
            let (ns, name) = id.split_once('/').unwrap();
            let id = RepoId::new(RepoType::Model, ns, name).unwrap();
            store.create_repo(&id, false, ns).unwrap();
        }
        let page =
            |order, after: Option<&str>| store.repo_page(RepoType::Model, None, order, false, after, 2);
        let first = page(RepoOrder::Id, None).unwrap();
        let rest = page(RepoOrder::Id, Some(&first[1].cursor)).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].repo.id.to_string(), "bob/c");
        // An id cursor has two values, a creation-order cursor three.
        assert!(matches!(
            page(RepoOrder::CreatedAt, Some(&first[1].cursor)),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            page(RepoOrder::Id, Some("%%%")),
            Err(StoreError::Invalid(_))
        ));
    }
}
