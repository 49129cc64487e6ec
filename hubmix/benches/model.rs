//! Benchmark of `save_pretrained` / `push_to_hub` / `from_pretrained` for a ~200 MB f32 Burn
//! model — three 4096×4096 `Linear` layers (50.3 M parameters, a 201,376,312-byte
//! `model.safetensors`) on the `flex` backend — against Python's `PyTorchModelHubMixin` on the
//! same model (Debian's PyTorch, huggingface_hub 2.4.0, the venv of `hubmix_e2e::torch_venv`), a
//! plain read of the weight file, `safetensors::serialize_to_file` of the same tensors, and
//! burn-store's `SafetensorsStore`, all in the same run and on the same hub.
//!
//! Run with `cargo bench -p hubmix --bench model`. Linux only (peak RSS is read
//! from `/proc`). Environment knobs, for quick trials: `HUBMIX_BENCH_ROUNDS` (default 5; each
//! figure is the median over the rounds) and `HUBMIX_BENCH_DIM` (the layers' width, default
//! 4096).
//!
//! One program, two roles, chosen by its first argument:
//! - no role argument (what `cargo bench` runs): the driver below;
//! - `--measure ROW ARGS...`: one measurement, in a child process of its own, so that its peak
//!   RSS (`VmHWM` of `/proc/self/status`) is that measurement's alone; prints
//!   `SECONDS VMHWM_KIB ANON_KIB PROBES` (`ANON_KIB`: the private memory, `RssAnon`, read after
//!   the work while its result is still alive). The Python rows print the same line.
//!
//! The driver starts an in-process `hubmix_server` on a temporary data folder, builds the model
//! (random weights), saves it with `save_pretrained` into a folder (the file of the "read",
//! "local folder" and burn-store load rows), pushes it with `push_to_hub` to `alice/big`, and
//! loads it once with `from_pretrained` into a cache folder (the warm Hub cache: the blob, the
//! ref and the "no index file" marker). Python does the same with its own model: it pushes a
//! `PyTorchModelHubMixin` model of the same shape to `alice/big-py` and loads it once into its
//! own `HF_HOME`. Then, every round, each row runs once in a child process,
//! starting with a different row each round, after a `sync` (so that one row's dirty pages are
//! not written back during the next). The weight files stay in the page cache throughout (the
//! machine has far more memory than they need): the load rows measure a warm cache.
//!
//! Rows, and what the clock covers (taken inside the child, around the work only; process
//! start-up is excluded, and so is the backend's first use: every Burn row creates
//! `Device::flex()` and one small tensor before the clock starts):
//! - load baseline: `std::fs::read` of `model.safetensors`;
//! - hubmix `from_pretrained_with("alice/big", ..)` from the warm cache, with
//!   `local_files_only(true)` (no network: the revision comes from the cached ref), and again
//!   without it (the normal path: the revision is resolved by the server, then every file is
//!   found in the cache);
//! - hubmix `from_pretrained` of the local folder (for information);
//! - burn-store: `BigConfig::init` (lazy) + `load_from(SafetensorsStore::from_file(file)
//!   .with_from_adapter(FloatCastAdapter::to(F32)))`, the cast the ecosystem notes say a load
//!   must always have;
//! - Python: `Big.from_pretrained("alice/big-py")` from its warm cache with `HF_HUB_OFFLINE=1`;
//! - save baseline: the bytes of the three weights and biases taken from the module as a user
//!   would (`param.val().into_data()`), then `safetensors::serialize_to_file` (which does not
//!   fsync); and, for information, the same followed by `File::sync_all`;
//! - hubmix `save_pretrained` into an empty folder (it writes `config.json`, the weights and a
//!   `README.md`; the weights are written from the tensors' buffers and renamed into place, not fsynced);
//! - burn-store `save_into(SafetensorsStore::from_file(file).overwrite(true))` (which fsyncs);
//! - Python `model.save_pretrained(folder)` into an empty folder;
//! - push: hubmix `push_to_hub` and Python `model.push_to_hub` of a model with fresh random
//!   weights to a fresh repository (each creates the repository, saves, uploads every file).
//!
//! Every load row ends by reading one value of each weight and bias of the loaded model (in the
//! clock), and the driver checks them against the saved model: the tensors really are there.
//! For the save and push rows the model is built and its random weights materialised before the
//! clock starts; their peak RSS therefore includes the model itself. Python's peak RSS includes
//! the interpreter and PyTorch (about 300 MiB before any model exists). All data lives in a temporary
//! folder under `target/tmp` and is removed at the end.

