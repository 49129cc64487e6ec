//! Uploads built on [`HubClient::create_commit`]: one file, or a folder with
//! `huggingface_hub`'s selection rules (`hub-protocol.md` §5.7), each in one commit.

use std::path::{Path, PathBuf};

use globset::GlobSet;

use crate::client::HubClient;
use crate::error::HubError;
use crate::files::Staged;
use crate::patterns::{PathFilter, glob_set};
use crate::repo::{IntoRepoRef, RepoRef, revision_of};
use crate::upload::MemoryFile;
use crate::upload::commit::{
    CommitInfo, CommitOperation, CommitOptions, check_operations, check_path_in_repo,
};

/// Always ignored by [`HubClient::upload_folder`], as by `huggingface_hub`: git metadata and
/// the `huggingface_hub` local-dir cache.
pub const DEFAULT_IGNORE_PATTERNS: [&str; 8] = [
    ".git",
    ".git/*",
    "*/.git",
    "**/.git/**",
    ".cache/huggingface",
    ".cache/huggingface/*",
    "*/.cache/huggingface",
    "**/.cache/huggingface/**",
];

/// Options of [`HubClient::upload_folder`].
///
/// ```
/// use hubmix_hub::{CommitOptions, UploadFolderOptions};
/// let options = UploadFolderOptions::default()
///     .path_in_repo("checkpoints/step-1000")
///     .allow(["*.safetensors", "*.json"])
///     .delete_patterns(["*.safetensors"]) // drop the previous shards in that folder
///     .commit(CommitOptions::new("Checkpoint 1000"));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct UploadFolderOptions {
    /// The folder in the repository to upload into (default: the root).
    pub path_in_repo: Option<String>,
    /// Only files matching one of these patterns are uploaded (none: all files).
    pub allow: Vec<String>,
    /// Files matching one of these patterns are not uploaded (besides
    /// [`DEFAULT_IGNORE_PATTERNS`]).
    pub ignore: Vec<String>,
    /// Remote files under `path_in_repo` matching one of these patterns are deleted in the same
    /// commit (unless re-uploaded; the root `.gitattributes` is never deleted).
    pub delete_patterns: Vec<String>,
    /// Message, revision, pull request... An empty message becomes
    /// `Upload folder using hubmix`.
    pub commit: CommitOptions,
}

impl UploadFolderOptions {
    /// Upload into this folder of the repository.
    pub fn path_in_repo(mut self, path: impl Into<String>) -> Self {
        self.path_in_repo = Some(path.into());
        self
    }

    /// Only upload files matching these patterns.
    pub fn allow<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.allow = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Do not upload files matching these patterns.
    pub fn ignore<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.ignore = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Delete remote files matching these patterns.
    pub fn delete_patterns<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.delete_patterns = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// The commit's options.
    pub fn commit(mut self, options: CommitOptions) -> Self {
        self.commit = options;
        self
    }
}

/// `options` with `default` as the message when it has none.
pub(crate) fn with_message(options: &CommitOptions, default: impl FnOnce() -> String) -> CommitOptions {
    let mut options = options.clone();
    if options.message.trim().is_empty() {
        options.message = default();
    }
    options
}

/// Every regular file below `folder` (symlinks to files included, symlinked folders not
/// followed), as `/`-separated relative paths, in path order.
pub fn scan(folder: &Path) -> Result<Vec<String>, HubError> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), HubError> {
        for entry in std::fs::read_dir(dir).map_err(HubError::io("cannot list", dir))? {
            let entry = entry.map_err(HubError::io("cannot list", dir))?;
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| HubError::UploadSource {
                    path: path.clone(),
                    reason: "the name is not valid UTF-8, which a repository path must be".into(),
                })?;
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type().map_err(HubError::io("cannot read", &path))?;
            if kind.is_dir() {
                walk(&path, &rel, out)?;
            } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(folder, "", &mut files)?;
    files.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    Ok(files)
}

/// Which files of a folder an upload takes, and where it puts them.
#[derive(Debug)]
pub(crate) struct Selection {
    /// The folder in the repository: empty, or ending with `/`.
    pub(crate) prefix: String,
    /// The allow and ignore patterns, [`DEFAULT_IGNORE_PATTERNS`] included.
    pub(crate) filter: PathFilter,
}

