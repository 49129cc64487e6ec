//! A BERT encoder in Burn loaded from a transformers `BertModel` checkpoint: prints the last
//! hidden state of the token ids as a JSON array of rows, one per token. The model is
//! `hubmix_examples::transformers::bert` (`examples/transformers/bert.rs`).
//!
//! ```sh
//! cargo run --release --example bert -- google-bert/bert-base-uncased 101,7592,2088,102
//! cargo run --release --example bert -- ./my-bert-folder 101,102
//! HF_ENDPOINT=http://127.0.0.1:8080 HF_TOKEN=... cargo run --release --example bert -- alice/bert@v1 1,2,3
//! ```

use std::process::ExitCode;

use hubmix_examples::transformers::{bert, main as run_main};

fn main() -> ExitCode {
    run_main(bert::last_hidden_state)
}
