//! File paths inside a repository, and the percent-decoding of URL segments.

use percent_encoding::percent_decode_str;

/// Longest accepted path inside a repository, in bytes.
const MAX_PATH_LEN: usize = 4096;

/// Checks a file path inside a repository: relative, `/`-separated, no empty, `.` or `..`
/// segment, no backslash or NUL, nothing under `.git/`.
pub fn validate_file_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    if path.len() > MAX_PATH_LEN {
        return Err(format!("path is longer than {MAX_PATH_LEN} bytes"));
    }
    if path.starts_with('/') {
        return Err(format!(
            "{path:?} is absolute: paths in a repository are relative"
        ));
    }
    if path.contains('\\') {
        return Err(format!(
            "{path:?} contains a backslash: use '/' to separate folders"
        ));
    }
    if path.chars().any(char::is_control) {
        return Err(format!("{path:?} contains a control character"));
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err(format!("{path:?} has an empty segment")),
            "." | ".." => return Err(format!("{path:?} contains a '{segment}' segment")),
            ".git" => return Err(format!("{path:?} is inside .git/, which cannot be written")),
            _ => {}
        }
    }
    Ok(())
}

/// Percent-decodes one URL segment into UTF-8.
pub fn decode_segment(raw: &str) -> Result<String, String> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("{raw:?} is not valid percent-encoded UTF-8"))
}

/// Decodes each raw segment and joins them with `/`: the tail of a `/resolve/` URL, or a
/// `/tree/` folder given either as one `%2F`-encoded segment or as several.
pub fn decode_tail(raw_segments: &[&str]) -> Result<String, String> {
    let parts: Result<Vec<String>, String> = raw_segments.iter().map(|s| decode_segment(s)).collect();
    Ok(parts?.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_specials() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a\\b",
            "a\0b",
            ".git/config",
            "x/.git/y",
            "a//b",
            "a/",
        ] {
            assert!(validate_file_path(bad).is_err(), "{bad:?}");
        }
        for ok in [
            "a.txt",
            "sub/dir/file.bin",
            ".gitattributes",
            "a b#c.txt",
            "ünï.txt",
            ".github/x",
        ] {
            assert!(validate_file_path(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn decodes_segments() {
        assert_eq!(decode_segment("refs%2Fpr%2F1").unwrap(), "refs/pr/1");
        assert_eq!(decode_tail(&["a%20b", "c%23d.txt"]).unwrap(), "a b/c#d.txt");
        assert!(decode_segment("%ff").is_err());
    }
}
