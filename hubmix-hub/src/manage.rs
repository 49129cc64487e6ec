//! Repository management (`hub-protocol.md` §3–4): create, delete and configure repositories;
//! branches and tags; who a token belongs to; listings of files, refs and commits; existence
//! checks.
//!
//! Calls about a whole repository take a reference without a revision (`"alice/mlp"`) and
//! refuse one with (`"alice/mlp@v1"`); calls about a revision read it from the reference
//! (`"alice/mlp@dev"`, default `main`).

use hubmix_protocol::types::{
    CreateBranchRequest, CreateRepoRequest, CreateTagRequest, ErrorBody, Gated, MoveRepoRequest,
    RepoLocation, RepoName, Visibility,
};
use serde::Serialize;
use ureq::http::Method;

use crate::client::HubClient;
use crate::error::HubError;
use crate::repo::{IntoRepoRef, RepoId, RepoRef, RepoType, encode_revision};
use crate::transport::http::{Call, Context, check, read_json};

// The answers are `hubmix-protocol`'s types, the ones hubmix-server answers with.
#[doc(inline)]
pub use hubmix_protocol::types::{AccessToken, AuthInfo, CommitAuthor, GitCommit, GitRef, Org, WhoAmI};

/// The refs of a repository ([`HubClient::list_repo_refs`]): its branches, tags and
/// conversions, and its pull requests when asked for (`None` when not).
pub use hubmix_protocol::types::Refs as RepoRefs;

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

/// A repository as the Hub names it: its canonical id and its web URL (read from the `url`
/// of the Hub's answer, [`hubmix_protocol::types::RepoLocation`]).
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
    /// Gate it: users must ask for access, granted automatically (`Gated::Mode("auto")`) or by
    /// its owners (`"manual"`); `Gated::Flag(false)` lifts the gate. The Hub shows it in
    /// [`RepoInfo::gated`](crate::info::RepoInfo::gated).
    pub gated: Option<Gated>,
}

impl RepoSettings {
    /// Private (`true`) or public (`false`).
    pub fn private(mut self, private: bool) -> Self {
        self.private = Some(private);
        self
    }

