//! Repository ids, revisions and `repo@rev` references, validated as the Hub does.
//!
//! ```
//! use hubmix_protocol::{RepoRef, RepoType};
//!
//! let r: RepoRef = "alice/mlp@refs/pr/3".parse()?;
//! assert_eq!(r.id.to_string(), "alice/mlp");
//! assert_eq!(r.revision.as_deref(), Some("refs/pr/3"));
//!
//! let d: RepoRef = "hf://datasets/alice/data@feature%2Fx".parse()?;
//! assert_eq!(d.id.repo_type, RepoType::Dataset);
//! assert_eq!(d.revision.as_deref(), Some("feature/x"));
//! # Ok::<(), hubmix_protocol::InvalidName>(())
//! ```

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::InvalidName;

/// The kind of repository. On the wire (JSON bodies): `model`, `dataset`, `space`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    /// A model (the default).
    #[default]
    Model,
    /// A dataset.
    Dataset,
    /// A Space.
    Space,
}

impl RepoType {
    /// The singular name: `model`, `dataset`, `space`.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    /// The API path segment: `models`, `datasets`, `spaces`.
    pub fn api_segment(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// The prefix of download and web URLs: `""`, `datasets/`, `spaces/`.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }

    /// From the singular name (`model`, `dataset`, `space`), as the `type` field of JSON bodies
    /// writes it.
    pub fn from_singular(s: &str) -> Option<Self> {
        match s {
            "model" => Some(RepoType::Model),
            "dataset" => Some(RepoType::Dataset),
            "space" => Some(RepoType::Space),
            _ => None,
        }
    }

    /// From the API path segment: `models`, `datasets`, `spaces`.
    pub fn from_api_segment(s: &str) -> Option<Self> {
        match s {
            "models" => Some(RepoType::Model),
            "datasets" => Some(RepoType::Dataset),
            "spaces" => Some(RepoType::Space),
            _ => None,
        }
    }
}

/// A repository: its type, an optional namespace (user or organisation) and its name.
/// One-segment legacy ids such as `gpt2` have no namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoId {
    /// Model, dataset or space.
    pub repo_type: RepoType,
    /// The user or organisation; `None` for legacy one-segment ids.
    pub namespace: Option<String>,
    /// The repository name.
    pub name: String,
}

impl RepoId {
    /// Parses `namespace/name` or a legacy `name`, as a model repository.
    pub fn new(id: &str) -> Result<Self, InvalidName> {
        Self::with_type(id, RepoType::Model)
    }

