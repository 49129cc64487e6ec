//! Interop with real PyTorch (Debian's `python3-torch`, CPU) and `huggingface_hub` 2.4.0's
//! `PyTorchModelHubMixin`, in the venv of [`torch_venv`](hubmix_e2e::torch_venv):
//!
//! - models saved (and pushed) by Python load into the equivalent Burn models, declared with
//!   `#[hub(layout = "pytorch")]`, and give the same outputs within 1e-5;
//! - Burn models pushed in the PyTorch layout load in Python through
//!   `PyTorchModelHubMixin.from_pretrained`, every tensor in place, with the same outputs.
//!
//! Two architectures: Linear + LayerNorm + ReLU, and Conv2d + BatchNorm2d (with running
//! statistics) + ReLU + Linear. Inputs and outputs travel as JSON.
//!
//! Under `CI=true` a missing torch venv fails the tests; elsewhere they are skipped with the
//! reason printed.

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use hubmix::{Device, HubModel, LoadOptions, ModelHubMixin, PushOptions};
use hubmix_e2e::{TestHub, python_env, run_python, torch_venv_or_skip};
use serde_json::{Value, json};

use super::support::{
    assert_close, client, floats, path_str, random_input, randomize, read_json, tensor_from, values,
    write_json,
};

/// The largest difference allowed between Burn's and PyTorch's outputs.
const TOLERANCE: f32 = 1e-5;

/// The PyTorch models, with the same names and config keys as the Burn ones below.
const PY_MODELS: &str = r#"
import json, os
import torch
from torch import nn
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from safetensors.torch import load_model

class Mlp(nn.Module, PyTorchModelHubMixin):
    def __init__(self, d_in: int, d_hidden: int, d_out: int):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.norm = nn.LayerNorm(d_hidden)
        self.fc2 = nn.Linear(d_hidden, d_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.norm(self.fc1(x))))

class Cnn(nn.Module, PyTorchModelHubMixin):
    def __init__(self, channels: int, features: int, size: int, classes: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, features, 3)
        self.bn = nn.BatchNorm2d(features)
        self.head = nn.Linear(features * (size - 2) ** 2, classes)

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.conv(x))).flatten(1))

MODELS = {"mlp": Mlp, "cnn": Cnn}
"#;

/// Builds random models, trains the BatchNorm statistics a little, saves each into
/// `$OUT/<name>`, pushes it to `alice/py-<name>`, and writes inputs and outputs to
/// `$OUT/io.json`.
const PY_SAVE: &str = r#"
torch.manual_seed(0)
out = os.environ["OUT"]
mlp = Mlp(d_in=4, d_hidden=8, d_out=3)
cnn = Cnn(channels=2, features=4, size=6, classes=3)
with torch.no_grad():
    for norm in (mlp.norm, cnn.bn):
        nn.init.uniform_(norm.weight, 0.5, 1.5)
        nn.init.uniform_(norm.bias, -0.5, 0.5)
cnn.train()
with torch.no_grad():
    for _ in range(3):
        cnn(torch.randn(8, 2, 6, 6) * 2 + 0.5)
assert int(cnn.bn.num_batches_tracked) == 3
io = {}
for name, model, shape in [("mlp", mlp, (5, 4)), ("cnn", cnn, (2, 2, 6, 6))]:
    model.eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        y = model(x)
    model.save_pretrained(os.path.join(out, name))
    model.push_to_hub(f"alice/py-{name}")
    io[name] = {"input": x.flatten().tolist(), "shape": list(x.shape), "output": y.flatten().tolist()}
with open(os.path.join(out, "io.json"), "w") as f:
    json.dump(io, f)
"#;

/// Loads `alice/rs-<name>` with `from_pretrained`, checks which tensors the file fills, and
/// prints the outputs on the inputs of `$IO` as JSON.
const PY_LOAD: &str = r#"
with open(os.environ["IO"]) as f:
    io = json.load(f)
result = {}
for name, cls in MODELS.items():
    repo = f"alice/rs-{name}"
    model = cls.from_pretrained(repo)
    model.eval()
    missing, unexpected = load_model(model, hf_hub_download(repo, "model.safetensors"), strict=False)
    x = torch.tensor(io[name]["input"], dtype=torch.float32).reshape(io[name]["shape"])
    with torch.no_grad():
        y = model(x)
    result[name] = {"output": y.flatten().tolist(), "missing": sorted(missing), "unexpected": sorted(unexpected)}
print(json.dumps(result))
"#;

#[derive(Config, Debug)]
pub struct PtMlpConfig {
    pub d_in: usize,
    pub d_hidden: usize,
    pub d_out: usize,
}

impl PtMlpConfig {
    pub fn init(&self, device: &Device) -> PtMlp {
        PtMlp {
            fc1: LinearConfig::new(self.d_in, self.d_hidden).init(device),
            norm: LayerNormConfig::new(self.d_hidden).init(device),
            fc2: LinearConfig::new(self.d_hidden, self.d_out).init(device),
            config: self.clone(),
        }
    }
}

/// Python's `Mlp`.
#[derive(Module, Debug, HubModel)]
#[hub(config = PtMlpConfig, layout = "pytorch")]
pub struct PtMlp {
    fc1: Linear,
    norm: LayerNorm,
    fc2: Linear,
    #[module(skip)]
    config: PtMlpConfig,
}

impl PtMlp {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(relu(self.norm.forward(self.fc1.forward(x))))
    }
}

#[derive(Config, Debug)]
pub struct PtCnnConfig {
    pub channels: usize,
    pub features: usize,
    pub size: usize,
    pub classes: usize,
}

