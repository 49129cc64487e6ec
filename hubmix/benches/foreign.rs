//! Benchmark of loading a foreign checkpoint: a ~500 MB transformers `BertModel` saved in bf16
//! as sharded safetensors, loaded into the f32 Burn BERT of the `bert` example
//! (`hubmix_examples::transformers::bert`, `flex` backend) from a warm Hub cache — against a
//! plain read of the shard files, burn-store's load of the same files and transformers' own
//! `from_pretrained`, all in the same run.
//!
//! Run with `cargo bench -p hubmix --bench foreign`. Linux only (peak RSS is read from `/proc`);
//! needs the transformers venv of `hubmix_e2e::transformers_venv` (built under `target/tmp` on
//! first use). Environment knobs, for quick trials: `HUBMIX_BENCH_ROUNDS` (default 3; each figure
//! is the median over the rounds), `HUBMIX_BENCH_LAYERS` (encoder layers, default 18) and
//! `HUBMIX_BENCH_HIDDEN` (`hidden_size`, default 1024; 64 per attention head, a feed-forward of
//! 4× that). The defaults make 259 M parameters: 518 MB in bf16, a 1.04 GB f32 model.
//!
//! One program, two roles, chosen by its first argument:
//! - no role argument (what `cargo bench` runs): the driver below;
//! - `--measure ROW ARGS...`: one Burn measurement, in a child process of its own, so that its
//!   peak RSS (`VmHWM` of `/proc/self/status`) is that measurement's alone; prints
//!   `SECONDS VMHWM_KIB PROBES VMRSS_BEFORE_KIB`. The transformers row is a Python child that
//!   prints the same.
//!
//! The driver starts an in-process hub (`hubmix_e2e::TestHub`); one Python run (transformers
//! 4.40.2 on the system's PyTorch) builds a random `BertModel` (LayerNorms randomised too),
//! casts it to bf16, saves it with `save_pretrained(max_shard_size="200MB")` and uploads the
//! folder with `HfApi.upload_folder` (`HF_HUB_DISABLE_XET=1`) to `alice/bert-bf16`. The driver
//! then loads it once with `from_pretrained` into a cache folder: the warm Hub cache, whose
//! snapshot folder (symlinks to the blobs) holds the files every row reads. Every round, each row
//! runs once in a child process, starting with a different row each round, after a `sync`. The
//! files stay in the page cache throughout (the machine has far more memory than they need).
//!
//! Rows, and what the clock covers (taken inside the child, around the work only; process
//! start-up, imports, and the backend's first use are excluded):
//! - plain read: `std::fs::read` of each shard in turn (each dropped before the next);
//! - hubmix `Bert::from_pretrained_with("alice/bert-bf16", ..)` into f32 from the warm cache,
//!   with `local_files_only(true)`, and again with the revision resolved by the server;
//! - burn-store: `BertConfig::init` (lazy), then per shard (every tensor applied once)
//!   `load_from(SafetensorsStore::from_file(shard).with_from_adapter(PyTorchToBurnAdapter
//!   .chain(FloatCastAdapter::to(F32)))` with the same three renames as hubmix's map and
//!   `allow_partial(true)`;
//! - transformers: `BertModel.from_pretrained(snapshot, torch_dtype=torch.float32)` timed with
//!   `time.perf_counter` around the call (`torch` and `transformers` imported before).
//!
//! Every load row ends by reading a few parameter values of the loaded model (in the clock; a
//! Linear weight at an off-diagonal index, so a missed transpose shows), and the driver checks
//! them against the checkpoint's bf16 values, as the Python run that wrote it read them. The
//! peak RSS targets are against the f32 model: 4 bytes × the checkpoint's parameter count. All
//! data lives in a temporary folder under `target/tmp` and is removed at the end.

