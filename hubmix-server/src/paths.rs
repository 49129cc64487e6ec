//! The percent-decoding of URL segments (the rules for paths inside a repository are
//! [`hubmix_protocol::path`]'s).

use percent_encoding::percent_decode_str;

/// Percent-decodes one URL segment into UTF-8.
pub(crate) fn decode_segment(raw: &str) -> Result<String, String> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("{raw:?} is not valid percent-encoded UTF-8"))
}

/// Decodes each raw segment and joins them with `/`: the tail of a `/resolve/` URL, or a
/// `/tree/` folder given either as one `%2F`-encoded segment or as several.
pub(crate) fn decode_tail(raw_segments: &[&str]) -> Result<String, String> {
    let parts: Result<Vec<String>, String> = raw_segments.iter().map(|s| decode_segment(s)).collect();
    Ok(parts?.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_segments() {
        assert_eq!(decode_segment("refs%2Fpr%2F1").unwrap(), "refs/pr/1");
        assert_eq!(decode_tail(&["a%20b", "c%23d.txt"]).unwrap(), "a b/c#d.txt");
        assert!(decode_segment("%ff").is_err());
    }
}
