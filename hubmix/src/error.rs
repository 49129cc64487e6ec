//! The typed errors of hubmix. Each says what went wrong and what to do; none contains a token.

use std::path::PathBuf;

/// Everything that can go wrong talking to the Hub or its cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// A repository id that the Hub would refuse.
    #[error("invalid repository id {id:?}: {reason}")]
    InvalidRepoId { id: String, reason: String },
    /// A revision that cannot be used.
    #[error("invalid revision {revision:?}: {reason}")]
    InvalidRevision { revision: String, reason: String },
    /// A file path that cannot be used inside a repository (or came from the server unsafe).
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    /// The repository does not exist, or is private and the token cannot see it.
    #[error("repository {repo} not found: check the id, or pass a token that can read it (HF_TOKEN)")]
    RepoNotFound { repo: String },
    /// The revision does not exist in the repository.
    #[error("revision {revision:?} not found in {repo}: check the branch, tag or commit id")]
    RevisionNotFound { repo: String, revision: String },
    /// The file does not exist at that revision.
    #[error("{path} does not exist in {repo} at revision {revision:?}")]
    EntryNotFound {
        repo: String,
        revision: String,
        path: String,
    },
    /// The repository is gated and the token has not been granted access.
    #[error("repository {repo} is gated: request access on the Hub, then pass a token that has it")]
    Gated { repo: String },
    /// No token, or the server refused it (401).
    #[error("unauthorized: {message}. Set HF_TOKEN (or log in) with a valid token")]
    Unauthorized { message: String },
    /// The token lacks a permission (403).
    #[error("forbidden: {message}")]
    Forbidden { message: String },
    /// A write was attempted without a token that can write.
    #[error(
        "not logged in: {action} needs a write token. Set HF_TOKEN or pass a token to the client builder"
    )]
    NotLoggedIn { action: String },
    /// Offline (HF_HUB_OFFLINE or local_files_only) and the file is not in the cache.
    #[error(
        "{what} of {repo} at revision {revision:?} is not in the cache, and downloads are disabled ({why}): run once online, or unset HF_HUB_OFFLINE"
    )]
    NotCached {
        repo: String,
        revision: String,
        what: String,
        why: &'static str,
    },
    /// Downloaded bytes do not match what the server announced.
    #[error(
        "integrity check failed for {path}: expected {expected}, got {actual}. Nothing was kept; retry the download"
    )]
    Integrity {
        path: String,
        expected: String,
        actual: String,
    },
    /// A conflict: the branch moved (parent commit), or the thing exists already.
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// Any other HTTP error, with the server's own message.
    #[error("HTTP {status} from {url}: {message}")]
    Http {
        status: u16,
        url: String,
        message: String,
    },
    /// The connection failed (after retries).
    #[error(
        "cannot reach {url}: {message}. Check HF_ENDPOINT and the network, or set HF_HUB_OFFLINE=1 to use the cache"
    )]
    Network { url: String, message: String },
    /// The server answered something that is not the Hub protocol.
    #[error("unexpected answer from {url}: {reason}")]
    InvalidResponse { url: String, reason: String },
    /// A local file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A local file or folder given to an upload is missing or of the wrong kind.
    #[error("cannot upload {path}: {reason}")]
    UploadSource { path: PathBuf, reason: String },
    /// An argument of a call cannot be used.
    #[error("invalid {name}: {reason}")]
    InvalidArgument { name: String, reason: String },
    /// A setting (environment variable or builder value) is unusable.
    #[error("invalid setting {name}: {reason}")]
    InvalidSetting { name: String, reason: String },
    /// A model card (README.md) that cannot be read or merged, or whose metadata the Hub refuses.
    #[error("the model card (README.md) cannot be used: {reason}. Fix its YAML front matter")]
    InvalidModelCard { reason: String },
    /// A checkpoint that cannot be loaded into this model: what is wrong and what to do.
    #[error("cannot load {what}: {reason}")]
    Checkpoint { what: String, reason: String },
    /// The training state (optimizer, scheduler) of a checkpoint cannot be saved or restored.
    #[error("training state of {what}: {reason}")]
    TrainingState { what: String, reason: String },
    /// Weights that do not fit the model (strict loading): every mismatch is listed.
    #[error(
        "the weights do not fit the model:\n{report}\nPass strict(false) to load what fits and get this report back"
    )]
    WeightsMismatch { report: String },
}

impl HubError {
    /// An I/O error on `path`, saying what was being done.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> HubError {
        let path = path.into();
        move |source| HubError::Io { action, path, source }
    }
}

/// `Result` with [`HubError`].
pub type Result<T, E = HubError> = std::result::Result<T, E>;
