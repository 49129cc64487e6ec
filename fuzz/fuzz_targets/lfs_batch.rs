//! The LFS batch API's bodies: request, answer (with its multipart part maps), completion and
//! verify.

#![no_main]

use hubmix_fuzz::read_and_round_trip;
use hubmix_protocol::types::{BatchAnswer, BatchRequest, LfsAction, LfsObject, MultipartCompletion};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_and_round_trip::<BatchRequest>(data);
    let _ = read_and_round_trip::<MultipartCompletion>(data);
    let _ = read_and_round_trip::<LfsObject>(data);
    let actions = read_and_round_trip::<BatchAnswer>(data)
        .into_iter()
        .flat_map(|a| a.objects)
        .filter_map(|o| o.actions)
        .flat_map(|a| [a.upload, a.verify])
        .flatten()
        .chain(read_and_round_trip::<LfsAction>(data));
    for action in actions {
        if let Some(Ok(parts)) = action.multipart_parts() {
            assert!(parts.chunk_size > 0);
            assert!(parts.urls.len() < action.header.len());
        }
    }
});