use hubmix_e2e::bench::{env_number, load_average, measure_in_child, median, verdict};
use hubmix_e2e::{run_python, torch_venv};
use std::any::Any;
use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::store::{FloatCastAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::{DType, Device, Tensor};
use hubmix::{DownloadOptions, HubClient, HubModel, LoadOptions, ModelHubMixin, PushOptions};
use hubmix_server::{Role, ServerConfig};

const MIB: f64 = 1024.0 * 1024.0;
/// Default number of rounds; each figure is the median over them.
const DEFAULT_ROUNDS: u64 = 5;
/// Default width of the three layers.
const DEFAULT_DIM: u64 = 4096;
const USER: &str = "alice";
const TOKEN: &str = "tok";
const REPO: &str = "alice/big";
/// The repository Python's model is pushed to and loaded from.
const PY_REPO: &str = "alice/big-py";
/// `from_pretrained` from a warm cache: at most this times Python's.
const LOAD_TIME_TARGET: f64 = 0.5;
/// `from_pretrained` from a warm cache where zero-copy is possible: at most this times the
/// plain read.
const ZERO_COPY_TARGET: f64 = 0.3;
/// `from_pretrained`: peak private RSS at most this times the file size.
const LOAD_RSS_TARGET: f64 = 1.3;
/// `save_pretrained`: at most this times Python's.
const SAVE_TIME_TARGET: f64 = 1.0;
/// `push_to_hub` to a fresh repository: at most this times Python's.
const PUSH_TIME_TARGET: f64 = 0.8;

/// The Python side: `ROLE` is `seed` (push a fresh model to `REPO`, load it once into the
/// cache, print its probes), `save` (into `OUT`), `push` (a fresh model to `REPO`) or `load`
/// (`REPO` from the warm cache). Prints `SECONDS VMHWM_KIB ANON_KIB PROBES` like `--measure`.
const PY_MIXIN: &str = r#"
import os, struct, time
import torch
from torch import nn
from huggingface_hub import PyTorchModelHubMixin

class Big(nn.Module, PyTorchModelHubMixin):
    def __init__(self, dim: int = 4096):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)
        self.fc3 = nn.Linear(dim, dim)

def probes(model):
    out = []
    for layer in (model.fc1, model.fc2, model.fc3):
        for t in (layer.weight, layer.bias):
            v = t.detach().reshape(-1)[0].item()
            out.append("%08x" % struct.unpack("<I", struct.pack("<f", v))[0])
    return ",".join(out)

def status_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit("no " + field)

role, dim = os.environ["ROLE"], int(os.environ["DIM"])
model, shown = None, "-"
if role in ("save", "push", "seed"):
    model = Big(dim)
start = time.perf_counter()
if role == "save":
    model.save_pretrained(os.environ["OUT"])
elif role == "push":
    model.push_to_hub(os.environ["REPO"])
elif role == "seed":
    model.push_to_hub(os.environ["REPO"])
    model = Big.from_pretrained(os.environ["REPO"])
    shown = probes(model)
else:
    model = Big.from_pretrained(os.environ["REPO"])
    shown = probes(model)
seconds = time.perf_counter() - start
print(seconds, status_kib("VmHWM"), status_kib("RssAnon"), shown)
"#;

/// The model's hyperparameters.
#[derive(Config, Debug)]
pub struct BigConfig {
    pub dim: usize,
}

impl BigConfig {
    /// Builds the model (lazily: parameters are allocated when first used or loaded).
    pub fn init(&self, device: &Device) -> Big {
        Big {
            fc1: LinearConfig::new(self.dim, self.dim).init(device),
            fc2: LinearConfig::new(self.dim, self.dim).init(device),
            fc3: LinearConfig::new(self.dim, self.dim).init(device),
            config: self.clone(),
        }
    }
}

/// Three `dim`×`dim` linear layers.
#[derive(Module, Debug, HubModel)]
#[hub(config = BigConfig)]
pub struct Big {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    #[module(skip)]
    config: BigConfig,
}

impl Big {
    fn layers(&self) -> [(&str, &Linear); 3] {
        [("fc1", &self.fc1), ("fc2", &self.fc2), ("fc3", &self.fc3)]
    }

