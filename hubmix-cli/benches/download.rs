//! Benchmark of the `hubmix` command against Python's `hf` (huggingface_hub 2.4.0): what a user
//! times at a terminal, the whole process from start to exit.
//!
//! Run with `cargo bench -p hubmix-cli --bench download` (it builds the release `hubmix`). Linux
//! only (`/proc`); `python3` with the `venv` module and `sync` must be on the `PATH`. Knobs:
//! `HUBMIX_BENCH_ROUNDS` (default 5), `HUBMIX_BENCH_MIB` (the large file, default 1024),
//! `HUBMIX_BENCH_STARTUP_RUNS` (default 30), `HUBMIX_BENCH_CASES` (which of `big`, `small`,
//! `startup` to run, comma-separated; default all).
//!
//! One in-process `hubmix-server` on 127.0.0.1 (LFS downloads redirected to its `sendfile` blob
//! host, as the Hub redirects them to its CDN; LFS from 64 KiB so that the small-file repository
//! has some) serves two public repositories, seeded with `hubmix_hub`:
//! - `bench/big`: one pseudo-random file of `HUBMIX_BENCH_MIB` MiB (LFS);
//! - `bench/small`: [`SMALL_FILES`] pseudo-random files of 1 KiB to 63 KiB in 10 folders, and
//!   every 50th of 64 KiB (LFS).
//!
//! Each case runs on its own: one run of each tool that is not counted, then
//! `HUBMIX_BENCH_ROUNDS` rounds of `hubmix download REPO -q` and `hf download REPO -q`, the first
//! tool alternating between rounds, each with a fresh, empty `HF_HOME` (a cold cache), after
//! `sync` (so that the previous download's write-back does not slow this one); the downloaded
//! snapshot is checked (file count and bytes). Two things this kind of VM needs:
//! - the uncounted first runs: the first 1 GiB written after other work took 8.8 s, 5.2 s of it
//!   system time, against 4.4 s and 2.0 s for the next ones, whichever tool ran it (memory the
//!   host hands the guest on first touch; DAMON pages cold guest memory out);
//! - the small files' `HF_HOME`s deleted only at the end: the root file system is ext4 mounted
//!   with `discard`, and `hubmix download` of the small repository right after deleting the
//!   previous download's 2,000 files and links spent 3.5 s in the kernel, 0.25 s without.
//!
//! The large file's `HF_HOME` is deleted right after its run (12 GiB otherwise). Both tools run
//! with their defaults (8 workers), `HF_HUB_DISABLE_XET=1`, progress bars off (their output goes
//! to a pipe), no token. The time is the child process's, from spawn to exit; its CPU (user + system, all
//! threads) is read from this program's `cutime`/`cstime`. Then start-up: `hubmix --version`
//! and `hf --version`, alternately, `HUBMIX_BENCH_STARTUP_RUNS` times each.
//!
//! The table gives each tool's best and median and the ratio of the medians (hubmix / hf: below
//! 1 is hubmix faster). All data lives in a temporary folder under `target/tmp`, removed at the
//! end.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use hubmix_e2e::bench::{cpu_seconds, env_number, load_average, median, sync, write_random};
use hubmix_hub::{HubClient, RepoId, UploadFolderOptions};
use hubmix_server::{Role, ServerConfig};

const MIB: u64 = 1024 * 1024;
const KIB: u64 = 1024;
/// Files of the small-file repository.
const SMALL_FILES: u64 = 1000;
/// Every this many small files, one goes through LFS.
const LFS_EVERY: u64 = 50;
/// The server's LFS threshold.
const LFS_THRESHOLD: u64 = 64 * KIB;
const TOKEN: &str = "hf_bench_write";
const HF_VERSION: &str = "2.4.0";

/// A tool compared.
struct Tool {
    name: &'static str,
    program: PathBuf,
}

/// One measured run.
#[derive(Clone, Copy)]
struct Sample {
    seconds: f64,
    cpu: f64,
}

/// A case: what the tools run, and what it must produce.
struct Case {
    /// Its name in `HUBMIX_BENCH_CASES`.
    name: &'static str,
    label: String,
    args: Vec<String>,
    /// Files and bytes of the snapshot; `None` for `--version`.
    expect: Option<(u64, u64)>,
    /// Runs of each tool.
    runs: usize,
    /// Its `HF_HOME`s are deleted at the end rather than right after each run.
    keep_homes: bool,
    /// The samples, per tool.
    samples: [Vec<Sample>; 2],
}

