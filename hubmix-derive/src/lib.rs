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
/// | `crate = path` | Where the `hubmix` crate is, if not at `::hubmix` (when re-exported by another crate). A path or a string: `crate = my_crate::hubmix`, `crate = "my_crate::hubmix"`. |
///
/// Without `card_template` or `card_fn` the body is hubmix's: the title, links and usage. Either
/// way, a push keeps the text of a card edited on the Hub unless asked otherwise
/// (`PushOptions::replace_card_body`), and metadata set per save (`base_model`, evaluation
/// results...) goes in `SaveOptions`.
///
/// `config`, `config_field`, `config_fn`, `init_fn`, `card_fn` and `crate` also take their value in a string
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
/// read or has an unknown placeholder, both `card_template` and `card_fn`, no field holding the config,
/// a config field without `#[module(skip)]`, both `config_field` and `config_fn`, an enum
/// without `config_fn`, a union, a tuple struct without `config_field = N` or `config_fn`, and a
/// `#[hub(...)]` on a field or variant.
#[proc_macro_derive(HubModel, attributes(hub))]
pub fn derive_hub_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