impl Selection {
    /// The selection of `options` for `folder`, which must be a folder.
    pub(crate) fn new(folder: &Path, options: &UploadFolderOptions) -> Result<Self, HubError> {
        let bad_folder = |reason: &str| HubError::UploadSource {
            path: folder.to_owned(),
            reason: reason.to_owned(),
        };
        match std::fs::metadata(folder) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(bad_folder("it is a file, not a folder: use upload_file")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(bad_folder("no such folder")),
            Err(e) => return Err(HubError::io("cannot read", folder)(e)),
        }
        let prefix = match options.path_in_repo.as_deref().map(|p| p.trim_end_matches('/')) {
            None | Some("") => String::new(),
            Some(p) => format!("{}/", check_path_in_repo(p)?),
        };
        let mut ignore = options.ignore.clone();
        ignore.extend(DEFAULT_IGNORE_PATTERNS.iter().map(|p| p.to_string()));
        let filter = PathFilter::new(&options.allow, &ignore)?;
        Ok(Selection { prefix, filter })
    }
}

impl HubClient {
    /// The deletions of an upload into the folder `prefix` (empty, or ending with `/`): the
    /// files below it at the commit's revision (or on the default branch, when the commit will
    /// create its branch) whose path relative to `prefix` matches `patterns`, but those `keep`
    /// keeps and the root `.gitattributes`.
    pub(crate) fn remote_deletions(
        &self,
        r: &RepoRef,
        commit: &CommitOptions,
        prefix: &str,
        patterns: &GlobSet,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<CommitOperation>, HubError> {
        let revision = revision_of(r, commit.revision.as_deref())?;
        let at = RepoRef {
            id: r.id.clone(),
            revision,
        };
        let remote = match self.list_repo_files(&at) {
            Err(HubError::RevisionNotFound { .. }) if commit.create_branch && !commit.create_pr => {
                self.list_repo_files(RepoRef::from(r.id.clone()))?
            }
            other => other?,
        };
        Ok(remote
            .into_iter()
            .filter(|path| path != ".gitattributes")
            .filter(|path| {
                path.strip_prefix(prefix)
                    .is_some_and(|rel| patterns.is_match(rel))
            })
            .filter(|path| !keep(path))
            .map(CommitOperation::delete_file)
            .collect())
    }

    /// Uploads the local file `local` as `path_in_repo`, in one commit (default message
    /// `Upload <path_in_repo> with hubmix`). To upload bytes or a reader, use
    /// [`create_commit`](Self::create_commit) with [`CommitOperation::add_bytes`] or
    /// [`CommitOperation::add_reader`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write).org("team", &["alice"]))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// # hub.create_repo("alice/mlp", &Default::default())?;
    /// # let weights = dir.path().join("model.safetensors");
    /// # std::fs::write(&weights, b"weights")?;
    /// let info = hub.upload_file("alice/mlp", &weights, "model.safetensors", &Default::default())?;
    /// assert!(hub.file_exists(format!("alice/mlp@{}", info.oid), "model.safetensors")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn upload_file(
        &self,
        repo: impl IntoRepoRef,
        local: impl AsRef<Path>,
        path_in_repo: &str,
        options: &CommitOptions,
    ) -> Result<CommitInfo, HubError> {
        let options = with_message(options, || format!("Upload {path_in_repo} with hubmix"));
        let op = CommitOperation::add_file(path_in_repo, local.as_ref());
        self.create_commit(repo, &[op], &options)
    }

