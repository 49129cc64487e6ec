//! [`Error`]: what can go wrong saving, loading or pushing a Burn model. A Hub error (network,
//! cache, repository, local file) passes through whole; the model layer adds checkpoints that
//! do not load, training states that do not restore, and weights that do not fit.

use std::path::PathBuf;

use hubmix_hub::HubError;

use crate::checkpoint::LoadReport;

/// The error of hubmix's Burn API. Every [`HubError`] converts into it (`?` works on client
/// calls), and stays inspectable as [`Error::Hub`].
///
/// ```
/// # fn f(model: Result<(), hubmix::Error>) {
/// match model {
///     Err(hubmix::Error::WeightsMismatch { report }) => {
///         eprintln!("missing: {:?}, unexpected: {:?}", report.missing, report.unexpected)
///     }
///     Err(hubmix::Error::Hub(hubmix::HubError::RepoNotFound { .. })) => eprintln!("no such model"),
///     Err(other) => eprintln!("{other}"),
///     Ok(()) => {}
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Hub, the cache or a local file (its message and source, unchanged).
    #[error(transparent)]
    Hub(#[from] HubError),
    /// A checkpoint that cannot be loaded into this model (or a model that cannot be saved as
    /// one): what is wrong and what to do.
    #[error("cannot load {what}: {reason}")]
    Checkpoint {
        /// The checkpoint (a folder, `repo@commit`, a file).
        what: String,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// The training state (optimizer, scheduler) of a checkpoint cannot be saved or restored.
    #[error("training state of {what}: {reason}")]
    TrainingState {
        /// The checkpoint.
        what: String,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// Weights that do not fit the model (strict loading): the whole report, every mismatch
    /// listed in the message.
    #[error(
        "the weights do not fit the model:\n{report}\nPass strict(false) to load what fits and get this report back"
    )]
    WeightsMismatch {
        /// What did not fit: `missing`, `unexpected`, `mismatched`, `errors`.
        report: Box<LoadReport>,
    },
}

impl Error {
    /// The load report of a strict load that failed ([`Error::WeightsMismatch`]).
    pub fn load_report(&self) -> Option<&LoadReport> {
        match self {
            Error::WeightsMismatch { report } => Some(report),
            _ => None,
        }
    }

    /// An I/O error on `path` (a [`HubError::Io`]), saying what was being done.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Hub(HubError::Io { action, path, source })
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
