//! Repository metadata calls: repo info at a revision and tree listings (with paging).
//!
//! The management calls (create, delete, branches, tags, ...) live next to these on
//! [`HubClient`]; the shapes follow `hub-protocol.md` §3.

use serde::Deserialize;
use ureq::http::Method;

use crate::client::HubClient;
use crate::error::HubError;
use crate::http::{Call, Context};
use crate::repo::{RepoId, encode_revision};

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
    /// The files at that commit.
    #[serde(default)]
    pub siblings: Vec<Sibling>,
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
    /// Repository information at `revision` (default `main`), which resolves it to a commit.
    pub fn repo_info(&self, repo: &RepoId, revision: Option<&str>) -> Result<RepoInfo, HubError> {
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
        self.get_pages(url, &ctx)
    }

    /// Every item of a paginated JSON listing: GETs `first`, then each `Link: rel="next"` page.
    pub(crate) fn get_pages<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        ctx: &Context,
    ) -> Result<Vec<T>, HubError> {
        let mut url = Some(first);
        let mut items = Vec::new();
        while let Some(page_url) = url.take() {
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
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
