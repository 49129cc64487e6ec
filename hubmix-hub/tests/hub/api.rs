//! Repository management: create, move, delete, settings, branches, tags, whoami, listings and
//! existence checks.

use hubmix_hub::{
    CommitOperation, CommitOptions, HubError, RepoType,
    manage::{CreateRepoOptions, RepoSettings},
};

use crate::support::{ALICE, ALICE_READ, BOB, Hub};

fn commit(client: &hubmix_hub::HubClient, repo: &str, path: &str, content: &str) -> String {
    let op = CommitOperation::add_bytes(path, content.as_bytes());
    client
        .create_commit(repo, &[op], &CommitOptions::new(format!("write {path}")))
        .unwrap()
        .oid
}

#[test]
fn create_repo_returns_the_canonical_id_and_url() {
    let hub = Hub::start();
    let alice = hub.client(Some(ALICE));
    let made = alice
        .create_repo("alice/m", &CreateRepoOptions::default())
        .unwrap();
    assert_eq!(made.id.to_string(), "alice/m");
    assert_eq!(made.url, format!("{}/alice/m", hub.url()));

    // No namespace: the token's user; a dataset's URL has its prefix.
    let id = hubmix_hub::RepoId::with_type("ds", RepoType::Dataset).unwrap();
    let made = alice
        .create_repo(id, &CreateRepoOptions::default().private(true))
        .unwrap();
    assert_eq!(
        (made.id.to_string().as_str(), made.id.repo_type),
        ("alice/ds", RepoType::Dataset)
    );
    assert_eq!(made.url, format!("{}/datasets/alice/ds", hub.url()));
    let info = alice.repo_info(&made.id).unwrap();
    assert!(info.private);
    assert!(
        !hub.client(None).repo_exists(made.id.clone()).unwrap(),
        "private: hidden from anonymous"
    );

    // Existing: an error, or the same repository with exist_ok.
    let err = alice
        .create_repo("alice/m", &CreateRepoOptions::default())
        .unwrap_err();
    assert!(matches!(err, HubError::Conflict { .. }), "{err}");
    let again = alice
        .create_repo("alice/m", &CreateRepoOptions::default().exist_ok(true))
        .unwrap();
    assert_eq!(again.url, format!("{}/alice/m", hub.url()));
    // Bob cannot create in alice's namespace, but with exist_ok a readable repository is fine.
    let bob = hub.client(Some(BOB));
    let err = bob
        .create_repo("alice/other", &CreateRepoOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, HubError::Forbidden { .. } | HubError::Unauthorized { .. }),
        "{err}"
    );
    let seen = bob
        .create_repo("alice/m", &CreateRepoOptions::default().exist_ok(true))
        .unwrap();
    assert_eq!(seen.id.to_string(), "alice/m");

    // Without a token: refused before sending.
    let err = hub
        .client(None)
        .create_repo("alice/x", &CreateRepoOptions::default())
        .unwrap_err();
    assert!(matches!(err, HubError::NotLoggedIn { .. }), "{err}");
    // A revision makes no sense here.
    let err = alice
        .create_repo("alice/y@v1", &CreateRepoOptions::default())
        .unwrap_err();
    assert!(matches!(err, HubError::InvalidRevision { .. }), "{err}");
}

#[test]
fn a_moved_repository_keeps_its_history_under_its_new_id() {
    let hub = Hub::start();
    let alice = hub.client(Some(ALICE));
    alice
        .create_repo("alice/draft", &CreateRepoOptions::default())
        .unwrap();
    let head = commit(&alice, "alice/draft", "a.txt", "a");

    let moved = alice.move_repo("alice/draft", "team/final").unwrap();
    assert_eq!(moved.id.to_string(), "team/final");
    assert_eq!(moved.url, format!("{}/team/final", hub.url()));
    assert!(!alice.repo_exists("alice/draft").unwrap());
    assert_eq!(
        alice.repo_info("team/final").unwrap().sha.as_deref(),
        Some(head.as_str())
    );
    let file = alice
        .hub_download("team/final", "a.txt", &hubmix_hub::DownloadOptions::default())
        .unwrap();
    assert_eq!(std::fs::read_to_string(file).unwrap(), "a");

    // Refused, and the repository stays where it is: a taken id, a namespace the caller may not
    // write to, another user's repository, an id without a namespace.
    alice
        .create_repo("alice/taken", &CreateRepoOptions::default())
        .unwrap();
    let err = alice.move_repo("team/final", "alice/taken").unwrap_err();
    assert!(matches!(err, HubError::Conflict { .. }), "{err}");
    let err = alice.move_repo("team/final", "bob/final").unwrap_err();
    assert!(matches!(err, HubError::Forbidden { .. }), "{err}");
    let err = hub
        .client(Some(BOB))
        .move_repo("team/final", "bob/final")
        .unwrap_err();
    assert!(matches!(err, HubError::Forbidden { .. }), "{err}");
    let err = alice.move_repo("team/final", "final").unwrap_err();
    assert!(matches!(err, HubError::InvalidRepoId { .. }), "{err}");
    let err = alice.move_repo("team/final@main", "alice/final").unwrap_err();
    assert!(matches!(err, HubError::InvalidRevision { .. }), "{err}");
    assert_eq!(
        alice.repo_info("team/final").unwrap().sha.as_deref(),
        Some(head.as_str())
    );

    // A dataset moves as a dataset.
    let ds = hubmix_hub::RepoId::with_type("alice/rows", RepoType::Dataset).unwrap();
    alice.create_repo(&ds, &CreateRepoOptions::default()).unwrap();
    let moved = alice.move_repo(&ds, "alice/rows-v2").unwrap();
    assert_eq!(moved.url, format!("{}/datasets/alice/rows-v2", hub.url()));
    assert!(alice.repo_exists(moved.id).unwrap());
    assert!(!alice.repo_exists(&ds).unwrap());
}

