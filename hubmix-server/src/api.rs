//! Which API call a request is: the route table, matched on the raw (still percent-encoded)
//! path so that a revision like `refs%2Fpr%2F1` stays one segment, then decoded piece by piece.

use axum::http::Method;

use crate::error::ApiError;
use crate::paths::{decode_segment, decode_tail};
use crate::repo_id::{RepoId, RepoType};

/// One API call, with its decoded arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /metrics`: the server's counters ([`crate::stats`]).
    Metrics,
    WhoAmI,
    AgentHarnesses,
    ValidateYaml,
    /// `GET /api/{models,datasets,spaces}`.
    ListRepos {
        kind: RepoType,
    },
    CreateRepo,
    MoveRepo,
    DeleteRepo,
    RepoInfo {
        repo: RepoId,
        rev: Option<String>,
    },
    Tree {
        repo: RepoId,
        rev: String,
        folder: String,
    },
    PathsInfo {
        repo: RepoId,
        rev: String,
    },
    Refs {
        repo: RepoId,
    },
    Commits {
        repo: RepoId,
        rev: String,
    },
    CreateBranch {
        repo: RepoId,
        branch: String,
    },
    DeleteBranch {
        repo: RepoId,
        branch: String,
    },
    /// POST: tag the revision `rev` (the tag name is in the body).
    CreateTag {
        repo: RepoId,
        rev: String,
    },
    DeleteTag {
        repo: RepoId,
        tag: String,
    },
    Settings {
        repo: RepoId,
    },
    Preupload {
        repo: RepoId,
        rev: String,
    },
    Commit {
        repo: RepoId,
        rev: String,
    },
    ListDiscussions {
        repo: RepoId,
    },
    CreateDiscussion {
        repo: RepoId,
    },
    Discussion {
        repo: RepoId,
        num: u64,
    },
    Xet,
    Resolve {
        repo: RepoId,
        rev: String,
        path: String,
        head_only: bool,
    },
    LfsBatch {
        repo: RepoId,
    },
    LfsTransfer {
        step: LfsStep,
        repo_key: i64,
        oid: String,
    },
}

/// What the body of a request is, for the limit its declared length is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// A JSON document, or no body at all.
    Json,
    /// An NDJSON commit.
    Commit,
    /// A `paths-info` form.
    Form,
    /// The bytes of an LFS object or part (bounded by the size its signed URL names).
    Upload,
}

impl Route {
    /// Whether the call changes the hub: these count against the per-token write limit.
    pub(crate) fn is_write(&self) -> bool {
        matches!(
            self,
            Route::CreateRepo
                | Route::MoveRepo
                | Route::DeleteRepo
                | Route::Settings { .. }
                | Route::CreateBranch { .. }
                | Route::DeleteBranch { .. }
                | Route::CreateTag { .. }
                | Route::DeleteTag { .. }
                | Route::Commit { .. }
                | Route::CreateDiscussion { .. }
                | Route::LfsBatch { .. }
        )
    }

    /// What its request body is.
    pub(crate) fn body_kind(&self) -> BodyKind {
        match self {
            Route::Commit { .. } => BodyKind::Commit,
            Route::PathsInfo { .. } => BodyKind::Form,
            Route::LfsTransfer {
                step: LfsStep::Upload,
                ..
            } => BodyKind::Upload,
            _ => BodyKind::Json,
        }
    }
}

/// The self-authorising LFS transfer URLs the batch answer hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LfsStep {
    /// `PUT` the whole object, or one part (`?part=N`).
    Upload,
    /// `POST` the list of parts of a multipart upload.
    Complete,
    /// `POST {oid, size}` to check the object arrived.
    Verify,
}

impl LfsStep {
    pub(crate) fn segment(self) -> &'static str {
        match self {
            LfsStep::Upload => "upload",
            LfsStep::Complete => "complete",
            LfsStep::Verify => "verify",
        }
    }
}

/// The path prefix of the LFS transfer URLs.
pub(crate) const LFS_TRANSFER_PREFIX: &str = "/_hubmix/lfs";

/// Namespaces that cannot be created because they are route prefixes.
pub(crate) const RESERVED_NAMESPACES: &[&str] = &["api", "datasets", "spaces", "models", "_hubmix"];

