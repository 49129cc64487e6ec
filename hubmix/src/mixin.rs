//! [`ModelHubMixin`]: the Rust counterpart of `huggingface_hub.ModelHubMixin`.
//!
//! A type supplies two hooks — write its files into a folder ([`ModelHubMixin::save_files`]) and
//! build itself from a model's files ([`ModelHubMixin::load_files`]) — and gets
//! `save_pretrained`, `from_pretrained` and `push_to_hub`. `#[derive(HubModel)]` implements it
//! for Burn modules; any other type can implement it by hand.
//!
//! Better than the Python mixin: a Hub load resolves its revision to one commit and takes every
//! file from it; a model card edited on the Hub is merged, not overwritten, on push; a missing
//! branch is created; and `save_pretrained` returns the files it wrote.

use std::path::{Path, PathBuf};

use crate::card::{ModelCard, ModelCardData};
use crate::client::HubClient;
use crate::commit::{CommitInfo, CommitOptions};
use crate::download::DownloadOptions;
use crate::error::HubError;
use crate::manage::CreateRepoOptions;
use crate::patterns::PathFilter;
use crate::repo::{RepoRef, Source};
use crate::upload::UploadFolderOptions;

/// The name of a model card.
pub const README: &str = "README.md";

/// Where a model's files come from in `from_pretrained`: a local folder, or one commit of a
/// Hub repository whose files are fetched on demand into the shared cache.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    source: FilesSource,
}

#[derive(Debug, Clone)]
enum FilesSource {
    Local(PathBuf),
    Hub(Box<HubFiles>),
}

#[derive(Debug, Clone)]
struct HubFiles {
    client: HubClient,
    repo: RepoRef,
    commit: String,
    options: DownloadOptions,
}

impl ModelFiles {
    /// The files of a local folder.
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        ModelFiles {
            source: FilesSource::Local(dir.into()),
        }
    }

    /// The files of `repo` at `commit` (a 40-hex id), fetched with `client`.
    pub fn hub(client: HubClient, repo: RepoRef, commit: String, options: DownloadOptions) -> Self {
        let options = DownloadOptions {
            revision: Some(commit.clone()),
            ..options
        };
        ModelFiles {
            source: FilesSource::Hub(Box::new(HubFiles {
                client,
                repo,
                commit,
                options,
            })),
        }
    }

    /// The commit the files come from (Hub sources only).
    pub fn commit(&self) -> Option<&str> {
        match &self.source {
            FilesSource::Local(_) => None,
            FilesSource::Hub(hub) => Some(&hub.commit),
        }
    }

    /// What the files are, for messages: a folder, or `repo@commit`.
    pub fn describe(&self) -> String {
        match &self.source {
            FilesSource::Local(dir) => format!("folder {}", dir.display()),
            FilesSource::Hub(hub) => format!("{}@{}", hub.repo.id, &hub.commit[..hub.commit.len().min(12)]),
        }
    }

    /// The file `name` (a path inside the model), or `None` when the model has no such file.
    pub fn find(&self, name: &str) -> Result<Option<PathBuf>, HubError> {
        crate::cache::validate_repo_path(name)?;
        match &self.source {
            FilesSource::Local(dir) => {
                let path = dir.join(name);
                Ok(path.is_file().then_some(path))
            }
            FilesSource::Hub(hub) => match hub.client.hub_download(&hub.repo, name, &hub.options) {
                Ok(path) => Ok(Some(path)),
                Err(HubError::EntryNotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// The file `name`; a clear error when the model lacks it.
    pub fn get(&self, name: &str) -> Result<PathBuf, HubError> {
        self.find(name)?.ok_or_else(|| HubError::Checkpoint {
            what: self.describe(),
            reason: format!("it has no {name}"),
        })
    }
}

/// How [`ModelHubMixin::save_pretrained_with`] and `push_to_hub` write a model.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SaveOptions {
    /// The storage type of float weights (default: as in the model).
    pub dtype: Option<StorageType>,
    /// The tensor naming and layout (default: the model's own).
    pub layout: Option<Layout>,
    /// Split the weights into shards of at most this many bytes (plus an index file).
    pub max_shard_size: Option<u64>,
    /// Model-card metadata on top of the model's own.
    pub card: ModelCardData,
}

impl SaveOptions {
    /// Store float weights as `dtype`.
    pub fn dtype(mut self, dtype: StorageType) -> Self {
        self.dtype = Some(dtype);
        self
    }

    /// Write weights in this layout.
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Shard the weights above this size.
    pub fn max_shard_size(mut self, bytes: u64) -> Self {
        self.max_shard_size = Some(bytes);
        self
    }

    /// Add model-card metadata.
    pub fn card(mut self, data: ModelCardData) -> Self {
        self.card = data;
        self
    }
}

/// Float storage types of saved weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    /// 32-bit floats.
    F32,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
}

impl StorageType {
    /// `f32`, `f16`, `bf16`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageType::F32 => "f32",
            StorageType::F16 => "f16",
            StorageType::BF16 => "bf16",
        }
    }

    /// From `f32`, `f16`, `bf16` (as in `config.json`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f32" => Some(StorageType::F32),
            "f16" => Some(StorageType::F16),
            "bf16" => Some(StorageType::BF16),
            _ => None,
        }
    }
}

