//! [`ModelHubMixin`]: the Rust counterpart of `huggingface_hub.ModelHubMixin`, for any
//! framework.
//!
//! A type supplies two hooks — write its files into a folder ([`ModelHubMixin::save_files`]) and
//! build itself from a model's files ([`ModelHubMixin::load_files`]) — and names its framework's
//! options, load report and error as associated types; it gets `save_pretrained`,
//! `from_pretrained` and `push_to_hub`. Nothing here knows a framework: `hubmix` implements the
//! trait for Burn modules (`#[derive(HubModel)]`), with Burn's save options (dtype, layout,
//! shards), load options (strictness, config overrides) and error.
//!
//! Better than the Python mixin: a Hub load resolves its revision to one commit and takes every
//! file from it; a model card edited on the Hub is merged, not overwritten, on push; a missing
//! branch is created; and `save_pretrained` returns the files it wrote.
//!
//! Each setting has one place: the token is the client's ([`HubClient::with_token`] for
//! another one); the revision is the one of `repo@rev` or of an option, and both given and
//! different is an error ([`revision_of`]).

use std::path::{Path, PathBuf};

use crate::card::{CardMetadata, CardUpdate, ModelCard, ModelCardData};
use crate::client::HubClient;
use crate::download::DownloadOptions;
use crate::error::HubError;
use crate::files::Durability;
use crate::manage::CreateRepoOptions;
use crate::patterns::PathFilter;
use crate::repo::{RepoId, RepoRef, Source, revision_of};
use crate::upload::commit::{CommitInfo, CommitOptions};
use crate::upload::folder::UploadFolderOptions;

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
    /// The repository at the commit (`repo@commit`).
    at: RepoRef,
    commit: String,
    /// The download options, without a revision (the reference has the commit).
    options: DownloadOptions,
}