    /// Parses `namespace/name` or `name` as a repository of `repo_type`. No namespace is named
    /// after a repository type (`models`, `datasets`, `spaces`): the Hub reserves those names,
    /// and `datasets/name` names a one-segment dataset.
    pub fn with_type(id: &str, repo_type: RepoType) -> Result<Self, InvalidName> {
        let invalid = |reason: String| InvalidName::RepoId {
            id: id.to_owned(),
            reason,
        };
        let (namespace, name) = match id.split_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, id),
        };
        if name.contains('/') {
            return Err(invalid(
                "a repository id has at most one '/': namespace/name".into(),
            ));
        }
        if let Some(ns) = namespace {
            validate_id_part(ns, "the namespace").map_err(invalid)?;
            if RepoType::from_api_segment(ns).is_some() {
                return Err(invalid(format!(
                    "the namespace {ns:?} is a repository type: write {ns}/NAME for a one-segment repository of that type, or name its owner"
                )));
            }
        }
        validate_id_part(name, "the name").map_err(invalid)?;
        Ok(RepoId {
            repo_type,
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    /// The name of this repository's folder in the cache: `models--alice--mlp`.
    pub fn cache_folder(&self) -> String {
        format!(
            "{}s--{}",
            self.repo_type.as_str(),
            self.to_string().replace('/', "--")
        )
    }

    /// The path of this repository in web and download URLs: `datasets/alice/data`.
    pub fn url_path(&self) -> String {
        format!("{}{}", self.repo_type.url_prefix(), self)
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Checks one part of an id (`what` names it in the reason): letters, digits, `-`, `_`, `.`; at
/// most 96 characters; no `--` or `..`; no leading or trailing `-` or `.`.
pub fn validate_id_part(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if s.len() > 96 {
        return Err(format!(
            "{what} is {} characters long; at most 96 are allowed",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        return Err(format!(
            "{what} contains {c:?}: only letters, digits, '-', '_' and '.' are allowed"
        ));
    }
    if s.contains("--") || s.contains("..") {
        return Err(format!(
            "{what} contains '--' or '..', which the Hub does not allow"
        ));
    }
    if s.starts_with(['-', '.']) || s.ends_with(['-', '.']) {
        return Err(format!(
            "{what} starts or ends with '-' or '.', which the Hub does not allow"
        ));
    }
    Ok(())
}

/// A repository plus an optional revision: what `"alice/mlp@v1"` names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoRef {
    /// The repository.
    pub id: RepoId,
    /// A branch, tag, commit id or `refs/pr/N`; `None` means the default branch, `main`.
    pub revision: Option<String>,
}

impl RepoRef {
    /// The revision, or `main`.
    pub fn revision_or_main(&self) -> &str {
        self.revision.as_deref().unwrap_or(DEFAULT_REVISION)
    }

    /// The same repository at `revision`.
    pub fn at(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }
}

/// The default branch.
pub const DEFAULT_REVISION: &str = "main";

impl FromStr for RepoRef {
    type Err = InvalidName;

    /// Accepts `ns/name`, `name`, `ns/name@rev` (the revision may hold `/`: `@refs/pr/3`,
    /// `@feature/x`), a type prefix (`datasets/ns/name`), and `hf://` URIs as `huggingface_hub`
    /// 2.x writes them (`hf://datasets/ns/name@feature%2Fx`).
    fn from_str(s: &str) -> Result<Self, InvalidName> {
        if s.starts_with("hf://") {
            let (r, path) = parse_hf_uri(s)?;
            return match path {
                None => Ok(r),
                Some(p) => Err(InvalidName::RepoId {
                    id: s.to_owned(),
                    reason: format!("the URI names a file ({p}) inside the repository, not a repository"),
                }),
            };
        }
        let (id, revision) = match s.split_once('@') {
            Some((id, rev)) => (id, Some(check_revision(rev, s)?)),
            None => (s, None),
        };
        let (repo_type, id) = split_type_prefix(id);
        Ok(RepoRef {
            id: RepoId::with_type(id, repo_type)?,
            revision,
        })
    }
}

impl From<RepoId> for RepoRef {
    fn from(id: RepoId) -> Self {
        RepoRef { id, revision: None }
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.id.repo_type.url_prefix(), self.id)?;
        match &self.revision {
            Some(rev) => write!(f, "@{rev}"),
            None => Ok(()),
        }
    }
}

/// Splits a `datasets/` or `spaces/` (or `models/`) prefix from an id: `datasets/ns/name`, and
/// `datasets/name` for a one-segment (canonical) repository, as `huggingface_hub` reads them
/// and as [`RepoRef`]'s `Display` writes them (no user or organisation can be named after a
/// repository type).
fn split_type_prefix(id: &str) -> (RepoType, &str) {
    if let Some((first, rest)) = id.split_once('/')
        && let Some(t) = RepoType::from_api_segment(first)
    {
        return (t, rest);
    }
    (RepoType::Model, id)
}

/// Checks a revision (branch, tag, commit id or `refs/pr/N`): not empty, no control character,
/// no empty or `..` segment.
pub fn validate_revision(rev: &str) -> Result<(), InvalidName> {
    check_revision(rev, rev).map(drop)
}

/// [`validate_revision`], naming `whole` (the text the revision came from) in the reason.
fn check_revision(rev: &str, whole: &str) -> Result<String, InvalidName> {
    let invalid = |reason: &str| InvalidName::Revision {
        revision: rev.to_owned(),
        reason: format!("{reason} (in {whole:?})"),
    };
    if rev.is_empty() {
        return Err(invalid("the revision after '@' is empty"));
    }
    if rev.chars().any(char::is_control) {
        return Err(invalid("the revision contains a control character"));
    }
    if rev.starts_with('/') || rev.ends_with('/') || rev.contains("//") || rev.contains("..") {
        return Err(invalid("the revision has an empty or '..' segment"));
    }
    Ok(rev.to_owned())
}

/// Checks the name of a new branch or tag: what git accepts, minus what would be ambiguous on
/// the Hub (a `refs/` prefix). Both sides check it: the client before it asks, the server
/// before it creates the ref.
pub fn validate_ref_name(name: &str) -> Result<(), InvalidName> {
    let bad = |why: &str| {
        Err(InvalidName::Revision {
            revision: name.to_owned(),
            reason: format!("a branch or tag name {why}"),
        })
    };
    if name.is_empty() || name.len() > 255 {
        return bad("must be 1 to 255 bytes long");
    }
    if name.starts_with("refs/") {
        return bad("must not start with refs/");
    }
    if name.starts_with(['/', '-', '.']) || name.ends_with(['/', '.']) || name.ends_with(".lock") {
        return bad("must not start with '/', '-' or '.', nor end with '/', '.' or '.lock'");
    }
    if name.contains("..") || name.contains("//") || name.contains("@{") {
        return bad("must not contain '..', '//' or '@{'");
    }
    if name.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c)) {
        return bad("must not contain spaces, control characters or any of ~^:?*[\\");
    }
    Ok(())
}

/// Parses an `hf://[datasets/|spaces/|models/]ns/name[@rev][/path]` URI. `refs/pr/N` and
/// `refs/convert/NAME` revisions are matched whole; other revisions end at the next `/` and are
/// percent-decoded (a branch `feature/x` is written `@feature%2Fx`).
pub fn parse_hf_uri(uri: &str) -> Result<(RepoRef, Option<String>), InvalidName> {
    let invalid = |reason: &str| InvalidName::RepoId {
        id: uri.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = uri
        .strip_prefix("hf://")
        .ok_or_else(|| invalid("an hf:// URI starts with hf://"))?;
    let mut segments: Vec<&str> = rest.split('/').collect();
    let repo_type = match segments.first().and_then(|s| RepoType::from_api_segment(s)) {
        Some(t) => {
            segments.remove(0);
            t
        }
        None => RepoType::Model,
    };
    if segments.len() < 2 {
        return Err(invalid("an hf:// URI needs namespace/name"));
    }
    let namespace = segments[0];
    let (name, mut revision) = match segments[1].split_once('@') {
        Some((name, rev)) => (name, Some(rev.to_owned())),
        None => (segments[1], None),
    };
    let mut tail = &segments[2..];
    if let Some(rev) = &mut revision {
        // refs/pr/N and refs/convert/NAME span three segments.
        if rev == "refs" && tail.len() >= 2 && (tail[0] == "pr" || tail[0] == "convert") {
            *rev = format!("refs/{}/{}", tail[0], tail[1]);
            tail = &tail[2..];
        } else {
            *rev = percent_decode_str(rev)
                .decode_utf8()
                .map_err(|_| invalid("the revision is not valid percent-encoded UTF-8"))?
                .into_owned();
        }
        check_revision(rev, uri)?;
    }
    let id = RepoId::with_type(&format!("{namespace}/{name}"), repo_type)?;
    let path = (!tail.is_empty() && !tail.iter().all(|s| s.is_empty())).then(|| tail.join("/"));
    Ok((RepoRef { id, revision }, path))
}

/// Characters `quote(s, safe="")` leaves alone: letters, digits and `_.-~`.
const QUOTE_ALL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');
/// Characters `quote(s)` (safe="/") leaves alone.
const QUOTE_PATH: &AsciiSet = &QUOTE_ALL.remove(b'/');

/// Encodes a revision as one URL path segment (`refs/pr/1` → `refs%2Fpr%2F1`).
pub fn encode_revision(revision: &str) -> String {
    utf8_percent_encode(revision, QUOTE_ALL).to_string()
}

/// Encodes a file path for `/resolve/` URLs: slashes kept, everything else quoted.
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, QUOTE_PATH).to_string()
}

