//! The Burn glue that `#[derive(HubModel)]` builds on: a module plus its `Config` becomes a
//! [`ModelHubMixin`] through [`HubModel`], whose few items the derive generates.
//!
//! A saved model is `config.json` (the config plus the `hubmix` provenance), the weights
//! (`model.safetensors`, or shards with an index) and a `README.md` model card.

mod config;
mod functions;
mod training;
mod tree;
mod weights;

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::Module;
pub use burn::tensor::Device;

pub use config::{BURN_VERSION, CONFIG_FILE, FORMAT, Provenance};
pub use functions::{
    BurnLoaded, BurnOptions, CheckpointPush, Goal, HubCheckpoints, LOGS_FOLDER, PLOT_FILE,
    from_pretrained_burn, push_to_hub_burn, save_pretrained_burn,
};
pub use training::{
    Component, EpochMetrics, OPTIMIZER_FILE, OptimizerState, RUST_VERSION, SCHEDULER_FILE, SchedulerState,
    TRAINING_FILE, TrainingInfo, TrainingRecord, TrainingState, WrittenBy,
};
pub use weights::{INDEX_FILE, WEIGHTS_FILE};

use crate::card::{ModelCard, ModelCardData};
use crate::error::HubError;
use crate::mixin::{Layout, LoadOptions, Loaded, ModelFiles, ModelHubMixin, SaveOptions};

/// What `#[derive(HubModel)]` knows about a model from its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// The Rust type name (recorded in `config.json`, checked on load).
    pub type_name: &'static str,
    /// `library_name` of the model card (default `burn`).
    pub library_name: &'static str,
    /// Model-card tags.
    pub tags: &'static [&'static str],
    /// Model-card license.
    pub license: Option<&'static str>,
    /// Model-card pipeline tag.
    pub pipeline_tag: Option<&'static str>,
    /// Model-card languages.
    pub language: &'static [&'static str],
    /// Code link.
    pub repo_url: Option<&'static str>,
    /// Paper link.
    pub paper_url: Option<&'static str>,
    /// Docs link.
    pub docs_url: Option<&'static str>,
    /// The weight layout this model saves in, and assumes for checkpoints that do not say.
    pub layout: Layout,
}

impl ModelInfo {
    /// Defaults for a model type: library `burn`, no tags, Burn layout.
    pub const fn new(type_name: &'static str) -> Self {
        ModelInfo {
            type_name,
            library_name: "burn",
            tags: &[],
            license: None,
            pipeline_tag: None,
            language: &[],
            repo_url: None,
            paper_url: None,
            docs_url: None,
            layout: Layout::Burn,
        }
    }

    /// The model-card metadata these attributes give.
    pub fn card_data(&self) -> ModelCardData {
        let mut data = ModelCardData::default()
            .library_name(self.library_name)
            .tags(self.tags.iter().copied());
        data.license = self.license.map(str::to_owned);
        data.pipeline_tag = self.pipeline_tag.map(str::to_owned);
        data.language(self.language.iter().copied())
    }
}

/// A Burn module that can be saved to and loaded from the Hub. Derive it:
///
/// ```ignore
/// #[derive(Module, Debug, HubModel)]
/// #[hub(config = MlpConfig, tags("mlp"), license = "mit")]
/// pub struct Mlp { fc1: Linear, fc2: Linear, #[module(skip)] config: MlpConfig }
/// ```
///
/// Every `HubModel` is a [`ModelHubMixin`] (`save_pretrained`, `from_pretrained`,
/// `push_to_hub`).
pub trait HubModel: Module + Sized {
    /// The Burn config that builds the module.
    type Config: Config;

    /// The attributes of the derive.
    fn hub_info() -> &'static ModelInfo;

    /// The config this module was built from.
    fn hub_config(&self) -> Self::Config;

    /// Builds the module (lazily: parameters are allocated when the weights arrive).
    fn hub_init(config: &Self::Config, device: &Device) -> Self;
}

impl<M: HubModel> ModelHubMixin for M {
    type Device = Device;

    const REPLACED_FILES: &'static [&'static str] = weights::WEIGHT_FILES;

    fn save_files(&self, dir: &Path, options: &SaveOptions) -> Result<Vec<PathBuf>, HubError> {
        save_module(self, &self.hub_config(), M::hub_info(), dir, options)
    }

    fn load_files(
        files: &ModelFiles,
        device: &Device,
        options: &LoadOptions,
    ) -> Result<Loaded<Self>, HubError> {
        load_module(files, M::hub_info(), device, options, M::hub_init).map(|(loaded, _)| loaded)
    }

    fn model_card(&self, title: &str) -> ModelCard {
        let info = M::hub_info();
        let mut card = ModelCard::new(title, info.card_data());
        card.repo_url = info.repo_url.map(str::to_owned);
        card.paper_url = info.paper_url.map(str::to_owned);
        card.docs_url = info.docs_url.map(str::to_owned);
        card.usage = Some(format!(
            "use hubmix::ModelHubMixin;\n\nlet device = burn::tensor::Device::default();\nlet model = {}::from_pretrained(\"{title}\", &device)?;",
            info.type_name
        ));
        card
    }
}

/// Writes `config.json` (with the provenance) and the weights of `module` into `dir`.
fn save_module<M: Module, C: Config>(
    module: &M,
    config: &C,
    info: &ModelInfo,
    dir: &Path,
    options: &SaveOptions,
) -> Result<Vec<PathBuf>, HubError> {
    let layout = options.layout.unwrap_or(info.layout);
    let saved = weights::save_weights(
        module,
        dir,
        layout,
        options.dtype,
        options.max_shard_size,
        info.type_name,
    )?;
    let provenance = Provenance::now(info.type_name, layout, saved.dtype);
    let config = config::write_config(dir, config, &provenance)?;
    let mut files = vec![config];
    files.extend(saved.files);
    Ok(files)
}

/// Reads the config of `files`, builds the module with `init` and loads its weights (strictly
/// unless the options say otherwise). Returns the config too.
fn load_module<M: Module, C: Config>(
    files: &ModelFiles,
    info: &ModelInfo,
    device: &Device,
    options: &LoadOptions,
    init: impl FnOnce(&C, &Device) -> M,
) -> Result<(Loaded<M>, C), HubError> {
    let config_path = files.get(CONFIG_FILE)?;
    let read = config::read_config::<C>(&config_path, info, &options.config_overrides, options.strict)?;
    let layout = options
        .layout
        .or(read.provenance.as_ref().and_then(Provenance::layout));
    let mut model = init(&read.config, device);
    let mut report = weights::load_weights(&mut model, files, layout, info.layout, options.dtype)?;
    report.warnings = read.warnings;
    if options.strict && !report.is_clean() {
        return Err(HubError::WeightsMismatch {
            report: report.to_string(),
        });
    }
    Ok((
        Loaded::new(model, report, files.commit().map(str::to_owned)),
        read.config,
    ))
}
