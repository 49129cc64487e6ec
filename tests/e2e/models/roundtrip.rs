//! Round trips through a folder: every architecture, stored as f32, f16 and bf16, in one file
//! and in shards; re-saving into the same folder; config overrides.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use hubmix::{Device, Error, LoadOptions, ModelHubMixin, SaveOptions, StorageType};

use super::archs::{Arch, Cnn, Head, Mlp, Stack, Tagger};
use super::support::{
    assert_same_model, element_size, params, path_str, read_header, read_json, rounded, st_dtype,
};

const DTYPES: [StorageType; 3] = [StorageType::F32, StorageType::F16, StorageType::BF16];

/// Shards of at most this many bytes: every architecture here then needs several.
const SMALL_SHARDS: u64 = 32;

/// The weight files in `dir` (single file, shards, index), by name.
pub fn weight_files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .expect("listing the folder")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.starts_with("model") && (name.ends_with(".safetensors") || name.ends_with(".json"))
        })
        .collect()
}

/// Checks a sharded save: `model-0000i-of-0000N.safetensors` files, an index whose weight map
/// names every tensor of the model with the shard that holds it, and whose total size is the
/// size of the model's tensors in `dtype`. Returns the number of shards.
pub fn check_shards<M: Arch>(dir: &Path, model: &M, dtype: StorageType) -> usize {
    let index = read_json(&dir.join("model.safetensors.index.json"));
    let weight_map: BTreeMap<String, String> =
        serde_json::from_value(index["weight_map"].clone()).expect("a weight_map of names to files");
    let expected = params(model);
    assert_eq!(
        weight_map.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the weight map names every tensor"
    );
    let total: u64 = expected
        .values()
        .map(|p| p.values.len() as u64 * element_size(dtype))
        .sum();
    assert_eq!(index["metadata"]["total_size"], total, "total_size");

    let shards: BTreeSet<&String> = weight_map.values().collect();
    let n = shards.len();
    assert!(n > 1, "expected several shards, got {shards:?}");
    let names: BTreeSet<String> = (1..=n)
        .map(|i| format!("model-{i:05}-of-{n:05}.safetensors"))
        .collect();
    assert_eq!(shards.into_iter().cloned().collect::<BTreeSet<_>>(), names);
    let mut on_disk = names.clone();
    on_disk.insert("model.safetensors.index.json".into());
    assert_eq!(weight_files(dir), on_disk, "only the shards and the index");
    for (tensor, shard) in &weight_map {
        let header = read_header(&dir.join(shard));
        let entry = header
            .get(tensor)
            .unwrap_or_else(|| panic!("{shard} lacks {tensor}, which the index puts there"));
        assert_eq!(entry["dtype"], st_dtype(dtype), "{tensor} in {shard}");
    }
    n
}

