//! Repository metadata calls: repo info at a revision, model listings and tree listings (with
//! paging).
//!
//! The management calls (create, delete, branches, tags, ...) live next to these on
//! [`HubClient`]; the shapes follow `hub-protocol.md` §3.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use ureq::http::Method;

use crate::client::HubClient;
use crate::error::HubError;
use crate::http::{Call, Context};
use crate::repo::{IntoRepoRef, RepoId, encode_revision};

/// Repository information at one revision.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct RepoInfo {
    /// `namespace/name`.
    pub id: String,
    /// The commit the revision resolved to.
    pub sha: Option<String>,
    /// Whether the repository is private.
    #[serde(default)]
    pub private: bool,
    /// When the commit was made.
    #[serde(rename = "lastModified")]
    pub last_modified: Option<String>,
    /// The files at that commit (empty in listings).
    #[serde(default)]
    pub siblings: Vec<Sibling>,
    /// The tags the Hub derives from the card: its `tags`, its library, `license:<id>`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The card's `library_name` (`burn` for the models hubmix pushes).
    pub library_name: Option<String>,
    /// The card's `pipeline_tag`.
    pub pipeline_tag: Option<String>,
    /// The card's metadata (its YAML front matter) as JSON: always with [`HubClient::repo_info`],
    /// in listings with [`ListModelsOptions::card_data`].
    #[serde(rename = "cardData")]
    pub card_data: Option<serde_json::Value>,
}

/// What [`HubClient::list_models`] lists: the models matching all the criteria given.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListModelsOptions {
    /// Tags the model's card must all give (`burn`, `license:mit`, ...).
    pub filter: Vec<String>,
    /// Only the models of this user or organisation.
    pub author: Option<String>,
    /// Only models whose id contains this (any case).
    pub search: Option<String>,
    /// At most this many models.
    pub limit: Option<usize>,
    /// Also fetch each model's card metadata ([`RepoInfo::card_data`]).
    pub card_data: bool,
}

impl ListModelsOptions {
    /// Adds a tag the models must have.
    pub fn filter(mut self, tag: impl Into<String>) -> Self {
        self.filter.push(tag.into());
        self
    }

    /// Only the models of `author`.
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// Only models whose id contains `text`.
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    /// At most `n` models.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Whether to fetch each model's card metadata.
    pub fn card_data(mut self, card_data: bool) -> Self {
        self.card_data = card_data;
        self
    }

    /// The query string of the listing call.
    fn query(&self) -> String {
        let encode = |v: &str| utf8_percent_encode(v, NON_ALPHANUMERIC).to_string();
        let mut params: Vec<String> = self
            .filter
            .iter()
            .map(|t| format!("filter={}", encode(t)))
            .collect();
        params.extend(self.author.as_deref().map(|a| format!("author={}", encode(a))));
        params.extend(self.search.as_deref().map(|q| format!("search={}", encode(q))));
        params.extend(self.limit.map(|n| format!("limit={n}")));
        if self.card_data {
            params.push("cardData=true".into());
        }
        params.join("&")
    }
}

/// A file listed in [`RepoInfo`].
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Sibling {
    /// Path in the repository.
    pub rfilename: String,
    /// Size in bytes (with `files_metadata`).
    pub size: Option<u64>,
}

/// One entry of a tree listing.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeEntry {
    /// `file` or `directory`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Path in the repository.
    pub path: String,
    /// Size in bytes (the real size for LFS files; 0 for folders).
    #[serde(default)]
    pub size: u64,
    /// The git object id (for LFS files, of the pointer).
    pub oid: String,
    /// For LFS files: the content's sha256 and size.
    pub lfs: Option<LfsInfo>,
}

impl TreeEntry {
    /// Whether this is a file (not a folder).
    pub fn is_file(&self) -> bool {
        self.kind == "file"
    }

    /// The ETag a download of this file carries: sha256 for LFS files, the git id otherwise.
    pub fn etag(&self) -> &str {
        self.lfs.as_ref().map_or(&self.oid, |l| &l.oid)
    }
}

/// LFS details of a file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct LfsInfo {
    /// SHA-256 of the content.
    pub oid: String,
    /// Size in bytes.
    pub size: u64,
}

/// The `rel="next"` target of a `Link` header.
pub(crate) fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"))
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

