//! GPT-2 in Burn loaded from a transformers `GPT2Model` checkpoint (fused `c_attn` split on
//! load, `lm_head` tied to `wte`): prints the last hidden state of the token ids as a JSON array
//! of rows, one per token. The model is `hubmix_examples::transformers::gpt2`
//! (`examples/transformers/gpt2.rs`).
//!
//! ```sh
//! cargo run --release --example gpt2 -- openai-community/gpt2 15496,995
//! HF_ENDPOINT=http://127.0.0.1:8080 HF_TOKEN=... cargo run --release --example gpt2 -- alice/gpt2 1,2,3
//! ```

use std::process::ExitCode;

use hubmix_examples::transformers::{gpt2, main as run_main};

fn main() -> ExitCode {
    run_main(gpt2::last_hidden_state)
}
