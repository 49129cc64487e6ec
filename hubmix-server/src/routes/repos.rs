//! Repositories: create, delete, settings, info.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use hubmix_protocol::types::{
    CreateRepoRequest, Empty, Gated, MoveRepoRequest, RepoInfo, RepoLocation, RepoName, RepoSettings,
    Sibling, SiblingLfs, Visibility,
};
use serde_json::{Map, Value};

use super::{Ctx, json, json_page, next_link, read_json};
use crate::api::RESERVED_NAMESPACES;
use crate::app::App;
use crate::error::ApiError;
use crate::hashing;
use crate::repo_id::{RepoId, RepoType};
use crate::storage::{CommitRow, Entry, Gate, RepoOrder, RepoRow, StoreError};
use hubmix_protocol::card;

/// The repository a create or delete body names; the namespace defaults to the caller.
fn repo_id(body: &RepoName, ctx: &Ctx) -> Result<RepoId, ApiError> {
    // 0.20.3 sends `name` as "ns/name" in some calls; accept both forms.
    let (ns, name) = match (&body.organization, body.name.split_once('/')) {
        (Some(org), _) => (org.clone(), body.name.clone()),
        (None, Some((ns, name))) => (ns.to_owned(), name.to_owned()),
        (None, None) => (ctx.user()?.to_owned(), body.name.clone()),
    };
    RepoId::new(body.kind.unwrap_or_default(), &ns, &name).map_err(ApiError::BadRequest)
}

/// Reads `private` / `visibility` (all client versions; `visibility` wins).
fn wanted_private(private: Option<bool>, visibility: Option<Visibility>) -> Option<bool> {
    visibility.map(Visibility::is_private).or(private)
}

/// `POST /api/repos/create`.
pub(super) async fn create(app: &Arc<App>, ctx: &Ctx, body: Body) -> Result<Response, ApiError> {
    let req: CreateRepoRequest = read_json(&app.config.limits, body).await?;
    let id = repo_id(&req.repo, ctx)?;
    check_namespace(&id)?;
    app.auth.check_write(ctx.who.as_ref(), &id.namespace)?;
    let private = wanted_private(req.private, req.visibility).unwrap_or(false);
    let url = format!("{}/{}", ctx.base, id.url_path());
    let author = ctx.user()?.to_owned();
    let lookup = id.clone();
    match app
        .run(move |a| a.store.create_repo(&lookup, private, &author))
        .await
    {
        Ok(row) => Ok(json(RepoLocation {
            url,
            name: Some(id.to_string()),
            id: Some(row.object_id),
        })),
        Err(ApiError::Conflict { .. }) => Err(ApiError::Conflict {
            message: format!("You already created this {} repo: {id}", id.kind.as_str()),
            url: Some(url),
        }),
        Err(e) => Err(e),
    }
}

