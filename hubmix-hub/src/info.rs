//! Repository metadata calls: repo info at a revision, model listings and tree listings (with
//! paging).
//!
//! The management calls (create, delete, branches, tags, ...) live next to these on
//! [`HubClient`]; the shapes follow `hub-protocol.md` §3. The answers are `hubmix-protocol`'s
//! types ([`RepoInfo`], [`TreeEntry`], ...), the ones hubmix-server answers with: what one side
//! writes, the other reads.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use ureq::http::Method;

use hubmix_protocol::headers;

use crate::client::HubClient;
use crate::error::{HubError, strip_query};
use crate::repo::{IntoRepoRef, RepoId, encode_revision};
use crate::transport::http::{Call, Context, header, join_url, read_json};

// The answers are `hubmix-protocol`'s types, the ones hubmix-server answers with.
#[doc(inline)]
pub use hubmix_protocol::types::{Gated, RepoInfo, Sibling, SiblingLfs};

#[doc(inline)]
pub use hubmix_protocol::types::{EntryKind, LastCommit, LfsInfo, TreeEntry};

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

/// Most pages a listing follows: far more than any real listing has (a page holds tens to
/// thousands of items), few enough that a server that invents ever new `next` links stops.
const MAX_PAGES: usize = 100_000;
/// Most items a listing gathers in memory.
const MAX_ITEMS: usize = 10_000_000;

/// The pages of one listing read so far: where the next one is, and whether it may be followed.
struct Pages {
    /// The first page, for errors.
    first: String,
    /// Every page asked for (no page is asked twice).
    seen: std::collections::HashSet<String>,
    max_pages: usize,
    max_items: usize,
}

impl Pages {
    fn new(first: &str, max_pages: usize, max_items: usize) -> Self {
        Pages {
            first: first.to_owned(),
            seen: std::collections::HashSet::from([first.to_owned()]),
            max_pages,
            max_items,
        }
    }

    /// Checks the page after one that holds `items` items in all so far, at `next` (resolved,
    /// and `on_endpoint`: at the endpoint's origin).
    fn follow(&mut self, next: &str, on_endpoint: bool, items: usize) -> Result<(), HubError> {
        let broken = |reason: String| HubError::Pagination {
            url: strip_query(&self.first),
            reason,
        };
        if !on_endpoint {
            return Err(broken(format!(
                "a page links to {}, outside the endpoint (the token is not sent there)",
                strip_query(next)
            )));
        }
        if items > self.max_items {
            return Err(broken(format!("more than {} items", self.max_items)));
        }
        if self.seen.len() >= self.max_pages {
            return Err(broken(format!("more than {} pages", self.max_pages)));
        }
        if !self.seen.insert(next.to_owned()) {
            return Err(broken(format!(
                "a page links back to {}, read already (a loop)",
                strip_query(next)
            )));
        }
        Ok(())
    }
}

impl HubClient {
    /// Repository information — files, tags, the card's metadata — at the revision of `repo`
    /// (`alice/mlp@v1`; default `main`), which the Hub resolves to a commit ([`RepoInfo::sha`]).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write).org("team", &["alice"]))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// # hub.create_repo("alice/mlp", &Default::default())?;
    /// # hub.create_tag("alice/mlp", "v1", None, false)?;
    /// let info = hub.repo_info("alice/mlp@v1")?;
    /// let files: Vec<&str> = info.siblings.iter().flatten().map(|s| s.rfilename.as_str()).collect();
    /// assert_eq!(files, [".gitattributes"]);
    /// assert!(info.sha.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// ```
    /// use hubmix_hub::{CommitOperation, CommitOptions, info::ListModelsOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write).org("team", &["alice"]))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// hub.create_repo("alice/mlp", &Default::default())?;
    /// let card = "---\nlibrary_name: burn\n---\n# An MLP\n";
    /// hub.create_commit("alice/mlp", &[CommitOperation::add_bytes("README.md", card.as_bytes().to_vec())], &CommitOptions::new("Card"))?;
    /// let models = hub.list_models(&ListModelsOptions::default().filter("burn").author("alice"))?;
    /// assert_eq!(models.len(), 1);
    /// assert!(models[0].tags.contains(&"burn".to_string()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// until there is none or `limit` items are in. A next page that was read already, or is
    /// outside the endpoint's origin, or more than [`MAX_PAGES`] pages or [`MAX_ITEMS`] items,
    /// is a [`HubError::Pagination`].
    pub(crate) fn get_pages<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        ctx: &Context,
        limit: Option<usize>,
    ) -> Result<Vec<T>, HubError> {
        let limit = limit.unwrap_or(usize::MAX);
        let mut pages = Pages::new(&first, MAX_PAGES, MAX_ITEMS);
        let mut url = Some(first);
        let mut items = Vec::new();
        while let Some(page_url) = url.take().filter(|_| items.len() < limit) {
            let call = Call::new(Method::GET, page_url.clone());
            let mut response = self.http().call(&call, ctx)?;
            let next = header(&response, headers::LINK)
                .and_then(headers::parse_next_link)
                .map(|target| join_url(&page_url, target));
            let page: Vec<T> = read_json(&mut response, &page_url)?;
            items.extend(page);
            if let Some(next) = next.filter(|_| items.len() < limit) {
                pages.follow(&next, self.http().is_endpoint(&next), items.len())?;
                url = Some(next);
            }
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
    fn pages_stop_at_loops_other_origins_and_the_caps() {
        let mut pages = Pages::new("http://h/l?c=0", 3, 100);
        pages.follow("http://h/l?c=1", true, 10).unwrap();
        let reason = |e: HubError| match e {
            HubError::Pagination { url, reason } => {
                assert_eq!(url, "http://h/l");
                reason
            }
            other => panic!("{other:?}"),
        };
        let e = pages.follow("http://h/l?c=0", true, 20).unwrap_err();
        assert!(reason(e).contains("a loop"));
        let e = pages.follow("http://evil/l?c=2", false, 20).unwrap_err();
        assert!(reason(e).contains("http://evil/l, outside the endpoint"));
        let e = pages.follow("http://h/l?c=2", true, 101).unwrap_err();
        assert!(reason(e).contains("more than 100 items"));
        pages.follow("http://h/l?c=2", true, 30).unwrap();
        let e = pages.follow("http://h/l?c=3", true, 40).unwrap_err();
        assert!(reason(e).contains("more than 3 pages"));
    }
}
