//! Multipart LFS uploads, whose parts the server writes straight into the object's file: parts
//! in any order, twice, or at the same time; parts of the wrong size; a completion with a part
//! missing, then resumed.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::support::{
    ALICE, Body, Client, Hub, Reply, Repo, files_below, header, lfs_line, pattern, sha256_hex,
};

/// Part size of these tests' server.
const PART: usize = 1000;

/// A hub with small parts, alice's empty repository, and an object of `size` bytes to upload.
struct Upload {
    hub: Hub,
    alice: Client,
    repo: Repo,
    content: Vec<u8>,
    oid: String,
    /// The batch answer's object, with its actions.
    object: Value,
}

impl Upload {
    fn new(size: usize) -> Upload {
        let hub = Hub::with(|c| c.lfs_part_size(PART as u64));
        let alice = hub.client(ALICE);
        let repo = Repo::model("alice/demo");
        alice.create(&repo);
        let content = pattern(size, 40);
        let oid = sha256_hex(&content);
        let answer = alice
            .batch(&repo, &[(&oid, size as u64)], &["basic", "multipart"])
            .ok_json();
        assert_eq!(answer["transfer"], "multipart", "{answer}");
        let object = answer["objects"][0].clone();
        Upload {
            hub,
            alice,
            repo,
            content,
            oid,
            object,
        }
    }

    fn parts(&self) -> usize {
        self.content.len().div_ceil(PART)
    }

    /// The bytes of part `n` (from 1).
    fn bytes(&self, n: usize) -> &[u8] {
        &self.content[(n - 1) * PART..(n * PART).min(self.content.len())]
    }

    /// Sends `bytes` as part `n`, without credentials, as the clients do.
    fn put(&self, n: usize, bytes: &[u8]) -> Reply {
        let url = self.object["actions"]["upload"]["header"][format!("{n:05}")]
            .as_str()
            .expect("part url");
        self.alice
            .with_token(None)
            .send("PUT", url, &[], Body::Bytes("application/octet-stream", bytes))
    }

    /// Sends the completion (the etags are not checked).
    fn complete(&self) -> Reply {
        let parts: Vec<Value> = (1..=self.parts())
            .map(|n| json!({"partNumber": n, "etag": format!("\"{n}\"")}))
            .collect();
        let body = json!({"oid": self.oid, "parts": parts}).to_string();
        let href = self.object["actions"]["upload"]["href"]
            .as_str()
            .expect("completion url");
        self.alice.with_token(None).send(
            "POST",
            href,
            &[],
            Body::Bytes("application/vnd.git-lfs+json", body.as_bytes()),
        )
    }

    /// Commits the object as `big.bin` and checks that it downloads as uploaded, and that nothing
    /// of the upload is left in the temporary area.
    fn assert_stored(&self) {
        self.alice.verify(&self.object).assert_status(200);
        let size = self.content.len() as u64;
        self.alice
            .commit(
                &self.repo,
                "main",
                &[header("big"), lfs_line("big.bin", &self.oid, size)],
            )
            .assert_status(200);
        assert_eq!(self.alice.download(&self.repo, "main", "big.bin"), self.content);
        assert_eq!(self.temp_files(), Vec::<PathBuf>::new());
    }

    /// Checks that the object was not stored: verifying fails and no commit can name it.
    fn assert_not_stored(&self) {
        self.alice.verify(&self.object).assert_error(404, "NotFound");
        let size = self.content.len() as u64;
        self.alice
            .commit(
                &self.repo,
                "main",
                &[header("big"), lfs_line("big.bin", &self.oid, size)],
            )
            .assert_error(400, "BadRequest");
    }

    fn temp_files(&self) -> Vec<PathBuf> {
        files_below(&self.hub.dir.path().join("tmp"))
    }
}

