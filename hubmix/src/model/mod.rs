//! The Burn glue that `#[derive(HubModel)]` builds on: a module plus its `Config` becomes a
//! [`ModelHubMixin`] through [`HubModel`], whose few items the derive generates.
//!
//! A saved model is `config.json` (the config plus the `hubmix` provenance), the weights
//! (`model.safetensors`, or shards with an index) and a `README.md` model card.

pub(crate) mod config;
mod functions;
mod host;
pub(crate) mod options;
pub(crate) mod weights;

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::Module;
pub use burn::tensor::Device;

pub use crate::checkpoint::{INDEX_FILE, LoadReport, WEIGHTS_FILE};
pub use config::{BURN_VERSION, CONFIG_FILE, FORMAT, Provenance};
pub use functions::{
    BurnLoaded, BurnOptions, CheckpointPush, Goal, HubCheckpoints, LOGS_FOLDER, PLOT_FILE,
    from_pretrained_burn, push_to_hub_burn, save_pretrained_burn,
};
pub use options::{Layout, LoadOptions, SaveOptions, StorageType};

use hubmix_hub::card::{ModelCard, ModelCardData};
use hubmix_hub::mixin::{ModelFiles, ModelHubMixin};
use hubmix_hub::{HubClient, HubClientBuilder, HubError};

use crate::checkpoint::{self, WeightMap};
use crate::error::Error;

/// A loaded Burn model, with its [`LoadReport`] and the commit it came from.
pub type Loaded<M> = hubmix_hub::mixin::Loaded<M, LoadReport>;

/// What `#[derive(HubModel)]` knows about a model from its attributes.
#[derive(Debug, Clone, Copy)]
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
    /// Model-card datasets (Hub ids).
    pub datasets: &'static [&'static str],
    /// Model-card metrics (ids such as `accuracy`).
    pub metrics: &'static [&'static str],
    /// The model card's body: Markdown with the placeholders of
    /// [`ModelCard::fill_template`](hubmix_hub::card::ModelCard::fill_template), filled at each
    /// save and push (`#[hub(card_template = "...")]` reads a file at compile time and refuses
    /// an unknown placeholder; written by hand, one stays as written).
    pub card_template: Option<&'static str>,
    /// How foreign checkpoints' tensors become this model's parameters
    /// (`#[hub(rename(..), base_model_prefix = .., weight_map = path, ...)]`); `None`: names as
    /// stored.
    pub weight_map: Option<fn() -> WeightMap>,
    /// `config.json` keys read under another name (`#[hub(config_keys("hidden_size" =>
    /// "d_model"))]`): a transformers config into this model's Burn config.
    pub config_keys: &'static [(&'static str, &'static str)],
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
            datasets: &[],
            metrics: &[],
            card_template: None,
            weight_map: None,
            config_keys: &[],
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
            .datasets(self.datasets.iter().copied())
            .metrics(self.metrics.iter().copied())
    }
}

/// A Burn module that can be saved to and loaded from the Hub. Derive it:
///
/// The [crate documentation](crate#a-model-with-derivehubmodel) shows a whole model, saved,
/// pushed and loaded back.
///
/// The derive implements this trait and [`ModelHubMixin`] (`save_pretrained`,
/// `from_pretrained`, `push_to_hub`) with Burn's options ([`SaveOptions`], [`LoadOptions`]),
/// report ([`LoadReport`]) and error ([`Error`]). Every `HubModel` is such a `ModelHubMixin`,
/// so generic code bounded by `M: HubModel` calls them all.
pub trait HubModel:
    Module
    + ModelHubMixin<
        Device = Device,
        SaveOptions = SaveOptions,
        LoadOptions = LoadOptions,
        Report = LoadReport,
        Error = Error,
    >
{
    /// The Burn config that builds the module.
    type Config: Config;

    /// The attributes of the derive.
    fn hub_info() -> &'static ModelInfo;

    /// The config this module was built from.
    fn hub_config(&self) -> Self::Config;

    /// Builds the module (lazily: parameters are allocated when the weights arrive).
    fn hub_init(config: &Self::Config, device: &Device) -> Self;

    /// The model's own card body (Markdown), given the card hubmix made (title, usage, links,
    /// metadata); `None` (the default): the body of `card_template`, else hubmix's default.
    /// `#[hub(card_fn = path)]` implements it with a `fn(&Self, &ModelCard) -> String`.
    fn hub_card_body(&self, card: &ModelCard) -> Option<String> {
        let _ = card;
        None
    }
}

