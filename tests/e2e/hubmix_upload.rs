//! Uploads interoperate with Python `huggingface_hub` 2.4.0 (`HF_HUB_DISABLE_XET=1`, so that its
//! large files go through Git LFS): Python downloads byte-identical files that hubmix pushed
//! (inline, LFS basic and multipart, and a pull request), and hubmix downloads byte-identical
//! files that Python pushed — and finds nothing to re-upload when it pushes the same folder.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use hubmix::{
    CommitOperation, CommitOptions, DownloadOptions, HubClient, UploadFolderOptions,
    manage::CreateRepoOptions,
};
use hubmix_e2e::{
    ALICE_WRITE_TOKEN, LFS_PART_SIZE, LFS_THRESHOLD, TestHub, python_env, run_python, venv_or_skip,
};
use sha2::{Digest, Sha256};

/// Prints `revision path sha256` for every file of `$REPO` at each revision of `$REVS`.
const PY_DOWNLOAD: &str = r#"
import hashlib, os
from huggingface_hub import hf_hub_download, list_repo_files
repo = os.environ["REPO"]
for rev in os.environ["REVS"].split():
    for path in sorted(list_repo_files(repo, revision=rev)):
        p = hf_hub_download(repo, path, revision=rev)
        print(rev, path, hashlib.sha256(open(p, "rb").read()).hexdigest())
"#;

/// Creates `$REPO` and uploads `$FOLDER` to it in one commit.
const PY_UPLOAD: &str = r#"
import os
from huggingface_hub import HfApi
api = HfApi()
api.create_repo(os.environ["REPO"])
api.upload_folder(repo_id=os.environ["REPO"], folder_path=os.environ["FOLDER"], commit_message="from python")
"#;

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Deterministic bytes.
fn data(n: u64, seed: u64) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + seed * 7) % 253) as u8).collect()
}

/// A folder with an inline file, an empty file, an LFS file sent whole and one sent in parts;
/// returns the sha256 of each by path.
fn folder(dir: &Path) -> BTreeMap<String, String> {
    let files = [
        ("config.json", br#"{"d_in": 4, "d_out": 2}"#.to_vec()),
        ("empty.txt", Vec::new()),
        ("weights/medium.bin", data(LFS_THRESHOLD * 2, 1)),
        ("weights/large.bin", data(LFS_PART_SIZE * 2 + 3, 2)),
    ];
    files
        .into_iter()
        .map(|(path, content)| {
            let p = dir.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, &content).unwrap();
            (path.to_owned(), sha256(&content))
        })
        .collect()
}

#[test]
fn python_and_hubmix_read_each_others_uploads() {
    let Some(venv) = venv_or_skip(Path::new(env!("CARGO_TARGET_TMPDIR")), "2.4.0") else {
        return;
    };
    let hub = TestHub::start();
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let hubmix = HubClient::builder()
        .endpoint(hub.url())
        .token(ALICE_WRITE_TOKEN)
        .cache_dir(cache.path())
        .progress_bars(Some(false))
        .build()
        .unwrap();
    let local = tempfile::tempdir().unwrap();
    let expected = folder(local.path());

    // hubmix pushes; Python downloads.
    hubmix
        .create_repo("alice/from-hubmix", &CreateRepoOptions::default())
        .unwrap();
    hubmix
        .upload_folder("alice/from-hubmix", local.path(), &UploadFolderOptions::default())
        .unwrap();
    let pr_config = br#"{"d_in": 8}"#;
    let pr = hubmix
        .create_commit(
            "alice/from-hubmix",
            &[
                CommitOperation::add_bytes("config.json", pr_config.as_slice()),
                CommitOperation::add_bytes("weights/pr.bin", data(LFS_THRESHOLD + 1, 3)),
            ],
            &CommitOptions::new("Propose").create_pr(true),
        )
        .unwrap();
    assert_eq!(pr.pr_num, Some(1));
    let printed = run_python(
        &venv,
        PY_DOWNLOAD,
        &python_env(
            &hub,
            home_str,
            &[("REPO", "alice/from-hubmix"), ("REVS", "main refs/pr/1")],
        ),
    );
    let seen: BTreeMap<(String, String), String> = printed
        .lines()
        .map(|l| {
            let mut parts = l.split(' ');
            let (rev, path, sha) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            ((rev.to_owned(), path.to_owned()), sha.to_owned())
        })
        .collect();
    for (path, sha) in &expected {
        assert_eq!(
            seen.get(&("main".into(), path.clone())),
            Some(sha),
            "{path} at main"
        );
        if path != "config.json" {
            assert_eq!(
                seen.get(&("refs/pr/1".into(), path.clone())),
                Some(sha),
                "{path} in the PR"
            );
        }
    }
    assert_eq!(
        seen.get(&("refs/pr/1".into(), "config.json".into())),
        Some(&sha256(pr_config))
    );
    assert_eq!(
        seen.get(&("refs/pr/1".into(), "weights/pr.bin".into())),
        Some(&sha256(&data(LFS_THRESHOLD + 1, 3)))
    );
    assert!(!seen.contains_key(&("main".into(), "weights/pr.bin".into())));

    // Python pushes; hubmix downloads.
    run_python(
        &venv,
        PY_UPLOAD,
        &python_env(
            &hub,
            home_str,
            &[
                ("REPO", "alice/from-python"),
                ("FOLDER", local.path().to_str().unwrap()),
            ],
        ),
    );
    let mut listed = hubmix.list_repo_files("alice/from-python").unwrap();
    listed.retain(|p| p != ".gitattributes");
    listed.sort();
    assert_eq!(listed, expected.keys().cloned().collect::<Vec<_>>());
    for (path, sha) in &expected {
        let got = hubmix
            .hub_download("alice/from-python", path, &DownloadOptions::default())
            .unwrap();
        assert_eq!(&sha256(&fs::read(got).unwrap()), sha, "{path}");
    }
    // hubmix hashes every file the way Python did: the same folder is nothing new.
    let head = hubmix.list_repo_commits("alice/from-python").unwrap()[0]
        .id
        .clone();
    let again = hubmix
        .upload_folder("alice/from-python", local.path(), &UploadFolderOptions::default())
        .unwrap();
    assert_eq!(again.oid, head, "no commit for unchanged files");
}