#[test]
fn parts_in_any_order_make_the_object() {
    let upload = Upload::new(4 * PART + 321);
    for n in [5, 2, 4, 1, 3] {
        let reply = upload.put(n, upload.bytes(n));
        reply.assert_status(200);
        let etag = reply.header("etag").expect("each part answer carries an ETag");
        assert!(etag.trim_matches('"').len() > 1, "empty ETag {etag:?}");
    }
    upload.complete().assert_status(200);
    upload.assert_stored();
    // A completion sent again (its first answer lost) finds the object stored.
    upload.complete().assert_status(200);
}

#[test]
fn a_part_sent_twice_counts_once() {
    let upload = Upload::new(3 * PART);
    for n in [1, 2, 2, 3, 1] {
        upload.put(n, upload.bytes(n)).assert_status(200);
    }
    upload.complete().assert_status(200);
    upload.assert_stored();
}

#[test]
fn a_part_sent_again_with_other_bytes_fails_the_whole_upload() {
    let upload = Upload::new(3 * PART);
    for n in 1..=3 {
        upload.put(n, upload.bytes(n)).assert_status(200);
    }
    // Part 2 again, with part 1's bytes: written where part 2 was.
    upload.put(2, upload.bytes(1)).assert_status(200);
    let message = upload.complete().assert_error(400, "BadRequest");
    assert!(message.contains("do not match"), "{message}");
    upload.assert_not_stored();
    // The refused upload is gone whole: starting again takes every part again.
    assert_eq!(upload.temp_files(), Vec::<PathBuf>::new());
    upload.put(1, upload.bytes(1)).assert_status(200);
    upload.put(3, upload.bytes(3)).assert_status(200);
    upload.complete().assert_error(400, "BadRequest");
    upload.put(2, upload.bytes(2)).assert_status(200);
    upload.complete().assert_status(200);
    upload.assert_stored();
}

#[test]
fn a_part_of_the_wrong_size_does_not_land() {
    let upload = Upload::new(2 * PART + 10);
    let long = pattern(PART + 1, 41);
    upload.put(1, &long).assert_error(400, "BadRequest");
    upload
        .put(1, &upload.bytes(1)[..PART - 1])
        .assert_error(400, "BadRequest");
    upload.put(3, upload.bytes(2)).assert_error(400, "BadRequest");
    upload.put(2, upload.bytes(2)).assert_status(200);
    upload.put(3, upload.bytes(3)).assert_status(200);
    // The refused bytes of part 1 may be in the object's file, but the part has not landed.
    let message = upload.complete().assert_error(400, "BadRequest");
    assert!(message.contains("part 1 was not uploaded"), "{message}");
    upload.assert_not_stored();
    upload.put(1, upload.bytes(1)).assert_status(200);
    upload.complete().assert_status(200);
    upload.assert_stored();
}

#[test]
fn a_completion_with_a_part_missing_names_it_and_can_be_resumed() {
    let upload = Upload::new(3 * PART + 1);
    let message = upload.complete().assert_error(400, "BadRequest");
    assert!(message.contains("part 1 was not uploaded"), "{message}");
    for n in [1, 2, 4] {
        upload.put(n, upload.bytes(n)).assert_status(200);
    }
    let message = upload.complete().assert_error(400, "BadRequest");
    assert!(message.contains("part 3 was not uploaded"), "{message}");
    assert!(message.contains(&upload.oid), "{message}");
    upload.assert_not_stored();
    // The parts that landed stay: the missing one is enough.
    upload.put(3, upload.bytes(3)).assert_status(200);
    upload.complete().assert_status(200);
    upload.assert_stored();
}

#[test]
fn parts_sent_at_the_same_time_make_the_object() {
    const PARTS: usize = 24;
    let upload = Upload::new(PARTS * PART - 7);
    // Every part twice, from as many threads at once.
    std::thread::scope(|s| {
        let upload = &upload;
        for n in (1..=PARTS).chain(1..=PARTS) {
            s.spawn(move || {
                upload.put(n, upload.bytes(n)).assert_status(200);
            });
        }
    });
    upload.complete().assert_status(200);
    upload.assert_stored();
}
