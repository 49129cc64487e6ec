//! Crash safety: the real binary dies at each failpoint, or by `kill -9` in the middle of an
//! upload; restarted on the same root it serves every ref whole, and a retry succeeds.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    ALICE, Body, Client, Proc, Repo, assert_consistent, file_line, files_below, header, lfs_line, pattern,
    random_below, sha256_hex,
};

/// Part size of the multipart uploads in these tests.
const PART: usize = 1000;
/// The flags every process of these tests runs with.
const ARGS: &[&str] = &["--lfs-part-size", "1000"];

fn repo() -> Repo {
    Repo::model("alice/demo")
}

/// The files of `main` with their contents.
fn contents(client: &Client, repo: &Repo) -> Vec<(String, Vec<u8>)> {
    client
        .files(repo, "main")
        .into_iter()
        .map(|p| {
            let bytes = client.download(repo, "main", &p);
            (p, bytes)
        })
        .collect()
}

/// Fills `root` with a repository that has inline and LFS files, a branch, a tag and a PR,
/// using a process without failpoint. Returns the head of `main`.
fn setup(root: &Path) -> String {
    let server = Proc::start(root, None, ARGS);
    let alice = server.client(ALICE);
    let repo = repo();
    alice.create(&repo);
    alice.commit_files(&repo, &[("a.txt", b"old a"), ("sub/b.txt", b"old b")]);
    let old = pattern(3000, 20);
    let oid = alice.upload_lfs(&repo, &old);
    alice
        .commit(
            &repo,
            "main",
            &[header("old weights"), lfs_line("old.bin", &oid, 3000)],
        )
        .assert_status(200);
    alice
        .post(&repo.api("/branch/dev"), &json!({}))
        .assert_status(200);
    alice
        .post(&repo.api("/tag/main"), &json!({"tag": "v1"}))
        .assert_status(200);
    alice
        .send(
            "POST",
            &repo.api("/commit/main?create_pr=1"),
            &[],
            Body::Bytes(
                "application/x-ndjson",
                crate::support::ndjson(&[header("pr"), file_line("pr.txt", b"pr")]).as_bytes(),
            ),
        )
        .assert_status(200);
    alice.head_of(&repo, "main")
}

/// An operation driven into a server that is about to die.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// An NDJSON commit with inline files, an LFS file and a deletion.
    Commit,
    /// A basic LFS PUT.
    BasicPut,
    /// The parts and completion of a multipart LFS upload.
    Multipart,
}

/// The new LFS content the operations upload.
fn new_object() -> Vec<u8> {
    pattern(2500, 21)
}

/// Runs `op` to the end (a retry) or until the server dies (`Err`).
fn run(op: Op, alice: &Client) -> Result<(), String> {
    let repo = repo();
    let content = new_object();
    let oid = sha256_hex(&content);
    let anonymous = alice.with_token(None);
    let failed = |e: ureq::Error| e.to_string();
    let upload = |transfers: &[&str]| -> Result<Value, String> {
        let answer = alice
            .try_send(
                "POST",
                &repo.batch(),
                &[],
                Body::Bytes(
                    "application/vnd.git-lfs+json",
                    json!({"operation": "upload", "transfers": transfers, "objects": [{"oid": oid, "size": 2500}]})
                        .to_string()
                        .as_bytes(),
                ),
            )
            .map_err(failed)?;
        Ok(answer.ok_json()["objects"][0].clone())
    };
    match op {
        Op::Commit => {
            let object = upload(&["basic"])?;
            if let Some(href) = object["actions"]["upload"]["href"].as_str() {
                anonymous
                    .try_send(
                        "PUT",
                        href,
                        &[],
                        Body::Bytes("application/octet-stream", &content),
                    )
                    .map_err(failed)?
                    .assert_status(200);
            }
            let lines = [
                header("new"),
                file_line("a.txt", b"new a"),
                file_line("new.txt", b"brand new"),
                json!({"key": "deletedFile", "value": {"path": "sub/b.txt"}}),
                lfs_line("new.bin", &oid, 2500),
            ];
            let body = crate::support::ndjson(&lines);
            alice
                .try_send(
                    "POST",
                    &repo.api("/commit/main"),
                    &[],
                    Body::Bytes("application/x-ndjson", body.as_bytes()),
                )
                .map_err(failed)?
                .assert_status(200);
            Ok(())
        }
        Op::BasicPut | Op::Multipart => {
            let transfers: &[&str] = match op {
                Op::BasicPut => &["basic"],
                _ => &["basic", "multipart"],
            };
            let object = upload(transfers)?;
            let action = &object["actions"]["upload"];
            assert!(action.is_object(), "the object must not be stored yet: {object}");
            let href = action["href"].as_str().expect("href");
            match op {
                Op::BasicPut => {
                    anonymous
                        .try_send(
                            "PUT",
                            href,
                            &[],
                            Body::Bytes("application/octet-stream", &content),
                        )
                        .map_err(failed)?
                        .assert_status(200);
                }
                _ => {
                    let mut parts = Vec::new();
                    for n in 1..=content.len().div_ceil(PART) {
                        let url = action["header"][format!("{n:05}")].as_str().expect("part url");
                        let bytes = &content[(n - 1) * PART..(n * PART).min(content.len())];
                        let reply = anonymous
                            .try_send("PUT", url, &[], Body::Bytes("application/octet-stream", bytes))
                            .map_err(failed)?;
                        reply.assert_status(200);
                        parts.push(json!({"partNumber": n, "etag": reply.header("etag")}));
                    }
                    let body = json!({"oid": oid, "parts": parts}).to_string();
                    anonymous
                        .try_send(
                            "POST",
                            href,
                            &[],
                            Body::Bytes("application/vnd.git-lfs+json", body.as_bytes()),
                        )
                        .map_err(failed)?
                        .assert_status(200);
                }
            }
            alice.verify(&object).assert_status(200);
            alice
                .commit(
                    &repo,
                    "main",
                    &[header("new weights"), lfs_line("new.bin", &oid, 2500)],
                )
                .assert_status(200);
            Ok(())
        }
    }
}

