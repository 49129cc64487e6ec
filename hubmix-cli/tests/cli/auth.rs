//! Logins: stored where and as Python stores them, so each tool sees the other's.

use hubmix_e2e::{ALICE_WRITE_TOKEN, BOB_WRITE_TOKEN};

use crate::support::Env;

/// What `hf auth login --token` and `hubmix auth login --token` write for the test hub's tokens
/// (hubmix-server names every token `hubmix-server token`).
fn stored(token: &str) -> String {
    format!("[hubmix-server token]\nhf_token = {token}\n\n")
}

#[test]
fn a_login_by_either_tool_is_seen_by_the_other() {
    let Some(env) = Env::with_hf() else { return };
    let home = env.hf_home();
    let login = env.hubmix(&["auth", "login", "--token", ALICE_WRITE_TOKEN]);
    assert_eq!(login.ok(), "", "nothing on stdout");
    assert!(login.stderr.contains("Login successful."), "{login:#?}");
    assert_eq!(
        std::fs::read_to_string(home.join("token")).unwrap(),
        ALICE_WRITE_TOKEN
    );
    assert_eq!(
        std::fs::read_to_string(home.join("stored_tokens")).unwrap(),
        stored(ALICE_WRITE_TOKEN)
    );
    assert_eq!(env.hf(&["auth", "whoami", "--format", "quiet"]).ok(), "alice");
    assert_eq!(env.hf(&["auth", "token"]).ok(), ALICE_WRITE_TOKEN);

    // The reverse: hf logs in as bob, hubmix sees bob.
    env.hf(&["auth", "login", "--token", BOB_WRITE_TOKEN]).ok();
    assert_eq!(env.hubmix(&["auth", "whoami", "-q"]).ok(), "bob");
    assert_eq!(env.hubmix(&["auth", "token"]).ok(), BOB_WRITE_TOKEN);
    assert_eq!(
        std::fs::read_to_string(home.join("stored_tokens")).unwrap(),
        stored(BOB_WRITE_TOKEN)
    );

    // A token piped on stdin (a hubmix addition), then hf logs out of everything.
    let piped = env.hubmix_with(&["auth", "login"], &[], Some(&format!("{ALICE_WRITE_TOKEN}\n")));
    assert!(
        piped.ok().is_empty() && piped.stderr.contains("Login successful."),
        "{piped:#?}"
    );
    assert_eq!(env.hf(&["auth", "whoami", "-q"]).ok(), "alice");
    env.hf(&["auth", "logout"]).ok();
    assert!(!home.join("token").exists() && !home.join("stored_tokens").exists());
    let whoami = env.hubmix(&["auth", "whoami"]);
    assert!(whoami.error(1).contains("Not logged in"), "{whoami:#?}");
    assert_eq!(env.hubmix(&["auth", "token"]).code, 1);
}

#[test]
fn list_and_switch_interplay() {
    let Some(env) = Env::with_hf() else { return };
    let home = env.hf_home();
    std::fs::create_dir_all(&home).unwrap();
    // Two names (the test hub gives every token the same one), written as Python writes them.
    std::fs::write(
        home.join("stored_tokens"),
        format!("[alice-tok]\nhf_token = {ALICE_WRITE_TOKEN}\n\n[bob-tok]\nhf_token = {BOB_WRITE_TOKEN}\n\n"),
    )
    .unwrap();
    // No active token yet: both tools list the same table and the same note.
    let (ours, theirs) = (env.hubmix(&["auth", "list"]), env.hf(&["auth", "list"]));
    assert_eq!(ours.ok(), theirs.ok());
    assert!(ours.stdout.contains("  alice-tok hf_****rite"), "{ours:#?}");
    assert!(ours.stderr.contains("No active token is set"), "{ours:#?}");

    env.hubmix(&["auth", "switch", "--token-name", "bob-tok"]).ok();
    assert_eq!(env.hf(&["auth", "whoami", "-q"]).ok(), "bob");
    let (ours, theirs) = (env.hubmix(&["auth", "ls"]), env.hf(&["auth", "ls"]));
    assert_eq!(ours.ok(), theirs.ok());
    assert!(ours.stdout.contains("* bob-tok"), "{ours:#?}");

    env.hf(&["auth", "switch", "--token-name", "alice-tok"]).ok();
    assert_eq!(env.hubmix(&["auth", "whoami", "-q"]).ok(), "alice");
    // The interactive choice, answered on stdin: 2 = bob-tok.
    let chosen = env.hubmix_with(&["auth", "switch"], &[], Some("2\n"));
    assert!(chosen.ok().is_empty(), "{chosen:#?}");
    assert_eq!(env.hf(&["auth", "whoami", "-q"]).ok(), "bob");
    assert_eq!(
        env.hubmix_with(&["auth", "switch"], &[], Some("")).code,
        1,
        "EOF aborts"
    );
    let unknown = env.hubmix(&["auth", "switch", "--token-name", "nope"]);
    assert!(unknown.error(1).contains("nope"), "{unknown:#?}");

    // Logging out of the active token removes it for hf as well; the other stays listed.
    let logout = env.hubmix(&["auth", "logout", "--token-name", "bob-tok"]);
    assert!(
        logout.stderr.contains("Active token 'bob-tok' has been deleted."),
        "{logout:#?}"
    );
    let listed = env.hf(&["auth", "list"]);
    assert!(
        listed.ok().contains("alice-tok") && !listed.stdout.contains("bob-tok"),
        "{listed:#?}"
    );
    assert_eq!(env.hf(&["auth", "whoami"]).code, 1);
    assert_eq!(
        std::fs::read_to_string(home.join("stored_tokens")).unwrap(),
        format!("[alice-tok]\nhf_token = {ALICE_WRITE_TOKEN}\n\n")
    );
}

#[test]
fn a_bad_token_is_refused_and_nothing_is_stored() {
    let env = Env::new();
    let run = env.hubmix(&["auth", "login", "--token", "hf_wrong"]);
    assert_eq!(run.error(1), "Error: Invalid user token.");
    assert!(!env.hf_home().join("token").exists());
    let org = env.hubmix(&["auth", "login", "--token", "api_org_x"]);
    assert!(org.error(1).contains("organization token"), "{org:#?}");
}
