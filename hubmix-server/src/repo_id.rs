//! The server's key of a repository: its type, namespace and name, checked by the protocol's
//! rules ([`hubmix_protocol::repo`]). Unlike the client's id, it always has a namespace.

use std::fmt;

pub(crate) use hubmix_protocol::RepoType;
use hubmix_protocol::repo::validate_id_part;

/// A validated `namespace/name` of one repository type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RepoId {
    pub kind: RepoType,
    pub namespace: String,
    pub name: String,
}

impl RepoId {
    /// Checks both parts with the Hub's id rules.
    pub(crate) fn new(kind: RepoType, namespace: &str, name: &str) -> Result<Self, String> {
        validate_id_part(namespace, "the namespace")?;
        validate_id_part(name, "the repository name")?;
        Ok(RepoId {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The web URL path: `{prefix}{namespace}/{name}`.
    pub(crate) fn url_path(&self) -> String {
        format!("{}{}", self.kind.url_prefix(), self)
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The type stored in the database (written by [`RepoType::as_str`]).
pub(crate) fn repo_type_from_db(s: &str) -> RepoType {
    RepoType::from_singular(s).unwrap_or_default()
}
