//! The model card: `save_pretrained` writes a `README.md` only where there is none, and
//! `push_to_hub` keeps a card edited on the Hub, merging its metadata.

use std::fs;

use hubmix::{
    CommitOptions, Device, DownloadOptions, ModelCardData, ModelHubMixin, PushOptions, SaveOptions,
    read_card_data,
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
        .push_to_hub(
            repo,
            &PushOptions::default()
                .client(client.clone())
                .save(SaveOptions::default().card(ModelCardData::default().datasets(["alice/data"]))),
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
