//! A folder uploaded by one tool is downloaded by the other, byte for byte.

use std::path::Path;

use hubmix_e2e::ALICE_WRITE_TOKEN;

use crate::support::{Env, files, sample_folder};

#[test]
fn hubmix_upload_then_hf_download() {
    let Some(env) = Env::with_hf() else { return };
    env.hubmix(&["auth", "login", "--token", ALICE_WRITE_TOKEN]).ok();
    let src = env.dir("src");
    let mut expected = sample_folder(&src);
    std::fs::write(src.join("scratch.tmp"), "not uploaded").unwrap();
    let up = env.hubmix(&[
        "upload",
        "alice/from-hubmix",
        src.to_str().unwrap(),
        "--exclude",
        "*.tmp",
    ]);
    let url = up.ok();
    assert!(
        url.starts_with(&format!(
            "✓ Uploaded\n  url: {}/alice/from-hubmix/commit/",
            env.hub.url()
        )),
        "{up:#?}"
    );

    // hf into the shared cache, then into a folder.
    let snapshot = env.hf(&["download", "alice/from-hubmix", "--format", "quiet"]);
    let got = files(Path::new(snapshot.ok()));
    expected.insert(".gitattributes".into(), got[".gitattributes"].clone());
    assert_eq!(got, expected);
    let out = env.dir("hf-out");
    env.hf(&[
        "download",
        "alice/from-hubmix",
        "--local-dir",
        out.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(files(&out), expected);

    // A second upload into a folder of the repository, deleting the old configs, on a branch
    // that does not exist yet; --json prints the URL as JSON.
    std::fs::write(src.join("config.json"), br#"{"d_model": 16}"#).unwrap();
    let json = env.hubmix(&[
        "upload",
        "alice/from-hubmix",
        src.join("config.json").to_str().unwrap(),
        "configs/new.json",
        "--revision",
        "dev",
        "--commit-message",
        "New config",
        "--json",
    ]);
    assert!(json.ok().starts_with(r#"{"url": ""#), "{json:#?}");
    let one = env.hf(&[
        "download",
        "alice/from-hubmix",
        "configs/new.json",
        "--revision",
        "dev",
        "-q",
    ]);
    assert_eq!(std::fs::read(one.ok()).unwrap(), br#"{"d_model": 16}"#);
    let deleted = env.hubmix(&[
        "upload",
        "alice/from-hubmix",
        env.dir("empty").to_str().unwrap(),
        "--delete",
        "*.txt",
        "-q",
    ]);
    assert!(
        deleted.ok().contains("/alice/from-hubmix/commit/"),
        "{deleted:#?}"
    );
    let after = env.hf(&["download", "alice/from-hubmix", "--format", "quiet"]);
    let names: Vec<String> = files(Path::new(after.ok())).into_keys().collect();
    assert_eq!(
        names,
        [".gitattributes", "config.json", "weights/model.safetensors"]
    );
}

#[test]
fn hf_upload_then_hubmix_download() {
    let Some(env) = Env::with_hf() else { return };
    env.hf(&["auth", "login", "--token", ALICE_WRITE_TOKEN]).ok();
    let src = env.dir("src");
    let mut expected = sample_folder(&src);
    env.hf(&[
        "upload",
        "alice/from-hf",
        src.to_str().unwrap(),
        "--repo-type",
        "dataset",
    ])
    .ok();

    // Into the shared cache; the quiet output is the bare snapshot path.
    let run = env.hubmix(&["download", "datasets/alice/from-hf", "-q"]);
    let snapshot = Path::new(run.ok());
    assert!(
        snapshot.starts_with(env.hf_home().join("hub/datasets--alice--from-hf/snapshots")),
        "{run:#?}"
    );
    let got = files(snapshot);
    expected.insert(".gitattributes".into(), got[".gitattributes"].clone());
    assert_eq!(got, expected);
    // hf finds hubmix's cache complete: its snapshot is the same folder.
    assert_eq!(
        env.hf(&[
            "download",
            "alice/from-hf",
            "--repo-type",
            "dataset",
            "-q",
            "--max-workers",
            "1"
        ])
        .ok(),
        snapshot.to_str().unwrap()
    );

    // One file, a folder, patterns, a dry run.
    let one = env.hubmix(&[
        "download",
        "alice/from-hf",
        "weights/notes/readme.txt",
        "--repo-type",
        "dataset",
        "-q",
    ]);
    assert_eq!(std::fs::read(one.ok()).unwrap(), b"notes\n");
    let out = env.dir("sub");
    let sub = env.hubmix(&[
        "download",
        "hf://datasets/alice/from-hf/weights/",
        "--local-dir",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(sub.ok(), format!(r#"{{"path": "{}"}}"#, out.display()));
    let names: Vec<String> = files(&out).into_keys().collect();
    assert_eq!(names, ["weights/model.safetensors", "weights/notes/readme.txt"]);
    let dry = env.hubmix(&[
        "download",
        "datasets/alice/from-hf",
        "--include",
        "*.json",
        "--include",
        "*.txt",
        "--exclude",
        "empty*",
        "--dry-run",
        "--local-dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        dry.ok(),
        "[dry-run] Will download 1 files (out of 2) totalling 14.0.\n\
         FILE                     SIZE\n\
         ------------------------ ----\n\
         config.json              14.0\n\
         weights/notes/readme.txt -   "
    );
}
