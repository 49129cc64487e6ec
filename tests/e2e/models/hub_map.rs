//! The weight map and config keys of `#[hub(...)]`: a derived model loads a hand-written
//! transformers-style checkpoint (a head model's `bert.` prefix, `encoder.layer.N`, `LayerNorm`,
//! a `cls.` head, `hidden_size` in its config) through the map its attributes generate, and
//! `LoadOptions::weight_map` replaces that map.

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use hubmix::checkpoint::WeightMap;
use hubmix::{Device, HubModel, LoadOptions, ModelHubMixin};
use serde_json::json;

use super::support::{RawTensor, f32_bytes, params, path_str, write_json, write_safetensors};

#[derive(Config, Debug)]
pub struct TinyBertConfig {
    pub d_model: usize,
    pub n_layers: usize,
}

impl TinyBertConfig {
    pub fn init(&self, device: &Device) -> TinyBert {
        let layer = || TinyLayer {
            fc: LinearConfig::new(self.d_model, self.d_model).init(device),
            layer_norm: LayerNormConfig::new(self.d_model).init(device),
        };
        TinyBert {
            encoder: TinyEncoder {
                layers: (0..self.n_layers).map(|_| layer()).collect(),
            },
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug)]
pub struct TinyLayer {
    fc: Linear,
    layer_norm: LayerNorm,
}

#[derive(Module, Debug)]
pub struct TinyEncoder {
    layers: Vec<TinyLayer>,
}

/// A BERT-shaped base model whose names differ from transformers' (`encoder.layers.N`,
/// `layer_norm`), as do its config keys (`d_model`, `n_layers`).
#[derive(Module, Debug, HubModel)]
#[hub(config = TinyBertConfig, layout = "pytorch", base_model_prefix = "bert")]
#[hub(rename(r"^encoder\.layer\.(\d+)\." => "encoder.layers.$1.", r"\.LayerNorm\." => ".layer_norm."))]
#[hub(ignore(r"^cls\."), config_keys("hidden_size" => "d_model", "num_hidden_layers" => "n_layers"))]
pub struct TinyBert {
    encoder: TinyEncoder,
    #[module(skip)]
    config: TinyBertConfig,
}

/// A `BertForMaskedLM`-style checkpoint of two layers of width 2, PyTorch layout, and a
/// transformers `config.json` (with keys the Burn config does not have).
fn write_checkpoint(dir: &Path) {
    let mut tensors = Vec::new();
    for layer in 0..2 {
        let base = 100.0 * layer as f32;
        let name = |rest: &str| format!("bert.encoder.layer.{layer}.{rest}");
        let weight = [base, base + 1.0, base + 2.0, base + 3.0];
        tensors.extend([
            RawTensor::new(&name("fc.weight"), "F32", &[2, 2], f32_bytes(&weight)),
            RawTensor::new(
                &name("fc.bias"),
                "F32",
                &[2],
                f32_bytes(&[base + 4.0, base + 5.0]),
            ),
            RawTensor::new(
                &name("LayerNorm.weight"),
                "F32",
                &[2],
                f32_bytes(&[base + 6.0, base + 7.0]),
            ),
            RawTensor::new(
                &name("LayerNorm.bias"),
                "F32",
                &[2],
                f32_bytes(&[base + 8.0, base + 9.0]),
            ),
        ]);
    }
    tensors.push(RawTensor::new(
        "cls.predictions.bias",
        "F32",
        &[3],
        f32_bytes(&[0.0; 3]),
    ));
    write_safetensors(&dir.join("model.safetensors"), &json!({"format": "pt"}), &tensors);
    write_json(
        &dir.join("config.json"),
        &json!({
            "architectures": ["BertForMaskedLM"],
            "model_type": "bert",
            "hidden_size": 2,
            "num_hidden_layers": 2,
            "vocab_size": 3,
        }),
    );
}

#[test]
fn a_derived_model_loads_a_foreign_checkpoint_through_its_attributes_map_and_config_keys() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    write_checkpoint(dir.path());
    let loaded = TinyBert::from_pretrained_with(path_str(dir.path()), &device, &LoadOptions::default())
        .expect("a strict load through the type's map");

    // config_keys: hidden_size and num_hidden_layers became d_model and n_layers.
    assert_eq!(
        (loaded.model.config.d_model, loaded.model.config.n_layers),
        (2, 2)
    );
    // The map: bert. dropped (base_model_prefix), layer.N renamed, LayerNorm renamed; the
    // PyTorch [out, in] weight transposed into Burn's [in, out]; cls. ignored.
    let got = params(&loaded.model);
    assert_eq!(
        got["encoder.layers.1.fc.weight"].values,
        [100.0, 102.0, 101.0, 103.0]
    );
    assert_eq!(got["encoder.layers.0.fc.bias"].values, [4.0, 5.0]);
    assert_eq!(got["encoder.layers.1.layer_norm.gamma"].values, [106.0, 107.0]);
    assert_eq!(got["encoder.layers.0.layer_norm.beta"].values, [8.0, 9.0]);
    let report = &loaded.report;
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        report
            .source_of("encoder.layers.1.layer_norm.gamma")
            .expect("where the gamma came from")
            .origin
            .name,
        "bert.encoder.layer.1.LayerNorm.weight"
    );
    let ignored: Vec<&str> = report.ignored.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(ignored, ["cls.predictions.bias"]);
}

#[test]
fn a_weight_map_of_the_load_options_replaces_the_types_map() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    write_checkpoint(dir.path());

    // An empty map: names as stored, so nothing is found and the `cls.` head is not ignored
    // (the type's rules are replaced, not merged). The config keys still apply.
    let options = LoadOptions::default().weight_map(WeightMap::new()).strict(false);
    let loaded =
        TinyBert::from_pretrained_with(path_str(dir.path()), &device, &options).expect("a lenient load");
    let report = &loaded.report;
    assert_eq!(report.missing.len(), 8, "{report}");
    assert!(report.loaded.is_empty(), "{report}");
    assert!(report.ignored.is_empty(), "{report}");
    assert!(
        report.unexpected_names().contains(&"cls.predictions.bias"),
        "{report}"
    );

    // A map of its own: only the first layer's tensors kept, by a rule the type does not have.
    let only_first = WeightMap::new()
        .allow(r"^bert\.encoder\.layer\.0\.")
        .strip_prefix("bert.encoder.layer.0.")
        .rename(r"^LayerNorm\.", "layer_norm.")
        .add_prefix("encoder.layers.1.");
    let options = LoadOptions::default().weight_map(only_first).strict(false);
    let loaded =
        TinyBert::from_pretrained_with(path_str(dir.path()), &device, &options).expect("a lenient load");
    assert_eq!(
        params(&loaded.model)["encoder.layers.1.fc.bias"].values,
        [4.0, 5.0]
    );
    let report = &loaded.report;
    assert_eq!(report.loaded.len(), 4, "{report}");
    assert_eq!(report.ignored.len(), 5, "{report}");
}
