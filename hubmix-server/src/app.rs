//! The state every handler shares, and the access checks in one place.

use std::fmt;
use std::sync::Arc;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::api::LfsStep;
use crate::auth::{Auth, Principal};
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::rate_limit::WriteLimiter;
use crate::repo_id::RepoId;
use crate::stats::Stats;
use crate::storage::{RepoRow, Store, StoreResult};

/// Shared server state.
#[derive(Debug)]
pub(crate) struct App {
    pub store: Store,
    pub auth: Auth,
    pub config: ServerConfig,
    /// The port of the blob host ([`crate::cdn`]), when it runs.
    pub cdn_port: Option<u16>,
    /// The per-token write limit.
    pub writes: WriteLimiter,
    /// What the server has sent, on both ports.
    pub stats: Arc<Stats>,
    /// Key that signs the self-authorising URLs (LFS transfers, blob host).
    secret: SigningKey,
}

/// The key of the URL signatures; its `Debug` shows nothing of it.
struct SigningKey([u8; 32]);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// What one LFS transfer URL authorises: one step, of one object, in one repository (named by
/// its permanent random id, never reused, unlike its database key), until `expires`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LfsGrant<'a> {
    pub step: LfsStep,
    /// The part of a multipart upload (`None`: the whole object, or a step other than upload).
    pub part: Option<u64>,
    /// The repository's `object_id`.
    pub repo: &'a str,
    pub oid: &'a str,
    pub size: u64,
    /// Unix seconds after which the URL is refused.
    pub expires: u64,
}

impl LfsGrant<'_> {
    /// The signed message; it starts with `lfs`, the word of this kind of signed URL.
    fn message(&self) -> String {
        let part = self.part.map_or_else(|| "whole".to_owned(), |n| n.to_string());
        format!(
            "lfs\n{}\n{part}\n{}\n{}\n{}\n{}",
            self.step.segment(),
            self.repo,
            self.oid,
            self.size,
            self.expires
        )
    }
}

impl App {
    pub(crate) fn new(config: ServerConfig, cdn_port: Option<u16>) -> StoreResult<Self> {
        let store = Store::open(&config.root)?;
        let auth = Auth::new(&config.tokens, &config.orgs);
        let writes = WriteLimiter::new(config.limits.write_rate, auth.token_count());
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system's random source failed");
        Ok(App {
            store,
            auth,
            config,
            cdn_port,
            writes,
            stats: Arc::default(),
            secret: SigningKey(secret),
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

    /// Signature of an LFS transfer URL.
    pub(crate) fn sign_lfs(&self, grant: &LfsGrant<'_>) -> String {
        self.sign_message(&grant.message())
    }

    /// Checks a signature made by [`sign_lfs`](Self::sign_lfs), in constant time (the expiry is
    /// the caller's to check: it is signed, so it cannot have been changed).
    pub(crate) fn verify_lfs(&self, grant: &LfsGrant<'_>, sig: &str) -> bool {
        self.verify_message(&grant.message(), sig)
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
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret.0).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use sha2::Digest;

    #[test]
    fn debug_shows_neither_tokens_nor_the_signing_key() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let token = "hf_never_in_debug";
        let config = ServerConfig::new(dir.path()).user("alice", token, Role::Write);
        let app = App::new(config, None).expect("app");
        let shown = format!("{app:?}");
        assert!(!shown.contains(token), "{shown}");
        assert!(!shown.contains(&hex::encode(Sha256::digest(token))), "{shown}");
        assert!(!shown.contains(&hex::encode(app.secret.0)), "{shown}");
        let bytes = format!("{:?}", app.secret.0);
        assert!(!shown.contains(&bytes), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
    }
}