    /// The first value of each weight and bias, as bits: reading them forces the tensors to
    /// exist (and, for a fresh model, draws its random weights).
    fn probes(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (_, layer) in self.layers() {
            let w: Tensor<2> = layer.weight.val();
            out.push(w.slice([0..1, 0..1]).into_scalar::<f32>().to_bits());
            let b: Tensor<1> = layer.bias.as_ref().expect("the layers have biases").val();
            out.push(b.slice(0..1).into_scalar::<f32>().to_bits());
        }
        out
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--measure") => measure(&args[1..]),
        _ => drive(),
    }
}

/// The flex device, used once so that the backend's start-up is not in any row's clock.
fn device() -> Device {
    let device = Device::flex();
    let warm: Tensor<1> = Tensor::zeros([1], &device);
    assert_eq!(warm.into_scalar::<f32>(), 0.0);
    device
}

/// A model with its random weights materialised.
fn random_model(dim: usize, device: &Device) -> Big {
    let model = BigConfig::new(dim).init(device);
    model.probes();
    model
}

/// A client of the benchmark's hub, without a token, with its cache in `cache`.
fn client(endpoint: &str, cache: &Path) -> HubClient {
    HubClient::builder()
        .endpoint(endpoint)
        .cache_dir(cache)
        .no_token()
        .offline(false)
        .progress_bars(Some(false))
        .build()
        .expect("hubmix client")
}

/// A client of the benchmark's hub with alice's write token, with its cache in `cache`.
fn writer(endpoint: &str, cache: &Path) -> HubClient {
    HubClient::builder()
        .endpoint(endpoint)
        .cache_dir(cache)
        .token(TOKEN)
        .progress_bars(Some(false))
        .build()
        .expect("hubmix client")
}

/// The `--measure ROW ARGS...` role: one measurement; prints
/// `SECONDS VMHWM_KIB ANON_KIB PROBES`.
fn measure(args: &[String]) {
    let row = args.first().expect("--measure ROW ARGS...").as_str();
    let arg = |i: usize| -> &str {
        args.get(i)
            .unwrap_or_else(|| panic!("{row}: argument {i} is missing"))
    };
    let dim = || arg(2).parse::<usize>().expect("DIM");
    // What the work produced stays alive (`_kept`) until its private memory has been read.
    let (seconds, probes, _kept): (f64, Vec<u32>, Box<dyn Any>) = match row {
        "read" => {
            let start = Instant::now();
            let bytes = fs::read(arg(1)).expect("read the weight file");
            (start.elapsed().as_secs_f64(), Vec::new(), Box::new(bytes))
        }
        "hub-offline" | "hub-online" => {
            let (endpoint, cache) = (arg(1), Path::new(arg(2)));
            let device = device();
            let options = LoadOptions::default()
                .client(client(endpoint, cache))
                .download(DownloadOptions::default().local_files_only(row == "hub-offline"));
            let start = Instant::now();
            let loaded = Big::from_pretrained_with(REPO, &device, &options).expect("from_pretrained");
            let probes = loaded.model.probes();
            (start.elapsed().as_secs_f64(), probes, Box::new(loaded.model))
        }
        "local" => {
            let device = device();
            let start = Instant::now();
            let model = Big::from_pretrained(arg(1), &device).expect("from_pretrained");
            let probes = model.probes();
            (start.elapsed().as_secs_f64(), probes, Box::new(model))
        }
        "burn-store-load" => {
            let device = device();
            let start = Instant::now();
            let mut model = BigConfig::new(dim()).init(&device);
            let mut store =
                SafetensorsStore::from_file(arg(1)).with_from_adapter(FloatCastAdapter::to(DType::F32));
            let result = model.load_from(&mut store).expect("burn-store load");
            assert!(result.is_success(), "{result}");
            let probes = model.probes();
            (start.elapsed().as_secs_f64(), probes, Box::new(model))
        }
        "save-raw" | "save-raw-sync" => {
            let device = device();
            let model = random_model(dim(), &device);
            let path = Path::new(arg(1)).join("model.safetensors");
            let start = Instant::now();
            let mut tensors = Vec::new();
            for (name, layer) in model.layers() {
                let bias = layer.bias.as_ref().expect("the layers have biases");
                tensors.push((format!("{name}.weight"), layer.weight.val().into_data()));
                tensors.push((format!("{name}.bias"), bias.val().into_data()));
            }
            let views = tensors.iter().map(|(name, data)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    data.shape().to_vec(),
                    data.as_bytes(),
                )
                .expect("a tensor view");
                (name.as_str(), view)
            });
            safetensors::serialize_to_file(views, None, &path).expect("serialize_to_file");
            if row == "save-raw-sync" {
                fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .expect("sync the file");
            }
            (start.elapsed().as_secs_f64(), Vec::new(), Box::new(model))
        }
        "save-hubmix" => {
            let device = device();
            let model = random_model(dim(), &device);
            let start = Instant::now();
            model.save_pretrained(arg(1)).expect("save_pretrained");
            (start.elapsed().as_secs_f64(), Vec::new(), Box::new(model))
        }
        "save-burn-store" => {
            let device = device();
            let model = random_model(dim(), &device);
            let path = Path::new(arg(1)).join("model.safetensors");
            let start = Instant::now();
            let mut store = SafetensorsStore::from_file(path).overwrite(true);
            model.save_into(&mut store).expect("burn-store save");
            (start.elapsed().as_secs_f64(), Vec::new(), Box::new(model))
        }
        "push-hubmix" => {
            let (endpoint, cache, repo) = (arg(1), Path::new(arg(3)), arg(4));
            let device = device();
            let model = random_model(dim(), &device);
            let options = PushOptions::default().client(writer(endpoint, cache));
            let start = Instant::now();
            model.push_to_hub(repo, &options).expect("push_to_hub");
            (start.elapsed().as_secs_f64(), Vec::new(), Box::new(model))
        }
        other => panic!("unknown row {other:?}"),
    };
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let probes: Vec<String> = probes.iter().map(|p| format!("{p:08x}")).collect();
    let probes = if probes.is_empty() {
        "-".into()
    } else {
        probes.join(",")
    };
    println!(
        "{seconds} {} {} {probes}",
        status_kib(&status, "VmHWM"),
        status_kib(&status, "RssAnon")
    );
}