/// `POST /api/repos/move`: renames a repository, or moves it to another namespace the caller
/// may write to. `409` when the new id is taken.
pub(super) async fn move_repo(app: &Arc<App>, ctx: &Ctx, body: Body) -> Result<Response, ApiError> {
    let req: MoveRepoRequest = read_json(&app.config.limits, body).await?;
    let kind = req.kind.unwrap_or_default();
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
        Ok(()) => Ok(json(RepoLocation {
            url: format!("{}/{}", ctx.base, to.url_path()),
            ..RepoLocation::default()
        })),
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
pub(super) async fn delete(app: &Arc<App>, ctx: &Ctx, body: Body) -> Result<Response, ApiError> {
    let req: RepoName = read_json(&app.config.limits, body).await?;
    let repo = app.writable_repo(&repo_id(&req, ctx)?, ctx.who.as_ref()).await?;
    app.run(move |a| a.store.delete_repo(&repo)).await?;
    Ok(json(Empty {}))
}

/// Reads `gated`: `false` (not gated), `"auto"` or `"manual"`; `None` when absent.
fn wanted_gate(gated: Option<Gated>) -> Result<Option<Option<Gate>>, ApiError> {
    match gated {
        None => Ok(None),
        Some(Gated::Flag(false)) => Ok(Some(None)),
        Some(Gated::Mode(mode)) if Gate::from_name(&mode).is_some() => Ok(Some(Gate::from_name(&mode))),
        Some(other) => Err(ApiError::BadRequest(format!(
            "'gated' must be false, \"auto\" or \"manual\", not {}",
            serde_json::to_string(&other).unwrap_or_default()
        ))),
    }
}

/// `PUT /api/{type}/{repo}/settings`: visibility and gating (stored and reported; access
/// requests are not implemented).
pub(super) async fn settings(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    body: Body,
) -> Result<Response, ApiError> {
    let req: RepoSettings = read_json(&app.config.limits, body).await?;
    let gated = wanted_gate(req.gated)?;
    let repo = app.writable_repo(&id, ctx.who.as_ref()).await?;
    let private = wanted_private(req.private, req.visibility);
    if private.is_some() || gated.is_some() {
        app.run(move |a| a.store.update_settings(&repo, private, gated))
            .await?;
    }
    Ok(json(Empty {}))
}

/// `GET /api/{type}/{repo}[/revision/{rev}]`: repository info at a revision (default `main`).
pub(super) async fn info(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: Option<String>,
) -> Result<Response, ApiError> {
    let repo = app.readable_repo(&id, ctx.who.as_ref()).await?;
    let rev = rev.unwrap_or_else(|| "main".into());
    let with_blobs = ctx.flag("blobs");
    let row = repo.clone();
    let (commit, entries, card) = app
        .run(move |a| {
            let limits = &a.config.limits.card;
            let oid = a.store.resolve(&row, &rev)?;
            let commit = a
                .store
                .commit_row(&oid)?
                .ok_or(StoreError::RevisionNotFound(rev))?;
            let card = metadata(a.store.small_text(&oid, card::README)?, limits);
            let entries = a.store.entries(&oid)?;
            Ok((commit, entries, card))
        })
        .await?;
    let siblings = entries
        .iter()
        .map(|e| Sibling {
            size: with_blobs.then_some(e.size),
            blob_id: with_blobs.then(|| e.git_oid.clone()),
            lfs: (with_blobs && e.lfs).then(|| SiblingLfs {
                sha256: e.sha256.clone(),
                size: e.size,
                pointer_size: hashing::lfs_pointer(&e.sha256, e.size).len() as u64,
            }),
            ..sibling(e)
        })
        .collect();
    Ok(json(RepoInfo {
        used_storage: Some(entries.iter().map(|e| e.size).sum()),
        siblings: Some(siblings),
        ..summary(&repo, &commit, card.as_ref(), true)
    }))
}

/// `GET /api/{models,datasets,spaces}`: the repositories of a type the caller may read, by id,
/// or newest first with `sort=lastModified|createdAt` (`direction=1` reverses either order).
/// Filters as the Hub's: `author`, `search` (part of the id, any case), `filter` (repeatable;
/// tags the card gives, all required), `pipeline_tag`; `full` adds the files, `full` or
/// `cardData` the card's metadata.
///
/// A page holds at most `limit` repositories (at most, and by default, the page size) and looks
/// at no more than a page size of them: when filters leave out many, a page holds fewer (even
/// none) and the `Link` to the next one resumes where it stopped.
pub(super) async fn list(app: &Arc<App>, ctx: &Ctx, kind: RepoType) -> Result<Response, ApiError> {
    let author = ctx.query("author").map(str::to_owned);
    let search = ctx.query("search").map(str::to_lowercase);
    let wanted_tags: Vec<String> = ctx.query_all("filter").map(str::to_owned).collect();
    let pipeline_tag = ctx.query("pipeline_tag").map(str::to_owned);
    let page_size = app.config.limits.page_size;
    let limit = ctx.page_size(page_size)?;
    let order = match ctx.query("sort") {
        Some("lastModified") => RepoOrder::LastModified,
        Some("createdAt") => RepoOrder::CreatedAt,
        _ => RepoOrder::Id,
    };
    let descending = (order != RepoOrder::Id) != (ctx.query("direction") == Some("1"));
    let mut after = ctx.query("cursor").map(str::to_owned);
    let (full, with_card) = (ctx.flag("full"), ctx.flag("full") || ctx.flag("cardData"));
    let who = ctx.who.clone();
    let (found, next) = app
        .run(move |a| {
            let mut found = Vec::new();
            let mut looked_at = 0;
            loop {
                let batch = (page_size - looked_at).min(LIST_BATCH) + 1;
                let rows = a.store.repo_page(
                    kind,
                    author.as_deref(),
                    order,
                    descending,
                    after.as_deref(),
                    batch,
                )?;
                let more = rows.len() == batch;
                for listed in rows {
                    if found.len() == limit || looked_at == page_size {
                        return Ok((found, after));
                    }
                    looked_at += 1;
                    after = Some(listed.cursor);
                    let repo = listed.repo;
                    let visible = a.auth.can_read(who.as_ref(), &repo.id.namespace, repo.private);
                    let named = search
                        .as_ref()
                        .is_none_or(|q| repo.id.to_string().to_lowercase().contains(q));
                    if !visible || !named {
                        continue;
                    }
                    let oid = a.store.resolve(&repo, "main")?;
                    let Some(commit) = a.store.commit_row(&oid)? else {
                        continue;
                    };
                    let card = metadata(a.store.small_text(&oid, card::README)?, &a.config.limits.card);
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
                if !more {
                    return Ok((found, None));
                }
            }
        })
        .await?;
    let items: Vec<RepoInfo> = found
        .iter()
        .map(|(repo, commit, files, card)| RepoInfo {
            siblings: full.then(|| files.iter().map(sibling).collect()),
            ..summary(repo, commit, card.as_ref(), with_card)
        })
        .collect();
    Ok(json_page(items, next.map(|cursor| next_link(ctx, &cursor))))
}

/// Repositories read from the database at once while a listing looks for its page, at most.
const LIST_BATCH: usize = 100;

/// A file as the info and the listings name it.
fn sibling(e: &Entry) -> Sibling {
    Sibling {
        rfilename: e.path.clone(),
        ..Sibling::default()
    }
}

/// What the info and the listings say of a repository at `commit`, with the metadata of its
/// card (`cardData` only `with_card`). `modelId`, `library_name` and `pipeline_tag` are for
/// models only.
fn summary(
    repo: &RepoRow,
    commit: &CommitRow,
    card: Option<&Map<String, Value>>,
    with_card: bool,
) -> RepoInfo {
    let id = &repo.id;
    let model = id.kind == RepoType::Model;
    let field = |key: &str| {
        card.filter(|_| model)
            .and_then(|c| c.get(key)?.as_str().map(str::to_owned))
    };
    RepoInfo {
        object_id: Some(repo.object_id.clone()),
        id: id.to_string(),
        author: Some(id.namespace.clone()),
        sha: Some(commit.oid.clone()),
        last_modified: Some(commit.date.clone()),
        created_at: Some(repo.created_at.clone()),
        private: repo.private,
        gated: repo
            .gated
            .map_or(Gated::Flag(false), |gate| Gated::Mode(gate.as_str().to_owned())),
        tags: card.map(card::tags).unwrap_or_default(),
        card_data: card.filter(|_| with_card).cloned(),
        model_id: model.then(|| id.to_string()),
        library_name: field("library_name"),
        pipeline_tag: field("pipeline_tag"),
        ..RepoInfo::default()
    }
}

/// The metadata of a card's text, read within the hub's card `limits` (`None`: no card, or one
/// the Hub would refuse, as a commit from before this check could hold).
fn metadata(readme: Option<String>, limits: &card::FrontMatterLimits) -> Option<Map<String, Value>> {
    card::card_data_within(&readme?, limits).ok().flatten()
}
