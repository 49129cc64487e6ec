//! The NDJSON body of a commit, split and read line by line as hubmix-server reads it.

#![no_main]

use hubmix_fuzz::read_and_round_trip;
use hubmix_protocol::types::CommitLine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let _ = read_and_round_trip::<CommitLine>(line);
    }
});
