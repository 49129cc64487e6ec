//! Every other JSON body either side reads: preupload, tree and paths-info, repository info,
//! history, refs, errors, whoami, discussions, the commit's answer.

#![no_main]

use hubmix_fuzz::read_and_round_trip;
use hubmix_protocol::types::{
    CommitInfo, CreateDiscussionRequest, DiscussionDetails, DiscussionList, ErrorBody, GitCommit,
    PreuploadAnswer, PreuploadRequest, Refs, RepoInfo, TreeEntry, ValidateYamlRequest, WhoAmI,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_and_round_trip::<PreuploadRequest>(data);
    let _ = read_and_round_trip::<PreuploadAnswer>(data);
    let _ = read_and_round_trip::<Vec<TreeEntry>>(data);
    let _ = read_and_round_trip::<RepoInfo>(data);
    let _ = read_and_round_trip::<Vec<GitCommit>>(data);
    let _ = read_and_round_trip::<CommitInfo>(data);
    let _ = read_and_round_trip::<Refs>(data);
    let _ = read_and_round_trip::<ErrorBody>(data);
    let _ = read_and_round_trip::<WhoAmI>(data);
    let _ = read_and_round_trip::<DiscussionList>(data);
    let _ = read_and_round_trip::<DiscussionDetails>(data);
    let _ = read_and_round_trip::<CreateDiscussionRequest>(data);
    let _ = read_and_round_trip::<ValidateYamlRequest>(data);
});
