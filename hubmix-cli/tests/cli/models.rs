//! `hubmix models info | list`: the same information as `hf models`.

use hubmix_e2e::ALICE_WRITE_TOKEN;
use serde_json::Value;

use crate::support::{Env, sample_folder};

#[test]
fn info_and_files_agree_with_hf() {
    let Some(env) = Env::with_hf() else { return };
    let src = env.dir("src");
    sample_folder(&src);
    env.hubmix_with(
        &["upload", "alice/m", src.to_str().unwrap(), "-q"],
        &[("HF_TOKEN", ALICE_WRITE_TOKEN)],
        None,
    )
    .ok();
    let json = |run: &crate::support::Run| -> Value { serde_json::from_str(run.ok()).unwrap() };
    let ours = json(&env.hubmix(&["models", "info", "alice/m", "--json"]));
    assert_eq!(
        ours,
        json(&env.hf(&["models", "info", "alice/m", "--format", "json"]))
    );
    assert_eq!(ours["id"], "alice/m");
    // Human mode: the same object, indented.
    assert_eq!(json(&env.hubmix(&["models", "info", "alice/m"])), ours);

    for args in [
        &["models", "ls", "alice/m"][..],
        &["models", "ls", "alice/m", "-R"][..],
    ] {
        let (ours, theirs) = (env.hubmix(args), env.hf(args));
        // hubmix marks LFS files at the end of their line (an addition).
        assert_eq!(ours.ok().replace("  (LFS)", ""), theirs.ok(), "{args:?}");
        let mut with_json = args.to_vec();
        with_json.push("--json");
        assert_eq!(
            json(&env.hubmix(&with_json)),
            json(&env.hf(&with_json)),
            "{args:?}"
        );
    }
    let lfs = env.hubmix(&["models", "ls", "alice/m", "-R"]);
    assert!(lfs.ok().contains("weights/model.safetensors  (LFS)"), "{lfs:#?}");
    assert_eq!(
        env.hubmix(&["models", "ls", "alice/m", "-q"]).ok(),
        ".gitattributes\nconfig.json\nempty.txt\nweights/"
    );

    let listed = env.hubmix(&["models", "list", "--author", "alice", "-q"]);
    assert_eq!(listed.ok(), "alice/m");
    let searched = env.hubmix(&["models", "list", "--search", "nothing-like-it", "--json"]);
    assert_eq!(searched.ok(), "[]");
    let missing = env.hubmix(&["models", "info", "alice/nope"]);
    assert_eq!(missing.error(1), "Error: Model 'alice/nope' not found.");
    assert_eq!(env.hubmix(&["models", "ls", "alice/m", "--search", "x"]).code, 2);
}
