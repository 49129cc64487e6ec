//! How a Burn model is saved and loaded: [`SaveOptions`] (dtype, layout, shards, card
//! metadata) and [`LoadOptions`] (where from, dtype, layout, strictness, config overrides and
//! key names, the weight map).

use crate::checkpoint::WeightMap;
use hubmix_hub::card::ModelCardData;
use hubmix_hub::files::Durability;
use hubmix_hub::mixin::{HubSource, Loaded};
use hubmix_hub::{DownloadOptions, HubClient};

/// How [`ModelHubMixin::save_pretrained_with`](crate::ModelHubMixin::save_pretrained_with) and
/// [`push_to_hub_with`](crate::ModelHubMixin::push_to_hub_with) write a model.
///
/// ```
/// use hubmix::{SaveOptions, StorageType, card::ModelCardData};
/// let options = SaveOptions::default()
///     .dtype(StorageType::F16)
///     .max_shard_size(2 << 30)
///     .card(ModelCardData::default().license("mit"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SaveOptions {
    /// The storage type of float weights (default: as in the model).
    pub dtype: Option<StorageType>,
    /// The tensor naming and layout (default: the model's own).
    pub layout: Option<Layout>,
    /// Split the weights into shards of at most this many bytes (plus an index file).
    pub max_shard_size: Option<u64>,
    /// Model-card metadata on top of the model's own.
    pub card: ModelCardData,
    /// `fsync` every file written, and the folder, before the save returns (see
    /// [`durable`](Self::durable)). Default (`None`): only for a training checkpoint (a save of
    /// [`save_pretrained_burn`](crate::save_pretrained_burn) with a training state).
    pub durable: Option<bool>,
}

impl SaveOptions {
    /// Store float weights as `dtype`.
    pub fn dtype(mut self, dtype: StorageType) -> Self {
        self.dtype = Some(dtype);
        self
    }

    /// Write weights in this layout.
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Shard the weights above this size.
    pub fn max_shard_size(mut self, bytes: u64) -> Self {
        self.max_shard_size = Some(bytes);
        self
    }

    /// Make the save durable: each file is `fsync`ed before it is renamed into place, and the
    /// folder after, so that the model is on disk when the save returns, whatever happens to
    /// the machine next. `false`: files are written into the page cache and renamed into place,
    /// as torch, safetensors and transformers save (a reader sees a whole file or none, and the
    /// files survive the process; a crash of the machine in the next seconds may lose them),
    /// several times faster. Default: durable for a training checkpoint (a save with a training
    /// state, which often replaces the checkpoint a run would resume from, and whose `fsync` is
    /// small next to an epoch), page cache otherwise. A push ignores it: the files it writes are
    /// temporary, and the Hub keeps them.
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = Some(durable);
        self
    }

    /// How durable the files of this save are; `checkpoint`: the save has a training state.
    pub(crate) fn durability(&self, checkpoint: bool) -> Durability {
        if self.durable.unwrap_or(checkpoint) {
            Durability::Durable
        } else {
            Durability::PageCache
        }
    }

    /// Add model-card metadata (on top of what earlier calls set: its values win, lists are
    /// united): datasets, metrics, evaluation results (`model-index`), license...
    pub fn card(mut self, data: ModelCardData) -> Self {
        self.card = data.or(&self.card);
        self
    }

    /// Record `id` (a Hub model id) as the card's `base_model`: the model this one was
    /// fine-tuned or otherwise derived from.
    pub fn base_model(mut self, id: impl Into<String>) -> Self {
        self.card.base_model = Some(id.into());
        self
    }

    /// Record the repository `loaded` came from as the card's `base_model`; a model loaded from
    /// a folder records nothing. The one call for "I loaded X, changed it, and push it as Y":
    ///
    /// ```
    /// # use burn::config::Config;
    /// # use burn::module::Module;
    /// # use burn::nn::{Linear, LinearConfig};
    /// use hubmix::{Device, HubModel, LoadOptions, ModelHubMixin, PushOptions, SaveOptions};
    /// # #[derive(Config, Debug)]
    /// # pub struct MlpConfig { d_in: usize, d_out: usize }
    /// # impl MlpConfig {
    /// #     pub fn init(&self, device: &Device) -> Mlp {
    /// #         Mlp { fc: LinearConfig::new(self.d_in, self.d_out).init(device), config: self.clone() }
    /// #     }
    /// # }
    /// # #[derive(Module, Debug, HubModel)]
    /// # #[hub(config = MlpConfig)]
    /// # pub struct Mlp { fc: Linear, #[module(skip)] config: MlpConfig }
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
    /// # let hub = hubmix::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// # let device = Device::flex();
    /// # let push = PushOptions::default().client(hub.clone());
    /// # MlpConfig { d_in: 4, d_out: 2 }.init(&device).push_to_hub("alice/mlp", &push)?;
    /// let base = Mlp::from_pretrained_with("alice/mlp", &device, &LoadOptions::default().client(hub.clone()))?;
    /// // ... fine-tune base.model ...
    /// let save = SaveOptions::default().derived_from(&base);
    /// base.model.push_to_hub_with("alice/mlp-tuned", &push, &save)?;
    ///
    /// let card = hub.repo_info("alice/mlp-tuned")?.card_data.expect("a model card");
    /// assert_eq!(card["base_model"], "alice/mlp");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn derived_from<M, R>(mut self, loaded: &Loaded<M, R>) -> Self {
        if let Some(id) = loaded.base_model() {
            self.card.base_model = Some(id);
        }
        self
    }
}

