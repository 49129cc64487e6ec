//! Tree listings and paths-info: what files (and folders) a revision holds.
//!
//! A listing is paged with a cursor, the path of the last item of the page (a folder's with a
//! `/` appended) in the `cursor` parameter of the `Link: <…>; rel="next"` URL; a page costs about
//! its own rows. Folder ids are the git tree ids stored with the trees.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use hubmix_protocol::types::{EntryKind, LfsInfo, TreeEntry};

use super::{Ctx, json, json_page, next_link, read_body};
use crate::app::App;
use crate::error::ApiError;
use crate::hashing;
use crate::repo_id::RepoId;
use crate::storage::TreeItem;

/// Largest paths-info form body.
const MAX_FORM_BODY: usize = 4 * 1024 * 1024;

/// An item as listings show it.
fn tree_entry(item: TreeItem) -> TreeEntry {
    match item {
        TreeItem::File(e) => TreeEntry {
            kind: EntryKind::File,
            lfs: e.lfs.then(|| LfsInfo {
                oid: e.sha256.clone(),
                size: e.size,
                pointer_size: hashing::lfs_pointer(&e.sha256, e.size).len() as u64,
            }),
            oid: e.git_oid,
            size: e.size,
            path: e.path,
            last_commit: None,
        },
        TreeItem::Folder { path, tree } => TreeEntry {
            kind: EntryKind::Directory,
            oid: tree.oid,
            size: 0,
            path,
            lfs: None,
            last_commit: None,
        },
    }
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
    let after = ctx.query("cursor").map(str::to_owned);
    let limit = app.config.page_size;
    let wanted = folder.clone();
    let asked = rev.clone();
    let (commit, page) = app
        .run(move |a| {
            let commit = a.store.resolve(&repo, &asked)?;
            let page = a
                .store
                .tree_page(&commit, &wanted, recursive, after.as_deref(), limit)?;
            Ok((commit, page))
        })
        .await?;
    let Some(page) = page else {
        return Err(ApiError::EntryNotFound {
            path: folder,
            rev,
            commit: Some(commit),
        });
    };
    let link = page.next.map(|cursor| next_link(ctx, &cursor));
    Ok(json_page(
        page.items.into_iter().map(tree_entry).collect::<Vec<_>>(),
        link,
    ))
}

/// `POST /api/{type}/{repo}/paths-info/{rev}` with a form body `paths=a&paths=b`: the entries
/// that exist, files and folders alike, each once, in the order first asked; missing paths are
/// left out.
pub(super) async fn paths_info(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
    body: Body,
) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let form = read_body(body, MAX_FORM_BODY).await?;
    let form =
        std::str::from_utf8(&form).map_err(|_| ApiError::BadRequest("the form body is not UTF-8".into()))?;
    let mut seen = HashSet::new();
    let paths: Vec<String> = super::parse_query(form)
        .into_iter()
        .filter(|(k, _)| k == "paths" || k == "paths[]")
        .map(|(_, v)| v.trim_matches('/').to_owned())
        .filter(|p| seen.insert(p.clone()))
        .collect();
    let items = app
        .run(move |a| {
            let commit = a.store.resolve(&repo, &rev)?;
            a.store.paths_info(&commit, &paths)
        })
        .await?;
    Ok(json(items.into_iter().map(tree_entry).collect::<Vec<_>>()))
}
