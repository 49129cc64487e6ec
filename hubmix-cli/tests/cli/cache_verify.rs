//! `hubmix cache verify`: one revision side by side with `hf cache verify` on a cache filled by a
//! download and then damaged on purpose; the whole cache offline (hubmix only).

use std::path::{Path, PathBuf};

use hubmix_e2e::ALICE_WRITE_TOKEN;
use serde_json::Value;

use crate::support::{Env, Run, sample_folder};

const TOKEN: [(&str, &str); 1] = [("HF_TOKEN", ALICE_WRITE_TOKEN)];

/// Changes one byte in the middle of a file, keeping its length.
fn flip_one_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

/// The blob a snapshot's file links to.
fn blob(snapshot: &Path, path: &str) -> PathBuf {
    std::fs::canonicalize(snapshot.join(path)).unwrap()
}

/// Uploads the sample folder to `repo` (`--repo-type` in `extra`) and downloads it into the cache
/// with hubmix; returns the snapshot folder.
fn uploaded_and_cached(env: &Env, repo: &str, extra: &[&str]) -> PathBuf {
    let src = env.dir(&format!("src-{}", repo.replace('/', "-")));
    sample_folder(&src);
    let mut upload = vec!["upload", repo, src.to_str().unwrap(), "-q"];
    upload.extend(extra);
    env.hubmix_with(&upload, &TOKEN, None).ok();
    let mut download = vec!["download", repo, "-q"];
    download.extend(extra);
    PathBuf::from(env.hubmix(&download).ok())
}

/// The `Warning:` lines of stderr.
fn warnings(run: &Run) -> Vec<&str> {
    run.stderr.lines().filter(|l| l.starts_with("Warning:")).collect()
}

