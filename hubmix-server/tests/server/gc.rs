//! Garbage collection: what it removes (blobs of failed commits, of deleted repositories, LFS
//! uploads never committed, abandoned multipart uploads), what it keeps, the dry run, the
//! periodic run of a server and `hubmix-server gc`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use hubmix_server::{GcOptions, GcReport, collect_garbage};
use serde_json::json;

use crate::support::{ALICE, Hub, Repo, file_line, header, lfs_line, sha256_hex};

/// Where the blob of `content` is under `root`.
fn blob_path(root: &Path, content: &[u8]) -> PathBuf {
    let sha = sha256_hex(content);
    root.join("blobs/sha256").join(&sha[..2]).join(sha)
}

/// Collection with no grace period: everything unused goes.
fn collect_now(root: &Path, dry_run: bool) -> GcReport {
    let options = GcOptions {
        dry_run,
        grace: Duration::ZERO,
    };
    collect_garbage(root, &options).expect("garbage collection")
}

/// The names of the blobs a report lists, sorted.
fn removed(report: &GcReport) -> Vec<String> {
    let mut names: Vec<String> = report.blobs.iter().map(|b| b.sha256.clone()).collect();
    names.sort();
    names
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn unused_blobs_go_and_used_ones_stay() {
    let hub = Hub::start();
    let root = hub.dir.path();
    let alice = hub.client(ALICE);
    let (a, b) = (Repo::model("alice/a"), Repo::model("alice/b"));
    alice.create(&a);
    alice.create(&b);
    alice.commit_files(&a, &[("shared.txt", b"shared"), ("only-a.txt", b"only in a")]);
    alice.commit_files(&b, &[("shared.txt", b"shared")]);

    // A commit that fails after its inline file was stored leaves that blob behind.
    alice
        .commit(
            &a,
            "main",
            &[
                header("fails"),
                file_line("orphan.txt", b"orphan"),
                json!({"key": "deletedFile", "value": {"path": "missing.txt"}}),
            ],
        )
        .assert_error(404, "EntryNotFound");
    assert!(blob_path(root, b"orphan").is_file());
    // An LFS object uploaded to b and never committed.
    let never = b"uploaded, never committed";
    let never_oid = alice.upload_lfs(&b, never);

    // Within the grace period, nothing goes.
    let report = collect_garbage(root, &GcOptions::default()).expect("gc");
    assert_eq!(report, GcReport::default());

    // A dry run says what would go and removes nothing.
    let unused = sorted(vec![sha256_hex(b"orphan"), never_oid.clone()]);
    let dry = collect_now(root, true);
    assert!(dry.dry_run);
    assert_eq!(removed(&dry), unused);
    assert!(blob_path(root, b"orphan").is_file() && blob_path(root, never).is_file());
    assert!(dry.to_string().contains("would remove blob"), "{dry}");

    let report = collect_now(root, false);
    assert_eq!(removed(&report), unused);
    assert_eq!(report.bytes_freed, (b"orphan".len() + never.len()) as u64);
    assert_eq!(report.lfs_uploads, 1);
    assert!(!blob_path(root, b"orphan").exists() && !blob_path(root, never).exists());
    // The upload is forgotten with its blob: the batch asks for it again, a commit cannot use it.
    let answer = alice
        .batch(&b, &[(&never_oid, never.len() as u64)], &["basic"])
        .ok_json();
    assert!(answer["objects"][0]["actions"]["upload"].is_object(), "{answer}");
    alice
        .commit(
            &b,
            "main",
            &[header("x"), lfs_line("never.bin", &never_oid, never.len() as u64)],
        )
        .assert_error(400, "BadRequest");

    // A deleted repository's blobs go, except those another repository uses.
    alice
        .json("DELETE", "/api/repos/delete", &a.body())
        .assert_status(200);
    let report = collect_now(root, false);
    assert_eq!(removed(&report), [sha256_hex(b"only in a")]);
    assert!(blob_path(root, b"shared").is_file());
    assert_eq!(alice.download(&b, "main", "shared.txt"), b"shared");
    assert_eq!(
        collect_now(root, false),
        GcReport::default(),
        "nothing left to collect"
    );
}

#[test]
fn abandoned_multipart_uploads_go_after_the_grace_period() {
    let hub = Hub::start();
    let parts = hub.dir.path().join("tmp/parts");
    let (old, fresh) = (parts.join("1-old"), parts.join("1-fresh"));
    for folder in [&old, &fresh] {
        std::fs::create_dir_all(folder).expect("part folder");
        std::fs::write(folder.join("1"), b"part").expect("part");
    }
    let two_days_ago = SystemTime::now() - Duration::from_secs(48 * 3600);
    File::open(&old)
        .and_then(|f| f.set_modified(two_days_ago))
        .expect("set time");
    let report = collect_garbage(hub.dir.path(), &GcOptions::default()).expect("gc");
    assert_eq!(report.part_folders, std::slice::from_ref(&old));
    assert!(!old.exists() && fresh.join("1").is_file());
}

#[test]
fn a_server_collects_now_and_then() {
    let hub = Hub::with(|c| {
        c.gc_interval(Duration::from_millis(50))
            .gc_grace(Duration::from_secs(60))
    });
    let root = hub.dir.path();
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    alice.commit_files(&repo, &[("gone.txt", b"goes with the repository")]);
    alice
        .json("DELETE", "/api/repos/delete", &repo.body())
        .assert_status(200);
    let gone = blob_path(root, b"goes with the repository");
    // Past the grace period (the other blobs are younger: commits in flight are safe).
    File::open(&gone)
        .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(3600)))
        .expect("set time");
    let deadline = Instant::now() + Duration::from_secs(20);
    while gone.exists() {
        assert!(Instant::now() < deadline, "the server did not collect {gone:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    alice.create(&repo);
    assert_eq!(alice.files(&repo, "main"), [".gitattributes"]);
}

#[test]
fn the_gc_command_reports_and_removes_beside_a_running_server() {
    let hub = Hub::start();
    let root = hub.dir.path();
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    alice.commit_files(&repo, &[("kept.txt", b"kept")]);
    alice
        .commit(
            &repo,
            "main",
            &[
                header("fails"),
                file_line("orphan.txt", b"orphan of the command"),
                json!({"key": "deletedFolder", "value": {"path": "missing"}}),
            ],
        )
        .assert_error(404, "EntryNotFound");
    let orphan = blob_path(root, b"orphan of the command");
    let gc = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_hubmix-server"))
            .arg("gc")
            .arg("--root")
            .arg(root)
            .args(["--grace-secs", "0"])
            .args(extra)
            .output()
            .expect("run hubmix-server gc");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let sha = sha256_hex(b"orphan of the command");
    let dry = gc(&["--dry-run"]);
    assert!(
        dry.contains(&format!("would remove blob {sha} (21 bytes)")),
        "{dry}"
    );
    assert!(orphan.is_file());
    let done = gc(&[]);
    assert!(done.contains(&format!("removed blob {sha} (21 bytes)")), "{done}");
    assert!(done.contains("removed 1 blobs, 21 bytes"), "{done}");
    assert!(!orphan.exists());
    // The server serves on, with its temporary area untouched.
    assert_eq!(alice.download(&repo, "main", "kept.txt"), b"kept");
    assert!(root.join("tmp").is_dir());
}

#[test]
fn an_upload_the_batch_finds_again_is_kept_for_its_commit() {
    let hub = Hub::start();
    let root = hub.dir.path();
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/again");
    alice.create(&repo);
    let content = b"uploaded once, committed later";
    let oid = alice.upload_lfs(&repo, content);
    // Past the grace period, a client asks again: the server has it, so it sends nothing...
    std::thread::sleep(Duration::from_secs(3));
    let answer = alice
        .batch(&repo, &[(&oid, content.len() as u64)], &["basic"])
        .ok_json();
    assert!(answer["objects"][0]["actions"].is_null(), "{answer}");
    // ...and a collection before its commit must not take the object it was told is there.
    let options = GcOptions {
        dry_run: false,
        grace: Duration::from_secs(2),
    };
    let report = collect_garbage(root, &options).expect("gc");
    assert_eq!(report.lfs_uploads, 0, "{report}");
    assert!(blob_path(root, content).is_file());
    alice
        .commit(
            &repo,
            "main",
            &[header("late"), lfs_line("late.bin", &oid, content.len() as u64)],
        )
        .assert_status(200);
    assert_eq!(alice.download(&repo, "main", "late.bin"), content);
}