/// The items of `ModelHubMixin` for a [`HubModel`]: `#[derive(HubModel)]` writes
/// `impl ModelHubMixin for Mlp { hubmix::__model_hub_mixin!(); }` next to its `HubModel` impl
/// (`ModelHubMixin` is `hubmix-hub`'s, so hubmix cannot implement it for every `HubModel` at
/// once). Each item hands over to a function of [`hub_model`].
#[doc(hidden)]
#[macro_export]
macro_rules! __model_hub_mixin {
    () => {
        type Device = $crate::model::hub_model::Device;
        type SaveOptions = $crate::model::hub_model::SaveOptions;
        type LoadOptions = $crate::model::hub_model::LoadOptions;
        type Report = $crate::model::hub_model::LoadReport;
        type Error = $crate::model::hub_model::Error;

        const REPLACED_FILES: &'static [&'static str] = $crate::model::hub_model::REPLACED_FILES;

        fn save_files(
            &self,
            dir: &::std::path::Path,
            options: &Self::SaveOptions,
        ) -> ::core::result::Result<::std::vec::Vec<::std::path::PathBuf>, Self::Error> {
            $crate::model::hub_model::save_files(self, dir, options)
        }

        fn load_files(
            files: &$crate::model::hub_model::ModelFiles,
            device: &Self::Device,
            options: &Self::LoadOptions,
        ) -> ::core::result::Result<$crate::model::hub_model::Loaded<Self>, Self::Error> {
            $crate::model::hub_model::load_files(files, device, options)
        }

        fn model_card(
            &self,
            title: &str,
            options: &Self::SaveOptions,
        ) -> $crate::model::hub_model::ModelCard {
            $crate::model::hub_model::model_card(self, title, options)
        }

        fn default_client()
        -> ::core::result::Result<$crate::model::hub_model::HubClient, $crate::model::hub_model::HubError> {
            $crate::model::default_client()
        }

        fn durability(options: &Self::SaveOptions) -> $crate::model::hub_model::Durability {
            $crate::model::hub_model::durability(options)
        }
    };
}

/// The client hubmix uses when a call is given none: [`HubClient::new`] (from the
/// environment), with `burn/<version>` in the user agent.
pub fn default_client() -> Result<HubClient, HubError> {
    client_builder().build()
}

/// [`HubClient::builder`] (from the environment), with `burn/<version>` in the user agent: for
/// a client of Burn models with other settings.
pub fn client_builder() -> HubClientBuilder {
    HubClient::builder().user_agent("burn", BURN_VERSION)
}

/// What the `ModelHubMixin` impl of a [`HubModel`] does (see `__model_hub_mixin!`).
#[doc(hidden)]
pub mod hub_model {
    pub use super::{Device, LoadOptions, LoadReport, Loaded, SaveOptions};
    pub use crate::error::Error;
    pub use hubmix_hub::card::ModelCard;
    pub use hubmix_hub::files::Durability;
    pub use hubmix_hub::mixin::ModelFiles;
    pub use hubmix_hub::{HubClient, HubError};

    use super::{HubModel, Path, PathBuf, load_module, save_module, weights};

    /// Weights another save may have split differently.
    pub const REPLACED_FILES: &[&str] = weights::WEIGHT_FILES;

    /// `config.json` with the provenance, and the weights.
    pub fn save_files<M: HubModel>(
        model: &M,
        dir: &Path,
        options: &SaveOptions,
    ) -> Result<Vec<PathBuf>, Error> {
        save_module(model, &model.hub_config(), M::hub_info(), dir, options, false)
    }

    /// How durable a save with `options` is (a model alone: durable only when asked).
    pub fn durability(options: &SaveOptions) -> Durability {
        options.durability(false)
    }