#[test]
fn settings_visibility_and_deletion() {
    let hub = Hub::start();
    let alice = hub.client(Some(ALICE));
    let anonymous = hub.client(None);
    alice
        .create_repo("alice/vis", &CreateRepoOptions::default())
        .unwrap();
    assert!(anonymous.repo_exists("alice/vis").unwrap());
    alice
        .update_repo_settings("alice/vis", &RepoSettings::default().private(true))
        .unwrap();
    assert!(!anonymous.repo_exists("alice/vis").unwrap());
    assert!(alice.repo_exists("alice/vis").unwrap());
    alice
        .update_repo_settings("alice/vis", &RepoSettings::default().private(false))
        .unwrap();
    assert!(anonymous.repo_exists("alice/vis").unwrap());
    let err = hub
        .client(Some(BOB))
        .update_repo_settings("alice/vis", &RepoSettings::default().private(true))
        .unwrap_err();
    assert!(
        matches!(err, HubError::Forbidden { .. } | HubError::Unauthorized { .. }),
        "{err}"
    );

    alice.delete_repo("alice/vis", false).unwrap();
    assert!(!alice.repo_exists("alice/vis").unwrap());
    alice.delete_repo("alice/vis", true).unwrap();
    let err = alice.delete_repo("alice/vis", false).unwrap_err();
    assert!(matches!(err, HubError::RepoNotFound { .. }), "{err}");
}

#[test]
fn branches_and_tags() {
    let hub = Hub::start();
    let alice = hub.client(Some(ALICE));
    alice
        .create_repo("alice/refs", &CreateRepoOptions::default())
        .unwrap();
    let c1 = commit(&alice, "alice/refs", "a.txt", "1");
    let c2 = commit(&alice, "alice/refs", "a.txt", "2");

    alice
        .create_tag("alice/refs@".to_owned() + &c1, "v1", Some("first"), false)
        .unwrap();
    let err = alice.create_tag("alice/refs", "v1", None, false).unwrap_err();
    assert!(matches!(err, HubError::Conflict { .. }), "{err}");
    alice.create_tag("alice/refs", "v1", None, true).unwrap();
    alice.create_tag("alice/refs", "v2", None, false).unwrap();

    alice.create_branch("alice/refs@v1", "from-tag", false).unwrap();
    alice
        .create_branch(format!("alice/refs@{c2}"), "feature/x", false)
        .unwrap();
    alice.create_branch("alice/refs", "from-main", false).unwrap();
    let err = alice.create_branch("alice/refs", "from-main", false).unwrap_err();
    assert!(matches!(err, HubError::Conflict { .. }), "{err}");
    alice.create_branch("alice/refs", "from-main", true).unwrap();
    let err = alice.create_branch("alice/refs@nope", "x", false).unwrap_err();
    assert!(matches!(err, HubError::RevisionNotFound { .. }), "{err}");

    let refs = alice.list_repo_refs("alice/refs", false).unwrap();
    let target = |list: &[hubmix_hub::manage::GitRef], name: &str| {
        list.iter()
            .find(|r| r.name == name)
            .map(|r| r.target_commit.clone())
            .unwrap_or_else(|| panic!("{name} in {list:?}"))
    };
    assert_eq!(target(&refs.tags, "v1"), c1);
    assert_eq!(target(&refs.tags, "v2"), c2);
    assert_eq!(target(&refs.branches, "from-tag"), c1);
    assert_eq!(target(&refs.branches, "feature/x"), c2);
    assert_eq!(target(&refs.branches, "from-main"), c2);
    assert!(
        refs.branches
            .iter()
            .any(|b| b.full_name == "refs/heads/feature/x")
    );
    assert_eq!(refs.pull_requests, None, "pull requests only when asked for");

    alice.delete_branch("alice/refs", "feature/x").unwrap();
    alice.delete_tag("alice/refs", "v2").unwrap();
    let err = alice.delete_branch("alice/refs", "feature/x").unwrap_err();
    assert!(matches!(err, HubError::RevisionNotFound { .. }), "{err}");
    let err = alice.delete_branch("alice/refs", "main").unwrap_err();
    assert!(matches!(err, HubError::Forbidden { .. }), "{err}");
    let refs = alice.list_repo_refs("alice/refs", true).unwrap();
    assert!(refs.branches.iter().all(|b| b.name != "feature/x"));
    assert_eq!(refs.tags.len(), 1);
}

