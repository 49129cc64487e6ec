//! Refs: listing, branches, tags, and the commit history of a revision.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use hubmix_protocol::types::{
    CommitAuthor, CreateBranchRequest, CreateTagRequest, Empty, GitCommit, GitRef, Refs,
};

use super::{Ctx, json, json_page, read_json};
use crate::app::App;
use crate::error::ApiError;
use crate::repo_id::RepoId;
use crate::storage::RefKind;

/// `GET /api/{type}/{repo}/refs[?include_prs=1]`.
pub(super) async fn list(app: &Arc<App>, ctx: &Ctx, id: RepoId) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let refs = app.run(move |a| a.store.refs(&repo)).await?;
    let of = |kind: RefKind| -> Vec<GitRef> {
        refs.iter()
            .filter(|r| r.kind == kind)
            .map(|r| GitRef {
                name: r.name.clone(),
                full_name: r.full_name(),
                target_commit: r.target.clone(),
            })
            .collect()
    };
    Ok(json(Refs {
        branches: of(RefKind::Branch),
        converts: Vec::new(),
        tags: of(RefKind::Tag),
        pull_requests: ctx.flag("include_prs").then(|| of(RefKind::Pr)),
    }))
}

/// `GET /api/{type}/{repo}/commits/{rev}[?p=N]`: history, newest first, a page at a time (from
/// page `N`, counted from 0, with `p`). The `Link` to the next page carries its first commit as
/// `cursor`, so that each page costs its own commits.
pub(super) async fn commits(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let page: usize = match ctx.query("p") {
        Some(p) => p
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("p={p:?} is not a page number")))?,
        None => 0,
    };
    let cursor = match ctx.query("cursor") {
        Some(c) if hubmix_protocol::repo::is_commit_id(c) => Some(c.to_owned()),
        Some(c) => {
            return Err(ApiError::BadRequest(format!(
                "cursor={c:?} is not a commit id: start from the first page"
            )));
        }
        None => None,
    };
    let page_size = app.config.page_size;
    // One extra commit: the first of the next page, if there is one.
    let mut rows = app
        .run(move |a| {
            let start = match cursor {
                Some(commit) => a.store.resolve(&repo, &commit)?,
                None => {
                    let head = a.store.resolve(&repo, &rev)?;
                    match a.store.ancestor(&head, page.saturating_mul(page_size))? {
                        Some(start) => start,
                        None => return Ok(Vec::new()),
                    }
                }
            };
            a.store.log(&start, page_size + 1)
        })
        .await?;
    let link = rows.get(page_size).map(|next| super::next_link(ctx, &next.oid));
    rows.truncate(page_size);
    let items: Vec<GitCommit> = rows
        .into_iter()
        .map(|c| GitCommit {
            id: c.oid,
            title: c.title,
            message: c.message,
            authors: vec![CommitAuthor {
                user: c.author,
                avatar: None,
            }],
            date: c.date,
            parents: c.parent.into_iter().collect(),
        })
        .collect();
    Ok(json_page(items, link))
}

/// `POST /api/{type}/{repo}/branch/{branch}` with `{"startingPoint": rev}` (default `main`).
pub(super) async fn create_branch(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    branch: String,
    body: Body,
) -> Result<Response, ApiError> {
    let req: CreateBranchRequest = read_json(body).await?;
    let repo = app.writable_repo(&id, ctx.who.as_ref()).await?;
    let from = req.starting_point.unwrap_or_else(|| "main".into());
    app.run(move |a| a.store.create_ref(&repo, RefKind::Branch, &branch, &from))
        .await?;
    Ok(json(Empty {}))
}

/// `DELETE /api/{type}/{repo}/branch/{branch}`; `main` cannot be deleted.
pub(super) async fn delete_branch(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    branch: String,
) -> Result<Response, ApiError> {
    let repo = app.writable_repo(&id, ctx.who.as_ref()).await?;
    if branch == "main" {
        return Err(ApiError::Forbidden(
            "the default branch main cannot be deleted".into(),
        ));
    }
    app.run(move |a| a.store.delete_ref(&repo, RefKind::Branch, &branch))
        .await?;
    Ok(json(Empty {}))
}

/// `POST /api/{type}/{repo}/tag/{rev}` with `{"tag": name, "message": ...}`.
pub(super) async fn create_tag(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
    body: Body,
) -> Result<Response, ApiError> {
    let req: CreateTagRequest = read_json(body).await?;
    let repo = app.writable_repo(&id, ctx.who.as_ref()).await?;
    app.run(move |a| a.store.create_ref(&repo, RefKind::Tag, &req.tag, &rev))
        .await?;
    Ok(json(Empty {}))
}

/// `DELETE /api/{type}/{repo}/tag/{tag}`.
pub(super) async fn delete_tag(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    tag: String,
) -> Result<Response, ApiError> {
    let repo = app.writable_repo(&id, ctx.who.as_ref()).await?;
    app.run(move |a| a.store.delete_ref(&repo, RefKind::Tag, &tag))
        .await?;
    Ok(json(Empty {}))
}
