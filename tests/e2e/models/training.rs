//! The function API (`save_pretrained_burn`, `push_to_hub_burn`, `from_pretrained_burn`) on a
//! module without the derive, and training checkpoints: a run resumed from the Hub follows the
//! loss curve of the uninterrupted run to the bit; per-epoch checkpoints on a branch with a
//! `best` tag; plot, logs, card; every bad input a typed error with nothing pushed.

use std::fs;
use std::path::Path;

use burn::config::Config;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use hubmix::{
    BurnLoaded, BurnOptions, DownloadOptions, EpochMetrics, Error, Goal, HubCheckpoints, HubClient, HubError,
    LoadOptions, PushOptions, from_pretrained_burn, push_to_hub_burn, save_pretrained_burn,
};
use hubmix_e2e::TestHub;
use serde_json::json;

use super::support::{client, params, path_str, read_json, write_json};

#[derive(Config, Debug)]
pub struct NetConfig {
    pub d_in: usize,
    pub d_hidden: usize,
    #[config(default = 2)]
    pub blocks: usize,
}

/// A block of the net: a Linear and a LayerNorm.
#[derive(Module, Debug)]
pub struct Block {
    fc: Linear,
    norm: LayerNorm,
}

/// A small regression net, with no `#[derive(HubModel)]`: the function API is all it has.
#[derive(Module, Debug)]
pub struct Net {
    input: Linear,
    blocks: Vec<Block>,
    act: Relu,
    output: Linear,
}

impl NetConfig {
    pub fn init(&self, device: &Device) -> Net {
        Net {
            input: LinearConfig::new(self.d_in, self.d_hidden).init(device),
            blocks: (0..self.blocks)
                .map(|_| Block {
                    fc: LinearConfig::new(self.d_hidden, self.d_hidden).init(device),
                    norm: LayerNormConfig::new(self.d_hidden).init(device),
                })
                .collect(),
            act: Relu::new(),
            output: LinearConfig::new(self.d_hidden, 1).init(device),
        }
    }
}

impl Net {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = self.act.forward(self.input.forward(x));
        for block in &self.blocks {
            h = self.act.forward(block.norm.forward(block.fc.forward(h)));
        }
        self.output.forward(h)
    }
}

const D_IN: usize = 6;
const BATCH: usize = 16;

fn config() -> NetConfig {
    NetConfig::new(D_IN, 12)
}

fn adam() -> AdamConfig {
    AdamConfig::new().with_beta_2(0.99)
}

fn schedule() -> LinearLrSchedulerConfig {
    LinearLrSchedulerConfig::new(2e-2, 1e-3, 40)
}

/// The batch of `step`: a function of the step alone, so two runs see the same data.
fn batch(step: u64, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x: Vec<f32> = (0..BATCH * D_IN)
        .map(|i| ((step as f32) * 0.37 + i as f32 * 1.3).sin())
        .collect();
    let y: Vec<f32> = x
        .chunks(D_IN)
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(j, v)| v * (j as f32 - 2.5))
                .sum::<f32>()
                .tanh()
        })
        .collect();
    (
        Tensor::from_data(TensorData::new(x, [BATCH, D_IN]), device),
        Tensor::from_data(TensorData::new(y, [BATCH, 1]), device),
    )
}

/// A run in progress: model, optimizer, scheduler, step, losses.
struct Run {
    model: Net,
    optimizer: ModuleOptimizer,
    scheduler: ModuleLrScheduler,
    step: u64,
    losses: Vec<f32>,
}

impl Run {
    fn new(device: &Device) -> Run {
        Run {
            model: config().init(device),
            optimizer: adam().init(),
            scheduler: schedule().init().expect("a valid schedule"),
            step: 0,
            losses: Vec::new(),
        }
    }

    fn train(&mut self, steps: u64, device: &Device) {
        for _ in 0..steps {
            self.step += 1;
            let (x, y) = batch(self.step, device);
            let loss = (self.model.forward(x) - y).powf_scalar(2.0).mean();
            self.losses.push(loss.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.backward(), &self.model);
            let lr = self.scheduler.step();
            self.model = self.optimizer.step(lr, self.model.clone(), grads);
        }
    }