/// How weights are named and laid out in `model.safetensors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Burn's own: `Linear.weight` is `[in, out]`, norms have `gamma`/`beta`.
    #[default]
    Burn,
    /// PyTorch's: `Linear.weight` is `[out, in]`, norms have `weight`/`bias`; what
    /// `PyTorchModelHubMixin` reads and writes.
    PyTorch,
}

impl Layout {
    /// `burn` or `pytorch`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Burn => "burn",
            Layout::PyTorch => "pytorch",
        }
    }

    /// From `burn` or `pytorch`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "burn" => Some(Layout::Burn),
            "pytorch" => Some(Layout::PyTorch),
            _ => None,
        }
    }
}

/// How [`ModelHubMixin::from_pretrained_with`] loads a model.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Downloads: revision (overrides `repo@rev`), cache folder, force, offline, token.
    pub download: DownloadOptions,
    /// The client (default: [`HubClient::new`], from the environment).
    pub client: Option<HubClient>,
    /// Values that replace those of the saved config, by key (the counterpart of Python's
    /// `model_kwargs`). A key the config does not have is an error.
    pub config_overrides: serde_json::Map<String, serde_json::Value>,
    /// The float type to load into (default: the model's own); saved weights are cast.
    pub dtype: Option<StorageType>,
    /// The layout of the weights, when the checkpoint does not say (default: the model's own).
    pub layout: Option<Layout>,
    /// Refuse weights that do not fit exactly (default `true`). When `false`, what fits is
    /// loaded and the report lists the rest.
    pub strict: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            download: DownloadOptions::default(),
            client: None,
            config_overrides: serde_json::Map::new(),
            dtype: None,
            layout: None,
            strict: true,
        }
    }
}

impl LoadOptions {
    /// At this revision.
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.download.revision = Some(revision.into());
        self
    }

    /// Into this cache folder.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.download.cache_dir = Some(dir.into());
        self
    }

    /// Download again even if cached.
    pub fn force_download(mut self, force: bool) -> Self {
        self.download.force_download = force;
        self
    }

    /// From the cache only.
    pub fn local_files_only(mut self, only: bool) -> Self {
        self.download.local_files_only = only;
        self
    }

    /// With this token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.download.token = Some(token.into());
        self
    }

    /// With this client.
    pub fn client(mut self, client: HubClient) -> Self {
        self.client = Some(client);
        self
    }

    /// Replace the saved config's value of `key`.
    pub fn config_override(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.config_overrides.insert(key.into(), value.into());
        self
    }

    /// Load float weights as `dtype`.
    pub fn dtype(mut self, dtype: StorageType) -> Self {
        self.dtype = Some(dtype);
        self
    }

    /// Read weights in this layout (when the checkpoint does not say).
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Strict (default) or lenient loading.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

