//! Repository management (`hub-protocol.md` §3–4): create, delete and configure repositories;
//! branches and tags; who a token belongs to; listings of files, refs and commits; existence
//! checks.
//!
//! Calls about a whole repository take a reference without a revision (`"alice/mlp"`) and
//! refuse one with (`"alice/mlp@v1"`); calls about a revision read it from the reference
//! (`"alice/mlp@dev"`, default `main`).

use serde::Deserialize;
use serde_json::{Value, json};
use ureq::http::Method;

use crate::client::HubClient;
use crate::error::HubError;
use crate::http::{Call, Context, check, read_json};
use crate::repo::{IntoRepoRef, RepoId, RepoRef, RepoType, encode_revision};

/// Options of [`HubClient::create_repo`].
#[derive(Debug, Clone, Default)]
pub struct CreateRepoOptions {
    /// `Some(true)`: private, `Some(false)`: public, `None`: the Hub's default (public).
    pub private: Option<bool>,
    /// Succeed (returning the existing repository) when it exists already.
    pub exist_ok: bool,
}

impl CreateRepoOptions {
    /// Private (`true`) or public (`false`).
    pub fn private(mut self, private: bool) -> Self {
        self.private = Some(private);
        self
    }

    /// Succeed when the repository exists already.
    pub fn exist_ok(mut self, exist_ok: bool) -> Self {
        self.exist_ok = exist_ok;
        self
    }
}

/// A repository as the Hub names it: its canonical id and its web URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    /// The canonical id (with the namespace the Hub chose when none was given).
    pub id: RepoId,
    /// `{endpoint}/{datasets/|spaces/}{namespace}/{name}`.
    pub url: String,
}

/// Changes made by [`HubClient::update_repo_settings`]; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct RepoSettings {
    /// Make the repository private (`true`) or public (`false`).
    pub private: Option<bool>,
}

/// Who a token belongs to ([`HubClient::whoami`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WhoAmI {
    /// The user (or organisation) name: the namespace of its repositories.
    pub name: String,
    /// `user` or `org`.
    pub kind: String,
    /// The organisations the user belongs to.
    pub orgs: Vec<String>,
    /// The token's role: `read`, `write`, `fineGrained`..., when the Hub says.
    pub token_role: Option<String>,
}

/// A branch, tag or pull-request ref.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitRef {
    /// `main`, `v1.0`, or the PR number (`1`).
    pub name: String,
    /// `refs/heads/main`, `refs/tags/v1.0`, `refs/pr/1`.
    #[serde(rename = "ref")]
    pub full_name: String,
    /// The commit it points at.
    #[serde(rename = "targetCommit")]
    pub target_commit: String,
}

/// The refs of a repository ([`HubClient::list_repo_refs`]).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepoRefs {
    /// Branches.
    #[serde(default)]
    pub branches: Vec<GitRef>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<GitRef>,
    /// `refs/convert/*` refs.
    #[serde(default)]
    pub converts: Vec<GitRef>,
    /// Pull requests (`refs/pr/N`), when asked for.
    #[serde(default, rename = "pullRequests")]
    pub pull_requests: Vec<GitRef>,
}

/// One commit of a history ([`HubClient::list_repo_commits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitCommit {
    /// The commit id.
    pub id: String,
    /// The first line of the message.
    pub title: String,
    /// The rest of the message.
    pub message: String,
    /// Who made it.
    pub authors: Vec<String>,
    /// When (`YYYY-MM-DDTHH:MM:SS.fffZ`).
    pub date: String,
}

#[derive(Deserialize)]
struct RawCommit {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    authors: Vec<RawAuthor>,
    #[serde(default)]
    date: String,
}

#[derive(Deserialize)]
struct RawAuthor {
    user: String,
}

