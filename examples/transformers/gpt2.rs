//! GPT-2 (transformers' `GPT2Model`) in Burn: token and learned position embeddings, pre-LN
//! blocks of causal self-attention and a `gelu_new` feed-forward, and a final LayerNorm; plus the
//! language-model head, tied to the token embeddings.
//!
//! transformers stores GPT-2's projections as `Conv1D`, whose weights are already `[in, out]`
//! (Burn's `Linear` layout), and the query, key and value projections fused in one `c_attn`:
//! the [`WeightMap`] of [`Gpt2`] keeps the former as they are, splits the latter into three
//! `Linear`s, and fills `lm_head` from `wte` (a `GPT2Model` checkpoint has no head).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu_approximate, softmax};
use burn::tensor::{Bool, Device, Int, Tensor};
use hubmix::checkpoint::WeightMap;
use hubmix::{HubModel, LoadOptions, ModelHubMixin};

use super::{RunError, check_heads, check_token_ids, merge_heads, rows, split_heads};

/// The hyperparameters of [`Gpt2`], under transformers' own `config.json` keys (the others
/// are ignored).
#[derive(Config, Debug)]
pub struct Gpt2Config {
    /// Size of the token vocabulary.
    pub vocab_size: usize,
    /// Number of positions the model has embeddings for.
    pub n_positions: usize,
    /// Width of the hidden states.
    pub n_embd: usize,
    /// Number of blocks.
    pub n_layer: usize,
    /// Number of attention heads; divides `n_embd`.
    pub n_head: usize,
    /// Width of the feed-forward layer (`None`: `4 * n_embd`).
    pub n_inner: Option<usize>,
    /// The epsilon of every LayerNorm.
    #[config(default = 1e-5)]
    pub layer_norm_epsilon: f64,
    /// The feed-forward activation: only transformers' `"gelu_new"` (tanh approximation) is
    /// supported.
    #[config(default = "String::from(\"gelu_new\")")]
    pub activation_function: String,
}

impl Gpt2Config {
    /// Builds the model (with lazily initialised random weights, replaced on load).
    pub fn init(&self, device: &Device) -> Gpt2 {
        let d_inner = self.n_inner.unwrap_or(4 * self.n_embd);
        let linear = |d_in, d_out| LinearConfig::new(d_in, d_out).init(device);
        let block = || Gpt2Block {
            ln_1: self.layer_norm(device),
            attn: Gpt2Attention {
                query: linear(self.n_embd, self.n_embd),
                key: linear(self.n_embd, self.n_embd),
                value: linear(self.n_embd, self.n_embd),
                c_proj: linear(self.n_embd, self.n_embd),
                n_head: self.n_head,
            },
            ln_2: self.layer_norm(device),
            mlp: Gpt2Mlp {
                c_fc: linear(self.n_embd, d_inner),
                c_proj: linear(d_inner, self.n_embd),
            },
        };
        Gpt2 {
            wte: EmbeddingConfig::new(self.vocab_size, self.n_embd).init(device),
            wpe: EmbeddingConfig::new(self.n_positions, self.n_embd).init(device),
            h: (0..self.n_layer).map(|_| block()).collect(),
            ln_f: self.layer_norm(device),
            lm_head: LinearConfig::new(self.n_embd, self.vocab_size)
                .with_bias(false)
                .init(device),
            config: self.clone(),
        }
    }

    fn layer_norm(&self, device: &Device) -> LayerNorm {
        LayerNormConfig::new(self.n_embd)
            .with_epsilon(self.layer_norm_epsilon)
            .init(device)
    }
}

/// How transformers' GPT-2 names and lays out its tensors: `Conv1D` weights are already
/// `[in, out]`, `attn.c_attn` holds the query, key and value side by side, and the
/// language-model head is `wte` (tied).
pub fn weight_map() -> WeightMap {
    WeightMap::new()
        .base_model_prefix("transformer")
        .burn_layout(r"\.c_(attn|proj|fc)\.weight$")
        .split(
            r"^h\.(\d+)\.attn\.c_attn\.(weight|bias)$",
            -1,
            ["h.$1.attn.query.$2", "h.$1.attn.key.$2", "h.$1.attn.value.$2"],
        )
        .tie("wte.weight", "lm_head.weight")
}

/// transformers' `GPT2Model`, with the language-model head of `GPT2LMHeadModel` tied to `wte`.
/// The field names are transformers' own, except the split of `attn.c_attn` into
/// `attn.query`, `attn.key` and `attn.value`.
#[derive(Module, Debug, HubModel)]
#[hub(config = Gpt2Config, layout = "pytorch", tags("gpt2", "transformers-checkpoint"), weight_map = weight_map)]
pub struct Gpt2 {
    /// Token embeddings, `[vocab_size, n_embd]`.
    pub wte: Embedding,
    /// Position embeddings, `[n_positions, n_embd]`.
    pub wpe: Embedding,
    /// The blocks.
    pub h: Vec<Gpt2Block>,
    /// The final LayerNorm.
    pub ln_f: LayerNorm,
    /// The language-model head: `wte`'s weight, transposed (a `Linear` is `[in, out]`).
    pub lm_head: Linear,
    #[module(skip)]
    config: Gpt2Config,
}