/// The Burn dtype of a storage type.
pub(crate) fn burn_dtype(s: StorageType) -> burn::tensor::DType {
    match s {
        StorageType::F32 => burn::tensor::DType::F32,
        StorageType::F16 => burn::tensor::DType::F16,
        StorageType::BF16 => burn::tensor::DType::BF16,
    }
}

/// Float storage types of saved weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    /// 32-bit floats.
    F32,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
}

impl StorageType {
    /// `f32`, `f16`, `bf16`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageType::F32 => "f32",
            StorageType::F16 => "f16",
            StorageType::BF16 => "bf16",
        }
    }

    /// From `f32`, `f16`, `bf16` (as in `config.json`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f32" => Some(StorageType::F32),
            "f16" => Some(StorageType::F16),
            "bf16" => Some(StorageType::BF16),
            _ => None,
        }
    }
}

/// How weights are named and laid out in `model.safetensors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Burn's own: `Linear.weight` is `[in, out]`, norms have `gamma`/`beta`.
    #[default]
    Burn,
    /// PyTorch's: `Linear.weight` is `[out, in]`, norms have `weight`/`bias`; what
    /// `PyTorchModelHubMixin` reads and writes.
    PyTorch,
}

impl Layout {
    /// `burn` or `pytorch`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Burn => "burn",
            Layout::PyTorch => "pytorch",
        }
    }

    /// From `burn` or `pytorch`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "burn" => Some(Layout::Burn),
            "pytorch" => Some(Layout::PyTorch),
            _ => None,
        }
    }
}

