//! Repositories: create, delete, settings, info.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Ctx, json, read_json};
use crate::api::RESERVED_NAMESPACES;
use crate::app::App;
use crate::card;
use crate::error::ApiError;
use crate::hashing;
use crate::repo_id::{RepoId, RepoType};
use crate::storage::{CommitRow, RepoRow, StoreError};

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
    check_namespace(&id)?;
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

/// `POST /api/repos/move`: renames a repository, or moves it to another namespace the caller
/// may write to. `409` when the new id is taken.
pub async fn move_repo(app: &Arc<App>, ctx: &Ctx, body: Body) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Move {
        from_repo: String,
        to_repo: String,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let req: Move = read_json(body).await?;
    let kind = RepoType::from_body(req.kind.as_deref())
        .ok_or_else(|| ApiError::BadRequest(format!("unknown repository type {:?}", req.kind)))?;
    let parse = |id: &str| {
        let (ns, name) = id
            .split_once('/')
            .ok_or_else(|| ApiError::BadRequest(format!("{id:?} needs a namespace: namespace/name")))?;
        RepoId::new(kind, ns, name).map_err(ApiError::BadRequest)
    };
    let (from, to) = (parse(&req.from_repo)?, parse(&req.to_repo)?);
    check_namespace(&to)?;
    let repo = app.writable_repo(&from, ctx.who.as_ref()).await?;
    app.auth.check_write(ctx.who.as_ref(), &to.namespace)?;
    let target = to.clone();
    match app.run(move |a| a.store.move_repo(&repo, &target)).await {
        Ok(()) => Ok(json(json!({"url": format!("{}/{}", ctx.base, to.url_path())}))),
        Err(ApiError::Conflict { .. }) => Err(ApiError::Conflict {
            message: format!("{to} already exists: choose another name"),
            url: None,
        }),
        Err(e) => Err(e),
    }
}

/// Refuses the namespaces that are route prefixes.
fn check_namespace(id: &RepoId) -> Result<(), ApiError> {
    if RESERVED_NAMESPACES.contains(&id.namespace.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "{} is a reserved name",
            id.namespace
        )));
    }
    Ok(())
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
    let (commit, entries, card) = app
        .run(move |a| {
            let oid = a.store.resolve(&row, &rev)?;
            let commit = a
                .store
                .commit_row(&oid)?
                .ok_or(StoreError::RevisionNotFound(rev))?;
            let entries = a.store.entries(&oid)?;
            let readme = entries.iter().find(|e| e.path == card::README);
            let card = metadata(readme.and_then(|e| a.store.text_of(e)));
            Ok((commit, entries, card))
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
    let mut info = summary(&repo, &commit, card.as_ref(), true);
    info["usedStorage"] = entries.iter().map(|e| e.size).sum::<u64>().into();
    info["siblings"] = siblings.into();
    Ok(json(info))
}

/// `GET /api/{models,datasets,spaces}`: the repositories of a type the caller may read, newest
/// `main` first with `sort`, else by id. Filters as the Hub's: `author`, `search` (part of the
/// id, any case), `filter` (repeatable; tags the card gives, all required), `pipeline_tag`;
/// `limit`; `full` adds the files, `full` or `cardData` the card's metadata. One page.
pub async fn list(app: &Arc<App>, ctx: &Ctx, kind: RepoType) -> Result<Response, ApiError> {
    let author = ctx.query("author").map(str::to_owned);
    let search = ctx.query("search").map(str::to_lowercase);
    let wanted_tags: Vec<String> = ctx.query_all("filter").map(str::to_owned).collect();
    let pipeline_tag = ctx.query("pipeline_tag").map(str::to_owned);
    let limit = match ctx.query("limit") {
        Some(v) => Some(
            v.parse::<usize>()
                .map_err(|_| ApiError::BadRequest(format!("limit {v:?} is not a count")))?,
        ),
        None => None,
    };
    let (full, with_card) = (ctx.flag("full"), ctx.flag("full") || ctx.flag("cardData"));
    let who = ctx.who.clone();
    let mut found = app
        .run(move |a| {
            let mut found = Vec::new();
            for repo in a.store.repos(kind)? {
                let visible = a.auth.can_read(who.as_ref(), &repo.id.namespace, repo.private);
                let named = author.as_ref().is_none_or(|n| *n == repo.id.namespace)
                    && search
                        .as_ref()
                        .is_none_or(|q| repo.id.to_string().to_lowercase().contains(q));
                if !visible || !named {
                    continue;
                }
                let oid = a.store.resolve(&repo, "main")?;
                let Some(commit) = a.store.commit_row(&oid)? else {
                    continue;
                };
                let card = metadata(a.store.small_text(&oid, card::README)?);
                let tags = card.as_ref().map(card::tags).unwrap_or_default();
                let pipeline = card
                    .as_ref()
                    .and_then(|c| c.get("pipeline_tag")?.as_str().map(str::to_owned));
                if wanted_tags.iter().all(|t| tags.contains(t))
                    && pipeline_tag.as_ref().is_none_or(|p| pipeline.as_ref() == Some(p))
                {
                    // The files, for `full` only: the listing reads just the card otherwise.
                    let files = if full { a.store.entries(&oid)? } else { Vec::new() };
                    found.push((repo, commit, files, card));
                }
            }
            Ok(found)
        })
        .await?;
    match ctx.query("sort") {
        Some("lastModified") => found.sort_by(|a, b| b.1.date.cmp(&a.1.date)),
        Some("createdAt") => found.sort_by(|a, b| b.0.created_at.cmp(&a.0.created_at)),
        _ => {}
    }
    if ctx.query("direction") == Some("1") {
        found.reverse();
    }
    found.truncate(limit.unwrap_or(usize::MAX));
    let items: Vec<Value> = found
        .iter()
        .map(|(repo, commit, files, card)| {
            let mut item = summary(repo, commit, card.as_ref(), with_card);
            if full {
                item["siblings"] = files.iter().map(|e| json!({"rfilename": e.path})).collect();
            }
            item
        })
        .collect();
    Ok(json(Value::Array(items)))
}

/// What the info and the listings say of a repository at `commit`, with the metadata of its
/// card (`cardData` only `with_card`).
fn summary(repo: &RepoRow, commit: &CommitRow, card: Option<&Map<String, Value>>, with_card: bool) -> Value {
    let id = &repo.id;
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
        "tags": card.map(card::tags).unwrap_or_default(),
    });
    if with_card && let Some(card) = card {
        info["cardData"] = Value::Object(card.clone());
    }
    if id.kind == RepoType::Model {
        let field = |key: &str| card.and_then(|c| c.get(key)).cloned().unwrap_or(Value::Null);
        info["modelId"] = id.to_string().into();
        info["library_name"] = field("library_name");
        info["pipeline_tag"] = field("pipeline_tag");
    }
    info
}

/// The metadata of a card's text (`None`: no card, or one the Hub would refuse, as a commit from
/// before this check could hold).
fn metadata(readme: Option<String>) -> Option<Map<String, Value>> {
    card::card_data(&readme?).ok().flatten()
}
