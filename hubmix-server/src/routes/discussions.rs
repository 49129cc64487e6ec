//! Discussions and pull requests, as far as the clients' PR flows need them.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, json, read_json};
use crate::app::App;
use crate::error::ApiError;
use crate::repo_id::RepoId;
use crate::storage::Discussion;

fn summary(d: &Discussion, id: &RepoId) -> Value {
    json!({
        "num": d.num,
        "title": d.title,
        "status": d.status,
        "isPullRequest": d.is_pr,
        "createdAt": d.created_at,
        "author": {"name": d.author},
        "repo": {"name": id.to_string(), "type": id.kind.as_str()},
        "numComments": 0,
        "pinned": false,
        "topReactions": [],
    })
}

/// `GET /api/{type}/{repo}/discussions`.
pub async fn list(app: &Arc<App>, ctx: &Ctx, id: RepoId) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let all = app.run(move |a| a.store.discussions(&repo)).await?;
    let items: Vec<Value> = all.iter().map(|d| summary(d, &id)).collect();
    Ok(json(
        json!({"discussions": items, "count": all.len(), "start": 0, "numClosedDiscussions": 0}),
    ))
}

/// `POST /api/{type}/{repo}/discussions` with `{"title", "description", "pullRequest"}`. A pull
/// request starts at the head of `main`. Anyone who can see the repository may open one, with a
/// write token.
pub async fn create(app: &Arc<App>, ctx: &Ctx, id: RepoId, body: Body) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Req {
        title: String,
        #[serde(default)]
        description: String,
        #[serde(default, rename = "pullRequest")]
        pull_request: bool,
    }
    let req: Req = read_json(body).await?;
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
    Ok(json(
        json!({"num": num, "url": format!("{}/{}/discussions/{num}", ctx.base, id.url_path())}),
    ))
}

/// `GET /api/{type}/{repo}/discussions/{num}`.
pub async fn details(app: &Arc<App>, ctx: &Ctx, id: RepoId, num: u64) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let d = app
        .run(move |a| a.store.discussion(&repo, num))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("discussion {num} does not exist")))?;
    let mut body = summary(&d, &id);
    body["events"] = json!([]);
    if d.is_pr {
        body["changes"] = json!({"base": d.base});
        body["filesWithConflicts"] = json!([]);
        body["diff"] = json!("");
    }
    Ok(json(body))
}