/// What weights did not fit (empty lists: everything fit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadReport {
    /// Weights the model has and the checkpoint lacks (they keep their initial values).
    pub missing: Vec<String>,
    /// Weights the checkpoint has and the model lacks.
    pub unexpected: Vec<String>,
    /// Weights whose shape differs: `(name, model's shape, checkpoint's shape)`.
    pub mismatched: Vec<(String, Vec<usize>, Vec<usize>)>,
    /// Other problems (types, reading errors), one line each.
    pub errors: Vec<String>,
    /// Compatibility warnings (versions), one line each.
    pub warnings: Vec<String>,
}

impl LoadReport {
    /// Whether every weight fit.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.mismatched.is_empty()
            && self.errors.is_empty()
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for name in &self.missing {
            writeln!(f, "  MISSING    {name} (in the model, not in the checkpoint)")?;
        }
        for name in &self.unexpected {
            writeln!(f, "  UNEXPECTED {name} (in the checkpoint, not in the model)")?;
        }
        for (name, model, file) in &self.mismatched {
            writeln!(
                f,
                "  MISMATCH   {name}: the model has shape {model:?}, the checkpoint {file:?}"
            )?;
        }
        for e in &self.errors {
            writeln!(f, "  ERROR      {e}")?;
        }
        Ok(())
    }
}

/// A loaded model with what loading found out.
#[derive(Debug)]
#[non_exhaustive]
pub struct Loaded<M> {
    /// The model.
    pub model: M,
    /// What did not fit (with `strict(false)`), and warnings.
    pub report: LoadReport,
    /// The commit the files came from (Hub sources).
    pub commit: Option<String>,
}

impl<M> Loaded<M> {
    /// A loaded model.
    pub fn new(model: M, report: LoadReport, commit: Option<String>) -> Self {
        Loaded {
            model,
            report,
            commit,
        }
    }
}

/// How [`ModelHubMixin::push_to_hub`] publishes a model.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PushOptions {
    /// Create the repository private (ignored when it exists).
    pub private: Option<bool>,
    /// The client (default: [`HubClient::new`], from the environment).
    pub client: Option<HubClient>,
    /// A token for this push.
    pub token: Option<String>,
    /// Commit title (default `Push model using hubmix`), description, branch (created from
    /// `main` when missing), pull request, parent commit.
    pub commit: CommitOptions,
    /// Upload only files matching these patterns.
    pub allow: Vec<String>,
    /// Do not upload files matching these patterns.
    pub ignore: Vec<String>,
    /// Delete remote files matching these patterns in the same commit.
    pub delete_patterns: Vec<String>,
    /// How the model is written (dtype, layout, shards, card metadata).
    pub save: SaveOptions,
}

impl PushOptions {
    /// Create the repository private.
    pub fn private(mut self, private: bool) -> Self {
        self.private = Some(private);
        self
    }

    /// With this client.
    pub fn client(mut self, client: HubClient) -> Self {
        self.client = Some(client);
        self
    }

    /// With this token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// To this branch.
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.commit.revision = Some(branch.into());
        self
    }

    /// As a pull request.
    pub fn create_pr(mut self, create_pr: bool) -> Self {
        self.commit.create_pr = create_pr;
        self
    }

    /// With this commit title.
    pub fn commit_message(mut self, message: impl Into<String>) -> Self {
        self.commit.message = message.into();
        self
    }

    /// With this commit description.
    pub fn commit_description(mut self, description: impl Into<String>) -> Self {
        self.commit.description = description.into();
        self
    }

    /// Only these files.
    pub fn allow<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.allow = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Not these files.
    pub fn ignore<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.ignore = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Delete these remote files in the same commit.
    pub fn delete_patterns<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.delete_patterns = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// With these save options.
    pub fn save(mut self, save: SaveOptions) -> Self {
        self.save = save;
        self
    }
}

/// The client a call uses: the one given, or one from the environment; with the token given.
fn client_for(client: &Option<HubClient>, token: Option<&str>) -> Result<HubClient, HubError> {
    let client = match client {
        Some(c) => c.clone(),
        None => HubClient::new()?,
    };
    match token {
        Some(t) => client.with_token(Some(t)),
        None => Ok(client),
    }
}