    /// Gated as `gated` says (`Gated::Flag(false)`: not gated).
    pub fn gated(mut self, gated: Gated) -> Self {
        self.gated = Some(gated);
        self
    }
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

/// How create and delete calls name a repository (no `type` for a model).
fn repo_name(repo: &RepoId) -> RepoName {
    RepoName {
        name: repo.name.clone(),
        organization: repo.namespace.clone(),
        kind: (repo.repo_type != RepoType::Model).then_some(repo.repo_type),
    }
}

/// A request body, as the transport sends it.
fn body(request: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(request).expect("request bodies serialize")
}

impl HubClient {
    /// Creates a repository and returns its canonical id and URL. Without a namespace
    /// (`"mlp"`), the repository goes to the token's user.
    ///
    /// ```
    /// use hubmix_hub::manage::CreateRepoOptions;
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write).org("team", &["alice"]))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// let repo = hub.create_repo("alice/mlp", &CreateRepoOptions::default().private(true).exist_ok(true))?;
    /// assert_eq!(repo.url, format!("{}/alice/mlp", server.url()));
    /// // Again: exist_ok makes it a no-op.
    /// hub.create_repo("alice/mlp", &CreateRepoOptions::default().exist_ok(true))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_repo(
        &self,
        repo: impl IntoRepoRef,
        options: &CreateRepoOptions,
    ) -> Result<RepoUrl, HubError> {
        let id = repo_only(repo, "create_repo")?;
        self.require_token("creating a repository")?;
        let request = CreateRepoRequest {
            repo: repo_name(&id),
            private: None,
            visibility: options.private.map(Visibility::private),
        };
        let url = format!("{}/api/repos/create", self.settings().endpoint);
        let call = Call::new(Method::POST, &url).json(&body(&request)).no_retry();
        let ctx = ctx(&id, None);
        let mut response = self.http().send(&call)?;
        let status = response.status().as_u16();
        // The `409` of an existing repository names it in its error body.
        let web_url = if options.exist_ok && status == 409 {
            read_json::<ErrorBody>(&mut response, &url)?.url
        } else {
            match check(response, &url, &ctx) {
                Ok(mut ok) => Some(read_json::<RepoLocation>(&mut ok, &url)?.url),
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
        match web_url {
            Some(web) => Ok(RepoUrl {
                id: self.parse_repo_url(&web, id.repo_type)?,
                url: web,
            }),
            None if id.namespace.is_some() => Ok(self.repo_url(id)),
            None => Err(HubError::InvalidResponse {
                url: crate::error::strip_query(&url),
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
            url: crate::error::strip_query(url),
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
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write).org("team", &["alice"]))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// # hub.create_repo("alice/mlp-draft", &Default::default())?;
    /// let moved = hub.move_repo("alice/mlp-draft", "team/mlp")?;
    /// assert_eq!(moved.id.to_string(), "team/mlp");
    /// assert!(!hub.repo_exists("alice/mlp-draft")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
        let request = MoveRepoRequest {
            from_repo: from.to_string(),
            to_repo: to.to_string(),
            kind: Some(from.repo_type),
        };
        let call = Call::new(Method::POST, url).json(&body(&request)).no_retry();
        self.http().call(&call, &ctx(&from, None))?;
        Ok(self.repo_url(to))
    }

    /// Deletes a repository. With `missing_ok`, a repository that does not exist is not an error.
    pub fn delete_repo(&self, repo: impl IntoRepoRef, missing_ok: bool) -> Result<(), HubError> {
        let id = repo_only(repo, "delete_repo")?;
        self.require_token("deleting a repository")?;
        let url = format!("{}/api/repos/delete", self.settings().endpoint);
        let call = Call::new(Method::DELETE, url)
            .json(&body(&repo_name(&id)))
            .no_retry();
        match self.http().call(&call, &ctx(&id, None)) {
            Ok(_) => Ok(()),
            Err(HubError::RepoNotFound { .. }) if missing_ok => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Changes a repository's settings (visibility, gating).
    ///
    /// ```
    /// use hubmix_hub::info::Gated;
    /// use hubmix_hub::manage::RepoSettings;
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// hub.create_repo("alice/mlp", &Default::default())?;
    /// let gate = RepoSettings::default().gated(Gated::Mode("manual".into()));
    /// hub.update_repo_settings("alice/mlp", &gate)?;
    /// assert_eq!(hub.repo_info("alice/mlp")?.gated, Gated::Mode("manual".into()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update_repo_settings(
        &self,
        repo: impl IntoRepoRef,
        settings: &RepoSettings,
    ) -> Result<(), HubError> {
        let id = repo_only(repo, "update_repo_settings")?;
        self.require_token("changing repository settings")?;
        let request = hubmix_protocol::types::RepoSettings {
            visibility: settings.private.map(Visibility::private),
            gated: settings.gated.clone(),
            ..Default::default()
        };
        let call = Call::new(Method::PUT, self.api_url(&id, "/settings")).json(&body(&request));
        self.http().call(&call, &ctx(&id, None)).map(drop)
    }

    /// Creates `branch` at the reference's revision (`"alice/mlp@v1"`; default: the default
    /// branch's head). With `exist_ok`, an existing branch is left as it is.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write).org("team", &["alice"]))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// # hub.create_repo("alice/mlp", &Default::default())?;
    /// # hub.create_tag("alice/mlp", "v1", None, false)?;
    /// hub.create_branch("alice/mlp@v1", "fix/from-v1", false)?;
    /// assert!(hub.list_repo_refs("alice/mlp", false)?.branches.iter().any(|b| b.name == "fix/from-v1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_branch(
        &self,
        repo: impl IntoRepoRef,
        branch: &str,
        exist_ok: bool,
    ) -> Result<(), HubError> {
        let r = repo.into_repo_ref()?;
        hubmix_protocol::repo::validate_ref_name(branch)?;
        self.require_token("creating a branch")?;
        let request = CreateBranchRequest {
            starting_point: r.revision.clone(),
        };
        let url = self.api_url(&r.id, &format!("/branch/{}", encode_revision(branch)));
        let call = Call::new(Method::POST, url).json(&body(&request)).no_retry();
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
        hubmix_protocol::repo::validate_ref_name(tag)?;
        self.require_token("creating a tag")?;
        let revision = r.revision_or_main();
        let request = CreateTagRequest {
            tag: tag.to_owned(),
            message: message.map(str::to_owned),
        };
        let url = self.api_url(&r.id, &format!("/tag/{}", encode_revision(revision)));
        let call = Call::new(Method::POST, url).json(&body(&request)).no_retry();
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

    /// Who the client's token belongs to, their organisations, and the token's role
    /// ([`WhoAmI::token_role`]).
    pub fn whoami(&self) -> Result<WhoAmI, HubError> {
        self.require_token("whoami")?;
        let url = format!("{}/api/whoami-v2", self.settings().endpoint);
        self.http()
            .json(&Call::new(Method::GET, &url), &Context::default())
    }

    /// Fails before anything is sent if the client has no token, or a token the Hub reports as
    /// read-only: the check every commit makes first. The role is asked (`whoami`, which the
    /// Hub rate-limits) once per client.
    pub(crate) fn require_write(&self, action: &str) -> Result<(), HubError> {
        self.require_token(action)?;
        let role = match self.token_role().get() {
            Some(role) => role.clone(),
            None => {
                let role = self.whoami()?.token_role().map(str::to_owned);
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
        self.get_pages(url, &ctx(&r.id, Some(revision)), None)
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
    fn bad_branch_and_tag_names_are_refused_before_any_request() {
        // Nothing listens on port 9: an error other than InvalidRevision would mean a request.
        let hub = HubClient::builder()
            .endpoint("http://127.0.0.1:9")
            .token("hf_x")
            .build()
            .unwrap();
        for bad in ["a..b", "refs/heads/x", "x.lock", "a b"] {
            let err = hub.create_branch("alice/mlp", bad, false).unwrap_err();
            assert!(matches!(err, HubError::InvalidRevision { .. }), "{bad}: {err}");
            let err = hub.create_tag("alice/mlp", bad, None, false).unwrap_err();
            assert!(matches!(err, HubError::InvalidRevision { .. }), "{bad}: {err}");
        }
    }

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
