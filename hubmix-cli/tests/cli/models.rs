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

/// A card as people write them: metadata, then Markdown.
const CARD: &str = "---
license: mit
library_name: burn
tags:
- burn
- mlp
datasets:
- alice/data
---

# An MLP

Trained on alice/data.
";

#[test]
fn card_agrees_with_hf() {
    let Some(env) = Env::with_hf() else { return };
    let token = [("HF_TOKEN", ALICE_WRITE_TOKEN)];
    let src = env.dir("card");
    std::fs::write(src.join("README.md"), CARD).unwrap();
    let readme = src.join("README.md");
    env.hubmix_with(
        &["upload", "alice/c", readme.to_str().unwrap(), "README.md", "-q"],
        &token,
        None,
    )
    .ok();
    let json = |run: &crate::support::Run| -> Value {
        serde_json::from_str(run.ok()).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
    };

    // The card as it is stored, byte for byte, and the hint hf gives.
    let raw = env.hubmix(&["models", "card", "alice/c"]);
    assert_eq!(raw.code, 0, "{raw:#?}");
    assert_eq!(raw.stdout, format!("{CARD}\n"));
    assert_eq!(
        raw.stderr,
        "Hint: Use `hubmix models card alice/c --metadata` to extract only the card metadata.\n"
    );
    // Its metadata and its text, as hf gives them.
    for format in ["human", "json"] {
        let args = ["models", "card", "alice/c", "--metadata", "--format", format];
        let ours = json(&env.hubmix(&args));
        assert_eq!(ours, json(&env.hf(&args)), "{format}");
        assert_eq!(ours["license"], "mit");
        assert_eq!(ours["datasets"][0], "alice/data");
    }
    let args = ["models", "card", "alice/c", "--text"];
    let ours = env.hubmix(&args);
    assert_eq!(ours.ok(), env.hf(&args).ok());
    assert_eq!(ours.stdout, "\n# An MLP\n\nTrained on alice/data.\n\n");
    let both = ["models", "card", "alice/c", "--metadata", "--text"];
    assert_eq!(env.hubmix(&both).code, env.hf(&both).code);
    assert_eq!(
        env.hubmix(&both).error(1),
        "Error: --metadata and --text are mutually exclusive."
    );

    // JSON: metadata and text together; a revision.
    let whole = json(&env.hubmix(&["models", "card", "alice/c", "--json"]));
    assert_eq!(whole["metadata"]["library_name"], "burn");
    assert_eq!(whole["text"], "\n# An MLP\n\nTrained on alice/data.\n");
    let first = json(&env.hubmix(&["models", "info", "alice/c", "--json"]))["sha"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(&readme, "# No metadata\n").unwrap();
    env.hubmix_with(
        &["upload", "alice/c", readme.to_str().unwrap(), "README.md", "-q"],
        &token,
        None,
    )
    .ok();
    assert_eq!(
        env.hubmix(&["models", "card", "alice/c", "-q"]).ok(),
        "# No metadata"
    );
    assert_eq!(
        env.hubmix(&["models", "card", "alice/c", "--metadata", "--json"])
            .ok(),
        "{}"
    );
    let old = env.hubmix(&["models", "card", "alice/c", "--revision", &first, "-q"]);
    assert_eq!(old.stdout, format!("{CARD}\n"));

    // No card, no repository.
    env.hubmix_with(&["repos", "create", "alice/bare", "-q"], &token, None)
        .ok();
    let none = env.hubmix(&["models", "card", "alice/bare"]);
    assert_eq!(
        none.error(1),
        "Error: Model 'alice/bare' has no model card (README.md) at revision 'main'."
    );
    assert!(
        none.stderr.contains("hubmix upload alice/bare README.md"),
        "{none:#?}"
    );
    assert_eq!(env.hf(&["models", "card", "alice/bare"]).code, 1);
    let nope = env.hubmix(&["models", "card", "alice/nope"]);
    assert_eq!(nope.error(1), "Error: Model 'alice/nope' not found.");
}