/// How [`ModelHubMixin::from_pretrained_with`](crate::ModelHubMixin::from_pretrained_with) and
/// [`from_pretrained_burn`](crate::from_pretrained_burn) load a model.
///
/// Where the files come from has one place each: the token is the client's (give a client made
/// with [`HubClient::with_token`]); the revision is the one of `"repo@rev"` or of
/// [`DownloadOptions::revision`], and both given and different is an error.
///
/// ```
/// use hubmix::{DownloadOptions, LoadOptions, StorageType};
/// let options = LoadOptions::default()
///     .download(DownloadOptions::default().local_files_only(true))
///     .dtype(StorageType::F32)
///     .config_override("dropout", 0.0)
///     .strict(false);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadOptions {
    /// The client, with its token (default: [`default_client`](crate::model::default_client),
    /// from the environment).
    pub client: Option<HubClient>,
    /// Downloads: revision (when the source has no `@rev`), cache folder, force, offline.
    pub download: DownloadOptions,
    /// Values that replace those of the saved config, by key (the counterpart of Python's
    /// `model_kwargs`). A key a hubmix config.json does not have is an error (a typo); a config
    /// written by something else may lack keys, which an override then sets.
    pub config_overrides: serde_json::Map<String, serde_json::Value>,
    /// The float type to load into (default: the model's own); saved weights are cast.
    pub dtype: Option<StorageType>,
    /// The layout of the weights, when the checkpoint does not say (default: the model's own).
    pub layout: Option<Layout>,
    /// Refuse a load that leaves a parameter unset (default `true`). When `false`, what fits
    /// is loaded and the report lists the rest.
    pub strict: bool,
    /// How checkpoint tensors become parameters (default: the model type's, from its
    /// `#[hub(...)]` attributes).
    pub weight_map: Option<WeightMap>,
    /// `config.json` keys renamed before the config is read (`hidden_size` → `d_model`), after
    /// the model type's `config_keys`.
    pub config_keys: Vec<(String, String)>,
    /// Memory-map the safetensors weight files, so that tensors stored as their parameters
    /// hold them (same type, no transpose) are backed by the file's pages instead of a copy:
    /// the load costs the headers, and the pages are read when first used and shared with
    /// the page cache. A tensor is copied into memory of its own on its first write
    /// (training); the file is mapped read-only and never written. Default (`None`): on for
    /// files of the Hub cache, whose blobs are never changed in place; off for a local
    /// folder. The contract of `Some(true)` on a folder: no file is truncated or rewritten
    /// in place while the model lives (replacing it by a rename, as `save_pretrained` does,
    /// is fine) — a truncated mapped file faults (`SIGBUS`) when read. On Windows, a mapped
    /// file cannot be replaced or deleted while the model lives.
    pub mmap: Option<bool>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            client: None,
            download: DownloadOptions::default(),
            config_overrides: serde_json::Map::new(),
            dtype: None,
            layout: None,
            strict: true,
            weight_map: None,
            config_keys: Vec::new(),
            mmap: None,
        }
    }
}

impl LoadOptions {
    /// With this client (and its token).
    pub fn client(mut self, client: HubClient) -> Self {
        self.client = Some(client);
        self
    }

    /// With these download options (revision, cache folder, force, offline).
    pub fn download(mut self, download: DownloadOptions) -> Self {
        self.download = download;
        self
    }

    /// Replace the saved config's value of `key`.
    pub fn config_override(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.config_overrides.insert(key.into(), value.into());
        self
    }

    /// Load float weights as `dtype`.
    pub fn dtype(mut self, dtype: StorageType) -> Self {
        self.dtype = Some(dtype);
        self
    }

    /// Read weights in this layout (when the checkpoint does not say).
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Strict (default) or lenient loading.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Map checkpoint tensors to parameters with `map`, instead of the model type's map.
    pub fn weight_map(mut self, map: WeightMap) -> Self {
        self.weight_map = Some(map);
        self
    }

    /// Read the config's `from` key as `to` (a transformers `config.json` into a Burn config).
    pub fn config_key(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.config_keys.push((from.into(), to.into()));
        self
    }

    /// Memory-map the weight files (`true`) or read them (`false`), instead of the default:
    /// mapped from the Hub cache, read from a folder (see the field).
    pub fn mmap(mut self, mmap: bool) -> Self {
        self.mmap = Some(mmap);
        self
    }
}

impl HubSource for LoadOptions {
    fn hub_client(&self) -> Option<&HubClient> {
        self.client.as_ref()
    }

    fn download_options(&self) -> &DownloadOptions {
        &self.download
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_are_durable_by_default_only_when_they_are_training_checkpoints() {
        let default = SaveOptions::default();
        assert_eq!(default.durability(false), Durability::PageCache);
        assert_eq!(default.durability(true), Durability::Durable);
        let durable = SaveOptions::default().durable(true);
        assert_eq!(durable.durability(false), Durability::Durable);
        let fast = SaveOptions::default().durable(false);
        assert_eq!(fast.durability(true), Durability::PageCache);
    }
}