/// Matches `method` and the raw `path` to a route.
pub(crate) fn parse(method: &Method, path: &str) -> Result<Route, ApiError> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = || ApiError::NotFound(format!("no API route for {method} {path}"));
    let m = method.clone();
    match segs.as_slice() {
        ["metrics"] if m == Method::GET => Ok(Route::Metrics),
        ["api", "whoami-v2"] if m == Method::GET => Ok(Route::WhoAmI),
        ["api", "agent-harnesses"] if m == Method::GET => Ok(Route::AgentHarnesses),
        ["api", "validate-yaml"] if m == Method::POST => Ok(Route::ValidateYaml),
        ["api", kind @ ("models" | "datasets" | "spaces")] if m == Method::GET => Ok(Route::ListRepos {
            kind: RepoType::from_api_segment(kind).expect("the pattern lists the kinds"),
        }),
        ["api", "repos", "create"] if m == Method::POST => Ok(Route::CreateRepo),
        ["api", "repos", "move"] if m == Method::POST => Ok(Route::MoveRepo),
        ["api", "repos", "delete"] if m == Method::DELETE => Ok(Route::DeleteRepo),
        ["api", rt, ns, name, rest @ ..] if RepoType::from_api_segment(rt).is_some() => {
            let kind = RepoType::from_api_segment(rt).expect("checked by the guard");
            let repo = repo_id(kind, ns, name)?;
            repo_api(&m, repo, rest).ok_or_else(not_found)?
        }
        ["_hubmix", "lfs", step, key, oid] => {
            let step = match (*step, &m) {
                ("upload", &Method::PUT) => LfsStep::Upload,
                ("complete", &Method::POST) => LfsStep::Complete,
                ("verify", &Method::POST) => LfsStep::Verify,
                _ => return Err(not_found()),
            };
            let repo_key = key.parse().map_err(|_| not_found())?;
            Ok(Route::LfsTransfer {
                step,
                repo_key,
                oid: (*oid).to_owned(),
            })
        }
        [first, rest @ ..] => {
            let (kind, rest) = match *first {
                "datasets" => (RepoType::Dataset, rest),
                "spaces" => (RepoType::Space, rest),
                "models" => (RepoType::Model, rest),
                _ => (RepoType::Model, segs.as_slice()),
            };
            match rest {
                [ns, name_git, "info", "lfs", "objects", "batch"] if m == Method::POST => {
                    let name = name_git.strip_suffix(".git").ok_or_else(not_found)?;
                    Ok(Route::LfsBatch {
                        repo: repo_id(kind, ns, name)?,
                    })
                }
                [ns, name, "resolve", rev, path @ ..]
                    if !path.is_empty() && (m == Method::GET || m == Method::HEAD) =>
                {
                    Ok(Route::Resolve {
                        repo: repo_id(kind, ns, name)?,
                        rev: decode(rev)?,
                        path: decode_tail(path).map_err(ApiError::BadRequest)?,
                        head_only: m == Method::HEAD,
                    })
                }
                [_, "resolve", ..] => Err(ApiError::RepoNotFound),
                _ => Err(not_found()),
            }
        }
        [] => Err(not_found()),
    }
}

