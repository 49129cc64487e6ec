//! Benchmark of hubmix's downloads against `curl -o` and Python `huggingface_hub` 2.4.0, all
//! fetching from one local `hubmix-server` in the same run. Also, for information, against
//! `curl URL | tee FILE | openssl dgst -sha256` (digest checked): a download that is verified
//! like hubmix's, made with standard tools; hubmix's durable downloads (fsync before the
//! file lands) against `curl -o FILE URL && sync FILE`, a download flushed to disk likewise; and
//! the SHA-256 of as many bytes already in memory, on one core: the floor under the time of any
//! client that verifies what it downloads.
//!
//! Run with `cargo bench -p hubmix-hub --bench download`. Linux only; `bash`, `curl`, `openssl` and
//! `python3` (with the `venv` module) must be on the `PATH`. Environment knobs: `HUBMIX_BENCH_MIB`
//! (size of the large file, default 1024), `HUBMIX_BENCH_ROUNDS` (default 3; each figure is the
//! median over the rounds) and `HUBMIX_BENCH_SERVING`: `cdn` (default) has the server send LFS
//! files from its blob host (`ServerConfig::lfs_cdn`: a `302` from `/resolve/` to a `sendfile`
//! listener, which every contender follows — curl with `-L`), `direct` from `/resolve/` itself.
//!
//! One program, three roles, chosen by its first argument:
//! - no role argument (what `cargo bench` runs): the driver below;
//! - `--serve DIR`: runs `hubmix_server` in-process on a free loopback port with data in `DIR`,
//!   prints its URL on stdout and serves until its stdin closes. The driver starts the server this
//!   way so that it is a separate process (its threads and memory are not the client's) without a
//!   separate build;
//! - `--download file|snapshot ENDPOINT CACHE REPO PATH THRESHOLD WORKERS DURABLE`: one hubmix download
//!   (`hub_download` of `PATH`, or `snapshot_download` of the whole repo) into the cache folder
//!   `CACHE`, with `parallel_threshold` = `THRESHOLD` and `max_workers` = `WORKERS` (`default`
//!   keeps the library's default for either) and durable downloads when `DURABLE` is
//!   `durable`; prints `SECONDS VMHWM_KIB PATH`. Each hubmix
//!   measurement runs in such a child process, so that its peak RSS (`VmHWM` of
//!   `/proc/self/status`) is the download's alone.
//!
//! The driver seeds two public repos through the raw Hub protocol (LFS batch + `PUT`, then one
//! NDJSON commit each): `alice/big` with one pseudo-random LFS file and `alice/small` with
//! [`SMALL_FILES`] files of 1–8 KiB. Then, for every round, every contender runs once, each into a
//! fresh, empty cache folder, and — when the driver may (it must be root) — after
//! `sync; echo 3 > /proc/sys/vm/drop_caches`, so that the server reads its blobs from disk every
//! time. Seconds are those of the download call itself: measured inside the hubmix child and
//! inside the Python process (interpreter start-up and imports excluded), curl's own
//! `%{time_total}`, and around `bash -c` for the `curl | tee | openssl` pipeline. Python runs from the venv of `hubmix_e2e::python_venv` (built once under
//! `target/tmp/venv-hf-2.4.0`), with `HF_HUB_DISABLE_XET=1` and `HF_ENDPOINT` pointing at the
//! server. The table also gives each client's CPU time (user + system, all threads, read from
//! the driver's `cutime`/`cstime`; Python's includes its start-up and imports), since on a small
//! machine that shares its cores with the server it is what decides the ratios. All data lives
//! in a temporary folder under `target/tmp` and is removed at the end.

use hubmix_e2e::bench::{cpu_seconds, env_number, load_average, median, verdict};
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Instant;

