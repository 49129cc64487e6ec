//! File paths inside a repository, as the Hub accepts them.
//!
//! ```
//! use hubmix_protocol::path::{validate_path, validate_writable_path};
//!
//! assert!(validate_path("sub/dir/model.safetensors").is_ok());
//! assert!(validate_path("../etc/passwd").is_err());
//! assert!(validate_path(".git/config").is_ok()); // may be read…
//! assert!(validate_writable_path(".git/config").is_err()); // …never written
//! ```

use crate::InvalidName;

/// Longest path inside a repository, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;

/// Folders nothing can be written under, at any depth (as `huggingface_hub` refuses them).
pub const FORBIDDEN_FOLDERS: [&str; 2] = [".git", ".cache"];

/// Checks a path inside a repository: not empty, at most [`MAX_PATH_BYTES`], relative,
/// `/`-separated, no empty, `.` or `..` segment, no backslash, no control character.
pub fn validate_path(path: &str) -> Result<(), InvalidName> {
    let invalid = |reason: String| InvalidName::Path {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(invalid("empty path".into()));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(invalid(format!("the path is longer than {MAX_PATH_BYTES} bytes")));
    }
    if path.starts_with('/') {
        return Err(invalid(
            "absolute paths are not allowed: paths in a repository are relative".into(),
        ));
    }
    if path.contains('\\') {
        return Err(invalid(
            "backslashes are not allowed: use '/' to separate folders".into(),
        ));
    }
    if path.chars().any(char::is_control) {
        return Err(invalid("control characters are not allowed".into()));
    }
    if path.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(invalid("empty, '.' and '..' segments are not allowed".into()));
    }
    Ok(())
}

/// [`validate_path`], and nothing under a [`FORBIDDEN_FOLDERS`] folder: what a commit may add
/// or delete.
pub fn validate_writable_path(path: &str) -> Result<(), InvalidName> {
    validate_path(path)?;
    if let Some(folder) = path.split('/').find(|s| FORBIDDEN_FOLDERS.contains(s)) {
        return Err(InvalidName::Path {
            path: path.to_owned(),
            reason: format!("nothing can be written under a {folder}/ folder"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_specials_with_a_reason() {
        for (bad, why) in [
            ("", "empty path"),
            ("/etc/passwd", "absolute"),
            ("a/../b", "'..' segments"),
            ("..", "'..' segments"),
            ("./a", "'.'"),
            ("a\\b", "backslashes"),
            ("a\0b", "control"),
            ("a//b", "empty"),
            ("a/", "empty"),
        ] {
            let err = validate_path(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        let long = "x".repeat(MAX_PATH_BYTES + 1);
        assert!(
            validate_path(&long)
                .unwrap_err()
                .to_string()
                .contains("longer than 4096")
        );
        assert!(validate_path(&"x".repeat(MAX_PATH_BYTES)).is_ok());
    }

    #[test]
    fn accepts_ordinary_names() {
        for ok in [
            "a.txt",
            "sub/dir/file.bin",
            ".gitattributes",
            "a b#c.txt",
            "ünï.txt",
            ".github/x",
        ] {
            assert!(validate_path(ok).is_ok(), "{ok:?}");
            assert!(validate_writable_path(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn git_and_cache_folders_are_read_only() {
        for bad in [".git/config", "x/.git/y", ".cache/huggingface/x", "a/.cache/b"] {
            assert!(validate_path(bad).is_ok(), "{bad:?}");
            let err = validate_writable_path(bad).unwrap_err().to_string();
            assert!(err.contains("nothing can be written under"), "{bad:?}: {err}");
        }
    }
}