/// Whether `s` is a full 40-hex commit id.
pub fn is_commit_id(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> RepoRef {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn plain_ids_and_revisions() {
        let r = parse("alice/mlp");
        assert_eq!(
            (r.id.namespace.as_deref(), r.id.name.as_str(), r.revision),
            (Some("alice"), "mlp", None)
        );
        assert_eq!(parse("gpt2").id.namespace, None);
        assert_eq!(
            parse("alice/mlp@feature/x").revision.as_deref(),
            Some("feature/x")
        );
        assert_eq!(
            parse("alice/mlp@refs/pr/3").revision.as_deref(),
            Some("refs/pr/3")
        );
        let sha = "4ceb14a7c61b2c3a3320f4850ad9c7f57c4b378f";
        assert_eq!(parse(&format!("alice/mlp@{sha}")).revision.as_deref(), Some(sha));
        let d = parse("datasets/alice/data@v1");
        assert_eq!(
            (d.id.repo_type, d.revision.as_deref()),
            (RepoType::Dataset, Some("v1"))
        );
        assert_eq!(d.to_string(), "datasets/alice/data@v1");
        // A one-segment dataset prints with its prefix, and reads back as a dataset.
        let squad = parse("datasets/squad@v2");
        assert_eq!(
            (
                squad.id.repo_type,
                squad.id.namespace.as_deref(),
                squad.id.name.as_str()
            ),
            (RepoType::Dataset, None, "squad")
        );
        let space = RepoRef::from(RepoId::with_type("demo", RepoType::Space).unwrap());
        assert_eq!(parse(&space.to_string()), space);
        // So no owner is named after a type (found by fuzzing: `models/models/e` printed as
        // `models/e`, which reads as the one-segment model `e`).
        for id in ["models/e", "datasets/e", "spaces/x"] {
            let err = RepoId::new(id).unwrap_err().to_string();
            assert!(err.contains("is a repository type"), "{id}: {err}");
        }
        let err = "models/models/e".parse::<RepoRef>().unwrap_err().to_string();
        assert!(err.contains("is a repository type"), "{err}");
    }

    #[test]
    fn hf_uris() {
        let (r, p) = parse_hf_uri("hf://datasets/alice/data@refs/pr/2/train/x.csv").unwrap();
        assert_eq!(
            (r.id.repo_type, r.revision.as_deref(), p.as_deref()),
            (RepoType::Dataset, Some("refs/pr/2"), Some("train/x.csv"))
        );
        let (r, p) = parse_hf_uri("hf://alice/mlp@feature%2Fx").unwrap();
        assert_eq!((r.revision.as_deref(), p), (Some("feature/x"), None));
        let (r, _) = parse_hf_uri("hf://spaces/alice/demo").unwrap();
        assert_eq!(r.id.repo_type, RepoType::Space);
        assert!("hf://alice/mlp/config.json".parse::<RepoRef>().is_err());
        assert!(parse_hf_uri("hf://alice").is_err());
    }

    #[test]
    fn invalid_ids_say_why() {
        for (bad, why) in [
            ("alice/ml--p", "'--'"),
            ("alice/.mlp", "starts or ends"),
            ("alice/m p", "' '"),
            ("a/b/c", "at most one '/'"),
            ("alice/", "empty"),
            ("alice/mlp@", "empty"),
            ("alice/mlp@a/../b", "'..'"),
        ] {
            let err = bad.parse::<RepoRef>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let long = format!("alice/{}", "x".repeat(97));
        assert!(
            long.parse::<RepoRef>()
                .unwrap_err()
                .to_string()
                .contains("at most 96")
        );
    }

    #[test]
    fn encodes_like_the_python_client() {
        assert_eq!(encode_revision("refs/pr/1"), "refs%2Fpr%2F1");
        assert_eq!(encode_revision("v1.0_a-b~"), "v1.0_a-b~");
        assert_eq!(encode_path("a b/c#d.txt"), "a%20b/c%23d.txt");
        assert_eq!(encode_path("ünï.txt"), "%C3%BCn%C3%AF.txt");
    }

    #[test]
    fn cache_folder_names() {
        assert_eq!(parse("alice/mlp").id.cache_folder(), "models--alice--mlp");
        assert_eq!(parse("datasets/alice/d").id.cache_folder(), "datasets--alice--d");
        assert_eq!(parse("gpt2").id.cache_folder(), "models--gpt2");
    }
    #[test]
    fn ref_names() {
        for ok in ["main", "feature/x", "v1.0", "release-2024"] {
            assert!(validate_ref_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "refs/heads/x",
            "a..b",
            "a b",
            "/x",
            "x/",
            "a//b",
            "x.lock",
            "a:b",
        ] {
            assert!(validate_ref_name(bad).is_err(), "{bad}");
        }
    }
}
