//! Benchmark of `hubmix-server` with a large LFS file, against the disk it is stored on.
//!
//! Run with `cargo bench -p hubmix-server --bench server`. The file size is 1024 MiB unless set with
//! `HUBMIX_BENCH_MIB=256` or `cargo bench -p hubmix-server --bench server -- 256`. Linux only;
//! `curl` and GNU `dd` must be on the `PATH`.
//!
//! The server runs as a separate process — the `hubmix-server` binary that cargo builds with the
//! benchmark's (release) profile, `target/release/hubmix-server`, known here through
//! `CARGO_BIN_EXE_hubmix-server`; `HUBMIX_BENCH_SERVER=<path>` runs another build instead, to
//! compare two versions — so that its memory can be read from `/proc/<pid>/status`:
//! before each measurement the peak resident size (`VmHWM`) is reset by writing `5` to
//! `/proc/<pid>/clear_refs`, and it is read afterwards. The data (generated files, the server's
//! root) lives in a temporary folder under `target/tmp`, on the same disk as the target folder,
//! and is removed at the end.
//!
//! Measured in one run:
//! 1. download of the file with `curl -o <file>`, against reading the blob file from disk; both
//!    with the blob evicted from the page cache first (`dd iflag=nocache`, a per-file
//!    `posix_fadvise(DONTNEED)`), which the target applies to, and both again with the blob cached;
//!    for information, also against copying the blob to a file (read and write, as `curl -o`
//!    does) and with `curl -o /dev/null` (the server without the client's file writes);
//! 2. LFS upload (`PUT` with `curl --upload-file`: the server hashes, writes and fsyncs), against
//!    copying the same file with a final `fsync` — the source file is cached in both cases;
//! 3. [`CLIENTS`] concurrent downloads of the file, each checked by SHA-256;
//!
//! and the server's peak RSS for a small file and for the large one, which must not differ by more
//! than [`RSS_SLACK_KIB`]. Each timed upload, download and baseline runs [`REPS`] times, the
//! baseline and the server alternately, and the best time of each is kept: the machine may be
//! shared, and the best run is the one least disturbed by other work.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;
/// Default size of the large file, in MiB.
const DEFAULT_MIB: u64 = 1024;
/// Size of the small file the peak RSS of the large one is compared with.
const SMALL_SIZE: u64 = MIB;
/// Number of concurrent downloads.
const CLIENTS: usize = 32;
/// Runs of each timed upload, download and baseline; the best is kept.
const REPS: usize = 5;
/// Buffer of the benchmark's own reads and writes.
const BUF: usize = 1 << 20;
const USER: &str = "alice";
const TOKEN: &str = "tok";
/// Download throughput, as a fraction of reading the blob from disk.
const DOWNLOAD_TARGET: f64 = 0.8;
/// Upload throughput, as a fraction of writing the same bytes to disk.
const UPLOAD_TARGET: f64 = 0.7;
/// How much higher the server's peak RSS may be with the large file than with the small one.
const RSS_SLACK_KIB: u64 = 16 * 1024;

