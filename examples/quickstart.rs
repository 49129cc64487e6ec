//! The README's main job: train a small model, push it to a hub, tag it, load it back by
//! `repo@tag` into a fresh instance, and check that the outputs are identical.
//!
//! ```sh
//! cargo run --example quickstart            # on an embedded hub
//! HF_ENDPOINT=http://127.0.0.1:8080 HF_TOKEN=... cargo run --example quickstart
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use hubmix::{HubModel, LoadOptions, ModelHubMixin, PushOptions};

/// The model's hyperparameters: saved as `config.json`.
#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
    pub d_hidden: usize,
    pub d_out: usize,
}

/// A two-layer perceptron. `#[derive(HubModel)]` gives it `save_pretrained`,
/// `from_pretrained` and `push_to_hub`.
#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, tags("mlp", "regression", "quickstart"), license = "mit")]
pub struct Mlp {
    fc1: Linear,
    act: Relu,
    fc2: Linear,
    #[module(skip)]
    config: MlpConfig,
}

impl MlpConfig {
    /// Builds the model (the convention `#[derive(HubModel)]` relies on).
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            fc1: LinearConfig::new(self.d_in, self.d_hidden).init(device),
            act: Relu::new(),
            fc2: LinearConfig::new(self.d_hidden, self.d_out).init(device),
            config: self.clone(),
        }
    }
}

impl Mlp {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(self.act.forward(self.fc1.forward(x)))
    }
}

/// A batch of the synthetic task: y = x·w for a fixed w, plus a little noise.
fn batch(device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x = Tensor::<2>::random([64, 4], Distribution::Normal(0.0, 1.0), device);
    let w = Tensor::<2>::from_floats([[1.0], [2.0], [-1.0], [0.5]], device);
    let noise = Tensor::<2>::random([64, 1], Distribution::Normal(0.0, 0.01), device);
    let y = x.clone().matmul(w) + noise;
    (x, y)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hub = hubmix_examples::hub()?;
    let device = Device::flex().autodiff();

    // 1. Train a few steps on synthetic data.
    let mut model = MlpConfig::new(4, 16, 1).init(&device);
    let mut optimizer = AdamConfig::new().init();
    for step in 1..=60 {
        let (x, y) = batch(&device);
        let loss = (model.forward(x) - y).powf_scalar(2.0).mean();
        if step % 20 == 0 {
            println!("step {step:>3}: loss {:.4}", loss.clone().into_scalar::<f32>());
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-2, model, grads);
    }

    // 2. Push it (the repository is created if missing), and tag the commit.
    let repo = format!("{}/quickstart-mlp", hub.namespace);
    let pushed = model.push_to_hub(
        &repo,
        &PushOptions::default()
            .client(hub.client.clone())
            .commit_message("Train an MLP for 60 steps"),
    )?;
    println!("Pushed {repo} as commit {} ({})", pushed.oid, pushed.url);
    hub.client.create_tag(
        format!("{repo}@{}", pushed.oid),
        "v1",
        Some("quickstart model"),
        false,
    )?;
    println!(
        "Tagged it v1. Files: {:?}",
        hub.client.list_repo_files(format!("{repo}@v1"))?
    );

    // 3. Load it back by repo@tag into a fresh instance, and compare outputs.
    let loaded = Mlp::from_pretrained_with(
        &format!("{repo}@v1"),
        &device,
        &LoadOptions::default().client(hub.client.clone()),
    )?;
    println!(
        "Loaded {repo}@v1 (commit {})",
        loaded.commit.as_deref().unwrap_or("?")
    );
    let (x, _) = batch(&device);
    let before = model.forward(x.clone()).into_data();
    let after = loaded.model.forward(x).into_data();
    before.assert_eq(&after, true);
    let diff = before
        .iter::<f32>()
        .zip(after.iter::<f32>())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("Outputs of the pushed and the loaded model are identical (largest difference {diff}).");

    // 4. Locally: save_pretrained / from_pretrained with a folder.
    let dir = tempfile::tempdir()?;
    let files = model.save_pretrained(dir.path())?;
    println!(
        "save_pretrained wrote {:?}",
        files
            .iter()
            .map(|f| f.file_name().unwrap_or_default())
            .collect::<Vec<_>>()
    );
    let local = Mlp::from_pretrained(dir.path().to_str().ok_or("non-UTF-8 temp path")?, &device)?;
    let (x, _) = batch(&device);
    model
        .forward(x.clone())
        .into_data()
        .assert_eq(&local.forward(x).into_data(), true);
    println!("Loaded from the folder too. Done.");
    Ok(())
}
