//! Test support: an in-process hub with known users, and clients for it.

use std::path::PathBuf;

use hubmix_hub::{HubClient, settings::RetryPolicy};
use hubmix_server::{Role, RunningServer, ServerConfig};

/// Alice's write token.
pub const ALICE: &str = "hf_alice_write";
/// Alice's read-only token.
pub const ALICE_READ: &str = "hf_alice_read";
/// Bob's write token.
pub const BOB: &str = "hf_bob_write";

/// A running hub on a temporary folder, plus a temporary cache folder for clients.
pub struct Hub {
    pub server: RunningServer,
    _root: tempfile::TempDir,
    pub cache: tempfile::TempDir,
}

impl Hub {
    /// A hub where files of 1 MiB and more go through LFS, in 1 MiB parts when multipart.
    pub fn start() -> Hub {
        Self::start_with(|c| c)
    }

    /// A hub with extra configuration.
    pub fn start_with(configure: impl FnOnce(ServerConfig) -> ServerConfig) -> Hub {
        let root = tempfile::tempdir().expect("temp dir");
        let config = ServerConfig::new(root.path())
            .user("alice", ALICE, Role::Write)
            .user("alice", ALICE_READ, Role::Read)
            .user("bob", BOB, Role::Write)
            .org("team", &["alice"])
            .lfs_threshold(1024 * 1024)
            .lfs_part_size(1024 * 1024)
            .page_size(50);
        let server = hubmix_server::spawn(configure(config)).expect("server starts");
        Hub {
            server,
            _root: root,
            cache: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// A client for this hub with `token` (or none), the hub's cache folder, no progress bars
    /// and fast retries.
    pub fn client(&self, token: Option<&str>) -> HubClient {
        self.client_for(self.url(), token)
    }

    /// Like [`client`](Self::client) but talking to `endpoint` (a fault-injecting proxy, say).
    pub fn client_for(&self, endpoint: &str, token: Option<&str>) -> HubClient {
        let b = HubClient::builder()
            .endpoint(endpoint)
            .cache_dir(self.cache_dir())
            .offline(false)
            .progress_bars(Some(false))
            .retry(RetryPolicy {
                max_retries: 4,
                base_delay: std::time::Duration::from_millis(20),
                max_delay: std::time::Duration::from_millis(200),
            });
        match token {
            Some(t) => b.token(t),
            None => b.no_token(),
        }
        .build()
        .expect("client builds")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.cache.path().to_owned()
    }
}