#[test]
fn one_revision_is_verified_as_hf_verifies_it() {
    let Some(env) = Env::with_hf() else { return };
    let snapshot = uploaded_and_cached(&env, "alice/v", &[]);
    let commit = snapshot.file_name().unwrap().to_str().unwrap().to_owned();

    // A sound download: the same answer from both, in every format.
    for format in ["human", "agent", "json", "quiet"] {
        let args = ["cache", "verify", "alice/v", "--format", format];
        let (ours, theirs) = (env.hubmix(&args), env.hf(&args));
        assert_eq!(ours.ok(), theirs.ok(), "{format}");
    }
    let json: Value =
        serde_json::from_str(env.hubmix(&["cache", "verify", "alice/v", "--json"]).ok()).unwrap();
    assert_eq!(json["checked"], 5, "{json}");
    assert_eq!(json["path"], snapshot.to_str().unwrap());

    // One byte changed in a small file (git blob id) and in the LFS file (sha256), a blob
    // deleted, a file added.
    flip_one_byte(&blob(&snapshot, "config.json"));
    flip_one_byte(&blob(&snapshot, "weights/model.safetensors"));
    std::fs::remove_file(blob(&snapshot, "weights/notes/readme.txt")).unwrap();
    std::fs::write(snapshot.join("extra.txt"), "not on the Hub").unwrap();
    for flags in [
        &[][..],
        &["--fail-on-missing-files"],
        &["--fail-on-extra-files"],
        &["--fail-on-missing-files", "--fail-on-extra-files"],
        &["--format", "json"],
        &["--format", "agent", "--revision", "main"],
        &["--revision", &commit],
    ] {
        let mut args = vec!["cache", "verify", "alice/v"];
        args.extend(flags);
        let (ours, theirs) = (env.hubmix(&args), env.hf(&args));
        assert_eq!(
            (ours.code, &ours.stdout, warnings(&ours)),
            (theirs.code, &theirs.stdout, warnings(&theirs)),
            "{flags:?}: {ours:#?}\n{theirs:#?}"
        );
        assert_eq!(ours.code, 1);
        // hf's error is two lines, hubmix's one, then a hint.
        let their_error = theirs.stderr.lines().find(|l| l.starts_with("Error: ")).unwrap();
        let ours_tail: Vec<&str> = ours.stderr.lines().rev().take(2).collect();
        assert_eq!(
            ours_tail[1],
            format!("{their_error} Revision: {commit}"),
            "{ours:#?}"
        );
        assert!(
            ours_tail[0].starts_with("Hint: Download the files again: hubmix download alice/v --revision "),
            "{ours:#?}"
        );
    }
    let listed = env.hubmix(&["cache", "verify", "alice/v", "--fail-on-missing-files"]);
    assert!(
        listed.stdout.starts_with(
            "❌ Checksum verification failed for the following file(s):\n  - config.json: expected "
        ),
        "{listed:#?}"
    );
    assert!(listed.stdout.contains("(git-sha1), got "), "{listed:#?}");
    assert!(
        listed.stdout.contains("  - weights/model.safetensors: expected ")
            && listed.stdout.contains("(sha256), got "),
        "{listed:#?}"
    );
    assert!(
        listed
            .stdout
            .contains("❌ Missing files (present remotely, absent locally):\n  - weights/notes/readme.txt"),
        "{listed:#?}"
    );

    // What the hint says repairs it: then hf finds nothing wrong either.
    std::fs::remove_file(snapshot.join("extra.txt")).unwrap();
    env.hubmix(&["download", "alice/v", "--force-download", "-q"])
        .ok();
    env.hf(&["cache", "verify", "alice/v", "--fail-on-missing-files"])
        .ok();
    env.hubmix(&["cache", "verify", "alice/v", "--fail-on-missing-files"])
        .ok();

    // A --local-dir folder that hf downloaded.
    let folder = env.dir("folder");
    let dir = folder.to_str().unwrap();
    env.hf(&["download", "alice/v", "--local-dir", dir, "--quiet"])
        .ok();
    let args = [
        "cache",
        "verify",
        "alice/v",
        "--local-dir",
        dir,
        "--format",
        "agent",
    ];
    let ours = env.hubmix(&args);
    assert_eq!(ours.ok(), env.hf(&args).ok());
    assert!(ours.stdout.contains("checked=5"), "{ours:#?}");
    flip_one_byte(&folder.join("weights/notes/readme.txt"));
    let (ours, theirs) = (env.hubmix(&args), env.hf(&args));
    assert_eq!((ours.code, &ours.stdout), (theirs.code, &theirs.stdout));
    assert!(
        ours.stdout.contains("  - weights/notes/readme.txt: expected "),
        "{ours:#?}"
    );
    assert!(
        ours.stderr
            .contains(&format!("--local-dir {dir} --force-download")),
        "{ours:#?}"
    );

    // The same exit codes for the errors: two places, a repository not in the cache, a folder
    // that is not one.
    let cache = env.hf_home().join("hub");
    for args in [
        &[
            "cache",
            "verify",
            "alice/v",
            "--local-dir",
            dir,
            "--cache-dir",
            cache.to_str().unwrap(),
        ][..],
        &["cache", "verify", "alice/nope"],
        &["cache", "verify", "alice/v", "--local-dir", "/nonexistent/hubmix"],
        &["cache", "verify", "alice/v", "--revision", "v9"],
    ] {
        let (ours, theirs) = (env.hubmix(args), env.hf(args));
        assert_eq!(ours.code, theirs.code, "{args:?}: {ours:#?}\n{theirs:#?}");
        assert!(ours.code == 1 || ours.code == 2, "{ours:#?}");
        assert!(
            ours.stderr.starts_with("Error: ") && ours.stderr.contains("\nHint: "),
            "{ours:#?}"
        );
    }
    let missing = env.hubmix(&["cache", "verify", "alice/nope"]);
    assert!(
        missing
            .error(1)
            .starts_with("Error: Model 'alice/nope': the repository is not in the cache ("),
        "{missing:#?}"
    );
}

