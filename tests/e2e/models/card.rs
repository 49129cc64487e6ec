//! The model card: `save_pretrained` writes a `README.md` only where there is none,
//! `push_to_hub` keeps a card edited on the Hub, merging its metadata, and the Hub reads the
//! card's metadata to describe and find the model.

use std::fs;

use hubmix::{
    CommitOptions, Device, DownloadOptions, HubError, ModelHubMixin, PushOptions, SaveOptions,
    card::{ModelCardData, read_card_data},
    info::ListModelsOptions,
};
use hubmix_e2e::TestHub;

use super::archs::{Arch, Mlp};
use super::support::client;

#[test]
fn save_pretrained_writes_a_card_only_where_there_is_none() {
    let device = Device::flex();
    let model = Mlp::random(&device);

    let fresh = tempfile::tempdir().expect("temp dir");
    let written = model.save_pretrained(fresh.path()).expect("save");
    let readme = fresh.path().join("README.md");
    assert!(written.contains(&readme), "{written:?}");
    let card = fs::read_to_string(&readme).expect("README.md");
    let data = read_card_data(&card).expect("front matter");
    assert_eq!(data.library_name.as_deref(), Some("burn"));
    assert_eq!(data.license.as_deref(), Some("mit"));
    for tag in ["mlp", "burn", "hubmix"] {
        assert!(data.tags.iter().any(|t| t == tag), "{tag} not in {:?}", data.tags);
    }
    assert!(card.contains("Mlp::from_pretrained"), "{card}");

    let edited = tempfile::tempdir().expect("temp dir");
    let mine = "# My MLP\n\nWritten by hand; hubmix must leave it alone.\n";
    fs::write(edited.path().join("README.md"), mine).expect("write README");
    for _ in 0..2 {
        let written = model
            .save_pretrained_with(
                edited.path(),
                &SaveOptions::default().card(ModelCardData::default().license("apache-2.0")),
            )
            .expect("save");
        assert!(
            written.iter().all(|p| !p.ends_with("README.md")),
            "the card was not written: {written:?}"
        );
        assert_eq!(
            fs::read_to_string(edited.path().join("README.md")).expect("README"),
            mine
        );
    }
}

#[test]
fn a_push_keeps_a_card_edited_on_the_hub_and_merges_its_metadata() {
    let hub = TestHub::start();
    let device = Device::flex();
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(&hub, cache.path());
    let repo = "alice/carded";
    let readme = || {
        let path = client
            .hub_download(repo, "README.md", &DownloadOptions::default())
            .expect("download README.md");
        fs::read_to_string(path).expect("README.md")
    };

    Mlp::random(&device)
        .push_to_hub(repo, &PushOptions::default().client(client.clone()))
        .expect("first push");
    let generated = readme();
    assert!(generated.contains("hubmix"), "{generated}");
    assert_eq!(
        read_card_data(&generated).expect("card").license.as_deref(),
        Some("mit")
    );

    // Someone edits the card on the Hub: new text, their own license and tags.
    let edited = "---\nlicense: apache-2.0\ntags:\n- vision\nwidget:\n- text: hello\n---\n\n# Hand-written\n\nThis text was edited on the Hub.\n";
    let local = tempfile::tempdir().expect("temp dir");
    let path = local.path().join("README.md");
    fs::write(&path, edited).expect("write README");
    client
        .upload_file(repo, &path, "README.md", &CommitOptions::new("Edit the card"))
        .expect("upload the edited card");

    Mlp::random(&device)
        .push_to_hub_with(
            repo,
            &PushOptions::default().client(client.clone()),
            &SaveOptions::default().card(ModelCardData::default().datasets(["alice/data"])),
        )
        .expect("second push");
    let merged = readme();
    assert!(
        merged.ends_with("\n# Hand-written\n\nThis text was edited on the Hub.\n"),
        "the edited text is kept: {merged}"
    );
    assert!(
        merged.contains("widget"),
        "keys hubmix does not know are kept: {merged}"
    );
    let data = read_card_data(&merged).expect("card");
    assert_eq!(
        data.license.as_deref(),
        Some("apache-2.0"),
        "the edited license wins"
    );
    for tag in ["vision", "mlp", "burn", "hubmix"] {
        assert!(data.tags.iter().any(|t| t == tag), "{tag} not in {:?}", data.tags);
    }
    assert_eq!(data.datasets, ["alice/data"]);
    assert_eq!(data.library_name.as_deref(), Some("burn"));
}

#[test]
fn the_hub_describes_and_finds_a_pushed_model_by_its_card_and_refuses_a_wrong_card() {
    let hub = TestHub::start();
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(&hub, cache.path());
    let repo = "alice/listed-mlp";
    Mlp::random(&Device::flex())
        .push_to_hub(repo, &PushOptions::default().client(client.clone()))
        .expect("push");
    client
        .create_repo("alice/other", &Default::default())
        .expect("a repo without a card");

    let info = client.repo_info(repo).expect("repo info");
    assert_eq!(info.library_name.as_deref(), Some("burn"));
    for tag in ["burn", "hubmix", "mlp", "license:mit"] {
        assert!(info.tags.iter().any(|t| t == tag), "{tag} not in {:?}", info.tags);
    }
    let card = info.card_data.expect("the card's metadata");
    assert_eq!(card["library_name"], "burn");
    assert_eq!(card["license"], "mit");

    let ids = |options: ListModelsOptions| -> Vec<String> {
        let models = client.list_models(&options).expect("list models");
        models.into_iter().map(|m| m.id).collect()
    };
    let burn = || ListModelsOptions::default().filter("burn");
    assert_eq!(ids(burn()), [repo]);
    assert_eq!(ids(burn().filter("hubmix").author("alice")), [repo]);
    assert_eq!(ids(burn().author("bob")), Vec::<String>::new());
    assert_eq!(ids(burn().filter("pytorch")), Vec::<String>::new());
    assert_eq!(ids(ListModelsOptions::default().search("LISTED")), [repo]);
    assert_eq!(
        ids(ListModelsOptions::default().author("alice")),
        ["alice/listed-mlp", "alice/other"]
    );
    assert_eq!(
        ids(ListModelsOptions::default().author("alice").limit(1)).len(),
        1
    );
    let listed = client.list_models(&burn()).expect("list models");
    assert!(listed[0].card_data.is_none(), "card metadata only when asked for");
    let listed = client.list_models(&burn().card_data(true)).expect("list models");
    assert_eq!(
        listed[0].card_data.as_ref().expect("card metadata")["license"],
        "mit"
    );

    // A card whose metadata the Hub would refuse is not committed; the model's card stays.
    let local = tempfile::tempdir().expect("temp dir");
    let path = local.path().join("README.md");
    fs::write(&path, "---\nlibrary_name: [burn]\n---\n# Mine\n").expect("write README");
    let err = client
        .upload_file(repo, &path, "README.md", &CommitOptions::new("A wrong card"))
        .expect_err("the Hub refuses the card");
    assert!(
        matches!(&err, HubError::InvalidModelCard { reason } if reason.contains("\"library_name\" must be a string")),
        "{err}"
    );
    let info = client.repo_info(repo).expect("repo info");
    assert_eq!(
        info.library_name.as_deref(),
        Some("burn"),
        "the card is unchanged"
    );
}
