//! Repository ids, revisions, `repo@rev` references and `hf://` URIs.

#![no_main]

use std::str::FromStr;

use hubmix_protocol::RepoRef;
use hubmix_protocol::repo::{
    encode_path, encode_revision, parse_hf_uri, validate_id_part, validate_ref_name, validate_revision,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = RepoRef::from_str(s) {
        assert_eq!(RepoRef::from_str(&r.to_string()), Ok(r.clone()), "{s:?}");
        if let Some(rev) = &r.revision {
            assert!(validate_revision(rev).is_ok(), "{s:?}");
        }
    }
    if let Ok((r, path)) = parse_hf_uri(s) {
        assert_eq!(RepoRef::from_str(&r.to_string()), Ok(r), "{s:?}");
        assert!(path.is_none_or(|p| !p.is_empty()), "{s:?}");
    }
    if validate_ref_name(s).is_ok() {
        assert!(validate_revision(s).is_ok(), "{s:?}");
    }
    if validate_id_part(s, "the name").is_ok() {
        assert!(s.len() <= 96 && !s.contains('/') && !s.contains(".."), "{s:?}");
    }
    let decode = |e: String| {
        percent_encoding::percent_decode_str(&e)
            .decode_utf8()
            .expect("an encoding decodes")
            .into_owned()
    };
    assert_eq!(decode(encode_revision(s)), s);
    assert_eq!(decode(encode_path(s)), s);
});
