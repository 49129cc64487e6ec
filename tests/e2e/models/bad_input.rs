//! Bad checkpoints: each load is a typed error that says what is wrong — never a panic, never
//! an abort of the process (which a dtype mismatch reaching the backend can cause).

use std::fs;
use std::path::Path;

use hubmix::{Device, Error, LoadOptions, Loaded, ModelHubMixin, SaveOptions};
use serde_json::{Value, json};

use super::archs::{Arch, Mlp, Tagger};
use super::support::{
    RawTensor, assert_same_model, f32_values, params, path_str, read_json, read_safetensors, write_json,
    write_safetensors,
};

/// A folder with a saved random MLP, and the model.
fn saved(options: &SaveOptions) -> (tempfile::TempDir, Mlp) {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = Mlp::random(&Device::flex());
    model.save_pretrained_with(dir.path(), options).expect("save");
    (dir, model)
}

fn load(dir: &Path, strict: bool) -> Result<Loaded<Mlp>, Error> {
    Mlp::from_pretrained_with(
        path_str(dir),
        &Device::flex(),
        &LoadOptions::default().strict(strict),
    )
}

/// The message of an `Error::Checkpoint` that loading `dir` must give.
fn checkpoint_error(dir: &Path, case: &str) -> String {
    match load(dir, true) {
        Err(e @ Error::Checkpoint { .. }) => e.to_string(),
        Err(other) => panic!("{case}: expected Error::Checkpoint, got {other:?}"),
        Ok(_) => panic!("{case}: a bad checkpoint loaded"),
    }
}

/// Replaces the weights with `bytes`; the load must fail naming the file and `expected`.
fn assert_bad_weights(bytes: &[u8], expected: &str, case: &str) {
    let (dir, _) = saved(&SaveOptions::default());
    fs::write(dir.path().join("model.safetensors"), bytes).expect("write");
    let message = checkpoint_error(dir.path(), case);
    assert!(
        message.contains("model.safetensors"),
        "{case}: names the file: {message}"
    );
    assert!(
        message.contains(expected),
        "{case}: {expected:?} not in {message}"
    );
}

/// The bytes of a saved MLP's weights.
fn good_weights() -> Vec<u8> {
    let (dir, _) = saved(&SaveOptions::default());
    fs::read(dir.path().join("model.safetensors")).expect("read")
}

