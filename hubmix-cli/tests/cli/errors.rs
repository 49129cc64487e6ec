//! Every error exits non-zero with `Error: <one line>` and a hint saying what to do; never a
//! backtrace.

use hubmix_e2e::ALICE_WRITE_TOKEN;

use crate::support::Env;

#[test]
fn each_error_is_one_line_and_a_hint() {
    let env = Env::new();
    let token = [("HF_TOKEN", ALICE_WRITE_TOKEN)];
    let src = env.dir("src");
    std::fs::write(src.join("a.txt"), "a").unwrap();
    env.hubmix_with(&["upload", "alice/there", src.to_str().unwrap()], &token, None)
        .ok();

    let bad_id = env.hubmix(&["download", "bad//id"]);
    assert!(
        bad_id
            .error(1)
            .starts_with("Error: Invalid repository id 'bad//id'"),
        "{bad_id:#?}"
    );

    let missing_file = env.hubmix(&["download", "alice/there", "nope.txt"]);
    assert!(
        missing_file
            .error(1)
            .contains("File 'nope.txt' not found in model 'alice/there'")
    );

    let missing_repo = env.hubmix(&["download", "alice/nowhere", "--repo-type", "dataset"]);
    assert_eq!(missing_repo.error(1), "Error: Dataset 'alice/nowhere' not found.");
    assert!(
        missing_repo
            .stderr
            .contains("hubmix repos create alice/nowhere --repo-type dataset")
    );

    let no_token = env.hubmix(&["upload", "alice/there", src.to_str().unwrap()]);
    let line = no_token.error(1);
    assert!(line.contains("Not logged in"), "{no_token:#?}");
    assert!(no_token.stderr.contains("hubmix auth login"), "{no_token:#?}");

    let wrong_token = env.hubmix_with(
        &["upload", "alice/there", src.to_str().unwrap()],
        &[("HF_TOKEN", "hf_nobody")],
        None,
    );
    assert!(
        wrong_token.error(1).starts_with("Error: Unauthorized"),
        "{wrong_token:#?}"
    );

    let offline = env.hubmix_with(
        &["download", "alice/there", "a.txt"],
        &[("HF_HUB_OFFLINE", "1")],
        None,
    );
    assert!(
        offline
            .error(1)
            .starts_with("Error: Local entry not found: a.txt of model 'alice/there'"),
        "{offline:#?}"
    );
    assert!(offline.stderr.contains("unset HF_HUB_OFFLINE"), "{offline:#?}");
    let offline_snapshot = env.hubmix_with(&["download", "alice/there"], &[("HF_HUB_OFFLINE", "1")], None);
    offline_snapshot.error(1);

    let no_local = env.hubmix_with(&["upload", "alice/there", "./no/such/folder"], &token, None);
    assert_eq!(
        no_local.error(1),
        "Error: No such file or directory: './no/such/folder'."
    );

    let both = env.hubmix(&["download", "alice/there", "--local-dir", "x", "--cache-dir", "y"]);
    assert!(both.error(1).contains("--local-dir"), "{both:#?}");

    let ambiguous = env.hubmix(&["download", "datasets/alice/there", "--repo-type", "dataset"]);
    assert!(
        ambiguous.error(2).contains("Ambiguous repo type"),
        "{ambiguous:#?}"
    );

    let unreachable = env.hubmix_with(
        &["download", "alice/there"],
        &[("HF_ENDPOINT", "http://127.0.0.1:9")],
        None,
    );
    assert!(
        unreachable
            .error(1)
            .starts_with("Error: Cannot reach http://127.0.0.1:9"),
        "{unreachable:#?}"
    );

    // Once cached, offline works, and prints the same snapshot.
    let online = env.hubmix(&["download", "alice/there", "-q"]);
    let cached = env.hubmix_with(
        &["download", "alice/there", "-q"],
        &[("HF_HUB_OFFLINE", "1")],
        None,
    );
    assert_eq!(cached.ok(), online.ok());
}