    /// Uploads the files of `folder` into the repository, in one commit, selected as
    /// `huggingface_hub`'s `upload_folder` does:
    ///
    /// - every regular file below `folder`, its path relative to `folder` with `/`;
    /// - kept if it matches an `allow` pattern (when any) and no `ignore` pattern nor
    ///   [`DEFAULT_IGNORE_PATTERNS`]; patterns are `fnmatch`-style on the relative path (`*`
    ///   also matches `/`; a pattern ending with `/` matches everything below);
    /// - placed under `path_in_repo`;
    /// - with `delete_patterns`, the remote files under `path_in_repo` that match (relative to
    ///   it) and are not re-uploaded are deleted in the same commit.
    ///
    /// A missing branch is created from the default branch (unless
    /// `options.commit.create_branch` is false), and the deletions are then taken from the
    /// default branch. Files the revision already has are not uploaded again.
    ///
    /// ```
    /// use hubmix_hub::UploadFolderOptions;
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write).org("team", &["alice"]))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// # hub.create_repo("alice/mlp", &Default::default())?;
    /// # let folder = dir.path().join("out/mlp");
    /// # std::fs::create_dir_all(&folder)?;
    /// # std::fs::write(folder.join("config.json"), "{}")?;
    /// # std::fs::write(folder.join("scratch.tmp"), "")?;
    /// hub.upload_folder("alice/mlp", &folder, &UploadFolderOptions::default().ignore(["*.tmp"]))?;
    /// assert_eq!(hub.list_repo_files("alice/mlp")?, [".gitattributes", "config.json"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn upload_folder(
        &self,
        repo: impl IntoRepoRef,
        folder: impl AsRef<Path>,
        options: &UploadFolderOptions,
    ) -> Result<CommitInfo, HubError> {
        self.upload_folder_hashed(repo, folder.as_ref(), options, &Staged::default())
    }

    /// [`upload_folder`](Self::upload_folder), with what a push's save staged: the hashes of
    /// some of the files (by their path: `folder` joined with the relative path) known already,
    /// and files held in memory instead of written into `folder`.
    pub(crate) fn upload_folder_hashed(
        &self,
        repo: impl IntoRepoRef,
        folder: &Path,
        options: &UploadFolderOptions,
        staged: &Staged,
    ) -> Result<CommitInfo, HubError> {
        let Selection { prefix, filter } = Selection::new(folder, options)?;
        let mut additions: Vec<CommitOperation> = scan(folder)?
            .into_iter()
            .filter(|rel| filter.matches(rel))
            .map(|rel| {
                let local: PathBuf = folder.join(&rel);
                let path_in_repo = format!("{prefix}{rel}");
                match staged.hashes.get(&local) {
                    Some(hash) => CommitOperation::add_file_hashed(path_in_repo, local, hash.clone()),
                    None => CommitOperation::add_file(path_in_repo, local),
                }
            })
            .collect();
        // Files held in memory instead of written: the same paths, as the folder would have them.
        let mut held: Vec<(String, &MemoryFile)> = staged
            .held
            .iter()
            .filter_map(|(local, content)| {
                let rel = local.strip_prefix(folder).ok()?.to_str()?.replace('\\', "/");
                Some((rel, content))
            })
            .filter(|(rel, _)| filter.matches(rel))
            .collect();
        held.sort_by(|a, b| a.0.cmp(&b.0));
        additions
            .extend(held.into_iter().map(|(rel, content)| {
                CommitOperation::add_memory(format!("{prefix}{rel}"), content.clone())
            }));

        let commit = with_message(&options.commit, || "Upload folder using hubmix".into());
        let r = repo.into_repo_ref()?;
        let mut operations = match glob_set(&options.delete_patterns)? {
            Some(patterns) => {
                // Local mistakes and a missing token show before the listing is asked for.
                check_operations(&additions, &commit)?;
                self.require_token("uploading a folder")?;
                let added = |path: &str| additions.iter().any(|a| a.path_in_repo() == path);
                self.remote_deletions(&r, &options.commit, &prefix, &patterns, added)?
            }
            None => Vec::new(),
        };
        operations.extend(additions);
        self.create_commit(r, &operations, &commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.txt", "a-b/x", "a/z", "a/sub/y", ".git/HEAD"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f).unwrap();
        }
        assert_eq!(
            scan(dir.path()).unwrap(),
            [".git/HEAD", "a/sub/y", "a/z", "a-b/x", "b.txt"]
        );
    }

    #[test]
    fn default_ignores() {
        let f = PathFilter::new(&[] as &[&str], &DEFAULT_IGNORE_PATTERNS).unwrap();
        for ignored in [
            ".git",
            ".git/HEAD",
            "sub/.git",
            "a/.git/objects/x",
            ".cache/huggingface/x.lock",
        ] {
            assert!(!f.matches(ignored), "{ignored}");
        }
        for kept in ["model.bin", ".gitignore", "sub/.gitattributes", ".cache/other"] {
            assert!(f.matches(kept), "{kept}");
        }
    }
}