    fn options(&self) -> BurnOptions {
        BurnOptions::default()
            .include_optimizer(&self.optimizer, &adam())
            .scheduler(&self.scheduler, &schedule())
            .step(self.step)
            .hyperparameter("batch_size", BATCH)
    }
}

fn device() -> Device {
    Device::flex().autodiff()
}

/// A hub, a client of it (as alice) with its own cache, and the device.
struct Fixture {
    hub: TestHub,
    cache: tempfile::TempDir,
    client: HubClient,
    device: Device,
}

impl Fixture {
    fn new() -> Fixture {
        let hub = TestHub::start();
        let cache = tempfile::tempdir().unwrap();
        let client = client(&hub, cache.path());
        Fixture {
            hub,
            cache,
            client,
            device: device(),
        }
    }
}

/// Asserts that `files` (names or paths) include every one of `expected`.
fn assert_has<S: AsRef<str>>(files: &[S], expected: &[&str]) {
    let names: Vec<&str> = files.iter().map(|f| f.as_ref()).collect();
    for f in expected {
        assert!(names.contains(f), "{f} missing from {names:?}");
    }
}

/// The files every checkpoint with an optimizer and a scheduler has.
const CHECKPOINT_FILES: [&str; 6] = [
    "config.json",
    "model.safetensors",
    "optimizer.bpk",
    "scheduler.bpk",
    "training_state.json",
    "README.md",
];

fn load(source: &str, options: &LoadOptions) -> BurnLoaded<Net, NetConfig> {
    from_pretrained_burn(source, &device(), NetConfig::init, options)
        .unwrap_or_else(|e| panic!("from_pretrained_burn({source}): {e}"))
}

/// Resumes a run from a checkpoint: weights, optimizer and scheduler state, step.
fn resume(mut loaded: BurnLoaded<Net, NetConfig>) -> Run {
    let optimizer = loaded
        .restore_optimizer(adam().init(), &adam())
        .expect("restore the optimizer");
    let scheduler = loaded
        .restore_scheduler(schedule().init().expect("a valid schedule"), &schedule())
        .expect("restore the scheduler");
    let step = loaded.progress().and_then(|p| p.step).expect("the saved step");
    Run {
        model: loaded.model,
        optimizer,
        scheduler,
        step,
        losses: Vec::new(),
    }
}

#[test]
fn a_run_resumed_from_the_hub_follows_the_uninterrupted_loss_curve() {
    let Fixture {
        hub,
        cache: _cache,
        client,
        device,
    } = Fixture::new();
    let (n, m) = (12, 15);

    let mut run = Run::new(&device);
    run.train(n, &device);
    let pushed = push_to_hub_burn(
        &run.model,
        &config(),
        "alice/resume",
        &run.options().push(
            PushOptions::default()
                .client(client.clone())
                .branch("checkpoints"),
        ),
    )
    .expect("push the checkpoint");
    run.train(m, &device);

    // Another machine: a fresh cache, a fresh process state, the checkpoint's branch.
    let other_cache = tempfile::tempdir().unwrap();
    let other = super::support::client(&hub, other_cache.path());
    let loaded = load(
        "alice/resume@checkpoints",
        &LoadOptions::default().client(other.clone()),
    );
    assert_eq!(loaded.commit.as_deref(), Some(pushed.oid.as_str()));
    let progress = loaded.progress().expect("a training state").clone();
    assert_eq!(progress.step, Some(n));
    assert_eq!(progress.optimizer.as_ref().map(|o| o.kind.as_str()), Some("Adam"));
    assert_eq!(
        progress.scheduler.as_ref().map(|s| s.kind.as_str()),
        Some("LinearLrScheduler")
    );
    assert_eq!(progress.written_by.rust, hubmix::RUST_VERSION);
    assert!(
        progress.written_by.rust.starts_with("rustc "),
        "{:?}",
        progress.written_by
    );
    let mut resumed = resume(loaded);
    resumed.train(m, &device);

    assert_eq!(resumed.losses, run.losses[n as usize..], "the resumed loss curve");
    let (want, got) = (params(&run.model), params(&resumed.model));
    assert_eq!(want, got, "the weights after {} steps", n + m);

    // The control: without the optimizer and scheduler state, the same weights train
    // differently — so the comparison above could fail.
    let fresh = load("alice/resume@checkpoints", &LoadOptions::default().client(other));
    let mut restarted = Run {
        model: fresh.model,
        step: n,
        ..Run::new(&device)
    };
    restarted.train(m, &device);
    assert_ne!(restarted.losses, run.losses[n as usize..]);
}