use base64::Engine;
use hubmix_hub::{DownloadOptions, HubClient, SnapshotOptions};
use hubmix_server::{Role, ServerConfig};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;
/// Default size of the large file, in MiB.
const DEFAULT_MIB: u64 = 1024;
/// Default number of rounds; each figure is the median over them.
const DEFAULT_ROUNDS: usize = 3;
/// Number of files of the snapshot repo.
const SMALL_FILES: usize = 1000;
/// The Python `huggingface_hub` release compared with.
const PYTHON_HUB: &str = "2.4.0";
const USER: &str = "alice";
const TOKEN: &str = "tok";
/// hubmix's throughput on the large file, as a fraction of curl's.
const CURL_TARGET: f64 = 0.9;
/// hubmix's speed-up over Python on the large file (must be above).
const PYTHON_FILE_TARGET: f64 = 1.0;
/// hubmix's speed-up over Python on the snapshot (at least).
const PYTHON_SNAPSHOT_TARGET: f64 = 1.5;
/// Highest peak RSS of a hubmix download of the large file, in KiB.
const RSS_TARGET_KIB: u64 = 64 * 1024;

/// Times one Python `huggingface_hub` download; prints `SECONDS PATH`.
const PYTHON_SCRIPT: &str = r#"
import sys, time
from huggingface_hub import hf_hub_download, snapshot_download
kind, repo, cache = sys.argv[1:4]
start = time.perf_counter()
if kind == "file":
    path = hf_hub_download(repo, sys.argv[4], cache_dir=cache)
else:
    path = snapshot_download(repo, cache_dir=cache)
print(time.perf_counter() - start, path)
"#;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve") => serve(Path::new(args.get(1).expect("--serve DIR"))),
        Some("--download") => download_child(&args[1..]),
        _ => drive(),
    }
}

/// Whether the server sends LFS files from its blob host (`ServerConfig::lfs_cdn`, redirects
/// followed by every client): `HUBMIX_BENCH_SERVING=cdn` (the default) or `direct`.
fn blob_host() -> bool {
    match std::env::var("HUBMIX_BENCH_SERVING").as_deref() {
        Ok("direct") => false,
        Ok("cdn") | Err(_) => true,
        Ok(other) => panic!("HUBMIX_BENCH_SERVING={other:?}: use cdn or direct"),
    }
}

/// The `--serve DIR` role.
fn serve(dir: &Path) {
    let config = ServerConfig::new(dir)
        .user(USER, TOKEN, Role::Write)
        .lfs_cdn(blob_host());
    let server = hubmix_server::spawn(config).expect("start hubmix-server");
    println!("{}", server.url());
    io::stdout().flush().expect("print the URL");
    // Serve until the driver closes our stdin (or dies).
    let _ = io::stdin().read_to_end(&mut Vec::new());
    server.shutdown();
}

/// The `--download ...` role.
fn download_child(args: &[String]) {
    let [kind, endpoint, cache, repo, path, threshold, workers, durable] = args else {
        panic!("--download file|snapshot ENDPOINT CACHE REPO PATH THRESHOLD WORKERS DURABLE");
    };
    let mut builder = HubClient::builder()
        .endpoint(endpoint)
        .cache_dir(cache)
        .no_token()
        .offline(false)
        .progress_bars(Some(false));
    if threshold != "default" {
        builder = builder.parallel_threshold(threshold.parse().expect("THRESHOLD in bytes"));
    }
    if workers != "default" {
        builder = builder.max_workers(workers.parse().expect("WORKERS"));
    }
    if durable == "durable" {
        builder = builder.durable_downloads(true);
    }
    let client = builder.build().expect("hubmix client");
    let start = Instant::now();
    let out = match kind.as_str() {
        "file" => client.hub_download(repo.as_str(), path, &DownloadOptions::default()),
        "snapshot" => client.snapshot_download(repo.as_str(), &SnapshotOptions::default()),
        other => panic!("unknown download kind {other:?}"),
    }
    .expect("hubmix download");
    let seconds = start.elapsed().as_secs_f64();
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    println!("{seconds} {} {}", status_kib(&status, "VmHWM"), out.display());
}

