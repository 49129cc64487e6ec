//! The Hugging Face Hub's wire contract, shared by the hubmix client (`hubmix-hub`) and
//! `hubmix-server`: one rule, one function, for both sides.
//!
//! - [`repo`]: repository ids, revisions and `repo@rev` references, and their URL encoding.
//! - [`path`]: file paths inside a repository.
//! - [`card`]: a card's YAML front matter, read and checked as the Hub does.
//! - [`safetensors`]: the header of a safetensors file, read bounded by the file.
//! - [`template`]: model-card templates and their `{{ name }}` placeholders.
//! - [`wire`]: the headers and error codes of the Hub's answers.
//! - [`headers`]: the standard HTTP headers a client acts on (retry waits, next pages, ranges,
//!   lengths, ETags), parsed and written once.
//! - [`limits`]: bounds both sides check before parsing (JSON nesting).
//! - [`types`]: the JSON bodies the two exchange, as serde types.
//!
//! ```
//! use hubmix_protocol::{RepoRef, RepoType};
//!
//! let r: RepoRef = "datasets/alice/rows@refs/pr/2".parse()?;
//! assert_eq!(r.id.repo_type, RepoType::Dataset);
//! assert_eq!(r.id.url_path(), "datasets/alice/rows");
//! assert_eq!(hubmix_protocol::repo::encode_revision(r.revision_or_main()), "refs%2Fpr%2F2");
//! # Ok::<(), hubmix_protocol::InvalidName>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

pub mod card;
pub mod headers;
pub mod limits;
pub mod path;
pub mod repo;
pub mod safetensors;
pub mod template;
pub mod types;
pub mod wire;

#[cfg(test)]
mod proptests;

pub use repo::{DEFAULT_REVISION, RepoId, RepoRef, RepoType};

/// A name that breaks one of the Hub's rules, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    /// A repository id (`namespace/name`) the Hub would refuse.
    #[error("invalid repository id {id:?}: {reason}")]
    RepoId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A revision that cannot name a branch, tag, commit or pull request.
    #[error("invalid revision {revision:?}: {reason}")]
    Revision {
        /// The revision as given.
        revision: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A path that cannot name a file inside a repository.
    #[error("invalid path {path:?}: {reason}")]
    Path {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}
