//! Allow / ignore patterns with `huggingface_hub`'s semantics: `fnmatch` on the path relative
//! to the folder, so `*` also crosses `/`; a pattern ending in `/` matches everything below.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::HubError;

/// Selects paths: a path passes if it matches an allow pattern (or there are none) and no
/// ignore pattern.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    allow: Option<GlobSet>,
    ignore: Option<GlobSet>,
}

impl PathFilter {
    /// A filter from allow and ignore patterns; an empty list does not filter.
    pub fn new<S: AsRef<str>>(allow: &[S], ignore: &[S]) -> Result<Self, HubError> {
        Ok(PathFilter {
            allow: glob_set(allow)?,
            ignore: glob_set(ignore)?,
        })
    }

    /// Whether `path` (relative, `/`-separated) passes.
    pub fn matches(&self, path: &str) -> bool {
        self.allow.as_ref().is_none_or(|a| a.is_match(path))
            && !self.ignore.as_ref().is_some_and(|i| i.is_match(path))
    }
}

/// Compiles patterns the way `fnmatch.fnmatchcase` reads them; `None` for no patterns.
pub fn glob_set<S: AsRef<str>>(patterns: &[S]) -> Result<Option<GlobSet>, HubError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        let p = p.as_ref().replace('\\', "/");
        let p = if p.ends_with('/') { format!("{p}*") } else { p };
        let glob = GlobBuilder::new(&p)
            .literal_separator(false)
            .backslash_escape(false)
            .empty_alternates(true)
            .build()
            .map_err(|e| HubError::InvalidSetting {
                name: "pattern".into(),
                reason: format!("{p:?}: {e}"),
            })?;
        set.add(glob);
    }
    set.build().map(Some).map_err(|e| HubError::InvalidSetting {
        name: "pattern".into(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_semantics() {
        let f = PathFilter::new(&["*.json", "sub/"], &["secret*"]).unwrap();
        assert!(f.matches("config.json"));
        assert!(f.matches("a/b/config.json"), "* crosses /");
        assert!(f.matches("sub/x.bin"));
        assert!(!f.matches("model.bin"));
        assert!(!f.matches("secret.json"));
        assert!(PathFilter::new::<&str>(&[], &[]).unwrap().matches("anything"));
        let q = PathFilter::new(&["model-?.bin", "[!x]*.txt"], &[]).unwrap();
        assert!(q.matches("model-1.bin") && !q.matches("model-12.bin"));
        assert!(q.matches("a.txt") && !q.matches("x.txt"));
    }
}