fn main() {
    let rounds = env_number("HUBMIX_BENCH_ROUNDS", 5) as usize;
    let mib = env_number("HUBMIX_BENCH_MIB", 1024);
    let startup_runs = env_number("HUBMIX_BENCH_STARTUP_RUNS", 30) as usize;
    let load_before = load_average();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = hubmix_e2e::python_venv(tmp, HF_VERSION).unwrap_or_else(|e| panic!("no Python venv: {e}"));
    let tools = [
        Tool {
            name: "hubmix",
            program: PathBuf::from(env!("CARGO_BIN_EXE_hubmix")),
        },
        Tool {
            name: "hf",
            program: venv.join("bin").join("hf"),
        },
    ];
    let work = tempfile::Builder::new()
        .prefix("hubmix-cli-bench-")
        .tempdir_in(tmp)
        .unwrap();
    let server = hubmix_server::spawn(
        ServerConfig::new(work.path().join("hub"))
            .user("bench", TOKEN, Role::Write)
            .lfs_threshold(LFS_THRESHOLD)
            .lfs_cdn(true),
    )
    .expect("start hubmix-server");
    let seeded = seed(server.url(), work.path(), mib * MIB);

    let mut cases = vec![
        Case {
            name: "big",
            label: format!("`download` of 1 file of {mib} MiB (LFS)"),
            args: vec!["download".into(), "bench/big".into(), "-q".into()],
            expect: Some(seeded[0]),
            runs: rounds,
            keep_homes: false,
            samples: [vec![], vec![]],
        },
        Case {
            name: "small",
            label: format!(
                "`download` of {SMALL_FILES} files of 1–64 KiB ({} LFS)",
                SMALL_FILES / LFS_EVERY
            ),
            args: vec!["download".into(), "bench/small".into(), "-q".into()],
            expect: Some(seeded[1]),
            runs: rounds,
            keep_homes: true,
            samples: [vec![], vec![]],
        },
        Case {
            name: "startup",
            label: "start-up: `--version`".into(),
            args: vec!["--version".into()],
            expect: None,
            runs: startup_runs,
            keep_homes: true,
            samples: [vec![], vec![]],
        },
    ];
    let chosen = std::env::var("HUBMIX_BENCH_CASES").unwrap_or_else(|_| "big,small,startup".into());
    let chosen: Vec<&str> = chosen.split(',').map(str::trim).collect();
    for name in &chosen {
        assert!(
            cases.iter().any(|c| c.name == *name),
            "HUBMIX_BENCH_CASES: {name:?} is not big, small or startup"
        );
    }
    cases.retain(|c| chosen.contains(&c.name));
    // The HF_HOMEs deleted at the end: see the module's documentation.
    let mut homes = Vec::new();
    for case in &mut cases {
        // One run of each tool first, not counted: see the module's documentation.
        for tool in &tools {
            let (_, home) = run(tool, case, server.url(), work.path());
            if case.keep_homes {
                homes.push(home);
            }
        }
        for i in 0..case.runs {
            for t in order(i) {
                let (sample, home) = run(&tools[t], case, server.url(), work.path());
                case.samples[t].push(sample);
                if case.keep_homes {
                    homes.push(home);
                }
            }
        }
        eprintln!(
            "{}: hubmix {}; hf {}",
            case.name,
            seconds(&case.samples[0]),
            seconds(&case.samples[1])
        );
    }
    let load_after = load_average();
    server.shutdown();
    drop(homes);

    println!("## hubmix command against hf (issue 13)\n");
    println!(
        "`cargo bench -p hubmix-cli --bench download` ({rounds} rounds, {startup_runs} start-up runs; whole process timed, cold cache)\n"
    );
    println!(
        "| case | hubmix best | hubmix median | hf best | hf median | hubmix / hf (median) | CPU s, hubmix / hf (median) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    for case in &cases {
        let [rs, py] = &case.samples;
        let best = |s: &[Sample]| s.iter().map(|s| s.seconds).fold(f64::MAX, f64::min);
        let (rs_median, py_median) = (median(rs, |s| s.seconds), median(py, |s| s.seconds));
        println!(
            "| {} | {:.3} s | {rs_median:.3} s | {:.3} s | {py_median:.3} s | **{:.2}** | {:.2} / {:.2} |",
            case.label,
            best(rs),
            best(py),
            rs_median / py_median,
            median(rs, |s| s.cpu),
            median(py, |s| s.cpu),
        );
    }
    println!();
    for case in cases.iter().filter(|c| c.expect.is_some()) {
        println!(
            "- {}, every round (s): hubmix {}; hf {}",
            case.args[1],
            seconds(&case.samples[0]),
            seconds(&case.samples[1])
        );
    }
    println!(
        "- load average (1, 5, 15 min) before: {load_before}; after: {load_after}; {} CPUs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}

/// The samples' seconds, as a list.
fn seconds(samples: &[Sample]) -> String {
    samples
        .iter()
        .map(|s| format!("{:.2}", s.seconds))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tools' order in round `round`: hubmix first in even rounds, hf first in odd ones.
fn order(round: usize) -> [usize; 2] {
    if round.is_multiple_of(2) { [0, 1] } else { [1, 0] }
}

/// Seeds `bench/big` (one file of `size` bytes) and `bench/small`; returns each one's file count
/// and bytes, as the server lists them.
fn seed(endpoint: &str, work: &Path, size: u64) -> [(u64, u64); 2] {
    let hub = HubClient::builder()
        .endpoint(endpoint)
        .token(TOKEN)
        .cache_dir(work.join("seed-cache"))
        .progress_bars(Some(false))
        .build()
        .unwrap();
    let started = Instant::now();
    let big = work.join("big.bin");
    write_random(&big, size);
    hub.create_repo("bench/big", &Default::default()).unwrap();
    hub.upload_file("bench/big", &big, "big.bin", &Default::default())
        .unwrap();
    fs::remove_file(&big).unwrap();
    let small = work.join("small");
    for i in 0..SMALL_FILES {
        let dir = small.join(format!("part-{}", i % 10));
        fs::create_dir_all(&dir).unwrap();
        let len = if i % LFS_EVERY == LFS_EVERY - 1 {
            LFS_THRESHOLD
        } else {
            KIB + (i * 7919) % (62 * KIB)
        };
        write_random(&dir.join(format!("file-{i:04}.bin")), len);
    }
    hub.create_repo("bench/small", &Default::default()).unwrap();
    hub.upload_folder("bench/small", &small, &UploadFolderOptions::default())
        .unwrap();
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    ["bench/big", "bench/small"].map(|repo| {
        let id = RepoId::new(repo).unwrap();
        let files: Vec<_> = hub
            .list_tree(&id, "main", None, true)
            .unwrap()
            .into_iter()
            .filter(|e| e.is_file())
            .collect();
        (files.len() as u64, files.iter().map(|e| e.size).sum())
    })
}

/// Runs `tool` on `case` once, with a fresh `HF_HOME`; checks what it downloaded. Returns the
/// sample, and the `HF_HOME` to delete later.
fn run(tool: &Tool, case: &Case, endpoint: &str, work: &Path) -> (Sample, tempfile::TempDir) {
    let home = tempfile::Builder::new()
        .prefix("hf-home-")
        .tempdir_in(work)
        .unwrap();
    let mut command = Command::new(&tool.program);
    command.args(&case.args);
    for (name, _) in std::env::vars_os() {
        let upper = name.to_string_lossy().to_ascii_uppercase();
        if upper.starts_with("HF_")
            || upper.starts_with("HUGGING")
            || ["AI_AGENT", "AGENT", "NO_COLOR"].contains(&upper.as_str())
        {
            command.env_remove(&name);
        }
    }
    command
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HOME", home.path())
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_UPDATE_CHECK", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if case.expect.is_some() {
        sync();
    }
    let cpu = cpu_seconds("/proc/self/stat", 16);
    let started = Instant::now();
    let output = command.output().expect("the tool runs");
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds("/proc/self/stat", 16) - cpu;
    assert!(
        output.status.success(),
        "{} {:?} failed: {}",
        tool.name,
        case.args,
        String::from_utf8_lossy(&output.stderr)
    );
    if let Some(expected) = case.expect {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let path = stdout.lines().last().expect("the snapshot's path");
        assert!(
            Path::new(path).starts_with(home.path()),
            "{}: {path:?} is not in HF_HOME",
            tool.name
        );
        assert_eq!(count(Path::new(path)), expected, "{} {:?}", tool.name, case.args);
    }
    (Sample { seconds, cpu }, home)
}

/// The files below `dir` (links followed) and their bytes.
fn count(dir: &Path) -> (u64, u64) {
    let mut total = (0, 0);
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let metadata = fs::metadata(&path).unwrap();
        if metadata.is_dir() {
            let (n, b) = count(&path);
            total = (total.0 + n, total.1 + b);
        } else {
            total = (total.0 + 1, total.1 + metadata.len());
        }
    }
    total
}
