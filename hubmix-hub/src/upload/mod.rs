//! Uploads: commits of file operations ([`CommitOperation`], [`CommitOptions`]), their large
//! files through Git LFS, and whole folders ([`UploadFolderOptions`]).

pub(crate) mod commit;
pub(crate) mod content;
pub(crate) mod folder;
pub(crate) mod lfs;

pub use commit::{CommitInfo, CommitOperation, CommitOptions};
pub use content::{MemoryFile, SharedBuffer};
pub use folder::{DEFAULT_IGNORE_PATTERNS, UploadFolderOptions, scan};