use hubmix_e2e::bench::{env_number, load_average, measure_in_child, median, verdict};
use hubmix_e2e::{TestHub, python_env, run_python, transformers_venv};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::module::Param;
use burn::store::{FloatCastAdapter, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::{DType, Device, Tensor};
use hubmix::{DownloadOptions, HubClient, LoadOptions, ModelHubMixin, StorageType};
use hubmix_examples::transformers::bert::{Bert, BertConfig};

const MIB: f64 = 1024.0 * 1024.0;
/// Default number of rounds; each figure is the median over them.
const DEFAULT_ROUNDS: u64 = 3;
/// Default number of encoder layers.
const DEFAULT_LAYERS: u64 = 18;
/// Default `hidden_size`.
const DEFAULT_HIDDEN: u64 = 1024;
/// BERT's vocabulary, positions and token types.
const VOCAB: usize = 30522;
const POSITIONS: usize = 512;
const TOKEN_TYPES: usize = 2;
const REPO: &str = "alice/bert-bf16";
/// A warm-cache load: at most this times the plain read of the files.
const TIME_TARGET: f64 = 1.5;
/// A load: peak RSS at most this times the f32 model.
const RSS_TARGET: f64 = 1.3;

/// transformers' names that are not the Burn BERT's fields (regex, replacement): the renames of
/// its `#[hub(...)]` attributes, given to burn-store's key remapping.
const RENAMES: [(&str, &str); 3] = [
    (r"^encoder\.layer\.", "encoder.layers."),
    (r"\.attention\.self\.", ".attention.self_attention."),
    (r"\.LayerNorm\.", ".layer_norm."),
];

/// Writes a random bf16 `BertModel` of `$LAYERS` layers of width `$HIDDEN` into `$OUT/model`
/// (shards of 200 MB), uploads it to `$REPO`, and writes into `$OUT/expected.json` its
/// parameter and tensor counts and the values at `$PROBES` (`[name, index]`) as f32 bits.
const PY_WRITE: &str = r#"
import json, os, struct
import torch
from huggingface_hub import HfApi
from transformers import BertConfig, BertModel

out, hidden = os.environ["OUT"], int(os.environ["HIDDEN"])
torch.manual_seed(0)
config = BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=int(os.environ["LAYERS"]),
                    num_attention_heads=hidden // 64, intermediate_size=4 * hidden,
                    max_position_embeddings=512, type_vocab_size=2)
model = BertModel(config)
with torch.no_grad():
    # LayerNorms start at weight 1, bias 0: random ones show a load that forgot them.
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
            torch.nn.init.uniform_(module.bias, -0.5, 0.5)
model = model.to(torch.bfloat16)
folder = os.path.join(out, "model")
model.save_pretrained(folder, max_shard_size="200MB")
api = HfApi()
api.create_repo(os.environ["REPO"])
api.upload_folder(repo_id=os.environ["REPO"], folder_path=folder)
state = model.state_dict()
bits = lambda v: "%08x" % struct.unpack("<I", struct.pack("<f", v))[0]
probes = [bits(state[name][tuple(index)].float().item()) for name, index in json.loads(os.environ["PROBES"])]
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump({"parameters": sum(p.numel() for p in model.parameters()), "tensors": len(state),
               "probes": ",".join(probes)}, f)
"#;

/// The transformers row: `BertModel.from_pretrained($SNAPSHOT)` in f32, then the values at
/// `$PROBES`; prints `SECONDS VMHWM_KIB PROBES VMRSS_BEFORE_KIB`.
const PY_MEASURE: &str = r#"
import json, os, struct, time
import torch
from transformers import BertModel

def status(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":"))

probes = json.loads(os.environ["PROBES"])
before = status("VmRSS")
start = time.perf_counter()
model = BertModel.from_pretrained(os.environ["SNAPSHOT"], torch_dtype=torch.float32)
state = model.state_dict()
values = [state[name][tuple(index)].item() for name, index in probes]
seconds = time.perf_counter() - start
assert all(p.dtype == torch.float32 for p in model.parameters())
bits = ",".join("%08x" % struct.unpack("<I", struct.pack("<f", v))[0] for v in values)
print(seconds, status("VmHWM"), bits, before)
"#;

/// One parameter value a load must reproduce: transformers' name and index, and the same value
/// read from the Burn model (PyTorch's `[out, in]` Linear weights are Burn's `[in, out]`).
struct Probe {
    name: String,
    index: Vec<usize>,
    read: Box<dyn Fn(&Bert) -> f32>,
}

