//! The HTTP headers and error codes of the Hub's answers.
//!
//! An error answer carries a status, an [`ERROR_CODE`] header naming one [`ErrorCode`], an
//! [`ERROR_MESSAGE`] header and a JSON body ([`crate::types::ErrorBody`]); `huggingface_hub` maps
//! the code to its exception classes, and hubmix to its typed errors.
//!
//! ```
//! use hubmix_protocol::wire::ErrorCode;
//!
//! assert_eq!(ErrorCode::parse("EntryNotFound"), Some(ErrorCode::EntryNotFound));
//! assert_eq!(ErrorCode::EntryNotFound.as_str(), "EntryNotFound");
//! assert_eq!(ErrorCode::parse("SomethingNew"), None);
//! ```

/// The error's code (`X-Error-Code`).
pub const ERROR_CODE: &str = "x-error-code";
/// The error's message (`X-Error-Message`).
pub const ERROR_MESSAGE: &str = "x-error-message";
/// The commit a `/resolve/` answer (or an entry-not-found error) is at (`X-Repo-Commit`).
pub const REPO_COMMIT: &str = "x-repo-commit";
/// The SHA-256 of an LFS file, on its `/resolve/` answer (`X-Linked-Etag`).
pub const LINKED_ETAG: &str = "x-linked-etag";
/// The size of an LFS file, on its `/resolve/` answer (`X-Linked-Size`).
pub const LINKED_SIZE: &str = "x-linked-size";

/// The values of [`ERROR_CODE`] that client and server agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The repository does not exist, or the caller may not see it.
    RepoNotFound,
    /// The revision does not exist.
    RevisionNotFound,
    /// The file does not exist at the revision.
    EntryNotFound,
    /// The repository is gated and the caller has no access.
    GatedRepo,
    /// The request is malformed.
    BadRequest,
    /// No valid token.
    Unauthorized,
    /// The token lacks a permission.
    Forbidden,
    /// Something else does not exist.
    NotFound,
    /// A conflict: the thing exists, or the branch moved.
    Conflict,
    /// The request is larger than the server takes.
    PayloadTooLarge,
    /// The requested byte range is outside the file.
    RangeNotSatisfiable,
    /// Too many requests: wait as `Retry-After` says.
    TooManyRequests,
    /// The request was not answered within the server's deadline.
    RequestTimeout,
    /// The server does not implement this call.
    NotImplemented,
    /// The server failed.
    InternalError,
}

impl ErrorCode {
    /// Every code, for parsing.
    const ALL: [ErrorCode; 15] = [
        ErrorCode::RepoNotFound,
        ErrorCode::RevisionNotFound,
        ErrorCode::EntryNotFound,
        ErrorCode::GatedRepo,
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RangeNotSatisfiable,
        ErrorCode::TooManyRequests,
        ErrorCode::RequestTimeout,
        ErrorCode::NotImplemented,
        ErrorCode::InternalError,
    ];

    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::RepoNotFound => "RepoNotFound",
            ErrorCode::RevisionNotFound => "RevisionNotFound",
            ErrorCode::EntryNotFound => "EntryNotFound",
            ErrorCode::GatedRepo => "GatedRepo",
            ErrorCode::BadRequest => "BadRequest",
            ErrorCode::Unauthorized => "Unauthorized",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::Conflict => "Conflict",
            ErrorCode::PayloadTooLarge => "PayloadTooLarge",
            ErrorCode::RangeNotSatisfiable => "RangeNotSatisfiable",
            ErrorCode::TooManyRequests => "TooManyRequests",
            ErrorCode::RequestTimeout => "RequestTimeout",
            ErrorCode::NotImplemented => "NotImplemented",
            ErrorCode::InternalError => "InternalError",
        }
    }

    /// The code a header value names; `None` for codes this crate does not know.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("repoNotFound"), None);
    }
}