/// Kills the server at `failpoint` while `op` runs, restarts, and checks the invariants.
fn crash_at(failpoint: &str, op: Op) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let root = dir.path();
    let old_head = setup(root);
    let repo = repo();

    let before = {
        let server = Proc::start(root, None, ARGS);
        contents(&server.client(ALICE), &repo)
    };

    let mut doomed = Proc::start(root, Some(failpoint), ARGS);
    let outcome = run(op, &doomed.client(ALICE));
    assert!(
        outcome.is_err(),
        "{failpoint} {op:?}: the operation finished: {outcome:?}"
    );
    let (status, stderr) = doomed.wait_for_exit();
    assert_eq!(
        status.signal(),
        Some(6),
        "{failpoint}: expected an abort, got {status:?}"
    );
    assert!(
        stderr.contains(&format!("failpoint {failpoint} reached")),
        "{failpoint}: {stderr}"
    );
    drop(doomed);

    let server = Proc::start(root, None, ARGS);
    let alice = server.client(ALICE);
    // The interrupted upload was discarded whole (its parts and the object's file), not resumed.
    assert_eq!(files_below(&root.join("tmp")), Vec::<std::path::PathBuf>::new());
    let heads = assert_consistent(&alice, root, std::slice::from_ref(&repo));
    // Every failpoint is before the ref moves: the branch is exactly where it was.
    assert_eq!(heads[&repo.id], old_head, "{failpoint}: main moved");
    assert_eq!(
        contents(&alice, &repo),
        before,
        "{failpoint}: main's files changed"
    );
    let content = new_object();
    let oid = sha256_hex(&content);
    if failpoint.starts_with("lfs-") {
        // The object never arrived: the batch asks for it again, verifying it fails, and a
        // commit cannot use it.
        let answer = alice.batch(&repo, &[(&oid, 2500)], &["basic"]).ok_json();
        let object = &answer["objects"][0];
        assert!(object["actions"]["upload"].is_object(), "{failpoint}: {object}");
        alice.verify(object).assert_error(404, "NotFound");
        alice
            .commit(&repo, "main", &[header("x"), lfs_line("new.bin", &oid, 2500)])
            .assert_error(400, "BadRequest");
        assert!(!root.join("blobs/sha256").join(&oid[..2]).join(&oid).exists());
    }

    // The same operation, retried, succeeds.
    run(op, &alice).unwrap_or_else(|e| panic!("{failpoint} {op:?}: retry failed: {e}"));
    assert_eq!(alice.download(&repo, "main", "new.bin"), content);
    assert_ne!(alice.head_of(&repo, "main"), old_head);
    assert_consistent(&alice, root, std::slice::from_ref(&repo));
}

#[test]
fn crash_after_commit_blobs_are_written() {
    crash_at("commit-blobs-written", Op::Commit);
}

#[test]
fn crash_before_the_ref_moves() {
    crash_at("commit-before-ref-update", Op::Commit);
}

#[test]
fn crash_halfway_through_a_basic_upload() {
    crash_at("lfs-upload-halfway", Op::BasicPut);
}

#[test]
fn crash_halfway_through_a_part() {
    crash_at("lfs-upload-halfway", Op::Multipart);
}

#[test]
fn crash_before_a_basic_upload_is_renamed() {
    crash_at("lfs-before-rename", Op::BasicPut);
}

#[test]
fn crash_before_a_multipart_upload_is_renamed() {
    crash_at("lfs-before-rename", Op::Multipart);
}

/// A reader over shared bytes that counts what has been read.
struct Counted {
    bytes: Arc<Vec<u8>>,
    pos: usize,
    read: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.bytes.len() - self.pos).min(64 * 1024);
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        self.read.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

