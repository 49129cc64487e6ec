//! hubmix: share Burn models through the Hugging Face Hub.
//!
//! `#[derive(HubModel)]` on a Burn module gives it `save_pretrained`, `from_pretrained` and
//! `push_to_hub` ([`ModelHubMixin`]), what Python users get from `huggingface_hub`'s
//! `PyTorchModelHubMixin`. For any module and its config without the derive,
//! [`save_pretrained_burn`] / [`push_to_hub_burn`] / [`from_pretrained_burn`] do the same (the
//! counterparts of the Keras and fastai helpers), with training checkpoints (optimizer and
//! scheduler state, history) that resume from the Hub; [`HubCheckpoints`] pushes a checkpoint per
//! epoch with the best one tagged.
//!
//! ```toml
//! [dependencies]
//! hubmix = "0.2"
//! ```
//!
//! The Hub client underneath is [`hubmix_hub`] (no Burn), re-exported here whole:
//! [`HubClient`] downloads into a cache shared with Python's `huggingface_hub` and pushes
//! commits with Git LFS. The examples below run against a `hubmix-server` started in-process;
//! against huggingface.co, leave out `.client(..)` and set `HF_TOKEN`.
//!
//! # A model with `#[derive(HubModel)]`
//!
//! ```
//! use burn::config::Config;
//! use burn::module::Module;
//! use burn::nn::{Linear, LinearConfig};
//! use burn::tensor::{Device, Tensor};
//! use hubmix::{HubModel, LoadOptions, ModelHubMixin, PushOptions, SaveOptions, StorageType};
//!
//! #[derive(Config, Debug)]
//! pub struct MlpConfig {
//!     pub d_in: usize,
//!     pub d_out: usize,
//! }
//!
//! impl MlpConfig {
//!     pub fn init(&self, device: &Device) -> Mlp {
//!         Mlp { fc: LinearConfig::new(self.d_in, self.d_out).init(device), config: self.clone() }
//!     }
//! }
//!
//! #[derive(Module, Debug, HubModel)]
//! #[hub(config = MlpConfig, tags("mlp"), license = "mit")]
//! pub struct Mlp {
//!     fc: Linear,
//!     #[module(skip)]
//!     config: MlpConfig,
//! }
//!
//! # let dir = tempfile::tempdir()?;
//! # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
//! #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
//! let device = Device::flex();
//! let model = MlpConfig { d_in: 4, d_out: 2 }.init(&device);
//! let x = Tensor::<2>::ones([1, 4], &device);
//!
//! // A folder: config.json, model.safetensors and a README.md model card.
//! let folder = dir.path().join("mlp");
//! model.save_pretrained(&folder)?;
//! let same = Mlp::from_pretrained(folder.to_str().unwrap(), &device)?;
//! same.fc.forward(x.clone()).into_data().assert_eq(&model.fc.forward(x.clone()).into_data(), true);
//!
//! // The Hub: push (the repository is created if missing), tag, load back by repo@tag.
//! let hub = hubmix::HubClient::builder()
//!     .endpoint(server.url())
//!     .token("hf_alice")
//!     .cache_dir(dir.path().join("cache"))
//!     .build()?;
//! let commit = model.push_to_hub("alice/mlp", &PushOptions::default().client(hub.clone()))?;
//! hub.create_tag(format!("alice/mlp@{}", commit.oid), "v1", None, false)?;
//! let loaded = Mlp::from_pretrained_with("alice/mlp@v1", &device, &LoadOptions::default().client(hub.clone()))?;
//! assert_eq!(loaded.commit.as_deref(), Some(commit.oid.as_str()));
//! assert!(loaded.report.is_clean());
//!
//! // Options: half-precision weights on disk; loads cast back to the model's own type.
//! model.save_pretrained_with(dir.path().join("mlp-f16"), &SaveOptions::default().dtype(StorageType::F16))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Any module, without the derive
//!
//! ```
//! use burn::nn::{Linear, LinearConfig};
//! use burn::tensor::Device;
//! use hubmix::{BurnOptions, EpochMetrics, LoadOptions, PushOptions};
//!
//! # let dir = tempfile::tempdir()?;
//! # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
//! #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
//! # let hub = hubmix::HubClient::builder().endpoint(server.url()).token("hf_alice")
//! #     .cache_dir(dir.path().join("cache")).build()?;
//! let device = Device::flex();
//! let config = LinearConfig::new(3, 1);
//! let model: Linear = config.init(&device);
//!
//! // A checkpoint with its training progress (add `.include_optimizer(..)` for the optimizer's).
//! let options = BurnOptions::default()
//!     .push(PushOptions::default().client(hub.clone()))
//!     .epoch(1)
//!     .history(vec![EpochMetrics::new(1, 100).metric("loss", 0.25)]);
//! hubmix::push_to_hub_burn(&model, &config, "alice/linear", &options)?;
//!
//! let loaded = hubmix::from_pretrained_burn(
//!     "alice/linear",
//!     &device,
//!     |config: &LinearConfig, device| config.init(device),
//!     &LoadOptions::default().client(hub.clone()),
//! )?;
//! let progress = loaded.progress().expect("the checkpoint has its training state");
//! assert_eq!(progress.epoch, Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors
//!
//! Hub and cache failures are [`HubError`]s; the model layer's own (a checkpoint that does not
//! fit, a training state that cannot be restored) are [`Error`]s, which wrap `HubError`. A
//! strict load that finds weights that do not fit fails with [`Error::WeightsMismatch`], whose
//! [`LoadReport`] lists what was missing, unexpected or of another shape.
//!
//! # Where things are
//!
//! | module | what it holds |
//! |---|---|
//! | [`checkpoint`] | loading checkpoints of any origin: formats, [`WeightMap`](checkpoint::WeightMap), [`LoadReport`], [`load_weights`](checkpoint::load_weights) |
//! | [`model`] | [`HubModel`], the options ([`SaveOptions`], [`LoadOptions`]), the function API, [`HubCheckpoints`] |
//! | [`training`] | training state: optimizer, scheduler, history, provenance |
//! | [`plot`] | architecture pictures (SVG) and tables of a module tree |
//! | `repo`, `download`, `upload`, `manage`, `info`, `card`, … | the Hub client's, from [`hubmix_hub`] |

#![warn(unreachable_pub)]

pub mod checkpoint;
mod error;
pub mod model;
pub mod plot;
pub mod training;

pub use hubmix_hub::*;
pub use hubmix_hub::{card, download, files, info, manage, mixin, patterns, repo, settings, upload};

/// The model layer's error and result (they shadow `hubmix_hub`'s `Result`).
pub use error::{Error, Result};
/// The derive macro for [`HubModel`](trait@HubModel): what it generates, its attributes, its errors.
pub use hubmix_derive::HubModel;
pub use model::{
    BURN_VERSION, BurnLoaded, BurnOptions, CONFIG_FILE, CheckpointPush, Device, FORMAT, Goal, HubCheckpoints,
    HubModel, INDEX_FILE, LOGS_FOLDER, Layout, LoadOptions, LoadReport, Loaded, ModelInfo, PLOT_FILE,
    Provenance, SaveOptions, StorageType, WEIGHTS_FILE, from_pretrained_burn, push_to_hub_burn,
    save_pretrained_burn,
};
pub use plot::{ModuleNode, ParamLeaf};
pub use training::{
    Component, EpochMetrics, OPTIMIZER_FILE, OptimizerState, RUST_VERSION, SCHEDULER_FILE, SchedulerState,
    TRAINING_FILE, TrainingInfo, TrainingRecord, TrainingState, WrittenBy,
};
