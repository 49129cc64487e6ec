//! Repositories: create, look up, change visibility, delete.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::commits::{CommitTarget, FileOp, NewCommit};
use super::{Entry, Store, StoreError, StoreResult, random_hex};
use crate::repo_id::{RepoId, RepoType, repo_type_from_db};
use crate::time;

/// A repository as stored.
#[derive(Debug, Clone)]
pub(crate) struct RepoRow {
    /// The database key (a recreated repository gets a new one).
    pub key: i64,
    pub id: RepoId,
    pub private: bool,
    pub created_at: String,
    /// The 24-hex `_id` the Hub shows.
    pub object_id: String,
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
        };
        let inserted = tx.execute(
            "INSERT INTO repos (kind, namespace, name, private, created_at, object_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
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
        Self::apply_commit(&tx, &row, CommitTarget::NewBranch("main".into()), &initial)?;
        tx.commit()?;
        Ok(row)
    }

    /// The repository `id`, if it exists.
    pub(crate) fn repo(&self, id: &RepoId) -> StoreResult<Option<RepoRow>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, private, created_at, object_id FROM repos
                 WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
                params![id.kind.as_str(), id.namespace, id.name],
                |r| {
                    Ok(RepoRow {
                        key: r.get(0)?,
                        id: id.clone(),
                        private: r.get(1)?,
                        created_at: r.get(2)?,
                        object_id: r.get(3)?,
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

    /// Every repository of `kind`, by id.
    pub(crate) fn repos(&self, kind: RepoType) -> StoreResult<Vec<RepoRow>> {
        let conn = self.conn();
        let mut query = conn.prepare(
            "SELECT id, namespace, name, private, created_at, object_id FROM repos
             WHERE kind = ?1 ORDER BY namespace, name",
        )?;
        let rows = query.query_map(params![kind.as_str()], |r| {
            Ok(RepoRow {
                key: r.get(0)?,
                id: RepoId {
                    kind,
                    namespace: r.get(1)?,
                    name: r.get(2)?,
                },
                private: r.get(3)?,
                created_at: r.get(4)?,
                object_id: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The repository with database key `key` (LFS transfer URLs carry the key).
    pub(crate) fn repo_by_key(&self, key: i64) -> StoreResult<Option<RepoRow>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT kind, namespace, name, private, created_at, object_id FROM repos WHERE id = ?1",
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
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    pub(crate) fn set_private(&self, repo: &RepoRow, private: bool) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE repos SET private = ?1 WHERE id = ?2",
            params![private, repo.key],
        )?;
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