/// A one-tensor safetensors file with this header entry and `data` bytes.
fn with_entry(entry: Value, data: &[u8]) -> Vec<u8> {
    let header = serde_json::to_vec(&json!({ "fc1.weight": entry })).expect("JSON");
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn truncated_weights() {
    let good = good_weights();
    assert_bad_weights(&good[..good.len() / 2], "truncated", "cut in half");
    assert_bad_weights(&good[..good.len() - 1], "corrupt or truncated", "one byte short");
    assert_bad_weights(&good[..20], "truncated", "inside the header");
    assert_bad_weights(&good[..5], "too short", "inside the length");
    assert_bad_weights(&[], "too short", "empty");
}

#[test]
fn corrupt_weights() {
    let mut good = good_weights();
    assert_bad_weights(
        b"<!DOCTYPE html><html>an error page saved as the weights</html>",
        "truncated or not a safetensors file",
        "an HTML page",
    );
    good[8] = b'#';
    assert_bad_weights(&good, "not valid JSON", "a damaged header");
    let mut longer = good_weights();
    longer.extend_from_slice(&[0; 16]);
    assert_bad_weights(&longer, "cover", "bytes no tensor claims");
    assert_bad_weights(
        &with_entry(json!({"dtype": "F32", "shape": [4, 8]}), &[0; 128]),
        "malformed entry",
        "an entry without offsets",
    );
    assert_bad_weights(
        &with_entry(
            json!({"dtype": "Q4", "shape": [4, 8], "data_offsets": [0, 128]}),
            &[0; 128],
        ),
        "Q4",
        "an unknown dtype",
    );
    assert_bad_weights(
        &with_entry(
            json!({"dtype": "F32", "shape": [4, 8], "data_offsets": [64, 0]}),
            &[0; 128],
        ),
        "corrupt",
        "offsets backwards",
    );
}

#[test]
fn headers_claiming_huge_sizes() {
    let mut huge_header = (1u64 << 60).to_le_bytes().to_vec();
    huge_header.extend_from_slice(b"{}");
    assert_bad_weights(&huge_header, "header claims", "a 2^60-byte header");
    let mut max_header = u64::MAX.to_le_bytes().to_vec();
    max_header.extend_from_slice(&[b' '; 64]);
    assert_bad_weights(&max_header, "header claims", "a u64::MAX header");
    assert_bad_weights(
        &with_entry(
            json!({"dtype": "F32", "shape": [1u64 << 31, 1u64 << 31], "data_offsets": [0, 128]}),
            &[0; 128],
        ),
        "corrupt",
        "a shape of 2^62 elements over 128 bytes",
    );
    assert_bad_weights(
        &with_entry(
            json!({"dtype": "F32", "shape": [u64::MAX / 2, 3], "data_offsets": [0, 128]}),
            &[0; 128],
        ),
        "corrupt",
        "a shape whose size overflows",
    );
    assert_bad_weights(
        &with_entry(
            json!({"dtype": "F32", "shape": [1u64 << 40], "data_offsets": [0, 1u64 << 42]}),
            &[0; 128],
        ),
        "corrupt",
        "offsets far past the end",
    );
}

#[test]
fn missing_files() {
    let (dir, _) = saved(&SaveOptions::default());
    fs::remove_file(dir.path().join("model.safetensors")).expect("remove");
    let message = checkpoint_error(dir.path(), "no weights");
    assert!(
        message.contains("model.safetensors") && message.contains("index"),
        "{message}"
    );

    let (dir, _) = saved(&SaveOptions::default());
    fs::remove_file(dir.path().join("config.json")).expect("remove");
    let message = checkpoint_error(dir.path(), "no config");
    assert!(message.contains("config.json"), "{message}");

    let (dir, _) = saved(&SaveOptions::default().max_shard_size(64));
    let index = read_json(&dir.path().join("model.safetensors.index.json"));
    let shard = index["weight_map"]["fc2.weight"]
        .as_str()
        .expect("a shard")
        .to_owned();
    fs::remove_file(dir.path().join(&shard)).expect("remove a shard");
    let message = checkpoint_error(dir.path(), "a missing shard");
    assert!(message.contains(&shard), "names the shard: {message}");

    let (dir, _) = saved(&SaveOptions::default().max_shard_size(64));
    let mut index = read_json(&dir.path().join("model.safetensors.index.json"));
    index["weight_map"]["fc2.weight"] = json!("model-00009-of-00009.safetensors");
    write_json(&dir.path().join("model.safetensors.index.json"), &index);
    let message = checkpoint_error(dir.path(), "an index naming a shard that does not exist");
    assert!(message.contains("model-00009-of-00009.safetensors"), "{message}");

    let (dir, _) = saved(&SaveOptions::default().max_shard_size(64));
    fs::write(
        dir.path().join("model.safetensors.index.json"),
        b"{\"weight_map\": 3}",
    )
    .expect("write");
    let message = checkpoint_error(dir.path(), "a malformed index");
    assert!(message.contains("model.safetensors.index.json"), "{message}");
}

#[test]
fn a_config_of_another_model_type() {
    // A real checkpoint of another architecture: refused, naming both types.
    let dir = tempfile::tempdir().expect("temp dir");
    Tagger::random(&Device::flex())
        .save_pretrained(dir.path())
        .expect("save");
    let message = checkpoint_error(dir.path(), "a Tagger loaded as an Mlp");
    assert!(message.contains("Tagger") && message.contains("Mlp"), "{message}");
    // Leniently, the type check is a warning, but its config still cannot build an Mlp.
    let err = load(dir.path(), false).expect_err("a Tagger config is not an MlpConfig");
    assert!(matches!(err, Error::Checkpoint { .. }), "{err:?}");
    assert!(err.to_string().contains("d_in"), "names a missing key: {err}");

    // A compatible checkpoint that says it is of another type: strict refuses, lenient warns.
    let (dir, model) = saved(&SaveOptions::default());
    let mut config = read_json(&dir.path().join("config.json"));
    config["hubmix"]["model_type"] = json!("OtherMlp");
    write_json(&dir.path().join("config.json"), &config);
    let message = checkpoint_error(dir.path(), "model_type OtherMlp");
    assert!(
        message.contains("OtherMlp") && message.contains("Mlp"),
        "{message}"
    );
    let loaded = load(dir.path(), false).expect("a lenient load");
    assert_eq!(loaded.report.warnings.len(), 1, "{:?}", loaded.report.warnings);
    let warning = &loaded.report.warnings[0];
    assert!(
        warning.contains("OtherMlp") && warning.contains("Mlp"),
        "{warning}"
    );
    assert!(loaded.report.is_clean());
    assert_same_model(&model, &loaded.model, Mlp::output, "model_type OtherMlp, lenient");
}

#[test]
fn a_config_with_missing_keys_or_not_json() {
    let (dir, _) = saved(&SaveOptions::default());
    let path = dir.path().join("config.json");
    let mut config = read_json(&path);
    config.as_object_mut().expect("an object").remove("d_hidden");
    write_json(&path, &config);
    let message = checkpoint_error(dir.path(), "no d_hidden");
    assert!(message.contains("d_hidden"), "{message}");

    fs::write(&path, b"{\"d_in\": 4,").expect("write");
    let message = checkpoint_error(dir.path(), "truncated JSON");
    assert!(message.contains("not valid JSON"), "{message}");

    fs::write(&path, b"[4, 8, 3]").expect("write");
    let message = checkpoint_error(dir.path(), "a JSON array");
    assert!(message.contains("not a JSON object"), "{message}");

    write_json(
        &path,
        &json!({"d_in": 4, "d_hidden": 8, "d_out": 3, "relu": true, "hubmix": 7}),
    );
    let message = checkpoint_error(dir.path(), "malformed provenance");
    assert!(message.contains("provenance"), "{message}");
}

#[test]
fn a_config_that_disagrees_with_the_weights() {
    let (dir, _) = saved(&SaveOptions::default());
    let path = dir.path().join("config.json");
    let mut config = read_json(&path);
    config["d_in"] = json!(5);
    write_json(&path, &config);
    match load(dir.path(), true) {
        Err(Error::WeightsMismatch { report }) => {
            let [m] = &report.mismatched[..] else {
                panic!("one mismatch expected: {report}");
            };
            assert_eq!(
                (
                    m.param.path.as_str(),
                    &m.param.shape[..],
                    &m.tensor.origin.shape[..]
                ),
                ("fc1.weight", &[5, 8][..], &[4, 8][..]),
                "{report}"
            );
            assert!(
                report.to_string().contains(
                    "fc1.weight [5, 8] F32: the checkpoint's fc1.weight [4, 8] F32 in model.safetensors"
                ),
                "{report}"
            )
        }
        other => panic!("expected WeightsMismatch, got {other:?}"),
    }
}

#[test]
fn f64_weights_are_cast_and_int_or_bool_weights_are_refused_without_aborting() {
    // f64 is a float type: it loads, cast to the module's f32.
    let (dir, model) = saved(&SaveOptions::default());
    let path = dir.path().join("model.safetensors");
    let (metadata, tensors) = read_safetensors(&path);
    let wide: Vec<RawTensor> = tensors
        .iter()
        .map(|t| {
            let data = f32_values(&t.data)
                .into_iter()
                .flat_map(|v| f64::from(v).to_le_bytes())
                .collect();
            RawTensor::new(&t.name, "F64", &t.shape, data)
        })
        .collect();
    write_safetensors(&path, &metadata, &wide);
    let loaded = load(dir.path(), true).expect("f64 weights load");
    assert_same_model(&model, &loaded.model, Mlp::output, "f64 weights");

    // Integers and booleans where floats belong: refused by name, the process survives.
    let mut narrow = tensors.clone();
    for t in &mut narrow {
        match t.name.as_str() {
            "fc1.weight" => t.dtype = "I32".into(),
            "fc2.bias" => *t = RawTensor::new("fc2.bias", "I64", &t.shape, vec![0; 8 * t.shape[0] as usize]),
            "fc1.bias" => *t = RawTensor::new("fc1.bias", "BOOL", &t.shape, vec![1; t.shape[0] as usize]),
            _ => {}
        }
    }
    write_safetensors(&path, &metadata, &narrow);
    let err = load(dir.path(), true).expect_err("int weights in a float model");
    let Error::WeightsMismatch { report } = &err else {
        panic!("expected WeightsMismatch, got {err:?}");
    };
    // Each named with both types: the model's float, the checkpoint's integer or bool.
    let kinds: Vec<(&str, &str, &str)> = report
        .mismatched
        .iter()
        .map(|m| {
            (
                m.param.path.as_str(),
                m.param.dtype.as_str(),
                m.tensor.origin.dtype.as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("fc1.weight", "F32", "I32"),
            ("fc1.bias", "F32", "BOOL"),
            ("fc2.bias", "F32", "I64")
        ],
        "{report}"
    );
    let lenient = load(dir.path(), false).expect("a lenient load");
    assert_eq!(lenient.report.mismatched.len(), 3, "{}", lenient.report);
    assert!(lenient.report.missing.is_empty() && lenient.report.errors.is_empty());
    assert_eq!(
        params(&lenient.model)["fc2.weight"],
        params(&model)["fc2.weight"],
        "the float tensor loaded"
    );

    // f64 and f32 tensors in one file: each is cast on its own.
    let mixed: Vec<RawTensor> = tensors
        .iter()
        .map(|t| match t.name.as_str() {
            "fc1.weight" => wide.iter().find(|w| w.name == t.name).expect("wide").clone(),
            _ => t.clone(),
        })
        .collect();
    write_safetensors(&path, &metadata, &mixed);
    let loaded = load(dir.path(), true).expect("f64 and f32 weights in one file");
    assert_same_model(&model, &loaded.model, Mlp::output, "mixed f64 and f32");
}