/// A `kB` field of `/proc/<pid>/status`.
fn status_kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Who downloads, and how.
#[derive(Clone, Copy)]
enum Tool {
    Curl,
    /// `curl URL | tee FILE | openssl dgst -sha256`, the digest checked: a download verified
    /// as hubmix verifies it, with standard tools.
    CurlSha256,
    /// `curl -o FILE URL && sync FILE`: a download flushed to disk, as durable downloads are.
    CurlFsync,
    /// hubmix in a child process: `parallel_threshold` and `max_workers` (`None`: the default),
    /// and whether downloads are durable (fsync before landing).
    Hubmix(Option<u64>, Option<usize>, bool),
    Python,
}

/// One download that took `seconds` and `cpu` seconds of the client's CPU time (user + system,
/// all threads); `rss_kib` is hubmix's peak RSS.
struct Sample {
    seconds: f64,
    cpu: f64,
    rss_kib: Option<u64>,
}

/// The driver: seeds, measures, prints the table.
fn drive() {
    let mib = env_number("HUBMIX_BENCH_MIB", DEFAULT_MIB);
    let rounds = env_number("HUBMIX_BENCH_ROUNDS", DEFAULT_ROUNDS as u64) as usize;
    let size = mib * MIB;
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = hubmix_e2e::python_venv(tmp, PYTHON_HUB).expect("the Python venv");
    let work = tempfile::Builder::new()
        .prefix("hubmix-download-bench-")
        .tempdir_in(tmp)
        .expect("create the work folder");
    let drops = drop_page_cache();
    println!(
        "hubmix download benchmark: {mib} MiB file, {SMALL_FILES} small files, {rounds} rounds, \
         {} cores, load average {}, page cache {}, LFS files served {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        if drops {
            "dropped before each run"
        } else {
            "NOT dropped (not root?)"
        },
        if blob_host() {
            "by the blob host (302 to its sendfile listener; curl -L)"
        } else {
            "directly by /resolve/"
        }
    );
    let server = Server::start(&work.path().join("root"));
    let hub = Seeder::new(&server.url);
    hub.create("big");
    let big_sha256 = hub.upload_big("big", "big.bin", size);
    hub.create("small");
    let small_bytes = hub.commit_small("small", SMALL_FILES);

    let threshold_above = Some(u64::MAX);
    let threshold_below = Some(1);
    let file_contenders: Vec<(String, Tool)> = vec![
        ("curl -o".into(), Tool::Curl),
        (
            "curl + sha256 (curl piped to tee and openssl dgst)".into(),
            Tool::CurlSha256,
        ),
        ("curl -o + fsync (`sync FILE`)".into(), Tool::CurlFsync),
        (
            "hubmix sequential".into(),
            Tool::Hubmix(threshold_above, None, false),
        ),
        (
            "hubmix parallel, 2 workers".into(),
            Tool::Hubmix(threshold_below, Some(2), false),
        ),
        (
            "hubmix parallel, 4 workers".into(),
            Tool::Hubmix(threshold_below, Some(4), false),
        ),
        (
            "hubmix parallel, 8 workers".into(),
            Tool::Hubmix(threshold_below, Some(8), false),
        ),
        ("hubmix default settings".into(), Tool::Hubmix(None, None, false)),
        (
            "hubmix durable downloads (fsync before landing)".into(),
            Tool::Hubmix(None, None, true),
        ),
        ("Python hf_hub_download".into(), Tool::Python),
    ];
    // Indices of the peers and of the default settings in `file_contenders`.
    let (curl_at, verified_at, fsync_at, default_at, durable_at, python_at) = (0, 1, 2, 7, 8, 9);
    let snapshot_contenders: Vec<(String, Tool)> = vec![
        ("Python snapshot_download".into(), Tool::Python),
        ("hubmix snapshot_download".into(), Tool::Hubmix(None, None, false)),
    ];
    let run = Runner {
        url: &server.url,
        big_sha256: &big_sha256,
        work: work.path(),
        venv: &venv,
        drops,
    };
    let mut file_samples: Vec<Vec<Sample>> = file_contenders.iter().map(|_| Vec::new()).collect();
    let mut snapshot_samples: Vec<Vec<Sample>> = snapshot_contenders.iter().map(|_| Vec::new()).collect();
    // The server's CPU seconds during each file download, as `file_samples`.
    let mut file_server_cpu: Vec<Vec<f64>> = file_contenders.iter().map(|_| Vec::new()).collect();
    let mut hash_samples = Vec::new();
    // Each round starts with another contender, so that none always runs first or last.
    for round in 0..rounds {
        for k in 0..file_contenders.len() {
            let i = (k + round) % file_contenders.len();
            let (name, tool) = &file_contenders[i];
            let server_before = server.cpu();
            let s = run.file(*tool, size);
            let server_cpu = server.cpu() - server_before;
            println!(
                "round {}: {name}: {:.3} s, server CPU {server_cpu:.2} s{}",
                round + 1,
                s.seconds,
                s.rss_kib.map_or(String::new(), |k| format!(", peak RSS {k} KiB"))
            );
            file_samples[i].push(s);
            file_server_cpu[i].push(server_cpu);
        }
        let s = hash_in_memory(size);
        println!("round {}: SHA-256 in memory: {:.3} s", round + 1, s.seconds);
        hash_samples.push(s);
        for k in 0..snapshot_contenders.len() {
            let i = (k + round) % snapshot_contenders.len();
            let (name, tool) = &snapshot_contenders[i];
            let s = run.snapshot(*tool);
            println!("round {}: {name}: {:.3} s", round + 1, s.seconds);
            snapshot_samples[i].push(s);
        }
    }

    let mut table = Table::default();
    let secs = |s: &Sample| s.seconds;
    let cpu = |s: &Sample| s.cpu;
    let file_secs: Vec<f64> = file_samples.iter().map(|s| median(s, secs)).collect();
    let file_cpu: Vec<f64> = file_samples.iter().map(|s| median(s, cpu)).collect();
    let file_server: Vec<f64> = file_server_cpu.iter().map(|s| median(s, |&c| c)).collect();
    let (curl, python) = (file_secs[curl_at], file_secs[python_at]);
    for (i, (name, tool)) in file_contenders.iter().enumerate() {
        let check = match tool {
            Tool::Hubmix(..) => Some(Check::new(
                "curl",
                curl / file_secs[i],
                Target::AtLeast(CURL_TARGET),
            )),
            Tool::CurlSha256 | Tool::CurlFsync => Some(Check::new("curl", curl / file_secs[i], Target::None)),
            Tool::Curl | Tool::Python => None,
        };
        let what = format!("{mib} MiB LFS file: {name}");
        table.row(
            &what,
            file_secs[i],
            size,
            check,
            file_cpu[i],
            Some(file_server[i]),
        );
    }
    let hashing = median(&hash_samples, secs);
    table.row(
        &format!("{mib} MiB: SHA-256 of as many bytes in memory, one core (`sha2`)"),
        hashing,
        size,
        Some(Check::new("curl", curl / hashing, Target::None)),
        median(&hash_samples, cpu),
        None,
    );
    let durable = file_secs[durable_at];
    table.row(
        &format!("{mib} MiB LFS file: hubmix durable downloads"),
        durable,
        size,
        Some(Check::new(
            "curl -o + fsync",
            file_secs[fsync_at] / durable,
            Target::None,
        )),
        file_cpu[durable_at],
        Some(file_server[durable_at]),
    );
    let default = file_secs[default_at];
    table.row(
        &format!("{mib} MiB LFS file: hubmix default settings"),
        default,
        size,
        Some(Check::new(
            "curl + sha256",
            file_secs[verified_at] / default,
            Target::None,
        )),
        file_cpu[default_at],
        Some(file_server[default_at]),
    );
    table.row(
        &format!("{mib} MiB LFS file: hubmix default settings"),
        default,
        size,
        Some(Check::new(
            "Python",
            python / default,
            Target::Above(PYTHON_FILE_TARGET),
        )),
        file_cpu[default_at],
        Some(file_server[default_at]),
    );
    let snap: Vec<f64> = snapshot_samples.iter().map(|s| median(s, secs)).collect();
    let snap_cpu: Vec<f64> = snapshot_samples.iter().map(|s| median(s, cpu)).collect();
    table.row(
        &format!("snapshot, {SMALL_FILES} files: {}", snapshot_contenders[0].0),
        snap[0],
        small_bytes,
        None,
        snap_cpu[0],
        None,
    );
    table.row(
        &format!("snapshot, {SMALL_FILES} files: {}", snapshot_contenders[1].0),
        snap[1],
        small_bytes,
        Some(Check::new(
            "Python",
            snap[0] / snap[1],
            Target::AtLeast(PYTHON_SNAPSHOT_TARGET),
        )),
        snap_cpu[1],
        None,
    );
    table.print();

    println!("\npeak RSS of hubmix (VmHWM of the download process, highest of {rounds} rounds):");
    println!("| download | peak RSS (MiB) | target | result |\n|---|---:|---|---|");
    for ((name, _), samples) in file_contenders.iter().zip(&file_samples) {
        if let Some(kib) = samples.iter().filter_map(|s| s.rss_kib).max() {
            println!(
                "| {mib} MiB LFS file: {name} | {:.1} | < {} MiB | {} |",
                kib as f64 / 1024.0,
                RSS_TARGET_KIB / 1024,
                verdict(kib < RSS_TARGET_KIB)
            );
        }
    }
    if let Some(kib) = snapshot_samples[1].iter().filter_map(|s| s.rss_kib).max() {
        println!(
            "| snapshot, {SMALL_FILES} files: hubmix | {:.1} | (none) | |",
            kib as f64 / 1024.0
        );
    }
    // The least time hubmix's default download can take here: its hash runs on one core, and
    // all the CPU work of the download, the server's included, shares the machine's cores.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let cpu_bound = (file_cpu[default_at] + file_server[default_at]) / cores;
    println!(
        "\nCeiling of a client that checks SHA-256, on this machine: it cannot finish before its \
         hash ({hashing:.3} s on a core of its own), nor before {cores} cores have done the \
         download's CPU work (hubmix default {:.2} s + server {:.2} s = {cpu_bound:.3} s each). \
         So hubmix's default download can reach at most {:.2}× of `curl -o` here, with perfect \
         scheduling.",
        file_cpu[default_at],
        file_server[default_at],
        curl / hashing.max(cpu_bound)
    );
    println!("\nload average at the end: {}", load_average());
    drop(server);
}