impl PtCnnConfig {
    pub fn init(&self, device: &Device) -> PtCnn {
        let side = self.size - 2;
        PtCnn {
            conv: Conv2dConfig::new([self.channels, self.features], [3, 3]).init(device),
            bn: BatchNormConfig::new(self.features).init(device),
            head: LinearConfig::new(self.features * side * side, self.classes).init(device),
            config: self.clone(),
        }
    }
}

/// Python's `Cnn`.
#[derive(Module, Debug, HubModel)]
#[hub(config = PtCnnConfig, layout = "pytorch")]
pub struct PtCnn {
    conv: Conv2d,
    bn: BatchNorm,
    head: Linear,
    #[module(skip)]
    config: PtCnnConfig,
}

impl PtCnn {
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head
            .forward(relu(self.bn.forward(self.conv.forward(x))).flatten(1, 3))
    }
}

#[test]
fn models_saved_by_pytorch_model_hub_mixin_load_into_burn() {
    let Some(venv) = torch_venv_or_skip(Path::new(env!("CARGO_TARGET_TMPDIR"))) else {
        return;
    };
    let hub = TestHub::start();
    let home = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let script = format!("{PY_MODELS}{PY_SAVE}");
    run_python(
        &venv,
        &script,
        &python_env(&hub, path_str(home.path()), &[("OUT", path_str(out.path()))]),
    );
    let io = read_json(&out.path().join("io.json"));
    let device = Device::flex();
    let cache = tempfile::tempdir().expect("temp dir");
    let options = LoadOptions::default().client(client(&hub, cache.path()));

    // Strict loads: every tensor fits (BatchNorm's num_batches_tracked has no Burn counterpart).
    let mlp_dir = out.path().join("mlp");
    let case = &io["mlp"];
    let shape: [usize; 2] = serde_json::from_value(case["shape"].clone()).expect("a 2-d shape");
    for source in [path_str(&mlp_dir), "alice/py-mlp"] {
        let loaded = PtMlp::from_pretrained_with(source, &device, &options)
            .unwrap_or_else(|e| panic!("loading {source}: {e}"));
        assert!(loaded.report.is_clean(), "{source}: {}", loaded.report);
        assert_eq!(loaded.model.config.d_hidden, 8);
        let x = tensor_from(floats(&case["input"]), shape, &device);
        assert_close(
            &values(loaded.model.forward(x)),
            &floats(&case["output"]),
            TOLERANCE,
            source,
        );
    }

    let cnn_dir = out.path().join("cnn");
    let case = &io["cnn"];
    let shape: [usize; 4] = serde_json::from_value(case["shape"].clone()).expect("a 4-d shape");
    for source in [path_str(&cnn_dir), "alice/py-cnn"] {
        let loaded = PtCnn::from_pretrained_with(source, &device, &options)
            .unwrap_or_else(|e| panic!("loading {source}: {e}"));
        assert!(loaded.report.is_clean(), "{source}: {}", loaded.report);
        assert_eq!(loaded.model.config.features, 4);
        let x = tensor_from(floats(&case["input"]), shape, &device);
        assert_close(
            &values(loaded.model.forward(x)),
            &floats(&case["output"]),
            TOLERANCE,
            source,
        );
    }
}

#[test]
fn burn_models_pushed_in_the_pytorch_layout_load_in_python() {
    let Some(venv) = torch_venv_or_skip(Path::new(env!("CARGO_TARGET_TMPDIR"))) else {
        return;
    };
    let hub = TestHub::start();
    let device = Device::flex();
    let cache = tempfile::tempdir().expect("temp dir");
    let push = PushOptions::default().client(client(&hub, cache.path()));

    let mlp = randomize(PtMlpConfig::new(4, 8, 3).init(&device));
    let cnn = randomize(PtCnnConfig::new(2, 4, 6, 3).init(&device));
    mlp.push_to_hub("alice/rs-mlp", &push).expect("push the MLP");
    cnn.push_to_hub("alice/rs-cnn", &push).expect("push the CNN");
    let mlp_x = random_input([5, 4], &device);
    let cnn_x = random_input([2, 2, 6, 6], &device);
    let io = json!({
        "mlp": {"input": values(mlp_x.clone()), "shape": [5, 4], "output": values(mlp.forward(mlp_x))},
        "cnn": {"input": values(cnn_x.clone()), "shape": [2, 2, 6, 6], "output": values(cnn.forward(cnn_x))},
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let io_path = dir.path().join("io.json");
    write_json(&io_path, &io);

    let home = tempfile::tempdir().expect("temp dir");
    let script = format!("{PY_MODELS}{PY_LOAD}");
    let printed = run_python(
        &venv,
        &script,
        &python_env(&hub, path_str(home.path()), &[("IO", path_str(&io_path))]),
    );
    let last = printed.lines().last().expect("the script prints its result");
    let result: Value = serde_json::from_str(last).expect("JSON from Python");
    for name in ["mlp", "cnn"] {
        let got = &result[name];
        // Every tensor in place. (Burn has no counterpart of BatchNorm's `num_batches_tracked`,
        // which PyTorch fills in itself when a checkpoint lacks it.)
        assert_eq!(
            got["unexpected"],
            json!([]),
            "{name}: tensors Python does not know"
        );
        assert_eq!(got["missing"], json!([]), "{name}: tensors the file lacks");
        assert_close(
            &floats(&got["output"]),
            &floats(&io[name]["output"]),
            TOLERANCE,
            name,
        );
    }
}