/// A `kB` field of `/proc/<pid>/status`.
fn status_kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// The rows, in table order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Row {
    Read,
    HubOffline,
    HubOnline,
    Local,
    BurnStoreLoad,
    PythonLoad,
    SaveRaw,
    SaveRawSync,
    SaveHubmix,
    SaveBurnStore,
    PythonSave,
    PushHubmix,
    PythonPush,
}

const ROWS: [Row; 13] = [
    Row::Read,
    Row::HubOffline,
    Row::HubOnline,
    Row::Local,
    Row::BurnStoreLoad,
    Row::PythonLoad,
    Row::SaveRaw,
    Row::SaveRawSync,
    Row::SaveHubmix,
    Row::SaveBurnStore,
    Row::PythonSave,
    Row::PushHubmix,
    Row::PythonPush,
];

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::Read => "1. plain read: `std::fs::read` of model.safetensors",
            Row::HubOffline => "2. hubmix `from_pretrained`, warm Hub cache, `local_files_only(true)`",
            Row::HubOnline => "2b. hubmix `from_pretrained`, warm Hub cache, revision resolved online",
            Row::Local => "3. hubmix `from_pretrained` of the local folder",
            Row::BurnStoreLoad => {
                "4. burn-store `SafetensorsStore::from_file` + `load_from` (FloatCastAdapter)"
            }
            Row::PythonLoad => "4b. Python `from_pretrained`, warm Hub cache, `HF_HUB_OFFLINE=1`",
            Row::SaveRaw => "5. `safetensors::serialize_to_file` (bytes via `into_data`)",
            Row::SaveRawSync => "5b. the same + `File::sync_all`",
            Row::SaveHubmix => "6. hubmix `save_pretrained` into an empty folder",
            Row::SaveBurnStore => "7. burn-store `save_into(from_file(..).overwrite(true))`",
            Row::PythonSave => "7b. Python `save_pretrained` into an empty folder",
            Row::PushHubmix => "8. hubmix `push_to_hub` to a fresh repository",
            Row::PythonPush => "8b. Python `push_to_hub` to a fresh repository",
        }
    }

    /// The argument of `--measure`, or the `ROLE` of the Python script.
    fn role(self) -> &'static str {
        match self {
            Row::Read => "read",
            Row::HubOffline => "hub-offline",
            Row::HubOnline => "hub-online",
            Row::Local => "local",
            Row::BurnStoreLoad => "burn-store-load",
            Row::SaveRaw => "save-raw",
            Row::SaveRawSync => "save-raw-sync",
            Row::SaveHubmix => "save-hubmix",
            Row::SaveBurnStore => "save-burn-store",
            Row::PushHubmix => "push-hubmix",
            Row::PythonLoad => "load",
            Row::PythonSave => "save",
            Row::PythonPush => "push",
        }
    }

    fn is_python(self) -> bool {
        matches!(self, Row::PythonLoad | Row::PythonSave | Row::PythonPush)
    }

    fn is_load(self) -> bool {
        matches!(
            self,
            Row::HubOffline | Row::HubOnline | Row::Local | Row::BurnStoreLoad | Row::PythonLoad
        )
    }

    fn is_save(self) -> bool {
        matches!(
            self,
            Row::SaveRaw | Row::SaveRawSync | Row::SaveHubmix | Row::SaveBurnStore | Row::PythonSave
        )
    }
}

