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

/// `GET /api/{type}/{repo}/commits/{rev}`: history, newest first, paged with `Link`.
pub(super) async fn commits(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let offset = ctx
        .query("cursor")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let page_size = ctx.page_size(app.config.limits.page_size)?;
    // One extra row tells whether there is a next page.
    let mut rows = app
        .run(move |a| {
            let head = a.store.resolve(&repo, &rev)?;
            a.store.log(&head, offset, page_size + 1)
        })
        .await?;
    let link = (rows.len() > page_size).then(|| super::next_link(ctx, offset + page_size));
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
    let req: CreateBranchRequest = read_json(&app.config.limits, body).await?;
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
    let req: CreateTagRequest = read_json(&app.config.limits, body).await?;
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