#[test]
fn checkpoints_per_epoch_on_a_branch_with_the_best_tagged() {
    let Fixture {
        hub: _hub,
        cache: _cache,
        client,
        device,
    } = Fixture::new();
    let mut run = Run::new(&device);
    let mut checkpoints = HubCheckpoints::new(client.clone(), "alice/epochs", "checkpoints")
        .monitor("valid_loss", Goal::Minimize);
    let mut history = Vec::new();
    let mut commits = Vec::new();
    for (epoch, valid_loss) in [(1, 0.5), (2, 0.3), (3, 0.4)] {
        run.train(3, &device);
        history.push(EpochMetrics::new(epoch, run.step).metric("valid_loss", valid_loss));
        let pushed = checkpoints
            .push(
                &run.model,
                &config(),
                &run.options().epoch(epoch).history(history.clone()),
            )
            .expect("push a checkpoint");
        assert_eq!(pushed.best, epoch != 3, "epoch {epoch}");
        commits.push(pushed.commit.oid);
    }
    let refs = client.list_repo_refs("alice/epochs", false).unwrap();
    let target = |name: &str, list: &[hubmix::manage::GitRef]| {
        list.iter()
            .find(|r| r.name == name)
            .map(|r| r.target_commit.clone())
            .unwrap_or_else(|| panic!("no ref {name}: {refs:?}"))
    };
    assert_eq!(target("checkpoints", &refs.branches), commits[2]);
    assert_eq!(target("best", &refs.tags), commits[1]);
    let best = load(
        "alice/epochs@best",
        &LoadOptions::default().client(client.clone()),
    );
    assert_eq!(best.progress().unwrap().epoch, Some(2));
    let log = client.list_repo_commits("alice/epochs@checkpoints").unwrap();
    assert!(
        log.iter()
            .any(|c| c.title == "Checkpoint: epoch 2 (valid_loss 0.300000)"),
        "{log:?}"
    );

    // A resumed run elsewhere learns the best so far from the tagged checkpoint.
    let mut later = HubCheckpoints::new(client.clone(), "alice/epochs", "checkpoints")
        .monitor("valid_loss", Goal::Minimize);
    history.push(EpochMetrics::new(4, run.step).metric("valid_loss", 0.35));
    let options = run.options().epoch(4).history(history.clone());
    assert!(!later.push(&run.model, &config(), &options).unwrap().best);
    history.push(EpochMetrics::new(5, run.step).metric("valid_loss", 0.2));
    let fifth = later
        .push(
            &run.model,
            &config(),
            &run.options().epoch(5).history(history.clone()),
        )
        .unwrap();
    assert!(fifth.best);
    let refs = client.list_repo_refs("alice/epochs", false).unwrap();
    assert_eq!(target("best", &refs.tags), fifth.commit.oid);

    // A history without the monitored metric is a typed error, and nothing is pushed.
    let before = client
        .list_repo_commits("alice/epochs@checkpoints")
        .unwrap()
        .len();
    let bad = run
        .options()
        .history(vec![EpochMetrics::new(6, 0).metric("loss", 1.0)]);
    let err = later.push(&run.model, &config(), &bad).unwrap_err();
    assert!(
        matches!(err, Error::Hub(HubError::InvalidArgument { .. })) && err.to_string().contains("valid_loss"),
        "{err}"
    );
    assert_eq!(
        client
            .list_repo_commits("alice/epochs@checkpoints")
            .unwrap()
            .len(),
        before
    );
}

