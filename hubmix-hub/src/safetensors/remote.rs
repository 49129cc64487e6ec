//! The headers of a repository's safetensors files, read with `Range` requests at one commit:
//! [`FIRST_READ_BYTES`] first (the length prefix and, for most files, the whole header), then
//! the rest of the header if it is longer. Never the tensor data. A file already in the cache
//! is read from there, with no request; offline, only the cache answers.

use std::path::PathBuf;

use super::{
    Checkpoint, FileHeader, INDEX_FILE, PREFIX_BYTES, ShardIndex, WEIGHTS_FILE, header_len, parse, read_index,
};
use crate::client::HubClient;
use crate::download::DownloadOptions;
use crate::download::cache::RepoCache;
use crate::error::HubError;
use crate::repo::{IntoRepoRef, RepoRef, revision_of};
use crate::transport::http::Context;

/// Bytes asked for by the first request of a header: the length prefix and, in one round trip,
/// the header of a checkpoint of up to a few hundred tensors.
pub const FIRST_READ_BYTES: u64 = 64 * 1024;

/// One repository at one commit.
struct AtCommit<'a> {
    client: &'a HubClient,
    repo: RepoRef,
    commit: String,
    /// The revision as asked (for errors).
    revision: String,
    options: &'a DownloadOptions,
}

impl AtCommit<'_> {
    /// The cached copy of `path` at the commit, if the cache has it.
    fn cached(&self, path: &str) -> Result<Option<PathBuf>, HubError> {
        let cache_dir = self
            .options
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.client.settings().cache_dir.clone());
        let snap = RepoCache::new(&cache_dir, &self.repo.id).snapshot_path(&self.commit, path)?;
        Ok(snap.exists().then_some(snap))
    }

    fn label(&self, path: &str) -> String {
        format!("{path} of {}", self.repo.id)
    }

    /// The header of `path`: from the cache, else with ranged requests.
    fn header(&self, path: &str) -> Result<FileHeader, HubError> {
        hubmix_protocol::path::validate_path(path)?;
        if let Some(local) = self.cached(path)? {
            let mut header = FileHeader::read_as(&local, &self.label(path))?;
            header.path = path.to_owned();
            return Ok(header);
        }
        if let Some(why) = self.options.offline_reason(self.client.settings()) {
            return Err(HubError::NotCached {
                repo: self.repo.id.to_string(),
                revision: self.revision.clone(),
                what: path.to_owned(),
                why,
            });
        }
        let http = self.client.http();
        let url = self.client.resolve_url(&self.repo.id, &self.commit, path);
        let ctx = Context {
            repo: self.repo.id.to_string(),
            revision: Some(self.revision.clone()),
            path: Some(path.to_owned()),
        };
        let label = self.label(path);
        let first = http.get_range(&url, 0, FIRST_READ_BYTES, &ctx)?;
        let size = first.total;
        let mut bytes = first.bytes;
        let mut prefix = [0u8; PREFIX_BYTES as usize];
        if let Some(p) = bytes.get(..PREFIX_BYTES as usize) {
            prefix.copy_from_slice(p);
        }
        let len = header_len(&label, prefix, size)?;
        let end = PREFIX_BYTES as usize + len;
        if bytes.len() < end {
            let more = http.get_range(&url, bytes.len() as u64, (end - bytes.len()) as u64, &ctx)?;
            if more.total != size {
                return Err(HubError::InvalidResponse {
                    url: crate::error::strip_query(&url),
                    reason: format!("the file had {size} bytes, then {}", more.total),
                });
            }
            bytes.extend_from_slice(&more.bytes);
        }
        let header = bytes
            .get(PREFIX_BYTES as usize..end)
            .ok_or_else(|| HubError::InvalidResponse {
                url: crate::error::strip_query(&url),
                reason: format!(
                    "asked for the first {end} bytes of a {size}-byte file, got {}",
                    bytes.len()
                ),
            })?;
        let mut header = parse(&label, header, size)?;
        header.path = path.to_owned();
        Ok(header)
    }

    /// The index at `path`, downloaded into the cache (it is small, and a later download of
    /// the checkpoint uses it).
    fn index(&self, path: &str) -> Result<ShardIndex, HubError> {
        let options = DownloadOptions {
            revision: None,
            force_download: false,
            local_files_only: self.options.local_files_only,
            cache_dir: self.options.cache_dir.clone(),
        };
        let local = self
            .client
            .hub_download(self.repo.clone().at(&self.commit), path, &options)?;
        read_index(&local, &self.label(path))
    }

    /// The checkpoint of the index at `path`: its shards, from the index's folder.
    fn sharded(&self, path: &str) -> Result<Checkpoint, HubError> {
        let index = self.index(path)?;
        let folder = path
            .rsplit_once('/')
            .map(|(f, _)| format!("{f}/"))
            .unwrap_or_default();
        let mut checkpoint = Checkpoint::sharded(self.label(path), index, |name| {
            self.header(&format!("{folder}{name}"))
        })?;
        if let Some((index_path, _)) = &mut checkpoint.index {
            // Named in errors with its repository; in the checkpoint, by its path in it.
            *index_path = path.to_owned();
        }
        Ok(checkpoint)
    }
}

