//! `hubmix inspect` and `hubmix convert`: a remote checkpoint inspected from its headers (the
//! server's byte counter says how little was sent, and that a download is counted in full),
//! sharded ones, local files and folders; conversions that round-trip (float type, shards,
//! layout); hostile files refused with nothing written.

use std::path::Path;

use hubmix_e2e::ALICE_WRITE_TOKEN;
use serde_json::{Value, json};

use crate::support::Env;

/// One tensor to write: name, dtype, shape.
type Spec<'a> = (&'a str, &'a str, &'a [usize]);

fn width(dtype: &str) -> usize {
    match dtype {
        "F64" | "I64" => 8,
        "F32" | "I32" => 4,
        "F16" | "BF16" => 2,
        _ => 1,
    }
}

/// Writes a safetensors file as hubmix does (tensors in name order, header padded to 8 bytes):
/// float tensors hold `sin(i)`-like values, integer ones their index.
fn write_checkpoint(path: &Path, metadata: Value, tensors: &[Spec<'_>]) -> Vec<u8> {
    let mut sorted = tensors.to_vec();
    sorted.sort_by_key(|t| t.0);
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), metadata);
    let mut data = Vec::new();
    for (name, dtype, shape) in sorted {
        let n: usize = shape.iter().product();
        let start = data.len();
        for i in 0..n {
            let v = ((i % 1000) as f32 * 0.37).sin() * 3.0;
            match dtype {
                "F32" => data.extend_from_slice(&v.to_le_bytes()),
                "F64" => data.extend_from_slice(&f64::from(v).to_le_bytes()),
                "BF16" => data.extend_from_slice(&v.to_le_bytes()[2..]),
                "I64" => data.extend_from_slice(&(i as i64).to_le_bytes()),
                other => panic!("no writer for {other}"),
            }
        }
        assert_eq!(data.len() - start, n * width(dtype));
        header.insert(
            name.into(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut json = serde_json::to_vec(&header).unwrap();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend(json);
    file.extend(data);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, &file).unwrap();
    file
}

/// The header of a file, and the f32 values of a tensor of it (decoded from its type).
fn floats(path: &Path, name: &str) -> (Value, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let t = &header[name];
    let [a, b] = [0, 1].map(|i| t["data_offsets"][i].as_u64().unwrap() as usize + 8 + len);
    let data = &bytes[a..b];
    let values = match t["dtype"].as_str().unwrap() {
        "F32" => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        "BF16" => data
            .chunks_exact(2)
            .map(|c| f32::from_le_bytes([0, 0, c[0], c[1]]))
            .collect(),
        other => panic!("no reader for {other}"),
    };
    (header, values)
}

fn json_of(run: &crate::support::Run) -> Value {
    serde_json::from_str(run.ok()).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

#[test]
fn inspect_reads_a_remote_checkpoint_from_its_headers_only() {
    let env = Env::new();
    env.hubmix(&["auth", "login", "--token", ALICE_WRITE_TOKEN]).ok();
    // About 26 MiB of tensors.
    let dir = env.dir("big");
    let tensors: [Spec<'_>; 4] = [
        ("embed.weight", "F32", &[1536, 2048]),
        ("fc.weight", "BF16", &[2048, 2048]),
        ("fc.bias", "F64", &[2048]),
        ("step", "I64", &[1]),
    ];
    let file = write_checkpoint(&dir.join("model.safetensors"), json!({"format": "pt"}), &tensors);
    assert!(file.len() > 20 << 20);
    env.hubmix(&["upload", "alice/big", dir.to_str().unwrap()]).ok();

    let stats = env.hub.stats();
    let before = stats.response_body_bytes();
    let inspected = json_of(&env.hubmix(&["inspect", "alice/big", "--format", "json"]));
    let sent = stats.response_body_bytes() - before;
    assert!(
        sent < 200 * 1024,
        "{sent} bytes sent to inspect a {}-byte file",
        file.len()
    );
    let params = 1536 * 2048 + 2048 * 2048 + 2048 + 1;
    assert_eq!(inspected["parameter_count"], params);
    assert_eq!(inspected["total_size"], file.len());
    assert_eq!(inspected["commit"].as_str().map(str::len), Some(40));
    let rows: Vec<(String, String, Value, u64)> = inspected["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["dtype"].as_str().unwrap().to_owned(),
                t["shape"].clone(),
                t["size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "embed.weight".into(),
                "F32".into(),
                json!([1536, 2048]),
                1536 * 2048 * 4
            ),
            ("fc.bias".into(), "F64".into(), json!([2048]), 2048 * 8),
            (
                "fc.weight".into(),
                "BF16".into(),
                json!([2048, 2048]),
                2048 * 2048 * 2
            ),
            ("step".into(), "I64".into(), json!([1]), 8),
        ]
    );
    assert_eq!(inspected["metadata"], json!({"format": "pt"}));
    let bf16 = inspected["dtypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dtype"] == "BF16")
        .unwrap();
    assert_eq!(bf16["parameters"], 2048 * 2048);

    // The human table, and the counter is honest: a download is counted in full.
    let human = env.hubmix(&["inspect", "alice/big"]);
    let text = human.ok();
    assert!(
        text.contains(&format!("parameters: {params} (7.3M) in 4 tensors")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("fc.weight") && l.contains("BF16") && l.contains("[2048, 2048]")),
        "{text}"
    );
    let before = stats.response_body_bytes();
    env.hubmix(&["download", "alice/big", "model.safetensors", "--quiet"])
        .ok();
    assert!(stats.response_body_bytes() - before >= file.len() as u64);
    // Now cached: inspected from the cache, offline too.
    let offline = env.hubmix_with(&["inspect", "alice/big", "-q"], &[("HF_HUB_OFFLINE", "1")], None);
    assert_eq!(offline.ok(), params.to_string());
}