/// One measurement.
struct Sample {
    seconds: f64,
    rss_kib: u64,
    /// Private memory (`RssAnon`) after the work, its result still alive.
    anon_kib: u64,
}

/// What the rows work on.
struct Setup {
    dim: usize,
    endpoint: String,
    /// The folder `save_pretrained` wrote (config, weights, card).
    local: PathBuf,
    /// The warm Hub cache.
    cache: PathBuf,
    /// Where save rows write (emptied before each).
    out: PathBuf,
    /// The first value of each weight and bias of the saved model.
    probes: Vec<u32>,
    /// The same for Python's model.
    python_probes: Vec<u32>,
    /// The PyTorch venv.
    venv: PathBuf,
    /// Python's `HF_HOME` (its warm cache).
    python_home: PathBuf,
    /// The number of pushes so far: each goes to a fresh repository.
    pushes: Cell<usize>,
}

/// A path as a string argument.
fn path(p: &Path) -> String {
    p.to_str().expect("UTF-8 paths").to_owned()
}

/// Parses a `SECONDS VMHWM_KIB ANON_KIB PROBES` line.
fn parse_sample(stdout: &str) -> (Sample, Vec<u32>) {
    let line = stdout.lines().last().expect("a measurement line");
    let mut parts = line.split_whitespace();
    let mut next = || parts.next().expect("SECONDS VMHWM_KIB ANON_KIB PROBES");
    let seconds = next().parse().expect("seconds");
    let rss_kib = next().parse().expect("VmHWM");
    let anon_kib = next().parse().expect("RssAnon");
    let probes = match next() {
        "-" => Vec::new(),
        list => list
            .split(',')
            .map(|p| u32::from_str_radix(p, 16).expect("a probe"))
            .collect(),
    };
    let sample = Sample {
        seconds,
        rss_kib,
        anon_kib,
    };
    (sample, probes)
}

impl Setup {
    /// Runs Python's side with `role` and `more` environment.
    fn python(&self, role: &str, more: &[(&str, &str)]) -> String {
        let (home, dim) = (path(&self.python_home), self.dim.to_string());
        let mut env = vec![
            ("ROLE", role),
            ("DIM", dim.as_str()),
            ("HF_ENDPOINT", self.endpoint.as_str()),
            ("HF_TOKEN", TOKEN),
            ("HF_HOME", home.as_str()),
            ("HF_HUB_DISABLE_XET", "1"),
            ("HF_HUB_DISABLE_TELEMETRY", "1"),
            ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ];
        env.extend_from_slice(more);
        run_python(&self.venv, PY_MIXIN, &env)
    }

    fn weights(&self) -> PathBuf {
        self.local.join("model.safetensors")
    }

    /// A fresh repository name for a push.
    fn fresh_repo(&self, who: &str) -> String {
        let n = self.pushes.get() + 1;
        self.pushes.set(n);
        format!("{USER}/push-{who}-{n}")
    }

    /// Empties the save rows' output folder.
    fn clear_out(&self) {
        if self.out.exists() {
            fs::remove_dir_all(&self.out).expect("clear the output folder");
        }
        fs::create_dir_all(&self.out).expect("create the output folder");
    }