/// Saves `model` into a fresh folder in `dtype` (sharded or not), checks the files, loads it
/// back and compares parameters and outputs with the model rounded to `dtype`.
fn round_trip<M: Arch>(model: &M, dtype: StorageType, sharded: bool, device: &Device) {
    let case = format!(
        "{} stored as {} {}",
        M::hub_info().type_name,
        dtype.as_str(),
        if sharded { "in shards" } else { "in one file" }
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = SaveOptions::default().dtype(dtype);
    if sharded {
        options = options.max_shard_size(SMALL_SHARDS);
    }
    let written = model
        .save_pretrained_with(dir.path(), &options)
        .expect("save_pretrained");
    let written: BTreeSet<String> = written
        .iter()
        .map(|p| {
            assert!(
                p.is_file(),
                "{case}: {} was returned but does not exist",
                p.display()
            );
            p.file_name().expect("a file name").to_string_lossy().into_owned()
        })
        .collect();
    let mut expected_files = weight_files(dir.path());
    expected_files.extend(["config.json".to_owned(), "README.md".to_owned()]);
    assert_eq!(written, expected_files, "{case}: the files returned");

    if sharded {
        check_shards(dir.path(), model, dtype);
    } else {
        assert_eq!(
            weight_files(dir.path()),
            BTreeSet::from(["model.safetensors".to_owned()]),
            "{case}"
        );
        let header = read_header(&dir.path().join("model.safetensors"));
        for (name, entry) in header.iter().filter(|(n, _)| *n != "__metadata__") {
            assert_eq!(entry["dtype"], st_dtype(dtype), "{case}: {name}");
        }
    }
    let config = read_json(&dir.path().join("config.json"));
    assert_eq!(config["hubmix"]["dtype"], dtype.as_str(), "{case}: provenance");
    assert_eq!(
        config["hubmix"]["model_type"],
        M::hub_info().type_name,
        "{case}: provenance"
    );

    let loaded = M::from_pretrained_with(path_str(dir.path()), device, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{case}: from_pretrained: {e}"));
    assert!(loaded.report.is_clean(), "{case}: {}", loaded.report);
    assert!(
        loaded.report.warnings.is_empty(),
        "{case}: {:?}",
        loaded.report.warnings
    );
    assert_eq!(loaded.commit, None, "{case}: a folder has no commit");
    assert_same_model(&rounded(model.clone(), dtype), &loaded.model, M::output, &case);
}

/// Every storage type, in one file and in shards.
fn round_trips<M: Arch>(model: &M, device: &Device) {
    for dtype in DTYPES {
        for sharded in [false, true] {
            round_trip(model, dtype, sharded, device);
        }
    }
}

#[test]
fn linear_round_trips() {
    let device = Device::flex();
    round_trips(&Mlp::random(&device), &device);
}

#[test]
fn conv2d_and_batch_norm_with_running_stats_round_trip() {
    let device = Device::flex();
    let model = Cnn::random(&device);
    let names = params(&model);
    assert!(
        names.contains_key("bn.running_mean") && names.contains_key("bn.running_var"),
        "the running statistics are part of the model: {:?}",
        names.keys()
    );
    round_trips(&model, &device);
}

#[test]
fn embedding_and_layer_norm_round_trip() {
    let device = Device::flex();
    round_trips(&Tagger::random(&device), &device);
}

#[test]
fn nested_modules_and_vec_of_modules_round_trip() {
    let device = Device::flex();
    let model = Stack::random(&device);
    assert!(params(&model).contains_key("blocks.2.norm.gamma"));
    round_trips(&model, &device);
}

#[test]
fn enum_modules_round_trip_in_each_variant() {
    let device = Device::flex();
    round_trips(&Head::random(&device), &device);
    round_trips(&Head::random_shallow(&device), &device);
}

#[test]
fn saving_again_replaces_the_weights_of_an_earlier_save() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    let first = Cnn::random(&device);
    first
        .save_pretrained_with(dir.path(), &SaveOptions::default().max_shard_size(SMALL_SHARDS))
        .expect("a sharded save");
    let many = check_shards(dir.path(), &first, StorageType::F32);

    // Fewer, larger shards: the extra shards of the first save are gone.
    let second = Cnn::random(&device);
    second
        .save_pretrained_with(dir.path(), &SaveOptions::default().max_shard_size(800))
        .expect("a sharded save");
    let fewer = check_shards(dir.path(), &second, StorageType::F32);
    assert!(fewer < many, "{fewer} shards after {many}");
    let loaded = Cnn::from_pretrained(path_str(dir.path()), &device).expect("load");
    assert_same_model(&second, &loaded, Cnn::output, "after re-sharding");

    // One file: no shard and no index remain, so a load cannot pick up stale weights.
    let third = Cnn::random(&device);
    third.save_pretrained(dir.path()).expect("a single-file save");
    assert_eq!(
        weight_files(dir.path()),
        BTreeSet::from(["model.safetensors".to_owned()])
    );
    let loaded = Cnn::from_pretrained(path_str(dir.path()), &device).expect("load");
    assert_same_model(&third, &loaded, Cnn::output, "after a single-file save");

    // And back to shards: the single file goes.
    let fourth = Cnn::random(&device);
    fourth
        .save_pretrained_with(dir.path(), &SaveOptions::default().max_shard_size(SMALL_SHARDS))
        .expect("a sharded save");
    assert_eq!(check_shards(dir.path(), &fourth, StorageType::F32), many);
    let loaded = Cnn::from_pretrained(path_str(dir.path()), &device).expect("load");
    assert_same_model(&fourth, &loaded, Cnn::output, "after sharding again");
}

#[test]
fn config_overrides_change_the_built_model() {
    let device = Device::flex();
    let model = Mlp::random(&device);
    let dir = tempfile::tempdir().expect("temp dir");
    model.save_pretrained(dir.path()).expect("save");

    // `relu` does not change any shape: the weights load, the forward pass changes.
    let loaded = Mlp::from_pretrained_with(
        path_str(dir.path()),
        &device,
        &LoadOptions::default().config_override("relu", false),
    )
    .expect("load with an override");
    assert!(!loaded.model.config.relu);
    assert!(loaded.report.is_clean(), "{}", loaded.report);
    let linear = Mlp {
        config: loaded.model.config.clone(),
        ..model.clone()
    };
    assert_same_model(&linear, &loaded.model, Mlp::output, "relu overridden");
    assert_ne!(
        loaded.model.output(),
        model.output(),
        "the override changes the outputs"
    );

    // A shape-changing override builds the other shape, so the saved weights no longer fit.
    let err = Mlp::from_pretrained_with(
        path_str(dir.path()),
        &device,
        &LoadOptions::default().config_override("d_hidden", 16),
    )
    .expect_err("16 hidden units do not fit weights saved for 8");
    let Error::WeightsMismatch { report } = &err else {
        panic!("expected WeightsMismatch, got {err:?}");
    };
    let mut mismatched: Vec<&str> = report.mismatched.iter().map(|m| m.param.path.as_str()).collect();
    mismatched.sort();
    assert_eq!(mismatched, ["fc1.bias", "fc1.weight", "fc2.weight"], "{report}");
    let lenient = Mlp::from_pretrained_with(
        path_str(dir.path()),
        &device,
        &LoadOptions::default()
            .config_override("d_hidden", 16)
            .strict(false),
    )
    .expect("a lenient load");
    assert_eq!(lenient.model.config.d_hidden, 16);
    assert_eq!(lenient.model.fc1.weight.val().dims(), [4, 16]);
    assert_eq!(lenient.report.mismatched.len(), 3, "{}", lenient.report);

    // A key the config does not have is an error that names it and the known ones.
    let err = Mlp::from_pretrained_with(
        path_str(dir.path()),
        &device,
        &LoadOptions::default().config_override("hidden", 16),
    )
    .expect_err("no such key");
    assert!(matches!(err, Error::Checkpoint { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("`hidden`") && message.contains("d_hidden"),
        "{message}"
    );
}
