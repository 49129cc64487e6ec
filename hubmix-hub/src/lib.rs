//! hubmix-hub: a Hugging Face Hub client in Rust, without any deep-learning framework.
//!
//! It downloads into a cache shared with Python's `huggingface_hub` (a file one fetched, the
//! other finds offline), pushes commits (small files inline, large ones through Git LFS),
//! manages repositories, reads and merges model cards, and provides the framework-neutral
//! [`ModelHubMixin`] machinery that `hubmix` builds its Burn integration on. It works against
//! huggingface.co and against a self-hosted `hubmix-server`. It builds in well under a minute:
//! tools that only move files (a command-line client, CI scripts) use it without Burn.
//!
//! # A client
//!
//! [`HubClient::new`] reads the environment as `huggingface_hub` does (`HF_ENDPOINT`,
//! `HF_TOKEN` or the stored token, `HF_HOME` / `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, …);
//! [`HubClient::builder`] sets any of it in code. The examples here run against a
//! `hubmix-server` started in-process, as the tests do.
//!
//! ```
//! use hubmix_hub::{HubClient, UploadFolderOptions};
//! # let dir = tempfile::tempdir()?;
//! # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
//! #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
//! # let endpoint = server.url();
//! # let cache = dir.path().join("cache");
//!
//! let hub = HubClient::builder().endpoint(endpoint).token("hf_alice").cache_dir(cache).build()?;
//!
//! // Publish a folder as one commit (a missing repository is created first).
//! let folder = dir.path().join("mlp");
//! std::fs::create_dir_all(&folder)?;
//! std::fs::write(folder.join("config.json"), r#"{"d_in": 4}"#)?;
//! std::fs::write(folder.join("notes.tmp"), "not for the Hub")?;
//! hub.create_repo("alice/mlp", &Default::default())?;
//! let commit = hub.upload_folder("alice/mlp", &folder, &UploadFolderOptions::default().ignore(["*.tmp"]))?;
//! assert_eq!(hub.list_repo_files("alice/mlp")?, [".gitattributes", "config.json"]);
//!
//! // Tag it, then read it back at the tag.
//! hub.create_tag(format!("alice/mlp@{}", commit.oid), "v1", None, false)?;
//! let path = hub.hub_download("alice/mlp@v1", "config.json", &Default::default())?;
//! assert_eq!(std::fs::read_to_string(path)?, r#"{"d_in": 4}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Downloads
//!
//! [`HubClient::hub_download`] fetches one file, [`HubClient::snapshot_download`] a whole
//! revision (or the paths its patterns select), each into the cache, and returns the path in the
//! cache's snapshot folder. A revision is resolved to a commit once per call; every byte then
//! comes from that commit, is verified against its hash, and lands atomically. Repository
//! references take a revision after `@`: a branch, a tag, a commit id or `refs/pr/N`.
//!
//! ```
//! use hubmix_hub::{CommitOperation, CommitOptions, DownloadOptions, HubClient, HubError, SnapshotOptions};
//! # let dir = tempfile::tempdir()?;
//! # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
//! #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
//! let hub = HubClient::builder()
//!     .endpoint(server.url())
//!     .token("hf_alice")
//!     .cache_dir(dir.path().join("cache"))
//!     .build()?;
//! hub.create_repo("alice/data", &Default::default())?;
//! hub.create_commit(
//!     "alice/data",
//!     &[
//!         CommitOperation::add_bytes("train/a.csv", b"x\n1\n".to_vec()),
//!         CommitOperation::add_bytes("test/b.csv", b"x\n2\n".to_vec()),
//!     ],
//!     &CommitOptions::new("Add the data"),
//! )?;
//!
//! // Only the training split.
//! let snapshot = hub.snapshot_download("alice/data", &SnapshotOptions::default().allow(["train/*"]))?;
//! assert!(snapshot.join("train/a.csv").exists() && !snapshot.join("test/b.csv").exists());
//!
//! // Offline, what is cached is served; anything else is a typed error.
//! let offline = DownloadOptions::default().local_files_only(true);
//! assert!(hub.hub_download("alice/data", "train/a.csv", &offline).is_ok());
//! assert!(matches!(
//!     hub.hub_download("alice/data", "test/b.csv", &offline),
//!     Err(HubError::NotCached { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where things are
//!
//! The calls a user makes first are at the root; the rest lives in modules named for what they
//! do:
//!
//! | module | what it holds |
//! |---|---|
//! | [`repo`] | repository ids, revisions, `repo@rev` references, [`repo::IntoRepoRef`] (what the calls accept) |
//! | [`settings`] | the client's settings, read from the environment as `huggingface_hub` does; the [`settings::Token`] that never prints |
//! | [`auth`] | the token files shared with `huggingface_hub` (`HF_TOKEN_PATH`, `stored_tokens`): log in, switch, log out |
//! | [`download`] | download options ([`DownloadOptions`], [`SnapshotOptions`]); downloads into a plain folder ([`download::local_dir`]) |
//! | [`upload`] | commits ([`CommitOperation`], [`CommitOptions`]), folders ([`UploadFolderOptions`]) |
//! | [`manage`] | creating, moving, deleting repositories; branches, tags, settings, history |
//! | [`info`] | repository information, file trees, model listings |
//! | [`card`] | model cards: render, read and merge their metadata |
//! | [`mixin`] | [`ModelHubMixin`]: `save_pretrained` / `from_pretrained` / `push_to_hub` for any framework |
//! | [`patterns`] | the glob patterns of uploads and snapshots |
//! | [`cache_scan`] | the cache shared with `huggingface_hub`: scan it (repos, revisions, sizes, last use), delete revisions |
//! | [`cache_verify`] | files checked against the hashes that name them: a revision against the Hub's list, the whole cache offline |
//! | [`safetensors`] | safetensors checkpoints read by their headers: local files and folders, repositories with `Range` requests |
//! | [`files`] | atomic writes and positional file I/O the layers above share |
//!
//! The wire contract (rules for ids, revisions and paths; the JSON bodies) is the
//! `hubmix-protocol` crate's, shared with `hubmix-server`.

#![warn(missing_docs, unreachable_pub)]

pub mod auth;
pub mod cache_scan;
pub mod cache_verify;
pub mod card;
mod client;
pub mod download;
mod error;
pub mod files;
pub mod info;
pub mod manage;
pub mod mixin;
pub mod patterns;
pub mod repo;
pub mod safetensors;
pub mod settings;
mod transport;
pub mod upload;

pub use client::{HubClient, HubClientBuilder};
pub use download::{DownloadOptions, SnapshotOptions};
pub use error::{HubError, Result};
pub use hubmix_protocol::InvalidName;
pub use mixin::{ModelHubMixin, PushOptions};
pub use repo::{RepoId, RepoRef, RepoType};
pub use settings::Settings;
pub use upload::{CommitInfo, CommitOperation, CommitOptions, UploadFolderOptions};