    /// Runs `row` once in a child process.
    fn run(&self, row: Row) -> Sample {
        let dim = self.dim.to_string();
        if row.is_save() {
            self.clear_out();
        }
        let synced = Command::new("sync").status().is_ok_and(|s| s.success());
        assert!(synced, "sync failed");
        let stdout = if row.is_python() {
            match row {
                Row::PythonLoad => self.python("load", &[("REPO", PY_REPO), ("HF_HUB_OFFLINE", "1")]),
                Row::PythonSave => self.python("save", &[("OUT", path(&self.out).as_str())]),
                _ => self.python("push", &[("REPO", self.fresh_repo("py").as_str())]),
            }
        } else {
            let mut args = vec![row.role().to_owned()];
            args.extend(match row {
                Row::Read => vec![path(&self.weights())],
                Row::HubOffline | Row::HubOnline => vec![self.endpoint.clone(), path(&self.cache)],
                Row::Local => vec![path(&self.local)],
                Row::BurnStoreLoad => vec![path(&self.weights()), dim],
                Row::PushHubmix => vec![
                    self.endpoint.clone(),
                    dim,
                    path(&self.out.with_extension("push-cache")),
                    self.fresh_repo("hubmix"),
                ],
                _ => vec![path(&self.out), dim],
            });
            measure_in_child(&args)
        };
        let (sample, probes) = parse_sample(&stdout);
        if row.is_load() {
            let expected = if row.is_python() {
                &self.python_probes
            } else {
                &self.probes
            };
            assert_eq!(
                &probes,
                expected,
                "{}: the loaded weights differ from the saved ones",
                row.name()
            );
        }
        if row.is_save() {
            let file = self.out.join("model.safetensors");
            let len = fs::metadata(&file).expect("the saved weights").len();
            let expected = fs::metadata(self.weights()).expect("the seeded weights").len();
            // Same tensors; only the header (metadata) may differ.
            assert!(
                len.abs_diff(expected) < 4096,
                "{}: wrote {len} bytes, the seeded file has {expected}",
                row.name()
            );
        }
        sample
    }
}

