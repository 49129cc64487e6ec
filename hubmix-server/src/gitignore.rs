//! `.gitignore` rules for preupload's `shouldIgnore`: a file that the repository's `.gitignore`
//! (or the one uploaded in the same commit) excludes is neither uploaded nor committed, as on the
//! Hub. Matching is git's (the `ignore` crate): `*.tmp`, `logs/`, `!keep.tmp`, `/root-only`, ...

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The name of the rules file.
pub(crate) const GITIGNORE: &str = ".gitignore";

/// The rules of one `.gitignore`.
pub(crate) struct Rules(Gitignore);

impl Rules {
    /// Reads the rules of `text`; lines git would not understand are skipped.
    pub(crate) fn parse(text: &str) -> Rules {
        let mut builder = GitignoreBuilder::new("");
        for line in text.lines() {
            if let Err(e) = builder.add_line(None, line) {
                tracing::debug!("skipping the .gitignore line {line:?}: {e}");
            }
        }
        Rules(builder.build().unwrap_or_else(|_| Gitignore::empty()))
    }

    /// Whether the file at `path` (relative to the repository root, `/`-separated) is excluded,
    /// by a rule for it or for a folder above it. `.gitignore` itself never is.
    pub(crate) fn ignores(&self, path: &str) -> bool {
        path != GITIGNORE && self.0.matched_path_or_any_parents(path, false).is_ignore()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_as_git_does() {
        let rules = Rules::parse("# comment\n*.tmp\n!keep.tmp\nlogs/\n/root.txt\n\n*.gitignore\n");
        for (path, ignored) in [
            ("a.tmp", true),
            ("deep/er/b.tmp", true),
            ("keep.tmp", false),
            ("logs/run.txt", true),
            ("logs/sub/x.bin", true),
            ("mylogs/run.txt", false),
            ("root.txt", true),
            ("sub/root.txt", false),
            ("model.safetensors", false),
            (".gitignore", false),
        ] {
            assert_eq!(rules.ignores(path), ignored, "{path}");
        }
        assert!(!Rules::parse("").ignores("a.tmp"));
    }
}
