//! Benchmark of hubmix's upload of one large file, against Python `huggingface_hub` 2.4.0 and
//! `openssl dgst -sha256`.
//!
//! Run with `cargo bench -p hubmix-hub --bench upload`. The file is 1024 MiB unless set with
//! `HUBMIX_BENCH_MIB=256`; each side is measured `HUBMIX_BENCH_ROUNDS` times (default 3, the
//! first client alternating, `sync` before each upload), and the best time counts.
//! `HUBMIX_BENCH_WORKERS` sets hubmix's `max_workers` (default: the client's default, 8). Linux only (`/proc`); `openssl` must be on the `PATH`; Python comes from the
//! venv that the end-to-end tests build (`hubmix_e2e::python_venv`, cached in `target/tmp`).
//!
//! One in-process `hubmix-server` (default LFS settings: files from 10 MiB go through LFS, in
//! 64 MiB parts) serves both clients; data lives in a temporary folder under `target/tmp`. Each
//! upload goes to a fresh repository, so the whole file is sent every time.
//!
//! - **hubmix** runs in a child process (this program again, with `HUBMIX_BENCH_CHILD` set) so
//!   that its peak resident size (`VmHWM` in `/proc/self/status`) is its own: it uploads the file
//!   with `upload_file` (timed), then uploads it again (timed): the second call finds the file
//!   unchanged after hashing it, so its time is hubmix's hashing of the file plus two small
//!   requests. The same child also uploads a small file first, for the RSS comparison.
//! - **Python** runs `HfApi().upload_file(path, ...)` with `HF_HUB_DISABLE_XET=1` (timed inside
//!   Python, like hubmix's call, so interpreter start-up is not counted).
//! - **openssl**: `openssl dgst -sha256` of the same (cached) file, best of the rounds.
//! - **server CPU**: both clients run in processes of their own, so this program's CPU time
//!   (user + system, all threads: fields 14 and 15 of `/proc/self/stat`) is the in-process
//!   server's. It is read around each client's run and given per uploaded GiB (for hubmix, the
//!   run also holds the small file and the two small requests of the re-upload).
//!
//! Targets: hubmix's upload at least 1.3x Python's speed; hashing at least 0.8x openssl's speed;
//! peak RSS under 64 MiB.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use hubmix_e2e::bench::{cpu_seconds, median, sync, write_random};
use hubmix_hub::{CommitOptions, HubClient, manage::CreateRepoOptions};
use hubmix_server::{DEFAULT_LFS_PART_SIZE, Role, ServerConfig};

