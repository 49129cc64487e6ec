//! Revisions and refs: resolving a revision to a commit; branches, tags and PR refs.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{RepoRow, Store, StoreError, StoreResult};

/// The three kinds of ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    Branch,
    Tag,
    Pr,
}

impl RefKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            RefKind::Branch => "branch",
            RefKind::Tag => "tag",
            RefKind::Pr => "pr",
        }
    }

    fn from_db(s: &str) -> Self {
        match s {
            "tag" => RefKind::Tag,
            "pr" => RefKind::Pr,
            _ => RefKind::Branch,
        }
    }
}

/// A ref and the commit it names.
#[derive(Debug, Clone)]
pub(crate) struct RefRow {
    pub kind: RefKind,
    pub name: String,
    pub target: String,
}

impl RefRow {
    /// The full git ref name: `refs/heads/main`, `refs/tags/v1`, `refs/pr/1`.
    pub(crate) fn full_name(&self) -> String {
        match self.kind {
            RefKind::Branch => format!("refs/heads/{}", self.name),
            RefKind::Tag => format!("refs/tags/{}", self.name),
            RefKind::Pr => format!("refs/pr/{}", self.name),
        }
    }
}

/// The target of one ref, if it exists.
pub(super) fn ref_target(
    conn: &Connection,
    repo: i64,
    kind: RefKind,
    name: &str,
) -> StoreResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT target FROM refs WHERE repo = ?1 AND kind = ?2 AND name = ?3",
            params![repo, kind.as_str(), name],
            |r| r.get(0),
        )
        .optional()?)
}

/// Parses `refs/pr/N`, `refs/heads/X`, `refs/tags/X` into a kind and a name.
pub(crate) fn parse_full_ref(rev: &str) -> Option<(RefKind, &str)> {
    if let Some(n) = rev.strip_prefix("refs/pr/") {
        return (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some((RefKind::Pr, n));
    }
    if let Some(b) = rev.strip_prefix("refs/heads/") {
        return Some((RefKind::Branch, b));
    }
    rev.strip_prefix("refs/tags/").map(|t| (RefKind::Tag, t))
}

/// Resolves a revision — a branch, a tag, `refs/…`, or a commit id of 7 to 40 hex digits — to
/// the full id of a commit of `repo`.
pub(super) fn resolve_in(conn: &Connection, repo: i64, rev: &str) -> StoreResult<String> {
    if let Some((kind, name)) = parse_full_ref(rev) {
        return ref_target(conn, repo, kind, name)?.ok_or_else(|| StoreError::RevisionNotFound(rev.into()));
    }
    for kind in [RefKind::Branch, RefKind::Tag] {
        if let Some(target) = ref_target(conn, repo, kind, rev)? {
            return Ok(target);
        }
    }
    if (7..=40).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        let lower = rev.to_ascii_lowercase();
        let mut stmt = conn
            .prepare("SELECT oid FROM commits WHERE repo = ?1 AND oid >= ?2 AND oid < ?2 || 'g' LIMIT 2")?;
        let found: Vec<String> = stmt
            .query_map(params![repo, lower], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if let [one] = found.as_slice() {
            return Ok(one.clone());
        }
    }
    Err(StoreError::RevisionNotFound(rev.into()))
}

impl Store {
    /// The commit `rev` names in `repo`.
    pub(crate) fn resolve(&self, repo: &RepoRow, rev: &str) -> StoreResult<String> {
        resolve_in(&self.conn(), repo.key, rev)
    }

    /// The commit ref `name` of `kind` points at, if that ref exists.
    pub(crate) fn ref_head(&self, repo: &RepoRow, kind: RefKind, name: &str) -> StoreResult<Option<String>> {
        ref_target(&self.conn(), repo.key, kind, name)
    }

    /// All refs of `repo`, sorted by kind then name.
    pub(crate) fn refs(&self, repo: &RepoRow) -> StoreResult<Vec<RefRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT kind, name, target FROM refs WHERE repo = ?1
             ORDER BY kind, CASE kind WHEN 'pr' THEN CAST(name AS INTEGER) ELSE 0 END, name",
        )?;
        let rows = stmt
            .query_map(params![repo.key], |r| {
                Ok(RefRow {
                    kind: RefKind::from_db(&r.get::<_, String>(0)?),
                    name: r.get(1)?,
                    target: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Creates branch or tag `name` at the commit `from` resolves to.
    pub(crate) fn create_ref(
        &self,
        repo: &RepoRow,
        kind: RefKind,
        name: &str,
        from: &str,
    ) -> StoreResult<()> {
        hubmix_protocol::repo::validate_ref_name(name).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let target = resolve_in(&tx, repo.key, from)?;
        if ref_target(&tx, repo.key, kind, name)?.is_some() {
            let what = if kind == RefKind::Tag { "Tag" } else { "Branch" };
            return Err(StoreError::RefExists(format!("{what} {name}")));
        }
        tx.execute(
            "INSERT INTO refs (repo, kind, name, target) VALUES (?1, ?2, ?3, ?4)",
            params![repo.key, kind.as_str(), name, target],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes branch or tag `name`; `RevisionNotFound` if there is none.
    pub(crate) fn delete_ref(&self, repo: &RepoRow, kind: RefKind, name: &str) -> StoreResult<()> {
        let deleted = self.conn().execute(
            "DELETE FROM refs WHERE repo = ?1 AND kind = ?2 AND name = ?3",
            params![repo.key, kind.as_str(), name],
        )?;
        if deleted == 0 {
            return Err(StoreError::RevisionNotFound(name.into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_refs() {
        assert_eq!(
            parse_full_ref("refs/pr/12").map(|(k, n)| (k, n.to_owned())),
            Some((RefKind::Pr, "12".into()))
        );
        assert!(parse_full_ref("refs/pr/x").is_none());
        assert_eq!(parse_full_ref("refs/heads/a/b").map(|(_, n)| n), Some("a/b"));
        assert!(parse_full_ref("main").is_none());
    }
}