/// SHA-256 of `size` bytes already in memory, on this thread: the least time a client that
/// verifies the download needs, whatever its network and disk do. `cpu` is this thread's CPU time.
fn hash_in_memory(size: u64) -> Sample {
    let block: Vec<u8> = (0..64 * MIB)
        .map(|i| (i.wrapping_mul(0x9e37_79b9) >> 13) as u8)
        .collect();
    let thread_cpu = || {
        let stat = fs::read_to_string("/proc/thread-self/schedstat").expect("read schedstat");
        let ns: u64 = stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .expect("run time");
        ns as f64 / 1e9
    };
    let (start, cpu_start) = (Instant::now(), thread_cpu());
    let mut hasher = Sha256::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    std::hint::black_box(hasher.finalize());
    Sample {
        seconds: start.elapsed().as_secs_f64(),
        cpu: thread_cpu() - cpu_start,
        rss_kib: None,
    }
}

/// Runs single measurements, each into a fresh cache folder.
struct Runner<'a> {
    url: &'a str,
    /// SHA-256 of `alice/big`'s `big.bin`.
    big_sha256: &'a str,
    work: &'a Path,
    venv: &'a Path,
    drops: bool,
}

impl Runner<'_> {
    /// A fresh, empty folder for one measurement's output.
    fn fresh(&self) -> PathBuf {
        let dir = self.work.join("out");
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("clear the output folder");
        }
        fs::create_dir_all(&dir).expect("create the output folder");
        if self.drops {
            drop_page_cache();
        }
        dir
    }

    /// Downloads `alice/big`'s `big.bin` (`size` bytes) with `tool`.
    fn file(&self, tool: Tool, size: u64) -> Sample {
        let dir = self.fresh();
        let (sample, path) = match tool {
            Tool::Curl => {
                let out = dir.join("big.bin");
                let url = format!("{}/{USER}/big/resolve/main/big.bin", self.url);
                let (output, cpu) = run(Command::new("curl")
                    .args(["-sS", "-f", "-L", "-w", "%{time_total}", "-o"])
                    .arg(&out)
                    .arg(&url));
                let sample = Sample {
                    seconds: output.trim().parse().expect("curl's time_total"),
                    cpu,
                    rss_kib: None,
                };
                (sample, out)
            }
            Tool::CurlSha256 => {
                let out = dir.join("big.bin");
                let url = format!("{}/{USER}/big/resolve/main/big.bin", self.url);
                let start = Instant::now();
                let (output, cpu) = run(Command::new("bash")
                    .args([
                        "-c",
                        "set -o pipefail; curl -sS -f -L \"$0\" | tee \"$1\" | openssl dgst -sha256",
                    ])
                    .arg(&url)
                    .arg(&out));
                let seconds = start.elapsed().as_secs_f64();
                assert!(output.contains(self.big_sha256), "openssl printed {output:?}");
                (
                    Sample {
                        seconds,
                        cpu,
                        rss_kib: None,
                    },
                    out,
                )
            }
            Tool::CurlFsync => {
                let out = dir.join("big.bin");
                let url = format!("{}/{USER}/big/resolve/main/big.bin", self.url);
                let start = Instant::now();
                let (_, cpu) = run(Command::new("bash")
                    .args(["-c", "curl -sS -f -L -o \"$1\" \"$0\" && sync \"$1\""])
                    .arg(&url)
                    .arg(&out));
                let seconds = start.elapsed().as_secs_f64();
                (
                    Sample {
                        seconds,
                        cpu,
                        rss_kib: None,
                    },
                    out,
                )
            }
            Tool::Hubmix(threshold, workers, durable) => self.hubmix(
                "file",
                &dir,
                &format!("{USER}/big"),
                "big.bin",
                (threshold, workers, durable),
            ),
            Tool::Python => self.python("file", &dir, &format!("{USER}/big"), Some("big.bin")),
        };
        let got = fs::metadata(&path).expect("the downloaded file").len();
        assert_eq!(got, size, "{} has the wrong size", path.display());
        fs::remove_dir_all(&dir).expect("remove the download");
        sample
    }

    /// Downloads the whole `alice/small` with `tool` (hubmix or Python).
    fn snapshot(&self, tool: Tool) -> Sample {
        let dir = self.fresh();
        let repo = format!("{USER}/small");
        let (sample, path) = match tool {
            Tool::Hubmix(threshold, workers, durable) => {
                self.hubmix("snapshot", &dir, &repo, "-", (threshold, workers, durable))
            }
            Tool::Python => self.python("snapshot", &dir, &repo, None),
            Tool::Curl | Tool::CurlSha256 | Tool::CurlFsync => {
                unreachable!("curl does not download snapshots")
            }
        };
        // The seeded files (the repo also holds the `.gitattributes` it was created with).
        let files = fs::read_dir(&path)
            .expect("the snapshot folder")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("file-"))
            .count();
        assert_eq!(files, SMALL_FILES, "{} is incomplete", path.display());
        fs::remove_dir_all(&dir).expect("remove the snapshot");
        sample
    }

    /// One hubmix download in a child process (`--download`).
    fn hubmix(
        &self,
        kind: &str,
        cache: &Path,
        repo: &str,
        path: &str,
        (threshold, workers, durable): (Option<u64>, Option<usize>, bool),
    ) -> (Sample, PathBuf) {
        let or_default = |v: Option<String>| v.unwrap_or_else(|| "default".into());
        let (output, cpu) = run(Command::new(std::env::current_exe().expect("this program"))
            .args(["--download", kind, self.url])
            .arg(cache)
            .args([repo, path])
            .arg(or_default(threshold.map(|t| t.to_string())))
            .arg(or_default(workers.map(|w| w.to_string())))
            .arg(if durable { "durable" } else { "default" })
            .env_remove("HF_TOKEN")
            .env("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1"));
        let mut parts = output.trim().splitn(3, ' ');
        let mut next = || parts.next().expect("SECONDS VMHWM_KIB PATH");
        let seconds = next().parse().expect("seconds");
        let rss_kib = Some(next().parse().expect("VmHWM"));
        (
            Sample {
                seconds,
                cpu,
                rss_kib,
            },
            PathBuf::from(next()),
        )
    }

    /// One Python `huggingface_hub` download.
    fn python(&self, kind: &str, cache: &Path, repo: &str, path: Option<&str>) -> (Sample, PathBuf) {
        let (output, cpu) = run(Command::new(hubmix_e2e::venv_python(self.venv))
            .args(["-c", PYTHON_SCRIPT, kind, repo])
            .arg(cache)
            .args(path)
            .env("HF_ENDPOINT", self.url)
            .env("HF_HOME", cache.join("hf-home"))
            .env("HF_HUB_DISABLE_XET", "1")
            .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .env("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
            .env_remove("HF_TOKEN"));
        let (seconds, path) = output.trim().split_once(' ').expect("SECONDS PATH");
        let sample = Sample {
            seconds: seconds.parse().expect("seconds"),
            cpu,
            rss_kib: None,
        };
        (sample, PathBuf::from(path))
    }
}