#[test]
fn the_whole_cache_is_verified_offline() {
    let env = Env::new();
    let model = uploaded_and_cached(&env, "alice/w", &[]);
    let dataset = uploaded_and_cached(&env, "alice/d", &["--repo-type", "dataset"]);
    // No hub: the endpoint is a closed port, and offline mode is on.
    let offline = [("HF_HUB_OFFLINE", "1"), ("HF_ENDPOINT", "http://127.0.0.1:9")];
    let verify = |args: &[&str]| {
        let mut all = vec!["cache", "verify"];
        all.extend(args);
        env.hubmix_with(&all, &offline, None)
    };

    let clean = verify(&[]);
    assert!(
        clean
            .ok()
            .starts_with("✓ Verified 10 file(s) in 2 revision(s) of 2 repo(s): 10 blob(s), "),
        "{clean:#?}"
    );
    let json: Value = serde_json::from_str(verify(&["--json"]).ok()).unwrap();
    assert_eq!(
        (json["repos"].as_u64(), json["blobs"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(json["problems"], Value::Array(Vec::new()));
    assert_eq!(verify(&["-q"]).ok(), "", "nothing damaged");

    // One byte of the model's LFS blob changed (same length); a blob of the dataset deleted.
    let weights = blob(&model, "weights/model.safetensors");
    flip_one_byte(&weights);
    std::fs::remove_file(blob(&dataset, "config.json")).unwrap();
    let model_commit = model.file_name().unwrap().to_str().unwrap();
    let dataset_commit = dataset.file_name().unwrap().to_str().unwrap();

    let damaged = verify(&[]);
    let error = damaged.error(1);
    assert!(
        error.starts_with(
            "Error: Verification failed: 1 corrupt, 1 missing file(s) in 2 repo(s) of the cache "
        ),
        "{damaged:#?}"
    );
    assert!(
        damaged
            .stderr
            .contains("Hint: Delete what is damaged and download it again: hubmix cache rm dataset/alice/d model/alice/w; or fetch the files again in place: hubmix download alice/d --repo-type dataset --revision "),
        "{damaged:#?}"
    );
    let etag = weights.file_name().unwrap().to_str().unwrap();
    let corrupt = format!(
        "❌ Corrupt files (their content does not match the hash they are stored under):\n  - model/alice/w@{model_commit} (main): weights/model.safetensors: expected {etag} (sha256), got "
    );
    assert!(damaged.stdout.starts_with(&corrupt), "{damaged:#?}");
    let missing = format!(
        "❌ Missing files (the snapshot links to a blob that is gone):\n  - dataset/alice/d@{dataset_commit} (main): config.json: "
    );
    assert!(damaged.stdout.contains(&missing), "{damaged:#?}");

    assert_eq!(verify(&["-q"]).stdout, "dataset/alice/d\nmodel/alice/w\n");
    let json: Value = serde_json::from_str(&verify(&["--json"]).stdout).unwrap();
    let problems = json["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{json}");
    assert_eq!(problems[0]["repo"], "dataset/alice/d");
    assert_eq!(problems[0]["problem"], "missing");
    assert_eq!(problems[1]["problem"], "corrupt");
    assert_eq!(problems[1]["expected"], etag);
    assert_eq!(problems[1]["algorithm"], "sha256");
    assert_eq!(problems[1]["path_in_repo"], "weights/model.safetensors");
    assert_ne!(problems[1]["actual"], problems[1]["expected"]);

    // What the hint says repairs it.
    env.hubmix(&["download", "alice/w", "--force-download", "-q"])
        .ok();
    env.hubmix(&[
        "download",
        "alice/d",
        "--repo-type",
        "dataset",
        "--force-download",
        "-q",
    ])
    .ok();
    verify(&[]).ok();

    // Options that need a repository are usage errors without one; a missing cache is an error.
    assert_eq!(verify(&["--revision", "main"]).code, 2);
    assert_eq!(verify(&["--fail-on-missing-files"]).code, 2);
    let nowhere = verify(&["--cache-dir", "/nonexistent/hubmix-cache"]);
    assert!(
        nowhere.error(1).contains("Cache directory not found"),
        "{nowhere:#?}"
    );
}
