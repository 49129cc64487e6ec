//! `hubmix cache ls | rm` side by side with `hf cache ls | rm`, on a cache filled by both tools.

use std::fs::{File, FileTimes};
use std::path::Path;
use std::time::{Duration, SystemTime};

use hubmix_e2e::ALICE_WRITE_TOKEN;
use serde_json::Value;

use crate::support::{Env, sample_folder};

/// `cache ls --format json` (plus `extra` arguments) of one tool, parsed.
fn ls_json(run: &crate::support::Run) -> Value {
    serde_json::from_str(run.ok()).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

/// Sets the access and modification times of every file and folder under `dir` (links are left
/// alone: their targets are in `blobs/`) to `by` ago.
fn age(dir: &Path, by: Duration) {
    let then = SystemTime::now() - by;
    let times = FileTimes::new().set_accessed(then).set_modified(then);
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            age(&entry.path(), by);
        }
        if !kind.is_symlink() {
            File::open(entry.path()).unwrap().set_times(times).unwrap();
        }
    }
}

#[test]
fn hubmix_cache_ls_and_rm_agree_with_hf() {
    let Some(env) = Env::with_hf() else { return };
    env.hubmix(&["auth", "login", "--token", ALICE_WRITE_TOKEN]).ok();
    let src = env.dir("src");
    sample_folder(&src);
    env.hubmix(&["upload", "alice/cached", src.to_str().unwrap()])
        .ok();
    env.hubmix(&[
        "upload",
        "alice/data",
        src.to_str().unwrap(),
        "--repo-type",
        "dataset",
    ])
    .ok();
    // Two revisions of the model (the first one ends detached), one downloaded by each tool,
    // and the dataset by hf.
    env.hubmix(&["download", "alice/cached", "--quiet"]).ok();
    let old = ls_json(&env.hf(&["cache", "ls", "--revisions", "--format", "json"]));
    let old_hash = old[0]["revision"].as_str().unwrap().to_owned();
    std::fs::write(src.join("config.json"), br#"{"d_model": 16}"#).unwrap();
    env.hubmix(&["upload", "alice/cached", src.to_str().unwrap()])
        .ok();
    env.hf(&["download", "alice/cached", "--quiet"]).ok();
    env.hf(&["download", "alice/data", "--repo-type", "dataset", "--quiet"])
        .ok();
    // Times are shown relative ("20 seconds ago"), so the cache is aged: two tools started a
    // second apart would read different seconds, never different days.
    let hub_cache = env.hf_home().join("hub");
    age(&hub_cache, Duration::from_secs(3 * 24 * 3600));
    for args in [
        &["cache", "ls", "--format", "json"][..],
        &["cache", "ls", "--revisions", "--format", "json"],
        &[
            "cache", "ls", "--sort", "size:asc", "--limit", "1", "--format", "json",
        ],
        &["cache", "ls", "--filter", "type=dataset", "--format", "json"],
        &[
            "cache",
            "ls",
            "--revisions",
            "--filter",
            "refs=main",
            "--format",
            "json",
        ],
    ] {
        let ours = ls_json(&env.hubmix(args));
        let theirs = ls_json(&env.hf(args));
        assert_eq!(ours, theirs, "{args:?}");
        assert!(!ours.as_array().unwrap().is_empty(), "{args:?}");
    }
    // A corrupt entry (refs without snapshots) and an interrupted download: the same warnings and
    // hints on stderr.
    std::fs::create_dir_all(hub_cache.join("models--alice--broken/refs")).unwrap();
    std::fs::write(hub_cache.join("models--alice--broken/refs/main"), "x").unwrap();
    std::fs::write(
        hub_cache.join("models--alice--cached/blobs/abc.incomplete"),
        [0; 1500],
    )
    .unwrap();
    for args in [&["cache", "ls"][..], &["cache", "ls", "--show-warnings"]] {
        let ours = env.hubmix(args);
        let theirs = env.hf(args);
        assert_eq!(ours.stderr, theirs.stderr, "{args:?}");
        assert!(
            ours.stderr.contains("incomplete download(s) totalling 1.5K"),
            "{ours:#?}"
        );
    }
    age(&hub_cache, Duration::from_secs(3 * 24 * 3600));
    let listed = ls_json(&env.hubmix(&["cache", "ls", "--revisions", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed:#}");
    // The tables too, footer included, byte for byte.
    for args in [&["cache", "ls"][..], &["cache", "ls", "--revisions"]] {
        let ours = env.hubmix(args);
        assert_eq!(ours.ok(), env.hf(args).ok(), "{args:?}");
        assert!(
            ours.stdout
                .contains("Found 2 repo(s) for a total of 3 revision(s)"),
            "{ours:#?}"
        );
        assert!(ours.stdout.contains("3 days ago"), "{ours:#?}");
    }

    // A dry run prints what hf prints and deletes nothing.
    let dry = ["cache", "rm", &old_hash, "model/alice/nope", "--dry-run"];
    let ours = env.hubmix(&dry);
    let theirs = env.hf(&dry);
    assert_eq!(ours.ok(), theirs.ok());
    assert!(
        ours.stdout.contains("About to delete 1 revision(s) totalling"),
        "{ours:#?}"
    );
    assert!(
        ours.stderr
            .contains("Could not find in cache:\n  - model/alice/nope"),
        "{ours:#?}"
    );
    let before = ls_json(&env.hf(&["cache", "ls", "--revisions", "--format", "json"]));
    assert_eq!(before, listed, "the dry run deleted nothing");

    // prune's dry run prints what hf's prints (the detached revision, the interrupted download).
    let dry = ["cache", "prune", "--dry-run"];
    let ours = env.hubmix(&dry);
    assert_eq!(ours.ok(), env.hf(&dry).ok());
    assert!(
        ours.stdout
            .starts_with("About to delete 1 unreferenced revision(s) and 1 incomplete download(s) ("),
        "{ours:#?}"
    );

    // Without --yes, outside a terminal prompt, nothing is deleted.
    assert_eq!(
        env.hubmix(&["cache", "rm", &old_hash, "--format", "json"]).code,
        1
    );
    // A detached revision, then a whole repository.
    let rm = env.hubmix(&["cache", "rm", &old_hash, "--yes", "--format", "json"]);
    let result: Value = serde_json::from_str(rm.ok()).unwrap();
    assert_eq!(result["repos_deleted"], 0);
    assert_eq!(result["revisions_deleted"], 1);
    let after = ls_json(&env.hf(&["cache", "ls", "--revisions", "--format", "json"]));
    let revisions: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_str().unwrap())
        .collect();
    assert_eq!(revisions.len(), 2);
    assert!(!revisions.contains(&old_hash.as_str()));
    let rm = env.hubmix(&["cache", "rm", "hf://datasets/alice/data", "-y"]);
    assert!(
        rm.ok().starts_with("About to delete 1 repo(s) totalling"),
        "{rm:#?}"
    );
    assert!(
        rm.stdout
            .contains("✓ Deleted 1 repo(s) and 1 revision(s); freed "),
        "{rm:#?}"
    );
    let after = ls_json(&env.hf(&["cache", "ls", "--format", "json"]));
    let ids: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["model/alice/cached"]);
    let nothing = env.hubmix(&["cache", "rm", "dataset/alice/data"]);
    assert_eq!(nothing.ok(), "Nothing to delete.");

    // prune takes the interrupted download; then hf finds nothing to prune.
    let pruned = env.hubmix(&["cache", "prune", "--yes"]);
    assert!(
        pruned
            .ok()
            .contains("✓ Deleted 1 incomplete download(s); freed 1.5K."),
        "{pruned:#?}"
    );
    assert!(
        env.hf(&["cache", "prune", "--dry-run"])
            .ok()
            .contains("Nothing to prune.")
    );
}

#[test]
fn a_missing_cache_is_one_error_line() {
    let env = Env::new();
    let run = env.hubmix(&["cache", "ls", "--cache-dir", "/nonexistent/hubmix-cache"]);
    assert!(
        run.error(1)
            .contains("Cache directory not found: /nonexistent/hubmix-cache")
    );
}