/// Runs `command` and returns its stdout and the CPU seconds it used; panics with its stderr if
/// it fails.
fn run(command: &mut Command) -> (String, f64) {
    let before = children_cpu();
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let cpu = children_cpu() - before;
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (String::from_utf8(output.stdout).expect("UTF-8 output"), cpu)
}

/// User + system CPU seconds of this process's waited-for children (`cutime` + `cstime`,
/// fields 16 and 17 of `/proc/self/stat`).
fn children_cpu() -> f64 {
    cpu_seconds("/proc/self/stat", 16)
}

/// `sync; echo 3 > /proc/sys/vm/drop_caches`; false if not allowed.
fn drop_page_cache() -> bool {
    let synced = Command::new("sync").status().is_ok_and(|s| s.success());
    synced && fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// The server child process (`--serve`); stopped when dropped.
struct Server {
    child: Child,
    /// Held open: the server stops when it closes.
    stdin: Option<ChildStdin>,
    url: String,
}

impl Server {
    fn start(root: &Path) -> Server {
        fs::create_dir_all(root).expect("create the server root");
        let mut child = Command::new(std::env::current_exe().expect("this program"))
            .arg("--serve")
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut url)
            .expect("read the server URL");
        assert!(url.starts_with("http"), "the server printed {url:?}");
        Server {
            stdin: child.stdin.take(),
            child,
            url: url.trim().to_owned(),
        }
    }
}