#[test]
fn plot_logs_and_a_card_with_hyperparameters_and_history() {
    let Fixture {
        hub: _hub,
        cache: _cache,
        client,
        device,
    } = Fixture::new();
    let mut run = Run::new(&device);
    run.train(4, &device);
    let logs = tempfile::tempdir().unwrap();
    fs::create_dir_all(logs.path().join("train")).unwrap();
    fs::write(logs.path().join("train/events.1"), "first run").unwrap();
    fs::write(logs.path().join("old.txt"), "stale").unwrap();
    let history = vec![
        EpochMetrics::new(1, 2).metric("train_loss", 0.75),
        EpochMetrics::new(2, 4)
            .metric("train_loss", 0.5)
            .metric("valid_loss", 0.625),
    ];
    let options = run
        .options()
        .learning_rate(2e-2)
        .epoch(2)
        .history(history)
        .plot_model(true)
        .log_dir(logs.path())
        .tags(["regression"])
        .push(PushOptions::default().client(client.clone()));
    push_to_hub_burn(&run.model, &config(), "alice/card", &options).expect("push");
    let files = client.list_repo_files("alice/card").unwrap();
    assert_has(&files, &CHECKPOINT_FILES);
    assert_has(&files, &["model.svg", "logs/train/events.1", "logs/old.txt"]);
    let download = |name: &str| {
        let path = client
            .hub_download("alice/card", name, &Default::default())
            .unwrap();
        fs::read_to_string(path).unwrap()
    };
    let svg = download("model.svg");
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..80.min(svg.len())]
    );
    for name in ["Net", "input", "blocks", "LayerNorm", "Linear"] {
        assert!(svg.contains(name), "{name} not in the picture");
    }
    let card = download("README.md");
    assert!(card.contains("![Model architecture](./model.svg)"), "{card}");
    // The architecture table: every module with its type and parameter shapes, the total.
    let total = run.model.num_params();
    assert_eq!(total, 6 * 12 + 12 + 2 * (12 * 12 + 12 + 12 + 12) + 12 + 1);
    assert_eq!(total, 457);
    for row in [
        "| (root) | `Net` |  | 457 |",
        "`input` | `Linear` | `weight [6, 12] f32`<br>`bias [12] f32` | 84 |",
        "`blocks` | `Vec` |  | 360 |",
        "`blocks.0..1` | `Block ×2` |  | 360 (2 × 180) |",
        "`blocks.0..1.norm` | `LayerNorm` | `gamma [12] f32`<br>`beta [12] f32` | 24 each |",
        "`act` |  |  | 0 |",
        &format!("| **total** | | | **{total}** |"),
    ] {
        assert!(card.contains(row), "{row} not in the card:\n{card}");
    }
    for row in [
        "| optimizer | Adam |",
        "| optimizer.beta_2 | 0.99 |",
        "| lr_scheduler | LinearLrScheduler |",
        "| learning_rate | 0.02 |",
        "| training_precision | f32 |",
        "| epoch | 2 |",
        "| step | 4 |",
        "| batch_size | 16 |",
        "| Epoch | Step | train_loss | valid_loss |",
        "| 2 | 4 | 0.500000 | 0.625000 |",
    ] {
        assert!(card.contains(row), "{row} not in the card:\n{card}");
    }
    assert!(
        card.contains("- regression") && card.contains("library_name: burn"),
        "{card}"
    );
    assert!(
        card.contains("hubmix::from_pretrained_burn(\"alice/card\""),
        "{card}"
    );

    // Someone edits the card; the next push with new logs replaces the remote logs in one
    // commit, refreshes the history table and keeps the edit.
    let edited = card.replace("## Usage", "Our notes.\n\n## Usage");
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("README.md"), &edited).unwrap();
    client
        .upload_file(
            "alice/card",
            dir.path().join("README.md"),
            "README.md",
            &Default::default(),
        )
        .unwrap();
    let commits_before = client.list_repo_commits("alice/card").unwrap().len();
    let logs2 = tempfile::tempdir().unwrap();
    fs::write(logs2.path().join("events.2"), "second run").unwrap();
    let history = vec![EpochMetrics::new(3, 6).metric("train_loss", 0.25)];
    let options = run
        .options()
        .epoch(3)
        .history(history)
        .log_dir(logs2.path())
        .push(PushOptions::default().client(client.clone()));
    push_to_hub_burn(&run.model, &config(), "alice/card", &options).expect("second push");
    assert_eq!(
        client.list_repo_commits("alice/card").unwrap().len(),
        commits_before + 1
    );
    let files = client.list_repo_files("alice/card").unwrap();
    assert!(files.contains(&"logs/events.2".to_owned()), "{files:?}");
    assert!(
        !files
            .iter()
            .any(|f| f == "logs/old.txt" || f == "logs/train/events.1"),
        "stale logs remain: {files:?}"
    );
    assert!(
        !files.contains(&"model.svg".to_owned()),
        "a stale picture remains: {files:?}"
    );
    let card = download("README.md");
    assert!(card.contains("Our notes."), "{card}");
    assert!(
        card.contains("| 3 | 6 | 0.250000 |") && !card.contains("0.625000"),
        "{card}"
    );
}

