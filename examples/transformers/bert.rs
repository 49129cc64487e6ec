//! A BERT encoder (transformers' `BertModel`) in Burn: embeddings (word, position and token
//! type, summed, then LayerNorm), encoder layers (self-attention, then a GELU feed-forward, each
//! followed by a residual LayerNorm), and the pooler (a tanh dense layer over the first token).
//!
//! It loads a transformers checkpoint as saved (`model.safetensors`, shards, `pytorch_model.bin`,
//! any float type) with its `config.json`: the `#[hub(...)]` attributes map transformers' names
//! onto this module's fields, and transformers' config keys onto [`BertConfig`]'s.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor};
use hubmix::{HubModel, LoadOptions, ModelHubMixin};

use super::{RunError, check_heads, check_token_ids, merge_heads, rows, split_heads};

/// The hyperparameters of [`Bert`], read from a transformers `config.json`: `hidden_size`,
/// `num_hidden_layers`, `num_attention_heads` and `intermediate_size` land in the fields named
/// here, the other keys this needs keep their transformers names, and the rest are ignored.
#[derive(Config, Debug)]
pub struct BertConfig {
    /// Size of the token vocabulary.
    pub vocab_size: usize,
    /// Width of the hidden states (transformers' `hidden_size`).
    pub d_model: usize,
    /// Number of encoder layers (`num_hidden_layers`).
    pub n_layers: usize,
    /// Number of attention heads (`num_attention_heads`); divides `d_model`.
    pub n_heads: usize,
    /// Width of the feed-forward layer (`intermediate_size`).
    pub d_ff: usize,
    /// Number of positions the model has embeddings for.
    pub max_position_embeddings: usize,
    /// Number of token types (segments).
    pub type_vocab_size: usize,
    /// The epsilon of every LayerNorm.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// The feed-forward activation: only transformers' `"gelu"` (exact, with erf) is supported.
    #[config(default = "String::from(\"gelu\")")]
    pub hidden_act: String,
    /// Whether the model has the pooler (transformers' `add_pooling_layer`, a constructor
    /// argument its `config.json` does not hold: absent means yes; checkpoints of
    /// `BertForMaskedLM` have none). An `Option` because Burn's `Config` fills `default`s in
    /// `new`, not when it reads a file that lacks the key.
    pub add_pooling_layer: Option<bool>,
}

impl BertConfig {
    /// Builds the model (with lazily initialised random weights, replaced on load).
    pub fn init(&self, device: &Device) -> Bert {
        Bert {
            embeddings: BertEmbeddings {
                word_embeddings: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
                position_embeddings: EmbeddingConfig::new(self.max_position_embeddings, self.d_model)
                    .init(device),
                token_type_embeddings: EmbeddingConfig::new(self.type_vocab_size, self.d_model).init(device),
                layer_norm: self.layer_norm(device),
            },
            encoder: BertEncoder {
                layers: (0..self.n_layers).map(|_| self.init_layer(device)).collect(),
            },
            pooler: self.add_pooling_layer.unwrap_or(true).then(|| BertPooler {
                dense: LinearConfig::new(self.d_model, self.d_model).init(device),
            }),
            config: self.clone(),
        }
    }

    fn init_layer(&self, device: &Device) -> BertLayer {
        let linear = |d_in, d_out| LinearConfig::new(d_in, d_out).init(device);
        BertLayer {
            attention: BertAttention {
                self_attention: BertSelfAttention {
                    query: linear(self.d_model, self.d_model),
                    key: linear(self.d_model, self.d_model),
                    value: linear(self.d_model, self.d_model),
                    n_heads: self.n_heads,
                },
                output: BertOutputBlock {
                    dense: linear(self.d_model, self.d_model),
                    layer_norm: self.layer_norm(device),
                },
            },
            intermediate: BertIntermediate {
                dense: linear(self.d_model, self.d_ff),
            },
            output: BertOutputBlock {
                dense: linear(self.d_ff, self.d_model),
                layer_norm: self.layer_norm(device),
            },
        }
    }

