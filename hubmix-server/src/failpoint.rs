//! Crash injection for the crash-safety tests.
//!
//! Built only with the `failpoints` feature, which the server's own tests enable (a release
//! build has none, so no environment variable can make it abort). Then, when the environment
//! variable `HUBMIX_SERVER_FAILPOINT` names a point that the server reaches, the process aborts
//! there, as a power cut would stop it. Unset, a failpoint costs one comparison.

/// The points where a crash can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    /// A commit's blobs are on disk; nothing is in the database yet.
    CommitBlobsWritten,
    /// Inside the commit's database transaction, after the new tree, before the ref moves.
    CommitBeforeRefUpdate,
    /// Half of an LFS upload's bytes have been written to the temporary file.
    LfsUploadHalfway,
    /// An LFS object is complete and verified, before it is renamed into the blob store.
    LfsBeforeRename,
}

#[cfg(feature = "failpoints")]
impl Point {
    fn name(self) -> &'static str {
        match self {
            Point::CommitBlobsWritten => "commit-blobs-written",
            Point::CommitBeforeRefUpdate => "commit-before-ref-update",
            Point::LfsUploadHalfway => "lfs-upload-halfway",
            Point::LfsBeforeRename => "lfs-before-rename",
        }
    }
}

/// Aborts the process if `point` is the configured failpoint.
#[cfg(feature = "failpoints")]
pub(crate) fn hit(point: Point) {
    use std::sync::OnceLock;

    static CONFIGURED: OnceLock<Option<String>> = OnceLock::new();
    let configured = CONFIGURED.get_or_init(|| std::env::var("HUBMIX_SERVER_FAILPOINT").ok());
    if configured.as_deref() == Some(point.name()) {
        eprintln!("hubmix-server: failpoint {} reached, aborting", point.name());
        std::process::abort();
    }
}

/// Without the `failpoints` feature a failpoint is nothing.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn hit(_point: Point) {}
