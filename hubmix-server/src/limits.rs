//! The limits a request is held to, in one place ([`Limits`]), and the refusal that names the
//! limit hit, its value and the flag that raises it ([`Limits::exceeded`]).
//!
//! Every limit is checked before work or memory proportional to what the request claims: a
//! declared `Content-Length` before the body is read, a count before the item it would add.

use std::fmt::Display;

use hubmix_protocol::card::{FrontMatterError, FrontMatterLimits};

use crate::error::ApiError;
use crate::rate_limit::WriteRate;

/// Default largest LFS object (50 GiB, huggingface.co's limit per file).
pub const DEFAULT_MAX_LFS_OBJECT_BYTES: u64 = 50 * 1024 * 1024 * 1024;
/// Most parts one multipart LFS upload is cut into (as S3 allows): an object that would need
/// more is refused (a larger `--lfs-part-size` makes fewer parts).
pub const MAX_LFS_PARTS: u64 = 10_000;
/// Default longest NDJSON commit line (a `file` line carries its content base64-encoded).
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024 * 1024;
/// Default largest NDJSON commit body, all lines together.
pub const DEFAULT_MAX_COMMIT_BYTES: u64 = 1024 * 1024 * 1024;
/// Default most operations (added, deleted files and folders) in one commit. huggingface.co
/// publishes no hard limit (it recommends fewer than 100 files per commit); this bounds the
/// work of one request while letting a large folder go up in one commit.
pub const DEFAULT_MAX_COMMIT_OPERATIONS: usize = 25_000;
/// Default largest JSON request body (a preupload of 256 files with samples, LFS batches, ...).
pub const DEFAULT_MAX_JSON_BYTES: usize = 16 * 1024 * 1024;
/// Default deepest nesting of a JSON body or NDJSON line.
pub const DEFAULT_MAX_JSON_DEPTH: usize = hubmix_protocol::limits::DEFAULT_MAX_JSON_DEPTH;
/// Default most paths one paths-info request may ask about (the Python client sends at most 500).
pub const DEFAULT_MAX_PATHS_PER_REQUEST: usize = 1000;
/// Default (and largest) number of entries per page of listings (huggingface.co uses 1000); a
/// `limit` query parameter may ask for fewer.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Every limit of the server. Set through the [`ServerConfig`](crate::ServerConfig) builder.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub max_lfs_object_bytes: u64,
    pub max_line_bytes: usize,
    pub max_commit_bytes: u64,
    pub max_commit_operations: usize,
    pub max_json_bytes: usize,
    pub max_json_depth: usize,
    pub max_paths_per_request: usize,
    pub page_size: usize,
    /// A card's front matter: bytes, values (aliases expanded) and depth.
    pub card: FrontMatterLimits,
    pub write_rate: WriteRate,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lfs_object_bytes: DEFAULT_MAX_LFS_OBJECT_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_commit_bytes: DEFAULT_MAX_COMMIT_BYTES,
            max_commit_operations: DEFAULT_MAX_COMMIT_OPERATIONS,
            max_json_bytes: DEFAULT_MAX_JSON_BYTES,
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            max_paths_per_request: DEFAULT_MAX_PATHS_PER_REQUEST,
            page_size: DEFAULT_PAGE_SIZE,
            card: FrontMatterLimits::default(),
            write_rate: WriteRate::default(),
        }
    }
}

/// One of the [`Limits`], for the refusal's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    LfsObjectBytes,
    LineBytes,
    CommitBytes,
    CommitOperations,
    JsonBytes,
    JsonDepth,
    PathsPerRequest,
    CardYamlBytes,
    CardYamlValues,
    CardYamlDepth,
}

impl Limit {
    /// The command-line flag that sets it.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Limit::LfsObjectBytes => "--max-lfs-object-bytes",
            Limit::LineBytes => "--max-line-bytes",
            Limit::CommitBytes => "--max-commit-bytes",
            Limit::CommitOperations => "--max-commit-operations",
            Limit::JsonBytes => "--max-json-bytes",
            Limit::JsonDepth => "--max-json-depth",
            Limit::PathsPerRequest => "--max-paths-per-request",
            Limit::CardYamlBytes => "--max-card-yaml-bytes",
            Limit::CardYamlValues => "--max-card-yaml-values",
            Limit::CardYamlDepth => "--max-card-yaml-depth",
        }
    }

    /// What its value counts.
    fn unit(self) -> &'static str {
        match self {
            Limit::LfsObjectBytes => "bytes per LFS object",
            Limit::LineBytes => "bytes per line of a commit",
            Limit::CommitBytes => "bytes per commit body",
            Limit::CommitOperations => "operations per commit",
            Limit::JsonBytes => "bytes per JSON body",
            Limit::JsonDepth => "levels of JSON nesting",
            Limit::PathsPerRequest => "paths per request",
            Limit::CardYamlBytes => "bytes of card front matter",
            Limit::CardYamlValues => "values of card front matter (aliases expanded)",
            Limit::CardYamlDepth => "levels of card front matter nesting",
        }
    }

    /// Whether going over it is a malformed request (`400`) rather than too large a one (`413`).
    fn is_shape(self) -> bool {
        matches!(self, Limit::JsonDepth | Limit::CardYamlDepth)
    }
}