/// The repository of a reference that must not carry a revision.
fn repo_only(repo: impl IntoRepoRef, call: &str) -> Result<RepoId, HubError> {
    let r = repo.into_repo_ref()?;
    match r.revision {
        None => Ok(r.id),
        Some(rev) => Err(HubError::InvalidRevision {
            revision: rev,
            reason: format!(
                "{call} is about the whole repository {}: leave out the '@revision'",
                r.id
            ),
        }),
    }
}

fn ctx(repo: &RepoId, revision: Option<&str>) -> Context {
    Context {
        repo: repo.to_string(),
        revision: revision.map(str::to_owned),
        path: None,
    }
}

/// The JSON body naming a repository in create and delete calls.
fn repo_body(repo: &RepoId) -> Value {
    let mut body = json!({"name": repo.name, "organization": repo.namespace});
    if repo.repo_type != RepoType::Model {
        body["type"] = repo.repo_type.as_str().into();
    }
    body
}

impl HubClient {
    /// Creates a repository and returns its canonical id and URL. Without a namespace
    /// (`"mlp"`), the repository goes to the token's user.
    ///
    /// ```no_run
    /// use hubmix::{CreateRepoOptions, HubClient};
    /// let hub = HubClient::new()?;
    /// let repo = hub.create_repo("alice/mlp", &CreateRepoOptions::default().private(true).exist_ok(true))?;
    /// println!("{} at {}", repo.id, repo.url);
    /// # Ok::<(), hubmix::HubError>(())
    /// ```
    pub fn create_repo(
        &self,
        repo: impl IntoRepoRef,
        options: &CreateRepoOptions,
    ) -> Result<RepoUrl, HubError> {
        let id = repo_only(repo, "create_repo")?;
        self.require_token("creating a repository")?;
        let mut body = repo_body(&id);
        if let Some(private) = options.private {
            body["visibility"] = if private { "private" } else { "public" }.into();
        }
        let url = format!("{}/api/repos/create", self.settings().endpoint);
        let call = Call::new(Method::POST, &url).json(&body).no_retry();
        let ctx = ctx(&id, None);
        let mut response = self.http().send(&call)?;
        let status = response.status().as_u16();
        let answer: Value = if options.exist_ok && status == 409 {
            read_json(&mut response, &url)?
        } else {
            match check(response, &url, &ctx) {
                Ok(mut ok) => read_json(&mut ok, &url)?,
                // No right to create in the namespace, but maybe it exists and is readable.
                Err(e @ HubError::Forbidden { .. }) if options.exist_ok && id.namespace.is_some() => {
                    return self
                        .repo_info_at(&id, None)
                        .map(|_| self.repo_url(id))
                        .map_err(|_| e);
                }
                Err(e) => return Err(e),
            }
        };
        match answer["url"].as_str() {
            Some(web) => Ok(RepoUrl {
                id: self.parse_repo_url(web, id.repo_type)?,
                url: web.to_owned(),
            }),
            None if id.namespace.is_some() => Ok(self.repo_url(id)),
            None => Err(HubError::InvalidResponse {
                url,
                reason: "the answer has no \"url\" naming the new repository".into(),
            }),
        }
    }

    /// `{endpoint}/{prefix}{id}`.
    fn repo_url(&self, id: RepoId) -> RepoUrl {
        let url = format!("{}/{}", self.settings().endpoint, id.url_path());
        RepoUrl { id, url }
    }

