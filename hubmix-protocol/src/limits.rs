//! Limits both sides apply to what they read, before they parse it.
//!
//! JSON nesting is checked by [`check_json_depth`], one pass over the bytes that allocates
//! nothing, so that a deeply nested body is refused before a parser recurses into it (the
//! server does it for every JSON body and NDJSON commit line; a client can do it for answers).
//!
//! ```
//! use hubmix_protocol::limits::{DEFAULT_MAX_JSON_DEPTH, check_json_depth};
//!
//! assert!(check_json_depth(br#"{"a": [1, {"b": "[[[["}]}"#, 3).is_ok());
//! let deep = "[".repeat(100_000);
//! let err = check_json_depth(deep.as_bytes(), DEFAULT_MAX_JSON_DEPTH).unwrap_err();
//! assert_eq!(err.max, 64);
//! ```

/// Default deepest nesting of a JSON document (arrays and objects), as the server checks it.
pub const DEFAULT_MAX_JSON_DEPTH: usize = 64;

/// A JSON document nests deeper than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the JSON nests deeper than {max} levels")]
pub struct JsonTooDeep {
    /// The deepest nesting allowed.
    pub max: usize,
}

/// Checks that `json` nests arrays and objects at most `max` levels deep, without parsing it:
/// brackets inside strings do not count. Malformed JSON is left for the parser to refuse; the
/// check stops at the first level too deep.
pub fn check_json_depth(json: &[u8], max: usize) -> Result<(), JsonTooDeep> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(JsonTooDeep { max });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_nesting_outside_strings_only() {
        assert!(check_json_depth(b"[[1]]", 2).is_ok());
        assert_eq!(check_json_depth(b"[[1]]", 1), Err(JsonTooDeep { max: 1 }));
        assert!(check_json_depth(b"{\"a\":{}}{\"b\":{}}", 2).is_ok());
        // Brackets in strings, escaped quotes included, are text.
        assert!(check_json_depth(br#"["\"[[[[", "\\", {"k": "}}}{{{"}]"#, 2).is_ok());
        assert!(check_json_depth(br#"["\\"[[["#, 3).is_err());
        // Malformed input does not panic; a close without an open does not go negative.
        assert!(check_json_depth(b"]]]]][", 1).is_ok());
        assert!(check_json_depth(b"\"unterminated [[[[", 0).is_ok());
        assert!(check_json_depth(b"", 0).is_ok());
    }

    #[test]
    fn a_hundred_thousand_levels_are_refused_quickly() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let started = std::time::Instant::now();
        assert_eq!(
            check_json_depth(deep.as_bytes(), DEFAULT_MAX_JSON_DEPTH),
            Err(JsonTooDeep { max: 64 })
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