#[test]
fn whoami_names_the_user_and_the_token_role() {
    let hub = Hub::start();
    let me = hub.client(Some(ALICE)).whoami().unwrap();
    assert_eq!((me.name.as_str(), me.kind.as_str()), ("alice", "user"));
    let orgs: Vec<&str> = me.orgs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(orgs, ["team"]);
    assert_eq!(me.token_role(), Some("write"));
    let me = hub.client(Some(ALICE_READ)).whoami().unwrap();
    assert_eq!(me.token_role(), Some("read"));
    let err = hub.client(None).whoami().unwrap_err();
    assert!(matches!(err, HubError::NotLoggedIn { .. }), "{err}");
    let err = hub.client(Some("hf_not_a_token")).whoami().unwrap_err();
    assert!(matches!(err, HubError::Unauthorized { .. }), "{err}");
    assert!(
        !err.to_string().contains("hf_not_a_token"),
        "the token is never shown: {err}"
    );
}

#[test]
fn listings_and_existence() {
    let hub = Hub::start();
    let alice = hub.client(Some(ALICE));
    alice
        .create_repo("alice/ls", &CreateRepoOptions::default())
        .unwrap();
    // More commits than a page (50), and files in folders.
    let mut oids = Vec::new();
    for i in 0..55 {
        oids.push(commit(
            &alice,
            "alice/ls",
            &format!("dir/f{i:02}.txt"),
            &i.to_string(),
        ));
    }
    alice.create_branch("alice/ls", "dev", false).unwrap();
    commit(&alice, "alice/ls@dev", "dev-only.txt", "dev");

    let history = alice.list_repo_commits("alice/ls").unwrap();
    // Creating the repository made the first commit.
    assert_eq!(history.len(), 56);
    let newest_first: Vec<String> = oids.iter().rev().cloned().collect();
    assert_eq!(
        history[..55].iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        newest_first
    );
    assert_eq!(history[0].title, "write dir/f54.txt");
    assert!(history[0].date.ends_with('Z'), "{}", history[0].date);
    assert_eq!(alice.list_repo_commits("alice/ls@dev").unwrap().len(), 57);

    let files = alice.list_repo_files("alice/ls").unwrap();
    assert_eq!(files.iter().filter(|f| f.starts_with("dir/")).count(), 55);
    assert!(!files.contains(&"dir".to_owned()), "folders are not files");
    assert!(!files.contains(&"dev-only.txt".to_owned()));
    assert!(
        alice
            .list_repo_files("alice/ls@dev")
            .unwrap()
            .contains(&"dev-only.txt".to_owned())
    );

    let anon = hub.client(None);
    assert!(anon.file_exists("alice/ls", "dir/f00.txt").unwrap());
    assert!(!anon.file_exists("alice/ls", "dev-only.txt").unwrap());
    assert!(anon.file_exists("alice/ls@dev", "dev-only.txt").unwrap());
    assert!(
        anon.file_exists(format!("alice/ls@{}", oids[0]), "dir/f00.txt")
            .unwrap()
    );
    assert!(
        !anon
            .file_exists(format!("alice/ls@{}", oids[0]), "dir/f01.txt")
            .unwrap()
    );
    assert!(
        !anon
            .file_exists("alice/ls@no-such-branch", "dir/f00.txt")
            .unwrap()
    );
    assert!(!anon.file_exists("alice/missing", "x").unwrap());
    assert!(anon.repo_exists("alice/ls").unwrap());
    assert!(!anon.repo_exists("alice/missing").unwrap());
    let err = anon.list_repo_files("alice/missing").unwrap_err();
    assert!(matches!(err, HubError::RepoNotFound { .. }), "{err}");
    let err = anon.list_repo_commits("alice/ls@nope").unwrap_err();
    assert!(matches!(err, HubError::RevisionNotFound { .. }), "{err}");
}
