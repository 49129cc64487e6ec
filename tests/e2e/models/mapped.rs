//! Memory-mapped loads (`LoadOptions::mmap`): a model loaded from the Hub cache holds the
//! cached blob's pages as its parameters, and training it leaves the blob as it was; a
//! truncated file is a typed error, never a fault; a half-precision PyTorch-layout checkpoint
//! (transposed and cast as it is read) saves and loads back to the same model.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{AllocationProperty, Tensor};
use hubmix::checkpoint::load_weights;
use hubmix::{Device, Error, LoadOptions, ModelHubMixin, PushOptions};
use hubmix_e2e::TestHub;
use serde_json::json;

use super::archs::{Arch, Mlp, MlpConfig};
use super::support::{RawTensor, assert_same_model, client, params, path_str, write_safetensors};

/// Every file of the cache's blob folders, with its bytes.
fn blobs(cache: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut dirs = vec![cache.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("a cache folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.parent().is_some_and(|p| p.ends_with("blobs")) {
                let bytes = fs::read(&path).expect("a blob");
                found.push((path, bytes));
            }
        }
    }
    found.sort();
    found
}

/// The cached weights: the blob `model.safetensors` of the cache's snapshot resolves to.
fn cached_weights(cache: &Path) -> PathBuf {
    let mut dirs = vec![cache.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("a cache folder") {
            let path = entry.expect("an entry").path();
            if path.file_name().is_some_and(|n| n == "model.safetensors") {
                return fs::canonicalize(&path).expect("the blob");
            }
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    panic!("no cached weights under {}", cache.display());
}

/// Whether a parameter's storage is a mapped file (taken out of it: no copy on `flex` when
/// nothing else holds it).
fn is_mapped(param: Param<Tensor<2>>) -> bool {
    param.into_value().into_data().bytes().property() == AllocationProperty::File
}

#[test]
fn a_model_from_the_cache_is_its_mapped_blob_and_training_it_leaves_the_blob_unchanged() {
    let hub = TestHub::start();
    let work = tempfile::tempdir().expect("temp dir");
    let cache = work.path().join("cache");
    let hub_client = client(&hub, &cache);
    let pushed = Mlp::random(&Device::flex());
    pushed
        .push_to_hub("alice/mapped", &PushOptions::default().client(hub_client.clone()))
        .expect("push");
    let options = LoadOptions::default().client(hub_client);

    // From the cache, mapped by default: the same model, whose weights are the blob's pages.
    let loaded = Mlp::from_pretrained_with("alice/mapped", &Device::flex(), &options).expect("load");
    assert_same_model(&pushed, &loaded.model, Mlp::output, "mapped from the cache");
    assert!(is_mapped(loaded.model.fc1.weight), "a cache load maps the blob");
    let read = Mlp::from_pretrained_with("alice/mapped", &Device::flex(), &options.clone().mmap(false))
        .expect("load");
    assert_same_model(&pushed, &read.model, Mlp::output, "read from the cache");
    assert!(!is_mapped(read.model.fc1.weight), "mmap(false) reads");
    let cached = blobs(&cache);
    assert!(
        cached.iter().any(|(p, _)| *p == cached_weights(&cache)),
        "the weights are a blob"
    );

    // Trained on an autodiff device: the model changes, the blob it was mapped from does not.
    let device = Device::flex().autodiff();
    let mut model = Mlp::from_pretrained_with("alice/mapped", &device, &options)
        .expect("load")
        .model;
    let before = params(&model);
    let mut optimizer = SgdConfig::new().init();
    let x = Tensor::<2>::from_floats([[0.5, -1.0, 2.0, 0.25], [-0.75, 1.5, 0.0, -2.0]], &device);
    for _ in 0..3 {
        let loss = model.forward(x.clone()).powf_scalar(2.0).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.1, model, grads);
    }
    let after = params(&model);
    for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
        assert_ne!(after[name], before[name], "{name} trained");
    }
    assert!(blobs(&cache) == cached, "training wrote to the mapped blob");

    // The trained model saves and loads back as trained, while the first load is still mapped.
    let saved = work.path().join("trained");
    model.save_pretrained(&saved).expect("save");
    let back = Mlp::from_pretrained(path_str(&saved), &Device::flex()).expect("load");
    assert_eq!(params(&back), after);
    assert!(blobs(&cache) == cached);
}

