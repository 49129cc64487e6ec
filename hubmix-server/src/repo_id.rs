//! Repository types and ids, validated as the Hub does.

use std::fmt;

/// Model, dataset or space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepoType {
    Model,
    Dataset,
    Space,
}

impl RepoType {
    /// From the API path segment: `models`, `datasets`, `spaces`.
    pub fn from_api_segment(s: &str) -> Option<Self> {
        match s {
            "models" => Some(RepoType::Model),
            "datasets" => Some(RepoType::Dataset),
            "spaces" => Some(RepoType::Space),
            _ => None,
        }
    }

    /// From the `type` field of create/delete bodies (absent means model).
    pub fn from_body(s: Option<&str>) -> Option<Self> {
        match s {
            None | Some("model") => Some(RepoType::Model),
            Some("dataset") => Some(RepoType::Dataset),
            Some("space") => Some(RepoType::Space),
            Some(_) => None,
        }
    }

    /// The name stored in the database and used in JSON (`model`, `dataset`, `space`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "dataset" => RepoType::Dataset,
            "space" => RepoType::Space,
            _ => RepoType::Model,
        }
    }

    /// The prefix of web and download URLs: `""`, `datasets/`, `spaces/`.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }
}

/// A validated `namespace/name` of one repository type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoId {
    pub kind: RepoType,
    pub namespace: String,
    pub name: String,
}

impl RepoId {
    /// Validates both parts: letters, digits, `-`, `_`, `.`; at most 96 characters; no `--` or
    /// `..`; no leading or trailing `-` or `.`.
    pub fn new(kind: RepoType, namespace: &str, name: &str) -> Result<Self, String> {
        validate_part(namespace, "namespace")?;
        validate_part(name, "repository name")?;
        Ok(RepoId {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The web URL path: `{prefix}{namespace}/{name}`.
    pub fn url_path(&self) -> String {
        format!("{}{}", self.kind.url_prefix(), self)
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

fn validate_part(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 96 {
        return Err(format!("{what} {s:?} must be 1 to 96 characters long"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        return Err(format!(
            "{what} {s:?} contains {c:?}: only letters, digits, '-', '_' and '.' are allowed"
        ));
    }
    if s.contains("--") || s.contains("..") {
        return Err(format!("{what} {s:?} must not contain '--' or '..'"));
    }
    if s.starts_with(['-', '.']) || s.ends_with(['-', '.']) {
        return Err(format!("{what} {s:?} must not start or end with '-' or '.'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hub_names() {
        for ok in ["alice", "gpt2", "a.b_c-d", "Llama-3.1-8B"] {
            assert!(RepoId::new(RepoType::Model, "alice", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_names_with_a_reason() {
        for (bad, why) in [
            ("", "1 to 96"),
            ("a/b", "contains '/'"),
            ("a--b", "'--'"),
            ("a..b", "'--' or '..'"),
            ("-ab", "start or end"),
            ("ab.", "start or end"),
            ("a b", "contains ' '"),
        ] {
            let err = RepoId::new(RepoType::Model, "alice", bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(RepoId::new(RepoType::Model, "alice", &"x".repeat(97)).is_err());
    }
}
