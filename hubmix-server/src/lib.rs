//! `hubmix-server`: a self-hosted Hugging Face Hub.
//!
//! It speaks the subset of the Hub HTTP API that `huggingface_hub` (2.4 and the 0.20 line) and
//! `hubmix` use — downloads through `/resolve/`, repository metadata (with the model card's
//! metadata: `cardData`, `tags`, `library_name`), listings (`/api/models?filter=burn&author=…`),
//! repository management, and uploads (preupload, the Git LFS batch API with `basic` and
//! `multipart` transfers, NDJSON commits, pull requests; files a `.gitignore` excludes are left out;
//! a `README.md` whose metadata the Hub would refuse is refused) — so that the real Python client and hubmix work against it
//! unchanged. Point `HF_ENDPOINT` at it.
//!
//! Repositories have real history: immutable commits with git trees (a commit stores the folders
//! it changes), branches, tags and `refs/pr/N`. File contents live in a content-addressed blob
//! store on disk; metadata lives in SQLite. A crash at any point leaves every repository at a
//! consistent commit. Garbage collection ([`collect_garbage`], `hubmix-server gc`, and
//! periodically in a running server) removes the contents nothing uses any more.
//!
//! Start it in-process (tests, examples) with [`spawn`], or run the `hubmix-server` binary.
//!
//! ```no_run
//! use hubmix_server::{Role, ServerConfig};
//!
//! let server = hubmix_server::spawn(
//!     ServerConfig::new("/tmp/hub").user("alice", "hf_alice", Role::Write),
//! )?;
//! println!("HF_ENDPOINT={}", server.url());
//! server.shutdown();
//! # Ok::<(), hubmix_server::ServerError>(())
//! ```

#![warn(unreachable_pub)]

mod api;
mod app;
mod auth;
mod cdn;
mod config;
mod deadline;
mod error;
mod failpoint;
mod gitignore;
mod hashing;
mod limits;
mod listener;
mod paths;
mod rate_limit;
mod repo_id;
mod routes;
mod server;
mod stats;
mod storage;
mod time;

pub use auth::{InvalidTokenHash, Role, check_configured_token};
pub use config::{
    ConfigFileError, DEFAULT_LFS_PART_SIZE, DEFAULT_LFS_THRESHOLD, DEFAULT_LFS_URL_LIFETIME, ServerConfig,
};
pub use config::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP,
    DEFAULT_REQUEST_TIMEOUT, DEFAULT_SHUTDOWN_GRACE,
};
pub use limits::{
    DEFAULT_MAX_COMMIT_BYTES, DEFAULT_MAX_COMMIT_OPERATIONS, DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_LFS_OBJECT_BYTES, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_PATHS_PER_REQUEST, DEFAULT_PAGE_SIZE,
    MAX_LFS_PARTS,
};
pub use rate_limit::{DEFAULT_WRITE_BURST, DEFAULT_WRITES_PER_MINUTE};
pub use server::{RunningServer, ServerError, serve, spawn};
pub use stats::Stats;
pub use storage::gc::{
    DEFAULT_GC_GRACE, DEFAULT_GC_INTERVAL, GcError, GcOptions, GcReport, RemovedBlob, collect_garbage,
};