/// The value at `[i, j]` of a 2-D parameter.
fn at2(param: &Param<Tensor<2>>, i: usize, j: usize) -> f32 {
    param.val().slice([i..i + 1, j..j + 1]).into_scalar::<f32>()
}

/// The value at `i` of a 1-D parameter.
fn at1(param: &Param<Tensor<1>>, i: usize) -> f32 {
    param.val().slice(i..i + 1).into_scalar::<f32>()
}

/// The probes of a model of `layers` layers: embeddings, norms, both ends of the encoder, the
/// pooler.
fn probes(layers: usize) -> Vec<Probe> {
    let last = layers - 1;
    let probe = |name: String, index: &[usize], read: Box<dyn Fn(&Bert) -> f32>| Probe {
        name,
        index: index.to_vec(),
        read,
    };
    vec![
        probe(
            "embeddings.word_embeddings.weight".into(),
            &[VOCAB - 1, 5],
            Box::new(|m| at2(&m.embeddings.word_embeddings.weight, VOCAB - 1, 5)),
        ),
        probe(
            "embeddings.LayerNorm.weight".into(),
            &[7],
            Box::new(|m| at1(&m.embeddings.layer_norm.gamma, 7)),
        ),
        probe(
            "encoder.layer.0.attention.self.query.weight".into(),
            &[1, 2],
            Box::new(|m| at2(&m.encoder.layers[0].attention.self_attention.query.weight, 2, 1)),
        ),
        probe(
            "encoder.layer.0.intermediate.dense.bias".into(),
            &[100],
            Box::new(|m| {
                let bias = m.encoder.layers[0].intermediate.dense.bias.as_ref();
                at1(bias.expect("Linear layers have biases"), 100)
            }),
        ),
        probe(
            format!("encoder.layer.{last}.output.dense.weight"),
            &[3, 40],
            Box::new(move |m| at2(&m.encoder.layers[last].output.dense.weight, 40, 3)),
        ),
        probe(
            format!("encoder.layer.{last}.output.LayerNorm.bias"),
            &[9],
            Box::new(move |m| {
                let beta = m.encoder.layers[last].output.layer_norm.beta.as_ref();
                at1(beta.expect("LayerNorms have a bias"), 9)
            }),
        ),
        probe(
            "pooler.dense.weight".into(),
            &[5, 6],
            Box::new(|m| at2(&m.pooler.as_ref().expect("a pooler").dense.weight, 6, 5)),
        ),
    ]
}

/// The probes as `[[name, index], ...]`, for Python.
fn probes_json(layers: usize) -> String {
    let items: Vec<String> = probes(layers)
        .iter()
        .map(|p| format!("[\"{}\", {:?}]", p.name, p.index))
        .collect();
    format!("[{}]", items.join(", "))
}

/// The model's probe values, as f32 bits in hex, joined by commas.
fn read_probes(model: &Bert, layers: usize) -> String {
    let bits: Vec<String> = probes(layers)
        .iter()
        .map(|p| format!("{:08x}", (p.read)(model).to_bits()))
        .collect();
    bits.join(",")
}

/// The Burn BERT's config for the benchmark's shape (what the checkpoint's `config.json` says).
fn bert_config(layers: usize, hidden: usize) -> BertConfig {
    BertConfig::new(
        VOCAB,
        hidden,
        layers,
        hidden / 64,
        4 * hidden,
        POSITIONS,
        TOKEN_TYPES,
    )
}

