//! The checkpoint loader on checkpoints written by hand (no Python): what transformers-style
//! files look like to `hubmix::checkpoint::load_weights` — a PyTorch-layout file with an
//! integer buffer, a rename map, a function over the lazy map that reads only what it keeps,
//! a sharded checkpoint of which only the needed shard is downloaded, and a hostile index.

use std::path::Path;

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use hubmix::checkpoint::{LazyTensor, WeightMap, load_weights};
use hubmix::{Device, Error, LoadOptions};
use hubmix_e2e::TestHub;
use serde_json::json;

use super::support::{RawTensor, client, f32_bytes, params, path_str, write_safetensors};

#[derive(Module, Debug)]
struct Net {
    proj: Linear,
    norm: LayerNorm,
}

fn net(device: &Device) -> Net {
    Net {
        proj: LinearConfig::new(3, 2).init(device),
        norm: LayerNormConfig::new(2).init(device),
    }
}

fn seq(n: usize, start: f32) -> Vec<f32> {
    (0..n).map(|i| start + i as f32).collect()
}

/// A transformers-style file: `model.` prefix, PyTorch layout (`[out, in]`), `LayerNorm`
/// weight / bias, an `I64` `position_ids` buffer, `format: pt`.
fn write_foreign(dir: &Path) {
    let tensors = [
        RawTensor::new("model.dense.weight", "F32", &[2, 3], f32_bytes(&seq(6, 0.0))),
        RawTensor::new("model.dense.bias", "F32", &[2], f32_bytes(&[10.0, 11.0])),
        RawTensor::new("model.LayerNorm.weight", "F32", &[2], f32_bytes(&[20.0, 21.0])),
        RawTensor::new("model.LayerNorm.bias", "F32", &[2], f32_bytes(&[30.0, 31.0])),
        RawTensor::new(
            "model.position_ids",
            "I64",
            &[4],
            (0..4u64).flat_map(u64::to_le_bytes).collect(),
        ),
    ];
    write_safetensors(&dir.join("model.safetensors"), &json!({"format": "pt"}), &tensors);
}

fn map() -> WeightMap {
    WeightMap::new()
        .strip_prefix("model.")
        .rename(r"^dense\.", "proj.")
        .rename(r"^LayerNorm\.", "norm.")
}

#[test]
fn a_pytorch_layout_file_loads_through_a_map_with_its_buffer_reported_not_refused() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    write_foreign(dir.path());
    let mut model = net(&device);
    let report = load_weights(
        &mut model,
        path_str(dir.path()),
        &LoadOptions::default().weight_map(map()),
    )
    .expect("a strict load: every parameter set");
    // Transposed into Burn's [in, out], norms' weight/bias into gamma/beta.
    let got = params(&model);
    assert_eq!(got["proj.weight"].values, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(got["norm.gamma"].values, [20.0, 21.0]);
    assert_eq!(got["norm.beta"].values, [30.0, 31.0]);
    let from = report
        .source_of("proj.weight")
        .expect("where proj.weight came from");
    assert_eq!(
        (from.origin.name.as_str(), &from.origin.shape[..]),
        ("model.dense.weight", &[2, 3][..])
    );
    assert_eq!(from.steps, ["transposed"]);
    assert_eq!(report.unexpected_names(), ["model.position_ids"]);
    assert!(
        report
            .to_string()
            .contains("UNEXPECTED model.position_ids [4] I64 in model.safetensors, mapped to position_ids"),
        "{report}"
    );
    // Only what was assigned was read: 6 + 2 + 2 + 2 floats, not the buffer.
    assert_eq!(report.bytes_read, 12 * 4);
}

#[test]
fn a_diffusers_weight_file_is_found_under_its_own_name() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    write_foreign(dir.path());
    std::fs::rename(
        dir.path().join("model.safetensors"),
        dir.path().join("diffusion_pytorch_model.safetensors"),
    )
    .expect("rename");
    let mut model = net(&device);
    let report = load_weights(
        &mut model,
        path_str(dir.path()),
        &LoadOptions::default().weight_map(map()),
    )
    .expect("a diffusers-named file loads");
    assert_eq!(
        report.source_of("norm.gamma").expect("loaded").origin.file,
        "diffusion_pytorch_model.safetensors"
    );
    std::fs::remove_file(dir.path().join("diffusion_pytorch_model.safetensors")).expect("remove");
    let err = load_weights(&mut net(&device), path_str(dir.path()), &LoadOptions::default())
        .expect_err("no weights");
    assert!(
        err.to_string().contains("none of model.safetensors")
            && err.to_string().contains("diffusion_pytorch_model.bin"),
        "{err}"
    );
}

#[test]
fn a_missing_tensor_and_a_wrong_shape_name_both_vocabularies() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    write_foreign(dir.path());
    // Without the rename of LayerNorm, the norm finds nothing; a map giving dense a wrong
    // shape by transposing it first.
    let partial = WeightMap::new()
        .strip_prefix("model.")
        .rename(r"^dense\.", "proj.")
        .transpose(r"^proj\.weight$");
    let err = load_weights(
        &mut net(&device),
        path_str(dir.path()),
        &LoadOptions::default().weight_map(partial),
    )
    .expect_err("norm missing, proj.weight transposed twice");
    let Error::WeightsMismatch { report } = &err else {
        panic!("expected WeightsMismatch, got {err:?}");
    };
    assert_eq!(report.missing_names(), ["norm.gamma", "norm.beta"]);
    assert_eq!(report.missing[0].looked_for, ["norm.gamma", "norm.weight"]);
    let text = err.to_string();
    assert!(
        text.contains(
            "MISSING    norm.gamma [2] F32 (in the model; the checkpoint has no norm.gamma or norm.weight)"
        ),
        "{text}"
    );
    assert!(
        text.contains("MISMATCH   proj.weight [3, 2] F32: the checkpoint's model.dense.weight [2, 3] F32 in model.safetensors, mapped to proj.weight, transposed, transposed"),
        "{text}"
    );
    assert!(text.contains("UNEXPECTED model.LayerNorm.weight"), "{text}");
}

