//! Discussions and pull requests, as far as the clients' PR flows need them.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use hubmix_protocol::types::{
    self, CreateDiscussionAnswer, CreateDiscussionRequest, DiscussionAuthor, DiscussionDetails,
    DiscussionList, DiscussionRepo, PrChanges,
};

use super::{Ctx, json, read_json};
use crate::app::App;
use crate::error::ApiError;
use crate::repo_id::RepoId;
use crate::storage::Discussion;

fn summary(d: &Discussion, id: &RepoId) -> types::Discussion {
    types::Discussion {
        num: d.num,
        title: d.title.clone(),
        status: d.status.clone(),
        is_pull_request: d.is_pr,
        created_at: d.created_at.clone(),
        author: Some(DiscussionAuthor {
            name: d.author.clone(),
        }),
        repo: DiscussionRepo {
            name: id.to_string(),
            kind: id.kind,
        },
        num_comments: 0,
        pinned: false,
        top_reactions: Vec::new(),
    }
}

/// `GET /api/{type}/{repo}/discussions`.
pub(super) async fn list(app: &Arc<App>, ctx: &Ctx, id: RepoId) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let all = app.run(move |a| a.store.discussions(&repo)).await?;
    Ok(json(DiscussionList {
        discussions: all.iter().map(|d| summary(d, &id)).collect(),
        count: all.len() as u64,
        start: 0,
        num_closed_discussions: 0,
    }))
}

/// `POST /api/{type}/{repo}/discussions` with `{"title", "description", "pullRequest"}`. A pull
/// request starts at the head of `main`. Anyone who can see the repository may open one, with a
/// write token.
pub(super) async fn create(app: &Arc<App>, ctx: &Ctx, id: RepoId, body: Body) -> Result<Response, ApiError> {
    let req: CreateDiscussionRequest = read_json(&app.config.limits, body).await?;
    // Opening a discussion or a pull request changes the repository: it needs a write token.
    let author = app.auth.check_contributor(ctx.who.as_ref())?.user.clone();
    if req.title.trim().is_empty() {
        return Err(ApiError::BadRequest("a discussion needs a title".into()));
    }
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let base = req.pull_request.then_some("main");
    let num = app
        .run(move |a| {
            a.store
                .create_discussion(&repo, &req.title, &req.description, &author, base)
        })
        .await?;
    Ok(json(CreateDiscussionAnswer {
        num,
        url: Some(format!("{}/{}/discussions/{num}", ctx.base, id.url_path())),
    }))
}

/// `GET /api/{type}/{repo}/discussions/{num}`.
pub(super) async fn details(app: &Arc<App>, ctx: &Ctx, id: RepoId, num: u64) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let d = app
        .run(move |a| a.store.discussion(&repo, num))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("discussion {num} does not exist")))?;
    let pr = d.is_pr;
    Ok(json(DiscussionDetails {
        discussion: summary(&d, &id),
        events: Vec::new(),
        changes: pr.then(|| PrChanges {
            base: d.base.clone(),
            merge_commit_id: None,
        }),
        files_with_conflicts: pr.then(Vec::new),
        diff: pr.then(String::new),
    }))
}