/// hubmix's options: f32, through `client` (the names and config keys are the model type's,
/// from its `#[hub(...)]` attributes).
fn load_options(client: HubClient, local_files_only: bool) -> LoadOptions {
    LoadOptions::default()
        .dtype(StorageType::F32)
        .client(client)
        .download(DownloadOptions::default().local_files_only(local_files_only))
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

/// A `kB` field of `/proc/self/status`.
fn status_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// The `--measure ROW ARGS...` role: one Burn measurement; prints
/// `SECONDS VMHWM_KIB PROBES VMRSS_BEFORE_KIB`.
fn measure(args: &[String]) {
    let row = args.first().expect("--measure ROW ARGS...").as_str();
    let arg = |i: usize| -> &str {
        args.get(i)
            .unwrap_or_else(|| panic!("{row}: argument {i} is missing"))
    };
    let number = |i: usize| arg(i).parse::<usize>().expect("a number");
    let device = device();
    let before = status_kib("VmRSS");
    let (seconds, probes) = match row {
        "read" => {
            let start = Instant::now();
            for shard in &args[1..] {
                let bytes = fs::read(shard).expect("read a shard");
                std::hint::black_box(&bytes);
            }
            (start.elapsed().as_secs_f64(), "-".to_owned())
        }
        "hub-offline" | "hub-online" => {
            let (endpoint, cache, layers) = (arg(1), Path::new(arg(2)), number(3));
            let options = load_options(client(endpoint, cache), row == "hub-offline");
            let start = Instant::now();
            let loaded = Bert::from_pretrained_with(REPO, &device, &options).expect("from_pretrained");
            let probes = read_probes(&loaded.model, layers);
            (start.elapsed().as_secs_f64(), probes)
        }
        "burn-store" => {
            let (layers, hidden, tensors) = (number(1), number(2), number(3));
            let start = Instant::now();
            let mut model = bert_config(layers, hidden).init(&device);
            let mut applied = 0;
            for shard in &args[4..] {
                let adapter = PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32));
                let mut store = RENAMES
                    .iter()
                    .fold(SafetensorsStore::from_file(shard), |store, (from, to)| {
                        store.with_key_remapping(*from, *to)
                    })
                    .with_from_adapter(adapter)
                    .allow_partial(true);
                let result = model.load_from(&mut store).expect("burn-store load");
                assert!(
                    result.errors.is_empty() && result.unused.is_empty(),
                    "{shard}: {result}"
                );
                applied += result.applied.len();
            }
            let probes = read_probes(&model, layers);
            let seconds = start.elapsed().as_secs_f64();
            assert_eq!(applied, tensors, "burn-store left checkpoint tensors unused");
            (seconds, probes)
        }
        other => panic!("unknown row {other:?}"),
    };
    println!("{seconds} {} {probes} {before}", status_kib("VmHWM"));
}

/// The rows, in table order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Row {
    Read,
    HubOffline,
    HubOnline,
    BurnStore,
    Transformers,
}

const ROWS: [Row; 5] = [
    Row::Read,
    Row::HubOffline,
    Row::HubOnline,
    Row::BurnStore,
    Row::Transformers,
];

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::Read => "1. plain read: `std::fs::read` of each shard",
            Row::HubOffline => "2. hubmix `from_pretrained`, warm Hub cache, `local_files_only(true)`",
            Row::HubOnline => "2b. hubmix `from_pretrained`, warm Hub cache, revision resolved online",
            Row::BurnStore => {
                "3. burn-store `SafetensorsStore::from_file` per shard (PyTorchToBurnAdapter + FloatCastAdapter)"
            }
            Row::Transformers => "4. transformers `BertModel.from_pretrained(snapshot, torch_dtype=float32)`",
        }
    }
}

/// One measurement.
struct Sample {
    seconds: f64,
    /// Peak RSS of the process (`VmHWM`).
    rss_kib: u64,
    /// RSS just before the clock started (the process's own baseline: Python's is torch).
    before_kib: u64,
}

/// What the rows work on.
struct Setup {
    layers: usize,
    hidden: usize,
    endpoint: String,
    /// The warm Hub cache.
    cache: PathBuf,
    /// The cached snapshot folder, and its shards (symlinks to the cached blobs).
    snapshot: PathBuf,
    shards: Vec<PathBuf>,
    /// The number of tensors in the checkpoint.
    tensors: usize,
    venv: PathBuf,
    /// The checkpoint's values at the probes, as `read_probes` prints them.
    expected: String,
}

