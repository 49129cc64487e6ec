//! Paths inside a repository: what may be read, what may be written.

#![no_main]

use hubmix_protocol::path::{FORBIDDEN_FOLDERS, MAX_PATH_BYTES, validate_path, validate_writable_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = std::str::from_utf8(data) else {
        return;
    };
    let valid = validate_path(p).is_ok();
    let writable = validate_writable_path(p).is_ok();
    if valid {
        assert!(!p.is_empty() && p.len() <= MAX_PATH_BYTES, "{p:?}");
        assert!(!p.starts_with('/') && !p.contains('\\'), "{p:?}");
        assert!(!p.chars().any(char::is_control), "{p:?}");
        assert!(
            p.split('/').all(|s| !s.is_empty() && s != "." && s != ".."),
            "{p:?}"
        );
    }
    if writable {
        assert!(valid, "{p:?}");
        assert!(p.split('/').all(|s| !FORBIDDEN_FOLDERS.contains(&s)), "{p:?}");
    }
});
