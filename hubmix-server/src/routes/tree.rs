//! Tree listings and paths-info: what files (and folders) a revision holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use hubmix_protocol::types::{EntryKind, LfsInfo, TreeEntry};

use super::{Ctx, json, json_page, paginate, read_paths_form};
use crate::app::App;
use crate::error::ApiError;
use crate::hashing;
use crate::repo_id::RepoId;
use crate::storage::Entry;

/// A file in a listing.
fn file_item(e: &Entry) -> TreeEntry {
    TreeEntry {
        kind: EntryKind::File,
        oid: e.git_oid.clone(),
        size: e.size,
        path: e.path.clone(),
        lfs: e.lfs.then(|| LfsInfo {
            oid: e.sha256.clone(),
            size: e.size,
            pointer_size: hashing::lfs_pointer(&e.sha256, e.size).len() as u64,
        }),
        last_commit: None,
    }
}

/// A folder whose files (anywhere below it) are `files`.
fn folder_item(path: &str, files: &[&Entry]) -> TreeEntry {
    let lines: Vec<String> = files
        .iter()
        .map(|e| format!("{} {}", e.path, e.git_oid))
        .collect();
    let oid = hashing::sha1_hex(&[b"tree", path.as_bytes(), lines.join("\n").as_bytes()]);
    TreeEntry {
        kind: EntryKind::Directory,
        oid,
        size: 0,
        path: path.to_owned(),
        lfs: None,
        last_commit: None,
    }
}

/// The folders that hold `entries`, each with the files below it, keyed by path.
fn folders<'a>(entries: &'a [Entry], below: &str) -> BTreeMap<String, Vec<&'a Entry>> {
    let mut out: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        let rel = e.path.strip_prefix(below).unwrap_or(&e.path);
        let mut end = 0;
        while let Some(i) = rel[end..].find('/') {
            end += i;
            out.entry(format!("{below}{}", &rel[..end])).or_default().push(e);
            end += 1;
        }
    }
    out
}

/// `GET /api/{type}/{repo}/tree/{rev}[/{folder}]?recursive=&cursor=`.
pub(super) async fn tree(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
    folder: String,
) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let recursive = ctx.flag("recursive");
    let wanted = folder.clone();
    let asked = rev.clone();
    let (commit, entries) = app
        .run(move |a| {
            let commit = a.store.resolve(&repo, &asked)?;
            let entries = if wanted.is_empty() {
                a.store.entries(&commit)?
            } else {
                a.store.entries_under(&commit, &wanted)?
            };
            Ok((commit, entries))
        })
        .await?;
    if !folder.is_empty() && entries.is_empty() {
        return Err(ApiError::EntryNotFound {
            path: folder,
            rev,
            commit: Some(commit),
        });
    }
    let below = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    let mut items: Vec<TreeEntry> = Vec::new();
    for (path, files) in folders(&entries, &below) {
        if recursive || !path[below.len()..].contains('/') {
            items.push(folder_item(&path, &files));
        }
    }
    for e in &entries {
        if recursive || !e.path[below.len()..].contains('/') {
            items.push(file_item(e));
        }
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    let (page, link) = paginate(ctx, items, ctx.page_size(app.config.limits.page_size)?);
    Ok(json_page(page, link))
}

/// `POST /api/{type}/{repo}/paths-info/{rev}` with a form body `paths=a&paths=b`: the entries
/// that exist, files and folders alike; missing paths are left out.
pub(super) async fn paths_info(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
    body: Body,
) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let paths = read_paths_form(&app.config.limits, body).await?;
    let items = app
        .run(move |a| {
            let commit = a.store.resolve(&repo, &rev)?;
            let mut items = Vec::new();
            for path in paths {
                if let Some(e) = a.store.entry(&commit, &path)? {
                    items.push(file_item(&e));
                    continue;
                }
                let below = a.store.entries_under(&commit, &path)?;
                if !path.is_empty() && !below.is_empty() {
                    items.push(folder_item(&path, &below.iter().collect::<Vec<_>>()));
                }
            }
            Ok(items)
        })
        .await?;
    Ok(json(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Entry {
        Entry::regular(path.into(), b"x", String::new())
    }

    #[test]
    fn folders_are_every_prefix() {
        let entries = vec![file("a/b/c.txt"), file("a/d.txt"), file("e.txt")];
        let all: Vec<String> = folders(&entries, "").into_keys().collect();
        assert_eq!(all, ["a", "a/b"]);
        let below: Vec<String> = folders(&entries[..2], "a/").into_keys().collect();
        assert_eq!(below, ["a/b"]);
    }
}