impl Server {
    /// User + system CPU seconds the server process has used so far.
    fn cpu(&self) -> f64 {
        // utime and stime are fields 14 and 15 of `/proc/<pid>/stat`.
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()), 14)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Seeds repos through the raw Hub protocol, as `alice`.
struct Seeder<'a> {
    agent: ureq::Agent,
    url: &'a str,
}

impl<'a> Seeder<'a> {
    fn new(url: &'a str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(true)
            .build()
            .into();
        Seeder { agent, url }
    }

    /// Creates the public model repo `alice/<name>`.
    fn create(&self, name: &str) {
        self.agent
            .post(format!("{}/api/repos/create", self.url))
            .header("authorization", format!("Bearer {TOKEN}"))
            .send_json(json!({"name": name, "organization": USER}))
            .expect("create the repo");
    }

    /// Commits `files` (NDJSON lines after the header) to `main` of `alice/<name>`.
    fn commit(&self, name: &str, files: &[Value]) {
        let mut ndjson =
            json!({"key": "header", "value": {"summary": "seed", "description": ""}}).to_string();
        for line in files {
            ndjson.push('\n');
            ndjson.push_str(&line.to_string());
        }
        self.agent
            .post(format!("{}/api/models/{USER}/{name}/commit/main", self.url))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/x-ndjson")
            .send(ndjson)
            .expect("commit");
    }