impl Limits {
    /// The value of `limit`.
    pub(crate) fn value(&self, limit: Limit) -> u64 {
        match limit {
            Limit::LfsObjectBytes => self.max_lfs_object_bytes,
            Limit::CommitBytes => self.max_commit_bytes,
            Limit::LineBytes => self.max_line_bytes as u64,
            Limit::CommitOperations => self.max_commit_operations as u64,
            Limit::JsonBytes => self.max_json_bytes as u64,
            Limit::JsonDepth => self.max_json_depth as u64,
            Limit::PathsPerRequest => self.max_paths_per_request as u64,
            Limit::CardYamlBytes => self.card.max_bytes as u64,
            Limit::CardYamlValues => self.card.max_nodes as u64,
            Limit::CardYamlDepth => self.card.max_depth as u64,
        }
    }

    /// The message of a refusal: `what` went over `limit`; says the limit's value and flag.
    pub(crate) fn message(&self, limit: Limit, what: impl Display) -> String {
        format!(
            "{what}: this hub takes at most {} {} ({} raises it)",
            self.value(limit),
            limit.unit(),
            limit.flag()
        )
    }

    /// The refusal of a request that went over `limit` (`what` says how): `413`, or `400` for a
    /// nesting depth.
    pub(crate) fn exceeded(&self, limit: Limit, what: impl Display) -> ApiError {
        let message = self.message(limit, what);
        if limit.is_shape() {
            ApiError::BadRequest(message)
        } else {
            ApiError::PayloadTooLarge(message)
        }
    }

    /// Refuses a JSON document (`what`) that nests deeper than allowed, from a pass over its
    /// bytes, before it is parsed.
    pub(crate) fn check_json_depth(&self, json: &[u8], what: impl Display) -> Result<(), ApiError> {
        hubmix_protocol::limits::check_json_depth(json, self.max_json_depth)
            .map_err(|_| self.exceeded(Limit::JsonDepth, format_args!("{what} nests too deep")))
    }

    /// The message for a card front matter that cannot be read, naming the limit it went over.
    pub(crate) fn front_matter_message(&self, error: &FrontMatterError) -> String {
        match self.front_matter_limit(error) {
            Some(limit) => self.message(limit, error),
            None => error.to_string(),
        }
    }

    /// The limit a front matter error is about, if it is about one.
    pub(crate) fn front_matter_limit(&self, error: &FrontMatterError) -> Option<Limit> {
        match error {
            FrontMatterError::TooLarge { .. } => Some(Limit::CardYamlBytes),
            FrontMatterError::TooManyNodes { .. } => Some(Limit::CardYamlValues),
            FrontMatterError::TooDeep { .. } => Some(Limit::CardYamlDepth),
            // Not configurable: the message names the limit and its value.
            FrontMatterError::TooMuchAliasedText { .. } | FrontMatterError::Invalid(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_limit_its_value_and_flag() {
        let limits = Limits {
            max_commit_operations: 1000,
            ..Limits::default()
        };
        let e = limits.exceeded(Limit::CommitOperations, "the commit has 1001 operations");
        assert!(matches!(&e, ApiError::PayloadTooLarge(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "the commit has 1001 operations: this hub takes at most 1000 operations per commit \
             (--max-commit-operations raises it)"
        );
        assert!(matches!(
            limits.check_json_depth(&[b'['; 65], "the body"),
            Err(ApiError::BadRequest(m)) if m.contains("at most 64 levels") && m.contains("--max-json-depth")
        ));
        let deep = FrontMatterError::TooDeep { max: 64 };
        assert_eq!(limits.front_matter_limit(&deep), Some(Limit::CardYamlDepth));
        assert!(
            limits
                .front_matter_message(&deep)
                .contains("--max-card-yaml-depth")
        );
    }
}
