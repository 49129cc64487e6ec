//! `#[derive(HubModel)]` for Burn modules: the proc-macro half of `hubmix`.
//!
//! Use it through the `hubmix` crate, which re-exports it next to the `HubModel` trait it
//! implements: `use hubmix::HubModel;` brings both. The attributes are
//! documented on [`macro@HubModel`].
//!
//! Layout (as thiserror-impl and serde_derive): `ast` is a typed view of the input, `attr`
//! parses `#[hub(...)]` and collects errors, `valid` checks and resolves, `expand` generates the
//! impl and `fallback` the stub impl emitted beside errors.

mod ast;
mod attr;
mod card;
mod expand;
mod fallback;
mod valid;
mod weight_map;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `hubmix::HubModel` for a Burn module, which makes it a `hubmix::ModelHubMixin`:
/// `save_pretrained`, `from_pretrained` and `push_to_hub`.
///
/// ```no_run
/// # fn main() -> Result<(), hubmix::Error> {
/// use burn::config::Config;
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use hubmix::{Device, HubModel, ModelHubMixin};
///
/// #[derive(Config, Debug)]
/// pub struct MlpConfig { pub d_in: usize, pub d_hidden: usize, pub d_out: usize }
///
/// impl MlpConfig {
///     pub fn init(&self, device: &Device) -> Mlp {
///         Mlp {
///             fc1: LinearConfig::new(self.d_in, self.d_hidden).init(device),
///             fc2: LinearConfig::new(self.d_hidden, self.d_out).init(device),
///             config: self.clone(),
///         }
///     }
/// }
///
/// #[derive(Module, Debug, HubModel)]
/// #[hub(config = MlpConfig, tags("mlp"), license = "mit")]
/// pub struct Mlp {
///     fc1: Linear,
///     fc2: Linear,
///     #[module(skip)]
///     config: MlpConfig,
/// }
///
/// let device = Device::default();
/// let model = MlpConfig::new(4, 8, 2).init(&device);
/// model.save_pretrained("out/mlp")?;
/// let same = Mlp::from_pretrained("out/mlp", &device)?;
/// # Ok(())
/// # }
/// ```
///
/// The generated impl is small: a `static` `ModelInfo` built from the attributes,
/// `hub_config` (clones the config field, or calls `config_fn`) and `hub_init` (calls
/// `config.init(device)`, or `init_fn`); and `impl ModelHubMixin` with one macro call, whose
/// items are hubmix's (Burn's options, report and error; each method hands over to hubmix).
///
/// # Attributes
///
/// All go in `#[hub(...)]` on the type, in one attribute or several; each key at most once.
///
/// | attribute | meaning |
/// |---|---|
/// | `config = Type` | **Required.** The Burn `Config` that builds the module (`#[derive(Config)]`). |
/// | `config_field = name` | The field holding the config. Default: the field named `config`, else the one field whose type has the config type's name. In a tuple struct, an index: `config_field = 2`. The field must be `#[module(skip)]`. |
/// | `config_fn = path` | Instead of a field: a `fn(&Self) -> Config` that returns the config (needed for an enum). Not with `config_field`. |
/// | `init_fn = path` | A `fn(&Config, &Device) -> Self` that builds the module. Default: `config.init(device)`, Burn's convention. |
/// | `library_name = "..."` | The model card's `library_name`. Default `"burn"`. |
/// | `tags("a", "b")` | Model-card tags (`burn` and `hubmix` are always added). |
/// | `license = "..."` | Model-card license, e.g. `"mit"`, `"apache-2.0"`. |
/// | `pipeline_tag = "..."` | Model-card pipeline tag, e.g. `"image-classification"`. |
/// | `language("en", ...)` | Model-card languages. |
/// | `repo_url = "..."`, `paper_url = "..."`, `docs_url = "..."` | Links in the model card; http(s) URLs. |
/// | `datasets("a/b", ...)` | Model-card datasets (Hub ids). |
/// | `metrics("accuracy", ...)` | Model-card metrics. |
/// | `card_template = "card.md"` | The model card's body: a Markdown file, relative to the crate's folder (where its `Cargo.toml` is), read at compile time (`include_str!`, so editing it rebuilds). Placeholders, filled at each save and push: `{{ repo_id }}` (the repository id, or the folder name), `{{ model_type }}` (the type name), `{{ usage }}` (Rust code that loads the model, without a code fence), `{{ repo_url }}`, `{{ paper_url }}`, `{{ docs_url }}` (the links, or `[More Information Needed]`). An unknown placeholder is a compile error. Not with `card_fn`. |
/// | `card_fn = path` | The model card's body from code: a `fn(&Self, &hubmix::card::ModelCard) -> String`, given the card hubmix made (title, usage, links, metadata). Not with `card_template`. |
/// | `layout = "burn"` or `"pytorch"` | The weight layout saved by default: Burn's own tensor names and shapes, or the ones PyTorch (`PyTorchModelHubMixin`) uses. Default `"burn"`. |
/// | `base_model_prefix = "bert"` | transformers' `base_model_prefix`: a checkpoint of the model with a head (`bert.encoder...`) loads into the base model (`encoder...`), and the other way round. One name, without dots. |
/// | `strip_prefix = "model."` | Removes this prefix from the checkpoint's names that start with it. |
/// | `rename(r"^h\.(\d+)\." => "blocks.$1.", ...)` | Ordered rename rules over the checkpoint's names: a regex (the `regex` crate's syntax) and its replacement (`$1`, `${name}` refer to the pattern's groups; `$$` is a `$`). Any number of pairs, applied in the order written. |
/// | `add_prefix = "backbone."` | Puts this prefix in front of every name. |
/// | `allow(r"^bert\.", ...)` | Reads only the tensors whose stored name matches one of these regexes. |
/// | `ignore(r"^cls\.", ...)` | Never reads the tensors whose stored name matches one of these regexes (reported as ignored, not as unexpected). |
/// | `weight_map = path` | Instead of the rule keys above: a `fn() -> hubmix::checkpoint::WeightMap` that gives the whole map (for splits, ties, layout marks, transposes, a function over the tensors, or another order). Not with any rule key. |
/// | `config_keys("hidden_size" => "d_model", ...)` | `config.json` keys read under another name: a transformers config into the Burn config. |
/// | `crate = path` | Where the `hubmix` crate is, if not at `::hubmix` (when re-exported by another crate). A path or a string: `crate = my_crate::hubmix`, `crate = "my_crate::hubmix"`. |
///
/// Without `card_template` or `card_fn` the body is hubmix's: the title, links and usage. Either
/// way, a push keeps the text of a card edited on the Hub unless asked otherwise
/// (`PushOptions::replace_card_body`), and metadata set per save (`base_model`, evaluation
/// results...) goes in `SaveOptions`.
///
/// The rule keys become a `WeightMap` (see `hubmix::checkpoint::WeightMap` for what each rule
/// does), used by `from_pretrained` unless `LoadOptions::weight_map` gives another. Whatever order
/// the keys are written in, it is built in one fixed order: `base_model_prefix`, `strip_prefix`,
/// the renames as written, `add_prefix`, then `allow` and `ignore`. The loader applies `allow`
/// and `ignore` to the names as stored, before anything reads a tensor, and the base-model prefix
/// before the rules; so a checkpoint's `model.encoder.layer.0...` is stripped of `model.`, then
/// renamed, then prefixed. For another order, write the map in a function (`weight_map = path`).
///
/// `config`, `config_field`, `config_fn`, `init_fn`, `card_fn`, `weight_map` and `crate` also take their value in a string
/// (`config = "MlpConfig"`), as serde's attributes do.
///
/// Generic models work: the impl carries the type's generics and where clause and, for a type
/// with type parameters, requires `Self: burn::module::Module` (so whatever bounds Burn's
/// `#[derive(Module)]` put on its impl apply to this one too).
///
/// # Errors
///
/// Every misuse is a compile error pointing at the offending tokens and saying what to write
/// instead, all reported in one build: a missing `config`, an unknown key (with the closest known
/// key), a key given twice, a value of the wrong kind (`license = 3`, `tags = "x"`), an empty tag,
/// a layout other than `burn`/`pytorch`, a URL that is not http(s), a card template that cannot be
/// read or has an unknown placeholder, both `card_template` and `card_fn`, a `rename`, `allow` or
/// `ignore` pattern that is not a valid regex (with the regex crate's message), a replacement
/// naming a group its pattern does not have (`$2` of a pattern with one group; `$1a`, which is the
/// group named `1a`), an empty `strip_prefix` or `add_prefix`, a `base_model_prefix` that is empty
/// or has a dot, a `config_keys` key renamed twice, two keys renamed to the same field, or a key
/// renamed to itself, `weight_map` beside a rule key, no field holding the config,
/// a config field without `#[module(skip)]`, both `config_field` and `config_fn`, an enum
/// without `config_fn`, a union, a tuple struct without `config_field = N` or `config_fn`, and a
/// `#[hub(...)]` on a field or variant.
#[proc_macro_derive(HubModel, attributes(hub))]
pub fn derive_hub_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
