//! `hubmix convert`'s converter (`hubmix_hub::safetensors::convert`) on checkpoints saved by
//! hubmix: a Burn-layout save records its PyTorch plan, so it converts to PyTorch's layout
//! without the model, to the bytes hubmix's own PyTorch-layout save writes; converted to bf16
//! as well, it loads into the same model with outputs within bf16's precision; and back to
//! Burn's layout, it is the original file again.

use std::fs;
use std::path::Path;

use hubmix::safetensors::{Checkpoint, ConvertOptions, FloatType, Layout as Stored, PytorchPlan, convert};
use hubmix::{Device, Layout, LoadOptions, SaveOptions};

use super::archs::{Arch, Head, Stack, Tagger};
use super::support::{assert_close, path_str};

/// Outputs of a model stored in bf16 differ from the f32 model's by at most this much (weights
/// in [-1, 1), three or four layers, LayerNorm).
const BF16_TOLERANCE: f32 = 0.05;

/// Converts the checkpoint of folder `from` into folder `to`, with its config, whose `hubmix`
/// section then names the new layout and float type (as `hubmix convert` writes it: a config
/// that names a layout wins over the file's own metadata when hubmix loads).
fn convert_folder(from: &Path, to: &Path, options: &ConvertOptions) {
    let source = Checkpoint::open(from).expect("the saved checkpoint opens");
    convert(&source, to, options).expect("convert");
    let mut config: serde_json::Value =
        serde_json::from_slice(&fs::read(from.join("config.json")).unwrap()).expect("a JSON config");
    if let Some(layout) = options.layout {
        config["hubmix"]["layout"] = layout.as_str().into();
    }
    if options.dtype == Some(FloatType::BF16) {
        config["hubmix"]["dtype"] = "bf16".into();
    }
    fs::write(to.join("config.json"), config.to_string()).unwrap();
}

fn burn_to_pytorch<M: Arch>(device: &Device) {
    let name = M::hub_info().type_name;
    let model = M::random(device);
    let work = tempfile::tempdir().expect("temp dir");
    let burn = work.path().join("burn");
    model.save_pretrained(&burn).expect("save in Burn's layout");
    let saved = Checkpoint::open(&burn).expect("open");
    let plan = PytorchPlan::from_json(saved.metadata()["hubmix_pytorch"]).expect("a recorded plan");
    assert!(!plan.transpose.is_empty(), "{name}: {plan:?}");

    // To PyTorch's layout: what hubmix writes when it saves in that layout.
    let torch = work.path().join("torch");
    convert_folder(&burn, &torch, &ConvertOptions::default().layout(Stored::PyTorch));
    let reference = work.path().join("reference");
    model
        .save_pretrained_with(&reference, &SaveOptions::default().layout(Layout::PyTorch))
        .expect("save in PyTorch's layout");
    assert_eq!(
        fs::read(torch.join("model.safetensors")).unwrap(),
        fs::read(reference.join("model.safetensors")).unwrap(),
        "{name}: converted and saved in PyTorch's layout"
    );
    // And back: the original file.
    let back = work.path().join("back");
    convert_folder(&torch, &back, &ConvertOptions::default().layout(Stored::Burn));
    assert_eq!(
        fs::read(back.join("model.safetensors")).unwrap(),
        fs::read(burn.join("model.safetensors")).unwrap(),
        "{name}: Burn, PyTorch, Burn"
    );

    // PyTorch's layout in bf16: the same model within bf16's precision.
    let half = work.path().join("half");
    convert_folder(
        &burn,
        &half,
        &ConvertOptions::default()
            .layout(Stored::PyTorch)
            .dtype(FloatType::BF16),
    );
    let loaded = M::from_pretrained_with(path_str(&half), device, &LoadOptions::default())
        .expect("load the converted checkpoint");
    assert!(loaded.report.is_clean(), "{name}: {:?}", loaded.report);
    assert_close(&loaded.model.output(), &model.output(), BF16_TOLERANCE, name);
}

#[test]
fn a_burn_save_converts_to_pytorch_and_bf16_and_loads_as_the_same_model() {
    let device = Device::flex();
    burn_to_pytorch::<Tagger>(&device);
    burn_to_pytorch::<Stack>(&device);
    burn_to_pytorch::<Head>(&device);
}