#[test]
fn inspect_a_sharded_repository_and_local_folders() {
    let env = Env::new();
    env.hubmix(&["auth", "login", "--token", ALICE_WRITE_TOKEN]).ok();
    let dir = env.dir("sharded");
    let meta = json!({"format": "pt"});
    write_checkpoint(
        &dir.join("model-00001-of-00002.safetensors"),
        meta.clone(),
        &[("a.weight", "F32", &[512, 512])],
    );
    write_checkpoint(
        &dir.join("model-00002-of-00002.safetensors"),
        meta,
        &[("b.weight", "BF16", &[256, 1024]), ("b.bias", "F32", &[256])],
    );
    let index = json!({"metadata": {"total_size": 512 * 512 * 4 + 256 * 1024 * 2 + 256 * 4}, "weight_map": {
        "a.weight": "model-00001-of-00002.safetensors",
        "b.weight": "model-00002-of-00002.safetensors",
        "b.bias": "model-00002-of-00002.safetensors"}});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
    env.hubmix(&["upload", "alice/sharded", dir.to_str().unwrap()])
        .ok();

    let remote = json_of(&env.hubmix(&["inspect", "hf://alice/sharded@main", "--json"]));
    let local = json_of(&env.hubmix(&["inspect", dir.to_str().unwrap(), "--json"]));
    assert_eq!(remote["index"], "model.safetensors.index.json");
    assert_eq!(remote["files"].as_array().unwrap().len(), 2);
    assert_eq!(remote["parameter_count"], 512 * 512 + 256 * 1024 + 256);
    let by_file = |v: &Value| -> Vec<(String, String)> {
        v["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let file = t["file"].as_str().unwrap();
                (
                    t["name"].as_str().unwrap().to_owned(),
                    file.rsplit('/').next().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(by_file(&remote), by_file(&local));
    assert_eq!(
        by_file(&remote)[0],
        ("a.weight".into(), "model-00001-of-00002.safetensors".into())
    );
    assert_eq!(remote["tensor_size"], local["tensor_size"]);
    // One shard named in the URI.
    let shard = json_of(&env.hubmix(&[
        "inspect",
        "hf://alice/sharded/model-00002-of-00002.safetensors",
        "--json",
    ]));
    assert_eq!(shard["parameter_count"], 256 * 1024 + 256);
}

#[test]
fn inspect_errors_are_one_line_and_a_hint() {
    let env = Env::new();
    let dir = env.dir("bad");
    let good = write_checkpoint(
        &dir.join("good.safetensors"),
        json!({}),
        &[("w", "F32", &[64, 64])],
    );
    std::fs::write(dir.join("cut.safetensors"), &good[..good.len() - 10]).unwrap();
    std::fs::write(dir.join("text.safetensors"), "this is not a checkpoint at all").unwrap();
    std::fs::write(dir.join("model.safetensors.index.json"), "{\"weight_map\": 3}").unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let cut = env.hubmix(&["inspect", &path("cut.safetensors")]);
    assert!(
        cut.error(1).contains("is not a valid safetensors file"),
        "{cut:#?}"
    );
    let text = env.hubmix(&["inspect", &path("text.safetensors")]);
    assert!(text.error(1).contains("its header claims"), "{text:#?}");
    let index = env.hubmix(&["inspect", &path("model.safetensors.index.json")]);
    assert!(index.error(1).contains("not a safetensors index"), "{index:#?}");
    let missing = env.hubmix(&["inspect", "./nope.safetensors"]);
    assert!(
        missing.error(1).contains("No such file or folder"),
        "{missing:#?}"
    );
    let repo = env.hubmix(&["inspect", "alice/nope"]);
    assert_eq!(repo.error(1), "Error: Model 'alice/nope' not found.");
    let offline = env.hubmix_with(&["inspect", "alice/nope"], &[("HF_HUB_OFFLINE", "1")], None);
    assert!(offline.error(1).contains("not in the cache"), "{offline:#?}");
    let both = env.hubmix(&["inspect", "alice/x@v1", "--revision", "v2"]);
    both.error(2);
}

#[test]
fn convert_round_trips_dtype_shards_and_layout() {
    let env = Env::new();
    let dir = env.dir("conv");
    // As hubmix records it (`PytorchPlan::to_json`).
    let plan = r#"{"transpose":["fc.weight"],"rename":{"norm.gamma":"norm.weight"}}"#;
    let source = dir.join("burn/model.safetensors");
    let original = write_checkpoint(
        &source,
        json!({"format": "pt", "hubmix_layout": "burn", "hubmix_pytorch": plan}),
        &[
            ("embed.weight", "F32", &[300, 64]),
            ("fc.weight", "F32", &[64, 128]),
            ("fc.bias", "F32", &[128]),
            ("norm.gamma", "F32", &[128]),
            ("step", "I64", &[1]),
        ],
    );
    std::fs::write(
        dir.join("burn/config.json"),
        r#"{"d_model": 64, "hubmix": {"layout": "burn", "dtype": "f32"}}"#,
    )
    .unwrap();
    let p = |rel: &str| dir.join(rel).to_str().unwrap().to_owned();

    // Float type: bf16 and back, within bf16's precision; integers untouched.
    env.hubmix(&["convert", &p("burn"), &p("bf16"), "--dtype", "bf16"])
        .ok();
    let (header, halves) = floats(&dir.join("bf16/model.safetensors"), "fc.weight");
    assert_eq!(header["fc.weight"]["dtype"], "BF16");
    assert_eq!(header["step"]["dtype"], "I64");
    let config: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bf16/config.json")).unwrap()).unwrap();
    assert_eq!(config["hubmix"]["dtype"], "bf16");
    assert_eq!(config["d_model"], 64);
    env.hubmix(&["convert", &p("bf16"), &p("f32.safetensors"), "--dtype", "f32"])
        .ok();
    let (_, back) = floats(&dir.join("f32.safetensors"), "fc.weight");
    let (_, want) = floats(&source, "fc.weight");
    assert_eq!(halves, back, "widening is exact");
    for (w, b) in want.iter().zip(&back) {
        assert!((w - b).abs() <= w.abs() / 256.0, "{w} -> {b}");
    }

    // Shards of at most 40 kB (the 76,800-byte embedding alone, then the rest), then one file
    // again: the original bytes.
    let sharded = env.hubmix(&[
        "convert",
        &p("burn/model.safetensors"),
        &p("sharded"),
        "--max-shard-size",
        "40kB",
    ]);
    assert!(sharded.ok().contains("files: 3"), "{sharded:#?}"); // 2 shards and the index
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("sharded/model.safetensors.index.json")).unwrap())
            .unwrap();
    assert_eq!(
        index["weight_map"]["embed.weight"],
        "model-00001-of-00002.safetensors"
    );
    assert_eq!(index["weight_map"]["step"], "model-00002-of-00002.safetensors");
    env.hubmix(&["convert", &p("sharded"), &p("one.safetensors")])
        .ok();
    assert_eq!(std::fs::read(dir.join("one.safetensors")).unwrap(), original);

    // Layout: to PyTorch's (transposed, renamed, recorded), and back to the same bytes.
    env.hubmix(&["convert", &p("burn"), &p("torch"), "--layout", "pytorch"])
        .ok();
    let torch = json_of(&env.hubmix(&["inspect", &p("torch"), "--json"]));
    let shape_of = |name: &str| {
        torch["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["shape"].clone())
    };
    assert_eq!(shape_of("fc.weight"), Some(json!([128, 64])));
    assert_eq!(shape_of("embed.weight"), Some(json!([300, 64])));
    assert_eq!(shape_of("norm.weight"), Some(json!([128])));
    assert_eq!(shape_of("norm.gamma"), None);
    assert_eq!(torch["metadata"]["hubmix_layout"], "pytorch");
    let config: Value =
        serde_json::from_slice(&std::fs::read(dir.join("torch/config.json")).unwrap()).unwrap();
    assert_eq!(config["hubmix"]["layout"], "pytorch");
    env.hubmix(&["convert", &p("torch"), &p("again"), "--layout", "burn"])
        .ok();
    assert_eq!(
        std::fs::read(dir.join("again/model.safetensors")).unwrap(),
        original
    );

    // A file without the record: the user names the tensors.
    let plain = dir.join("plain.safetensors");
    write_checkpoint(
        &plain,
        json!({"format": "pt"}),
        &[("fc.weight", "F32", &[4, 8]), ("ln.weight", "F32", &[8])],
    );
    let refused = env.hubmix(&[
        "convert",
        &p("plain.safetensors"),
        &p("named.safetensors"),
        "--layout",
        "burn",
    ]);
    assert!(
        refused.error(1).contains("Cannot change the layout"),
        "{refused:#?}"
    );
    assert!(refused.stderr.contains("--transpose"), "{refused:#?}");
    assert!(!dir.join("named.safetensors").exists());
    env.hubmix(&[
        "convert",
        &p("plain.safetensors"),
        &p("named.safetensors"),
        "--layout",
        "burn",
        "--transpose",
        "fc.*",
        "--rename",
        "ln.weight=ln.gamma",
    ])
    .ok();
    let named = json_of(&env.hubmix(&["inspect", &p("named.safetensors"), "--json"]));
    let names: Vec<&str> = named["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fc.weight", "ln.gamma"]);
    assert_eq!(named["tensors"][0]["shape"], json!([8, 4]));
}

#[test]
fn convert_refuses_hostile_files_and_writes_nothing() {
    let env = Env::new();
    let dir = env.dir("hostile");
    let good = write_checkpoint(
        &dir.join("good.safetensors"),
        json!({}),
        &[("a", "F32", &[16]), ("b", "F32", &[16])],
    );
    std::fs::write(dir.join("cut.safetensors"), &good[..good.len() - 3]).unwrap();
    // A header whose offsets point past the data: b claims bytes 64..928 of a 128-byte section
    // (the header keeps its length).
    let len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(good[8..8 + len].to_vec()).unwrap();
    let lying = header.replacen("[64,128]", "[64,928]", 1);
    assert_ne!(lying, header);
    let mut bytes = good[..8].to_vec();
    bytes.extend(lying.as_bytes());
    bytes.extend(&good[8 + len..]);
    std::fs::write(dir.join("lying.safetensors"), bytes).unwrap();
    for name in ["cut.safetensors", "lying.safetensors"] {
        for out in ["out.safetensors", "out-folder"] {
            let run = env.hubmix(&[
                "convert",
                dir.join(name).to_str().unwrap(),
                dir.join(out).to_str().unwrap(),
                "--dtype",
                "f16",
            ]);
            assert!(
                run.error(1)
                    .contains(&format!("{name} is not a valid safetensors file")),
                "{run:#?}"
            );
            let left: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("out") || n.starts_with('.'))
                .collect();
            assert!(left.is_empty(), "{name} -> {out}: {left:?}");
        }
    }
    // Shards asked into a single file.
    let run = env.hubmix(&[
        "convert",
        dir.join("good.safetensors").to_str().unwrap(),
        dir.join("out.safetensors").to_str().unwrap(),
        "--max-shard-size",
        "64",
    ]);
    assert!(run.error(1).contains("need a folder"), "{run:#?}");
    assert!(!dir.join("out.safetensors").exists());
}

#[test]
fn convert_a_repository_downloads_it_first() {
    let env = Env::new();
    env.hubmix(&["auth", "login", "--token", ALICE_WRITE_TOKEN]).ok();
    let dir = env.dir("repo");
    let original = write_checkpoint(
        &dir.join("src/model.safetensors"),
        json!({"format": "pt"}),
        &[("w", "F32", &[1024, 512]), ("v", "F32", &[100])],
    );
    std::fs::write(dir.join("src/config.json"), r#"{"d": 1}"#).unwrap();
    env.hubmix(&["upload", "alice/conv", dir.join("src").to_str().unwrap()])
        .ok();
    let out = dir.join("out");
    env.hubmix(&[
        "convert",
        "alice/conv",
        out.to_str().unwrap(),
        "--max-shard-size",
        "1MB",
    ])
    .ok();
    assert!(out.join("model.safetensors.index.json").exists());
    assert_eq!(std::fs::read(out.join("config.json")).unwrap(), br#"{"d": 1}"#);
    let one = dir.join("one.safetensors");
    env.hubmix(&["convert", out.to_str().unwrap(), one.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read(one).unwrap(), original);
}