impl ModelFiles {
    /// The files of a local folder.
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        ModelFiles {
            source: FilesSource::Local(dir.into()),
        }
    }

    /// The files of `repo` at `commit` (a 40-hex id), fetched with `client` and `options`
    /// (whose revision, if any, is replaced by the commit).
    pub fn hub(client: HubClient, repo: RepoId, commit: String, options: DownloadOptions) -> Self {
        let options = DownloadOptions {
            revision: None,
            ..options
        };
        let at = RepoRef {
            id: repo,
            revision: Some(commit.clone()),
        };
        ModelFiles {
            source: FilesSource::Hub(Box::new(HubFiles {
                client,
                at,
                commit,
                options,
            })),
        }
    }

    /// The repository the files come from (Hub sources only).
    pub fn repo(&self) -> Option<&RepoId> {
        match &self.source {
            FilesSource::Local(_) => None,
            FilesSource::Hub(hub) => Some(&hub.at.id),
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
            FilesSource::Hub(hub) => {
                format!("{}@{}", hub.at.id, &hub.commit[..hub.commit.len().min(12)])
            }
        }
    }

    /// The file `name` (a path inside the model), or `None` when the model has no such file.
    pub fn find(&self, name: &str) -> Result<Option<PathBuf>, HubError> {
        hubmix_protocol::path::validate_path(name)?;
        match &self.source {
            FilesSource::Local(dir) => {
                let path = dir.join(name);
                Ok(path.is_file().then_some(path))
            }
            FilesSource::Hub(hub) => match hub.client.hub_download(&hub.at, name, &hub.options) {
                Ok(path) => Ok(Some(path)),
                Err(HubError::EntryNotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }
}

/// What [`ModelHubMixin::from_pretrained_with`] reads of a framework's load options: where Hub
/// files come from.
pub trait HubSource {
    /// The client to fetch with; `None`: [`ModelHubMixin::default_client`].
    fn hub_client(&self) -> Option<&HubClient>;
    /// Revision (when the source has no `@rev`), cache folder, force, offline.
    fn download_options(&self) -> &DownloadOptions;
}

/// A loaded model with what loading found out.
#[derive(Debug)]
#[non_exhaustive]
pub struct Loaded<M, R = ()> {
    /// The model.
    pub model: M,
    /// What the framework reports about the load (for Burn: the weights that did not fit, with
    /// `strict(false)`, and warnings).
    pub report: R,
    /// The commit the files came from (Hub sources).
    pub commit: Option<String>,
    /// The repository the files came from (Hub sources): what a model derived from this one
    /// records as its card's `base_model`.
    pub repo: Option<RepoId>,
}

impl<M, R> Loaded<M, R> {
    /// A loaded model, with the commit it came from (and no repository: see
    /// [`from_files`](Self::from_files)).
    pub fn new(model: M, report: R, commit: Option<String>) -> Self {
        Loaded {
            model,
            report,
            commit,
            repo: None,
        }
    }

    /// A model loaded from `files`: with their repository and commit when they come from the
    /// Hub, neither from a folder.
    pub fn from_files(model: M, report: R, files: &ModelFiles) -> Self {
        Loaded {
            model,
            report,
            commit: files.commit().map(str::to_owned),
            repo: files.repo().cloned(),
        }
    }

    /// The `base_model` of a model derived from this one: the repository id it was loaded from
    /// (`None` for a folder).
    pub fn base_model(&self) -> Option<String> {
        self.repo.as_ref().map(RepoId::to_string)
    }
}

/// How [`ModelHubMixin::push_to_hub`] publishes a model. How the model itself is written is the
/// framework's save options, given to [`ModelHubMixin::push_to_hub_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PushOptions {
    /// Create the repository private (ignored when it exists).
    pub private: Option<bool>,
    /// The client, with the token to push with (default: [`ModelHubMixin::default_client`],
    /// from the environment).
    pub client: Option<HubClient>,
    /// Commit title (default `Push model using hubmix`), description, branch (created from
    /// `main` when missing; the branch of `repo@branch` or this one, not two different ones),
    /// pull request, parent commit.
    pub commit: CommitOptions,
    /// Upload only files matching these patterns.
    pub allow: Vec<String>,
    /// Do not upload files matching these patterns.
    pub ignore: Vec<String>,
    /// Delete remote files matching these patterns in the same commit.
    pub delete_patterns: Vec<String>,
    /// How the model card on the Hub, if there is one, is updated. Default: its text and
    /// values are kept, and only what it lacks is added.
    pub card: CardUpdate,
}

impl PushOptions {
    /// Create the repository private.
    pub fn private(mut self, private: bool) -> Self {
        self.private = Some(private);
        self
    }

    /// With this client (and its token).
    pub fn client(mut self, client: HubClient) -> Self {
        self.client = Some(client);
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

    /// Which side wins when the card on the Hub and the code set the same metadata key:
    /// [`CardMetadata::PreferHub`] (the default: an edit on the Hub survives) or
    /// [`CardMetadata::PreferCode`] (the values set in code replace the Hub's).
    pub fn card_metadata(mut self, metadata: CardMetadata) -> Self {
        self.card.metadata = metadata;
        self
    }

    /// Replace the text of the card on the Hub by the body the model makes (its template or
    /// card function, else hubmix's default). Default `false`: the Hub's text is kept.
    pub fn replace_card_body(mut self, replace: bool) -> Self {
        self.card.replace_body = replace;
        self
    }
}

/// The client given, or else the one `default` makes.
pub fn client_or(
    client: Option<&HubClient>,
    default: impl FnOnce() -> Result<HubClient, HubError>,
) -> Result<HubClient, HubError> {
    match client {
        Some(client) => Ok(client.clone()),
        None => default(),
    }
}

/// Save, load and push a model through the Hub. Name the framework's types, implement the two
/// hooks; the rest is provided.
pub trait ModelHubMixin: Sized {
    /// What building the model needs besides its files (for Burn: the device).
    type Device: ?Sized;
    /// How the framework writes a model (for Burn: dtype, layout, shards, card metadata).
    type SaveOptions: Default;
    /// How the framework loads a model (for Burn: dtype, strictness, config overrides), with
    /// where Hub files come from.
    type LoadOptions: Default + HubSource;
    /// What a load reports besides the model (for Burn: the weights that did not fit).
    type Report;
    /// The error of the framework's calls; every Hub error converts into it.
    type Error: From<HubError>;

    /// Patterns of the files a save replaces (weights that another save may have split
    /// differently). A push that uploads such files deletes the remote ones it does not upload
    /// again, so that no stale shard or index outlives it.
    const REPLACED_FILES: &'static [&'static str] = &[];

    /// Writes the model's files (config, weights) into `dir`, which exists; returns them.
    fn save_files(&self, dir: &Path, options: &Self::SaveOptions) -> Result<Vec<PathBuf>, Self::Error>;

    /// Builds the model from its files.
    fn load_files(
        files: &ModelFiles,
        device: &Self::Device,
        options: &Self::LoadOptions,
    ) -> Result<Loaded<Self, Self::Report>, Self::Error>;

    /// The model card written when a folder has none (and merged into the Hub's on push),
    /// with the card metadata of `options` if the framework's save options have some.
    fn model_card(&self, title: &str, options: &Self::SaveOptions) -> ModelCard {
        let _ = options;
        ModelCard::new(title, ModelCardData::default())
    }

    /// How durable `save_pretrained_with(dir, options)` makes the files it writes (the model
    /// card included). Default: [`Durability::PageCache`], as the Python libraries save; a
    /// framework whose save options can ask for [`Durability::Durable`] says so here.
    fn durability(options: &Self::SaveOptions) -> Durability {
        let _ = options;
        Durability::PageCache
    }

    /// The client of a call given none: [`HubClient::new`], from the environment. A framework
    /// adds itself to the user agent here (`HubClient::builder().user_agent(..)`).
    fn default_client() -> Result<HubClient, HubError> {
        HubClient::new()
    }

    /// Saves the model into `dir` (created if needed): its files, plus a `README.md` model
    /// card if the folder has none. Returns the files written.
    fn save_pretrained(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, Self::Error> {
        self.save_pretrained_with(dir, &Self::SaveOptions::default())
    }

    /// [`save_pretrained`](Self::save_pretrained) with options.
    fn save_pretrained_with(
        &self,
        dir: impl AsRef<Path>,
        options: &Self::SaveOptions,
    ) -> Result<Vec<PathBuf>, Self::Error> {
        save_folder(
            dir.as_ref(),
            Self::durability(options),
            |dir| self.save_files(dir, options),
            |title| self.model_card(title, options),
        )
    }

    /// Loads a model from a local folder or a Hub repository (`"alice/mlp"`, `"alice/mlp@v1"`,
    /// a commit, `refs/pr/N`, an `hf://` URI). An existing local folder wins over a Hub id.
    fn from_pretrained(source: &str, device: &Self::Device) -> Result<Self, Self::Error> {
        Ok(Self::from_pretrained_with(source, device, &Self::LoadOptions::default())?.model)
    }

    /// [`from_pretrained`](Self::from_pretrained) with options; also returns the load report
    /// and the commit. A revision in both `source` (`@rev`) and the options must be the same.
    fn from_pretrained_with(
        source: &str,
        device: &Self::Device,
        options: &Self::LoadOptions,
    ) -> Result<Loaded<Self, Self::Report>, Self::Error> {
        let files = open_files(source, options, Self::default_client)?;
        Self::load_files(&files, device, options)
    }

    /// Publishes the model, written with the framework's default save options: creates the
    /// repository if missing, saves into a temporary folder, merges the model card with the
    /// one on the Hub (an edited card keeps its text), and makes one commit. A missing branch
    /// is created from `main`.
    fn push_to_hub(&self, repo_id: &str, options: &PushOptions) -> Result<CommitInfo, Self::Error> {
        self.push_to_hub_with(repo_id, options, &Self::SaveOptions::default())
    }

    /// [`push_to_hub`](Self::push_to_hub), with the model written with `save` (for Burn: its
    /// dtype, layout, shards and card metadata).
    fn push_to_hub_with(
        &self,
        repo_id: &str,
        options: &PushOptions,
        save: &Self::SaveOptions,
    ) -> Result<CommitInfo, Self::Error> {
        let client = client_or(options.client.as_ref(), Self::default_client)?;
        push_folder(
            &client,
            repo_id,
            options,
            Self::REPLACED_FILES,
            |dir| self.save_files(dir, save),
            |title| self.model_card(title, save),
        )
    }
}

/// Saves a model into `dir` (created if needed) with `save`, plus a `README.md` made by `card`
/// if the folder has none, written as durable as `durability` says: the body of
/// [`ModelHubMixin::save_pretrained_with`].
pub fn save_folder<E: From<HubError>>(
    dir: &Path,
    durability: Durability,
    save: impl FnOnce(&Path) -> Result<Vec<PathBuf>, E>,
    card: impl FnOnce(&str) -> ModelCard,
) -> Result<Vec<PathBuf>, E> {
    std::fs::create_dir_all(dir).map_err(HubError::io("creating", dir))?;
    let mut files = save(dir)?;
    let readme = dir.join(README);
    if !readme.exists() {
        let title = dir.file_name().and_then(|n| n.to_str()).unwrap_or("model");
        crate::files::write_atomic_with(&readme, card(title).render().as_bytes(), durability)?;
        files.push(readme);
    }
    Ok(files)
}

/// The files `source` names (a folder, or a Hub repository at the one commit its revision
/// resolves to, fetched with the client of `options` or else `default_client`'s): the first
/// half of [`ModelHubMixin::from_pretrained_with`].
pub fn open_files(
    source: &str,
    options: &impl HubSource,
    default_client: impl FnOnce() -> Result<HubClient, HubError>,
) -> Result<ModelFiles, HubError> {
    Ok(match Source::parse(source)? {
        Source::Local(dir) => ModelFiles::local(dir),
        Source::Hub(repo) => {
            let client = client_or(options.hub_client(), default_client)?;
            let download = options.download_options();
            // One resolution per load: every file then comes from this commit.
            let commit = client.resolve_commit(&repo, download)?;
            ModelFiles::hub(client, repo.id, commit, download.clone())
        }
    })
}

/// Publishes what `save` writes into a temporary folder as one commit with `client`, with the
/// model card `card` makes merged into the Hub's: the body of [`ModelHubMixin::push_to_hub`].
/// Remote files matching `replaced` are deleted in the same commit when the push uploads any
/// such file. The files `save` writes with [`AtomicFile`](crate::files::AtomicFile) are hashed
/// as they are written, so that the commit does not read them again to hash them (and are not
/// `fsync`ed: they are temporary).
pub fn push_folder<E: From<HubError>>(
    client: &HubClient,
    repo_id: &str,
    options: &PushOptions,
    replaced: &[&str],
    save: impl FnOnce(&Path) -> Result<Vec<PathBuf>, E>,
    card: impl FnOnce(&str) -> ModelCard,
) -> Result<CommitInfo, E> {
    let repo: RepoRef = repo_id.parse().map_err(HubError::from)?;
    let revision = revision_of(&repo, options.commit.revision.as_deref())?;
    // Save first: a model that cannot be saved leaves no trace on the Hub, not even a repo.
    let staging = tempfile::tempdir().map_err(HubError::io(
        "creating a temporary folder in",
        std::env::temp_dir(),
    ))?;
    let dir = staging.path();
    let (written, staged) = crate::files::stage(|| save(dir));
    let written = written?;

    let mut create = CreateRepoOptions::default().exist_ok(true);
    create.private = options.private;
    let created = client.create_repo(&repo.id, &create)?;
    let repo = RepoRef {
        id: created.id,
        revision,
    };
    let mut delete_patterns = options.delete_patterns.clone();
    if uploads_any(dir, &written, options, replaced)? {
        delete_patterns.extend(replaced.iter().map(|p| p.to_string()));
    }
    let card = card(&repo.id.to_string());
    let readme = match remote_card(client, &repo)? {
        Some(existing) => card.merge_into(&existing, &options.card)?,
        None => card.render(),
    };
    crate::files::write_atomic_with(&dir.join(README), readme.as_bytes(), Durability::PageCache)?;

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
    Ok(client.upload_folder_hashed(&repo.id, dir, &upload, &staged)?)
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
    let fetch = |revision: &str| client.repo_card(RepoRef::from(repo.id.clone()).at(revision));
    match fetch(repo.revision_or_main()) {
        Err(HubError::RevisionNotFound { .. }) => fetch(crate::repo::DEFAULT_REVISION),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    //! The mixin with no framework: a model that is one JSON number, its own options and error.

    use std::sync::OnceLock;

    use super::*;

    /// The endpoint of the test hub, for [`Counter::default_client`].
    static ENDPOINT: OnceLock<(String, PathBuf)> = OnceLock::new();

    #[derive(Debug, PartialEq)]
    struct Counter(u32);

    #[derive(Debug, thiserror::Error)]
    enum CounterError {
        #[error(transparent)]
        Hub(#[from] HubError),
        #[error("no counter.json in {0}")]
        Missing(String),
    }

    #[derive(Default)]
    struct Load {
        client: Option<HubClient>,
        download: DownloadOptions,
    }

    impl HubSource for Load {
        fn hub_client(&self) -> Option<&HubClient> {
            self.client.as_ref()
        }
        fn download_options(&self) -> &DownloadOptions {
            &self.download
        }
    }

    impl ModelHubMixin for Counter {
        type Device = ();
        type SaveOptions = ModelCardData;
        type LoadOptions = Load;
        type Report = &'static str;
        type Error = CounterError;

        fn save_files(&self, dir: &Path, _: &ModelCardData) -> Result<Vec<PathBuf>, CounterError> {
            let path = dir.join("counter.json");
            crate::files::write_atomic(&path, self.0.to_string().as_bytes())?;
            Ok(vec![path])
        }

        fn load_files(
            files: &ModelFiles,
            _: &(),
            _: &Load,
        ) -> Result<Loaded<Self, &'static str>, CounterError> {
            let path = files
                .find("counter.json")?
                .ok_or_else(|| CounterError::Missing(files.describe()))?;
            let text = std::fs::read_to_string(&path).map_err(HubError::io("reading", &path))?;
            let value = text.trim().parse().expect("a number");
            Ok(Loaded::from_files(Counter(value), "clean", files))
        }

        fn model_card(&self, title: &str, card: &ModelCardData) -> ModelCard {
            ModelCard::new(
                title,
                card.clone().or(&ModelCardData::default().library_name("counter")),
            )
        }

        fn default_client() -> Result<HubClient, HubError> {
            let (endpoint, cache) = ENDPOINT.get().expect("the hub is started");
            HubClient::builder()
                .endpoint(endpoint)
                .token("hf_alice")
                .cache_dir(cache)
                .user_agent("counter", "1.0")
                .build()
        }
    }

    #[test]
    fn a_push_takes_the_hashes_of_the_files_it_staged_instead_of_reading_them_again() {
        use crate::files::{AtomicFile, Durability, write_all_at};

        let dir = tempfile::tempdir().unwrap();
        let server = hubmix_server::spawn(
            hubmix_server::ServerConfig::new(dir.path().join("hub"))
                .user("alice", "hf_alice", hubmix_server::Role::Write)
                .lfs_threshold(1),
        )
        .unwrap();
        let client = HubClient::builder()
            .endpoint(server.url())
            .token("hf_alice")
            .cache_dir(dir.path().join("cache"))
            .build()
            .unwrap();
        let card = |title: &str| ModelCard::new(title, ModelCardData::default());
        // Writes the weights; `tamper`: then changes them behind the writer's back, keeping
        // their size and modification time, which only a commit that reads them can notice.
        let save = |tamper: bool| {
            move |dir: &Path| -> Result<Vec<PathBuf>, HubError> {
                let path = dir.join("weights.safetensors");
                let mut file = AtomicFile::create(&path)?;
                file.write_all(&[1; 1000])?;
                file.finish(Durability::PageCache)?;
                if tamper {
                    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
                    let file = std::fs::File::options().write(true).open(&path).unwrap();
                    write_all_at(&file, &[2; 1000], 0).unwrap();
                    file.set_modified(modified).unwrap();
                }
                Ok(vec![path])
            }
        };
        let push = PushOptions::default();
        push_folder(&client, "alice/staged", &push, &[], save(false), card).unwrap();
        let got = client
            .hub_download("alice/staged", "weights.safetensors", &DownloadOptions::default())
            .unwrap();
        assert_eq!(std::fs::read(got).unwrap(), [1; 1000]);

        // The commit declared the hash taken while writing, so the Hub refuses the other bytes.
        let err = push_folder(&client, "alice/tampered", &push, &[], save(true), card).unwrap_err();
        assert!(err.to_string().to_lowercase().contains("sha"), "{err}");
    }

    fn is_revision_conflict(err: &CounterError) -> bool {
        matches!(err, CounterError::Hub(HubError::InvalidArgument { name, .. }) if name == "revision")
    }

    #[test]
    fn a_model_of_any_framework_saves_pushes_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub")).user(
            "alice",
            "hf_alice",
            hubmix_server::Role::Write,
        ))
        .unwrap();
        ENDPOINT.get_or_init(|| (server.url().to_owned(), dir.path().join("cache")));

        // A folder: the framework's files and a card from its hook, with its save options.
        let folder = dir.path().join("counter");
        let written = Counter(7)
            .save_pretrained_with(&folder, &ModelCardData::default().license("mit"))
            .unwrap();
        assert_eq!(written, [folder.join("counter.json"), folder.join(README)]);
        let card = std::fs::read_to_string(folder.join(README)).unwrap();
        assert!(
            card.contains("library_name: counter") && card.contains("license: mit"),
            "{card}"
        );
        let loaded = Counter::from_pretrained_with(folder.to_str().unwrap(), &(), &Load::default()).unwrap();
        assert_eq!(loaded.base_model(), None, "a folder is no base model");
        assert_eq!(
            (loaded.model, loaded.report, loaded.commit, loaded.repo),
            (Counter(7), "clean", None, None)
        );

        // The Hub, with the default client (no client in the options).
        let first = Counter(1)
            .push_to_hub("alice/counter", &PushOptions::default())
            .unwrap();
        let client = Counter::default_client().unwrap();
        client
            .create_tag(format!("alice/counter@{}", first.oid), "v1", None, false)
            .unwrap();
        Counter(2)
            .push_to_hub("alice/counter", &PushOptions::default())
            .unwrap();
        assert_eq!(
            Counter::from_pretrained("alice/counter", &()).unwrap(),
            Counter(2)
        );
        let v1 = Counter::from_pretrained_with("alice/counter@v1", &(), &Load::default()).unwrap();
        assert_eq!(v1.base_model().as_deref(), Some("alice/counter"));
        assert_eq!(
            (v1.model, v1.commit.as_deref()),
            (Counter(1), Some(first.oid.as_str()))
        );
        // The revision as an option; or in both places when they agree.
        let at = |revision: &str| Load {
            download: DownloadOptions::default().revision(revision),
            ..Load::default()
        };
        assert_eq!(
            Counter::from_pretrained_with("alice/counter", &(), &at("v1"))
                .unwrap()
                .model,
            Counter(1)
        );
        assert_eq!(
            Counter::from_pretrained_with("alice/counter@v1", &(), &at("v1"))
                .unwrap()
                .model,
            Counter(1)
        );
        // Both, different: an error, not a silent choice.
        let err = Counter::from_pretrained_with("alice/counter@v1", &(), &at("main")).unwrap_err();
        assert!(is_revision_conflict(&err), "{err}");
        // The framework's own error.
        client
            .create_repo("alice/empty", &CreateRepoOptions::default())
            .unwrap();
        let err = Counter::from_pretrained("alice/empty", &()).unwrap_err();
        assert!(matches!(err, CounterError::Missing(_)), "{err}");

        // A push names its branch once: `repo@branch` or the option, not two different ones.
        let err = Counter(3)
            .push_to_hub("alice/counter@dev", &PushOptions::default().branch("main"))
            .unwrap_err();
        assert!(is_revision_conflict(&err), "{err}");
        assert_eq!(
            Counter::from_pretrained("alice/counter", &()).unwrap(),
            Counter(2)
        );
        assert!(
            client
                .list_repo_refs("alice/counter", false)
                .unwrap()
                .branches
                .iter()
                .all(|b| b.name != "dev")
        );
        let dev = Counter(4)
            .push_to_hub("alice/counter@dev", &PushOptions::default().branch("dev"))
            .unwrap();
        let loaded = Counter::from_pretrained_with("alice/counter@dev", &(), &Load::default()).unwrap();
        assert_eq!((loaded.model, loaded.commit), (Counter(4), Some(dev.oid)));
        assert_eq!(
            Counter::from_pretrained("alice/counter", &()).unwrap(),
            Counter(2)
        );
    }
}