    fn layer_norm(&self, device: &Device) -> LayerNorm {
        LayerNormConfig::new(self.d_model)
            .with_epsilon(self.layer_norm_eps)
            .init(device)
    }
}

/// transformers' `BertModel`. Its checkpoint names become this module's by three rules:
/// `encoder.layer.N` is the field `encoder.layers`, the `self` attention (a Rust keyword) is
/// `self_attention`, and `LayerNorm` is `layer_norm`; a checkpoint of a model with a head
/// (`bert.` prefix) loads too, its head reported as unexpected.
#[derive(Module, Debug, HubModel)]
#[hub(
    config = BertConfig,
    layout = "pytorch",
    tags("bert", "transformers-checkpoint"),
    base_model_prefix = "bert",
    rename(
        r"\bencoder\.layer\.(\d+)\." => "encoder.layers.$1.",
        r"\.attention\.self\." => ".attention.self_attention.",
        r"\.LayerNorm\." => ".layer_norm.",
    ),
    config_keys(
        "hidden_size" => "d_model",
        "num_hidden_layers" => "n_layers",
        "num_attention_heads" => "n_heads",
        "intermediate_size" => "d_ff",
    )
)]
pub struct Bert {
    /// Token, position and token-type embeddings.
    pub embeddings: BertEmbeddings,
    /// The encoder layers.
    pub encoder: BertEncoder,
    /// The pooler (absent when the config says `add_pooling_layer: false`).
    pub pooler: Option<BertPooler>,
    #[module(skip)]
    config: BertConfig,
}

/// What [`Bert::forward`] computes.
#[derive(Debug, Clone)]
pub struct BertOutput {
    /// `[batch, seq, d_model]`: the hidden state after the last layer.
    pub last_hidden_state: Tensor<3>,
    /// `[batch, d_model]`: the pooler on the first token, when the model has one.
    pub pooler_output: Option<Tensor<2>>,
}

impl Bert {
    /// The model's hyperparameters.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Encodes `input_ids` (`[batch, seq]`) with token types zero and no padding (an attention
    /// mask of ones). The ids must be below `vocab_size` and `seq` at most
    /// `max_position_embeddings`.
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> BertOutput {
        let hidden = self.embeddings.forward(input_ids);
        let hidden = self
            .encoder
            .layers
            .iter()
            .fold(hidden, |hidden, layer| layer.forward(hidden));
        let pooler_output = self.pooler.as_ref().map(|pooler| pooler.forward(hidden.clone()));
        BertOutput {
            last_hidden_state: hidden,
            pooler_output,
        }
    }
}

/// transformers' `BertEmbeddings`.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    /// `[vocab_size, d_model]`.
    pub word_embeddings: Embedding,
    /// `[max_position_embeddings, d_model]`, absolute positions.
    pub position_embeddings: Embedding,
    /// `[type_vocab_size, d_model]`.
    pub token_type_embeddings: Embedding,
    /// Normalises the sum of the three.
    pub layer_norm: LayerNorm,
}

impl BertEmbeddings {
    fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, seq] = input_ids.dims();
        let device = input_ids.device();
        let positions = Tensor::<1, Int>::arange(0..seq as i64, &device)
            .unsqueeze::<2>()
            .repeat_dim(0, batch);
        let token_types = Tensor::<2, Int>::zeros([batch, seq], &device);
        let sum = self.word_embeddings.forward(input_ids)
            + self.position_embeddings.forward(positions)
            + self.token_type_embeddings.forward(token_types);
        self.layer_norm.forward(sum)
    }
}

/// transformers' `BertEncoder`.
#[derive(Module, Debug)]
pub struct BertEncoder {
    /// The layers, applied in order (transformers' `encoder.layer`).
    pub layers: Vec<BertLayer>,
}