/// A path as a string argument.
fn path(p: &Path) -> String {
    p.to_str().expect("UTF-8 paths").to_owned()
}

impl Setup {
    /// Runs `row` once in a child process.
    fn run(&self, row: Row) -> Sample {
        let synced = Command::new("sync").status().is_ok_and(|s| s.success());
        assert!(synced, "sync failed");
        let shards = self.shards.iter().map(|s| path(s));
        let stdout = match row {
            Row::Transformers => {
                let (snapshot, probes) = (path(&self.snapshot), probes_json(self.layers));
                let env = [
                    ("SNAPSHOT", snapshot.as_str()),
                    ("PROBES", probes.as_str()),
                    ("HF_HUB_OFFLINE", "1"),
                ];
                run_python(&self.venv, PY_MEASURE, &env)
            }
            _ => {
                let args: Vec<String> = match row {
                    Row::Read => std::iter::once("read".to_owned()).chain(shards).collect(),
                    Row::HubOffline | Row::HubOnline => vec![
                        if row == Row::HubOffline {
                            "hub-offline"
                        } else {
                            "hub-online"
                        }
                        .to_owned(),
                        self.endpoint.clone(),
                        path(&self.cache),
                        self.layers.to_string(),
                    ],
                    _ => [
                        "burn-store".to_owned(),
                        self.layers.to_string(),
                        self.hidden.to_string(),
                        self.tensors.to_string(),
                    ]
                    .into_iter()
                    .chain(shards)
                    .collect(),
                };
                measure_in_child(&args)
            }
        };
        let line = stdout.lines().last().expect("a result line");
        let mut parts = line.split_whitespace();
        let mut next = || parts.next().expect("SECONDS VMHWM_KIB PROBES VMRSS_BEFORE_KIB");
        let seconds = next().parse().expect("seconds");
        let rss_kib = next().parse().expect("VmHWM");
        let probes = next();
        let before_kib = next().parse().expect("VmRSS");
        if row != Row::Read {
            assert_eq!(
                probes,
                self.expected,
                "{}: the loaded weights differ from the checkpoint's",
                row.name()
            );
        }
        Sample {
            seconds,
            rss_kib,
            before_kib,
        }
    }
}

