//! hubmix: share Burn models through the Hugging Face Hub.
//!
//! This crate is the runtime under `#[derive(HubModel)]`: a Hub client that parses repo ids and
//! revisions (`alice/mlp@v1`), downloads into a cache shared with Python's `huggingface_hub`,
//! and pushes commits (with Git LFS for large files). It works against huggingface.co and
//! against a self-hosted `hubmix-server`.
//!
//! Start with [`HubClient`]. With the `burn` feature: `#[derive(HubModel)]` (the
//! [`ModelHubMixin`] for a Burn module), and, for any module and its config without the derive,
//! `save_pretrained_burn` / `push_to_hub_burn` / `from_pretrained_burn` with training
//! checkpoints (optimizer and scheduler state, history) that resume from the Hub, and
//! `HubCheckpoints` for a checkpoint per epoch with the best one tagged.

mod api;
#[cfg(feature = "burn")]
mod burn_model;
mod cache;
mod card;
mod client;
mod commit;
mod download;
mod error;
mod http;
mod lfs;
mod manage;
mod mixin;
mod parallel;
mod patterns;
mod plot;
mod progress;
mod repo;
mod settings;
mod upload;

pub use api::{LfsInfo, ListModelsOptions, RepoInfo, Sibling, TreeEntry};
#[cfg(feature = "burn")]
pub use burn_model::{
    BURN_VERSION, BurnLoaded, BurnOptions, CONFIG_FILE, CheckpointPush, Component, Device, EpochMetrics,
    FORMAT, Goal, HubCheckpoints, HubModel, INDEX_FILE, LOGS_FOLDER, ModelInfo, OPTIMIZER_FILE,
    OptimizerState, PLOT_FILE, Provenance, RUST_VERSION, SCHEDULER_FILE, SchedulerState, TRAINING_FILE,
    TrainingInfo, TrainingRecord, TrainingState, WEIGHTS_FILE, WrittenBy, from_pretrained_burn,
    push_to_hub_burn, save_pretrained_burn,
};
pub use card::{ModelCard, ModelCardData, merge_card, read_card_data};
pub use client::{HubClient, HubClientBuilder};
pub use commit::{CommitInfo, CommitOperation, CommitOptions};
pub use download::{DownloadOptions, SnapshotOptions};
pub use error::{HubError, Result};
/// The derive macro for [`HubModel`](trait@HubModel): what it generates, its attributes, its errors.
#[cfg(feature = "burn")]
pub use hubmix_derive::HubModel;
pub use manage::{CreateRepoOptions, GitCommit, GitRef, RepoRefs, RepoSettings, RepoUrl, WhoAmI};
pub use mixin::{
    Layout, LoadOptions, LoadReport, Loaded, ModelFiles, ModelHubMixin, PushOptions, README, SaveOptions,
    StorageType,
};
pub use patterns::PathFilter;
pub use plot::{ModuleNode, ParamLeaf};
pub use repo::{
    DEFAULT_REVISION, RepoId, RepoRef, RepoType, Source, encode_path, encode_revision, is_commit_id,
    parse_hf_uri,
};
pub use settings::{DEFAULT_ENDPOINT, RetryPolicy, Settings, Token, TokenSource};
pub use upload::{DEFAULT_IGNORE_PATTERNS, UploadFolderOptions};