#[test]
fn a_truncated_file_is_a_typed_error_when_mapped_not_a_fault() {
    let hub = TestHub::start();
    let work = tempfile::tempdir().expect("temp dir");
    let cache = work.path().join("cache");
    let hub_client = client(&hub, &cache);
    let model = Mlp::random(&Device::flex());
    model
        .push_to_hub("alice/cut", &PushOptions::default().client(hub_client.clone()))
        .expect("push");
    let folder = work.path().join("folder");
    model.save_pretrained(&folder).expect("save");
    let options = LoadOptions::default().client(hub_client);
    Mlp::from_pretrained_with("alice/cut", &Device::flex(), &options).expect("a first load fills the cache");

    let cut = |path: &Path| {
        let len = fs::metadata(path).expect("the weights").len();
        let file = fs::OpenOptions::new().write(true).open(path).expect("open");
        file.set_len(len - 6).expect("truncate");
    };
    // A folder loaded with mmap(true), and the cache's own blob (mapped by default).
    cut(&folder.join("model.safetensors"));
    let folder_load = Mlp::from_pretrained_with(
        path_str(&folder),
        &Device::flex(),
        &LoadOptions::default().mmap(true),
    );
    cut(&cached_weights(&cache));
    let cache_load = Mlp::from_pretrained_with("alice/cut", &Device::flex(), &options);
    for (case, result) in [("folder", folder_load), ("cache", cache_load)] {
        match result {
            Err(e @ Error::Checkpoint { .. }) => {
                let message = e.to_string();
                assert!(message.contains("truncated"), "{case}: {message}");
            }
            Err(other) => panic!("{case}: expected Error::Checkpoint, got {other:?}"),
            Ok(_) => panic!("{case}: a truncated file loaded"),
        }
    }
}

/// A bf16 value of `i` that f32 holds exactly.
fn exact(i: usize) -> f32 {
    ((i % 64) as f32 - 32.0) / 8.0
}

fn bf16_bytes(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| (v.to_bits() >> 16).to_le_bytes()[..2].to_vec())
        .collect()
}

#[test]
fn a_bf16_pytorch_layout_checkpoint_loads_transposed_and_saves_and_loads_back_the_same() {
    // fc1 is stored [70, 40]: several stripes of rows and a ragged last tile.
    let (d_in, d_hidden, d_out) = (40, 70, 3);
    let work = tempfile::tempdir().expect("temp dir");
    let stored = |rows: usize, cols: usize, start: usize| -> Vec<f32> {
        (0..rows * cols).map(|i| exact(i + start)).collect()
    };
    let (w1, b1, w2, b2) = (
        stored(d_hidden, d_in, 0),
        stored(d_hidden, 1, 5),
        stored(d_out, d_hidden, 9),
        stored(d_out, 1, 13),
    );
    let tensors = [
        RawTensor::new(
            "fc1.weight",
            "BF16",
            &[d_hidden as u64, d_in as u64],
            bf16_bytes(&w1),
        ),
        RawTensor::new("fc1.bias", "BF16", &[d_hidden as u64], bf16_bytes(&b1)),
        RawTensor::new(
            "fc2.weight",
            "BF16",
            &[d_out as u64, d_hidden as u64],
            bf16_bytes(&w2),
        ),
        RawTensor::new("fc2.bias", "BF16", &[d_out as u64], bf16_bytes(&b2)),
    ];
    let foreign = work.path().join("foreign");
    fs::create_dir(&foreign).expect("folder");
    write_safetensors(
        &foreign.join("model.safetensors"),
        &json!({"format": "pt"}),
        &tensors,
    );

    let device = Device::flex();
    let config = MlpConfig::new(d_in, d_hidden, d_out);
    for mmap in [false, true] {
        let mut model = config.init(&device);
        load_weights(&mut model, path_str(&foreign), &LoadOptions::default().mmap(mmap)).expect("load");
        let got = params(&model);
        // Burn's [in, out]: element (i, o) is the stored (o, i).
        let transposed = |w: &[f32], out: usize, inp: usize| -> Vec<f32> {
            (0..inp * out).map(|k| w[(k % out) * inp + k / out]).collect()
        };
        assert_eq!(
            got["fc1.weight"].values,
            transposed(&w1, d_hidden, d_in),
            "mmap {mmap}"
        );
        assert_eq!(
            got["fc2.weight"].values,
            transposed(&w2, d_out, d_hidden),
            "mmap {mmap}"
        );
        assert_eq!(got["fc1.bias"].values, b1);

        let saved = work.path().join(format!("saved-{mmap}"));
        model.save_pretrained(&saved).expect("save");
        let back = Mlp::from_pretrained_with(path_str(&saved), &device, &LoadOptions::default().mmap(mmap))
            .expect("load back");
        assert_eq!(params(&back.model), got, "saved and loaded back");
    }
}