/// Save, load and push a model through the Hub. Implement the two hooks; the rest is provided.
pub trait ModelHubMixin: Sized {
    /// What building the model needs besides its files (for Burn: the device).
    type Device: ?Sized;

    /// Writes the model's files (config, weights) into `dir`, which exists; returns them.
    fn save_files(&self, dir: &Path, options: &SaveOptions) -> Result<Vec<PathBuf>, HubError>;

    /// Builds the model from its files.
    fn load_files(
        files: &ModelFiles,
        device: &Self::Device,
        options: &LoadOptions,
    ) -> Result<Loaded<Self>, HubError>;

    /// Patterns of the files a save replaces (weights that another save may have split
    /// differently). A push that uploads such files deletes the remote ones it does not upload
    /// again, so that no stale shard or index outlives it.
    const REPLACED_FILES: &'static [&'static str] = &[];

    /// The model card written when a folder has none (and merged into the Hub's on push).
    fn model_card(&self, title: &str) -> ModelCard {
        ModelCard::new(title, ModelCardData::default())
    }

    /// Saves the model into `dir` (created if needed): its files, plus a `README.md` model
    /// card if the folder has none. Returns the files written.
    fn save_pretrained(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, HubError> {
        self.save_pretrained_with(dir, &SaveOptions::default())
    }

    /// [`save_pretrained`](Self::save_pretrained) with options.
    fn save_pretrained_with(
        &self,
        dir: impl AsRef<Path>,
        options: &SaveOptions,
    ) -> Result<Vec<PathBuf>, HubError> {
        save_folder(
            dir.as_ref(),
            options,
            |dir| self.save_files(dir, options),
            |title| self.model_card(title),
        )
    }

    /// Loads a model from a local folder or a Hub repository (`"alice/mlp"`, `"alice/mlp@v1"`,
    /// a commit, `refs/pr/N`, an `hf://` URI). An existing local folder wins over a Hub id.
    fn from_pretrained(source: &str, device: &Self::Device) -> Result<Self, HubError> {
        Ok(Self::from_pretrained_with(source, device, &LoadOptions::default())?.model)
    }

    /// [`from_pretrained`](Self::from_pretrained) with options; also returns the load report
    /// and the commit.
    fn from_pretrained_with(
        source: &str,
        device: &Self::Device,
        options: &LoadOptions,
    ) -> Result<Loaded<Self>, HubError> {
        Self::load_files(&open_files(source, options)?, device, options)
    }

    /// Publishes the model: creates the repository if missing, saves into a temporary folder,
    /// merges the model card with the one on the Hub (an edited card keeps its text), and
    /// makes one commit. A missing branch is created from `main`.
    fn push_to_hub(&self, repo_id: &str, options: &PushOptions) -> Result<CommitInfo, HubError> {
        push_folder(
            repo_id,
            options,
            Self::REPLACED_FILES,
            |dir| self.save_files(dir, &options.save),
            |title| self.model_card(title),
        )
    }
}

/// Saves a model into `dir` (created if needed) with `save`, plus a `README.md` made by `card`
/// if the folder has none: the body of [`ModelHubMixin::save_pretrained_with`].
pub(crate) fn save_folder(
    dir: &Path,
    options: &SaveOptions,
    save: impl FnOnce(&Path) -> Result<Vec<PathBuf>, HubError>,
    card: impl FnOnce(&str) -> ModelCard,
) -> Result<Vec<PathBuf>, HubError> {
    std::fs::create_dir_all(dir).map_err(HubError::io("creating", dir))?;
    let mut files = save(dir)?;
    let readme = dir.join(README);
    if !readme.exists() {
        let title = dir.file_name().and_then(|n| n.to_str()).unwrap_or("model");
        let mut card = card(title);
        card.data = options.card.clone().or(&card.data);
        crate::cache::write_atomic(&readme, card.render().as_bytes())?;
        files.push(readme);
    }
    Ok(files)
}