fn main() {
    let mib = size_mib();
    let size = mib * MIB;
    let work = tempfile::Builder::new()
        .prefix("hubmix-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create the work folder");
    let dir = work.path();
    println!(
        "hubmix-server benchmark: {mib} MiB file, {} cores, load average {}, data in {}",
        thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        dir.display()
    );
    let server = Server::start(&dir.join("root"), &dir.join("server.log"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let hub = Hub {
        agent: &agent,
        url: &server.url,
    };
    hub.post_json(
        "/api/repos/create",
        &json!({"name": "bench", "organization": USER}),
    );
    let mut table = Table::default();

    // Uploads (first: the downloads need the files): a small file, then the large one, against
    // a plain copy with fsync. Repeated uploads reuse the transfer URL: the server receives,
    // hashes, writes and fsyncs the object again, then finds it stored already.
    let small = dir.join("small.bin");
    let small_sha = write_random(&small, SMALL_SIZE, 1);
    server.reset_peak();
    hub.upload(&small, &small_sha, SMALL_SIZE);
    let rss_small_up = server.peak_kib();
    let big = dir.join("big.bin");
    let big_sha = write_random(&big, size, 2);
    let copy = dir.join("copy.bin");
    let (put, verify) = hub.batch(&big_sha, size);
    let (mut disk_write, mut upload) = (Runs::default(), Runs::default());
    server.reset_peak();
    for _ in 0..REPS {
        disk_write.add(copy_file(&big, &copy, true));
        fs::remove_file(&copy).expect("remove the copy");
        upload.add(hub.put(&put, &big));
        hub.verify(&verify, &big_sha, size);
    }
    let rss_big_up = server.peak_kib();
    hub.commit(&[("small.bin", &small_sha, SMALL_SIZE), ("big.bin", &big_sha, size)]);
    fs::remove_file(&big).expect("remove the source file");
    table.ratio(
        "LFS upload (`curl --upload-file`) vs copy + fsync",
        upload.best_mibps(size),
        disk_write.best_mibps(size),
        UPLOAD_TARGET,
    );
    table.flat("server peak RSS, upload", rss_small_up, rss_big_up);

    // Downloads: the small file, then the large one, from the disk and from the page cache.
    let out = dir.join("download.bin");
    server.reset_peak();
    hub.download("small.bin", &out, &small_sha);
    let rss_small_down = server.peak_kib();
    let blob = dir.join("root/blobs/sha256").join(&big_sha[..2]).join(&big_sha);
    let (mut cold_read, mut cold_copy) = (Runs::default(), Runs::default());
    let (mut cold_download, mut cold_discard) = (Runs::default(), Runs::default());
    let (mut warm_read, mut warm_download) = (Runs::default(), Runs::default());
    server.reset_peak();
    for _ in 0..REPS {
        evict(&blob);
        cold_read.add(read_file(&blob));
        evict(&blob);
        cold_copy.add(copy_file(&blob, &out, false));
        fs::remove_file(&out).expect("remove the copy");
        evict(&blob);
        cold_download.add(hub.download("big.bin", &out, &big_sha));
        evict(&blob);
        cold_discard.add(hub.fetch("big.bin", Path::new("/dev/null")));
    }
    for _ in 0..REPS {
        warm_read.add(read_file(&blob));
        warm_download.add(hub.download("big.bin", &out, &big_sha));
    }
    let rss_big_down = server.peak_kib();
    table.ratio(
        "download (`curl -o`) vs disk read, blob not cached",
        cold_download.best_mibps(size),
        cold_read.best_mibps(size),
        DOWNLOAD_TARGET,
    );
    table.info(
        "download (`curl -o`) vs disk copy to a file (like `curl -o`), blob not cached",
        cold_download.best_mibps(size),
        cold_copy.best_mibps(size),
    );
    table.info(
        "download (`curl -o /dev/null`) vs disk read, blob not cached",
        cold_discard.best_mibps(size),
        cold_read.best_mibps(size),
    );
    table.info(
        "download (`curl -o`) vs disk read, blob cached",
        warm_download.best_mibps(size),
        warm_read.best_mibps(size),
    );
    table.flat("server peak RSS, download", rss_small_down, rss_big_down);

    // Concurrent downloads of the large file (their threads raise the load average).
    println!("load average before the concurrent downloads: {}", load_average());
    server.reset_peak();
    let concurrent = hub.concurrent_downloads("big.bin", &big_sha, size);
    let rss_concurrent = server.peak_kib();
    table.concurrent(
        mibps(size * CLIENTS as u64, concurrent),
        mibps(size, concurrent),
        rss_concurrent,
    );

    table.print();
    println!("every run, MiB/s:");
    for (what, runs) in [
        ("upload", &upload),
        ("copy + fsync", &disk_write),
        ("download, not cached", &cold_download),
        ("download to /dev/null, not cached", &cold_discard),
        ("disk read, not cached", &cold_read),
        ("disk copy to a file, not cached", &cold_copy),
        ("download, cached", &warm_download),
        ("disk read, cached", &warm_read),
    ] {
        println!("- {what}: {}", runs.list_mibps(size));
    }
    println!("load average at the end: {}", load_average());
    drop(server); // before its folder is removed with `work`
}

/// The file size in MiB: the first numeric argument, else `HUBMIX_BENCH_MIB`, else 1024.
/// (`cargo bench` adds a `--bench` flag, which is skipped.)
fn size_mib() -> u64 {
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let value = arg.or_else(|| std::env::var("HUBMIX_BENCH_MIB").ok());
    match value {
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("the size {v:?} is not a positive number of MiB")),
        None => DEFAULT_MIB,
    }
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The `hubmix-server` process.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts the binary on a free local port and waits until it accepts connections.
    fn start(root: &Path, log: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("find a free port")
            .port();
        let log = File::create(log).expect("create the server log");
        let binary = std::env::var_os("HUBMIX_BENCH_SERVER")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_hubmix-server").into());
        let child = Command::new(binary)
            .arg("--root")
            .arg(root)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--token", &format!("{USER}:{TOKEN}:write")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start hubmix-server");
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "hubmix-server did not start"
            );
            thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Resets the peak resident set size to the current one.
    fn reset_peak(&self) {
        fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .expect("reset the server's peak RSS through /proc/<pid>/clear_refs");
    }

    /// The peak resident set size since the last reset, in KiB.
    fn peak_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository `alice/bench` on the server.
struct Hub<'a> {
    agent: &'a ureq::Agent,
    url: &'a str,
}

