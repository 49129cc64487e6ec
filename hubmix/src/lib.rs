//! hubmix: share Burn models through the Hugging Face Hub.
//!
//! This crate is the runtime under `#[derive(HubModel)]`: a Hub client that parses repo ids and
//! revisions (`alice/mlp@v1`), downloads into a cache shared with Python's `huggingface_hub`,
//! and pushes commits (with Git LFS for large files). It works against huggingface.co and
//! against a self-hosted `hubmix-server`.
//!
//! Start with [`HubClient`].

mod api;
mod client;
mod error;
mod http;
mod patterns;
mod repo;
mod settings;

pub use api::{LfsInfo, RepoInfo, Sibling, TreeEntry};
pub use client::{HubClient, HubClientBuilder};
pub use error::{HubError, Result};
pub use patterns::PathFilter;
pub use repo::{
    DEFAULT_REVISION, RepoId, RepoRef, RepoType, Source, encode_path, encode_revision, is_commit_id,
    parse_hf_uri,
};
pub use settings::{DEFAULT_ENDPOINT, RetryPolicy, Settings, Token, TokenSource};
