//! The upload side: create_commit (inline and LFS, basic and multipart), upload_file,
//! upload_folder with patterns, pull requests, branch creation, faults during a push, and the
//! errors that must come before anything is sent.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hubmix_hub::{
    CommitOperation, CommitOptions, DownloadOptions, HubClient, HubError, UploadFolderOptions,
    manage::CreateRepoOptions,
};
use sha2::{Digest, Sha256};

use crate::proxy::{Fault, Proxy, Seen};
use crate::seed::bytes;
use crate::support::{ALICE, ALICE_READ, Hub};

const MIB: usize = 1024 * 1024;

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A hub with the public repository `alice/<name>`, and alice's client.
pub(crate) fn hub_with_repo(name: &str) -> (Hub, HubClient) {
    let hub = Hub::start();
    let alice = hub.client(Some(ALICE));
    alice
        .create_repo(format!("alice/{name}"), &CreateRepoOptions::default())
        .unwrap();
    (hub, alice)
}

/// A file's bytes at `rev`, fetched anonymously from `/resolve/`.
pub(crate) fn fetch(hub: &Hub, repo: &str, rev: &str, path: &str) -> Vec<u8> {
    let url = format!(
        "{}/{repo}/resolve/{}/{path}",
        hub.url(),
        hubmix_hub::repo::encode_revision(rev)
    );
    ureq::get(&url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .unwrap()
}

fn head(client: &HubClient, repo: &str, rev: &str) -> String {
    client.repo_info(format!("{repo}@{rev}")).unwrap().sha.unwrap()
}

pub(crate) fn files(client: &HubClient, repo: &str) -> Vec<String> {
    let mut f = client.list_repo_files(repo).unwrap();
    f.sort();
    f
}

pub(crate) fn write(dir: &Path, rel: &str, content: &[u8]) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn puts(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter().filter(|s| s.method == "PUT").collect()
}

#[test]
fn one_commit_holds_lfs_and_inline_files_from_paths_bytes_and_readers() {
    let (hub, alice) = hub_with_repo("mixed");
    let dir = tempfile::tempdir().unwrap();
    let big = bytes(3 * MIB + 11, 1);
    let medium = bytes(MIB + 5, 2);
    write(dir.path(), "big.bin", &big);
    let ops = [
        CommitOperation::add_file("weights/big.bin", dir.path().join("big.bin")),
        CommitOperation::add_bytes("config.json", br#"{"d_in": 4}"#.as_slice()),
        CommitOperation::add_reader("from-reader.bin", &medium[..]).unwrap(),
        CommitOperation::add_bytes("empty.txt", Vec::new()),
    ];
    let info = alice
        .create_commit(
            "alice/mixed",
            &ops,
            &CommitOptions::new("Add files").description("all kinds"),
        )
        .unwrap();
    assert_eq!(info.oid, head(&alice, "alice/mixed", "main"));
    assert_eq!(info.url, format!("{}/alice/mixed/commit/{}", hub.url(), info.oid));
    assert_eq!((info.pr_num, info.pr_url.as_deref()), (None, None));

    let id = hubmix_hub::RepoId::new("alice/mixed").unwrap();
    let tree = alice.list_tree(&id, "main", None, true).unwrap();
    let entry = |p: &str| {
        tree.iter()
            .find(|e| e.path == p)
            .unwrap_or_else(|| panic!("{p} in {tree:?}"))
    };
    assert_eq!(entry("weights/big.bin").lfs.as_ref().unwrap().oid, sha256(&big));
    assert_eq!(
        entry("from-reader.bin").lfs.as_ref().unwrap().oid,
        sha256(&medium)
    );
    assert!(entry("config.json").lfs.is_none(), "small files go inline");
    assert!(entry("empty.txt").lfs.is_none());
    assert_eq!(fetch(&hub, "alice/mixed", "main", "weights/big.bin"), big);
    assert_eq!(fetch(&hub, "alice/mixed", "main", "from-reader.bin"), medium);
    assert_eq!(
        fetch(&hub, "alice/mixed", "main", "config.json"),
        br#"{"d_in": 4}"#
    );
    assert!(fetch(&hub, "alice/mixed", "main", "empty.txt").is_empty());
    let commits = alice.list_repo_commits("alice/mixed").unwrap();
    assert_eq!(
        (commits[0].title.as_str(), commits[0].message.as_str()),
        ("Add files", "all kinds")
    );
    let authors: Vec<&str> = commits[0].authors.iter().map(|a| a.user.as_str()).collect();
    assert_eq!(authors, ["alice"]);
}

#[test]
fn multipart_upload_with_small_parts_retries_only_the_failed_part() {
    let hub = Hub::start_with(|c| c.lfs_part_size(256 * 1024));
    let alice = hub.client(Some(ALICE));
    alice
        .create_repo("alice/parts", &CreateRepoOptions::default())
        .unwrap();
    let failed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&failed);
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if s.method == "PUT" && s.path.contains("part=3&") && !flag.swap(true, Ordering::SeqCst) {
            Fault::Status(500)
        } else {
            Fault::Pass
        }
    });
    let client = hub.client_for(&proxy.url, Some(ALICE));
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(5 * 256 * 1024 + 1000, 3); // 6 parts, the last one short
    write(dir.path(), "model.bin", &data);
    client
        .upload_file(
            "alice/parts",
            dir.path().join("model.bin"),
            "model.bin",
            &CommitOptions::default(),
        )
        .unwrap();
    assert!(failed.load(Ordering::SeqCst), "the fault was injected");

    let seen = proxy.seen();
    let puts = puts(&seen);
    assert_eq!(puts.len(), 7, "6 parts, one of them twice: {puts:#?}");
    for n in 1..=6 {
        let times = puts
            .iter()
            .filter(|s| s.path.contains(&format!("part={n}&")))
            .count();
        assert_eq!(times, if n == 3 { 2 } else { 1 }, "part {n}");
    }
    assert!(puts.iter().all(|s| !s.authorized), "no token on transfer URLs");
    let completes = seen.iter().filter(|s| s.path.contains("/complete/")).count();
    let verifies: Vec<_> = seen.iter().filter(|s| s.path.contains("/verify/")).collect();
    assert_eq!((completes, verifies.len()), (1, 1));
    assert!(verifies[0].authorized, "verify carries the token");
    assert_eq!(fetch(&hub, "alice/parts", "main", "model.bin"), data);
    // The commit message defaults to what huggingface_hub writes, with hubmix's name.
    assert_eq!(
        alice.list_repo_commits("alice/parts").unwrap()[0].title,
        "Upload model.bin with hubmix"
    );
}

