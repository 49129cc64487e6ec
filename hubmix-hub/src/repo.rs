//! Repository ids, revisions and `repo@rev` references (the rules are
//! [`hubmix_protocol::repo`]'s), and what the client's calls accept as a repository.
//!
//! ```
//! use hubmix_hub::repo::{RepoRef, RepoType};
//!
//! let r: RepoRef = "alice/mlp@refs/pr/3".parse()?;
//! assert_eq!(r.id.to_string(), "alice/mlp");
//! assert_eq!(r.revision.as_deref(), Some("refs/pr/3"));
//!
//! let d: RepoRef = "hf://datasets/alice/data@feature%2Fx".parse()?;
//! assert_eq!(d.id.repo_type, RepoType::Dataset);
//! assert_eq!(d.revision.as_deref(), Some("feature/x"));
//! # Ok::<(), hubmix_hub::InvalidName>(())
//! ```

use std::path::PathBuf;

pub use hubmix_protocol::repo::{
    DEFAULT_REVISION, RepoId, RepoRef, RepoType, encode_path, encode_revision, is_commit_id, parse_hf_uri,
};

use crate::error::HubError;

/// Anything that names a repository (and maybe a revision): `&str` / `String` (parsed, see
/// [`RepoRef`]'s `FromStr`), [`RepoRef`], [`RepoId`]. The bound of the client's calls.
pub trait IntoRepoRef {
    /// The reference, or why the text does not name one.
    fn into_repo_ref(self) -> Result<RepoRef, HubError>;
}

impl IntoRepoRef for &str {
    fn into_repo_ref(self) -> Result<RepoRef, HubError> {
        Ok(self.parse()?)
    }
}

impl IntoRepoRef for String {
    fn into_repo_ref(self) -> Result<RepoRef, HubError> {
        self.as_str().into_repo_ref()
    }
}

impl IntoRepoRef for &String {
    fn into_repo_ref(self) -> Result<RepoRef, HubError> {
        self.as_str().into_repo_ref()
    }
}

impl IntoRepoRef for RepoRef {
    fn into_repo_ref(self) -> Result<RepoRef, HubError> {
        Ok(self)
    }
}

impl IntoRepoRef for &RepoRef {
    fn into_repo_ref(self) -> Result<RepoRef, HubError> {
        Ok(self.clone())
    }
}

impl IntoRepoRef for RepoId {
    fn into_repo_ref(self) -> Result<RepoRef, HubError> {
        Ok(self.into())
    }
}

impl IntoRepoRef for &RepoId {
    fn into_repo_ref(self) -> Result<RepoRef, HubError> {
        Ok(self.clone().into())
    }
}

/// The revision a call uses, from its two sources: the reference (`"alice/mlp@v1"`) and an
/// option (`DownloadOptions::revision`, `CommitOptions::revision`, `PushOptions::branch`).
/// Either, or neither (`None`: the caller's default, `main`), or both when they name the same
/// revision (commit ids compare case-insensitively). Both given and different is
/// [`HubError::InvalidArgument`] (named `revision`): no call silently picks one.
///
/// ```
/// use hubmix_hub::repo::{RepoRef, revision_of};
///
/// let r: RepoRef = "alice/mlp@v1".parse()?;
/// assert_eq!(revision_of(&r, None)?.as_deref(), Some("v1"));
/// assert_eq!(revision_of(&r, Some("v1"))?.as_deref(), Some("v1"));
/// assert!(revision_of(&r, Some("v2")).is_err());
/// # Ok::<(), hubmix_hub::HubError>(())
/// ```
pub fn revision_of(repo: &RepoRef, option: Option<&str>) -> Result<Option<String>, HubError> {
    match (repo.revision.as_deref(), option) {
        (Some(reference), Some(option)) if !same_revision(reference, option) => {
            Err(HubError::InvalidArgument {
                name: "revision".into(),
                reason: format!(
                    "{} names revision {reference:?} and the options name {option:?}: give the revision once, in `repo@revision` or in the options",
                    repo.id
                ),
            })
        }
        (reference, option) => Ok(reference.or(option).map(str::to_owned)),
    }
}

/// Whether two spellings name the same revision: equal, or the same commit id in another case.
fn same_revision(a: &str, b: &str) -> bool {
    a == b || (is_commit_id(a) && a.eq_ignore_ascii_case(b))
}

/// Where a model comes from: a local folder (which wins when it exists) or a Hub repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An existing local directory.
    Local(PathBuf),
    /// A repository on the Hub, at an optional revision.
    Hub(RepoRef),
}

impl Source {
    /// A local directory if `s` names one, else a Hub reference parsed from `s`.
    pub fn parse(s: &str) -> Result<Self, HubError> {
        let path = PathBuf::from(s);
        if path.is_dir() {
            return Ok(Source::Local(path));
        }
        Ok(Source::Hub(s.parse()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_directory_wins() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().to_str().unwrap();
        assert_eq!(Source::parse(s).unwrap(), Source::Local(dir.path().to_owned()));
        assert!(matches!(Source::parse("alice/mlp").unwrap(), Source::Hub(_)));
        assert!(matches!(
            Source::parse("alice/ml--p"),
            Err(HubError::InvalidRepoId { .. })
        ));
    }

    #[test]
    fn a_revision_comes_from_the_reference_or_the_option_never_both_different() {
        let bare: RepoRef = "alice/mlp".parse().unwrap();
        let v1: RepoRef = "alice/mlp@v1".parse().unwrap();
        assert_eq!(revision_of(&bare, None).unwrap(), None);
        assert_eq!(revision_of(&bare, Some("dev")).unwrap().as_deref(), Some("dev"));
        assert_eq!(revision_of(&v1, None).unwrap().as_deref(), Some("v1"));
        assert_eq!(revision_of(&v1, Some("v1")).unwrap().as_deref(), Some("v1"));
        let err = revision_of(&v1, Some("main")).unwrap_err();
        assert!(
            matches!(&err, HubError::InvalidArgument { name, .. } if name == "revision"),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("\"v1\"") && text.contains("\"main\""), "{text}");
        // One commit, two spellings: the same revision (the reference's spelling is kept).
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let upper: RepoRef = format!("alice/mlp@{}", commit.to_uppercase()).parse().unwrap();
        assert_eq!(
            revision_of(&upper, Some(commit)).unwrap(),
            Some(commit.to_uppercase())
        );
    }
}
