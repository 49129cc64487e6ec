//! The typed errors of hubmix. Each says what went wrong and what to do; none contains a token.

use std::path::PathBuf;

/// Everything that can go wrong talking to the Hub or its cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// A repository id that the Hub would refuse.
    #[error("invalid repository id {id:?}: {reason}")]
    InvalidRepoId {
        /// The id as given.
        id: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A revision that cannot be used.
    #[error("invalid revision {revision:?}: {reason}")]
    InvalidRevision {
        /// The revision as given.
        revision: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A file path that cannot be used inside a repository (or came from the server unsafe).
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given or received.
        path: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The repository does not exist, or is private and the token cannot see it.
    #[error("repository {repo} not found: check the id, or pass a token that can read it (HF_TOKEN)")]
    RepoNotFound {
        /// The repository id.
        repo: String,
    },
    /// The revision does not exist in the repository.
    #[error("revision {revision:?} not found in {repo}: check the branch, tag or commit id")]
    RevisionNotFound {
        /// The repository id.
        repo: String,
        /// The branch, tag or commit asked for.
        revision: String,
    },
    /// The file does not exist at that revision.
    #[error("{path} does not exist in {repo} at revision {revision:?}")]
    EntryNotFound {
        /// The repository id.
        repo: String,
        /// The revision looked at.
        revision: String,
        /// The file's path in the repository.
        path: String,
    },
    /// The repository is gated and the token has not been granted access.
    #[error("repository {repo} is gated: request access on the Hub, then pass a token that has it")]
    Gated {
        /// The repository id.
        repo: String,
    },
    /// No token, or the server refused it (401).
    #[error("unauthorized: {message}. Set HF_TOKEN (or log in) with a valid token")]
    Unauthorized {
        /// The server's explanation.
        message: String,
    },
    /// The token lacks a permission (403).
    #[error("forbidden: {message}")]
    Forbidden {
        /// The server's explanation.
        message: String,
    },
    /// A write was attempted without a token that can write.
    #[error(
        "not logged in: {action} needs a write token. Set HF_TOKEN or pass a token to the client builder"
    )]
    NotLoggedIn {
        /// What needed the token.
        action: String,
    },
    /// Offline (HF_HUB_OFFLINE or local_files_only) and the file is not in the cache.
    #[error(
        "{what} of {repo} at revision {revision:?} is not in the cache, and downloads are disabled ({why}): run once online, or unset HF_HUB_OFFLINE"
    )]
    NotCached {
        /// The repository id.
        repo: String,
        /// The revision asked for.
        revision: String,
        /// The file, snapshot or revision that is missing.
        what: String,
        /// Why downloads are disabled.
        why: &'static str,
    },
    /// A repository, a revision or a snapshot that a local operation (a verification) needs is
    /// not in the cache.
    #[error("{what} of {repo} is not in the cache (no {}): download it first", path.display())]
    NotInCache {
        /// The repository id.
        repo: String,
        /// What is missing: `the repository`, `revision "v1"`, ...
        what: String,
        /// The cache entry looked for.
        path: PathBuf,
    },
    /// Downloaded bytes do not match what the server announced.
    #[error(
        "integrity check failed for {path}: expected {expected}, got {actual}. Nothing was kept; retry the download"
    )]
    Integrity {
        /// The file (or blob) checked.
        path: String,
        /// What the server announced (a hash or a size).
        expected: String,
        /// What arrived.
        actual: String,
    },
    /// A conflict: the branch moved (parent commit), or the thing exists already.
    #[error("conflict: {message}")]
    Conflict {
        /// The server's explanation.
        message: String,
    },
    /// Any other HTTP error, with the server's own message. When retries were made (408, 429,
    /// 5xx), this is the answer to the last one.
    #[error("HTTP {status} from {}: {message}", strip_query(.url))]
    Http {
        /// The status of the answer.
        status: u16,
        /// The URL asked, without its query.
        url: String,
        /// The server's explanation (`X-Error-Message`, the JSON `error`, or the body).
        message: String,
    },
    /// The connection failed, timed out or broke off (after retries).
    #[error(
        "cannot reach {}: {source}. Check HF_ENDPOINT and the network, or set HF_HUB_OFFLINE=1 to use the cache",
        strip_query(.url)
    )]
    Network {
        /// The URL asked, without its query.
        url: String,
        /// The error of the last attempt: a `ureq::Error`, or a `std::io::Error` when a body
        /// broke off (find it with `downcast_ref`).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Offline mode is on (HF_HUB_OFFLINE) and the call needs the Hub.
    #[error(
        "offline mode is on (HF_HUB_OFFLINE), so no request was sent to {}: unset HF_HUB_OFFLINE to reach the Hub",
        strip_query(.url)
    )]
    Offline {
        /// The URL that would have been asked, without its query.
        url: String,
    },
    /// The server answered something that is not the Hub protocol.
    #[error("unexpected answer from {}: {reason}", strip_query(.url))]
    InvalidResponse {
        /// The URL asked, without its query.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`"reading"`, `"writing"`, ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A local file or folder given to an upload is missing or of the wrong kind.
    #[error("cannot upload {path}: {reason}")]
    UploadSource {
        /// The local path given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An argument of a call cannot be used.
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// The argument.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A setting (environment variable or builder value) is unusable.
    #[error("invalid setting {name}: {reason}")]
    InvalidSetting {
        /// The setting (an environment variable or a builder method).
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A paginated listing whose `Link: rel="next"` pages cannot be followed: a page links back
    /// to one already read, to another origin (which would get the token), or there are more
    /// pages or items than any real listing has.
    #[error(
        "the listing at {} cannot be followed: {reason}. The server's pagination is broken; report it to its operator",
        strip_query(.url)
    )]
    Pagination {
        /// The listing's first page, without its query.
        url: String,
        /// What the server did.
        reason: String,
    },
    /// A file that is not a valid safetensors file: its header is missing, cut short, not JSON,
    /// or claims bytes the file does not have.
    #[error("{file} is not a valid safetensors file: {source}")]
    InvalidSafetensors {
        /// The file (a local path, or a path in a repository).
        file: String,
        /// What is wrong with it.
        #[source]
        source: hubmix_protocol::safetensors::InvalidSafetensors,
    },
    /// A checkpoint whose files do not fit together (an index naming shards or tensors that are
    /// not there), or a folder or repository without one.
    #[error("{what}: {reason}")]
    InvalidCheckpoint {
        /// The checkpoint, or the file of it at fault.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A model card (README.md) that cannot be read or merged, or whose metadata the Hub refuses.
    #[error("the model card (README.md) cannot be used: {reason}. Fix its YAML front matter")]
    InvalidModelCard {
        /// What is wrong with it.
        reason: String,
    },
}

impl HubError {
    /// The HTTP status this error reports, when it is one: [`HubError::Http`]'s (after retries,
    /// the last attempt's), 401 for [`HubError::Unauthorized`], 403 for
    /// [`HubError::Forbidden`]. `None` for the others, including those the Hub signals with an
    /// error code rather than a status alone (not found, gated, conflict).
    ///
    /// ```
    /// use hubmix_hub::HubError;
    ///
    /// let e = HubError::Http { status: 503, url: "https://huggingface.co/api/x".into(), message: "busy".into() };
    /// assert_eq!(e.status(), Some(503));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            HubError::Http { status, .. } => Some(*status),
            HubError::Unauthorized { .. } => Some(401),
            HubError::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// A failed connection to `url` (its query, which may hold a signature, is left out).
    pub(crate) fn network(
        url: &str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> HubError {
        HubError::Network {
            url: strip_query(url),
            source: source.into(),
        }
    }

    /// An I/O error on `path`, saying what was being done.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> HubError {
        let path = path.into();
        move |source| HubError::Io { action, path, source }
    }
}

/// A URL as errors and logs show it: without its query and fragment (signed URLs carry
/// signatures and tokens there) and without user information (`user:password@`).
pub(crate) fn strip_query(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{path}"),
        None => format!("{host}{path}"),
    }
}