/// The files `source` names (a folder, or a Hub repository at the one commit its revision
/// resolves to): the first half of [`ModelHubMixin::from_pretrained_with`].
pub(crate) fn open_files(source: &str, options: &LoadOptions) -> Result<ModelFiles, HubError> {
    Ok(match Source::parse(source)? {
        Source::Local(dir) => ModelFiles::local(dir),
        Source::Hub(repo) => {
            let client = client_for(&options.client, options.download.token.as_deref())?;
            // One resolution per load: every file then comes from this commit.
            let commit = client.resolve_commit(&repo, &options.download)?;
            ModelFiles::hub(client, repo, commit, options.download.clone())
        }
    })
}

/// Publishes what `save` writes into a temporary folder as one commit, with the model card
/// `card` makes merged into the Hub's: the body of [`ModelHubMixin::push_to_hub`]. Remote files
/// matching `replaced` are deleted in the same commit when the push uploads any such file.
pub(crate) fn push_folder(
    repo_id: &str,
    options: &PushOptions,
    replaced: &[&str],
    save: impl FnOnce(&Path) -> Result<Vec<PathBuf>, HubError>,
    card: impl FnOnce(&str) -> ModelCard,
) -> Result<CommitInfo, HubError> {
    let client = client_for(&options.client, options.token.as_deref())?;
    let repo: RepoRef = repo_id.parse()?;
    // Save first: a model that cannot be saved leaves no trace on the Hub, not even a repo.
    let staging = tempfile::tempdir().map_err(HubError::io(
        "creating a temporary folder in",
        std::env::temp_dir(),
    ))?;
    let dir = staging.path();
    let written = save(dir)?;

    let mut create = CreateRepoOptions::default().exist_ok(true);
    create.private = options.private;
    let created = client.create_repo(&repo.id, &create)?;
    let repo = RepoRef {
        id: created.id,
        revision: options.commit.revision.clone().or(repo.revision),
    };
    let mut delete_patterns = options.delete_patterns.clone();
    if uploads_any(dir, &written, options, replaced)? {
        delete_patterns.extend(replaced.iter().map(|p| p.to_string()));
    }
    let mut card = card(&repo.id.to_string());
    card.data = options.save.card.clone().or(&card.data);
    let readme = match remote_card(&client, &repo)? {
        Some(existing) => card.merge_into(&existing)?,
        None => card.render(),
    };
    crate::cache::write_atomic(&dir.join(README), readme.as_bytes())?;

    let mut commit = options.commit.clone();
    commit.revision = repo.revision.clone();
    if commit.message.is_empty() {
        commit.message = "Push model using hubmix".into();
    }
    let upload = UploadFolderOptions {
        path_in_repo: None,
        allow: options.allow.clone(),
        ignore: options.ignore.clone(),
        delete_patterns,
        commit,
    };
    client.upload_folder(&repo.id, dir, &upload)
}

/// Whether a push uploads one of the `written` files (in `dir`) that match `patterns`; a push
/// that its allow / ignore patterns keep from uploading them must not delete the remote ones.
fn uploads_any(
    dir: &Path,
    written: &[PathBuf],
    options: &PushOptions,
    patterns: &[&str],
) -> Result<bool, HubError> {
    if patterns.is_empty() {
        return Ok(false);
    }
    let uploaded = PathFilter::new(&options.allow, &options.ignore)?;
    let replaced = PathFilter::new(patterns, &[])?;
    Ok(written
        .iter()
        .filter_map(|p| p.strip_prefix(dir).ok()?.to_str())
        .any(|rel| uploaded.matches(rel) && replaced.matches(rel)))
}

/// The README on the branch a push goes to (or `main` when that branch does not exist yet).
fn remote_card(client: &HubClient, repo: &RepoRef) -> Result<Option<String>, HubError> {
    let fetch = |revision: &str| match client.hub_download(
        &repo.id,
        README,
        &DownloadOptions::default().revision(revision),
    ) {
        Ok(path) => std::fs::read_to_string(&path)
            .map(Some)
            .map_err(HubError::io("reading", path)),
        Err(HubError::EntryNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    };
    match fetch(repo.revision_or_main()) {
        Err(HubError::RevisionNotFound { .. }) => fetch(crate::repo::DEFAULT_REVISION),
        other => other,
    }
}