#[test]
fn an_interrupted_push_commits_nothing_and_a_rerun_sends_only_missing_objects() {
    // Parts larger than the objects: one PUT per object.
    let hub = Hub::start_with(|c| c.lfs_part_size(8 * MIB as u64));
    let alice = hub.client(Some(ALICE));
    alice
        .create_repo("alice/resume", &CreateRepoOptions::default())
        .unwrap();
    let before = head(&alice, "alice/resume", "main");
    let dir = tempfile::tempdir().unwrap();
    let contents: Vec<Vec<u8>> = (0..3).map(|i| bytes(MIB + 100 * i, 10 + i as u8)).collect();
    for (i, c) in contents.iter().enumerate() {
        write(dir.path(), &format!("shard-{i}.bin"), c);
    }
    write(dir.path(), "config.json", b"{}");
    let oids: Vec<String> = contents.iter().map(|c| sha256(c)).collect();

    // Cut every upload of shards 1 and 2 half-way through its body.
    let cutting = Arc::new(AtomicBool::new(true));
    let (cut, cut_oids) = (Arc::clone(&cutting), oids[1..].to_vec());
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if cut.load(Ordering::SeqCst)
            && s.method == "PUT"
            && cut_oids.iter().any(|o| s.path.contains(o.as_str()))
        {
            Fault::CutRequestAfter(MIB as u64 / 2)
        } else {
            Fault::Pass
        }
    });
    let client = hub.client_for(&proxy.url, Some(ALICE));
    let err = client
        .upload_folder("alice/resume", dir.path(), &UploadFolderOptions::default())
        .unwrap_err();
    assert!(matches!(err, HubError::Network { .. }), "{err}");
    assert_eq!(head(&alice, "alice/resume", "main"), before, "nothing committed");
    assert!(
        proxy.seen().iter().all(|s| !s.path.contains("/commit/")),
        "no commit was attempted"
    );
    let first_run = proxy.seen().len();
    let first_puts = puts(&proxy.seen()).len();
    assert!(first_puts > 3, "the cut uploads were retried: {first_puts} PUTs");

    cutting.store(false, Ordering::SeqCst);
    let info = client
        .upload_folder("alice/resume", dir.path(), &UploadFolderOptions::default())
        .unwrap();
    let seen = proxy.seen();
    let second: Vec<&Seen> = puts(&seen[first_run..]);
    assert_eq!(second.len(), 2, "only the two missing objects: {second:#?}");
    assert!(
        second.iter().all(|s| !s.path.contains(oids[0].as_str())),
        "shard 0 is not sent again"
    );
    assert_eq!(info.oid, head(&alice, "alice/resume", "main"));
    let whoamis = seen.iter().filter(|s| s.path == "/api/whoami-v2").count();
    assert_eq!(whoamis, 1, "the token's role is asked once per client");
    for (i, c) in contents.iter().enumerate() {
        assert_eq!(&fetch(&hub, "alice/resume", "main", &format!("shard-{i}.bin")), c);
    }
}

