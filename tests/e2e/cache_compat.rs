//! The cache is shared with Python: what hubmix downloads, `huggingface_hub` 2.4.0 finds
//! offline, and the other way round.

use std::fs;
use std::path::Path;

use hubmix::{DownloadOptions, HubClient, SnapshotOptions};
use hubmix_e2e::{ALICE_WRITE_TOKEN, TestHub, run_python, venv_or_skip};

/// Seeds `alice/<name>` with a small file and a 2 MiB LFS file, tags it `v1`, and prints the
/// sha256 of both (one per line).
const SEED: &str = r#"
import hashlib, os, sys
from huggingface_hub import HfApi
api = HfApi()
repo = "alice/" + os.environ["REPO"]
api.create_repo(repo)
small = b'{"hidden": 8}\n'
big = bytes((i * 7 + 3) % 251 for i in range(2 * 1024 * 1024 + 5))
api.upload_file(path_or_fileobj=small, path_in_repo="config.json", repo_id=repo)
api.upload_file(path_or_fileobj=big, path_in_repo="weights/big.bin", repo_id=repo)
api.create_tag(repo, tag="v1")
print(hashlib.sha256(small).hexdigest())
print(hashlib.sha256(big).hexdigest())
"#;

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(fs::read(path).expect("file readable")))
}

fn env<'a>(hub: &'a TestHub, cache: &'a str, repo: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("HF_ENDPOINT", hub.url()),
        ("HF_TOKEN", ALICE_WRITE_TOKEN),
        ("HF_HUB_CACHE", cache),
        ("HF_HUB_DISABLE_XET", "1"),
        ("HF_HUB_DISABLE_TELEMETRY", "1"),
        ("REPO", repo),
    ]
}

fn client(hub: &TestHub, cache: &Path, offline: bool) -> HubClient {
    HubClient::builder()
        .endpoint(hub.url())
        .token(ALICE_WRITE_TOKEN)
        .cache_dir(cache)
        .offline(offline)
        .progress_bars(Some(false))
        .build()
        .expect("client builds")
}

#[test]
fn python_finds_offline_what_hubmix_downloaded() {
    let Some(venv) = venv_or_skip(Path::new(env!("CARGO_TARGET_TMPDIR")), "2.4.0") else {
        return;
    };
    let hub = TestHub::start();
    let cache = tempfile::tempdir().unwrap();
    let cache_str = cache.path().to_str().unwrap();
    let seeded = run_python(&venv, SEED, &env(&hub, cache_str, "to-python"));
    let mut sums = seeded.lines();
    let (small_sha, big_sha) = (sums.next().unwrap().to_owned(), sums.next().unwrap().to_owned());

    let hubmix = client(&hub, cache.path(), false);
    let small = hubmix
        .hub_download("alice/to-python@v1", "config.json", &DownloadOptions::default())
        .unwrap();
    assert_eq!(sha256(&small), small_sha);
    hubmix
        .snapshot_download("alice/to-python", &SnapshotOptions::default())
        .unwrap();

    let check = r#"
import hashlib, os
from huggingface_hub import hf_hub_download, snapshot_download, scan_cache_dir
repo = "alice/" + os.environ["REPO"]
def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()
print(sha(hf_hub_download(repo, "config.json", revision="v1")))
print(sha(hf_hub_download(repo, "weights/big.bin")))
snap = snapshot_download(repo, local_files_only=True)
print(sorted(os.path.relpath(os.path.join(d, f), snap) for d, _, fs in os.walk(snap) for f in fs))
info = scan_cache_dir()
assert not info.warnings, info.warnings
(r,) = [r for r in info.repos if r.repo_id == repo]
print(r.nb_files, sorted(sorted(rev.refs) for rev in r.revisions))
"#;
    let mut offline_env = env(&hub, cache_str, "to-python");
    offline_env.push(("HF_HUB_OFFLINE", "1"));
    let out = run_python(&venv, check, &offline_env);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], small_sha);
    assert_eq!(lines[1], big_sha);
    assert_eq!(lines[2], "['.gitattributes', 'config.json', 'weights/big.bin']");
    assert_eq!(
        lines[3], "3 [['main', 'v1']]",
        "one commit, two refs, three blobs"
    );
}

#[test]
fn hubmix_finds_offline_what_python_downloaded() {
    let Some(venv) = venv_or_skip(Path::new(env!("CARGO_TARGET_TMPDIR")), "2.4.0") else {
        return;
    };
    let hub = TestHub::start();
    let cache = tempfile::tempdir().unwrap();
    let cache_str = cache.path().to_str().unwrap();
    let seeded = run_python(&venv, SEED, &env(&hub, cache_str, "from-python"));
    let mut sums = seeded.lines();
    let (small_sha, big_sha) = (sums.next().unwrap().to_owned(), sums.next().unwrap().to_owned());
    let fetch = r#"
import os
from huggingface_hub import hf_hub_download, snapshot_download
repo = "alice/" + os.environ["REPO"]
hf_hub_download(repo, "config.json", revision="v1")
print(snapshot_download(repo))
"#;
    let python_snapshot = run_python(&venv, fetch, &env(&hub, cache_str, "from-python"));

    // The hub goes away: hubmix works from what Python left in the cache.
    drop(hub);
    let hub = TestHub::start();
    let offline = client(&hub, cache.path(), true);
    let small = offline
        .hub_download("alice/from-python@v1", "config.json", &DownloadOptions::default())
        .unwrap();
    assert_eq!(sha256(&small), small_sha);
    let big = offline
        .hub_download(
            "alice/from-python",
            "weights/big.bin",
            &DownloadOptions::default(),
        )
        .unwrap();
    assert_eq!(sha256(&big), big_sha);
    let snap = offline
        .snapshot_download("alice/from-python", &SnapshotOptions::default())
        .unwrap();
    assert_eq!(snap, Path::new(python_snapshot.trim()));
    assert_eq!(sha256(&snap.join("weights/big.bin")), big_sha);
    let missing = offline
        .hub_download("alice/from-python", "nope.bin", &DownloadOptions::default())
        .unwrap_err();
    assert!(matches!(missing, hubmix::HubError::NotCached { .. }), "{missing}");
}
