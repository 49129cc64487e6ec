//! API errors and how they go on the wire: a status, `X-Error-Code`, `X-Error-Message` and a
//! JSON body `{"error": "..."}` — the shape `huggingface_hub` maps to its exception classes.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hubmix_protocol::headers;
use hubmix_protocol::types::ErrorBody;
use hubmix_protocol::wire::{self, ErrorCode};

use crate::storage::StoreError;

/// Everything a handler can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("Repository not found")]
    RepoNotFound,
    #[error("Invalid rev id: {0}")]
    RevisionNotFound(String),
    #[error("{path} does not exist on \"{rev}\"")]
    EntryNotFound {
        path: String,
        rev: String,
        commit: Option<String>,
    },
    #[error("A file with this name doesn't exist: {0}")]
    DeletedEntryNotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("Invalid credentials in Authorization header")]
    InvalidCredentials,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { message: String, url: Option<String> },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("Requested range not satisfiable")]
    RangeNotSatisfiable { total: u64 },
    /// A rate limit: `429` with `Retry-After` and the IETF draft `RateLimit` headers the Python
    /// client reads to know how long to wait.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
        per_minute: u32,
    },
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiError::RepoNotFound => (StatusCode::NOT_FOUND, ErrorCode::RepoNotFound),
            ApiError::RevisionNotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::RevisionNotFound),
            ApiError::EntryNotFound { .. } | ApiError::DeletedEntryNotFound(_) => {
                (StatusCode::NOT_FOUND, ErrorCode::EntryNotFound)
            }
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ApiError::InvalidCredentials | ApiError::Unauthorized(_) => {
                (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized)
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, ErrorCode::Conflict),
            ApiError::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, ErrorCode::Conflict),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            ApiError::RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, ErrorCode::RangeNotSatisfiable)
            }
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests),
            ApiError::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, ErrorCode::NotImplemented),
            ApiError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::InternalError),
        }
    }
}

/// A header-safe rendering of a message: printable ASCII only, bounded length.
fn header_text(message: &str) -> HeaderValue {
    let clean: String = message
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .take(1000)
        .collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("error"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let message = self.to_string();
        let mut headers = HeaderMap::new();
        headers.insert(wire::ERROR_CODE, HeaderValue::from_static(code.as_str()));
        headers.insert(wire::ERROR_MESSAGE, header_text(&message));
        match &self {
            ApiError::EntryNotFound { commit: Some(c), .. } => {
                headers.insert(wire::REPO_COMMIT, header_text(c));
            }
            ApiError::RangeNotSatisfiable { total } => {
                headers.insert("content-range", header_text(&format!("bytes */{total}")));
            }
            ApiError::TooManyRequests {
                retry_after_secs,
                per_minute,
                ..
            } => {
                let wait = Duration::from_secs(*retry_after_secs);
                headers.insert(
                    headers::RETRY_AFTER,
                    header_text(&headers::format_retry_after(wait)),
                );
                let state = headers::RateLimit {
                    policy: "api".into(),
                    remaining: 0,
                    reset: wait,
                };
                headers.insert(
                    headers::RATE_LIMIT,
                    header_text(&headers::format_rate_limit(&state)),
                );
                headers.insert(
                    headers::RATE_LIMIT_POLICY,
                    header_text(&format!("\"token bucket\";\"api\";q={per_minute};w=60")),
                );
            }
            _ => {}
        }
        let url = match self {
            ApiError::Conflict { url, .. } => url,
            _ => None,
        };
        let body = ErrorBody {
            url,
            ..ErrorBody::new(message)
        };
        (status, headers, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::RepoNotFound => ApiError::RepoNotFound,
            StoreError::RevisionNotFound(rev) => ApiError::RevisionNotFound(rev),
            StoreError::RepoExists => ApiError::Conflict {
                message: "You already created this repo".into(),
                url: None,
            },
            StoreError::RefExists(what) => ApiError::Conflict {
                message: format!("{what} already exists"),
                url: None,
            },
            StoreError::DeletedEntryNotFound(path) => ApiError::DeletedEntryNotFound(path),
            StoreError::ParentMismatch { expected, head } => ApiError::PreconditionFailed(format!(
                "A commit has happened since: parentCommit {expected} is not the head of the branch ({head}); fetch and retry"
            )),
            StoreError::Invalid(msg) => ApiError::BadRequest(msg),
            StoreError::Sqlite(e) => ApiError::Internal(format!("database: {e}")),
            StoreError::Io(e) => ApiError::Internal(format!("storage: {e}")),
        }
    }
}
