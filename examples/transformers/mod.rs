//! Two architectures of transformers, written in Burn, that load transformers' own checkpoints
//! through hubmix: [`bert`] (`BertModel`) and [`gpt2`] (`GPT2Model`). The `bert` and `gpt2`
//! examples are [`run`] over their `last_hidden_state`:
//!
//! ```sh
//! cargo run --release --example bert -- SOURCE TOKEN_IDS
//! ```
//!
//! where SOURCE is a repo id (optionally `@rev`) or a folder and TOKEN_IDS a comma-separated
//! list; they print the last hidden state as a JSON array of rows, one per token (attention mask
//! all ones, token types zero).

pub mod bert;
pub mod gpt2;

use std::process::ExitCode;

use burn::tensor::{Device, Int, Tensor, TensorData};
use hubmix::LoadOptions;

/// Why an example could not compute a hidden state.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The command line is not `SOURCE TOKEN_IDS`.
    #[error("usage: SOURCE TOKEN_IDS (a repo id, optionally @rev, or a folder; then ids like 101,7592,102)")]
    Usage,
    /// An entry of TOKEN_IDS is not a number.
    #[error("TOKEN_IDS: {0:?} is not a token id (write non-negative integers separated by commas)")]
    TokenId(String),
    /// No token ids.
    #[error("TOKEN_IDS is empty: give at least one token id")]
    NoTokens,
    /// A token id is not in the vocabulary.
    #[error("token id {id} is not in the vocabulary of {vocab_size} tokens")]
    OutOfVocabulary {
        /// The id.
        id: usize,
        /// The model's vocabulary size.
        vocab_size: usize,
    },
    /// More tokens than the model has positions for.
    #[error("{len} tokens, but the model has position embeddings for {max} only: give fewer")]
    TooLong {
        /// The number of tokens given.
        len: usize,
        /// The model's number of positions.
        max: usize,
    },
    /// The number of heads does not divide the hidden size.
    #[error("the config's {n_heads} attention heads do not divide its hidden size {width}")]
    Heads {
        /// The number of heads.
        n_heads: usize,
        /// The hidden size.
        width: usize,
    },
    /// The checkpoint's config names an activation this Burn model does not implement.
    #[error("the checkpoint's activation {0:?} is not implemented by this model")]
    Activation(String),
    /// Loading the model failed.
    #[error(transparent)]
    Load(#[from] hubmix::Error),
}

/// The function of a model that [`run`] calls: the last hidden state of the checkpoint at
/// `source` for the token ids, one row per token.
pub type LastHiddenState = fn(&str, &[usize], &LoadOptions) -> Result<Vec<Vec<f32>>, RunError>;

/// The `main` of the `bert` and `gpt2` examples: [`run`] on the command line's arguments, with
/// the hub of `HF_ENDPOINT` (default huggingface.co) and `HF_TOKEN`; the JSON on standard
/// output, or the error on standard error.
pub fn main(last_hidden_state: LastHiddenState) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args, last_hidden_state, &LoadOptions::default()) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the `bert` and `gpt2` examples do with their arguments `SOURCE TOKEN_IDS` (the program
/// name left out): the JSON they print, computed by `last_hidden_state` with `options`.
pub fn run(
    args: &[String],
    last_hidden_state: LastHiddenState,
    options: &LoadOptions,
) -> Result<String, RunError> {
    let [source, token_ids] = args else {
        return Err(RunError::Usage);
    };
    let token_ids = parse_token_ids(token_ids)?;
    let rows = last_hidden_state(source, &token_ids, options)?;
    Ok(serde_json::Value::from(rows).to_string())
}

/// The ids of a comma-separated list (`"101, 7592,102"`).
pub fn parse_token_ids(text: &str) -> Result<Vec<usize>, RunError> {
    let ids = text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().map_err(|_| RunError::TokenId(part.to_owned())))
        .collect::<Result<Vec<usize>, _>>()?;
    if ids.is_empty() {
        return Err(RunError::NoTokens);
    }
    Ok(ids)
}

/// `token_ids` as a batch of one, `[1, len]`, once checked against the model's vocabulary and
/// number of positions (Burn's embedding lookup has no bounds check of its own to rely on).
fn check_token_ids(
    token_ids: &[usize],
    vocab_size: usize,
    max_positions: usize,
    device: &Device,
) -> Result<Tensor<2, Int>, RunError> {
    if token_ids.is_empty() {
        return Err(RunError::NoTokens);
    }
    if let Some(&id) = token_ids.iter().find(|&&id| id >= vocab_size) {
        return Err(RunError::OutOfVocabulary { id, vocab_size });
    }
    if token_ids.len() > max_positions {
        return Err(RunError::TooLong {
            len: token_ids.len(),
            max: max_positions,
        });
    }
    // Below the vocabulary size, which is a tensor dimension: the ids fit an i64.
    let ids: Vec<i64> = token_ids.iter().map(|&id| id as i64).collect();
    Ok(Tensor::from_data(
        TensorData::new(ids, [1, token_ids.len()]),
        device,
    ))
}

/// The rows of the first (only) sequence of a `[1, seq, d]` hidden state.
fn rows(hidden: Tensor<3>) -> Vec<Vec<f32>> {
    let [_, _, width] = hidden.dims();
    let values: Vec<f32> = hidden.into_data().iter::<f32>().collect();
    values.chunks(width.max(1)).map(<[f32]>::to_vec).collect()
}

/// Checks that `n_heads` heads split a hidden state of `width` evenly.
fn check_heads(n_heads: usize, width: usize) -> Result<(), RunError> {
    if n_heads == 0 || !width.is_multiple_of(n_heads) {
        return Err(RunError::Heads { n_heads, width });
    }
    Ok(())
}

/// `[batch, seq, d_model]` → `[batch, heads, seq, d_model / heads]`.
fn split_heads(x: Tensor<3>, n_heads: usize) -> Tensor<4> {
    let [batch, seq, d_model] = x.dims();
    x.reshape([batch, seq, n_heads, d_model / n_heads])
        .swap_dims(1, 2)
}

/// `[batch, heads, seq, head_dim]` → `[batch, seq, heads * head_dim]`.
fn merge_heads(x: Tensor<4>) -> Tensor<3> {
    let [batch, n_heads, seq, head_dim] = x.dims();
    x.swap_dims(1, 2).reshape([batch, seq, n_heads * head_dim])
}