#[test]
fn a_function_over_the_lazy_map_splits_and_drops_and_reads_nothing_it_does_not_keep() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    // A fused [2, 4] holding proj.weight (PyTorch [2, 3]) and, in its last column, nothing
    // wanted; a large tensor the function drops.
    let tensors = [
        RawTensor::new("fused", "F32", &[2, 4], f32_bytes(&seq(8, 0.0))),
        RawTensor::new("bias", "F32", &[2], f32_bytes(&[7.0, 8.0])),
        RawTensor::new("ln", "F32", &[2, 2], f32_bytes(&[1.0, 2.0, 3.0, 4.0])),
        RawTensor::new("huge", "F32", &[1024], f32_bytes(&[0.5; 1024])),
    ];
    write_safetensors(
        &dir.path().join("model.safetensors"),
        &json!({"format": "pt"}),
        &tensors,
    );
    let map = WeightMap::new().with(|map| {
        let fused = map.remove("fused").expect("fused");
        map.insert("proj.weight", fused.narrow(1, 0, 3)?);
        map.rename("bias", "proj.bias")?;
        // The first row of `ln`, still [1, 2]: a shape the norm refuses.
        let first_row = map.remove("ln").expect("ln").chunk(0, 2)?.remove(0);
        map.insert("norm.weight", LazyTensor::concat(vec![first_row], 0)?);
        map.remove("huge");
        Ok(())
    });
    let mut model = net(&device);
    let report = load_weights(
        &mut model,
        path_str(dir.path()),
        &LoadOptions::default().weight_map(map).strict(false),
    )
    .expect("lenient");
    assert_eq!(
        params(&model)["proj.weight"].values,
        [0.0, 4.0, 1.0, 5.0, 2.0, 6.0]
    );
    assert_eq!(report.missing_names(), ["norm.beta"]);
    let [m] = &report.mismatched[..] else {
        panic!("{report}")
    };
    assert_eq!(
        (m.param.path.as_str(), &m.tensor.shape[..]),
        ("norm.gamma", &[1, 2][..])
    );
    // Read: fused (8 floats, as one narrow reads its base whole) and bias; never huge, and
    // never the mismatched norm (shapes are checked before reading).
    assert_eq!(report.bytes_read, (8 + 2) * 4, "{report}");
}

#[test]
fn only_the_shards_holding_kept_tensors_are_downloaded_and_a_hostile_index_is_refused() {
    let hub = TestHub::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("upload");
    std::fs::create_dir_all(&folder).expect("folder");
    let shard = |name: &str, tensors: &[RawTensor]| {
        write_safetensors(&folder.join(name), &json!({"format": "pt"}), tensors)
    };
    shard(
        "model-00001-of-00002.safetensors",
        &[
            RawTensor::new("dense.weight", "F32", &[2, 3], f32_bytes(&seq(6, 0.0))),
            RawTensor::new("dense.bias", "F32", &[2], f32_bytes(&[1.0, 2.0])),
        ],
    );
    shard(
        "model-00002-of-00002.safetensors",
        &[RawTensor::new(
            "head.weight",
            "F32",
            &[5, 5],
            f32_bytes(&[0.0; 25]),
        )],
    );
    let index = json!({"metadata": {"total_size": 132}, "weight_map": {
        "dense.weight": "model-00001-of-00002.safetensors",
        "dense.bias": "model-00001-of-00002.safetensors",
        "head.weight": "model-00002-of-00002.safetensors"}});
    std::fs::write(folder.join("model.safetensors.index.json"), index.to_string()).expect("index");
    let cache = dir.path().join("cache");
    let hub_client = client(&hub, &cache);
    hub_client
        .create_repo("alice/sharded", &Default::default())
        .expect("repo");
    hub_client
        .upload_folder("alice/sharded", &folder, &Default::default())
        .expect("upload");

    let device = Device::flex();
    let mut linear: Linear = LinearConfig::new(3, 2).init(&device);
    let options = LoadOptions::default()
        .client(hub_client.clone())
        .weight_map(WeightMap::new().ignore("^head\\.").strip_prefix("dense."));
    let report = load_weights(&mut linear, "alice/sharded", &options).expect("strict load");
    assert_eq!(
        report.ignored.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        Vec::<&str>::new(),
        "the ignored shard was never opened"
    );
    assert_eq!(params(&linear)["bias"].values, [1.0, 2.0]);
    let cached: Vec<String> = walk(&cache)
        .into_iter()
        .filter(|n| n.ends_with(".safetensors"))
        .collect();
    assert_eq!(
        cached,
        ["model-00001-of-00002.safetensors"],
        "only the needed shard is downloaded"
    );

    // An index naming a shard outside the folder.
    let local = dir.path().join("hostile");
    std::fs::create_dir_all(&local).expect("folder");
    std::fs::write(
        local.join("model.safetensors.index.json"),
        json!({"weight_map": {"w": "../upload/model-00001-of-00002.safetensors"}}).to_string(),
    )
    .expect("index");
    let err = load_weights(&mut linear, path_str(&local), &LoadOptions::default())
        .expect_err("a path outside the folder");
    assert!(
        matches!(err, Error::Checkpoint { .. })
            && err.to_string().contains("not a file name in the same folder"),
        "{err}"
    );
}

/// File names under `dir` (symlinks included), sorted; not the cache's `.no_exist` markers.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                if e.file_name() != ".no_exist" {
                    stack.push(p);
                }
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
