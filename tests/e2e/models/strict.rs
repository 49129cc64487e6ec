//! Strict loading: a checkpoint with missing, unexpected or wrong-shaped tensors is an error
//! that carries the load report (and lists each of them in its message); `strict(false)` loads
//! what fits and reports the same.

use std::path::Path;

use hubmix::{Device, Error, LoadOptions, LoadReport, Loaded, ModelHubMixin};

use super::archs::{Arch, Mlp, Stack};
use super::support::{RawTensor, f32_bytes, params, path_str, read_safetensors, write_safetensors};

/// Saves a random MLP into `dir` and returns it.
fn saved_mlp(dir: &Path, device: &Device) -> Mlp {
    let model = Mlp::random(device);
    model.save_pretrained(dir).expect("save");
    model
}

/// Rewrites `dir/model.safetensors` through `edit`.
fn edit_weights(dir: &Path, edit: impl FnOnce(&mut Vec<RawTensor>)) {
    let path = dir.join("model.safetensors");
    let (metadata, mut tensors) = read_safetensors(&path);
    edit(&mut tensors);
    write_safetensors(&path, &metadata, &tensors);
}

fn load_mlp(dir: &Path, strict: bool) -> Result<Loaded<Mlp>, Error> {
    Mlp::from_pretrained_with(
        path_str(dir),
        &Device::flex(),
        &LoadOptions::default().strict(strict),
    )
}

/// The report of a strict load that must fail.
fn mismatch_report(result: Result<Loaded<Mlp>, Error>) -> LoadReport {
    match result {
        Err(Error::WeightsMismatch { report }) => *report,
        Err(other) => panic!("expected WeightsMismatch, got {other:?}"),
        Ok(loaded) => panic!(
            "a strict load accepted a checkpoint that does not fit: {:?}",
            loaded.report
        ),
    }
}

#[test]
fn missing_unexpected_and_wrong_shaped_tensors_are_each_listed() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    let model = saved_mlp(dir.path(), &device);
    edit_weights(dir.path(), |tensors| {
        tensors.retain(|t| t.name != "fc2.bias");
        tensors.push(RawTensor::new("fc3.weight", "F32", &[2, 2], f32_bytes(&[1.0; 4])));
        let bias = tensors
            .iter_mut()
            .find(|t| t.name == "fc1.bias")
            .expect("fc1.bias");
        *bias = RawTensor::new("fc1.bias", "F32", &[9], f32_bytes(&[0.5; 9]));
    });

    let err = load_mlp(dir.path(), true).expect_err("strict");
    let message = err.to_string();
    assert_eq!(
        err.load_report().map(|r| r.missing_names()),
        Some(vec!["fc2.bias"])
    );
    let report = mismatch_report(Err(err));
    // The caller can inspect what did not fit...
    assert_eq!(report.missing_names(), ["fc2.bias"]);
    assert_eq!(report.unexpected_names(), ["fc3.weight"]);
    let mismatched: Vec<_> = report
        .mismatched
        .iter()
        .map(|m| {
            (
                m.param.path.as_str(),
                m.param.shape.clone(),
                m.tensor.shape.clone(),
            )
        })
        .collect();
    assert_eq!(mismatched, [("fc1.bias", vec![8], vec![9])]);
    let loaded: Vec<&str> = report.loaded.iter().map(|a| a.param.as_str()).collect();
    assert_eq!(loaded, ["fc1.weight", "fc2.weight"]);
    // ...and the message lists it, and says what to do.
    for line in [
        "MISSING    fc2.bias",
        "UNEXPECTED fc3.weight",
        "MISMATCH   fc1.bias [8] F32: the checkpoint's fc1.bias [9] F32 in model.safetensors",
    ] {
        assert!(message.contains(line), "{line:?} not in\n{message}");
    }
    assert!(
        message.starts_with("the weights do not fit the model:\n"),
        "{message}"
    );
    assert!(message.contains(&report.to_string()), "{message}");
    assert!(message.contains("strict(false)"), "says what to do: {message}");

    let loaded = load_mlp(dir.path(), false).expect("a lenient load");
    assert_eq!(loaded.report, report);
    assert!(!loaded.report.is_clean());
    // What fit was loaded; what did not kept the fresh model's values.
    let want = params(&model);
    let got = params(&loaded.model);
    for name in ["fc1.weight", "fc2.weight"] {
        assert_eq!(got[name], want[name], "{name} was loaded");
    }
    for name in ["fc1.bias", "fc2.bias"] {
        assert_ne!(got[name].values, want[name].values, "{name} was not loaded");
        assert_eq!(got[name].shape, want[name].shape);
    }
}

#[test]
fn each_kind_of_mismatch_alone_fails_a_strict_load() {
    let device = Device::flex();
    type Edit = fn(&mut Vec<RawTensor>);
    let cases: [(&str, Edit); 3] = [
        ("MISSING    fc1.weight", |t| t.retain(|t| t.name != "fc1.weight")),
        ("UNEXPECTED extra", |t| {
            t.push(RawTensor::new("extra", "F32", &[1], f32_bytes(&[0.0])))
        }),
        ("MISMATCH   fc2.weight", |t| {
            let w = t.iter_mut().find(|t| t.name == "fc2.weight").expect("fc2.weight");
            w.shape = vec![3, 8];
        }),
    ];
    for (line, edit) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        saved_mlp(dir.path(), &device);
        edit_weights(dir.path(), edit);
        let report = mismatch_report(load_mlp(dir.path(), true));
        let text = report.to_string();
        assert!(text.contains(line), "{line:?} not in\n{text}");
        assert_eq!(text.lines().count(), 1, "only that one: {text}");
        let lenient = load_mlp(dir.path(), false).expect("a lenient load");
        assert_eq!(lenient.report, report);
    }
}

#[test]
fn a_vec_of_modules_of_another_length_is_reported_block_by_block() {
    let device = Device::flex();
    let dir = tempfile::tempdir().expect("temp dir");
    Stack::random(&device).save_pretrained(dir.path()).expect("save");
    let load = |depth: usize, strict: bool| {
        Stack::from_pretrained_with(
            path_str(dir.path()),
            &device,
            &LoadOptions::default()
                .config_override("depth", depth)
                .strict(strict),
        )
    };
    let block = |i: usize| {
        ["linear.weight", "linear.bias", "norm.gamma", "norm.beta"].map(|p| format!("blocks.{i}.{p}"))
    };

    let err = load(2, true).expect_err("a third block in the checkpoint");
    let Error::WeightsMismatch { report } = err else {
        panic!("expected WeightsMismatch, got {err:?}");
    };
    let mut unexpected = block(2).to_vec();
    unexpected.sort();
    assert_eq!(report.unexpected_names(), unexpected);
    assert!(
        report.missing.is_empty() && report.mismatched.is_empty(),
        "{report}"
    );
    let shorter = load(2, false).expect("lenient");
    assert_eq!(shorter.report.unexpected_names(), unexpected);
    assert!(shorter.report.missing.is_empty());

    let longer = load(4, false).expect("lenient");
    // In the module's order.
    let missing = block(3).to_vec();
    assert_eq!(longer.report.missing_names(), missing);
    assert!(longer.report.unexpected.is_empty());
    assert!(
        matches!(load(4, true), Err(Error::WeightsMismatch { report }) if report.missing_names() == missing)
    );
}
