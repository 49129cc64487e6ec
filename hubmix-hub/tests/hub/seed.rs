//! Seeds repositories through the raw Hub protocol (not through hubmix), so that download
//! tests do not depend on hubmix's own upload code.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::support::{ALICE, Hub};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(true)
        .build()
        .into()
}

/// Creates `alice/<name>` (a model repository).
pub fn create_repo(hub: &Hub, name: &str, private: bool) {
    agent()
        .post(format!("{}/api/repos/create", hub.url()))
        .header("authorization", format!("Bearer {ALICE}"))
        .send_json(serde_json::json!({"name": name, "organization": "alice", "private": private}))
        .expect("repo created");
}

/// Commits `files` to `revision` of `alice/<name>`: small ones inline, those of 1 MiB and more
/// through LFS. Returns the new commit id.
pub fn commit(hub: &Hub, name: &str, revision: &str, files: &[(&str, &[u8])]) -> String {
    let agent = agent();
    let auth = format!("Bearer {ALICE}");
    let mut ndjson =
        serde_json::json!({"key": "header", "value": {"summary": "seed", "description": ""}}).to_string();
    for (path, content) in files {
        let line = if content.len() >= 1024 * 1024 {
            let oid = hex::encode(Sha256::digest(content));
            let batch: serde_json::Value = agent
                .post(format!("{}/alice/{name}.git/info/lfs/objects/batch", hub.url()))
                .header("authorization", &auth)
                .send_json(serde_json::json!({"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": content.len()}]}))
                .expect("batch")
                .body_mut()
                .read_json()
                .expect("batch JSON");
            if let Some(href) = batch["objects"][0]["actions"]["upload"]["href"].as_str() {
                agent.put(href).send(&content[..]).expect("LFS PUT");
            }
            serde_json::json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": content.len()}})
        } else {
            let b64 = base64::engine::general_purpose::STANDARD.encode(content);
            serde_json::json!({"key": "file", "value": {"path": path, "content": b64, "encoding": "base64"}})
        };
        ndjson.push('\n');
        ndjson.push_str(&line.to_string());
    }
    let answer: serde_json::Value = agent
        .post(format!(
            "{}/api/models/alice/{name}/commit/{}",
            hub.url(),
            hubmix_hub::repo::encode_revision(revision)
        ))
        .header("authorization", &auth)
        .header("content-type", "application/x-ndjson")
        .send(ndjson)
        .expect("commit")
        .body_mut()
        .read_json()
        .expect("commit JSON");
    answer["commitOid"].as_str().expect("commit oid").to_owned()
}

/// Creates branch or tag `name` (`kind` = "branch" or "tag") of `alice/<repo>` at `from`.
pub fn create_ref(hub: &Hub, repo: &str, kind: &str, name: &str, from: &str) {
    let agent = agent();
    let auth = format!("Bearer {ALICE}");
    let enc = hubmix_hub::repo::encode_revision;
    let request = if kind == "branch" {
        agent
            .post(format!(
                "{}/api/models/alice/{repo}/branch/{}",
                hub.url(),
                enc(name)
            ))
            .header("authorization", &auth)
            .send_json(serde_json::json!({"startingPoint": from}))
    } else {
        agent
            .post(format!("{}/api/models/alice/{repo}/tag/{}", hub.url(), enc(from)))
            .header("authorization", &auth)
            .send_json(serde_json::json!({"tag": name}))
    };
    request.expect("ref created");
}

/// Opens a pull request on `alice/<repo>` with `files`; returns its number.
pub fn pull_request(hub: &Hub, repo: &str, files: &[(&str, &[u8])]) -> u64 {
    let answer: serde_json::Value = agent()
        .post(format!("{}/api/models/alice/{repo}/discussions", hub.url()))
        .header("authorization", format!("Bearer {ALICE}"))
        .send_json(serde_json::json!({"title": "pr", "description": "", "pullRequest": true}))
        .expect("PR created")
        .body_mut()
        .read_json()
        .expect("PR JSON");
    let num = answer["num"].as_u64().expect("PR number");
    commit(hub, repo, &format!("refs/pr/{num}"), files);
    num
}

/// `n` bytes of deterministic pseudo-random content.
pub fn bytes(n: usize, seed: u8) -> Vec<u8> {
    let mut x = u64::from(seed) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
