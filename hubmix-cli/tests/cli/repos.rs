//! `hubmix repos …`: what each command changes on the hub, its output, and its errors.

use hubmix_e2e::ALICE_WRITE_TOKEN;

use crate::support::Env;

const TOKEN: [(&str, &str); 1] = [("HF_TOKEN", ALICE_WRITE_TOKEN)];

#[test]
fn create_configure_branch_tag_move_delete() {
    let env = Env::new();
    let hubmix = |args: &[&str]| env.hubmix_with(args, &TOKEN, None);
    let url = env.hub.url().to_owned();
    let created = hubmix(&["repos", "create", "alice/r", "--private", "--json"]);
    assert_eq!(
        created.ok(),
        format!(r#"{{"repo_id": "alice/r", "url": "{url}/alice/r"}}"#)
    );
    // Private: not visible without a token.
    let anonymous = env.hubmix(&["download", "alice/r"]);
    assert_eq!(anonymous.error(1), "Error: Model 'alice/r' not found.");
    let again = hubmix(&["repos", "create", "alice/r"]);
    assert!(again.error(1).starts_with("Error: Conflict"), "{again:#?}");
    hubmix(&["repos", "create", "alice/r", "--exist-ok", "-q"]).ok();
    hubmix(&["repos", "settings", "alice/r", "--public"]).ok();
    env.hubmix(&["download", "alice/r", "-q"]).ok();
    assert_eq!(hubmix(&["repos", "settings", "alice/r"]).code, 1);

    let src = env.dir("src");
    std::fs::write(src.join("a.bin"), "a").unwrap();
    std::fs::write(src.join("b.txt"), "b").unwrap();
    hubmix(&["upload", "alice/r", src.to_str().unwrap(), "-q"]).ok();
    let branch = hubmix(&["repos", "branch", "create", "alice/r", "dev", "--format", "agent"]);
    assert_eq!(branch.ok(), "branch=dev repo_type=model repo_id=alice/r");
    hubmix(&[
        "repos",
        "tag",
        "create",
        "alice/r",
        "v1",
        "-m",
        "First",
        "--revision",
        "dev",
    ])
    .ok();
    let tags = hubmix(&["repos", "tag", "list", "alice/r", "--json"]);
    assert!(
        tags.ok().starts_with(r#"[{"name": "v1", "target_commit": ""#),
        "{tags:#?}"
    );
    assert!(tags.stdout.contains(r#""ref": "refs/tags/v1"}]"#), "{tags:#?}");
    assert_eq!(hubmix(&["repos", "tag", "ls", "alice/r", "-q"]).ok(), "v1");

    let deleted = hubmix(&[
        "repos",
        "delete-files",
        "alice/r",
        "*.bin",
        "--commit-message",
        "No bin",
    ]);
    assert!(deleted.ok().contains("commit_url: "), "{deleted:#?}");
    let left = env.hubmix(&["download", "alice/r", "--dry-run", "-q"]);
    assert_eq!(left.ok(), ".gitattributes\nb.txt");
    let none = hubmix(&["repos", "delete-files", "alice/r", "*.nothing"]);
    assert!(none.error(1).contains("*.nothing"), "{none:#?}");

    // Confirmations: in json mode without --yes an error, nothing deleted; EOF aborts.
    let refused = hubmix(&["repos", "tag", "delete", "alice/r", "v1", "--json"]);
    assert!(refused.error(1).contains("Use --yes"), "{refused:#?}");
    let eof = env.hubmix_with(&["repos", "tag", "delete", "alice/r", "v1"], &TOKEN, Some(""));
    assert_eq!(
        (eof.code, eof.stderr.trim_end().ends_with("Error: Aborted!")),
        (1, true),
        "{eof:#?}"
    );
    let yes = env.hubmix_with(&["repos", "tag", "delete", "alice/r", "v1"], &TOKEN, Some("y\n"));
    assert!(yes.ok().contains("✓ Tag deleted"), "{yes:#?}");
    assert_eq!(
        hubmix(&["repos", "tag", "list", "alice/r"]).ok(),
        "No results found."
    );
    hubmix(&["repos", "branch", "delete", "alice/r", "dev"]).ok();

    let moved = hubmix(&["repos", "move", "alice/r", "team/r", "-q"]);
    assert_eq!(moved.ok(), "alice/r");
    env.hubmix(&["download", "team/r", "b.txt", "-q"]).ok();
    hubmix(&["repos", "delete", "team/r", "--yes"]).ok();
    let gone = env.hubmix(&["download", "team/r"]);
    assert_eq!(gone.error(1), "Error: Model 'team/r' not found.");
    hubmix(&["repos", "delete", "team/r", "-y", "--missing-ok"]).ok();
    let missing = hubmix(&["repos", "delete", "team/r", "-y"]);
    assert_eq!(missing.error(1), "Error: Model 'team/r' not found.");
}

#[test]
fn gated_setting_is_shared_with_hf() {
    let Some(env) = Env::with_hf() else { return };
    let hubmix = |args: &[&str]| env.hubmix_with(args, &TOKEN, None);
    hubmix(&["repos", "create", "alice/g", "-q"]).ok();
    let gated = |run: crate::support::Run| -> serde_json::Value {
        let info: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
        info["gated"].clone()
    };
    let hf_info = || gated(env.hf(&["models", "info", "alice/g", "--format", "json"]));
    let our_info = || gated(env.hubmix(&["models", "info", "alice/g", "--json"]));
    assert_eq!((hf_info(), our_info()), (false.into(), false.into()));

    // Set by hubmix, read by hf; set by hf, read by hubmix; lifted by hubmix.
    let set = hubmix(&[
        "repos", "settings", "alice/g", "--gated", "auto", "--format", "agent",
    ]);
    assert_eq!(set.ok(), "repo_id=alice/g");
    assert_eq!(hf_info(), "auto");
    env.hf(&[
        "repos",
        "settings",
        "alice/g",
        "--gated",
        "manual",
        "--token",
        ALICE_WRITE_TOKEN,
    ])
    .ok();
    assert_eq!(our_info(), "manual");
    // The whole information agrees, gate included.
    let args = ["models", "info", "alice/g", "--format", "json"];
    let parsed = |run: crate::support::Run| -> serde_json::Value { serde_json::from_str(run.ok()).unwrap() };
    assert_eq!(parsed(env.hubmix(&args)), parsed(env.hf(&args)));
    hubmix(&["repos", "settings", "alice/g", "--gated", "false"]).ok();
    assert_eq!((hf_info(), our_info()), (false.into(), false.into()));

    // Visibility and gate at once; a value hf does not have is a usage error.
    hubmix(&["repos", "settings", "alice/g", "--gated", "auto", "--private"]).ok();
    let info: serde_json::Value =
        serde_json::from_str(hubmix(&["models", "info", "alice/g", "--json"]).ok()).unwrap();
    assert_eq!((&info["private"], &info["gated"]), (&true.into(), &"auto".into()));
    assert_eq!(
        hubmix(&["repos", "settings", "alice/g", "--gated", "sometimes"]).code,
        2
    );
    let nothing = hubmix(&["repos", "settings", "alice/g"]);
    assert!(nothing.error(1).contains("No setting to change"), "{nothing:#?}");
}
