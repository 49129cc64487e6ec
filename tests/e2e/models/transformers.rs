//! transformers' own checkpoints into the Burn models of the `bert` and `gpt2` examples
//! (`hubmix_examples::transformers`), with the real `transformers` 4.40.2 on Debian's PyTorch in
//! the venv of [`transformers_venv`](hubmix_e2e::transformers_venv).
//!
//! One Python run writes everything: a tiny random `BertModel` and `GPT2Model` (and a
//! `BertForMaskedLM`) saved by transformers' `save_pretrained` as safetensors, sharded
//! safetensors, `pytorch_model.bin` and bf16, each also pushed to an in-process hub with
//! transformers' `push_to_hub`; torch's outputs for the same token ids; and a
//! `pytorch_model.bin` whose pickle runs `os.system` when unpickled. Then, in Burn:
//!
//! - every variant loads from its folder and from the hub (strict) and gives transformers' last
//!   hidden state (and BERT's pooler output) within 1e-4 (bf16: torch on the same bf16-rounded
//!   weights); the examples' own `run` prints the same as JSON;
//! - GPT-2's `lm_head` is `wte`'s weight, transposed (tied on load);
//! - a `BertForMaskedLM` checkpoint loads into the base model (strict), its head unexpected; a
//!   `BertModel` checkpoint into a head-shaped module (lenient), the head missing;
//! - a missing tensor and a wrong hidden size are errors naming the tensor in both
//!   vocabularies, and both shapes;
//! - the exploit `.bin` is refused with a typed error, and its command never runs.
//!
//! Under `CI=true` a missing venv fails the test; elsewhere it is skipped with the reason.

use std::fs;
use std::path::Path;

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Int, Tensor, TensorData};
use hubmix::{Device, Error, HubModel, LoadOptions, ModelHubMixin};
use hubmix_e2e::{TestHub, python_env, run_python, transformers_venv_or_skip};
use hubmix_examples::transformers::{LastHiddenState, bert, gpt2, run};
use serde_json::Value;

use super::support::{
    assert_close, client, floats, params, path_str, read_json, read_safetensors, write_json,
    write_safetensors,
};

/// The token ids every model encodes (below the vocabulary size of 100).
const IDS: [usize; 7] = [5, 17, 42, 99, 0, 63, 8];

/// The largest difference allowed between Burn's and transformers' hidden states.
const TOLERANCE: f32 = 1e-4;

/// How transformers saves each checkpoint (the folder and repo name's suffix).
const VARIANTS: [&str; 4] = ["safetensors", "sharded", "bin", "bf16"];

/// Writes the checkpoints into `$OUT/<arch>-<variant>` and pushes them to
/// `alice/<arch>-<variant>`, torch's outputs on `$IDS` into `$OUT/reference.json`, and the
/// exploit into `$OUT/bert-exploit`, whose unpickling would create `$MARKER`.
const PY_WRITE: &str = r#"
import copy, json, os
import torch
from transformers import BertConfig, BertForMaskedLM, BertModel, GPT2Config, GPT2Model

out = os.environ["OUT"]
ids = torch.tensor([json.loads(os.environ["IDS"])])
torch.manual_seed(0)
bert_config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=48, max_position_embeddings=64, type_vocab_size=2)
gpt2_config = GPT2Config(vocab_size=100, n_positions=64, n_embd=32, n_layer=2, n_head=4)
models = {"bert": BertModel(bert_config), "gpt2": GPT2Model(gpt2_config)}
mlm = BertForMaskedLM(bert_config)

def randomize_norms(model):
    # LayerNorms start at weight 1, bias 0: random ones show a load that forgot them.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                torch.nn.init.uniform_(module.weight, 0.5, 1.5)
                torch.nn.init.uniform_(module.bias, -0.5, 0.5)

def outputs(model):
    model.eval()
    with torch.no_grad():
        result = model(ids)
    found = {"last_hidden_state": result.last_hidden_state[0].tolist()}
    if getattr(result, "pooler_output", None) is not None:
        found["pooler_output"] = result.pooler_output[0].tolist()
    return found

def save_and_push(model, name, **kwargs):
    model.save_pretrained(os.path.join(out, name), **kwargs)
    model.push_to_hub(f"alice/{name}", **kwargs)

reference = {}
for arch, model in models.items():
    randomize_norms(model)
    reference[arch] = outputs(model)
    save_and_push(model, f"{arch}-safetensors")
    save_and_push(model, f"{arch}-sharded", max_shard_size="20KB")
    save_and_push(model, f"{arch}-bin", safe_serialization=False)
    bf16 = copy.deepcopy(model).to(torch.bfloat16)
    save_and_push(bf16, f"{arch}-bf16")
    reference[f"{arch}-bf16"] = outputs(bf16.float())

