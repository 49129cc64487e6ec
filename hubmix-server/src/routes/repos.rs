//! Repositories: create, delete, settings, info.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, json, read_json};
use crate::api::RESERVED_NAMESPACES;
use crate::app::App;
use crate::error::ApiError;
use crate::hashing;
use crate::repo_id::{RepoId, RepoType};
use crate::storage::StoreError;

/// The body of create and delete calls.
#[derive(Deserialize)]
struct RepoBody {
    name: String,
    organization: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    private: Option<bool>,
    visibility: Option<String>,
}

impl RepoBody {
    /// The repository the body names; the namespace defaults to the caller.
    fn repo_id(&self, ctx: &Ctx) -> Result<RepoId, ApiError> {
        let kind = RepoType::from_body(self.kind.as_deref())
            .ok_or_else(|| ApiError::BadRequest(format!("unknown repository type {:?}", self.kind)))?;
        // 0.20.3 sends `name` as "ns/name" in some calls; accept both forms.
        let (ns, name) = match (&self.organization, self.name.split_once('/')) {
            (Some(org), _) => (org.clone(), self.name.clone()),
            (None, Some((ns, name))) => (ns.to_owned(), name.to_owned()),
            (None, None) => (ctx.user()?.to_owned(), self.name.clone()),
        };
        RepoId::new(kind, &ns, &name).map_err(ApiError::BadRequest)
    }
}

/// Reads `private` / `visibility` (all client versions).
fn wanted_private(private: Option<bool>, visibility: Option<&str>) -> Result<Option<bool>, ApiError> {
    match visibility {
        Some("private") | Some("protected") => Ok(Some(true)),
        Some("public") => Ok(Some(false)),
        Some(other) => Err(ApiError::BadRequest(format!(
            "unknown visibility {other:?}: use public or private"
        ))),
        None => Ok(private),
    }
}

/// `POST /api/repos/create`.
pub async fn create(app: &Arc<App>, ctx: &Ctx, body: Body) -> Result<Response, ApiError> {
    let req: RepoBody = read_json(body).await?;
    let id = req.repo_id(ctx)?;
    if RESERVED_NAMESPACES.contains(&id.namespace.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "{} is a reserved name",
            id.namespace
        )));
    }
    app.auth.check_write(ctx.who.as_ref(), &id.namespace)?;
    let private = wanted_private(req.private, req.visibility.as_deref())?.unwrap_or(false);
    let url = format!("{}/{}", ctx.base, id.url_path());
    let author = ctx.user()?.to_owned();
    let lookup = id.clone();
    match app
        .run(move |a| a.store.create_repo(&lookup, private, &author))
        .await
    {
        Ok(row) => Ok(json(
            json!({"url": url, "name": id.to_string(), "id": row.object_id}),
        )),
        Err(ApiError::Conflict { .. }) => Err(ApiError::Conflict {
            message: format!("You already created this {} repo: {id}", id.kind.as_str()),
            url: Some(url),
        }),
        Err(e) => Err(e),
    }
}

/// `DELETE /api/repos/delete`.
pub async fn delete(app: &Arc<App>, ctx: &Ctx, body: Body) -> Result<Response, ApiError> {
    let req: RepoBody = read_json(body).await?;
    let repo = app.writable_repo(&req.repo_id(ctx)?, ctx.who.as_ref()).await?;
    app.run(move |a| a.store.delete_repo(&repo)).await?;
    Ok(json(json!({})))
}

/// `PUT /api/{type}/{repo}/settings`: visibility (`gated` is accepted and ignored).
pub async fn settings(app: &Arc<App>, ctx: &Ctx, id: RepoId, body: Body) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Settings {
        private: Option<bool>,
        visibility: Option<String>,
    }
    let req: Settings = read_json(body).await?;
    let repo = app.writable_repo(&id, ctx.who.as_ref()).await?;
    if let Some(private) = wanted_private(req.private, req.visibility.as_deref())? {
        app.run(move |a| a.store.set_private(&repo, private)).await?;
    }
    Ok(json(json!({})))
}

/// `GET /api/{type}/{repo}[/revision/{rev}]`: repository info at a revision (default `main`).
pub async fn info(app: &Arc<App>, ctx: &Ctx, id: RepoId, rev: Option<String>) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let rev = rev.unwrap_or_else(|| "main".into());
    let with_blobs = ctx.flag("blobs");
    let row = repo.clone();
    let (commit, entries) = app
        .run(move |a| {
            let oid = a.store.resolve(&row, &rev)?;
            let commit = a
                .store
                .commit_row(&oid)?
                .ok_or(StoreError::RevisionNotFound(rev))?;
            Ok((commit, a.store.entries(&oid)?))
        })
        .await?;
    let siblings: Vec<Value> = entries
        .iter()
        .map(|e| {
            if !with_blobs {
                return json!({"rfilename": e.path});
            }
            let mut s = json!({"rfilename": e.path, "size": e.size, "blobId": e.git_oid});
            if e.lfs {
                let pointer_size = hashing::lfs_pointer(&e.sha256, e.size).len();
                s["lfs"] = json!({"sha256": e.sha256, "size": e.size, "pointerSize": pointer_size});
            }
            s
        })
        .collect();
    let used: u64 = entries.iter().map(|e| e.size).sum();
    let mut info = json!({
        "_id": repo.object_id,
        "id": id.to_string(),
        "author": id.namespace,
        "sha": commit.oid,
        "lastModified": commit.date,
        "createdAt": repo.created_at,
        "private": repo.private,
        "gated": false,
        "disabled": false,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "usedStorage": used,
        "siblings": siblings,
    });
    if id.kind == RepoType::Model {
        info["modelId"] = id.to_string().into();
        info["library_name"] = Value::Null;
        info["pipeline_tag"] = Value::Null;
    }
    Ok(json(info))
}