#[test]
fn upload_folder_selects_like_huggingface_hub_and_deletes_by_pattern() {
    let (hub, alice) = hub_with_repo("folder");
    let seed = [
        CommitOperation::add_bytes(".gitattributes", b"*.bin filter=lfs\n".as_slice()),
        CommitOperation::add_bytes("keep.txt", b"keep".as_slice()),
        CommitOperation::add_bytes("old.bin", b"root bin".as_slice()),
        CommitOperation::add_bytes("sub/old.bin", b"old".as_slice()),
        CommitOperation::add_bytes("sub/data/x.txt", b"x".as_slice()),
        CommitOperation::add_bytes("sub/same.bin", b"replaced".as_slice()),
    ];
    alice
        .create_commit("alice/folder", &seed, &CommitOptions::new("seed"))
        .unwrap();
    let commits_before = alice.list_repo_commits("alice/folder").unwrap().len();

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.safetensors", &bytes(MIB + 1, 5));
    write(dir.path(), "config.json", b"{}");
    write(dir.path(), "notes.tmp", b"ignored by pattern");
    write(dir.path(), "same.bin", b"new content");
    write(dir.path(), "nested/deep/a.json", b"[]");
    write(dir.path(), "nested/skip.txt", b"not allowed");
    // Matched by the allow patterns, but always ignored.
    write(dir.path(), ".git/x.json", b"{}");
    write(dir.path(), "nested/.git/config.json", b"{}");
    write(dir.path(), ".cache/huggingface/download/x.json", b"{}");
    let options = UploadFolderOptions::default()
        .path_in_repo("sub/")
        .allow(["*.json", "*.safetensors", "*.bin", "*.tmp", ".git*"])
        .ignore(["*.tmp"])
        .delete_patterns(["*.bin", "data/", ".gitattributes"]);
    alice.upload_folder("alice/folder", dir.path(), &options).unwrap();

    assert_eq!(
        files(&alice, "alice/folder"),
        [
            ".gitattributes",
            "keep.txt",
            "old.bin",
            "sub/config.json",
            "sub/model.safetensors",
            "sub/nested/deep/a.json",
            "sub/same.bin",
        ]
    );
    assert_eq!(
        fetch(&hub, "alice/folder", "main", "sub/same.bin"),
        b"new content"
    );
    let commits = alice.list_repo_commits("alice/folder").unwrap();
    assert_eq!(commits.len(), commits_before + 1, "one commit");
    assert_eq!(commits[0].title, "Upload folder using hubmix");

    // An unchanged folder makes no commit.
    let info = alice.upload_folder("alice/folder", dir.path(), &options).unwrap();
    assert_eq!(info.oid, commits[0].id);
    assert_eq!(
        alice.list_repo_commits("alice/folder").unwrap().len(),
        commits_before + 1
    );

    // At the root, "*" deletes everything not re-uploaded, except the root .gitattributes.
    let keep = tempfile::tempdir().unwrap();
    write(keep.path(), "keep.txt", b"keep");
    alice
        .upload_folder(
            "alice/folder",
            keep.path(),
            &UploadFolderOptions::default().delete_patterns(["*"]),
        )
        .unwrap();
    assert_eq!(files(&alice, "alice/folder"), [".gitattributes", "keep.txt"]);
}

