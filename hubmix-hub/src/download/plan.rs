//! Dry runs: which files a snapshot download would fetch, and how many bytes, without fetching
//! any (`hf download --dry-run`).
//!
//! ```
//! use hubmix_hub::{CommitOperation, CommitOptions, HubClient, SnapshotOptions};
//! # let dir = tempfile::tempdir()?;
//! # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
//! #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
//! let hub = HubClient::builder().endpoint(server.url()).token("hf_alice").cache_dir(dir.path().join("cache")).build()?;
//! hub.create_repo("alice/mlp", &Default::default())?;
//! hub.create_commit("alice/mlp", &[CommitOperation::add_bytes("config.json", b"{}".to_vec())], &CommitOptions::new("Add"))?;
//! let options = SnapshotOptions::default().allow(["*.json"]);
//! let plan = hub.plan_snapshot("alice/mlp", &options, None)?;
//! assert_eq!(plan.files.len(), 1);
//! assert!(plan.files[0].will_download && plan.files[0].size == 2);
//! hub.snapshot_download("alice/mlp", &options)?;
//! assert!(!hub.plan_snapshot("alice/mlp", &options, None)?.files[0].will_download);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use super::cache::CachedTree;
use super::local_dir::{is_current, tree_for};
use super::{Job, SnapshotOptions, is_whole};
use crate::client::HubClient;
use crate::error::HubError;
use crate::patterns::PathFilter;
use crate::repo::IntoRepoRef;

/// A file a download selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Its path in the repository.
    pub path: String,
    /// Its size in bytes (of the LFS object for an LFS file).
    pub size: u64,
    /// Whether the download would fetch it (not already there, or a forced download).
    pub will_download: bool,
}

/// What a download would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadPlan {
    /// The commit the revision resolves to.
    pub commit: String,
    /// The selected files, in path order.
    pub files: Vec<PlannedFile>,
}

impl HubClient {
    /// What [`snapshot_download`](Self::snapshot_download) (`local_dir` `None`) or
    /// [`snapshot_to_local_dir`](Self::snapshot_to_local_dir) would fetch with these options:
    /// the revision is resolved and its tree listed (from the cache when it has them), no file
    /// is downloaded.
    pub fn plan_snapshot(
        &self,
        repo: impl IntoRepoRef,
        options: &SnapshotOptions,
        local_dir: Option<&Path>,
    ) -> Result<DownloadPlan, HubError> {
        let repo = repo.into_repo_ref()?;
        let filter = PathFilter::new(&options.allow, &options.ignore)?;
        let job = Job::new(self, &repo, &options.download)?;
        let commit = self.commit_of(&job)?;
        let tree: CachedTree = match local_dir {
            Some(dir) => tree_for(self, dir, &job, &commit)?,
            None => match job.cache.read_tree(&commit)? {
                Some(tree) => tree,
                None => self.fetch_tree(&repo.id, &commit)?,
            },
        };
        let force = options.download.force_download;
        let mut files = Vec::new();
        for (path, file) in tree.files.iter().filter(|(p, _)| filter.matches(p)) {
            let size = file.lfs_size.unwrap_or(file.size);
            let present = match local_dir {
                Some(dir) => is_current(dir, path, &commit, file.etag())?,
                None => is_whole(&job.cache.snapshot_path(&commit, path)?, Some(size)),
            };
            files.push(PlannedFile {
                path: path.clone(),
                size,
                will_download: force || !present,
            });
        }
        Ok(DownloadPlan { commit, files })
    }
}