    /// The repository a web URL names (`http://host/datasets/alice/ds` → `datasets/alice/ds`).
    fn parse_repo_url(&self, url: &str, repo_type: RepoType) -> Result<RepoId, HubError> {
        let invalid = |reason: &str| HubError::InvalidResponse {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let path_of = |u: &str| -> Option<String> {
            let rest = u.split_once("://")?.1;
            Some(rest.find('/').map_or("", |i| &rest[i..]).to_owned())
        };
        let path = path_of(url).ok_or_else(|| invalid("not an absolute URL"))?;
        let base = path_of(&self.settings().endpoint).unwrap_or_default();
        let path = path
            .strip_prefix(base.as_str())
            .unwrap_or(&path)
            .trim_matches('/');
        let parsed: RepoRef = path
            .parse()
            .map_err(|_| invalid("the URL does not name a repository"))?;
        if parsed.revision.is_some() || parsed.id.namespace.is_none() {
            return Err(invalid("the URL does not name a repository"));
        }
        Ok(RepoId {
            repo_type,
            ..parsed.id
        })
    }

    /// Renames a repository, or moves it to another namespace the token may write to; its
    /// history, branches, tags and files go with it. Both ids are of the same type (the type of
    /// `from`); a taken `to` is a [`HubError::Conflict`].
    ///
    /// ```no_run
    /// let hub = hubmix::HubClient::new()?;
    /// let moved = hub.move_repo("alice/mlp-draft", "team/mlp")?;
    /// println!("now at {}", moved.url);
    /// # Ok::<(), hubmix::HubError>(())
    /// ```
    pub fn move_repo(&self, from: impl IntoRepoRef, to: impl IntoRepoRef) -> Result<RepoUrl, HubError> {
        let from = repo_only(from, "move_repo")?;
        let to = RepoId {
            repo_type: from.repo_type,
            ..repo_only(to, "move_repo")?
        };
        for id in [&from, &to] {
            if id.namespace.is_none() {
                return Err(HubError::InvalidRepoId {
                    id: id.to_string(),
                    reason: "moving needs both ids with their namespace (namespace/name)".into(),
                });
            }
        }
        self.require_token("moving a repository")?;
        let url = format!("{}/api/repos/move", self.settings().endpoint);
        let body =
            json!({"fromRepo": from.to_string(), "toRepo": to.to_string(), "type": from.repo_type.as_str()});
        let call = Call::new(Method::POST, url).json(&body).no_retry();
        self.http().call(&call, &ctx(&from, None))?;
        Ok(self.repo_url(to))
    }

    /// Deletes a repository. With `missing_ok`, a repository that does not exist is not an error.
    pub fn delete_repo(&self, repo: impl IntoRepoRef, missing_ok: bool) -> Result<(), HubError> {
        let id = repo_only(repo, "delete_repo")?;
        self.require_token("deleting a repository")?;
        let url = format!("{}/api/repos/delete", self.settings().endpoint);
        let call = Call::new(Method::DELETE, url).json(&repo_body(&id)).no_retry();
        match self.http().call(&call, &ctx(&id, None)) {
            Ok(_) => Ok(()),
            Err(HubError::RepoNotFound { .. }) if missing_ok => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Changes a repository's settings (visibility).
    pub fn update_repo_settings(
        &self,
        repo: impl IntoRepoRef,
        settings: &RepoSettings,
    ) -> Result<(), HubError> {
        let id = repo_only(repo, "update_repo_settings")?;
        self.require_token("changing repository settings")?;
        let mut body = json!({});
        if let Some(private) = settings.private {
            body["visibility"] = if private { "private" } else { "public" }.into();
        }
        let call = Call::new(Method::PUT, self.api_url(&id, "/settings")).json(&body);
        self.http().call(&call, &ctx(&id, None)).map(drop)
    }

    /// Creates `branch` at the reference's revision (`"alice/mlp@v1"`; default: the default
    /// branch's head). With `exist_ok`, an existing branch is left as it is.
    ///
    /// ```no_run
    /// # let hub = hubmix::HubClient::new()?;
    /// hub.create_branch("alice/mlp@v1", "fix/from-v1", false)?;
    /// # Ok::<(), hubmix::HubError>(())
    /// ```
    pub fn create_branch(
        &self,
        repo: impl IntoRepoRef,
        branch: &str,
        exist_ok: bool,
    ) -> Result<(), HubError> {
        let r = repo.into_repo_ref()?;
        self.require_token("creating a branch")?;
        let body = match &r.revision {
            Some(from) => json!({"startingPoint": from}),
            None => json!({}),
        };
        let url = self.api_url(&r.id, &format!("/branch/{}", encode_revision(branch)));
        let call = Call::new(Method::POST, url).json(&body).no_retry();
        match self.http().call(&call, &ctx(&r.id, r.revision.as_deref())) {
            Ok(_) => Ok(()),
            Err(HubError::Conflict { .. }) if exist_ok => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes a branch (the default branch cannot be deleted).
    pub fn delete_branch(&self, repo: impl IntoRepoRef, branch: &str) -> Result<(), HubError> {
        let id = repo_only(repo, "delete_branch")?;
        self.require_token("deleting a branch")?;
        let url = self.api_url(&id, &format!("/branch/{}", encode_revision(branch)));
        let call = Call::new(Method::DELETE, url).no_retry();
        self.http().call(&call, &ctx(&id, Some(branch))).map(drop)
    }

    /// Tags the reference's revision (default `main`) as `tag`, with an optional message. With
    /// `exist_ok`, an existing tag is left as it is.
    pub fn create_tag(
        &self,
        repo: impl IntoRepoRef,
        tag: &str,
        message: Option<&str>,
        exist_ok: bool,
    ) -> Result<(), HubError> {
        let r = repo.into_repo_ref()?;
        self.require_token("creating a tag")?;
        let revision = r.revision_or_main();
        let mut body = json!({"tag": tag});
        if let Some(message) = message {
            body["message"] = message.into();
        }
        let url = self.api_url(&r.id, &format!("/tag/{}", encode_revision(revision)));
        let call = Call::new(Method::POST, url).json(&body).no_retry();
        match self.http().call(&call, &ctx(&r.id, Some(revision))) {
            Ok(_) => Ok(()),
            Err(HubError::Conflict { .. }) if exist_ok => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes a tag.
    pub fn delete_tag(&self, repo: impl IntoRepoRef, tag: &str) -> Result<(), HubError> {
        let id = repo_only(repo, "delete_tag")?;
        self.require_token("deleting a tag")?;
        let url = self.api_url(&id, &format!("/tag/{}", encode_revision(tag)));
        let call = Call::new(Method::DELETE, url).no_retry();
        self.http().call(&call, &ctx(&id, Some(tag))).map(drop)
    }

    /// Who the client's token belongs to, and the token's role.
    pub fn whoami(&self) -> Result<WhoAmI, HubError> {
        self.require_token("whoami")?;
        let url = format!("{}/api/whoami-v2", self.settings().endpoint);
        let v: Value = self
            .http()
            .json(&Call::new(Method::GET, &url), &Context::default())?;
        let name = v["name"].as_str().ok_or_else(|| HubError::InvalidResponse {
            url,
            reason: "the answer has no \"name\"".into(),
        })?;
        let orgs = v["orgs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| o["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(WhoAmI {
            name: name.to_owned(),
            kind: v["type"].as_str().unwrap_or("user").to_owned(),
            orgs,
            token_role: v["auth"]["accessToken"]["role"].as_str().map(str::to_owned),
        })
    }

    /// Fails before anything is sent if the client has no token, or a token the Hub reports as
    /// read-only: the check every commit makes first. The role is asked (`whoami`, which the
    /// Hub rate-limits) once per client.
    pub(crate) fn require_write(&self, action: &str) -> Result<(), HubError> {
        self.require_token(action)?;
        let role = match self.token_role().get() {
            Some(role) => role.clone(),
            None => {
                let role = self.whoami()?.token_role;
                self.token_role().get_or_init(|| role).clone()
            }
        };
        match role.as_deref() {
            Some("read") => Err(HubError::NotLoggedIn {
                action: format!("{action} (the configured token is read-only)"),
            }),
            _ => Ok(()),
        }
    }

    /// The path of every file at the reference's revision (default `main`).
    pub fn list_repo_files(&self, repo: impl IntoRepoRef) -> Result<Vec<String>, HubError> {
        let r = repo.into_repo_ref()?;
        let entries = self.list_tree(&r.id, r.revision_or_main(), None, true)?;
        Ok(entries
            .into_iter()
            .filter(|e| e.is_file())
            .map(|e| e.path)
            .collect())
    }

    /// The branches and tags of a repository, and its pull requests when asked.
    pub fn list_repo_refs(
        &self,
        repo: impl IntoRepoRef,
        include_pull_requests: bool,
    ) -> Result<RepoRefs, HubError> {
        let id = repo_only(repo, "list_repo_refs")?;
        let query = if include_pull_requests {
            "?include_prs=1"
        } else {
            ""
        };
        let call = Call::new(Method::GET, self.api_url(&id, &format!("/refs{query}")));
        self.http().json(&call, &ctx(&id, None))
    }

    /// The history of the reference's revision (default `main`), newest first.
    pub fn list_repo_commits(&self, repo: impl IntoRepoRef) -> Result<Vec<GitCommit>, HubError> {
        let r = repo.into_repo_ref()?;
        let revision = r.revision_or_main();
        let url = self.api_url(&r.id, &format!("/commits/{}", encode_revision(revision)));
        let raw: Vec<RawCommit> = self.get_pages(url, &ctx(&r.id, Some(revision)), None)?;
        Ok(raw
            .into_iter()
            .map(|c| GitCommit {
                id: c.id,
                title: c.title,
                message: c.message,
                authors: c.authors.into_iter().map(|a| a.user).collect(),
                date: c.date,
            })
            .collect())
    }

    /// Whether `path` exists at the reference's revision. A missing repository or revision
    /// also answers `false`; a gated repository is an error.
    pub fn file_exists(&self, repo: impl IntoRepoRef, path: &str) -> Result<bool, HubError> {
        let r = repo.into_repo_ref()?;
        let revision = r.revision_or_main();
        let mut call = Call::new(Method::HEAD, self.resolve_url(&r.id, revision, path));
        // A redirect (to a CDN, say) already tells that the file exists.
        call.follow_redirects = false;
        let ctx = Context {
            path: Some(path.to_owned()),
            ..ctx(&r.id, Some(revision))
        };
        match self.http().call(&call, &ctx) {
            Ok(_) => Ok(true),
            Err(
                HubError::EntryNotFound { .. }
                | HubError::RepoNotFound { .. }
                | HubError::RevisionNotFound { .. },
            ) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether a repository exists (and the token can see it). A gated repository exists.
    pub fn repo_exists(&self, repo: impl IntoRepoRef) -> Result<bool, HubError> {
        let id = repo_only(repo, "repo_exists")?;
        match self.repo_info_at(&id, None) {
            Ok(_) | Err(HubError::Gated { .. }) => Ok(true),
            Err(HubError::RepoNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_urls() {
        let hub = HubClient::builder()
            .endpoint("http://127.0.0.1:9/hf")
            .no_token()
            .build()
            .unwrap();
        let id = hub
            .parse_repo_url("http://127.0.0.1:9/hf/datasets/alice/ds", RepoType::Dataset)
            .unwrap();
        assert_eq!(
            (id.repo_type, id.to_string().as_str()),
            (RepoType::Dataset, "alice/ds")
        );
        let id = hub
            .parse_repo_url("https://huggingface.co/bob/m", RepoType::Model)
            .unwrap();
        assert_eq!(id.to_string(), "bob/m");
        assert!(
            hub.parse_repo_url("http://127.0.0.1:9/hf/", RepoType::Model)
                .is_err()
        );
        assert!(hub.parse_repo_url("not a url", RepoType::Model).is_err());
        assert!(matches!(
            repo_only("alice/m@v1", "delete_repo"),
            Err(HubError::InvalidRevision { .. })
        ));
    }
}