impl Hub<'_> {
    /// `POST`s a body with the token and returns the JSON answer; panics unless it is a 2xx.
    fn post(&self, url: &str, content_type: &str, body: String) -> Value {
        let mut response = self
            .agent
            .post(url)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", content_type)
            .send(body)
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let text = response.body_mut().read_to_string().expect("read the answer");
        assert!(
            response.status().is_success(),
            "POST {url}: {}: {text}",
            response.status()
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn post_json(&self, path: &str, body: &Value) -> Value {
        self.post(
            &format!("{}{path}", self.url),
            "application/json",
            body.to_string(),
        )
    }

    /// Asks the LFS batch API where to upload an object (`basic` transfer): the `PUT` and the
    /// verify URLs.
    fn batch(&self, sha: &str, size: u64) -> (String, String) {
        let batch = self.post_json(
            &format!("/{USER}/bench.git/info/lfs/objects/batch"),
            &json!({"operation": "upload", "transfers": ["basic"],
                    "objects": [{"oid": sha, "size": size}]}),
        );
        let actions = &batch["objects"][0]["actions"];
        let href = |action: &str| {
            actions[action]["href"]
                .as_str()
                .unwrap_or_else(|| panic!("no {action} action in {batch}"))
                .to_owned()
        };
        (href("upload"), href("verify"))
    }

    /// `PUT`s a file with `curl --upload-file` and returns the time it took, which ends once the
    /// server has hashed, written, fsynced and stored the object.
    fn put(&self, href: &str, file: &Path) -> Duration {
        let started = Instant::now();
        curl(&[
            "-X",
            "PUT",
            "-H",
            "Expect:",
            "--upload-file",
            path_str(file),
            "-o",
            "/dev/null",
            href,
        ]);
        started.elapsed()
    }

    /// Checks through the verify URL that the server holds the object.
    fn verify(&self, href: &str, sha: &str, size: u64) {
        self.post(
            href,
            "application/vnd.git-lfs+json",
            json!({"oid": sha, "size": size}).to_string(),
        );
    }

    /// Uploads a file through the LFS batch API.
    fn upload(&self, file: &Path, sha: &str, size: u64) {
        let (put, verify) = self.batch(sha, size);
        self.put(&put, file);
        self.verify(&verify, sha, size);
    }

    /// Commits uploaded LFS objects as `(path, sha256, size)` to `main`.
    fn commit(&self, files: &[(&str, &str, u64)]) {
        let mut body = json!({"key": "header", "value": {"summary": "add", "description": ""}}).to_string();
        for (path, oid, size) in files {
            let line = json!({"key": "lfsFile",
                              "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}});
            body.push('\n');
            body.push_str(&line.to_string());
        }
        self.post(
            &format!("{}/api/models/{USER}/bench/commit/main", self.url),
            "application/x-ndjson",
            body,
        );
    }

    fn resolve_url(&self, path: &str) -> String {
        format!("{}/{USER}/bench/resolve/main/{path}", self.url)
    }

    /// Downloads a file with `curl -o out`; returns the time it took.
    fn fetch(&self, path: &str, out: &Path) -> Duration {
        let started = Instant::now();
        curl(&["-o", path_str(out), &self.resolve_url(path)]);
        started.elapsed()
    }

    /// Downloads a file with `curl -o out`, checks it and removes it; returns the time of `curl`.
    fn download(&self, path: &str, out: &Path, sha: &str) -> Duration {
        let elapsed = self.fetch(path, out);
        assert_eq!(sha256_file(out), sha, "downloaded {path}");
        fs::remove_file(out).expect("remove the download");
        elapsed
    }

    /// Downloads a file [`CLIENTS`] times at once (one thread each, hashing as it reads) and
    /// returns the time until the last one finished; panics unless every copy is correct.
    fn concurrent_downloads(&self, path: &str, sha: &str, size: u64) -> Duration {
        let url = self.resolve_url(path);
        let started = Instant::now();
        let results: Vec<(u64, String)> = thread::scope(|s| {
            let handles: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    s.spawn(|| {
                        let response = self.agent.get(&url).call().expect("GET");
                        assert!(response.status().is_success(), "GET {url}: {}", response.status());
                        hash_reader(response.into_body().into_reader()).expect("read the download")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("download thread"))
                .collect()
        });
        let elapsed = started.elapsed();
        let correct = results.iter().filter(|(n, s)| *n == size && s == sha).count();
        assert_eq!(
            correct, CLIENTS,
            "concurrent downloads with the right size and sha256"
        );
        elapsed
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// Runs `curl` with `args` (silent, failing on HTTP errors); panics unless it succeeds.
fn curl(args: &[&str]) {
    let status = Command::new("curl")
        .args(["-sS", "--fail-with-body"])
        .args(args)
        .status()
        .expect("run curl (is it installed?)");
    assert!(status.success(), "curl {args:?}: {status}");
}

/// Drops a file's pages from the page cache (`posix_fadvise(POSIX_FADV_DONTNEED)` through GNU
/// `dd`). The file must not have unwritten (dirty) pages, which cannot be dropped.
fn evict(path: &Path) {
    let status = Command::new("dd")
        .arg(format!("if={}", path.display()))
        .args(["iflag=nocache", "count=0", "status=none"])
        .status()
        .expect("run dd");
    assert!(
        status.success(),
        "evict {} from the page cache: {status}",
        path.display()
    );
}

/// Writes `size` pseudo-random bytes (xorshift from `seed`) to `path` with `fsync`, and returns
/// their SHA-256.
fn write_random(path: &Path, size: u64, seed: u64) -> String {
    let mut out = File::create(path).expect("create the data file");
    let mut hasher = Sha256::new();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut buf = vec![0u8; BUF];
    let mut left = size;
    while left > 0 {
        for word in buf.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(BUF as u64) as usize;
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).expect("write the data file");
        left -= n as u64;
    }
    out.sync_all().expect("fsync the data file");
    hex::encode(hasher.finalize())
}

/// Reads `reader` to the end; returns the number of bytes and their SHA-256.
fn hash_reader(mut reader: impl Read) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF];
    let mut total = 0;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((total, hex::encode(hasher.finalize())))
}

fn sha256_file(path: &Path) -> String {
    hash_reader(File::open(path).expect("open the file"))
        .expect("hash the file")
        .1
}

/// The time to read a file to the end (the bytes are discarded).
fn read_file(path: &Path) -> Duration {
    let mut file = File::open(path).expect("open the blob");
    let mut buf = vec![0u8; BUF];
    let started = Instant::now();
    while file.read(&mut buf).expect("read the blob") > 0 {}
    started.elapsed()
}

/// The time to copy `src` to a new file `dst` through a buffer, with a final `fsync` if `sync`.
fn copy_file(src: &Path, dst: &Path, sync: bool) -> Duration {
    let started = Instant::now();
    let mut input = File::open(src).expect("open the source");
    let mut output = File::create(dst).expect("create the copy");
    let mut buf = vec![0u8; BUF];
    loop {
        let n = input.read(&mut buf).expect("read the source");
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n]).expect("write the copy");
    }
    if sync {
        output.sync_all().expect("fsync the copy");
    }
    started.elapsed()
}

/// The times of a repeated measurement.
#[derive(Default)]
struct Runs(Vec<Duration>);

impl Runs {
    fn add(&mut self, time: Duration) {
        self.0.push(time);
    }

    /// The throughput of the fastest run.
    fn best_mibps(&self, bytes: u64) -> f64 {
        mibps(bytes, self.0.iter().copied().min().expect("at least one run"))
    }

    /// The throughput of every run, in order.
    fn list_mibps(&self, bytes: u64) -> String {
        let speeds: Vec<String> = self
            .0
            .iter()
            .map(|t| format!("{:.0}", mibps(bytes, *t)))
            .collect();
        speeds.join(", ")
    }
}

fn mibps(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / MIB as f64 / time.as_secs_f64()
}

/// The results, printed as a Markdown table.
#[derive(Default)]
struct Table {
    rows: Vec<[String; 5]>,
}

impl Table {
    fn verdict(ok: bool) -> String {
        if ok { "PASS" } else { "FAIL" }.into()
    }

    /// A throughput against its baseline, with a target ratio.
    fn ratio(&mut self, what: &str, value: f64, baseline: f64, target: f64) {
        let ratio = value / baseline;
        self.rows.push([
            what.into(),
            format!("{value:.0} MiB/s"),
            format!("{baseline:.0} MiB/s"),
            format!("{ratio:.2}× (target ≥ {target:.2}×)"),
            Self::verdict(ratio >= target),
        ]);
    }

    /// A throughput against its baseline, for information.
    fn info(&mut self, what: &str, value: f64, baseline: f64) {
        self.rows.push([
            what.into(),
            format!("{value:.0} MiB/s"),
            format!("{baseline:.0} MiB/s"),
            format!("{:.2}× (no target)", value / baseline),
            "info".into(),
        ]);
    }

    /// The peak RSS with the large file against the small one: it must not grow with the size.
    fn flat(&mut self, what: &str, small_kib: u64, big_kib: u64) {
        self.rows.push([
            what.into(),
            format!("{:.1} MiB (large file)", big_kib as f64 / 1024.0),
            format!("{:.1} MiB (1 MiB file)", small_kib as f64 / 1024.0),
            format!(
                "+{:.1} MiB (target ≤ +{} MiB)",
                big_kib.saturating_sub(small_kib) as f64 / 1024.0,
                RSS_SLACK_KIB / 1024
            ),
            Self::verdict(big_kib <= small_kib + RSS_SLACK_KIB),
        ]);
    }

    /// The concurrent downloads (all of them verified before this is called).
    fn concurrent(&mut self, aggregate: f64, per_client: f64, rss_kib: u64) {
        self.rows.push([
            format!("{CLIENTS} concurrent downloads (ureq), all sha256 correct"),
            format!("{aggregate:.0} MiB/s aggregate"),
            format!("{per_client:.0} MiB/s per client"),
            format!("server peak RSS {:.1} MiB", rss_kib as f64 / 1024.0),
            "PASS".into(),
        ]);
    }

    fn print(&self) {
        println!();
        println!("| measurement | hubmix-server | baseline | ratio | result |");
        println!("|---|---|---|---|---|");
        for row in &self.rows {
            println!("| {} |", row.join(" | "));
        }
        println!();
    }
}