#[test]
fn a_local_save_restores_and_honours_the_load_options() {
    let Fixture {
        hub,
        cache,
        client,
        device,
    } = Fixture::new();
    let mut run = Run::new(&device);
    run.train(5, &device);
    let dir = tempfile::tempdir().unwrap();
    let written =
        save_pretrained_burn(&run.model, &config(), dir.path(), &run.options().plot_model(true)).unwrap();
    let names: Vec<_> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_has(&names, &CHECKPOINT_FILES);
    assert_has(&names, &["model.svg"]);
    let loaded = load(path_str(dir.path()), &LoadOptions::default());
    assert_eq!(params(&loaded.model), params(&run.model));
    assert_eq!(loaded.config.blocks, 2);
    let mut resumed = resume(loaded);
    let mut original = run;
    resumed.train(3, &device);
    original.train(3, &device);
    assert_eq!(resumed.losses, original.losses[5..]);
    // Saving again without the optimizer removes the stale state files.
    save_pretrained_burn(&original.model, &config(), dir.path(), &BurnOptions::default()).unwrap();
    for f in [
        "optimizer.bpk",
        "scheduler.bpk",
        "training_state.json",
        "model.svg",
    ] {
        assert!(!dir.path().join(f).exists(), "stale {f}");
    }
    assert!(
        load(path_str(dir.path()), &LoadOptions::default())
            .training
            .is_none()
    );

    // The Hub: private repo, token, cache_dir, force_download, local_files_only.
    push_to_hub_burn(
        &original.model,
        &config(),
        "alice/private-net",
        &original
            .options()
            .push(PushOptions::default().client(client.clone()).private(true)),
    )
    .unwrap();
    let anonymous = hubmix::HubClient::builder()
        .endpoint(hub.url())
        .no_token()
        .cache_dir(cache.path())
        .build()
        .unwrap();
    let err = from_pretrained_burn(
        "alice/private-net",
        &device,
        NetConfig::init,
        &LoadOptions::default().client(anonymous.clone()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Hub(HubError::RepoNotFound { .. })), "{err}");
    // The token is the client's: the same client with a reader's token.
    let reader = anonymous.with_token(Some(hubmix_e2e::ALICE_READ_TOKEN)).unwrap();
    let own_cache = tempfile::tempdir().unwrap();
    let from = |cache: &Path| DownloadOptions::default().cache_dir(cache);
    let with_token = LoadOptions::default()
        .client(reader.clone())
        .download(from(own_cache.path()));
    let mut loaded = load("alice/private-net", &with_token);
    assert_eq!(params(&loaded.model), params(&original.model));
    // The optimizer state comes from the same commit into the same cache, when restored.
    loaded.restore_optimizer(adam().init(), &adam()).unwrap();
    let blobs = own_cache.path().join("models--alice--private-net/blobs");
    assert_eq!(
        fs::read_dir(&blobs).unwrap().count(),
        4,
        "config, weights, training state, optimizer"
    );
    let offline = |cache: &Path| with_token.clone().download(from(cache).local_files_only(true));
    load("alice/private-net", &offline(own_cache.path()));
    // A cache that never saw the training state (filled file by file): offline, the model
    // loads and the report says the state was not read.
    let partial = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        reader
            .hub_download("alice/private-net", f, &from(partial.path()))
            .unwrap();
    }
    let partly = load("alice/private-net", &offline(partial.path()));
    assert!(partly.training.is_none());
    assert!(
        partly
            .report
            .warnings
            .iter()
            .any(|w| w.contains("training_state.json is not in the cache")),
        "{:?}",
        partly.report.warnings
    );
    let other_cache = tempfile::tempdir().unwrap();
    let err = from_pretrained_burn(
        "alice/private-net",
        &device,
        NetConfig::init,
        &offline(other_cache.path()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Hub(HubError::NotCached { .. })), "{err}");
    let commit = fs::read_to_string(own_cache.path().join("models--alice--private-net/refs/main")).unwrap();
    let weights = own_cache
        .path()
        .join("models--alice--private-net/snapshots")
        .join(commit.trim())
        .join("model.safetensors")
        .canonicalize()
        .unwrap();
    let mtime = fs::metadata(&weights).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    load(
        "alice/private-net",
        &with_token
            .clone()
            .download(from(own_cache.path()).force_download(true)),
    );
    assert_ne!(
        fs::metadata(&weights).unwrap().modified().unwrap(),
        mtime,
        "force_download fetched again"
    );
}

