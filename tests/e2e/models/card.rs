//! The model card: `save_pretrained` writes a `README.md` only where there is none,
//! `push_to_hub` keeps a card edited on the Hub, merging its metadata (or lets the code win,
//! when asked), and the Hub reads the card's metadata to describe and find the model. A model
//! derived from a repository records it as `base_model`; a model type gives its card's body (a
//! template or a function) and extra metadata, which Python's `huggingface_hub` reads.

use std::fs;
use std::path::Path;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use hubmix::{
    BurnOptions, CommitOptions, Device, DownloadOptions, HubClient, HubError, HubModel, LoadOptions,
    ModelHubMixin, PushOptions, SaveOptions,
    card::{CardMetadata, EvalResult, ModelCard, ModelCardData, read_card_data},
    info::ListModelsOptions,
};
use hubmix_e2e::{TestHub, python_env, run_python, venv_or_skip};
use serde_json::{Value, json};

use super::archs::{Arch, Mlp, MlpConfig};
use super::support::{client, path_str, randomize};

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

/// The README of `repo` on the Hub.
fn readme(client: &HubClient, repo: &str) -> String {
    let path = client
        .hub_download(
            repo,
            "README.md",
            &DownloadOptions::default().force_download(true),
        )
        .expect("download README.md");
    fs::read_to_string(path).expect("README.md")
}

/// Replaces the README of `repo` with `text`, as someone editing the card on the Hub would.
fn edit_card(client: &HubClient, repo: &str, text: &str) {
    let local = tempfile::tempdir().expect("temp dir");
    let path = local.path().join("README.md");
    fs::write(&path, text).expect("write README");
    client
        .upload_file(repo, &path, "README.md", &CommitOptions::new("Edit the card"))
        .expect("upload the edited card");
}

#[test]
fn a_model_loaded_from_a_repository_and_pushed_elsewhere_records_it_as_base_model() {
    let hub = TestHub::start();
    let device = Device::flex();
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(&hub, cache.path());
    let push = PushOptions::default().client(client.clone());
    let load = LoadOptions::default().client(client.clone());

    Mlp::random(&device)
        .push_to_hub("alice/base", &push)
        .expect("push the base");
    let base = Mlp::from_pretrained_with("alice/base", &device, &load).expect("load the base");
    assert_eq!(base.base_model().as_deref(), Some("alice/base"));
    base.model
        .push_to_hub_with("alice/tuned", &push, &SaveOptions::default().derived_from(&base))
        .expect("push the derived model");
    let card = read_card_data(&readme(&client, "alice/tuned")).expect("card");
    assert_eq!(card.base_model.as_deref(), Some("alice/base"));
    let info = client.repo_info("alice/tuned").expect("repo info");
    assert!(
        info.tags.iter().any(|t| t == "base_model:alice/base"),
        "{:?}",
        info.tags
    );
    // The base model's own card records nothing.
    assert_eq!(
        read_card_data(&readme(&client, "alice/base"))
            .expect("card")
            .base_model,
        None
    );

    // A model from a folder has no base model to record.
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("mlp");
    base.model.save_pretrained(&folder).expect("save");
    let local = Mlp::from_pretrained_with(path_str(&folder), &device, &load).expect("load the folder");
    assert_eq!(local.base_model(), None);
    let copy = dir.path().join("copy");
    local
        .model
        .save_pretrained_with(&copy, &SaveOptions::default().derived_from(&local))
        .expect("save the copy");
    let card = read_card_data(&fs::read_to_string(copy.join("README.md")).expect("README")).expect("card");
    assert_eq!(card.base_model, None);

    // The function API, for any module.
    let config = LinearConfig::new(3, 2);
    let linear: Linear = randomize(config.init(&device));
    let options = BurnOptions::default().push(push.clone());
    hubmix::push_to_hub_burn(&linear, &config, "alice/linear", &options).expect("push the linear base");
    let loaded = hubmix::from_pretrained_burn(
        "alice/linear",
        &device,
        |config: &LinearConfig, device| config.init(device),
        &load,
    )
    .expect("load the linear base");
    hubmix::push_to_hub_burn(
        &loaded.model,
        &loaded.config,
        "alice/linear-tuned",
        &options.clone().derived_from(&loaded),
    )
    .expect("push the derived linear");
    let card = read_card_data(&readme(&client, "alice/linear-tuned")).expect("card");
    assert_eq!(card.base_model.as_deref(), Some("alice/linear"));
}

