//! `--local-dir`: each tool reads the other's `.cache/huggingface/download/*.metadata` and
//! re-downloads nothing. A file re-downloaded lands by rename, as a new inode; a skipped one keeps
//! its inode and its modification time.

use std::collections::BTreeMap;
use std::path::Path;

use hubmix_e2e::ALICE_WRITE_TOKEN;

use crate::support::{Env, files, sample_folder};

/// Inode and modification time of every file below `dir` (but `.cache/`).
fn identities(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    files(dir)
        .into_keys()
        .map(|rel| {
            let meta = std::fs::metadata(dir.join(&rel)).unwrap();
            #[cfg(unix)]
            let inode = std::os::unix::fs::MetadataExt::ino(&meta);
            #[cfg(not(unix))]
            let inode = 0;
            (rel, (inode, meta.modified().unwrap()))
        })
        .collect()
}

/// Changes a file after its record: both tools allow a second of clock slack, so its time is
/// set past that.
fn change(path: &Path) {
    std::fs::write(path, "changed").unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
}

/// A repository with the sample folder, uploaded by hubmix.
fn setup(env: &Env) {
    let src = env.dir("src");
    sample_folder(&src);
    env.hubmix_with(
        &["upload", "alice/local", src.to_str().unwrap()],
        &[("HF_TOKEN", ALICE_WRITE_TOKEN)],
        None,
    )
    .ok();
}

#[test]
fn hubmix_then_hf_into_one_folder_downloads_nothing_twice() {
    let Some(env) = Env::with_hf() else { return };
    setup(&env);
    let out = env.dir("out");
    let dir = out.to_str().unwrap();
    let first = env.hubmix(&["download", "alice/local", "--local-dir", dir, "-q"]);
    assert_eq!(first.ok(), dir);
    let before = identities(&out);
    assert_eq!(before.len(), 5, "{before:?}");
    let record =
        std::fs::read_to_string(out.join(".cache/huggingface/download/weights/model.safetensors.metadata"))
            .unwrap();
    assert_eq!(record.lines().count(), 3, "{record}");

    assert_eq!(
        env.hf(&["download", "alice/local", "--local-dir", dir, "-q"])
            .ok(),
        dir
    );
    assert_eq!(
        identities(&out),
        before,
        "hf re-downloaded a file hubmix had fetched"
    );
    // One file by name (hf asks the Hub for its ETag, then trusts the record).
    env.hf(&[
        "download",
        "alice/local",
        "weights/model.safetensors",
        "--local-dir",
        dir,
    ])
    .ok();
    assert_eq!(identities(&out), before);

    // The check is not vacuous: a file changed locally is fetched again by either tool.
    change(&out.join("config.json"));
    env.hf(&["download", "alice/local", "--local-dir", dir, "-q"])
        .ok();
    let after = identities(&out);
    assert_ne!(after["config.json"], before["config.json"]);
    assert_eq!(
        std::fs::read(out.join("config.json")).unwrap(),
        br#"{"d_model": 8}"#
    );
    change(&out.join("empty.txt"));
    env.hubmix(&["download", "alice/local", "--local-dir", dir, "-q"])
        .ok();
    assert_ne!(identities(&out)["empty.txt"], after["empty.txt"]);
    assert_eq!(std::fs::read(out.join("empty.txt")).unwrap(), b"");
}

#[test]
fn hf_then_hubmix_into_one_folder_downloads_nothing_twice() {
    let Some(env) = Env::with_hf() else { return };
    setup(&env);
    let out = env.dir("out");
    let dir = out.to_str().unwrap();
    env.hf(&["download", "alice/local", "--local-dir", dir]).ok();
    let before = identities(&out);
    assert_eq!(before.len(), 5, "{before:?}");

    // Snapshot, one file by name, and with --force-download (which does fetch again).
    let run = env.hubmix(&["download", "alice/local", "--local-dir", dir]);
    assert_eq!(run.ok(), format!("✓ Downloaded\n  path: {dir}"));
    assert_eq!(
        identities(&out),
        before,
        "hubmix re-downloaded a file hf had fetched"
    );
    let one = env.hubmix(&[
        "download",
        "alice/local",
        "weights/model.safetensors",
        "--local-dir",
        dir,
        "-q",
    ]);
    assert_eq!(one.ok(), out.join("weights/model.safetensors").to_str().unwrap());
    assert_eq!(identities(&out), before);
    let dry = env.hubmix(&[
        "download",
        "alice/local",
        "--local-dir",
        dir,
        "--dry-run",
        "--json",
    ]);
    assert!(!dry.ok().contains(r#""size": "1."#), "nothing to fetch: {dry:#?}");

    // Files put there by other means, with no record: hubmix hashes them and keeps them.
    let bare = env.dir("bare");
    for (rel, bytes) in files(&out) {
        std::fs::create_dir_all(bare.join(&rel).parent().unwrap()).unwrap();
        std::fs::write(bare.join(&rel), bytes).unwrap();
    }
    let bare_before = identities(&bare);
    env.hubmix(&[
        "download",
        "alice/local",
        "--local-dir",
        bare.to_str().unwrap(),
        "-q",
    ])
    .ok();
    assert_eq!(identities(&bare), bare_before);
    // …and records them, so hf keeps them too (it would re-download a non-LFS file without one).
    env.hf(&[
        "download",
        "alice/local",
        "--local-dir",
        bare.to_str().unwrap(),
        "-q",
    ])
    .ok();
    assert_eq!(identities(&bare), bare_before);

    env.hubmix(&[
        "download",
        "alice/local",
        "--local-dir",
        dir,
        "--force-download",
        "-q",
    ])
    .ok();
    let forced = identities(&out);
    assert!(forced.iter().all(|(rel, id)| id != &before[rel]), "{forced:?}");
}