randomize_norms(mlm)
save_and_push(mlm, "bert-mlm")
reference["bert-mlm"] = outputs(mlm.bert)

class Exploit:
    def __reduce__(self):
        return (os.system, ("touch " + os.environ["MARKER"],))

exploit = os.path.join(out, "bert-exploit")
bert_config.save_pretrained(exploit)
torch.save({"embeddings.word_embeddings.weight": torch.zeros(100, 32), "exploit": Exploit()},
           os.path.join(exploit, "pytorch_model.bin"))

with open(os.path.join(out, "reference.json"), "w") as f:
    json.dump(reference, f)
"#;

#[test]
fn transformers_checkpoints_load_into_the_examples_models() {
    let Some(venv) = transformers_venv_or_skip(Path::new(env!("CARGO_TARGET_TMPDIR"))) else {
        return;
    };
    let hub = TestHub::start();
    let home = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let marker = out.path().join("exploited");
    let ids = serde_json::to_string(&IDS).expect("JSON");
    run_python(
        &venv,
        PY_WRITE,
        &python_env(
            &hub,
            path_str(home.path()),
            &[
                ("OUT", path_str(out.path())),
                ("IDS", &ids),
                ("MARKER", path_str(&marker)),
            ],
        ),
    );
    let reference = read_json(&out.path().join("reference.json"));
    let cache = tempfile::tempdir().expect("temp dir");
    let options = LoadOptions::default().client(client(&hub, cache.path()));

    every_variant_gives_transformers_outputs(out.path(), &reference, &options);
    the_examples_print_the_hidden_state(out.path(), &reference, &options);
    gpt2_lm_head_is_tied_to_wte(out.path());
    a_head_checkpoint_loads_into_the_base_model(&reference, &options);
    a_base_checkpoint_loads_into_a_head_model_leniently(out.path(), &reference);
    a_missing_tensor_is_named_in_both_vocabularies(out.path());
    a_wrong_hidden_size_names_both_shapes(out.path());
    a_pickle_that_imports_is_refused(out.path(), &marker);
}

/// Every variant of both architectures, from its folder and from the hub.
fn every_variant_gives_transformers_outputs(out: &Path, reference: &Value, options: &LoadOptions) {
    let device = Device::flex();
    for variant in VARIANTS {
        let expected = |arch: &str| match variant {
            "bf16" => &reference[format!("{arch}-bf16")],
            _ => &reference[arch],
        };
        let folder = out.join(format!("bert-{variant}"));
        let repo = format!("alice/bert-{variant}");
        for source in [path_str(&folder), &repo] {
            let case = format!("BERT {source}");
            let loaded = bert::Bert::from_pretrained_with(source, &device, options)
                .unwrap_or_else(|e| panic!("{case}: {e}"));
            assert!(loaded.report.is_clean(), "{case}: {}", loaded.report);
            assert_eq!(loaded.model.config().d_model, 32, "{case}: hidden_size → d_model");
            let output = loaded.model.forward(input_ids(&device));
            assert_close(
                &output
                    .last_hidden_state
                    .into_data()
                    .iter::<f32>()
                    .collect::<Vec<_>>(),
                &floats(&expected("bert")["last_hidden_state"]),
                TOLERANCE,
                &case,
            );
            let pooled = output.pooler_output.expect("a BertModel has a pooler");
            assert_close(
                &pooled.into_data().iter::<f32>().collect::<Vec<_>>(),
                &floats(&expected("bert")["pooler_output"]),
                TOLERANCE,
                &format!("{case} (pooler)"),
            );
        }

        let folder = out.join(format!("gpt2-{variant}"));
        let repo = format!("alice/gpt2-{variant}");
        for source in [path_str(&folder), &repo] {
            let case = format!("GPT-2 {source}");
            let loaded = gpt2::Gpt2::from_pretrained_with(source, &device, options)
                .unwrap_or_else(|e| panic!("{case}: {e}"));
            assert!(loaded.report.is_clean(), "{case}: {}", loaded.report);
            let hidden = loaded.model.forward(input_ids(&device));
            assert_close(
                &hidden.into_data().iter::<f32>().collect::<Vec<_>>(),
                &floats(&expected("gpt2")["last_hidden_state"]),
                TOLERANCE,
                &case,
            );
        }
    }
}