#[test]
fn delete_operations_remove_files_and_folders() {
    let (_hub, alice) = hub_with_repo("del");
    let ops = [
        CommitOperation::add_bytes("a.txt", b"a".as_slice()),
        CommitOperation::add_bytes("dir/b.txt", b"b".as_slice()),
        CommitOperation::add_bytes("dir/sub/c.txt", b"c".as_slice()),
        CommitOperation::add_bytes("dirty.txt", b"d".as_slice()),
    ];
    alice
        .create_commit("alice/del", &ops, &CommitOptions::new("add"))
        .unwrap();
    let ops = [
        CommitOperation::delete_file("a.txt"),
        CommitOperation::delete_folder("dir/"),
    ];
    alice
        .create_commit("alice/del", &ops, &CommitOptions::new("delete"))
        .unwrap();
    assert_eq!(files(&alice, "alice/del"), [".gitattributes", "dirty.txt"]);
    let before = head(&alice, "alice/del", "main");
    let err = alice
        .create_commit(
            "alice/del",
            &[CommitOperation::delete_file("a.txt")],
            &CommitOptions::new("again"),
        )
        .unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound { .. }), "{err}");
    assert_eq!(head(&alice, "alice/del", "main"), before);
}

#[test]
fn create_pr_opens_refs_pr_n_and_leaves_the_branch_alone() {
    let (hub, alice) = hub_with_repo("pr");
    commit_bytes(&alice, "alice/pr", "config.json", b"{\"v\": 1}");
    let main_before = head(&alice, "alice/pr", "main");
    let big = bytes(2 * MIB + 3, 7);
    let ops = [
        CommitOperation::add_bytes("config.json", b"{\"v\": 2}".as_slice()),
        CommitOperation::add_bytes("big.bin", big.clone()),
    ];
    let info = alice
        .create_commit(
            "alice/pr",
            &ops,
            &CommitOptions::new("Propose v2").create_pr(true),
        )
        .unwrap();
    assert_eq!(info.pr_num, Some(1));
    assert_eq!(
        info.pr_url.as_deref(),
        Some(format!("{}/alice/pr/discussions/1", hub.url()).as_str())
    );
    assert_eq!(info.pr_revision().as_deref(), Some("refs/pr/1"));
    assert_eq!(head(&alice, "alice/pr", "main"), main_before, "main unchanged");
    assert_eq!(head(&alice, "alice/pr", "refs/pr/1"), info.oid);

    let refs = alice.list_repo_refs("alice/pr", true).unwrap();
    let prs = refs.pull_requests.expect("asked for");
    assert_eq!(prs.len(), 1);
    assert_eq!(prs[0].full_name, "refs/pr/1");

    let reader = hub.client(None);
    let got = |path: &str| {
        fs::read(
            reader
                .hub_download("alice/pr@refs/pr/1", path, &DownloadOptions::default())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(got("config.json"), b"{\"v\": 2}");
    assert_eq!(got("big.bin"), big);
    assert_eq!(fetch(&hub, "alice/pr", "main", "config.json"), b"{\"v\": 1}");

    // Committing to the PR's ref adds to it.
    alice
        .create_commit(
            "alice/pr@refs/pr/1",
            &[CommitOperation::add_bytes("extra.txt", b"more".as_slice())],
            &CommitOptions::new("More"),
        )
        .unwrap();
    assert_eq!(fetch(&hub, "alice/pr", "refs/pr/1", "extra.txt"), b"more");
}

#[test]
fn pushing_to_a_missing_branch_creates_it_from_the_default_branch() {
    let (hub, alice) = hub_with_repo("branchy");
    commit_bytes(&alice, "alice/branchy", "base.txt", b"base");
    let ops = [CommitOperation::add_bytes("new.txt", b"new".as_slice())];
    let info = alice
        .create_commit(
            "alice/branchy@feature/x",
            &ops,
            &CommitOptions::new("on a new branch"),
        )
        .unwrap();
    assert_eq!(head(&alice, "alice/branchy", "feature/x"), info.oid);
    assert_eq!(
        fetch(&hub, "alice/branchy", "feature/x", "base.txt"),
        b"base",
        "branched from main"
    );
    assert_eq!(
        files(&alice, "alice/branchy"),
        [".gitattributes", "base.txt"],
        "main unchanged"
    );

    // Told not to: a typed error, and no branch.
    let err = alice
        .create_commit(
            "alice/branchy",
            &ops,
            &CommitOptions::new("nope").revision("other").create_branch(false),
        )
        .unwrap_err();
    assert!(matches!(err, HubError::RevisionNotFound { .. }), "{err}");
    let refs = alice.list_repo_refs("alice/branchy", false).unwrap();
    let mut names: Vec<&str> = refs.branches.iter().map(|b| b.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["feature/x", "main"]);

    // Deletions of upload_folder on a missing branch are taken from the default branch.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "only.txt", b"only");
    alice
        .upload_folder(
            "alice/branchy@fresh",
            dir.path(),
            &UploadFolderOptions::default().delete_patterns(["*.txt"]),
        )
        .unwrap();
    let mut fresh = alice.list_repo_files("alice/branchy@fresh").unwrap();
    fresh.sort();
    assert_eq!(fresh, [".gitattributes", "only.txt"]);
}

#[test]
fn bad_input_and_missing_rights_fail_before_anything_is_sent() {
    let (hub, alice) = hub_with_repo("strict");
    commit_bytes(&alice, "alice/strict", "a.txt", b"a");
    let before = head(&alice, "alice/strict", "main");
    let proxy = Proxy::start("127.0.0.1", hub.url(), |_, _| Fault::Pass);
    let client = hub.client_for(&proxy.url, Some(ALICE));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", b"f");
    let file = dir.path().join("f.txt");
    let opts = CommitOptions::new("bad");

    let add = |path: &str, local: &Path| {
        client.create_commit("alice/strict", &[CommitOperation::add_file(path, local)], &opts)
    };
    let missing = add("x.txt", &dir.path().join("missing.txt")).unwrap_err();
    assert!(matches!(missing, HubError::UploadSource { .. }), "{missing}");
    assert!(missing.to_string().contains("no such file"), "{missing}");
    let folder = add("x.txt", dir.path()).unwrap_err();
    assert!(matches!(folder, HubError::UploadSource { .. }), "{folder}");
    for bad in ["../x.txt", "a/../../x.txt", "/abs.txt", ".git/config", "a//b"] {
        let err = add(bad, &file).unwrap_err();
        assert!(matches!(err, HubError::InvalidPath { .. }), "{bad}: {err}");
    }
    let err = client
        .upload_folder("alice/strict", &file, &UploadFolderOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, HubError::UploadSource { .. }) && err.to_string().contains("is a file"),
        "{err}"
    );
    let err = client
        .upload_folder(
            "alice/strict",
            dir.path().join("nope"),
            &UploadFolderOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, HubError::UploadSource { .. }), "{err}");
    let err = client
        .upload_folder(
            "alice/strict",
            dir.path(),
            &UploadFolderOptions::default()
                .path_in_repo("../up")
                .delete_patterns(["*"]),
        )
        .unwrap_err();
    assert!(matches!(err, HubError::InvalidPath { .. }), "{err}");
    let err = client
        .create_commit(
            "alice/strict",
            &[CommitOperation::add_file("f.txt", &file)],
            &CommitOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(err, HubError::InvalidArgument { .. }),
        "empty message: {err}"
    );
    let twice = [
        CommitOperation::add_file("f.txt", &file),
        CommitOperation::add_bytes("./f.txt", b"x".as_slice()),
    ];
    let err = client.create_commit("alice/strict", &twice, &opts).unwrap_err();
    assert!(matches!(err, HubError::InvalidPath { .. }), "{err}");
    assert!(proxy.seen().is_empty(), "nothing sent: {:#?}", proxy.seen());

    // No token: nothing sent either.
    let anonymous = hub.client_for(&proxy.url, None);
    let err = anonymous
        .upload_file("alice/strict", &file, "f.txt", &opts)
        .unwrap_err();
    assert!(matches!(err, HubError::NotLoggedIn { .. }), "{err}");
    assert!(err.to_string().contains("HF_TOKEN"), "{err}");
    assert!(proxy.seen().is_empty(), "nothing sent: {:#?}", proxy.seen());

    // A read-only token: only whoami is asked.
    let reader = hub.client_for(&proxy.url, Some(ALICE_READ));
    let err = reader
        .upload_file("alice/strict", &file, "f.txt", &opts)
        .unwrap_err();
    assert!(matches!(err, HubError::NotLoggedIn { .. }), "{err}");
    assert!(err.to_string().contains("read-only"), "{err}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/api/whoami-v2")
    );

    // A stale parent commit: a conflict, before any upload.
    commit_bytes(&alice, "alice/strict", "b.txt", b"b");
    let now = head(&alice, "alice/strict", "main");
    let big = dir.path().join("big.bin");
    fs::write(&big, bytes(2 * MIB, 4)).unwrap();
    let err = client
        .upload_file(
            "alice/strict",
            &big,
            "big.bin",
            &CommitOptions::new("stale").parent_commit(&before),
        )
        .unwrap_err();
    assert!(matches!(err, HubError::Conflict { .. }), "{err}");
    assert_eq!(head(&alice, "alice/strict", "main"), now, "nothing committed");
    assert!(puts(&proxy.seen()).is_empty(), "no upload started");
    // The current head as parent works.
    client
        .upload_file(
            "alice/strict",
            &big,
            "big.bin",
            &CommitOptions::new("fresh").parent_commit(&now),
        )
        .unwrap();
    let now = head(&alice, "alice/strict", "main");
    assert_ne!(now, before);

    // A card whose metadata the Hub refuses: an error before the large file is sent.
    let card = dir.path().join("README.md");
    fs::write(&card, "---\ntags:\n  burn: yes\n---\n# Mine\n").unwrap();
    fs::write(&big, bytes(2 * MIB, 5)).unwrap();
    let seen_before = proxy.seen().len();
    let err = client
        .upload_folder("alice/strict", dir.path(), &UploadFolderOptions::default())
        .unwrap_err();
    assert!(matches!(err, HubError::InvalidModelCard { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("\"tags\" must be a string or a list of strings"),
        "{err}"
    );
    let seen = proxy.seen()[seen_before..].to_vec();
    assert!(
        seen.iter()
            .all(|s| !s.path.contains("/info/lfs/") && !s.path.contains("/commit/")),
        "nothing uploaded: {seen:#?}"
    );
    assert_eq!(head(&alice, "alice/strict", "main"), now, "nothing committed");
}

/// Commits one small file through the public API.
fn commit_bytes(client: &HubClient, repo: &str, path: &str, content: &[u8]) {
    let op = CommitOperation::add_bytes(path, content);
    client
        .create_commit(repo, &[op], &CommitOptions::new(format!("add {path}")))
        .unwrap();
}

#[test]
fn a_lost_answer_to_the_multipart_completion_is_retried() {
    let hub = Hub::start();
    let alice = hub.client(Some(ALICE));
    alice
        .create_repo("alice/lost", &CreateRepoOptions::default())
        .unwrap();
    let lost = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&lost);
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if s.path.contains("/complete/") && !flag.swap(true, Ordering::SeqCst) {
            Fault::LoseResponse
        } else {
            Fault::Pass
        }
    });
    let client = hub.client_for(&proxy.url, Some(ALICE));
    let data = bytes(2 * MIB + 9, 8);
    client
        .create_commit(
            "alice/lost",
            &[CommitOperation::add_bytes("w.bin", data.clone())],
            &CommitOptions::new("parts"),
        )
        .unwrap();
    assert!(lost.load(Ordering::SeqCst), "the fault was injected");
    let completes = proxy
        .seen()
        .iter()
        .filter(|s| s.path.contains("/complete/"))
        .count();
    assert_eq!(completes, 2, "the completion was sent again");
    assert_eq!(fetch(&hub, "alice/lost", "main", "w.bin"), data);
}

