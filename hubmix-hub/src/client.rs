//! [`HubClient`]: settings plus the HTTP layer; every Hub call is a method on it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::error::HubError;
use crate::repo::{RepoId, encode_path, encode_revision};
use crate::settings::{RetryPolicy, Settings, Token, TokenSource};
use crate::transport::http::Http;

/// A client of one Hub endpoint. Cheap to clone.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
/// #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
/// # let endpoint = server.url();
/// let hub = hubmix_hub::HubClient::builder().endpoint(endpoint).token("hf_alice").build()?;
/// let me = hub.whoami()?;
/// assert_eq!(me.name, "alice");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HubClient {
    settings: Arc<Settings>,
    http: Http,
    /// The token's role, once a write has asked `whoami` (`None` inside: the Hub did not say).
    token_role: Arc<OnceLock<Option<String>>>,
}

impl HubClient {
    /// A client configured from the `HF_*` environment variables.
    pub fn new() -> Result<Self, HubError> {
        Self::builder().build()
    }

    /// A builder that starts from the environment and overrides any setting.
    pub fn builder() -> HubClientBuilder {
        HubClientBuilder {
            settings: Settings::from_env(),
        }
    }

    /// A client with exactly these settings.
    pub fn from_settings(settings: Settings) -> Result<Self, HubError> {
        settings.validate()?;
        let http = Http::new(&settings)?;
        Ok(HubClient {
            settings: Arc::new(settings),
            http,
            token_role: Arc::default(),
        })
    }

    /// The same client with another token (or none).
    pub fn with_token(&self, token: Option<&str>) -> Result<HubClient, HubError> {
        let mut settings = (*self.settings).clone();
        settings.token = token.map(Token::new);
        settings.token_source = token.map(|_| TokenSource::Explicit);
        Self::from_settings(settings)
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// Where the token's role is remembered once known.
    pub(crate) fn token_role(&self) -> &OnceLock<Option<String>> {
        &self.token_role
    }

    /// `{endpoint}/api/{type}s/{ns}/{name}{tail}`.
    pub(crate) fn api_url(&self, repo: &RepoId, tail: &str) -> String {
        format!(
            "{}/api/{}/{}{tail}",
            self.settings.endpoint,
            repo.repo_type.api_segment(),
            repo
        )
    }

    /// `{endpoint}/{prefix}{ns}/{name}/resolve/{rev}/{path}`.
    pub(crate) fn resolve_url(&self, repo: &RepoId, revision: &str, path: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{}",
            self.settings.endpoint,
            repo.url_path(),
            encode_revision(revision),
            encode_path(path)
        )
    }

    /// Fails with [`HubError::NotLoggedIn`] before anything is sent when no token is set.
    pub(crate) fn require_token(&self, action: &str) -> Result<(), HubError> {
        if self.http.has_token() {
            Ok(())
        } else {
            Err(HubError::NotLoggedIn {
                action: action.to_owned(),
            })
        }
    }
}

/// Builds a [`HubClient`]: starts from the environment, then applies each override.
#[derive(Debug)]
pub struct HubClientBuilder {
    settings: Result<Settings, HubError>,
}

impl HubClientBuilder {
    fn set(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        if let Ok(s) = &mut self.settings {
            f(s);
        }
        self
    }

    /// The Hub's base URL (`HF_ENDPOINT`).
    pub fn endpoint(self, url: impl Into<String>) -> Self {
        let url = url.into().trim_end_matches('/').to_owned();
        self.set(|s| s.endpoint = url)
    }

    /// The token to send (instead of `HF_TOKEN` or the token file).
    pub fn token(self, token: impl Into<String>) -> Self {
        let token = Token::new(token);
        self.set(|s| {
            s.token = Some(token);
            s.token_source = Some(TokenSource::Explicit);
        })
    }

    /// Send no token at all.
    pub fn no_token(self) -> Self {
        self.set(|s| {
            s.token = None;
            s.token_source = None;
        })
    }

    /// The download cache folder (`HF_HUB_CACHE`).
    pub fn cache_dir(self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        self.set(|s| s.cache_dir = dir)
    }

    /// Offline mode (`HF_HUB_OFFLINE`): serve from the cache, never touch the network.
    pub fn offline(self, offline: bool) -> Self {
        self.set(|s| s.offline = offline)
    }

    /// Force progress bars on or off (`None`: on a terminal only).
    pub fn progress_bars(self, show: Option<bool>) -> Self {
        self.set(|s| s.progress_bars = show)
    }

    /// Timeout of a download's metadata request (`HF_HUB_ETAG_TIMEOUT`).
    pub fn etag_timeout(self, timeout: Duration) -> Self {
        self.set(|s| s.etag_timeout = timeout)
    }

    /// Longest wait for bytes during a download (`HF_HUB_DOWNLOAD_TIMEOUT`).
    pub fn download_timeout(self, timeout: Duration) -> Self {
        self.set(|s| s.download_timeout = timeout)
    }

    /// A proxy URL (instead of `HTTPS_PROXY` and friends).
    pub fn proxy(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.set(|s| s.proxy = Some(url))
    }

    /// Parallel workers for snapshots and large files.
    pub fn max_workers(self, n: usize) -> Self {
        self.set(|s| s.max_workers = n)
    }

    /// Files at least this large are downloaded in parallel ranges (off by default, see
    /// [`Settings::parallel_threshold`]).
    pub fn parallel_threshold(self, bytes: u64) -> Self {
        self.set(|s| s.parallel_threshold = bytes)
    }

    /// Flush downloads to disk before they enter the cache (off by default, see
    /// [`Settings::durable_downloads`]).
    pub fn durable_downloads(self, durable: bool) -> Self {
        self.set(|s| s.durable_downloads = durable)
    }

    /// How transient failures are retried.
    pub fn retry(self, policy: RetryPolicy) -> Self {
        self.set(|s| s.retry = policy)
    }

    /// Adds `name/version` to the user agent (the library calling hubmix).
    pub fn user_agent(self, name: impl Into<String>, version: impl Into<String>) -> Self {
        let pair = (name.into(), version.into());
        self.set(|s| s.user_agent.push(pair))
    }

    /// The client.
    pub fn build(self) -> Result<HubClient, HubError> {
        HubClient::from_settings(self.settings?)
    }
}