/// A model whose card body is a template file, with datasets and metrics on the type.
#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, init_fn = Templated::new, license = "mit", datasets("alice/rows"), metrics("accuracy"))]
#[hub(
    card_template = "e2e/models/card_template.md",
    paper_url = "https://arxiv.org/abs/1706.03762"
)]
pub struct Templated {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

impl Templated {
    fn new(config: &MlpConfig, device: &Device) -> Self {
        Templated {
            fc: LinearConfig::new(config.d_in, config.d_out).init(device),
            config: config.clone(),
        }
    }
}

/// A model whose card body comes from a function.
#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, init_fn = Written::new, license = "mit", card_fn = Written::card_body)]
pub struct Written {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

impl Written {
    fn new(config: &MlpConfig, device: &Device) -> Self {
        Written {
            fc: LinearConfig::new(config.d_in, config.d_out).init(device),
            config: config.clone(),
        }
    }

    fn card_body(&self, card: &ModelCard) -> String {
        format!(
            "# {}\n\nAn MLP from {} inputs to {} outputs, licensed {}.\n",
            card.title,
            self.config.d_in,
            self.config.d_out,
            card.data.license.as_deref().unwrap_or("?")
        )
    }
}

#[test]
fn a_model_type_gives_its_card_body_by_a_template_or_a_function_with_its_metadata() {
    let hub = TestHub::start();
    let device = Device::flex();
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(&hub, cache.path());
    let push = PushOptions::default().client(client.clone());
    let config = MlpConfig::new(4, 8, 2);

    let results =
        [EvalResult::new("tabular-classification", "alice/rows", "Rows", "accuracy", 0.75).split("test")];
    let save =
        SaveOptions::default().card(ModelCardData::default().model_index("templated-mlp", results.clone()));
    Templated::new(&config, &device)
        .push_to_hub_with("alice/templated", &push, &save)
        .expect("push");
    let text = readme(&client, "alice/templated");
    let body = text.split_once("\n---\n").expect("front matter").1;
    assert_eq!(
        body,
        "\n# alice/templated\n\nA tiny `Templated` with its own card: see the paper at \
         https://arxiv.org/abs/1706.03762.\n\n## Load it\n\n```rust\nuse hubmix::ModelHubMixin;\n\n\
         let device = burn::tensor::Device::default();\n\
         let model = Templated::from_pretrained(\"alice/templated\", &device)?;\n```\n"
    );
    let card = read_card_data(&text).expect("card");
    assert_eq!(card.datasets, ["alice/rows"]);
    assert_eq!(card.metrics, ["accuracy"]);
    let index = card.model_index.expect("model-index");
    assert_eq!(
        (index.name.as_str(), index.results.as_slice()),
        ("templated-mlp", &results[..])
    );

    // A local save fills the template with the folder's name.
    let dir = tempfile::tempdir().expect("temp dir");
    Templated::new(&config, &device)
        .save_pretrained(dir.path().join("mine"))
        .expect("save");
    let text = fs::read_to_string(dir.path().join("mine/README.md")).expect("README");
    assert!(
        text.contains("\n# mine\n") && text.contains("Templated::from_pretrained(\"mine\""),
        "{text}"
    );

    Written::new(&config, &device)
        .push_to_hub("alice/written", &push)
        .expect("push");
    let text = readme(&client, "alice/written");
    assert!(
        text.ends_with("---\n\n# alice/written\n\nAn MLP from 4 inputs to 2 outputs, licensed mit.\n"),
        "{text}"
    );
}

#[test]
fn on_request_a_push_lets_the_code_win_over_an_edited_card_and_replaces_its_text() {
    let hub = TestHub::start();
    let device = Device::flex();
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(&hub, cache.path());
    let push = PushOptions::default().client(client.clone());
    let repo = "alice/contested";
    let model = Written::new(&MlpConfig::new(4, 8, 2), &device);
    let save = SaveOptions::default().card(ModelCardData::default().datasets(["alice/rows"]));
    model.push_to_hub_with(repo, &push, &save).expect("first push");

    let edited = "---\nlicense: apache-2.0\ndatasets: [someone/else]\nwidget: [{text: hi}]\n---\n\n# Edited on the Hub\n";
    edit_card(&client, repo, edited);

    // By default the Hub's edit survives: its text, its license, its datasets (united).
    model.push_to_hub_with(repo, &push, &save).expect("default push");
    let text = readme(&client, repo);
    assert!(text.ends_with("---\n\n# Edited on the Hub\n"), "{text}");
    let card = read_card_data(&text).expect("card");
    assert_eq!(card.license.as_deref(), Some("apache-2.0"));
    assert_eq!(card.datasets, ["someone/else", "alice/rows"]);

    // The code wins: its license and datasets replace the Hub's; the text and the keys it does
    // not set stay.
    let code_wins = push.clone().card_metadata(CardMetadata::PreferCode);
    model
        .push_to_hub_with(repo, &code_wins, &save)
        .expect("push, code wins");
    let text = readme(&client, repo);
    assert!(text.ends_with("---\n\n# Edited on the Hub\n"), "{text}");
    assert!(text.contains("widget"), "{text}");
    let card = read_card_data(&text).expect("card");
    assert_eq!(card.license.as_deref(), Some("mit"));
    assert_eq!(card.datasets, ["alice/rows"]);

    // And the model's body replaces the Hub's text when asked.
    edit_card(&client, repo, edited);
    model
        .push_to_hub_with(repo, &push.clone().replace_card_body(true), &save)
        .expect("push, body replaced");
    let text = readme(&client, repo);
    assert!(
        text.ends_with("---\n\n# alice/contested\n\nAn MLP from 4 inputs to 2 outputs, licensed mit.\n"),
        "{text}"
    );
    assert_eq!(
        read_card_data(&text).expect("card").license.as_deref(),
        Some("apache-2.0"),
        "the metadata still prefers the Hub's"
    );
}

#[test]
fn huggingface_hub_reads_the_base_model_datasets_metrics_and_model_index_hubmix_writes() {
    let Some(venv) = venv_or_skip(Path::new(env!("CARGO_TARGET_TMPDIR")), "2.4.0") else {
        return;
    };
    let hub = TestHub::start();
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(&hub, cache.path());
    let data = ModelCardData::default()
        .base_model("alice/base")
        .datasets(["alice/rows", "alice/more"])
        .metrics(["accuracy", "f1"])
        .model_index(
            "mlp-rows",
            [
                EvalResult::new("tabular-classification", "alice/rows", "Rows", "accuracy", 0.75)
                    .split("test")
                    .metric_name("Test accuracy"),
                EvalResult::new("tabular-classification", "alice/rows", "Rows", "f1", "0.7 ± 0.1")
                    .split("test"),
                EvalResult::new("tabular-classification", "alice/more", "More", "accuracy", 1.0)
                    .config("small")
                    .source("https://example.com/eval", Some("Eval".into())),
            ],
        );
    Mlp::random(&Device::flex())
        .push_to_hub_with(
            "alice/for-python",
            &PushOptions::default().client(client.clone()),
            &SaveOptions::default().card(data),
        )
        .expect("push");

    let script = r#"
import json
from huggingface_hub import ModelCard
data = ModelCard.load("alice/for-python").data
print(json.dumps({
    "base_model": data.base_model,
    "datasets": data.datasets,
    "metrics": data.metrics,
    "library_name": data.library_name,
    "model_name": data.model_name,
    "eval_results": [
        [r.task_type, r.dataset_type, r.dataset_name, r.dataset_config, r.dataset_split,
         r.metric_type, r.metric_value, r.metric_name, r.source_url, r.source_name]
        for r in data.eval_results
    ],
}))
"#;
    let home = tempfile::tempdir().expect("temp dir");
    let out = run_python(&venv, script, &python_env(&hub, path_str(home.path()), &[]));
    let read: Value = serde_json::from_str(out.trim()).expect("JSON from Python");
    assert_eq!(
        read,
        json!({
            "base_model": "alice/base",
            "datasets": ["alice/rows", "alice/more"],
            "metrics": ["accuracy", "f1"],
            "library_name": "burn",
            "model_name": "mlp-rows",
            "eval_results": [
                ["tabular-classification", "alice/rows", "Rows", null, "test", "accuracy", 0.75, "Test accuracy", null, null],
                ["tabular-classification", "alice/rows", "Rows", null, "test", "f1", "0.7 ± 0.1", null, null, null],
                ["tabular-classification", "alice/more", "More", "small", null, "accuracy", 1.0, null,
                 "https://example.com/eval", "Eval"],
            ],
        })
    );
}