impl Gpt2 {
    /// The model's hyperparameters.
    pub fn config(&self) -> &Gpt2Config {
        &self.config
    }

    /// The last hidden state (`[batch, seq, n_embd]`, after `ln_f`) of `input_ids`
    /// (`[batch, seq]`), each token attending to itself and those before it. The ids must be
    /// below `vocab_size` and `seq` at most `n_positions`.
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, seq] = input_ids.dims();
        let device = input_ids.device();
        let positions = Tensor::<1, Int>::arange(0..seq as i64, &device)
            .unsqueeze::<2>()
            .repeat_dim(0, batch);
        let hidden = self.wte.forward(input_ids) + self.wpe.forward(positions);
        // True above the diagonal: the future, which no token sees.
        let future = Tensor::<2, Bool>::tril_mask([seq, seq], 0, &device);
        let hidden = self
            .h
            .iter()
            .fold(hidden, |hidden, block| block.forward(hidden, future.clone()));
        self.ln_f.forward(hidden)
    }

    /// Next-token logits (`[batch, seq, vocab_size]`) of a [`forward`](Self::forward) output.
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        self.lm_head.forward(hidden)
    }
}

/// transformers' `GPT2Block`: pre-LN attention and feed-forward, each with a residual.
#[derive(Module, Debug)]
pub struct Gpt2Block {
    /// Normalises the attention's input.
    pub ln_1: LayerNorm,
    /// Causal self-attention.
    pub attn: Gpt2Attention,
    /// Normalises the feed-forward's input.
    pub ln_2: LayerNorm,
    /// The feed-forward.
    pub mlp: Gpt2Mlp,
}

impl Gpt2Block {
    fn forward(&self, hidden: Tensor<3>, future: Tensor<2, Bool>) -> Tensor<3> {
        let hidden = hidden.clone() + self.attn.forward(self.ln_1.forward(hidden), future);
        hidden.clone() + self.mlp.forward(self.ln_2.forward(hidden))
    }
}

/// transformers' `GPT2Attention` (eager), its fused `c_attn` split in three.
#[derive(Module, Debug)]
pub struct Gpt2Attention {
    /// The query projection (the first third of `c_attn`).
    pub query: Linear,
    /// The key projection (the second third of `c_attn`).
    pub key: Linear,
    /// The value projection (the last third of `c_attn`).
    pub value: Linear,
    /// The output projection.
    pub c_proj: Linear,
    /// The number of heads.
    pub n_head: usize,
}

impl Gpt2Attention {
    fn forward(&self, hidden: Tensor<3>, future: Tensor<2, Bool>) -> Tensor<3> {
        let heads = |t: Tensor<3>| split_heads(t, self.n_head);
        let query = heads(self.query.forward(hidden.clone()));
        let key = heads(self.key.forward(hidden.clone()));
        let value = heads(self.value.forward(hidden));
        let [batch, n_head, seq, head_dim] = query.dims();
        let scores = query.matmul(key.swap_dims(2, 3)) / (head_dim as f64).sqrt();
        // As transformers: the masked scores become the float type's minimum.
        let future = future.unsqueeze::<4>().expand([batch, n_head, seq, seq]);
        let scores = scores.mask_fill(future, f32::MIN);
        self.c_proj.forward(merge_heads(softmax(scores, 3).matmul(value)))
    }
}

/// transformers' `GPT2MLP` with `activation_function = "gelu_new"`.
#[derive(Module, Debug)]
pub struct Gpt2Mlp {
    /// `n_embd` → `n_inner`.
    pub c_fc: Linear,
    /// `n_inner` → `n_embd`.
    pub c_proj: Linear,
}

impl Gpt2Mlp {
    fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        self.c_proj.forward(gelu_approximate(self.c_fc.forward(hidden)))
    }
}

/// Loads the `GPT2Model` checkpoint at `source` (a repo id with optional `@rev`, or a folder)
/// and returns its last hidden state for `token_ids`, one row per token: what the `gpt2`
/// example prints.
pub fn last_hidden_state(
    source: &str,
    token_ids: &[usize],
    options: &LoadOptions,
) -> Result<Vec<Vec<f32>>, RunError> {
    let device = Device::flex();
    let model = Gpt2::from_pretrained_with(source, &device, options)?.model;
    let config = model.config();
    if config.activation_function != "gelu_new" {
        return Err(RunError::Activation(config.activation_function.clone()));
    }
    check_heads(config.n_head, config.n_embd)?;
    let ids = check_token_ids(token_ids, config.vocab_size, config.n_positions, &device)?;
    Ok(rows(model.forward(ids)))
}
