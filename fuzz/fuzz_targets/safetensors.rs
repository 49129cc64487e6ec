//! A safetensors file, read as a loader reads it: the length prefix checked against the file,
//! then the header against the data section.

#![no_main]

use hubmix_protocol::safetensors::{Header, header_len};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let prefix: [u8; 8] = data.get(..8).map_or([0; 8], |p| p.try_into().expect("8 bytes"));
    let Ok(len) = header_len(prefix, data.len() as u64) else {
        return;
    };
    let data_len = (data.len() - 8 - len) as u64;
    let Ok(header) = Header::parse(&data[8..8 + len], data_len) else {
        return;
    };
    let mut spans: Vec<(u64, u64)> = header.tensors.iter().map(|t| (t.begin, t.end)).collect();
    spans.sort();
    let mut at = 0;
    for (begin, end) in spans {
        assert_eq!(begin, at);
        at = end;
    }
    assert_eq!(at, data_len);
    for t in &header.tensors {
        let elems: u64 = t.shape.iter().map(|d| *d as u64).product();
        assert_eq!(elems * t.dtype.size() as u64, t.end - t.begin);
    }
});