/// `Result` with [`HubError`].
pub type Result<T, E = HubError> = std::result::Result<T, E>;

impl From<hubmix_protocol::InvalidName> for HubError {
    fn from(e: hubmix_protocol::InvalidName) -> Self {
        use hubmix_protocol::InvalidName;
        match e {
            InvalidName::RepoId { id, reason } => HubError::InvalidRepoId { id, reason },
            InvalidName::Revision { revision, reason } => HubError::InvalidRevision { revision, reason },
            InvalidName::Path { path, reason } => HubError::InvalidPath { path, reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secrets() {
        assert_eq!(strip_query("http://h/p?sig=secret"), "http://h/p");
        assert_eq!(strip_query("https://u:pw@h:1/p#frag?x"), "https://h:1/p");
        assert_eq!(strip_query("https://h/a@b?X-Amz-Signature=s"), "https://h/a@b");
        assert_eq!(strip_query("/relative?token=t"), "/relative");
    }

    #[test]
    fn messages_never_show_a_query_even_when_given_one() {
        let signed = "https://blobs.example/x/abc?sig=SECRET&exp=1";
        let errors = [
            HubError::Http {
                status: 403,
                url: signed.into(),
                message: "expired".into(),
            },
            HubError::network(signed, std::io::Error::other("reset")),
            HubError::Network {
                url: signed.into(),
                source: Box::new(std::io::Error::other("reset")),
            },
            HubError::Offline { url: signed.into() },
            HubError::InvalidResponse {
                url: signed.into(),
                reason: "odd".into(),
            },
            HubError::Pagination {
                url: signed.into(),
                reason: "a loop".into(),
            },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(text.contains("https://blobs.example/x/abc"), "{text}");
            assert!(!text.contains("SECRET"), "{text}");
        }
    }
}