#[test]
fn files_a_gitignore_excludes_are_not_committed() {
    let (_hub, alice) = hub_with_repo("ignored");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".gitignore", b"*.tmp\nlogs/\n!keep.tmp\n");
    write(dir.path(), "model.bin", b"weights");
    write(dir.path(), "scratch.tmp", b"x");
    write(dir.path(), "keep.tmp", b"kept");
    write(dir.path(), "logs/run.txt", b"loss 1");
    alice
        .upload_folder("alice/ignored", dir.path(), &UploadFolderOptions::default())
        .unwrap();
    let expected = [".gitattributes", ".gitignore", "keep.tmp", "model.bin"];
    assert_eq!(files(&alice, "alice/ignored"), expected);

    // A later upload follows the repository's .gitignore: nothing to commit, the head stays.
    let before = head(&alice, "alice/ignored", "main");
    let info = alice
        .create_commit(
            "alice/ignored",
            &[CommitOperation::add_bytes("later.tmp", b"later".as_slice())],
            &CommitOptions::new("later"),
        )
        .unwrap();
    assert_eq!(info.oid, before);
    assert_eq!(files(&alice, "alice/ignored"), expected);
}

#[test]
fn a_branch_given_twice_must_be_the_same() {
    let (hub, alice) = hub_with_repo("twice");
    let add = [CommitOperation::add_bytes("a.txt", b"1".to_vec())];
    let before = head(&alice, "alice/twice", "main");
    let conflict = |err: HubError| {
        assert!(
            matches!(&err, HubError::InvalidArgument { name, .. } if name == "revision"),
            "{err}"
        );
    };
    conflict(
        alice
            .create_commit("alice/twice@dev", &add, &CommitOptions::new("x").revision("main"))
            .unwrap_err(),
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"1");
    let mut options = UploadFolderOptions::default().delete_patterns(["*.bin"]);
    options.commit = CommitOptions::new("x").revision("main");
    conflict(
        alice
            .upload_folder("alice/twice@dev", dir.path(), &options)
            .unwrap_err(),
    );
    options.delete_patterns.clear();
    conflict(
        alice
            .upload_folder("alice/twice@dev", dir.path(), &options)
            .unwrap_err(),
    );
    // Nothing was committed, no branch created.
    assert_eq!(head(&alice, "alice/twice", "main"), before);
    assert!(alice.repo_info("alice/twice@dev").is_err());
    // The same branch in both places is fine.
    alice
        .create_commit("alice/twice@dev", &add, &CommitOptions::new("x").revision("dev"))
        .unwrap();
    assert_eq!(fetch(&hub, "alice/twice", "dev", "a.txt"), b"1");
}
