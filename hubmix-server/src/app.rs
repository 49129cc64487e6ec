//! The state every handler shares, and the access checks in one place.

use std::sync::Arc;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::{Auth, Principal};
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::repo_id::RepoId;
use crate::storage::{RepoRow, Store, StoreResult};

/// Shared server state.
#[derive(Debug)]
pub(crate) struct App {
    pub store: Store,
    pub auth: Auth,
    pub config: ServerConfig,
    /// The port of the blob host ([`crate::cdn`]), when it runs.
    pub cdn_port: Option<u16>,
    /// Key that signs the self-authorising URLs (LFS transfers, blob host).
    secret: [u8; 32],
}

impl App {
    pub(crate) fn new(config: ServerConfig, cdn_port: Option<u16>) -> StoreResult<Self> {
        let store = Store::open(&config.root)?;
        let auth = Auth::new(&config.tokens, &config.orgs);
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system's random source failed");
        Ok(App {
            store,
            auth,
            config,
            cdn_port,
            secret,
        })
    }

    /// Runs a storage call on the blocking pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&App) -> StoreResult<T> + Send + 'static,
    {
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&app))
            .await
            .map_err(|e| ApiError::Internal(format!("storage task failed: {e}")))?
            .map_err(ApiError::from)
    }

    /// The base of the absolute URLs the server returns: the configured public URL, else the
    /// request's own host, so that the client recognises them as its endpoint.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.config.public_url {
            return url.clone();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("http://{host}")
    }

    /// The repository `id` if `who` may see it; `RepoNotFound` otherwise, so that private names
    /// do not leak.
    pub(crate) async fn readable_repo(
        self: &Arc<Self>,
        id: &RepoId,
        who: Option<&Principal>,
    ) -> Result<RepoRow, ApiError> {
        let lookup = id.clone();
        let repo = self
            .run(move |app| app.store.repo(&lookup))
            .await?
            .ok_or(ApiError::RepoNotFound)?;
        if !self.auth.can_read(who, &repo.id.namespace, repo.private) {
            return Err(ApiError::RepoNotFound);
        }
        Ok(repo)
    }

    /// The repository `id` if `who` may write to it.
    pub(crate) async fn writable_repo(
        self: &Arc<Self>,
        id: &RepoId,
        who: Option<&Principal>,
    ) -> Result<RepoRow, ApiError> {
        let repo = self.readable_repo(id, who).await?;
        self.auth.check_write(who, &repo.id.namespace)?;
        Ok(repo)
    }

    /// Signature of an LFS transfer URL for object `oid` of `size` bytes in repository `key`.
    pub(crate) fn sign(&self, key: i64, oid: &str, size: u64) -> String {
        self.sign_message(&format!("lfs\n{key}\n{oid}\n{size}"))
    }

    /// Checks a signature made by [`sign`](Self::sign), in constant time.
    pub(crate) fn verify_signature(&self, key: i64, oid: &str, size: u64, sig: &str) -> bool {
        self.verify_message(&format!("lfs\n{key}\n{oid}\n{size}"), sig)
    }

    /// The hex HMAC-SHA256 of `message` with this server's secret. Each kind of signed URL
    /// starts its message with its own word, so that no signature stands for another.
    pub(crate) fn sign_message(&self, message: &str) -> String {
        hex::encode(self.mac(message).finalize().into_bytes())
    }

    /// Checks a signature made by [`sign_message`](Self::sign_message), in constant time.
    pub(crate) fn verify_message(&self, message: &str, sig: &str) -> bool {
        hex::decode(sig).is_ok_and(|sig| self.mac(message).verify_slice(&sig).is_ok())
    }

    fn mac(&self, message: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        mac
    }
}