    /// Uploads `size` pseudo-random bytes through LFS (batch, then a streamed `PUT`) and commits
    /// them as `path`; returns their SHA-256. Nothing is written on the client side.
    fn upload_big(&self, name: &str, path: &str, size: u64) -> String {
        let mut hasher = Sha256::new();
        io::copy(&mut Noise::new(size, 7), &mut HashWriter(&mut hasher)).expect("hash the content");
        let oid = hex::encode(hasher.finalize());
        let batch: Value = self
            .agent
            .post(format!("{}/{USER}/{name}.git/info/lfs/objects/batch", self.url))
            .header("authorization", format!("Bearer {TOKEN}"))
            .send_json(json!({"operation": "upload", "transfers": ["basic"],
                              "objects": [{"oid": oid, "size": size}]}))
            .expect("LFS batch")
            .body_mut()
            .read_json()
            .expect("LFS batch JSON");
        if let Some(href) = batch["objects"][0]["actions"]["upload"]["href"].as_str() {
            self.agent
                .put(href)
                .header("content-length", size.to_string())
                .send(ureq::SendBody::from_owned_reader(Noise::new(size, 7)))
                .expect("LFS PUT");
        }
        self.commit(
            name,
            &[json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}})],
        );
        oid
    }

    /// Commits `count` files of 1–8 KiB, inline; returns their total size.
    fn commit_small(&self, name: &str, count: usize) -> u64 {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut total = 0;
        let files: Vec<Value> = (0..count)
            .map(|i| {
                let len = 1024 * (1 + i as u64 % 8);
                let mut content = Vec::new();
                Noise::new(len, i as u64 + 1)
                    .read_to_end(&mut content)
                    .expect("generate");
                total += len;
                json!({"key": "file", "value": {"path": format!("file-{i:04}.bin"),
                       "content": b64.encode(&content), "encoding": "base64"}})
            })
            .collect();
        self.commit(name, &files);
        total
    }
}