/// The driver: writes the checkpoint, warms the cache, measures, prints the table.
fn drive() {
    let rounds = env_number("HUBMIX_BENCH_ROUNDS", DEFAULT_ROUNDS) as usize;
    let layers = env_number("HUBMIX_BENCH_LAYERS", DEFAULT_LAYERS) as usize;
    let hidden = env_number("HUBMIX_BENCH_HIDDEN", DEFAULT_HIDDEN) as usize;
    assert!(
        hidden.is_multiple_of(64) && hidden >= 128,
        "HUBMIX_BENCH_HIDDEN must be a multiple of 64, at least 128"
    );
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = transformers_venv(tmp).unwrap_or_else(|e| panic!("the transformers venv: {e}"));
    let work = tempfile::Builder::new()
        .prefix("hubmix-foreign-bench-")
        .tempdir_in(tmp)
        .expect("create the work folder");
    let hub = TestHub::start();
    let (home, out) = (work.path().join("home"), work.path().join("out"));
    let setup_start = Instant::now();
    run_python(
        &venv,
        PY_WRITE,
        &python_env(
            &hub,
            &path(&home),
            &[
                ("OUT", &path(&out)),
                ("LAYERS", &layers.to_string()),
                ("HIDDEN", &hidden.to_string()),
                ("REPO", REPO),
                ("PROBES", &probes_json(layers)),
            ],
        ),
    );
    let written: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("expected.json")).expect("expected.json")).expect("JSON");
    let parameters = written["parameters"].as_u64().expect("a parameter count");
    let expected = written["probes"].as_str().expect("probes").to_owned();
    let python_seconds = setup_start.elapsed().as_secs_f64();

    // The first load fills the cache.
    let cache = work.path().join("cache");
    {
        let options = load_options(client(hub.url(), &cache), false);
        let loaded =
            Bert::from_pretrained_with(REPO, &device(), &options).expect("from_pretrained into the cache");
        assert_eq!(
            read_probes(&loaded.model, layers),
            expected,
            "the downloaded model differs"
        );
    }
    let snapshots = cache
        .join(format!("models--{}", REPO.replace('/', "--")))
        .join("snapshots");
    let snapshot = fs::read_dir(&snapshots)
        .expect("the cached snapshots")
        .next()
        .expect("one cached snapshot")
        .expect("a folder entry")
        .path();
    let mut shards: Vec<PathBuf> = fs::read_dir(&snapshot)
        .expect("the cached snapshot")
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    shards.sort();
    let file_bytes: u64 = shards
        .iter()
        .map(|s| fs::metadata(s).expect("a cached shard").len())
        .sum();
    let setup = Setup {
        layers,
        hidden,
        endpoint: hub.url().to_owned(),
        cache,
        snapshot,
        tensors: written["tensors"].as_u64().expect("a tensor count") as usize,
        shards,
        venv,
        expected,
    };
    let model_mib = 4.0 * parameters as f64 / MIB;
    println!(
        "hubmix foreign-checkpoint benchmark: transformers BertModel, {layers} layers, hidden {hidden}, \
         {parameters} parameters; {} bf16 shards, {file_bytes} bytes ({:.1} MiB); f32 model {model_mib:.1} MiB; \
         flex backend; {rounds} rounds; {} cores; written and uploaded by Python in {python_seconds:.1} s; \
         load average {}",
        setup.shards.len(),
        file_bytes as f64 / MIB,
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
                "round {}: {}: {:.3} s, peak RSS {:.1} MiB (before: {:.1} MiB)",
                round + 1,
                ROWS[i].name(),
                s.seconds,
                s.rss_kib as f64 / 1024.0,
                s.before_kib as f64 / 1024.0
            );
            samples[i].push(s);
        }
    }

    let mib = |kib: f64| kib / 1024.0;
    let read = median(&samples[0], |s| s.seconds);
    println!(
        "\n| row | seconds (median) | time / read | target | peak RSS MiB (median) | RSS before MiB | \
         peak RSS / f32 model | target | (peak − before) / f32 model | result |"
    );
    println!("|---|---:|---|---|---:|---:|---|---|---|---|");
    for (row, s) in ROWS.iter().zip(&samples) {
        let seconds = median(s, |s| s.seconds);
        let rss = mib(median(s, |s| s.rss_kib as f64));
        let before = mib(median(s, |s| s.before_kib as f64));
        let (time, rss_ratio, growth) = (seconds / read, rss / model_mib, (rss - before) / model_mib);
        let (time_ratio, time_target, rss_target, result) = match row {
            Row::Read => (
                "(baseline)".to_owned(),
                String::new(),
                String::new(),
                String::new(),
            ),
            Row::HubOffline | Row::HubOnline => (
                format!("{time:.2}×"),
                format!("≤ {TIME_TARGET}×"),
                format!("≤ {RSS_TARGET}×"),
                format!(
                    "time {}, RSS {}",
                    verdict(time <= TIME_TARGET),
                    verdict(rss_ratio <= RSS_TARGET)
                ),
            ),
            Row::BurnStore | Row::Transformers => (
                format!("{time:.2}×"),
                "(info)".into(),
                "(info)".into(),
                String::new(),
            ),
        };
        println!(
            "| {} | {seconds:.3} | {time_ratio} | {time_target} | {rss:.1} | {before:.1} | {rss_ratio:.2}× | {rss_target} | {growth:.2}× | {result} |",
            row.name(),
        );
    }
    println!("\nevery round (s):");
    for (row, s) in ROWS.iter().zip(&samples) {
        let all: Vec<String> = s.iter().map(|s| format!("{:.3}", s.seconds)).collect();
        let rss: Vec<String> = s
            .iter()
            .map(|s| format!("{:.1}", mib(s.rss_kib as f64)))
            .collect();
        println!(
            "- {}: {} (peak RSS MiB: {})",
            row.name(),
            all.join(", "),
            rss.join(", ")
        );
    }
    println!("\nload average at the end: {}", load_average());
}