impl HubClient {
    /// The header of the safetensors file `path` of a repository, read with HTTP `Range`
    /// requests (the first [`FIRST_READ_BYTES`], then the rest of the header if it is longer;
    /// never the tensors), or from the cache when it holds the file. `options` gives the
    /// revision, the cache folder and whether to stay offline.
    pub fn safetensors_header(
        &self,
        repo: impl IntoRepoRef,
        path: &str,
        options: &DownloadOptions,
    ) -> Result<FileHeader, HubError> {
        self.at_commit(repo, options)?.header(path)
    }

    /// The headers of a repository's safetensors checkpoint at one commit: `path` when given (a
    /// `.safetensors` file, or an index and its shards), else [`WEIGHTS_FILE`], else
    /// [`INDEX_FILE`] and its shards. The headers are read as
    /// [`safetensors_header`](Self::safetensors_header) reads them; the index is downloaded into
    /// the cache.
    ///
    /// ```
    /// use hubmix_hub::{CommitOperation, CommitOptions, HubClient};
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
    /// let hub = HubClient::builder()
    ///     .endpoint(server.url())
    ///     .token("hf_alice")
    ///     .cache_dir(dir.path().join("cache"))
    ///     .build()?;
    /// let json = br#"{"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}}"#;
    /// let mut file = (json.len() as u64).to_le_bytes().to_vec();
    /// file.extend_from_slice(json);
    /// file.extend_from_slice(&[0; 8]);
    /// hub.create_repo("alice/tiny", &Default::default())?;
    /// hub.create_commit(
    ///     "alice/tiny",
    ///     &[CommitOperation::add_bytes("model.safetensors", file)],
    ///     &CommitOptions::new("weights"),
    /// )?;
    ///
    /// let checkpoint = hub.inspect_checkpoint("alice/tiny", None, &Default::default())?;
    /// assert_eq!(checkpoint.parameter_count(), 4);
    /// assert_eq!(checkpoint.commit.as_deref().map(str::len), Some(40));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inspect_checkpoint(
        &self,
        repo: impl IntoRepoRef,
        path: Option<&str>,
        options: &DownloadOptions,
    ) -> Result<Checkpoint, HubError> {
        let at = self.at_commit(repo, options)?;
        let mut checkpoint = match path {
            Some(p) if p.ends_with(".index.json") => at.sharded(p)?,
            Some(p) => Checkpoint::single(at.header(p)?),
            None => match at.header(WEIGHTS_FILE) {
                Ok(file) => Checkpoint::single(file),
                Err(HubError::EntryNotFound { .. }) => match at.sharded(INDEX_FILE) {
                    Err(HubError::EntryNotFound { .. }) => {
                        return Err(HubError::InvalidCheckpoint {
                            what: format!("{}@{}", at.repo.id, at.revision),
                            reason: format!(
                                "the repository has neither {WEIGHTS_FILE} nor {INDEX_FILE}: name the file to read"
                            ),
                        });
                    }
                    other => other?,
                },
                Err(e @ HubError::NotCached { .. }) => match at.cached(INDEX_FILE)? {
                    Some(_) => at.sharded(INDEX_FILE)?,
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            },
        };
        checkpoint.commit = Some(at.commit);
        Ok(checkpoint)
    }

    fn at_commit<'a>(
        &'a self,
        repo: impl IntoRepoRef,
        options: &'a DownloadOptions,
    ) -> Result<AtCommit<'a>, HubError> {
        let repo = repo.into_repo_ref()?;
        let revision = revision_of(&repo, options.revision.as_deref())?
            .unwrap_or_else(|| crate::repo::DEFAULT_REVISION.to_owned());
        let commit = self.resolve_commit(&repo, options)?;
        Ok(AtCommit {
            client: self,
            repo,
            commit,
            revision,
            options,
        })
    }
}
