//! The JSON bodies client and server exchange, as serde types: one module per resource,
//! everything re-exported here (`hubmix_protocol::types::RepoInfo`).
//!
//! Conventions, so that the same types serve both sides:
//!
//! - Field names are the wire's (`camelCase` mostly, a few `snake_case` such as
//!   `library_name`).
//! - A field the server leaves out when it has nothing to say is an `Option` skipped when
//!   `None`; a field it always sends is written even when empty or `null`.
//! - Reading is lenient: fields huggingface.co may leave out have defaults, and unknown fields
//!   are ignored, so that the types read the real Hub's answers, not only hubmix-server's.
//!
//! ```
//! use hubmix_protocol::types::{CommitHeader, CommitLine};
//!
//! let line = CommitLine::Header(CommitHeader { summary: "Add weights".into(), ..Default::default() });
//! assert_eq!(
//!     serde_json::to_string(&line)?,
//!     r#"{"key":"header","value":{"summary":"Add weights","description":""}}"#
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

mod card;
mod commits;
mod common;
mod discussions;
mod error;
mod harnesses;
mod lfs;
mod manage;
mod refs;
mod repo;
mod tree;
mod upload;
mod whoami;

pub use card::{ValidateYamlAnswer, ValidateYamlRequest};
pub use commits::{CommitAuthor, CommitInfo, GitCommit};
pub use common::{Empty, Message};
pub use discussions::{
    CreateDiscussionAnswer, CreateDiscussionRequest, Discussion, DiscussionAuthor, DiscussionDetails,
    DiscussionEvent, DiscussionList, DiscussionRepo, PrChanges,
};
pub use error::{ErrorBody, ErrorText};
pub use harnesses::AgentHarnesses;
pub use lfs::{
    BatchAnswer, BatchObject, BatchRequest, CompletedPart, LfsAction, LfsActions, LfsObject, LfsObjectError,
    LfsOperation, LfsRef, MultipartCompletion, MultipartParts, Transfer,
};
pub use manage::{CreateRepoRequest, MoveRepoRequest, RepoLocation, RepoName, RepoSettings, Visibility};
pub use refs::{CreateBranchRequest, CreateTagRequest, GitRef, Refs};
pub use repo::{Gated, RepoInfo, Sibling, SiblingLfs};
pub use tree::{EntryKind, LastCommit, LfsInfo, TreeEntry};
pub use upload::{
    CommitFile, CommitHeader, CommitLfsFile, CommitLine, DeletedPath, FileEncoding, PreuploadAnswer,
    PreuploadFile, PreuploadRequest, PreuploadResult, UploadMode,
};
pub use whoami::{AccessToken, AuthInfo, Org, WhoAmI};