/// The driver: seeds, measures, prints the table.
fn drive() {
    let rounds = env_number("HUBMIX_BENCH_ROUNDS", DEFAULT_ROUNDS) as usize;
    let dim = env_number("HUBMIX_BENCH_DIM", DEFAULT_DIM) as usize;
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(tmp).expect("create target/tmp");
    let venv = torch_venv(tmp).unwrap_or_else(|e| panic!("the PyTorch venv: {e}"));
    let work = tempfile::Builder::new()
        .prefix("hubmix-model-bench-")
        .tempdir_in(tmp)
        .expect("create the work folder");
    let server =
        hubmix_server::spawn(ServerConfig::new(work.path().join("hub")).user(USER, TOKEN, Role::Write))
            .expect("start hubmix-server");
    let endpoint = server.url().to_owned();

    // Seed: save, push, and download once into the cache.
    let local = work.path().join("local");
    let cache = work.path().join("cache");
    let probes = {
        let device = device();
        let model = random_model(dim, &device);
        let probes = model.probes();
        model.save_pretrained(&local).expect("save_pretrained");
        let writer = writer(&endpoint, &work.path().join("writer-cache"));
        model
            .push_to_hub(REPO, &PushOptions::default().client(writer))
            .expect("push_to_hub");
        let warm = Big::from_pretrained_with(
            REPO,
            &device,
            &LoadOptions::default().client(client(&endpoint, &cache)),
        )
        .expect("from_pretrained into the cache");
        assert_eq!(warm.model.probes(), probes, "the downloaded model differs");
        probes
    };
    let mut setup = Setup {
        dim,
        endpoint,
        local,
        cache,
        out: work.path().join("out"),
        probes,
        python_probes: Vec::new(),
        venv,
        python_home: work.path().join("python-home"),
        pushes: Cell::new(0),
    };
    // Python's seed: its own model pushed to `PY_REPO` and loaded once into its cache.
    let (_, python_probes) = parse_sample(&setup.python("seed", &[("REPO", PY_REPO)]));
    assert_eq!(python_probes.len(), 6, "Python's seed prints six probes");
    setup.python_probes = python_probes;

    let file_len = fs::metadata(setup.weights()).expect("the weight file").len();
    println!(
        "hubmix model benchmark: 3 Linear {dim}x{dim} (f32), model.safetensors {file_len} bytes \
         ({:.1} MiB), flex backend, {rounds} rounds, {} cores, load average {}",
        file_len as f64 / MIB,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    let mut samples: Vec<Vec<Sample>> = ROWS.iter().map(|_| Vec::new()).collect();
    // Each round starts with another row, so that none always runs first or last.
    for round in 0..rounds {
        for k in 0..ROWS.len() {
            let i = (k + round) % ROWS.len();
            let s = setup.run(ROWS[i]);
            println!(
                "round {}: {}: {:.3} s, peak RSS {:.1} MiB, private {:.1} MiB",
                round + 1,
                ROWS[i].name(),
                s.seconds,
                s.rss_kib as f64 / 1024.0,
                s.anon_kib as f64 / 1024.0
            );
            samples[i].push(s);
        }
    }
    report(&samples, file_len as f64 / MIB);
    println!("\nload average at the end: {}", load_average());
    server.shutdown();
}

/// Prints the table of medians, the ratios against the targets, and every round.
fn report(samples: &[Vec<Sample>], file_mib: f64) {
    let secs: Vec<f64> = samples.iter().map(|s| median(s, |s| s.seconds)).collect();
    let mib = |kib: &dyn Fn(&Sample) -> u64| -> Vec<f64> {
        samples
            .iter()
            .map(|s| median(s, |s| kib(s) as f64) / 1024.0)
            .collect()
    };
    let (rss, anon) = (mib(&|s| s.rss_kib), mib(&|s| s.anon_kib));
    let at = |row: Row| secs[ROWS.iter().position(|r| *r == row).expect("a row")];
    let (read, raw_save) = (at(Row::Read), at(Row::SaveRaw));
    let (py_load, py_save, py_push) = (at(Row::PythonLoad), at(Row::PythonSave), at(Row::PythonPush));

    println!(
        "\n| row | seconds (median) | peak RSS MiB | private MiB after | time ratio | target | private / file | result |"
    );
    println!("|---|---:|---:|---:|---|---|---|---|");
    for (i, row) in ROWS.iter().enumerate() {
        let private = anon[i] / file_mib;
        let (ratio, target, result) = match row {
            Row::Read | Row::SaveRaw => ("(baseline)".to_owned(), String::new(), ""),
            Row::HubOffline | Row::HubOnline => {
                let (t, p) = (secs[i] / read, secs[i] / py_load);
                let ok = (t <= ZERO_COPY_TARGET || p <= LOAD_TIME_TARGET) && private <= LOAD_RSS_TARGET;
                (
                    format!("{t:.2}× read, {p:.2}× Python"),
                    format!(
                        "≤ {ZERO_COPY_TARGET}× read (zero-copy) or ≤ {LOAD_TIME_TARGET}× Python; \
                         private ≤ {LOAD_RSS_TARGET}× file"
                    ),
                    verdict(ok),
                )
            }
            Row::SaveHubmix => {
                let t = secs[i] / py_save;
                (
                    format!("{t:.2}× Python, {:.2}× raw save", secs[i] / raw_save),
                    format!("≤ {SAVE_TIME_TARGET}× Python"),
                    verdict(t <= SAVE_TIME_TARGET),
                )
            }
            Row::PushHubmix => {
                let t = secs[i] / py_push;
                (
                    format!("{t:.2}× Python"),
                    format!("≤ {PUSH_TIME_TARGET}× Python"),
                    verdict(t <= PUSH_TIME_TARGET),
                )
            }
            Row::Local | Row::BurnStoreLoad | Row::PythonLoad => {
                (format!("{:.2}× read", secs[i] / read), "(info)".into(), "")
            }
            Row::SaveRawSync | Row::SaveBurnStore | Row::PythonSave => (
                format!("{:.2}× raw save", secs[i] / raw_save),
                "(info)".into(),
                "",
            ),
            Row::PythonPush => ("(baseline of 8)".to_owned(), String::new(), ""),
        };
        println!(
            "| {} | {:.3} | {:.1} | {:.1} | {ratio} | {target} | {private:.2}× | {result} |",
            row.name(),
            secs[i],
            rss[i],
            anon[i]
        );
    }
    println!("\nevery round (s):");
    for (row, s) in ROWS.iter().zip(samples) {
        let all: Vec<String> = s.iter().map(|s| format!("{:.3}", s.seconds)).collect();
        let kib: Vec<String> = s
            .iter()
            .map(|s| format!("{:.1}", s.rss_kib as f64 / 1024.0))
            .collect();
        println!(
            "- {}: {} (peak RSS MiB: {})",
            row.name(),
            all.join(", "),
            kib.join(", ")
        );
    }
}