/// `dir` holds a checkpoint of `run` saved with its optimizer and scheduler.
fn saved(run: &Run, dir: &Path) {
    save_pretrained_burn(&run.model, &config(), dir, &run.options()).unwrap();
}

fn restore_error(
    dir: &Path,
    restore: impl FnOnce(&mut BurnLoaded<Net, NetConfig>) -> Result<(), Error>,
) -> String {
    let mut loaded = load(path_str(dir), &LoadOptions::default());
    let err = restore(&mut loaded).unwrap_err();
    assert!(matches!(err, Error::TrainingState { .. }), "{err}");
    err.to_string()
}

fn restore_adam(loaded: &mut BurnLoaded<Net, NetConfig>) -> Result<(), Error> {
    loaded.restore_optimizer(adam().init(), &adam()).map(drop)
}

#[test]
fn bad_training_states_are_typed_errors() {
    let device = device();
    let mut run = Run::new(&device);
    run.train(2, &device);
    let dir = tempfile::tempdir().unwrap();
    saved(&run, dir.path());

    // Another optimizer type.
    let err = restore_error(dir.path(), |l| {
        let sgd = SgdConfig::new();
        l.restore_optimizer(sgd.init(), &sgd).map(drop)
    });
    assert!(err.contains("Adam") && err.contains("Sgd"), "{err}");
    // Another optimizer config restores, with a warning.
    let mut loaded = load(path_str(dir.path()), &LoadOptions::default());
    let other = AdamConfig::new();
    loaded.restore_optimizer(other.init(), &other).unwrap();
    assert!(
        loaded
            .report
            .warnings
            .iter()
            .any(|w| w.contains("config differs")),
        "{:?}",
        loaded.report.warnings
    );
    // A missing optimizer file.
    fs::rename(dir.path().join("optimizer.bpk"), dir.path().join("moved.bpk")).unwrap();
    let err = restore_error(dir.path(), restore_adam);
    assert!(err.contains("optimizer.bpk is missing"), "{err}");
    // A corrupt one.
    fs::write(dir.path().join("optimizer.bpk"), b"not burnpack at all").unwrap();
    let err = restore_error(dir.path(), restore_adam);
    assert!(err.contains("not a valid optimizer state"), "{err}");
    // One for another model: a state with parameters this model lacks is an error.
    let optimizer_of = |blocks: usize| {
        let config = NetConfig::new(D_IN, 12).with_blocks(blocks);
        let mut other = Run {
            model: config.init(&device),
            ..Run::new(&device)
        };
        other.train(1, &device);
        let other_dir = tempfile::tempdir().unwrap();
        save_pretrained_burn(&other.model, &config, other_dir.path(), &other.options()).unwrap();
        fs::copy(
            other_dir.path().join("optimizer.bpk"),
            dir.path().join("optimizer.bpk"),
        )
        .unwrap();
    };
    optimizer_of(3);
    let err = restore_error(dir.path(), restore_adam);
    assert!(
        err.contains("blocks.2.fc.weight") && err.contains("does not have"),
        "{err}"
    );
    // One that lacks parameters of this model restores them afresh, with a warning.
    optimizer_of(1);
    let mut loaded = load(path_str(dir.path()), &LoadOptions::default());
    restore_adam(&mut loaded).unwrap();
    assert!(
        loaded
            .report
            .warnings
            .iter()
            .any(|w| w.contains("blocks.1.fc.weight") && w.contains("afresh")),
        "{:?}",
        loaded.report.warnings
    );
    // Saved without an optimizer.
    let bare = tempfile::tempdir().unwrap();
    save_pretrained_burn(
        &run.model,
        &config(),
        bare.path(),
        &BurnOptions::default().epoch(1),
    )
    .unwrap();
    let err = restore_error(bare.path(), restore_adam);
    assert!(err.contains("no Adam state"), "{err}");
    let none = tempfile::tempdir().unwrap();
    save_pretrained_burn(&run.model, &config(), none.path(), &BurnOptions::default()).unwrap();
    let err = restore_error(none.path(), restore_adam);
    assert!(err.contains("no training_state.json"), "{err}");

    // Versions: another Burn minor cannot restore; another rustc restores with a warning; a
    // newer format asks for an upgrade.
    let fresh = tempfile::tempdir().unwrap();
    saved(&run, fresh.path());
    let state = fresh.path().join("training_state.json");
    let original = read_json(&state);
    let mut edited = original.clone();
    edited["written_by"]["burn"] = json!("0.21.3");
    write_json(&state, &edited);
    let err = restore_error(fresh.path(), restore_adam);
    assert!(
        err.contains("0.21.3") && err.contains(hubmix::BURN_VERSION),
        "{err}"
    );
    let mut edited = original.clone();
    edited["written_by"]["rust"] = json!("rustc 1.90.0 (1159e78c4 2025-09-14)");
    write_json(&state, &edited);
    let mut loaded = load(path_str(fresh.path()), &LoadOptions::default());
    restore_adam(&mut loaded).unwrap();
    assert!(
        loaded.report.warnings.iter().any(|w| w.contains("rustc 1.90.0")),
        "{:?}",
        loaded.report.warnings
    );
    let mut edited = original;
    edited["written_by"]["format"] = json!(hubmix::FORMAT + 1);
    write_json(&state, &edited);
    let err = from_pretrained_burn(
        path_str(fresh.path()),
        &device,
        NetConfig::init,
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::TrainingState { .. }) && err.to_string().contains("upgrade"),
        "{err}"
    );
    fs::write(&state, "{").unwrap();
    let err = from_pretrained_burn(
        path_str(fresh.path()),
        &device,
        NetConfig::init,
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("malformed"), "{err}");
}

