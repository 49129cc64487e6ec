//! The version, completions, help, and the output modes.

use crate::support::Env;

#[test]
fn version_is_the_bare_version() {
    let env = Env::new();
    assert_eq!(env.hubmix(&["--version"]).ok(), env!("CARGO_PKG_VERSION"));
    assert_eq!(env.hubmix(&["-v"]).ok(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn completions_for_each_shell() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = env.hubmix(&["completions", shell]);
        assert!(script.ok().contains("hubmix"), "{shell}");
        assert!(script.stdout.contains("download"), "{shell}");
    }
    assert_eq!(env.hubmix(&["completions", "tcsh"]).code, 2);
}

#[test]
fn a_group_without_a_command_prints_its_help_and_exits_2() {
    let env = Env::new();
    for args in [&[][..], &["auth"][..]] {
        let run = env.hubmix(args);
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(run.stderr.contains("Usage: hubmix"), "{run:#?}");
        assert!(run.stdout.is_empty());
    }
    let help = env.hubmix(&["upload", "--help"]);
    assert!(help.ok().contains("Examples:"), "{help:#?}");
}

#[test]
fn formats_are_exclusive_and_checked() {
    let env = Env::new();
    let run = env.hubmix(&["auth", "whoami", "--json", "-q"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        "Error: '--json' and '-q' are mutually exclusive."
    );
    assert_eq!(env.hubmix(&["auth", "whoami", "--format", "xml"]).code, 2);
    assert_eq!(env.hubmix(&["download", "alice/x", "--bogus"]).code, 2);
}

#[test]
fn whoami_in_every_mode() {
    let env = Env::new();
    let token = [("HF_TOKEN", hubmix_e2e::ALICE_WRITE_TOKEN)];
    let url = env.hub.url().to_owned();
    let human = env.hubmix_with(&["auth", "whoami"], &token, None);
    assert_eq!(
        human.ok(),
        format!("✓ Logged in\n  user: alice\n  orgs: team\n  endpoint: {url}")
    );
    let json = env.hubmix_with(&["auth", "whoami", "--format", "json"], &token, None);
    assert_eq!(
        json.ok(),
        format!(r#"{{"user": "alice", "orgs": "team", "endpoint": "{url}"}}"#)
    );
    let agent = env.hubmix_with(&["auth", "whoami", "--format", "agent"], &token, None);
    assert_eq!(agent.ok(), format!("user=alice orgs=team endpoint={url}"));
    assert_eq!(
        env.hubmix_with(&["auth", "whoami", "-q"], &token, None).ok(),
        "alice"
    );
    // NO_COLOR unset, but stdout is not a terminal: still no colour.
    let plain = env.hubmix_with(&["auth", "whoami"], &[token[0], ("NO_COLOR", "")], None);
    assert!(!plain.ok().contains('\x1b'), "{plain:#?}");
}