/// Uploads `bytes` (basic LFS, streamed) and commits it as `path`; `sent` counts the bytes
/// handed to the connection.
fn upload_and_commit(
    alice: &Client,
    bytes: Arc<Vec<u8>>,
    path: &str,
    sent: Arc<AtomicU64>,
) -> Result<String, String> {
    let repo = repo();
    let oid = sha256_hex(&bytes);
    let size = bytes.len();
    let batch =
        json!({"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]});
    let answer = alice
        .try_send(
            "POST",
            &repo.batch(),
            &[],
            Body::Bytes("application/vnd.git-lfs+json", batch.to_string().as_bytes()),
        )
        .map_err(|e| e.to_string())?
        .ok_json();
    let object = answer["objects"][0].clone();
    if let Some(href) = object["actions"]["upload"]["href"].as_str() {
        let reader = Counted {
            bytes,
            pos: 0,
            read: sent,
        };
        let reply = alice
            .with_token(None)
            .try_send("PUT", href, &[], Body::Stream(Box::new(reader)))
            .map_err(|e| e.to_string())?;
        reply.assert_status(200);
        alice
            .try_send(
                "POST",
                object["actions"]["verify"]["href"].as_str().expect("verify"),
                &[],
                Body::Bytes(
                    "application/json",
                    json!({"oid": oid, "size": size}).to_string().as_bytes(),
                ),
            )
            .map_err(|e| e.to_string())?
            .assert_status(200);
    }
    let body = crate::support::ndjson(&[header("big"), lfs_line(path, &oid, size as u64)]);
    let reply = alice
        .try_send(
            "POST",
            &repo.api("/commit/main"),
            &[],
            Body::Bytes("application/x-ndjson", body.as_bytes()),
        )
        .map_err(|e| e.to_string())?
        .ok_json();
    Ok(reply["commitOid"].as_str().expect("commitOid").to_owned())
}

#[test]
fn kill_9_during_a_large_upload() {
    const SIZE: usize = 20 * 1024 * 1024;
    const ROUNDS: u64 = 3;
    let dir = tempfile::tempdir().expect("temporary folder");
    let root = dir.path();
    let mut head = setup(root);
    let repo = repo();
    let base = pattern(SIZE, 30);
    let mut before = {
        let server = Proc::start(root, None, ARGS);
        server.client(ALICE).files(&repo, "main")
    };

    for round in 0..ROUNDS {
        let mut bytes = base.clone();
        bytes[..8].copy_from_slice(&round.to_le_bytes());
        let bytes = Arc::new(bytes);
        let path = format!("big-{round}.bin");

        let mut server = Proc::start(root, None, ARGS);
        let sent = Arc::new(AtomicU64::new(0));
        let uploader = {
            let (alice, bytes, path, sent) = (
                server.client(ALICE),
                Arc::clone(&bytes),
                path.clone(),
                Arc::clone(&sent),
            );
            std::thread::spawn(move || upload_and_commit(&alice, bytes, &path, sent))
        };
        // Anywhere in the stream, or (one time in five) after it, during verify and commit.
        let point = random_below(SIZE as u64 + SIZE as u64 / 4);
        let deadline = Instant::now() + Duration::from_secs(60);
        while sent.load(Ordering::SeqCst) < point.min(SIZE as u64) && !uploader.is_finished() {
            assert!(Instant::now() < deadline, "the upload stalled");
            std::thread::sleep(Duration::from_micros(200));
        }
        if point > SIZE as u64 {
            std::thread::sleep(Duration::from_millis(random_below(20)));
        }
        server.kill();
        let outcome = uploader.join().expect("uploader thread");

        let server = Proc::start(root, None, ARGS);
        let alice = server.client(ALICE);
        let heads = assert_consistent(&alice, root, std::slice::from_ref(&repo));
        let now = &heads[&repo.id];
        if *now == head {
            assert_eq!(
                alice.files(&repo, "main"),
                before,
                "round {round}: old head, other files"
            );
        } else {
            // The whole commit, never part of it.
            let log = alice.get(&repo.api("/commits/main")).ok_json();
            assert_eq!(
                log[0]["parents"],
                json!([head]),
                "round {round}: not one commit on top"
            );
            let mut expected = before.clone();
            expected.push(path.clone());
            expected.sort();
            assert_eq!(alice.files(&repo, "main"), expected);
            assert_eq!(alice.download(&repo, "main", &path), *bytes);
            if let Ok(oid) = &outcome {
                assert_eq!(oid, now);
            }
        }
        // Retrying succeeds (the object may already be there).
        let retried = upload_and_commit(&alice, Arc::clone(&bytes), &path, Arc::new(AtomicU64::new(0)))
            .unwrap_or_else(|e| panic!("round {round} (killed at byte {point}): retry failed: {e}"));
        assert_eq!(alice.download(&repo, "main", &path), *bytes);
        assert_consistent(&alice, root, std::slice::from_ref(&repo));
        head = retried;
        before = alice.files(&repo, "main");
    }
}