/// `left` bytes of xorshift noise.
struct Noise {
    state: u64,
    left: u64,
}

impl Noise {
    fn new(left: u64, seed: u64) -> Self {
        Noise {
            state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            left,
        }
    }
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left.try_into().unwrap_or(usize::MAX));
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Feeds what is written into a hasher.
struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A contender against a peer: the ratio of their throughputs (peer's seconds / contender's).
struct Check {
    peer: &'static str,
    ratio: f64,
    target: Target,
}

impl Check {
    fn new(peer: &'static str, ratio: f64, target: Target) -> Self {
        Check { peer, ratio, target }
    }
}

/// What a [`Check`]'s ratio must be.
enum Target {
    /// Nothing: for information.
    None,
    AtLeast(f64),
    Above(f64),
}

/// The results table (markdown).
#[derive(Default)]
struct Table {
    rows: Vec<String>,
}

impl Table {
    /// A row for a download of `bytes` in `seconds` using `cpu` seconds of the client's CPU and
    /// `server` seconds of the server's (when measured), compared with a peer (`None`: this row
    /// is a peer).
    fn row(
        &mut self,
        what: &str,
        seconds: f64,
        bytes: u64,
        check: Option<Check>,
        cpu: f64,
        server: Option<f64>,
    ) {
        let mbps = bytes as f64 / seconds / 1e6;
        let rest = match check {
            None => "| (peer) | | ".to_owned(),
            Some(Check { peer, ratio, target }) => {
                let (target, result) = match target {
                    Target::None => ("(info)".to_owned(), ""),
                    Target::AtLeast(t) => (format!("≥ {t:.2}×"), verdict(ratio >= t)),
                    Target::Above(t) => (format!("> {t:.2}×"), verdict(ratio > t)),
                };
                format!("| {ratio:.2}× {peer} | {target} | {result} ")
            }
        };
        let server = server.map_or(String::new(), |s| format!("{s:.2}"));
        self.rows.push(format!(
            "| {what} | {seconds:.3} | {mbps:.1} {rest}| {cpu:.2} | {server} |"
        ));
    }

    fn print(&self) {
        println!(
            "\n| contender | seconds (median) | MB/s | ratio vs peer | target | result | client CPU s (median) \
             | server CPU s (median) |"
        );
        println!("|---|---:|---:|---|---|---|---:|---:|");
        for row in &self.rows {
            println!("{row}");
        }
    }
}