#[test]
fn a_missing_log_folder_or_a_foreign_optimizer_pushes_nothing() {
    let Fixture {
        hub: _hub,
        cache,
        client,
        device,
    } = Fixture::new();
    let run = Run::new(&device);
    // Pushing `options` to `repo` fails with an error that says `what`, and the repo was never
    // created.
    let fails_cleanly = |repo: &str, options: BurnOptions, what: &str| {
        let options = options.push(PushOptions::default().client(client.clone()));
        let err = push_to_hub_burn(&run.model, &config(), repo, &options).unwrap_err();
        assert!(err.to_string().contains(what), "{err}");
        let gone = client.list_repo_files(repo).unwrap_err();
        assert!(
            matches!(gone, HubError::RepoNotFound { .. }),
            "{repo} must not exist: {gone}"
        );
        err
    };
    let missing = cache.path().join("no-such-logs");
    let err = fails_cleanly("alice/nologs", run.options().log_dir(&missing), "no-such-logs");
    assert!(matches!(err, Error::Hub(HubError::UploadSource { .. })), "{err}");
    // An optimizer that holds state for another model's parameters.
    let mut other = Run::new(&device);
    other.train(1, &device);
    let foreign = BurnOptions::default().include_optimizer(&other.optimizer, &adam());
    let err = fails_cleanly("alice/wrong-optimizer", foreign, "not in this model");
    assert!(matches!(err, Error::TrainingState { .. }), "{err}");
}