/// The routes under `/api/{type}/{namespace}/{name}/`.
fn repo_api(m: &Method, repo: RepoId, rest: &[&str]) -> Option<Result<Route, ApiError>> {
    let is = |want: Method| *m == want;
    let route = match rest {
        [] if is(Method::GET) => Ok(Route::RepoInfo { repo, rev: None }),
        ["revision", rev @ ..] if is(Method::GET) && !rev.is_empty() => decode_tail(rev)
            .map_err(ApiError::BadRequest)
            .map(|rev| Route::RepoInfo { repo, rev: Some(rev) }),
        ["tree", rev, folder @ ..] if is(Method::GET) => decode(rev).and_then(|rev| {
            let folder = decode_tail(folder).map_err(ApiError::BadRequest)?;
            Ok(Route::Tree {
                repo,
                rev,
                folder: folder.trim_matches('/').to_owned(),
            })
        }),
        ["paths-info", rev] if is(Method::POST) => decode(rev).map(|rev| Route::PathsInfo { repo, rev }),
        ["refs"] if is(Method::GET) => Ok(Route::Refs { repo }),
        ["commits", rev] if is(Method::GET) => decode(rev).map(|rev| Route::Commits { repo, rev }),
        ["branch", branch @ ..] if !branch.is_empty() => {
            let branch = match decode_tail(branch) {
                Ok(b) => b,
                Err(e) => return Some(Err(ApiError::BadRequest(e))),
            };
            match *m {
                Method::POST => Ok(Route::CreateBranch { repo, branch }),
                Method::DELETE => Ok(Route::DeleteBranch { repo, branch }),
                _ => return None,
            }
        }
        ["tag", name @ ..] if !name.is_empty() => {
            let name = match decode_tail(name) {
                Ok(n) => n,
                Err(e) => return Some(Err(ApiError::BadRequest(e))),
            };
            match *m {
                Method::POST => Ok(Route::CreateTag { repo, rev: name }),
                Method::DELETE => Ok(Route::DeleteTag { repo, tag: name }),
                _ => return None,
            }
        }
        ["settings"] if is(Method::PUT) => Ok(Route::Settings { repo }),
        ["preupload", rev] if is(Method::POST) => decode(rev).map(|rev| Route::Preupload { repo, rev }),
        ["commit", rev] if is(Method::POST) => decode(rev).map(|rev| Route::Commit { repo, rev }),
        ["discussions"] if is(Method::GET) => Ok(Route::ListDiscussions { repo }),
        ["discussions"] if is(Method::POST) => Ok(Route::CreateDiscussion { repo }),
        ["discussions", num] if is(Method::GET) => match num.parse() {
            Ok(num) => Ok(Route::Discussion { repo, num }),
            Err(_) => Err(ApiError::BadRequest(format!(
                "discussion number {num:?} is not a number"
            ))),
        },
        ["xet-write-token" | "xet-read-token", ..] => Ok(Route::Xet),
        _ => return None,
    };
    Some(route)
}

fn decode(raw: &str) -> Result<String, ApiError> {
    decode_segment(raw).map_err(ApiError::BadRequest)
}

fn repo_id(kind: RepoType, ns: &str, name: &str) -> Result<RepoId, ApiError> {
    let ns = decode(ns)?;
    let name = decode(name)?;
    RepoId::new(kind, &ns, &name).map_err(ApiError::BadRequest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(ns: &str, name: &str) -> RepoId {
        RepoId::new(RepoType::Model, ns, name).unwrap()
    }

    #[test]
    fn resolve_keeps_encoded_revisions_whole() {
        let r = parse(&Method::GET, "/alice/demo/resolve/refs%2Fpr%2F1/a/b%20c.txt").unwrap();
        assert_eq!(
            r,
            Route::Resolve {
                repo: model("alice", "demo"),
                rev: "refs/pr/1".into(),
                path: "a/b c.txt".into(),
                head_only: false
            }
        );
        let r = parse(&Method::HEAD, "/datasets/alice/ds/resolve/main/x.csv").unwrap();
        assert!(matches!(r, Route::Resolve { repo, head_only: true, .. } if repo.kind == RepoType::Dataset));
        assert_eq!(
            parse(&Method::GET, "/api/datasets").unwrap(),
            Route::ListRepos {
                kind: RepoType::Dataset
            }
        );
        assert!(parse(&Method::POST, "/api/models").is_err());
    }

    #[test]
    fn api_routes() {
        assert_eq!(
            parse(&Method::GET, "/api/models/alice/demo/tree/feature%2Fx/sub%2Fdir").unwrap(),
            Route::Tree {
                repo: model("alice", "demo"),
                rev: "feature/x".into(),
                folder: "sub/dir".into()
            }
        );
        assert_eq!(
            parse(&Method::POST, "/api/models/alice/demo/branch/feature%2Fx").unwrap(),
            Route::CreateBranch {
                repo: model("alice", "demo"),
                branch: "feature/x".into()
            }
        );
        assert_eq!(
            parse(&Method::POST, "/alice/demo.git/info/lfs/objects/batch").unwrap(),
            Route::LfsBatch {
                repo: model("alice", "demo")
            }
        );
        assert!(matches!(
            parse(&Method::GET, "/api/models/alice/demo/xet-write-token/main"),
            Ok(Route::Xet)
        ));
        assert!(matches!(
            parse(&Method::GET, "/api/nope"),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            parse(&Method::GET, "/api/models/al--ice/demo"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse(&Method::GET, "/gpt2/resolve/main/config.json"),
            Err(ApiError::RepoNotFound)
        ));
    }
}
