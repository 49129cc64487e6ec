//! Uploads: commits of file operations ([`CommitOperation`], [`CommitOptions`]), their large
//! files through Git LFS, whole folders ([`UploadFolderOptions`]), and a folder committed now
//! and then as it changes ([`CommitScheduler`]).

pub(crate) mod commit;
pub(crate) mod content;
pub(crate) mod folder;
pub(crate) mod lfs;
pub(crate) mod scheduler;

pub use commit::{CommitInfo, CommitOperation, CommitOptions};
pub use content::{MemoryFile, SharedBuffer};
pub use folder::{DEFAULT_IGNORE_PATTERNS, UploadFolderOptions, scan};
pub use scheduler::{CommitScheduler, DEFAULT_SETTLE_TIME, SchedulerRound};