/// transformers' `BertLayer`.
#[derive(Module, Debug)]
pub struct BertLayer {
    /// Self-attention with its output projection and residual LayerNorm.
    pub attention: BertAttention,
    /// The feed-forward expansion and its GELU.
    pub intermediate: BertIntermediate,
    /// The feed-forward projection back and its residual LayerNorm.
    pub output: BertOutputBlock,
}

impl BertLayer {
    fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        let attended = self.attention.forward(hidden);
        let expanded = self.intermediate.forward(attended.clone());
        self.output.forward(expanded, attended)
    }
}

/// transformers' `BertAttention`.
#[derive(Module, Debug)]
pub struct BertAttention {
    /// transformers' `attention.self`.
    pub self_attention: BertSelfAttention,
    /// The projection and residual LayerNorm.
    pub output: BertOutputBlock,
}

impl BertAttention {
    fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        let context = self.self_attention.forward(hidden.clone());
        self.output.forward(context, hidden)
    }
}

/// transformers' `BertSelfAttention` (eager): scaled dot-product attention over all tokens.
#[derive(Module, Debug)]
pub struct BertSelfAttention {
    /// The query projection.
    pub query: Linear,
    /// The key projection.
    pub key: Linear,
    /// The value projection.
    pub value: Linear,
    /// The number of heads.
    pub n_heads: usize,
}

impl BertSelfAttention {
    fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        let heads = |t: Tensor<3>| split_heads(t, self.n_heads);
        let query = heads(self.query.forward(hidden.clone()));
        let key = heads(self.key.forward(hidden.clone()));
        let value = heads(self.value.forward(hidden));
        let [_, _, _, head_dim] = query.dims();
        let scores = query.matmul(key.swap_dims(2, 3)) / (head_dim as f64).sqrt();
        merge_heads(softmax(scores, 3).matmul(value))
    }
}

/// transformers' `BertIntermediate` with `hidden_act = "gelu"`.
#[derive(Module, Debug)]
pub struct BertIntermediate {
    /// `d_model` → `d_ff`.
    pub dense: Linear,
}

impl BertIntermediate {
    fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        gelu(self.dense.forward(hidden))
    }
}

/// transformers' `BertSelfOutput` and `BertOutput`: a projection, then LayerNorm of it plus the
/// residual.
#[derive(Module, Debug)]
pub struct BertOutputBlock {
    /// The projection.
    pub dense: Linear,
    /// Normalises the projection plus the residual.
    pub layer_norm: LayerNorm,
}

impl BertOutputBlock {
    fn forward(&self, hidden: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        self.layer_norm.forward(self.dense.forward(hidden) + residual)
    }
}

/// transformers' `BertPooler`: tanh of a projection of the first token's hidden state.
#[derive(Module, Debug)]
pub struct BertPooler {
    /// The projection.
    pub dense: Linear,
}

impl BertPooler {
    fn forward(&self, hidden: Tensor<3>) -> Tensor<2> {
        let [batch, _, d_model] = hidden.dims();
        let first = hidden.narrow(1, 0, 1).reshape([batch, d_model]);
        self.dense.forward(first).tanh()
    }
}

/// Loads the `BertModel` checkpoint at `source` (a repo id with optional `@rev`, or a folder)
/// and returns its last hidden state for `token_ids`, one row per token: what the `bert`
/// example prints.
pub fn last_hidden_state(
    source: &str,
    token_ids: &[usize],
    options: &LoadOptions,
) -> Result<Vec<Vec<f32>>, RunError> {
    let device = Device::flex();
    let model = Bert::from_pretrained_with(source, &device, options)?.model;
    let config = model.config();
    if config.hidden_act != "gelu" {
        return Err(RunError::Activation(config.hidden_act.clone()));
    }
    check_heads(config.n_heads, config.d_model)?;
    let ids = check_token_ids(
        token_ids,
        config.vocab_size,
        config.max_position_embeddings,
        &device,
    )?;
    Ok(rows(model.forward(ids).last_hidden_state))
}