/// The examples' `run` (what their `main` calls) on a repo id and a folder: JSON rows, one per
/// token, of transformers' values.
fn the_examples_print_the_hidden_state(out: &Path, reference: &Value, options: &LoadOptions) {
    let cases: [(&str, LastHiddenState); 2] = [
        ("bert", bert::last_hidden_state),
        ("gpt2", gpt2::last_hidden_state),
    ];
    let token_ids = IDS.map(|id| id.to_string()).join(",");
    for (arch, last_hidden_state) in cases {
        let folder = out.join(format!("{arch}-sharded"));
        for source in [format!("alice/{arch}-safetensors"), path_str(&folder).to_owned()] {
            let printed = run(&[source.clone(), token_ids.clone()], last_hidden_state, options)
                .unwrap_or_else(|e| panic!("{arch} example on {source}: {e}"));
            let rows: Vec<Vec<f32>> = serde_json::from_str(&printed).expect("JSON rows");
            assert_eq!(rows.len(), IDS.len(), "{arch} {source}: one row per token");
            assert!(
                rows.iter().all(|row| row.len() == 32),
                "{arch} {source}: rows of 32"
            );
            assert_close(
                &rows.concat(),
                &floats(&reference[arch]["last_hidden_state"]),
                TOLERANCE,
                &format!("{arch} example on {source}"),
            );
        }
        // A token outside the vocabulary is an error, not a panic.
        let err = run(
            &[format!("alice/{arch}-safetensors"), "1,100".into()],
            last_hidden_state,
            options,
        )
        .expect_err("token 100 is outside a vocabulary of 100");
        assert!(err.to_string().contains("token id 100"), "{arch}: {err}");
    }
}

/// GPT-2's `lm_head` is filled from `wte` (a `GPT2Model` checkpoint has no head).
fn gpt2_lm_head_is_tied_to_wte(out: &Path) {
    let device = Device::flex();
    let source = out.join("gpt2-safetensors");
    let model = gpt2::Gpt2::from_pretrained(path_str(&source), &device).expect("load GPT-2");
    let found = params(&model);
    let wte = &found["wte.weight"];
    let head = &found["lm_head.weight"];
    assert_eq!(wte.shape, [100, 32]);
    assert_eq!(head.shape, [32, 100], "a Linear weight is [in, out]");
    let transposed: Vec<f32> = (0..32)
        .flat_map(|i| (0..100).map(move |j| (i, j)))
        .map(|(i, j)| wte.values[j * 32 + i])
        .collect();
    assert_eq!(head.values, transposed, "lm_head.weight is wte.weight transposed");
    assert!(!found.contains_key("lm_head.bias"), "the tied head has no bias");
}

/// A `BertForMaskedLM` checkpoint (`bert.` prefix, a `cls` head, no pooler) into the base
/// model, built without a pooler as transformers builds it: strict, the head reported as
/// unexpected.
fn a_head_checkpoint_loads_into_the_base_model(reference: &Value, options: &LoadOptions) {
    let device = Device::flex();
    let options = options.clone().config_override("add_pooling_layer", false);
    let loaded = bert::Bert::from_pretrained_with("alice/bert-mlm", &device, &options)
        .unwrap_or_else(|e| panic!("BertForMaskedLM into Bert: {e}"));
    let report = &loaded.report;
    assert!(report.missing.is_empty(), "nothing missing: {report}");
    assert!(report.mismatched.is_empty(), "nothing mismatched: {report}");
    let unexpected = report.unexpected_names().join(" ");
    for head in [
        "cls.predictions.bias",
        "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.LayerNorm.weight",
    ] {
        assert!(unexpected.contains(head), "{head} reported unexpected: {report}");
    }
    assert!(loaded.model.pooler.is_none());
    let hidden = loaded.model.forward(input_ids(&device)).last_hidden_state;
    assert_close(
        &hidden.into_data().iter::<f32>().collect::<Vec<_>>(),
        &floats(&reference["bert-mlm"]["last_hidden_state"]),
        TOLERANCE,
        "BertForMaskedLM's encoder",
    );
}

/// The hyperparameters of [`BertMlm`]: a BERT's.
type BertMlmConfig = bert::BertConfig;

/// A module shaped as transformers' `BertForMaskedLM` (without its tied decoder): the base
/// model under `bert`, the head under `cls`.
#[derive(Module, Debug, HubModel)]
#[hub(
    config = BertMlmConfig,
    init_fn = init_bert_mlm,
    layout = "pytorch",
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
pub struct BertMlm {
    bert: bert::Bert,
    cls: MlmHead,
    #[module(skip)]
    config: BertMlmConfig,
}

/// transformers' `BertOnlyMLMHead`, its decoder left out.
#[derive(Module, Debug)]
pub struct MlmHead {
    predictions: MlmPredictions,
}

/// transformers' `BertLMPredictionHead`'s transform.
#[derive(Module, Debug)]
pub struct MlmPredictions {
    transform: MlmTransform,
}

/// transformers' `BertPredictionHeadTransform`.
#[derive(Module, Debug)]
pub struct MlmTransform {
    dense: Linear,
    layer_norm: LayerNorm,
}