const MIB: u64 = 1024 * 1024;
const TOKEN: &str = "hf_bench_write";
const HASH_TARGET: f64 = 0.8;
const UPLOAD_TARGET: f64 = 1.3;
const RSS_LIMIT_KIB: u64 = 64 * 1024;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var_os("HUBMIX_BENCH_CHILD").is_some() {
        child();
        return;
    }
    let mib = env_u64("HUBMIX_BENCH_MIB", 1024);
    let rounds = env_u64("HUBMIX_BENCH_ROUNDS", 3).max(1);
    let load_before = load();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = hubmix_e2e::python_venv(tmp, "2.4.0").unwrap_or_else(|e| panic!("no Python venv: {e}"));
    let work = tempfile::Builder::new()
        .prefix("hubmix-upload-bench-")
        .tempdir_in(tmp)
        .unwrap();
    let file = work.path().join("big.bin");
    let small = work.path().join("small.bin");
    write_random(&file, mib * MIB);
    write_random(&small, MIB);

    let server =
        hubmix_server::spawn(ServerConfig::new(work.path().join("hub")).user("bench", TOKEN, Role::Write))
            .expect("server starts");
    let admin = HubClient::builder()
        .endpoint(server.url())
        .token(TOKEN)
        .progress_bars(Some(false))
        .build()
        .unwrap();

    // The times of each round, in seconds.
    let (mut openssl, mut hubmix_upload, mut hubmix_hash, mut python) = (vec![], vec![], vec![], vec![]);
    // The server's CPU seconds during each client's run.
    let (mut hubmix_server_cpu, mut python_server_cpu) = (vec![], vec![]);
    let mut hwm_small = 0;
    let mut hwm_big = 0;
    for round in 0..rounds {
        openssl.push(time_openssl(&file));
        // Alternate which client goes first, and start each upload with no dirty pages pending.
        for python_turn in [round % 2 == 1, round % 2 == 0] {
            sync();
            if python_turn {
                let repo = format!("bench/py-{round}");
                admin.create_repo(&repo, &CreateRepoOptions::default()).unwrap();
                let cpu = server_cpu();
                python.push(time_python(&venv, server.url(), &repo, &file));
                python_server_cpu.push(server_cpu() - cpu);
                continue;
            }
            let repo = format!("bench/rs-{round}");
            admin.create_repo(&repo, &CreateRepoOptions::default()).unwrap();
            let cpu = server_cpu();
            let report = run_child(server.url(), &repo, &file, &small);
            hubmix_server_cpu.push(server_cpu() - cpu);
            let field = |name: &str| -> f64 {
                report
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{name} in {report:?}"))
            };
            hubmix_upload.push(field("upload"));
            hubmix_hash.push(field("rehash"));
            hwm_small = hwm_small.max(field("hwm_small_kib") as u64);
            hwm_big = hwm_big.max(field("hwm_kib") as u64);
        }
        let r = round as usize;
        eprintln!(
            "round {round}: openssl {:.2} s, hubmix upload {:.2} s, hash {:.2} s, python {:.2} s; server CPU {:.2} s (hubmix), {:.2} s (python)",
            openssl[r],
            hubmix_upload[r],
            hubmix_hash[r],
            python[r],
            hubmix_server_cpu[r],
            python_server_cpu[r]
        );
    }
    let load_after = load();
    server.shutdown();

    let rounds_of = |times: &[f64]| {
        times
            .iter()
            .map(|t| format!("{t:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rounds_line = format!(
        "- every round (s): hubmix upload {}; Python upload {}; hubmix re-upload {}; openssl {}; server CPU during hubmix's run {}, during Python's {}",
        rounds_of(&hubmix_upload),
        rounds_of(&python),
        rounds_of(&hubmix_hash),
        rounds_of(&openssl),
        rounds_of(&hubmix_server_cpu),
        rounds_of(&python_server_cpu)
    );
    let best = |times: Vec<f64>| times.into_iter().fold(f64::MAX, f64::min);
    let (openssl, hubmix_upload, hubmix_hash, python) = (
        best(openssl),
        best(hubmix_upload),
        best(hubmix_hash),
        best(python),
    );
    let gib = (mib * MIB) as f64 / (1u64 << 30) as f64;
    let (hubmix_server_cpu, python_server_cpu) = (
        median(&hubmix_server_cpu, |c| *c) / gib,
        median(&python_server_cpu, |c| *c) / gib,
    );
    let mbps = |secs: f64| (mib * MIB) as f64 / secs / 1e6;
    let upload_ratio = python / hubmix_upload;
    let hash_ratio = openssl / hubmix_hash;
    println!("## hubmix upload\n");
    println!(
        "`cargo bench -p hubmix-hub --bench upload` (HUBMIX_BENCH_MIB={mib}, best of {rounds} rounds)\n"
    );
    println!("| measure | time | throughput |");
    println!("|---|---|---|");
    let parts = (mib * MIB).div_ceil(DEFAULT_LFS_PART_SIZE);
    let transfer = if parts > 1 {
        format!(
            "LFS multipart, {parts} parts of {} MiB",
            DEFAULT_LFS_PART_SIZE / MIB
        )
    } else {
        "LFS, one PUT".to_owned()
    };
    println!(
        "| hubmix `upload_file` of {gib:.2} GiB ({transfer}) | {hubmix_upload:.2} s | {:.0} MB/s |",
        mbps(hubmix_upload)
    );
    println!(
        "| Python huggingface_hub 2.4.0 `upload_file`, `HF_HUB_DISABLE_XET=1` | {python:.2} s | {:.0} MB/s |",
        mbps(python)
    );
    println!(
        "| hubmix re-upload of the unchanged file (hashing + 2 small requests) | {hubmix_hash:.2} s | {:.0} MB/s |",
        mbps(hubmix_hash)
    );
    println!(
        "| `openssl dgst -sha256` of the same file | {openssl:.2} s | {:.0} MB/s |",
        mbps(openssl)
    );
    println!();
    println!("- upload: Python time / hubmix time = **{upload_ratio:.2}** (target ≥ {UPLOAD_TARGET})");
    println!("- hashing: hubmix speed / openssl speed = **{hash_ratio:.2}** (target ≥ {HASH_TARGET})");
    println!(
        "- hubmix peak RSS (VmHWM of the uploading process): **{:.1} MiB** with the {gib:.2} GiB file, {:.1} MiB after a 1 MiB file (target < 64 MiB)",
        hwm_big as f64 / 1024.0,
        hwm_small as f64 / 1024.0
    );
    println!(
        "- hubmix-server CPU per uploaded GiB (user + system, median of the rounds): **{hubmix_server_cpu:.2} s** during hubmix's upload, **{python_server_cpu:.2} s** during Python's"
    );
    println!("{rounds_line}");
    println!(
        "- load average (1, 5, 15 min) before: {load_before}; after: {load_after}; {} CPUs",
        num_cpus()
    );
    let mut failed = Vec::new();
    if upload_ratio < UPLOAD_TARGET {
        failed.push("hubmix's upload is under 1.3x Python's speed");
    }
    if hash_ratio < HASH_TARGET {
        failed.push("hashing is slower than 0.8x openssl");
    }
    if hwm_big >= RSS_LIMIT_KIB {
        failed.push("peak RSS is 64 MiB or more");
    }
    assert!(failed.is_empty(), "targets missed: {}", failed.join("; "));
}

/// Runs [`child`] in a new process of this program; returns its report.
fn run_child(endpoint: &str, repo: &str, file: &Path, small: &Path) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .env("HUBMIX_BENCH_CHILD", "1")
        .env("HUBMIX_BENCH_ENDPOINT", endpoint)
        .env("HUBMIX_BENCH_REPO", repo)
        .env("HUBMIX_BENCH_FILE", file)
        .env("HUBMIX_BENCH_SMALL", small)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hubmix child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// User + system CPU seconds of this process so far: the in-process server's, while a client
/// process runs.
fn server_cpu() -> f64 {
    cpu_seconds("/proc/self/stat", 14)
}

/// The child: uploads the small file, then the big one, then the big one again; reports times
/// and its peak RSS on stdout.
fn child() {
    let var = |name: &str| std::env::var(name).unwrap();
    let mut builder = HubClient::builder()
        .endpoint(var("HUBMIX_BENCH_ENDPOINT"))
        .token(TOKEN)
        .progress_bars(Some(false));
    if let Ok(n) = std::env::var("HUBMIX_BENCH_WORKERS") {
        builder = builder.max_workers(n.parse().expect("HUBMIX_BENCH_WORKERS is a number"));
    }
    let client = builder.build().unwrap();
    let repo = var("HUBMIX_BENCH_REPO");
    let options = CommitOptions::default();
    client
        .upload_file(&repo, var("HUBMIX_BENCH_SMALL"), "small.bin", &options)
        .unwrap();
    let hwm_small = vm_hwm_kib();
    let started = Instant::now();
    let first = client
        .upload_file(&repo, var("HUBMIX_BENCH_FILE"), "big.bin", &options)
        .unwrap();
    let upload = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let second = client
        .upload_file(&repo, var("HUBMIX_BENCH_FILE"), "big.bin", &options)
        .unwrap();
    let rehash = started.elapsed().as_secs_f64();
    assert_eq!(first.oid, second.oid, "the second upload finds nothing new");
    println!(
        "upload={upload} rehash={rehash} hwm_small_kib={hwm_small} hwm_kib={}",
        vm_hwm_kib()
    );
}

fn vm_hwm_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn time_openssl(file: &Path) -> f64 {
    let started = Instant::now();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256"])
        .arg(file)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl failed");
    started.elapsed().as_secs_f64()
}

fn time_python(venv: &Path, endpoint: &str, repo: &str, file: &Path) -> f64 {
    let script = r#"
import os, sys, time
from huggingface_hub import HfApi
api = HfApi()
started = time.perf_counter()
api.upload_file(path_or_fileobj=sys.argv[1], path_in_repo="big.bin", repo_id=sys.argv[2])
print(time.perf_counter() - started)
"#;
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(hubmix_e2e::venv_python(venv));
    command.arg("-c").arg(script).arg(file).arg(repo);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().to_ascii_uppercase().starts_with("HF_") {
            command.env_remove(name);
        }
    }
    let out = command
        .env("HF_ENDPOINT", endpoint)
        .env("HF_TOKEN", TOKEN)
        .env("HF_HOME", home.path())
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python upload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .expect("python prints its time")
}

fn load() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