    /// Config, module, weights (strictly unless the options say otherwise).
    pub fn load_files<M: HubModel>(
        files: &ModelFiles,
        device: &Device,
        options: &LoadOptions,
    ) -> Result<Loaded<M>, Error> {
        load_module(files, M::hub_info(), device, options, M::hub_init).map(|(loaded, _)| loaded)
    }

    /// The card of the derive's attributes, a usage snippet, and the metadata of `options`;
    /// its body is the model's own (`card_fn`, else `card_template`) or hubmix's default.
    pub fn model_card<M: HubModel>(model: &M, title: &str, options: &SaveOptions) -> ModelCard {
        let info = M::hub_info();
        let mut card = ModelCard::new(title, options.card.clone().or(&info.card_data()));
        card.model_type = Some(info.type_name.to_owned());
        card.repo_url = info.repo_url.map(str::to_owned);
        card.paper_url = info.paper_url.map(str::to_owned);
        card.docs_url = info.docs_url.map(str::to_owned);
        card.usage = Some(format!(
            "use hubmix::ModelHubMixin;\n\nlet device = burn::tensor::Device::default();\nlet model = {}::from_pretrained(\"{title}\", &device)?;",
            info.type_name
        ));
        card.body = model
            .hub_card_body(&card)
            .or_else(|| info.card_template.map(|template| card.fill_template(template)));
        card
    }
}

/// Writes `config.json` (with the provenance) and the weights of `module` into `dir`;
/// `checkpoint`: the save has a training state (which makes it durable by default).
fn save_module<M: Module, C: Config>(
    module: &M,
    config: &C,
    info: &ModelInfo,
    dir: &Path,
    options: &SaveOptions,
    checkpoint: bool,
) -> Result<Vec<PathBuf>, Error> {
    let layout = options.layout.unwrap_or(info.layout);
    let durability = options.durability(checkpoint);
    let weight_options = weights::WeightOptions {
        layout,
        storage: options.dtype,
        max_shard_size: options.max_shard_size,
        durability,
    };
    let saved = weights::save_weights(module, dir, &weight_options, info.type_name)?;
    let provenance = Provenance::now(info.type_name, layout, saved.dtype);
    let config = config::write_config(dir, config, &provenance, durability)?;
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
) -> Result<(Loaded<M>, C), Error> {
    let config_path = files.find(CONFIG_FILE)?.ok_or_else(|| Error::Checkpoint {
        what: files.describe(),
        reason: format!("it has no {CONFIG_FILE}"),
    })?;
    let keys: Vec<(&str, &str)> = info
        .config_keys
        .iter()
        .copied()
        .chain(options.config_keys.iter().map(|(f, t)| (f.as_str(), t.as_str())))
        .collect();
    let read = config::read_config::<C>(
        &config_path,
        info,
        &options.config_overrides,
        &keys,
        options.strict,
    )?;
    let layout = options
        .layout
        .or(read.provenance.as_ref().and_then(Provenance::layout));
    let mut model = init(&read.config, device);
    let mut report = checkpoint::load(&mut model, files, info, options, layout)?;
    report.warnings = read.warnings;
    let report = checkpoint::check(report, options.strict, read.provenance.is_some())?;
    Ok((Loaded::from_files(model, report, files), read.config))
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn burn_models_name_burn_in_the_user_agent() {
        let client = default_client().unwrap();
        assert!(
            client
                .settings()
                .user_agent
                .contains(&("burn".to_owned(), BURN_VERSION.to_owned())),
            "{:?}",
            client.settings().user_agent
        );

        // What the Hub receives: a server that notes the User-Agent header and answers 404.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut agent = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("user-agent")
                {
                    agent = Some(value.trim().to_owned());
                }
            }
            let answer = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            (&stream).write_all(answer.as_bytes()).unwrap();
            agent
        });
        let client = client_builder().endpoint(endpoint).no_token().build().unwrap();
        assert!(client.repo_info("alice/mlp").is_err());
        let agent = server.join().unwrap().expect("a User-Agent header");
        assert!(agent.starts_with("hubmix/"), "{agent}");
        assert!(agent.contains(&format!("burn/{BURN_VERSION}")), "{agent}");
    }
}