fn init_bert_mlm(config: &BertMlmConfig, device: &Device) -> BertMlm {
    BertMlm {
        bert: config.init(device),
        cls: MlmHead {
            predictions: MlmPredictions {
                transform: MlmTransform {
                    dense: LinearConfig::new(config.d_model, config.d_model).init(device),
                    layer_norm: LayerNormConfig::new(config.d_model).init(device),
                },
            },
        },
        config: config.clone(),
    }
}

/// A `BertModel` checkpoint into the head-shaped module, leniently: the base model loads (the
/// `bert.` prefix added), the head is listed missing.
fn a_base_checkpoint_loads_into_a_head_model_leniently(out: &Path, reference: &Value) {
    let device = Device::flex();
    let source = out.join("bert-safetensors");
    let strict = BertMlm::from_pretrained_with(path_str(&source), &device, &LoadOptions::default());
    let err = strict.expect_err("a strict load leaves the head unset");
    assert!(matches!(err, Error::WeightsMismatch { .. }), "{err:?}");

    let loaded =
        BertMlm::from_pretrained_with(path_str(&source), &device, &LoadOptions::default().strict(false))
            .unwrap_or_else(|e| panic!("BertModel into BertMlm, lenient: {e}"));
    let missing = loaded.report.missing_names().join(" ");
    for head in [
        "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.layer_norm",
    ] {
        assert!(
            missing.contains(head),
            "{head} reported missing: {}",
            loaded.report
        );
    }
    assert!(
        !missing.contains("bert."),
        "the base model loaded whole: {}",
        loaded.report
    );
    let hidden = loaded.model.bert.forward(input_ids(&device)).last_hidden_state;
    assert_close(
        &hidden.into_data().iter::<f32>().collect::<Vec<_>>(),
        &floats(&reference["bert"]["last_hidden_state"]),
        TOLERANCE,
        "BertModel under bert.",
    );
}

/// A copy of the folder `out/<name>` in a new temporary folder.
fn copy_checkpoint(out: &Path, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in fs::read_dir(out.join(name)).expect("the checkpoint folder") {
        let entry = entry.expect("an entry");
        fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    dir
}

/// The report of a strict load that must fail, and its message.
fn mismatch<M>(result: Result<M, Error>) -> String {
    match result {
        Err(err @ Error::WeightsMismatch { .. }) => err.to_string(),
        Err(other) => panic!("expected WeightsMismatch, got {other:?}"),
        Ok(_) => panic!("a strict load accepted a checkpoint that does not fit"),
    }
}

/// A tensor removed from the file: the strict error names it as the checkpoint would
/// (`encoder.layer.1…`) and as the model does (`encoder.layers.1…`).
fn a_missing_tensor_is_named_in_both_vocabularies(out: &Path) {
    let dir = copy_checkpoint(out, "bert-safetensors");
    let path = dir.path().join("model.safetensors");
    let (metadata, mut tensors) = read_safetensors(&path);
    let before = tensors.len();
    tensors.retain(|t| t.name != "encoder.layer.1.output.dense.bias");
    assert_eq!(tensors.len(), before - 1);
    write_safetensors(&path, &metadata, &tensors);

    let message = mismatch(bert::Bert::from_pretrained(path_str(dir.path()), &Device::flex()));
    for name in [
        "encoder.layer.1.output.dense.bias",
        "encoder.layers.1.output.dense.bias",
    ] {
        assert!(message.contains(name), "the error names {name}:\n{message}");
    }
}

/// A config with another hidden size: the error names the tensor and both shapes.
fn a_wrong_hidden_size_names_both_shapes(out: &Path) {
    let dir = copy_checkpoint(out, "bert-safetensors");
    let config = dir.path().join("config.json");
    let mut json = read_json(&config);
    json["hidden_size"] = 16.into();
    write_json(&config, &json);

    let message = mismatch(bert::Bert::from_pretrained(path_str(dir.path()), &Device::flex()));
    for part in ["embeddings.word_embeddings.weight", "[100, 16]", "[100, 32]"] {
        assert!(message.contains(part), "the error names {part}:\n{message}");
    }
}

/// A `pytorch_model.bin` whose pickle imports `os.system`: refused before anything runs.
fn a_pickle_that_imports_is_refused(out: &Path, marker: &Path) {
    let source = out.join("bert-exploit");
    let err = bert::Bert::from_pretrained(path_str(&source), &Device::flex())
        .expect_err("a pickle that imports a module is refused");
    assert!(matches!(err, Error::Checkpoint { .. }), "a typed error: {err:?}");
    let message = err.to_string();
    assert!(
        message.contains("system"),
        "the error names what the pickle imports: {message}"
    );
    assert!(!marker.exists(), "the pickle's command ran");
}

/// [`IDS`] as a batch of one.
fn input_ids(device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = IDS.iter().map(|&id| id as i64).collect();
    Tensor::from_data(TensorData::new(ids, [1, IDS.len()]), device)
}