impl HubClient {
    /// Repository information — files, tags, the card's metadata — at the revision of `repo`
    /// (`alice/mlp@v1`; default `main`), which the Hub resolves to a commit ([`RepoInfo::sha`]).
    ///
    /// ```no_run
    /// let hub = hubmix::HubClient::new()?;
    /// let info = hub.repo_info("alice/mlp@v1")?;
    /// println!("{:?} {:?} {} files", info.sha, info.library_name, info.siblings.len());
    /// # Ok::<(), hubmix::HubError>(())
    /// ```
    pub fn repo_info(&self, repo: impl IntoRepoRef) -> Result<RepoInfo, HubError> {
        let r = repo.into_repo_ref()?;
        self.repo_info_at(&r.id, r.revision.as_deref())
    }

    /// Repository information at `revision` (default `main`).
    pub(crate) fn repo_info_at(&self, repo: &RepoId, revision: Option<&str>) -> Result<RepoInfo, HubError> {
        let url = match revision {
            Some(rev) => self.api_url(repo, &format!("/revision/{}", encode_revision(rev))),
            None => self.api_url(repo, ""),
        };
        let ctx = Context {
            repo: repo.to_string(),
            revision: revision.map(str::to_owned),
            path: None,
        };
        self.http().json(&Call::new(Method::GET, url), &ctx)
    }

    /// The models of the Hub that match `options` and that the token may read, as the Hub
    /// orders them (hubmix-server: by id).
    ///
    /// ```no_run
    /// use hubmix::{HubClient, ListModelsOptions};
    /// let hub = HubClient::new()?;
    /// for model in hub.list_models(&ListModelsOptions::default().filter("burn").author("alice"))? {
    ///     println!("{} {:?}", model.id, model.tags);
    /// }
    /// # Ok::<(), hubmix::HubError>(())
    /// ```
    pub fn list_models(&self, options: &ListModelsOptions) -> Result<Vec<RepoInfo>, HubError> {
        let url = format!("{}/api/models?{}", self.settings().endpoint, options.query());
        let ctx = Context {
            repo: "models".into(),
            revision: None,
            path: None,
        };
        self.get_pages(url, &ctx, options.limit)
    }

    /// Every entry of `revision`'s tree (below `folder` when given), following the pages.
    pub fn list_tree(
        &self,
        repo: &RepoId,
        revision: &str,
        folder: Option<&str>,
        recursive: bool,
    ) -> Result<Vec<TreeEntry>, HubError> {
        let folder_part = folder
            .map(|f| format!("/{}", encode_revision(f)))
            .unwrap_or_default();
        let url = self.api_url(
            repo,
            &format!(
                "/tree/{}{folder_part}?recursive={recursive}&expand=false",
                encode_revision(revision)
            ),
        );
        let ctx = Context {
            repo: repo.to_string(),
            revision: Some(revision.to_owned()),
            path: folder.map(str::to_owned),
        };
        self.get_pages(url, &ctx, None)
    }

    /// The items of a paginated JSON listing: GETs `first`, then each `Link: rel="next"` page,
    /// until there is none or `limit` items are in.
    pub(crate) fn get_pages<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        ctx: &Context,
        limit: Option<usize>,
    ) -> Result<Vec<T>, HubError> {
        let limit = limit.unwrap_or(usize::MAX);
        let mut url = Some(first);
        let mut items = Vec::new();
        while let Some(page_url) = url.take().filter(|_| items.len() < limit) {
            let call = Call::new(Method::GET, page_url.clone());
            let mut response = self.http().call(&call, ctx)?;
            url = response
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let page: Vec<T> = crate::http::read_json(&mut response, &page_url)?;
            items.extend(page);
        }
        items.truncate(limit);
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_models_query() {
        let options = ListModelsOptions::default()
            .filter("burn")
            .filter("license:mit")
            .author("alice")
            .search("m l&p")
            .limit(5)
            .card_data(true);
        assert_eq!(
            options.query(),
            "filter=burn&filter=license%3Amit&author=alice&search=m%20l%26p&limit=5&cardData=true"
        );
        assert_eq!(ListModelsOptions::default().query(), "");
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link("<http://h/a?cursor=2>; rel=\"next\"").as_deref(),
            Some("http://h/a?cursor=2")
        );
        assert_eq!(
            next_link("<http://h/p>; rel=\"prev\", <http://h/n>; rel=\"next\"").as_deref(),
            Some("http://h/n")
        );
        assert_eq!(next_link("<http://h/p>; rel=\"prev\""), None);
    }
}
